"""Reads of the claims register, scoped: staff see their providers' clients' claims, a client's
users their own client's; another's id is NotFound (404)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.kernel.errors import NotFound
from accounts.models import Client, User
from accounts.selectors import scoped
from billing.models import LossClaim

from .cap import LiabilityCap, liability_cap


def loss_claim_list(
    *, user: User, client: Client | None = None, against: str | None = None
) -> QuerySet[LossClaim]:
    qs = scoped(LossClaim.objects.select_related("client__provider", "reported_by"), user=user)
    if client is not None:
        qs = qs.filter(client=client)
    if against:
        qs = qs.filter(against=against)
    return qs.order_by("-reported_at", "-pk")


def loss_claim_get(*, user: User, pk) -> LossClaim:
    claim = loss_claim_list(user=user).prefetch_related("payouts").filter(pk=pk).first()
    if claim is None:
        raise NotFound
    return claim


def claim_liability_cap(*, claim: LossClaim) -> LiabilityCap | None:
    """The provider's liability cap as the claim's page shows it (art. 13.4); None for a claim
    against the client (the cap limits the provider's liability only)."""
    if claim.against != LossClaim.Against.PROVIDER:
        return None
    return liability_cap(client=claim.client)


def loss_claim_can_report(*, user: User) -> bool:
    """A client's admin reports a loss against the provider (art. 13.6); viewers read."""
    return bool(user.is_authenticated and user.is_client_admin and user.client_id)

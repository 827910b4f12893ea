"""Reads the billing pages need beyond billing.selectors; each is scoped by client or by user.

Another client's row is never returned: lists go through `accounts.selectors.scoped` and
single rows through `scoped_get` (404), or are filtered by the client the page already holds.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Agreement, Client, Suspension, User
from accounts.selectors import scoped, scoped_get

from .models import CreditLot, LimitIncreaseRequest, RestitutionRequest


def limit_request_list(
    *, user: User, client: Client | None = None, status: str | None = None
) -> QuerySet[LimitIncreaseRequest]:
    """Limit increase requests the user may see, oldest pending first for a queue."""
    qs = scoped(
        LimitIncreaseRequest.objects.select_related(
            "client__provider", "requested_by", "decided_by"
        ),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    if status:
        qs = qs.filter(status=status)
    return qs


def limit_request_get(*, user: User, pk) -> LimitIncreaseRequest:
    return scoped_get(
        LimitIncreaseRequest.objects.select_related("client__provider"), user=user, pk=pk
    )


def restitution_request_list(
    *, user: User, client: Client | None = None, status: str | None = None
) -> QuerySet[RestitutionRequest]:
    qs = scoped(
        RestitutionRequest.objects.select_related("client__provider", "requested_by", "decided_by"),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    if status:
        qs = qs.filter(status=status)
    return qs


def restitution_request_get(*, user: User, pk) -> RestitutionRequest:
    return scoped_get(
        RestitutionRequest.objects.select_related("client__provider"), user=user, pk=pk
    )


def lot_get(*, client: Client, pk) -> CreditLot:
    """One of this client's credit lots, or 404 (a lot of another client is never found)."""
    return get_object_or_404(
        CreditLot.objects.select_related("wallet__client"), wallet__client=client, pk=pk
    )


def charged_back_lot_ids(*, client: Client) -> set[int]:
    return set(
        CreditLot.objects.filter(wallet__client=client, chargeback__isnull=False).values_list(
            "pk", flat=True
        )
    )


def closed_after_chargeback(*, client: Client) -> bool:
    """An open chargeback suspension: the account is closed until staff reopen it (art. 29.4)."""
    return Suspension.objects.filter(
        client=client, cause=Suspension.Cause.CHARGEBACK, ended_at=None
    ).exists()


def restitution_possible(*, client: Client) -> bool:
    """Whether to offer the restitution form: a prepaid client whose agreement is ending (art. 29.6).

    Only decides what the page shows; `restitution_request` holds the rule.
    """
    if client.billing_mode != Client.BillingMode.PREPAID:
        return False
    agreement = Agreement.objects.filter(client=client).first()
    return agreement is not None and (
        agreement.status == Agreement.Status.TERMINATED or agreement.notice_given_at is not None
    )


def pending_counts() -> dict:
    """Staff queue sizes for the dashboard."""
    return {
        "limit_requests": LimitIncreaseRequest.objects.filter(
            status=LimitIncreaseRequest.Status.PENDING
        ).count(),
        "restitutions": RestitutionRequest.objects.filter(
            status=RestitutionRequest.Status.PENDING
        ).count(),
    }


def client_billing_summary(*, client: Client) -> dict:
    """The wallet and the limit in brief, for the client's dashboard."""
    from .limits import message_limit_get
    from .selectors import wallet_summary

    limit = message_limit_get(client=client)
    return {
        "prepaid": client.billing_mode == Client.BillingMode.PREPAID,
        "wallet": wallet_summary(client=client),
        "limit": limit,
        "gauge": limit_gauge(limit),
        "pending_limit_request": LimitIncreaseRequest.objects.filter(
            client=client, status=LimitIncreaseRequest.Status.PENDING
        ).first(),
    }


def limit_gauge(limit: dict) -> dict:
    """The usage gauge: how full the bar is and its tone, with the notice mark (art. 26.1)."""
    cap = limit["limit"] or 1
    if limit["limit_reached"]:
        tone = "bad"
    elif limit["unpaid_count"] * 100 >= cap * limit["notice_pct"]:
        tone = "warn"
    else:
        tone = "ok"
    return {
        "width": min(100, limit["unpaid_count"] * 100 // cap),
        "tone": tone,
        "notice_pct": limit["notice_pct"],
    }

"""Who may act: the one place every app's services check roles (art. 5.2: access only for the
client's authorised employees; staff actions by the provider's staff).

A removed (deactivated) user keeps its row for the record but may no longer act.
"""

from collections.abc import Callable

from django.utils.translation import gettext as _

from accounts.models import Client, Provider, User

from .errors import NotAllowed, ValidationFailed

REMOVED = "This user has been removed and may no longer act."


def _check(
    user: User | None, allowed: Callable[[User], bool], message: str, article: str | None = None
) -> None:
    if user is not None and not user.is_active:
        raise NotAllowed(REMOVED)
    if user is None or not allowed(user):
        raise NotAllowed(message, article=article)


def require_active(user: User | None) -> None:
    _check(user, lambda u: True, REMOVED)


def require_billing_staff(
    user: User | None, *, message: str = "Only billing staff may do this."
) -> None:
    _check(user, lambda u: u.is_billing_staff, message)


def require_staff(user: User | None, *, message: str = "Only provider staff may do this.") -> None:
    _check(user, lambda u: u.is_provider_staff, message)


def require_compliance_officer(
    user: User | None, *, message: str = "Only a compliance officer may do this."
) -> None:
    _check(user, lambda u: u.is_compliance_officer, message)


def require_client_admin(
    user: User | None,
    client: Client | None,
    *,
    staff_may: bool = False,
    message: str = "Only an admin of this client may do this (art. 5.2).",
    article: str | None = None,
) -> None:
    """An admin of this very client (and, where `staff_may`, provider staff acting for it)."""

    def allowed(u: User) -> bool:
        if staff_may and u.is_provider_staff:
            # the staff of the client's own provider only (art. 11.1, 21.4)
            return client is not None and u.serves(client)
        return u.is_client_admin and client is not None and u.client_id == client.pk

    _check(user, allowed, message, article)


def require_serves_provider(
    user: User | None, provider: Provider | None, *, field: str = "provider"
) -> None:
    """Staff act for the providers they serve only (art. 11.1, 21.4: separate legal entities):
    publishing terms, inviting a company, logging a breach or a sub-processor, entering a rate
    for another provider is refused on the field that names it."""
    if user is None or not user.is_provider_staff or user.sees_all_providers:
        return
    if provider is not None and provider.pk not in user.staff_provider_ids:
        raise ValidationFailed({field: [_("You do not act for this provider (art. 11.1).")]})

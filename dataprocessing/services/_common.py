"""What the data-processing services share: who may act for a client, amounts, the clock.

Each service is keyword-only, runs in one transaction, checks its rule and raises an
`ApplicationError` naming the field and the article when it refuses; a refused call changes
nothing. Who acted is recorded by simple-history (`accounts.kernel.history`), emails go out on
commit through `accounts.kernel.notifications.notify` (recorded once under a key).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.notifications import staff_emails
from accounts.models import Client, Provider, User

# A moment a little ahead of the server's clock is not "in the future" (clock skew).
CLOCK_SKEW = dt.timedelta(minutes=5)

require_active = roles.require_active
# Compliance officers keep the processor's records (DESIGN.md, roles).
require_compliance = roles.require_compliance_officer
# Only the client's own admin (art. 5.2).
require_client_admin = roles.require_client_admin


def require_client_admin_or_compliance(user: User, client: Client) -> None:
    """The client's own admin (art. 5.2), or a compliance officer acting for the client."""
    require_active(user)
    if user.is_compliance_officer:
        return
    require_client_admin(user, client)


def in_the_future(moment: dt.datetime, now: dt.datetime) -> bool:
    """A reported moment (a receipt, a detection) cannot lie ahead of now, skew aside."""
    return moment > now + CLOCK_SKEW


def money(value: object, field: str, article: str) -> Decimal:
    """An amount of at least zero, in cents (kernel parsing and rounding); refusals cite `article`."""
    try:
        amount = to_decimal(value, field=field)
    except ValidationFailed as exc:
        raise ValidationFailed(
            {field: [gettext("Enter an amount (art. %(article)s).") % {"article": article}]}
        ) from exc
    if amount < 0:
        raise ValidationFailed(
            {
                field: [
                    gettext("The amount cannot be negative (art. %(article)s).")
                    % {"article": article}
                ]
            }
        )
    return round_money(amount)


def compliance_emails(*, provider: Provider | int) -> list[str]:
    """The compliance officers of the client's provider (art. 21.4), never the other provider's."""
    return staff_emails(User.Role.COMPLIANCE_OFFICER, provider=provider)


def fmt(moment: dt.datetime, provider: Provider) -> str:
    """A moment as the provider's people read it: its own time zone."""
    return f"{moment.astimezone(workdays.local_tz(provider)):%Y-%m-%d %H:%M %Z}"

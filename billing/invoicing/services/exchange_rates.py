"""Exchange rates: the dated table staff keep, the rate in force on a day, and conversion.

Nothing is ever compared across currencies without a rate from this table; a conversion is
rounded once, to cents, half-up (`accounts.kernel.money.apply_rate`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from accounts.kernel.errors import ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_date
from accounts.kernel.money import apply_rate, round_money, to_decimal
from accounts.kernel.roles import require_billing_staff
from accounts.models import User
from billing.models import ExchangeRate


@dataclass(frozen=True, slots=True)
class RateInForce:
    """The exchange rate `convert` used: the row, and whether it was quoted the other way round."""

    row: ExchangeRate
    inverse: bool

    def __str__(self) -> str:
        rate = f"{self.row.rate.normalize():f}"
        return f"1 {self.row.base_currency} = {rate} {self.row.quote_currency} from {self.row.valid_from:%Y-%m-%d}"


def rate_in_force(*, from_currency: str, to_currency: str, on: dt.date) -> RateInForce | None:
    """The exchange rate in force on `on` for converting `from_currency` into `to_currency`.

    In force means the row with the latest `valid_from` on or before that day. The pair may be
    kept either way round (EUR→USD, or USD→EUR used as 1 / rate); when both exist, the one that
    took effect later wins, and on the same day the direct pair wins. None when none is known.
    """
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    found = []
    for base, quote, inverse in (
        (from_currency, to_currency, False),
        (to_currency, from_currency, True),
    ):
        row = (
            ExchangeRate.objects.filter(
                base_currency=base, quote_currency=quote, valid_from__lte=on
            )
            .order_by("-valid_from")
            .first()
        )
        if row is not None:
            found.append(RateInForce(row=row, inverse=inverse))
    if not found:
        return None
    return max(found, key=lambda r: (r.row.valid_from, not r.inverse))


def convert(
    *, amount: Decimal, from_currency: str, to_currency: str, on: dt.date
) -> Decimal | None:
    """`amount` in `from_currency` expressed in `to_currency` at the rate in force on `on`
    (`rate_in_force`), rounded once to cents half-up (`money.apply_rate`); the same currency
    gives the amount back, rounded the same way. None when no rate is known for that day:
    the caller decides what that means, nothing is ever compared across currencies."""
    if from_currency.upper() == to_currency.upper():
        return round_money(amount)
    rate = rate_in_force(from_currency=from_currency, to_currency=to_currency, on=on)
    if rate is None:
        return None
    return apply_rate(amount, rate.row.rate, inverse=rate.inverse)


def rate_first_after(*, from_currency: str, to_currency: str, after: dt.date) -> RateInForce | None:
    """The first rate for the pair (either way round) taking effect after `after`: for a
    decision that waited for a rate (a dispute pending check, CX 10) when none was in force on
    its day. On the same day the direct pair wins. None when there is none yet."""
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    found = []
    for base, quote, inverse in (
        (from_currency, to_currency, False),
        (to_currency, from_currency, True),
    ):
        row = (
            ExchangeRate.objects.filter(
                base_currency=base, quote_currency=quote, valid_from__gt=after
            )
            .order_by("valid_from")
            .first()
        )
        if row is not None:
            found.append(RateInForce(row=row, inverse=inverse))
    if not found:
        return None
    return min(found, key=lambda r: (r.row.valid_from, r.inverse))


STAFF_SOURCE = "entered by staff"


@transaction.atomic
def exchange_rate_enter(
    *,
    base_currency: str,
    quote_currency: str,
    rate: object,
    valid_from: object,
    acting_user: User,
    source: str = "",
    note: str = "",
) -> ExchangeRate:
    """Staff enter a rate by hand: the fallback when the daily ECB import (`ecb_rates`) has
    not brought it. One rate per pair and day; the disputes pending check that it decides are
    decided at once (CX 10, `disputes.disputes_pending_decide`)."""
    from .disputes import disputes_pending_decide  # disputes converts with this module

    require_billing_staff(acting_user)
    value = to_decimal(rate, field="rate")
    if value <= 0:
        raise ValidationFailed({"rate": [gettext("An exchange rate must be positive.")]})
    row = ExchangeRate(
        base_currency=(base_currency or "").strip().upper(),
        quote_currency=(quote_currency or "").strip().upper(),
        rate=value,
        valid_from=clean_date(valid_from, field="valid_from"),
        source=(source or "").strip()[:200] or STAFF_SOURCE,
        note=(note or "").strip()[:200],
    )
    save_with_history(row, acting_user, clean=True)
    disputes_pending_decide()
    return row

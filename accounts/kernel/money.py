"""Money: Decimal only, never float; an amount travels with its currency; rounding lives here.

Invoices round to 2 places, half-up; unit prices may carry more (DESIGN.md, Money).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext

from accounts.kernel.errors import ValidationFailed

CENT = Decimal("0.01")
UNIT_PRICE_PLACES = Decimal("0.000001")
# Column sizes shared by every money field of the project.
MAX_DIGITS = 14
DECIMAL_PLACES = 2
# The largest amount a money column holds (12 digits and the cents).
MAX_AMOUNT = Decimal(10 ** (MAX_DIGITS - DECIMAL_PLACES)) - CENT


# A plain decimal in ASCII digits: an optional minus, at most 12 digits before the point and 6
# after it (unit prices carry 6 places). No exponent ("1e2"), no padding, no other digits.
_PLAIN = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")
# Above this no amount of the project can be stored or added up (see MAX_AMOUNT).
_LIMIT = Decimal(10**12)


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse an amount given as a plain decimal string, an int or a Decimal; floats are refused
    (they are not exact), and so are exponents, padding, non-ASCII digits and anything of 13
    or more digits before the point, each naming `field`."""
    if isinstance(value, float):
        raise ValidationFailed(
            {field: [gettext("Give amounts as strings or integers, never floating point numbers.")]}
        )
    if isinstance(value, bool):
        raise ValidationFailed(
            {field: [gettext("%(value)s is not an amount.") % {"value": repr(value)}]}
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str) and _PLAIN.fullmatch(value):
        result = Decimal(value)
    else:
        raise ValidationFailed(
            {
                field: [
                    gettext(
                        '%(value)s is not an amount: give digits with at most one point, e.g. "1250.00".'
                    )
                    % {"value": repr(str(value)[:40])}
                ]
            }
        )
    if not result.is_finite():
        raise ValidationFailed(
            {field: [gettext("%(value)s is not an amount.") % {"value": repr(value)}]}
        )
    if abs(result) >= _LIMIT:
        raise ValidationFailed({field: [gettext("The amount is too large.")]})
    return result


def round_money(amount: Decimal) -> Decimal:
    """Round to cents, half-up (invoices, ledger amounts)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_unit_price(amount: Decimal) -> Decimal:
    return amount.quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP)


def apply_rate(amount: Decimal, rate: Decimal, *, inverse: bool = False) -> Decimal:
    """`amount` converted at `rate` (× rate, or ÷ rate for a pair quoted the other way round),
    rounded once to cents, half-up. Decimal in, Decimal out; the only rounding of a conversion."""
    if isinstance(amount, float) or isinstance(rate, float):
        raise TypeError("Money never holds a float")
    if rate <= 0:
        raise ValueError("an exchange rate must be positive")
    return round_money(amount / rate if inverse else amount * rate)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money never holds a float")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_money(self.amount), self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return f"{self.currency} {round_money(self.amount):,.2f}"

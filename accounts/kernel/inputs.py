"""Cleaning of the values services receive: each refusal names the field and the rule."""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext

from .errors import ValidationFailed
from .money import MAX_AMOUNT, round_money, to_decimal

MAX_INT = 2_147_483_647


def clean_text(value: object, *, field: str, message: str, max_length: int | None = None) -> str:
    """Stripped text; empty text is refused with `message`, over-long text by its length."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationFailed({field: [message]})
    if max_length and len(text) > max_length:
        raise ValidationFailed(
            {field: [gettext("At most %(max_length)s characters.") % {"max_length": max_length}]}
        )
    return text


def optional_text(value: object) -> str:
    """Stripped text, or "" for anything that is not text."""
    return value.strip() if isinstance(value, str) else ""


def clean_money(
    value: object, *, field: str, allow_zero: bool = False, article: str | None = None
) -> Decimal:
    """A positive amount in whole cents (zero only with `allow_zero`), within the money columns."""
    amount = to_decimal(value, field=field)
    if amount != round_money(amount):
        raise ValidationFailed(
            {field: [gettext("Give the amount in whole cents (2 decimal places).")]},
            article=article,
        )
    if amount < 0 or amount.is_signed() or (amount == 0 and not allow_zero):
        raise ValidationFailed({field: [gettext("The amount must be positive.")]}, article=article)
    if amount > MAX_AMOUNT:
        raise ValidationFailed({field: [gettext("The amount is too large.")]}, article=article)
    return amount


def clean_date(value: object, *, field: str) -> dt.date:
    """A calendar date (a `date`, or text as YYYY-MM-DD); datetimes are refused."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ValidationFailed({field: [gettext("Give a calendar date (YYYY-MM-DD).")]})
    return value


def clean_positive_int(value: object, *, field: str) -> int:
    """A whole number above zero that fits an integer column."""
    if isinstance(value, (bool, float)):
        raise ValidationFailed(
            {field: [gettext("%(field)s must be a whole number.") % {"field": field}]}
        )
    try:
        value = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(
            {field: [gettext("%(field)s must be a whole number.") % {"field": field}]}
        ) from None
    if value <= 0:
        raise ValidationFailed(
            {field: [gettext("%(field)s must be greater than zero.") % {"field": field}]}
        )
    if value > MAX_INT:
        raise ValidationFailed({field: [gettext("%(field)s is too large.") % {"field": field}]})
    return value

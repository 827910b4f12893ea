"""API fields shared by every app."""

from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers


class AmountField(serializers.CharField):
    """An amount as a plain decimal string ("1250.00"), exactly as sent: a JSON float is refused
    (it is not exact) and the text is not trimmed, so the service's amount rule (digits, at most
    one point, no exponent, no padding) sees what the caller sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, float):
            raise serializers.ValidationError(
                gettext("Give amounts as decimal strings, never floating point numbers.")
            )
        return str(super().to_internal_value(data))


class MomentField(serializers.DateTimeField):
    """An ISO 8601 moment with a real UTC offset and a year the contract can mean (see
    accounts.kernel.moments); anything else is a 400 naming the field, not a database error."""

    def to_internal_value(self, value: Any) -> Any:
        from django.utils.dateparse import parse_datetime

        from .moments import moment_problem

        # Checked before DRF converts it to the server's time zone (which overflows for them).
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            problem = moment_problem(parsed)
            if problem:
                raise serializers.ValidationError(problem)
        return super().to_internal_value(value)

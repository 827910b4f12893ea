"""Exchange rates staff maintain (with history) and `invoicing.convert`: the rate in force on a
day is the latest from that day or before, the pair may be kept either way round, Decimal
only, rounded once to cents half-up; None when no rate is known."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.kernel.money import apply_rate
from billing.invoicing.services import exchange_rates as exchange_rate_services
from billing.models import ExchangeRate
from tests.billing.invoicing.factories import D, Dec

pytestmark = pytest.mark.django_db


def rate(base, quote, value, valid_from):
    return ExchangeRate.objects.create(
        base_currency=base,
        quote_currency=quote,
        rate=Dec(value),
        valid_from=valid_from,
        source="test",
    )


def convert(amount, from_currency, to_currency, on):
    return exchange_rate_services.convert(
        amount=Dec(amount), from_currency=from_currency, to_currency=to_currency, on=on
    )


def test_the_rate_in_force_is_the_latest_from_that_day_or_before():
    rate("EUR", "USD", "1.0850", D(2026, 1, 1))
    rate("EUR", "USD", "1.1000", D(2026, 3, 1))

    assert convert("150", "EUR", "USD", D(2025, 12, 31)) is None
    assert convert("150", "EUR", "USD", D(2026, 1, 1)) == Dec("162.75")
    assert convert("150", "EUR", "USD", D(2026, 2, 28)) == Dec("162.75")
    assert convert("150", "EUR", "USD", D(2026, 3, 1)) == Dec("165.00")
    assert convert("150", "EUR", "USD", D(2027, 1, 1)) == Dec("165.00")


def test_the_inverse_pair_divides_and_rounds_once_half_up():
    rate("USD", "EUR", "0.9200", D(2026, 1, 1))

    result = convert("150", "EUR", "USD", D(2026, 3, 1))  # 163.0434…
    assert result == Dec("163.04") and isinstance(result, Decimal)
    assert convert("163.04", "USD", "EUR", D(2026, 3, 1)) == Dec("150.00")  # 149.9968 → 150.00


def test_of_both_directions_the_later_rate_wins_and_the_direct_pair_on_a_tie():
    rate("EUR", "USD", "1.0850", D(2026, 1, 1))
    rate("USD", "EUR", "0.8000", D(2026, 2, 1))  # 1 EUR = 1.25 USD
    rate("EUR", "USD", "1.1000", D(2026, 3, 1))
    rate("USD", "EUR", "0.5000", D(2026, 3, 1))

    assert convert("100", "EUR", "USD", D(2026, 1, 15)) == Dec("108.50")
    assert convert("100", "EUR", "USD", D(2026, 2, 15)) == Dec("125.00")
    assert convert("100", "EUR", "USD", D(2026, 3, 1)) == Dec("110.00")
    assert convert("100", "USD", "EUR", D(2026, 3, 1)) == Dec("50.00")


def test_same_currency_is_the_amount_and_an_unknown_pair_is_none():
    rate("EUR", "USD", "1.0850", D(2026, 1, 1))
    assert convert("150.004", "usd", "USD", D(2026, 3, 1)) == Dec("150.00")
    assert convert("150", "EUR", "CNY", D(2026, 3, 1)) is None


def test_apply_rate_refuses_floats_and_non_positive_rates():
    with pytest.raises(TypeError):
        apply_rate(150.0, Dec("1.0850"))
    with pytest.raises(TypeError):
        apply_rate(Dec("150"), 1.085)
    with pytest.raises(ValueError):
        apply_rate(Dec("150"), Dec("0"))
    assert apply_rate(Dec("0.005"), Dec("1")) == Dec("0.01")  # half-up


def test_one_rate_per_pair_and_day_positive_between_two_currencies():
    rate("eur", "usd", "1.0850", D(2026, 1, 1))
    assert ExchangeRate.objects.get().base_currency == "EUR"  # kept upper case
    for args in (
        ("EUR", "USD", "1.2000", D(2026, 1, 1)),
        ("EUR", "USD", "0", D(2026, 2, 1)),
        ("EUR", "EUR", "1", D(2026, 2, 1)),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            rate(*args)
    assert ExchangeRate.objects.count() == 1


def test_staff_edits_of_a_rate_keep_history():
    row = rate("EUR", "USD", "1.0850", D(2026, 1, 1))
    row.rate = Dec("1.0860")
    row.save()
    assert [h.rate for h in row.history.order_by("history_id")] == [Dec("1.0850"), Dec("1.0860")]

"""Top-ups become credit lots: usable the next local day, expiring 12 months later (art. 29.3)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.kernel.errors import Conflict, NotAllowed, ValidationFailed
from billing.exceptions import InsufficientCredit
from billing.models import CreditLot, LedgerEntry
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client, wallet_top_up
from tests.accounts.factories import ClientAdminFactory
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import SH as SHANGHAI

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_wallet_is_in_the_providers_currency(cm, cx):
    assert wallet_for_client(client=prepaid_client(cm)).currency == "CNY"
    assert wallet_for_client(client=prepaid_client(cx)).currency == "USD"


def test_wallet_for_client_returns_the_same_wallet(cm):
    client = prepaid_client(cm)
    assert wallet_for_client(client=client).pk == wallet_for_client(client=client).pk


def test_top_up_received_at_2359_beijing_is_usable_from_midnight_and_not_before(wallet):
    # given: a payment received one minute before midnight in Beijing
    received = dt.datetime(2026, 3, 10, 23, 59, tzinfo=SHANGHAI)
    lot = top_up(wallet, "100.00", received)
    # then: usable from 00:00 on 11 March Beijing time
    assert lot.purchase_date == dt.date(2026, 3, 10)
    assert lot.usable_from == dt.datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI)
    just_before = dt.datetime(2026, 3, 10, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    with pytest.raises(InsufficientCredit) as refused:
        wallet_debit(
            wallet=wallet, amount="1.00", idempotency_key="early", cause="sms", at=just_before
        )
    assert refused.value.field == "amount" and refused.value.article == "29.2"
    entry = wallet_debit(
        wallet=wallet,
        amount="1.00",
        idempotency_key="midnight",
        cause="sms",
        at=received.replace(day=11, hour=0, minute=0),
    )
    assert entry.amount == Decimal("-1.00")
    check(wallet)


def test_top_up_received_just_after_midnight_beijing_is_usable_the_next_day(wallet):
    received = dt.datetime(2026, 3, 10, 0, 0, 30, tzinfo=SHANGHAI)  # 16:00:30 UTC on 9 March
    lot = top_up(wallet, "10.00", received)
    assert lot.purchase_date == dt.date(2026, 3, 10)
    assert lot.usable_from == dt.datetime(2026, 3, 11, tzinfo=SHANGHAI)


def test_credit_is_not_usable_on_the_day_it_is_received(wallet):
    received = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    top_up(wallet, "10.00", received)
    with pytest.raises(InsufficientCredit):
        wallet_debit(
            wallet=wallet,
            amount="1.00",
            idempotency_key="same-day",
            cause="sms",
            at=received + dt.timedelta(hours=14),
        )


@pytest.mark.parametrize(
    "provider_code, tz, received, purchase, expires_on",
    [
        (
            "cm-cn",
            SHANGHAI,
            dt.datetime(2026, 3, 15, 12, 0),
            dt.date(2026, 3, 15),
            dt.date(2027, 3, 15),
        ),
        (
            "cxengage-nl",
            AMSTERDAM,
            dt.datetime(2026, 3, 15, 12, 0),
            dt.date(2026, 3, 15),
            dt.date(2027, 3, 15),
        ),
        # 29 February has no twin: the credit expires on 28 February
        (
            "cm-cn",
            SHANGHAI,
            dt.datetime(2028, 2, 29, 23, 30),
            dt.date(2028, 2, 29),
            dt.date(2029, 2, 28),
        ),
        (
            "cxengage-nl",
            AMSTERDAM,
            dt.datetime(2028, 2, 29, 0, 10),
            dt.date(2028, 2, 29),
            dt.date(2029, 2, 28),
        ),
        # the last day of a year, local time
        (
            "cm-cn",
            SHANGHAI,
            dt.datetime(2026, 12, 31, 23, 59),
            dt.date(2026, 12, 31),
            dt.date(2027, 12, 31),
        ),
        # across the Dutch switch to summer time (29 March 2026)
        (
            "cxengage-nl",
            AMSTERDAM,
            dt.datetime(2026, 3, 28, 23, 30),
            dt.date(2026, 3, 28),
            dt.date(2027, 3, 28),
        ),
    ],
)
def test_lot_expires_twelve_months_after_the_purchase_date_in_local_time(
    db, provider_code, tz, received, purchase, expires_on
):
    from accounts.models import Provider

    provider = Provider.objects.get(code=provider_code)
    wallet = wallet_for_client(client=prepaid_client(provider))
    lot = top_up(wallet, "50.00", received.replace(tzinfo=tz))
    assert lot.purchase_date == purchase
    assert lot.expires_on == expires_on
    assert lot.expires_at == dt.datetime.combine(expires_on, dt.time.min, tzinfo=tz)
    assert lot.usable_from == dt.datetime.combine(
        purchase + dt.timedelta(days=1), dt.time.min, tzinfo=tz
    )
    # usable on the last day before expiry, refused from 00:00 of the expiry day
    last_moment = lot.expires_at - dt.timedelta(microseconds=1)
    wallet_debit(wallet=wallet, amount="1.00", idempotency_key="last", cause="sms", at=last_moment)
    with pytest.raises(InsufficientCredit):
        wallet_debit(
            wallet=wallet, amount="1.00", idempotency_key="expired", cause="sms", at=lot.expires_at
        )
    check(wallet)


def test_the_same_moment_is_a_different_purchase_day_in_the_two_profiles(cm, cx):
    # 17:30 UTC on 10 March is already 11 March in Beijing, still 10 March in Amsterdam
    moment = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)
    cn_lot = top_up(wallet_for_client(client=prepaid_client(cm)), "1.00", moment)
    nl_lot = top_up(wallet_for_client(client=prepaid_client(cx)), "1.00", moment)
    assert cn_lot.purchase_date == dt.date(2026, 3, 11)
    assert nl_lot.purchase_date == dt.date(2026, 3, 10)
    assert cn_lot.expires_on == dt.date(2027, 3, 11)
    assert nl_lot.expires_on == dt.date(2027, 3, 10)


def test_top_up_writes_a_lot_and_a_top_up_entry(wallet, billing_staff):
    received = dt.datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)
    lot = wallet_top_up(
        wallet=wallet,
        amount="250.00",
        received_at=received,
        reference="BANK-1",
        idempotency_key="k1",
        acting_user=billing_staff,
    )
    entry = LedgerEntry.objects.get(wallet=wallet)
    assert entry.kind == LedgerEntry.Kind.TOP_UP
    assert entry.amount == Decimal("250.00") and entry.balance_after == Decimal("250.00")
    assert entry.lot == lot and entry.created_by == billing_staff and entry.currency == "CNY"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("250.00")
    assert lot.remaining == lot.amount == Decimal("250.00")
    check(wallet)


def test_the_same_top_up_key_again_returns_the_same_lot_and_writes_nothing(wallet):
    received = dt.datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)
    first = wallet_top_up(
        wallet=wallet, amount="100", received_at=received, reference="R", idempotency_key="pay-1"
    )
    again = wallet_top_up(
        wallet=wallet, amount="100", received_at=received, reference="R", idempotency_key="pay-1"
    )
    assert again.pk == first.pk
    assert CreditLot.objects.filter(wallet=wallet).count() == 1
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100")


def test_the_same_top_up_key_with_another_amount_is_a_conflict(wallet):
    received = dt.datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)
    wallet_top_up(
        wallet=wallet, amount="100", received_at=received, reference="R", idempotency_key="pay-1"
    )
    with pytest.raises(Conflict):
        wallet_top_up(
            wallet=wallet,
            amount="200",
            received_at=received,
            reference="R",
            idempotency_key="pay-1",
        )
    assert CreditLot.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "1.005", "abc"])
def test_top_up_refuses_a_bad_amount_naming_the_field(wallet, amount):
    with pytest.raises(ValidationFailed) as refused:
        wallet_top_up(
            wallet=wallet,
            amount=amount,
            received_at=dt.datetime(2026, 5, 1, tzinfo=SHANGHAI),
            reference="",
            idempotency_key="x",
        )
    assert refused.value.field == "amount"
    assert not CreditLot.objects.exists() and not LedgerEntry.objects.exists()


def test_top_up_refuses_a_float_and_a_naive_moment(wallet):
    with pytest.raises(ValidationFailed) as floating:
        wallet_top_up(
            wallet=wallet,
            amount=1.5,
            received_at=dt.datetime(2026, 5, 1, tzinfo=SHANGHAI),
            reference="",
            idempotency_key="x",
        )
    assert floating.value.field == "amount"
    with pytest.raises(ValidationFailed) as refused:
        wallet_top_up(
            wallet=wallet,
            amount="1.50",
            received_at=dt.datetime(2026, 5, 1),
            reference="",
            idempotency_key="x",
        )
    assert refused.value.field == "received_at"


def test_only_billing_staff_record_a_top_up(wallet):
    admin = ClientAdminFactory(client=wallet.client)
    with pytest.raises(NotAllowed):
        wallet_top_up(
            wallet=wallet,
            amount="10",
            received_at=dt.datetime(2026, 5, 1, tzinfo=SHANGHAI),
            reference="",
            idempotency_key="x",
            acting_user=admin,
        )
    assert not CreditLot.objects.exists()

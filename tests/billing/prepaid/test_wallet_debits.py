"""Debits consume usable lots earliest expiry first; a short balance refuses the debit whole (art. 29.2)."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.kernel.errors import Conflict
from billing.exceptions import InsufficientCredit
from billing.models import CreditLot, LedgerAllocation, LedgerEntry
from billing.prepaid.services.debits import (
    REFUSED_INSUFFICIENT_CREDIT,
    REFUSED_INVALID_AMOUNT,
    REFUSED_KEY_REUSED,
    wallet_debit,
    wallet_debit_locked,
    wallets_debit_locked,
)
from billing.prepaid.services.wallets import wallet_for_client
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import LATER, SH


@pytest.fixture
def three_lots(wallet):
    # bought in this order; expiring in another: B first, then C, then A
    a = top_up(wallet, "100.00", dt.datetime(2026, 3, 1, 10, tzinfo=SH), reference="A")
    b = top_up(wallet, "100.00", dt.datetime(2026, 1, 1, 10, tzinfo=SH), reference="B")
    c = top_up(wallet, "100.00", dt.datetime(2026, 2, 1, 10, tzinfo=SH), reference="C")
    return a, b, c


def _remaining(*lots):
    return [CreditLot.objects.get(pk=lot.pk).remaining for lot in lots]


def test_debits_consume_lots_earliest_expiry_first_across_three_lots(wallet, three_lots):
    a, b, c = three_lots
    # when: 150 is charged
    entry = wallet_debit(
        wallet=wallet, amount="150.00", idempotency_key="d1", cause="sms batch", at=LATER
    )
    # then: B (expires first) is used up, C is half used, A untouched
    assert _remaining(a, b, c) == [Decimal("100.00"), Decimal("0.00"), Decimal("50.00")]
    allocations = list(
        LedgerAllocation.objects.filter(entry=entry)
        .order_by("pk")
        .values_list("lot__reference", "amount")
    )
    assert allocations == [("B", Decimal("100.00")), ("C", Decimal("50.00"))]
    assert CreditLot.objects.get(pk=b.pk).status == CreditLot.Status.EXHAUSTED
    # and the next debit continues with C, then A
    wallet_debit(wallet=wallet, amount="80.00", idempotency_key="d2", cause="sms", at=LATER)
    assert _remaining(a, b, c) == [Decimal("70.00"), Decimal("0.00"), Decimal("0.00")]
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("70.00")
    check(wallet)


def test_lots_expiring_the_same_day_are_consumed_oldest_purchase_first(wallet):
    first = top_up(wallet, "10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH), reference="early")
    second = top_up(wallet, "10.00", dt.datetime(2026, 3, 1, 18, tzinfo=SH), reference="late")
    assert first.expires_at == second.expires_at
    wallet_debit(wallet=wallet, amount="15.00", idempotency_key="d", cause="sms", at=LATER)
    assert _remaining(first, second) == [Decimal("0.00"), Decimal("5.00")]


def test_a_debit_larger_than_the_usable_balance_is_refused_and_changes_nothing(wallet, three_lots):
    wallet_debit(wallet=wallet, amount="20.00", idempotency_key="d1", cause="sms", at=LATER)
    wallet.refresh_from_db()
    before_balance = wallet.balance
    before_lots = _remaining(*three_lots)
    before_entries = LedgerEntry.objects.count()
    with pytest.raises(InsufficientCredit) as refused:
        wallet_debit(
            wallet=wallet, amount="280.01", idempotency_key="too-much", cause="sms", at=LATER
        )
    assert refused.value.field == "amount"
    assert "29.2" in refused.value.message
    assert refused.value.usable == Decimal("280.00")  # what the refusal tells the client
    wallet.refresh_from_db()
    assert wallet.balance == before_balance
    assert _remaining(*three_lots) == before_lots
    assert LedgerEntry.objects.count() == before_entries
    assert not LedgerEntry.objects.filter(idempotency_key="too-much").exists()
    check(wallet)


def test_pending_credit_does_not_cover_a_debit(wallet):
    top_up(wallet, "10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH))
    top_up(wallet, "100.00", LATER - dt.timedelta(hours=1))  # received today: usable tomorrow
    with pytest.raises(InsufficientCredit):
        wallet_debit(wallet=wallet, amount="50.00", idempotency_key="d", cause="sms", at=LATER)
    check(wallet)


def test_the_same_debit_key_again_charges_once_and_returns_the_first_entry(wallet, three_lots):
    first = wallet_debit(
        wallet=wallet, amount="30.00", idempotency_key="usage-1", cause="sms", at=LATER
    )
    again = wallet_debit(
        wallet=wallet, amount="30.00", idempotency_key="usage-1", cause="sms", at=LATER
    )
    assert again.pk == first.pk
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEBIT).count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("270.00")
    with pytest.raises(Conflict):
        wallet_debit(
            wallet=wallet, amount="31.00", idempotency_key="usage-1", cause="sms", at=LATER
        )
    check(wallet)


def test_the_batch_primitive_decides_each_debit_on_its_own(wallet, three_lots):
    wallet = type(wallet).objects.get(pk=wallet.pk)
    outcomes = wallet_debit_locked(
        wallet=wallet,
        debits=[
            ("r1", Decimal("250.00"), "usage r1"),
            ("r2", Decimal("60.00"), "usage r2"),  # only 50 left: refused whole
            ("r3", Decimal("50.00"), "usage r3"),  # still fits
            ("r1", Decimal("250.00"), "usage r1"),  # replay inside the batch
            ("r4", Decimal("-1"), "bad"),
            ("r5", Decimal("0.00"), "free message"),
        ],
        at=LATER,
    )
    assert isinstance(outcomes[0], LedgerEntry) and outcomes[0].balance_after == Decimal("50.00")
    assert outcomes[1] == REFUSED_INSUFFICIENT_CREDIT
    assert isinstance(outcomes[2], LedgerEntry) and outcomes[2].balance_after == Decimal("0.00")
    assert outcomes[3] is outcomes[0]
    assert outcomes[4] == REFUSED_INVALID_AMOUNT
    assert isinstance(outcomes[5], LedgerEntry) and outcomes[5].amount == 0
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEBIT).count() == 3
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.00")
    # art. 29.7: debits do not "charge" the account, top-ups do (the latest one, A)
    assert wallet.last_charged_at == three_lots[0].received_at
    assert wallet.credit_exhausted_at == LATER  # art. 29.7: all credit used
    check(wallet)


def test_the_batch_primitive_replays_keys_from_an_earlier_batch(wallet, three_lots):
    wallet = type(wallet).objects.get(pk=wallet.pk)
    [first] = wallet_debit_locked(wallet=wallet, debits=[("r1", Decimal("10.00"), "x")], at=LATER)
    again = wallet_debit_locked(
        wallet=wallet,
        debits=[("r1", Decimal("10.00"), "x"), ("r1", Decimal("11.00"), "x")],
        at=LATER,
    )
    assert again[0].pk == first.pk
    assert again[1] == REFUSED_KEY_REUSED
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("290.00")
    check(wallet)


def test_many_wallets_are_debited_in_one_call(cm):
    wallets = [wallet_for_client(client=prepaid_client(cm)) for _ in range(3)]
    for w in wallets:
        top_up(w, "10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH))
    wallets = list(type(wallets[0]).objects.filter(pk__in=[w.pk for w in wallets]).order_by("pk"))
    result = wallets_debit_locked(
        debits_by_wallet={
            wallets[0]: [("k", Decimal("4.00"), "x")],
            wallets[1]: [("k", Decimal("11.00"), "x")],
            wallets[2]: [("k", Decimal("10.00"), "x"), ("k2", Decimal("0.01"), "x")],
        },
        at=LATER,
    )
    assert isinstance(result[wallets[0].pk][0], LedgerEntry)
    assert result[wallets[1].pk] == [REFUSED_INSUFFICIENT_CREDIT]
    assert isinstance(result[wallets[2].pk][0], LedgerEntry)
    assert result[wallets[2].pk][1] == REFUSED_INSUFFICIENT_CREDIT
    for w in wallets:
        check(w)
    assert [type(w).objects.get(pk=w.pk).balance for w in wallets] == [
        Decimal("6.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    ]


def test_a_top_up_after_all_credit_was_used_stops_the_inactivity_clock(wallet):
    top_up(wallet, "10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH))
    wallet_debit(wallet=wallet, amount="10.00", idempotency_key="all", cause="sms", at=LATER)
    wallet.refresh_from_db()
    assert wallet.credit_exhausted_at == LATER
    top_up(wallet, "5.00", LATER + dt.timedelta(days=1))
    wallet.refresh_from_db()
    assert wallet.credit_exhausted_at is None

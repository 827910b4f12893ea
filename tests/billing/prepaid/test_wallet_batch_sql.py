"""The set-based batch primitive (`wallets_debit_locked`): one write statement from array
literals must store exactly what the per-row ORM inserts stored, and hand back the same
outcomes (issue 3, §2 and §7)."""

import datetime as dt
from decimal import Decimal

from billing.models import CreditLot, LedgerAllocation, LedgerEntry, Wallet
from billing.prepaid.services.debits import (
    REFUSED_INSUFFICIENT_CREDIT,
    REFUSED_INVALID_AMOUNT,
    REFUSED_KEY_REUSED,
    wallet_debit_locked,
    wallets_debit_locked,
)
from billing.prepaid.services.wallets import wallet_for_client
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import LATER, SH

AWKWARD = [
    'quote " inside',
    "back\\slash and \\\\ two",
    "{braces},commas,",
    "NULL",
    " leading and trailing spaces ",
    "tab\tand newline\n",
    "汉字 and émoji 🙂",
    "'single' quotes",
]


def _wallet(cm, *amounts_and_days):
    wallet = wallet_for_client(client=prepaid_client(cm))
    for amount, received in amounts_and_days:
        top_up(wallet, amount, received)
    return Wallet.objects.get(pk=wallet.pk)


def test_keys_and_causes_with_any_characters_are_stored_exactly(cm):
    wallet = _wallet(cm, ("100.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH)))
    debits = [(f"key {text}", Decimal("1.00"), f"cause {text}") for text in AWKWARD]
    outcomes = wallet_debit_locked(wallet=wallet, debits=debits, at=LATER)
    assert all(isinstance(o, LedgerEntry) for o in outcomes)
    for (key, _, cause), entry in zip(debits, outcomes, strict=True):
        stored = LedgerEntry.objects.get(pk=entry.pk)
        assert (stored.idempotency_key, stored.cause) == (key, cause)
        assert (entry.idempotency_key, entry.cause) == (key, cause)
    check(wallet)


def test_outcomes_are_saved_entries_that_match_their_rows(cm):
    wallet = _wallet(cm, ("10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH)))
    outcomes = wallet_debit_locked(
        wallet=wallet,
        debits=[("a", Decimal("1.25"), "usage a"), ("b", "2.50", "usage b"), ("c", 0, None)],
        at=LATER,
    )
    pks = [o.pk for o in outcomes]
    assert pks == sorted(pks)  # inserted in batch order
    for entry in outcomes:
        assert entry._state.adding is False
        assert entry.wallet is wallet  # cached, no query
        row = LedgerEntry.objects.get(pk=entry.pk)
        for name in (
            "wallet_id",
            "kind",
            "amount",
            "currency",
            "balance_after",
            "idempotency_key",
            "created_at",
            "created_by_id",
            "cause",
            "lot_id",
            "memo",
        ):
            assert getattr(row, name) == getattr(entry, name), name
    assert [o.balance_after for o in outcomes] == [
        Decimal("8.75"),
        Decimal("6.25"),
        Decimal("6.25"),
    ]
    assert outcomes[2].cause == "debit" and outcomes[2].amount == 0
    assert not LedgerAllocation.objects.filter(entry=outcomes[2]).exists()
    check(wallet)


def test_repeated_keys_in_one_batch(cm):
    """The first occurrence decides: a repeat with the same amount gets the same entry, with
    another amount the key-reused refusal, and a refused key stays refused in that batch
    even when a later repeat would fit."""
    wallet = _wallet(cm, ("10.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH)))
    outcomes = wallet_debit_locked(
        wallet=wallet,
        debits=[
            ("k1", Decimal("4.00"), "x"),
            ("big", Decimal("20.00"), "x"),  # refused: only 6 left after k1
            ("k1", Decimal("4.00"), "x"),  # replay of k1
            ("k1", Decimal("5.00"), "x"),  # same key, other amount
            ("big", Decimal("1.00"), "x"),  # the key was refused; it stays refused
            ("bad", Decimal("0.001"), "x"),
            ("k2", Decimal("6.00"), "x"),
        ],
        at=LATER,
    )
    assert isinstance(outcomes[0], LedgerEntry)
    assert outcomes[1] == REFUSED_INSUFFICIENT_CREDIT
    assert outcomes[2] is outcomes[0]
    assert outcomes[3] == REFUSED_KEY_REUSED
    assert outcomes[4] == REFUSED_INSUFFICIENT_CREDIT
    assert outcomes[5] == REFUSED_INVALID_AMOUNT
    assert isinstance(outcomes[6], LedgerEntry) and outcomes[6].balance_after == 0
    assert list(
        LedgerEntry.objects.filter(wallet=wallet, kind=LedgerEntry.Kind.DEBIT)
        .order_by("pk")
        .values_list("idempotency_key", "amount")
    ) == [("k1", Decimal("-4.00")), ("k2", Decimal("-6.00"))]
    wallet.refresh_from_db()
    assert wallet.balance == 0 and wallet.credit_exhausted_at == LATER
    check(wallet)


def test_allocations_follow_fifo_in_order_across_lots_and_wallets(cm):
    # lot A bought last but expiring first is impossible (12 months each): B, C, A by purchase
    w1 = _wallet(
        cm,
        ("3.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH)),
        ("2.00", dt.datetime(2026, 1, 1, 8, tzinfo=SH)),
        ("5.00", dt.datetime(2026, 2, 1, 8, tzinfo=SH)),
    )
    w2 = _wallet(cm, ("1.00", dt.datetime(2026, 2, 1, 8, tzinfo=SH)))
    lots = {lot.amount: lot for lot in CreditLot.objects.filter(wallet=w1)}
    result = wallets_debit_locked(
        debits_by_wallet={
            w2: [("same", Decimal("0.60"), "w2 first"), ("more", Decimal("0.50"), "too much")],
            w1: [("same", Decimal("2.50"), "w1 first"), ("next", Decimal("6.00"), "w1 next")],
        },
        at=LATER,
    )
    first_w1, next_w1 = result[w1.pk]
    first_w2, refused = result[w2.pk]
    assert refused == REFUSED_INSUFFICIENT_CREDIT
    # each entry is its own row: same key in two wallets, ids not mixed up
    for entry in (first_w1, next_w1, first_w2):
        row = LedgerEntry.objects.get(pk=entry.pk)
        assert (row.wallet_id, row.idempotency_key, row.amount) == (
            entry.wallet_id,
            entry.idempotency_key,
            entry.amount,
        )
    allocations = list(
        LedgerAllocation.objects.filter(entry__wallet=w1)
        .order_by("pk")
        .values_list("entry_id", "lot_id", "amount")
    )
    two, five, three = lots[Decimal("2.00")], lots[Decimal("5.00")], lots[Decimal("3.00")]
    assert allocations == [
        (first_w1.pk, two.pk, Decimal("2.00")),
        (first_w1.pk, five.pk, Decimal("0.50")),
        (next_w1.pk, five.pk, Decimal("4.50")),
        (next_w1.pk, three.pk, Decimal("1.50")),
    ]
    statuses = dict(CreditLot.objects.filter(wallet=w1).values_list("pk", "status"))
    assert statuses[two.pk] == statuses[five.pk] == CreditLot.Status.EXHAUSTED
    assert statuses[three.pk] == CreditLot.Status.ACTIVE
    assert w1.balance == Decimal("1.50") and w2.balance == Decimal("0.40")  # in memory too
    check(w1)
    check(w2)


def test_a_batch_costs_three_statements_whatever_its_size(cm, django_assert_num_queries):
    wallets = [_wallet(cm, ("100.00", dt.datetime(2026, 3, 1, 8, tzinfo=SH))) for _ in range(3)]
    debits = {w: [(f"k{i}", Decimal("0.05"), f"usage {i}") for i in range(400)] for w in wallets}
    with django_assert_num_queries(3):
        result = wallets_debit_locked(debits_by_wallet=debits, at=LATER)
    assert all(isinstance(o, LedgerEntry) for outs in result.values() for o in outs)
    # replaying the batch reads the earlier entries once more and writes nothing
    with django_assert_num_queries(3):
        again = wallets_debit_locked(debits_by_wallet=debits, at=LATER)
    assert [o.pk for o in again[wallets[0].pk]] == [o.pk for o in result[wallets[0].pk]]
    for w in wallets:
        check(w)

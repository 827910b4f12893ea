"""Real threads on PostgreSQL: the wallet lock serialises debits (art. 29.2, issue 3 §7)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.exceptions import InsufficientCredit
from billing.models import LedgerEntry, Wallet
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client, wallet_top_up
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import LATER as AT
from tests.billing.prepaid.helpers import SH


def _run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_32_parallel_debits_never_overdraw_and_keep_the_ledger_equal_to_the_lots(cm):
    # given: 100.00 over three lots; 32 debits of 5.00 want 160.00
    wallet = wallet_for_client(client=prepaid_client(cm))
    top_up(wallet, "40.00", dt.datetime(2026, 1, 5, tzinfo=SH))
    top_up(wallet, "35.00", dt.datetime(2026, 2, 5, tzinfo=SH))
    top_up(wallet, "25.00", dt.datetime(2026, 3, 5, tzinfo=SH))

    def debit(i):
        try:
            return wallet_debit(
                wallet=Wallet(pk=wallet.pk),
                amount="5.00",
                idempotency_key=f"t{i}",
                cause="thread",
                at=AT,
            )
        except InsufficientCredit:
            return "refused"

    results, errors = _run_threads(32, debit)
    assert not errors, errors
    accepted = [r for r in results if isinstance(r, LedgerEntry)]
    assert len(accepted) == 20 and results.count("refused") == 12
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.00")
    check(wallet)
    # every balance_after is distinct: no two debits saw the same balance
    after = sorted(
        LedgerEntry.objects.filter(wallet=wallet, kind="debit").values_list(
            "balance_after", flat=True
        )
    )
    assert after == [Decimal("5.00") * i for i in range(20)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_32_parallel_debits_of_uneven_amounts_keep_the_invariant(cm):
    wallet = wallet_for_client(client=prepaid_client(cm))
    top_up(wallet, "33.33", dt.datetime(2026, 1, 5, tzinfo=SH))
    top_up(wallet, "21.07", dt.datetime(2026, 1, 20, tzinfo=SH))

    def amount(i):
        return Decimal(f"{1 + i % 5}.{i:02d}")

    def debit(i):
        try:
            return wallet_debit(
                wallet=Wallet(pk=wallet.pk),
                amount=amount(i),
                idempotency_key=f"u{i}",
                cause="thread",
                at=AT,
            )
        except InsufficientCredit:
            return "refused"

    results, errors = _run_threads(32, debit)
    assert not errors, errors
    wallet.refresh_from_db()
    assert wallet.balance >= 0
    spent = sum((-r.amount for r in results if isinstance(r, LedgerEntry)), Decimal("0"))
    assert wallet.balance == Decimal("54.40") - spent
    check(wallet)
    # the 32 debits want more than the 54.40 paid in: some fit, the others are refused whole,
    # and a debit is refused only when it does not fit what is left (art. 29.2)
    refused = [amount(i) for i, r in enumerate(results) if r == "refused"]
    assert refused and len(refused) < 32
    assert all(wallet.balance < a for a in refused)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_idempotency_key_from_8_threads_charges_once(cm):
    wallet = wallet_for_client(client=prepaid_client(cm))
    top_up(wallet, "100.00", dt.datetime(2026, 1, 5, tzinfo=SH))

    def debit(i):
        return wallet_debit(
            wallet=Wallet(pk=wallet.pk),
            amount="7.50",
            idempotency_key="same-record",
            cause="thread",
            at=AT,
        ).pk

    results, errors = _run_threads(8, debit)
    assert not errors, errors
    assert len(set(results)) == 1
    assert LedgerEntry.objects.filter(wallet=wallet, kind="debit").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("92.50")
    check(wallet)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_top_up_from_8_threads_makes_one_lot(cm):
    wallet = wallet_for_client(client=prepaid_client(cm))

    def pay(i):
        return wallet_top_up(
            wallet=Wallet(pk=wallet.pk),
            amount="10.00",
            received_at=AT,
            reference="BANK-7",
            idempotency_key="bank-7",
        ).pk

    results, errors = _run_threads(8, pay)
    assert not errors, errors
    assert len(set(results)) == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("10.00")
    check(wallet)

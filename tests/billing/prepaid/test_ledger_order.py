"""The ledger reads like a bank statement (issue 10, section 5): in ledger order each entry's
`balance_after` is the previous entry's plus its amount, however many batches, debits and
top-ups ran at once. The ledger order is the entry's id, drawn from the sequence under the
wallet lock, in the order the running balance is computed; the ledger list uses that order.

Real threads on PostgreSQL, as the other concurrency tests of this folder."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import LedgerEntry, UsageRecord, Wallet
from billing.prepaid.selectors import ledger_list
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.usage import usage_ingest
from billing.prepaid.services.wallets import wallet_for_client, wallet_top_up
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import record


def _run_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def chain_breaks(entries) -> list:
    """The consecutive pairs (in the given order, oldest first) where the statement breaks."""
    breaks = []
    balance = Decimal("0")
    for e in entries:
        if e.balance_after != balance + e.amount:
            breaks.append((e.pk, e.kind, str(balance), str(e.amount), str(e.balance_after)))
        balance = e.balance_after
    return breaks


def assert_statement(wallet):
    by_id = list(LedgerEntry.objects.filter(wallet=wallet).order_by("pk"))
    assert chain_breaks(by_id) == []
    # the ledger list (pages, API, CSV) is that order, newest first
    listed = list(ledger_list(client=wallet.client))
    assert [e.pk for e in reversed(listed)] == [e.pk for e in by_id]
    wallet.refresh_from_db()
    assert by_id[-1].balance_after == wallet.balance
    check(wallet)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_balance_after_chains_in_ledger_order_under_concurrent_batches_and_top_ups(cm):
    client = prepaid_client(cm)
    wallet = wallet_for_client(client=client)
    top_up(wallet, "500.00", timezone.now() - dt.timedelta(days=3))

    def work(i):
        for round_ in range(3):
            if i % 4 == 3:
                wallet_top_up(
                    wallet=Wallet(pk=wallet.pk),
                    amount=Decimal("7.00"),
                    received_at=timezone.now() - dt.timedelta(days=1),
                    reference=f"T{i}-{round_}",
                    idempotency_key=f"top-{i}-{round_}",
                )
            elif i % 4 == 2:
                wallet_debit(
                    wallet=Wallet(pk=wallet.pk),
                    amount="0.30",
                    idempotency_key=f"debit-{i}-{round_}",
                    cause="thread",
                )
            else:
                usage_ingest(
                    records=[
                        record(client, f"{i}-{round_}-{n}", amount="0.11", prefix="order")
                        for n in range(6)
                    ]
                )

    errors = _run_threads(12, work)

    import traceback

    [traceback.print_exception(e) for e in errors[:1]]
    assert not errors, errors
    assert UsageRecord.objects.filter(client=client).count() == 6 * 3 * 6
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 1 + 9 + 9 + 6 * 3 * 6
    assert_statement(wallet)


@pytest.mark.django_db
def test_a_top_up_received_earlier_is_listed_in_booking_order(prepaid, wallet):
    """A payment booked today but received last week (its entry's `created_at` is the receipt)
    is listed where it was booked: the list is the statement, whatever the moments say."""
    now = timezone.now()
    top_up(wallet, "10.00", now - dt.timedelta(days=2))
    wallet_debit(wallet=wallet, amount="4.00", idempotency_key="d1", cause="x", at=now)
    top_up(wallet, "5.00", now - dt.timedelta(days=7))

    listed = list(ledger_list(client=prepaid))

    assert [(e.kind, e.amount, e.balance_after) for e in listed] == [
        ("top_up", Decimal("5.00"), Decimal("11.00")),
        ("debit", Decimal("-4.00"), Decimal("6.00")),
        ("top_up", Decimal("10.00"), Decimal("10.00")),
    ]
    assert_statement(wallet)

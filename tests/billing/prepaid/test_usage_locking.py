"""Usage ingestion writes its rows before it takes the account and wallet locks (one lock
order for every batch: usage rows, message accounts, wallets, lots), so those locks are held
for less; a record refused under the locks leaves no row behind (issue 3, §2 and §7)."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Provider
from billing.models import LedgerEntry, MessageAccount, UsageRecord
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.usage import usage_ingest
from tests.accounts.factories import AgreementFactory, ClientFactory, PlatformUserFactory
from tests.billing.factories import check, top_up
from tests.billing.prepaid.helpers import record as usage_record

pytestmark = pytest.mark.django_db


def record(client, n, **values):
    return usage_record(client, n, prefix="lock", **values)


@pytest.fixture
def funded(prepaid, wallet):
    """The prepaid client and its wallet, with 1.00 usable."""
    top_up(wallet, "1.00", timezone.now() - dt.timedelta(days=3))
    return prepaid, wallet


def test_usage_rows_are_written_before_the_wallet_and_account_locks(funded, client_company):
    company, _ = funded
    MessageAccount.objects.create(client=client_company, limit=1000)
    with CaptureQueriesContext(connection) as queries:
        results = usage_ingest(records=[record(company, 1), record(client_company, 1)])
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    sqls = [q["sql"] for q in queries.captured_queries]
    insert = next(
        i for i, s in enumerate(sqls) if s.lstrip().startswith("INSERT INTO billing_usagerecord")
    )
    locks = [i for i, s in enumerate(sqls) if "FOR UPDATE" in s]
    assert len(locks) == 3  # message accounts, wallets, lots
    assert insert < min(locks)


def test_each_accepted_prepaid_row_points_at_its_own_entry_and_refused_rows_are_gone(funded):
    company, wallet = funded
    batch = [record(company, n, amount=amount) for n, amount in enumerate(["0.40", "0.70", "0.60"])]

    results = usage_ingest(records=batch)

    assert [r["status"] for r in results] == ["accepted", "refused", "accepted"]
    assert results[1]["code"] == "insufficient_credit"
    assert not UsageRecord.objects.filter(record_id=batch[1]["id"]).exists()
    for rec in (batch[0], batch[2]):
        row = UsageRecord.objects.select_related("ledger_entry").get(record_id=rec["id"])
        assert row.ledger_entry.idempotency_key == "usage:" + rec["id"]
        assert row.ledger_entry.amount == -Decimal(rec["amount"])
    check(wallet)


def test_a_record_over_the_limit_leaves_no_row(client_company):
    MessageAccount.objects.create(client=client_company, limit=5)

    results = usage_ingest(
        records=[record(client_company, 1, messages=4), record(client_company, 2, messages=4)]
    )

    assert [r["status"] for r in results] == ["accepted", "refused"]
    assert list(UsageRecord.objects.values_list("record_id", flat=True)) == [
        f"lock-{client_company.pk}-1"
    ]
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 4


def test_a_ledger_key_already_present_links_the_row_to_that_entry_and_charges_once(funded):
    company, wallet = funded
    rec = record(company, 1, amount="0.30")
    earlier = wallet_debit(
        wallet=wallet, amount=Decimal("0.30"), idempotency_key="usage:" + rec["id"], cause="x"
    )

    [result] = usage_ingest(records=[rec])

    assert result["status"] == "accepted"
    assert UsageRecord.objects.get(record_id=rec["id"]).ledger_entry_id == earlier.pk
    assert LedgerEntry.objects.filter(wallet=wallet, kind="debit").count() == 1
    check(wallet)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_id_being_recorded_by_another_transaction_is_answered_once_it_commits():
    cm = Provider.objects.get(code="cm-cn")
    PlatformUserFactory()
    company = ClientFactory(provider=cm)
    AgreementFactory(client=company)
    MessageAccount.objects.create(client=company, limit=1000)
    first, second = record(company, 1, messages=2), record(company, 2, messages=3)
    holding = threading.Event()
    release = threading.Event()

    def other_batch():
        try:
            with transaction.atomic():
                usage_ingest(records=[first])
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=other_batch)
    other.start()
    assert holding.wait(10)
    answers = []

    def this_batch():
        try:
            answers.extend(usage_ingest(records=[first, second]))
        finally:
            connection.close()

    mine = threading.Thread(target=this_batch)
    mine.start()
    time.sleep(0.3)
    assert not answers  # waiting for the other transaction
    release.set()
    other.join()
    mine.join()

    assert [a["status"] for a in answers] == ["duplicate", "accepted"]
    assert MessageAccount.objects.get(client=company).unpaid_count == 5
    assert UsageRecord.objects.filter(client=company).count() == 2

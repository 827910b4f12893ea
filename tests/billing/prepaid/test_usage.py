"""Usage from the messaging platform: per-record answers, replay, refusals, concurrency."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Agreement, Client, Provider, Suspension
from billing.models import MessageAccount, UsageRecord
from billing.prepaid.services.usage import usage_ingest
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import AgreementFactory, ClientFactory, PlatformUserFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.prepaid.helpers import record

pytestmark = pytest.mark.django_db


def test_an_accepted_record_is_stored_with_its_values(client_company, platform):
    [result] = usage_ingest(
        records=[
            record(
                client_company,
                1,
                messages=3,
                amount="0.15",
                channel="whatsapp",
                recipient="+8613800000000",
            )
        ],
        platform_user=platform,
    )

    assert result == {"id": f"rec-{client_company.pk}-1", "status": "accepted"}
    stored = UsageRecord.objects.get(record_id=f"rec-{client_company.pk}-1")
    assert stored.client == client_company
    assert stored.channel == "whatsapp"
    assert stored.message_count == 3
    assert stored.amount == Decimal("0.15")
    assert stored.currency == "CNY"
    assert stored.prepaid is False
    assert stored.recipient == "+8613800000000"
    assert stored.occurred_at.isoformat() == "2026-03-01T02:00:00+00:00"


def test_a_replayed_record_is_a_no_op_that_answers_duplicate(client_company, platform):
    batch = [record(client_company, 1, messages=5), record(client_company, 2, messages=5)]
    usage_ingest(records=batch, platform_user=platform)

    again = usage_ingest(records=batch, platform_user=platform)

    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert UsageRecord.objects.filter(client=client_company).count() == 2
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 10


def test_the_same_id_twice_in_one_batch_counts_once(client_company, platform):
    results = usage_ingest(
        records=[record(client_company, 1, messages=5)] * 2, platform_user=platform
    )

    assert [r["status"] for r in results] == ["accepted", "duplicate"]
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 5


def test_a_reused_id_with_other_values_is_refused(client_company, platform):
    usage_ingest(records=[record(client_company, 1, messages=5)], platform_user=platform)

    [result] = usage_ingest(records=[record(client_company, 1, messages=6)], platform_user=platform)

    assert (result["status"], result["field"], result["code"]) == ("refused", "id", "id_reused")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"channel": "pigeon"}, "channel", "invalid"),
        ({"amount": 0.05}, "amount", "float"),
        ({"amount": "-0.01"}, "amount", "negative"),
        ({"amount": "abc"}, "amount", "invalid"),
        ({"amount": "0.001"}, "amount", "invalid"),
        ({"amount": "NaN"}, "amount", "invalid"),
        ({"message_count": -1}, "message_count", "invalid"),
        ({"message_count": "3"}, "message_count", "invalid"),
        ({"message_count": 1.0}, "message_count", "invalid"),
        ({"occurred_at": "yesterday"}, "occurred_at", "invalid"),
        ({"occurred_at": "2026-03-01T10:00:00"}, "occurred_at", "invalid"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "future"),
        ({"currency": "USD"}, "currency", "wrong_currency"),
        ({"client": 999_999_999}, "client", "unknown_client"),
        ({"client": "abc"}, "client", "invalid"),
        ({"id": ""}, "id", "required"),
        ({"id": "x" * 101}, "id", "invalid"),
        ({"recipient": "9" * 65}, "recipient", "invalid"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field_while_its_neighbours_are_accepted(
    client_company, platform, change, field, code
):
    bad = {**record(client_company, 2), **change}

    results = usage_ingest(
        records=[record(client_company, 1), bad, record(client_company, 3)], platform_user=platform
    )

    assert [r["status"] for r in results] == ["accepted", "refused", "accepted"]
    assert results[1]["field"] == field
    assert results[1]["code"] == code
    assert results[1]["reason"]
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 2
    assert UsageRecord.objects.count() == 2


def test_a_record_that_is_not_an_object_is_refused(client_company, platform):
    results = usage_ingest(records=["nonsense", record(client_company, 1)], platform_user=platform)

    assert [r["status"] for r in results] == ["refused", "accepted"]
    assert (results[0]["field"], results[0]["code"]) == ("record", "invalid")


def test_the_right_currency_is_accepted(client_company, platform):
    [result] = usage_ingest(
        records=[record(client_company, 1, currency="CNY")], platform_user=platform
    )

    assert result["status"] == "accepted"


@pytest.mark.parametrize(
    ("make_unable", "code"),
    [
        (
            lambda c: Client.objects.filter(pk=c.pk).update(status=Client.Status.PENDING),
            "client_not_active",
        ),
        (
            lambda c: Client.objects.filter(pk=c.pk).update(status=Client.Status.DELETED),
            "client_not_active",
        ),
        (
            lambda c: Agreement.objects.filter(client=c).update(status=Agreement.Status.TERMINATED),
            "agreement_ended",
        ),
        (lambda c: Agreement.objects.filter(client=c).delete(), "no_agreement"),
        (
            lambda c: Suspension.objects.create(client=c, cause="non_payment", reason="overdue"),
            "suspended",
        ),
        (
            lambda c: Agreement.objects.filter(client=c).update(status=Agreement.Status.SUSPENDED),
            "suspended",
        ),
    ],
)
def test_usage_for_a_client_that_may_not_message_is_refused(
    client_company, other_company, platform, make_unable, code
):
    make_unable(client_company)

    results = usage_ingest(
        records=[record(client_company, 1), record(other_company, 1)], platform_user=platform
    )

    assert results[0]["status"] == "refused"
    assert results[0]["field"] == "client"
    assert results[0]["code"] == code
    assert results[1]["status"] == "accepted"
    assert not UsageRecord.objects.filter(client=client_company).exists()


def test_the_set_based_check_agrees_with_messaging_allowed(cm, platform):
    from accounts.selectors import messaging_allowed

    clients = []
    for status, agreement_status, suspended in [
        ("active", "active", False),
        ("active", "notice_given", False),
        ("active", "active", True),
        ("active", "terminated", False),
        ("pending", "active", False),
    ]:
        client = ClientFactory(provider=cm, status=status)
        AgreementFactory(client=client, status=agreement_status)
        if suspended:
            Suspension.objects.create(client=client, cause="breach", reason="x")
        clients.append(client)

    results = usage_ingest(records=[record(c, 1) for c in clients], platform_user=platform)

    # art. 7.1: an active client with a live agreement (notice given is still live) may message;
    # an open suspension, an ended agreement or an account not active may not
    assert [r["status"] for r in results] == [
        "accepted",
        "accepted",
        "refused",
        "refused",
        "refused",
    ]
    assert [r.get("code") for r in results] == [
        None,
        None,
        "suspended",
        "agreement_ended",
        "client_not_active",
    ]
    assert [r["status"] == "accepted" for r in results] == [
        messaging_allowed(client=c) for c in clients
    ]


def test_a_refused_record_can_be_sent_again_once_the_reason_is_gone(client_company, platform):
    Suspension.objects.create(client=client_company, cause="non_payment", reason="overdue")
    assert (
        usage_ingest(records=[record(client_company, 1)], platform_user=platform)[0]["status"]
        == "refused"
    )

    Suspension.objects.filter(client=client_company).update(ended_at=timezone.now())

    assert (
        usage_ingest(records=[record(client_company, 1)], platform_user=platform)[0]["status"]
        == "accepted"
    )


def test_a_batch_of_many_clients_answers_in_order(cm, platform):
    companies = [ClientFactory(provider=cm) for _ in range(5)]
    for company in companies:
        AgreementFactory(client=company)
    batch = [record(companies[i % 5], i, messages=2) for i in range(50)]

    results = usage_ingest(records=batch, platform_user=platform)

    assert [r["id"] for r in results] == [r["id"] for r in batch]
    assert all(r["status"] == "accepted" for r in results)
    assert (
        sorted(
            MessageAccount.objects.filter(client__in=companies).values_list(
                "unpaid_count", flat=True
            )
        )
        == [20] * 5
    )


def test_a_batch_works_in_a_bounded_number_of_queries(cm, platform, django_assert_max_num_queries):
    companies = [ClientFactory(provider=cm) for _ in range(10)]
    for company in companies:
        AgreementFactory(client=company)
    usage_ingest(
        records=[record(c, 0) for c in companies], platform_user=platform
    )  # accounts exist
    batch = [record(companies[i % 10], i + 1) for i in range(500)]

    with django_assert_max_num_queries(8):
        results = usage_ingest(records=batch, platform_user=platform)

    assert all(r["status"] == "accepted" for r in results)


# --- Concurrency ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_threads_ingesting_for_one_postpaid_client_never_exceed_the_limit():
    cm = Provider.objects.get(code="cm-cn")
    # given a client with room for exactly 150 messages
    platform = PlatformUserFactory()
    company = ClientFactory(provider=cm)
    AgreementFactory(client=company)
    MessageAccount.objects.create(client=company, limit=150)
    barrier = threading.Barrier(2)
    answers = {}

    def ingest(thread):
        try:
            barrier.wait()
            for batch in range(10):
                records = [
                    {**record(company, f"{thread}-{batch}-{i}"), "message_count": 1}
                    for i in range(10)
                ]
                answers.setdefault(thread, []).extend(
                    usage_ingest(records=records, platform_user=platform)
                )
        finally:
            connection.close()

    # when two threads send 200 messages in all
    threads = [threading.Thread(target=ingest, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then exactly 150 are accepted, the rest refused at the limit, and the count agrees
    statuses = [r["status"] for rs in answers.values() for r in rs]
    assert statuses.count("accepted") == 150
    assert statuses.count("refused") == 50
    account = MessageAccount.objects.get(client=company)
    assert account.unpaid_count == 150
    assert UsageRecord.objects.filter(client=company).count() == 150


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_batch_sent_from_four_threads_is_recorded_once():
    cm = Provider.objects.get(code="cm-cn")
    platform = PlatformUserFactory()
    companies = [ClientFactory(provider=cm) for _ in range(3)]
    for company in companies:
        AgreementFactory(client=company)
    batch = [record(companies[i % 3], i, messages=1) for i in range(60)]
    barrier = threading.Barrier(4)
    answers = []

    def ingest():
        try:
            barrier.wait()
            answers.append(usage_ingest(records=batch, platform_user=platform))
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert UsageRecord.objects.count() == 60
    assert sum(MessageAccount.objects.values_list("unpaid_count", flat=True)) == 60
    per_record = list(zip(*answers, strict=True))
    assert all(
        sorted(r["status"] for r in rs) == ["accepted", "duplicate", "duplicate", "duplicate"]
        for rs in per_record
    )


# --- Prepaid (art. 29.2) -------------------------------------------------------------------
def _consistent(wallet):
    from django.db.models import Sum

    from billing.models import CreditLot, LedgerEntry

    wallet.refresh_from_db()
    ledger = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or 0
    lots = (
        CreditLot.objects.filter(wallet=wallet, status__in=["active", "exhausted"]).aggregate(
            s=Sum("remaining")
        )["s"]
        or 0
    )
    assert wallet.balance == ledger == lots
    return wallet.balance


@pytest.fixture
def funded(prepaid, wallet):
    """The prepaid client and its wallet, with 10.00 usable."""
    top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=3))
    return prepaid, wallet


def test_prepaid_usage_debits_the_wallet_and_links_the_ledger_entry(funded, platform):
    from billing.models import LedgerEntry

    company, wallet = funded

    results = usage_ingest(
        records=[record(company, 1, amount="1.50"), record(company, 2, amount="2.50")],
        platform_user=platform,
    )

    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert _consistent(wallet) == Decimal("6.00")
    stored = UsageRecord.objects.get(record_id=f"rec-{company.pk}-1")
    assert stored.prepaid is True
    assert stored.ledger_entry.kind == LedgerEntry.Kind.DEBIT
    assert stored.ledger_entry.amount == Decimal("-1.50")
    # prepaid messages do not count against a message limit
    assert not MessageAccount.objects.filter(client=company, unpaid_count__gt=0).exists()


def test_a_prepaid_record_larger_than_the_usable_balance_is_refused_whole(funded, platform):
    company, wallet = funded

    results = usage_ingest(
        records=[
            record(company, 1, amount="6.00"),
            record(company, 2, amount="5.00"),
            record(company, 3, amount="4.00"),
        ],
        platform_user=platform,
    )

    assert [r["status"] for r in results] == ["accepted", "refused", "accepted"]
    assert (results[1]["field"], results[1]["code"], results[1]["article"]) == (
        "amount",
        "insufficient_credit",
        "29.2",
    )
    assert _consistent(wallet) == Decimal("0.00")
    assert not UsageRecord.objects.filter(record_id=f"rec-{company.pk}-2").exists()


def test_credit_received_today_is_not_yet_usable_for_usage(cm, platform):
    company = prepaid_client(cm)
    wallet = wallet_for_client(client=company)
    top_up(wallet, "10.00", timezone.now())

    [result] = usage_ingest(records=[record(company, 1, amount="1.00")], platform_user=platform)

    assert result["code"] == "insufficient_credit"
    assert _consistent(wallet) == Decimal("10.00")


def test_a_replayed_prepaid_record_is_charged_once(funded, platform):
    company, wallet = funded
    batch = [record(company, 1, amount="3.00")]

    usage_ingest(records=batch, platform_user=platform)
    [again] = usage_ingest(records=batch, platform_user=platform)

    assert again["status"] == "duplicate"
    assert _consistent(wallet) == Decimal("7.00")


def test_a_prepaid_client_without_a_wallet_is_refused_for_lack_of_credit(cm, platform):
    company = prepaid_client(cm)

    [result] = usage_ingest(records=[record(company, 1, amount="0.10")], platform_user=platform)

    assert result["code"] == "insufficient_credit"


def test_a_mixed_batch_of_prepaid_and_postpaid_clients(funded, client_company, platform):
    company, wallet = funded

    results = usage_ingest(
        records=[record(company, 1, amount="1.00"), record(client_company, 1, messages=4)],
        platform_user=platform,
    )

    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert _consistent(wallet) == Decimal("9.00")
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_prepaid_batches_never_overdraw_the_wallet():
    cm = Provider.objects.get(code="cm-cn")
    platform = PlatformUserFactory()
    company = prepaid_client(cm)
    wallet = wallet_for_client(client=company)
    top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=2))
    barrier = threading.Barrier(4)
    answers = []

    def ingest(thread):
        try:
            barrier.wait()
            for batch in range(4):
                records = [
                    record(company, f"{thread}-{batch}-{i}", amount="0.25") for i in range(5)
                ]
                answers.extend(usage_ingest(records=records, platform_user=platform))
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # 80 records of 0.25 against 10.00: exactly 40 fit
    assert [r["status"] for r in answers].count("accepted") == 40
    assert _consistent(wallet) == Decimal("0.00")
    assert UsageRecord.objects.filter(client=company).count() == 40


@pytest.mark.parametrize(
    "record_id",
    ['a"b', "back\\slash", "comma,brace{}", "NULL", "  spaced id  ", "ünïcødé-✓", "'quote'"],
)
def test_ids_and_recipients_with_any_characters_are_stored_exactly(
    client_company, platform, record_id
):
    rec = {**record(client_company, 1), "id": record_id, "recipient": 'r"\\,{}'}

    [result] = usage_ingest(records=[rec], platform_user=platform)
    [again] = usage_ingest(records=[rec], platform_user=platform)

    assert result == {"id": record_id.strip(), "status": "accepted"}
    assert again["status"] == "duplicate"
    stored = UsageRecord.objects.get()
    assert stored.record_id == record_id.strip()
    assert stored.recipient == 'r"\\,{}'


def test_a_nul_character_is_refused_not_a_server_error(client_company, platform):
    results = usage_ingest(
        records=[
            {**record(client_company, 1), "id": "a\x00b"},
            {**record(client_company, 2), "recipient": "\x00"},
        ],
        platform_user=platform,
    )

    assert [(r["status"], r["field"]) for r in results] == [
        ("refused", "id"),
        ("refused", "recipient"),
    ]

"""What a statement entry becomes when it pays no open invoice in full (issue 14 §2, issue 12 §6):
a prepaid client's reference tops up its wallet, usable the next day (art. 29.3); an
overpayment or a payment without an invoice becomes client credit (art. 9.1), visible, set off
against open invoices (also across what the client is billed for, 9.2) or refunded by staff,
never absorbed. And the matching of a batch takes as many queries for 5 entries as for 40."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.kernel.dates import local_midnight
from accounts.kernel.errors import Conflict, NotAllowed, ValidationFailed
from accounts.models import Agreement, Client, Notification
from billing.invoicing import selectors
from billing.invoicing.services import bank_details, client_credit, set_offs
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import statements as statement_services
from billing.models import (
    BankAccount,
    ClientCredit,
    CreditLot,
    Invoice,
    LedgerEntry,
    Payment,
    SetOff,
    StatementEntry,
    StatementImport,
    Wallet,
)
from billing.payment_references import client_payment_reference
from billing.prepaid import selectors as prepaid_selectors
from tests.billing.invoicing.factories import D, Dec, admin_of, company, line

from .statement_builder import camt053

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(cx, billing_staff):
    return bank_details.bank_account_save(
        account=BankAccount(
            provider=cx,
            currency="EUR",
            account_holder="CXENGAGE B.V.",
            bank_name="DEMO Bank Amsterdam",
            iban="NL93DEMO0123456789",
            bic="DEMONL2A",
            is_primary=True,
        ),
        acting_user=billing_staff,
    )


@pytest.fixture
def prepaid(cx, account, clock):
    """A prepaid client of cxengage-nl whose wallet is kept in euro (its agreed currency)."""
    client = company(cx, legal_name="Windmill Apps B.V.", billing_mode=Client.BillingMode.PREPAID)
    # the agreement names euro (issue 12 §5), so the wallet and its top-ups are in euro
    Agreement.objects.filter(client=client).update(currency="EUR")
    Wallet.objects.create(client=client, currency="EUR")
    clock.set(dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC))  # 16:00 in Amsterdam
    return client


def rf(client) -> str:
    return client_payment_reference(country="NL", client_id=client.pk, currency="EUR")


def run(content, staff, capture) -> StatementImport:
    with capture(execute=True):
        statement = statement_services.statement_upload(
            filename="s.xml", content=content, acting_user=staff
        )
    statement.refresh_from_db()
    return statement


def issue(client, staff, amount, *, currency="EUR") -> Invoice:
    return invoice_services.invoice_issue(
        invoice=invoice_services.invoice_draft(
            client=client,
            lines=[line(amount, vat_rate="0")],
            acting_user=staff,
            currency=currency,
        ),
        acting_user=staff,
    )


# --- Prepaid top-ups (art. 29.3) ----------------------------------------------------------
def test_a_prepaid_clients_reference_tops_up_its_wallet_usable_the_next_day_not_today(
    prepaid, cx, billing_staff, django_capture_on_commit_callbacks
):
    statement = run(
        camt053([{"amount": "300.00", "ref": "B-1", "structured": rf(prepaid)}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    entry = StatementEntry.objects.get()
    assert (entry.status, entry.matched_by, entry.client) == ("top_up", "client_reference", prepaid)
    assert statement.matched == 1 and not Payment.objects.exists()
    lot = CreditLot.objects.get()
    assert entry.lot == lot and (lot.amount, lot.currency) == (Dec("300.00"), "EUR")
    assert lot.purchase_date == D(2026, 3, 5)
    assert lot.usable_from == local_midnight(cx, D(2026, 3, 6))
    ledger = LedgerEntry.objects.get()
    assert ledger.kind == "top_up" and ledger.idempotency_key == f"statement-entry:{cx.pk}:B-1"
    last_moment_today = local_midnight(cx, D(2026, 3, 6)) - dt.timedelta(seconds=1)
    today = prepaid_selectors.wallet_summary(client=prepaid, at=last_moment_today)
    assert (today["usable_now"], today["pending"]) == (Dec("0"), Dec("300.00"))
    tomorrow = prepaid_selectors.wallet_summary(
        client=prepaid, at=local_midnight(cx, D(2026, 3, 6))
    )
    assert tomorrow["usable_now"] == Dec("300.00")


def test_the_client_reference_in_the_remittance_text_tops_up_too(
    prepaid, billing_staff, django_capture_on_commit_callbacks
):
    text = f"top-up nl-c{prepaid.pk:06d} thanks"

    run(
        camt053([{"amount": "50.00", "ref": "B-2", "text": text}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    assert StatementEntry.objects.get().status == "top_up"
    assert Wallet.objects.get(client=prepaid).balance == Dec("50.00")


def test_a_top_up_imported_again_in_another_file_books_once(
    prepaid, billing_staff, django_capture_on_commit_callbacks
):
    entry = {"amount": "300.00", "ref": "B-1", "structured": rf(prepaid)}
    run(camt053([entry]), billing_staff, django_capture_on_commit_callbacks)

    again = run(
        camt053([entry], statement_id="T-STMT-2"), billing_staff, django_capture_on_commit_callbacks
    )

    assert (again.duplicates, again.matched) == (1, 0)
    assert CreditLot.objects.count() == 1 and LedgerEntry.objects.count() == 1
    assert Wallet.objects.get(client=prepaid).balance == Dec("300.00")


def test_a_zero_amount_for_a_prepaid_reference_is_refused_and_waits_for_staff(
    prepaid, billing_staff, django_capture_on_commit_callbacks
):
    run(
        camt053([{"amount": "0.00", "ref": "B-0", "structured": rf(prepaid)}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    entry = StatementEntry.objects.get()
    assert entry.status == "unmatched" and entry.lot is None
    assert "not recorded" in entry.note and "positive" in entry.note
    assert not CreditLot.objects.exists() and Wallet.objects.get(client=prepaid).balance == 0
    assert entry in selectors.unmatched_entries(user=billing_staff)


def test_a_negative_amount_for_a_prepaid_reference_tops_up_nothing(
    prepaid, billing_staff, django_capture_on_commit_callbacks
):
    # a file cannot carry one (amounts are unsigned, CdtDbtInd gives the direction) ...
    with pytest.raises(ValidationFailed) as refused:
        run(
            camt053([{"amount": "-5.00", "ref": "B-N", "structured": rf(prepaid)}]),
            billing_staff,
            django_capture_on_commit_callbacks,
        )
    assert "not an amount" in refused.value.message
    # ... and an entry holding one anyway is left for staff, booking nothing
    statement = run(
        camt053([{"amount": "1.00", "ref": "B-X", "text": "x"}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )
    entry = StatementEntry.objects.create(
        statement=statement,
        provider_id=statement.provider_id,
        bank_reference="B-N",
        booking_date=D(2026, 3, 5),
        amount=Dec("-5.00"),
        currency="EUR",
        structured_reference=rf(prepaid),
    )

    assert statement_services.statement_entry_match(entry, user=billing_staff) == "unmatched"
    entry.refresh_from_db()
    assert "positive" in entry.note
    assert not CreditLot.objects.exists()


def test_a_top_up_in_another_currency_than_the_wallets_waits_for_staff(
    cx, account, billing_staff, clock, django_capture_on_commit_callbacks
):
    client = company(cx, billing_mode=Client.BillingMode.PREPAID)  # wallet in USD
    clock.set(D(2026, 3, 6))

    run(
        camt053([{"amount": "10.00", "ref": "B-U", "structured": rf(client)}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    entry = StatementEntry.objects.get()
    assert entry.status == "unmatched" and "kept in USD" in entry.note
    assert not CreditLot.objects.exists()


def test_the_wallet_page_shows_the_reference_to_quote_and_the_bank_details(
    as_user, prepaid, account
):
    html = as_user(admin_of(prepaid)).get("/billing/wallet/").content.decode()

    assert f'data-testid="top-up-reference">{rf(prepaid)}<' in html
    assert "NL93 DEMO 0123 4567 89" in html or "NL93DEMO0123456789" in html


# --- Client credit (art. 9.1-9.2) ----------------------------------------------------------
@pytest.fixture
def tulip(cx, account, clock):
    client = company(cx, legal_name="Tulip Logistics B.V.")
    clock.set(D(2026, 3, 6))
    return client


def test_a_postpaid_clients_reference_becomes_its_credit(
    tulip, billing_staff, django_capture_on_commit_callbacks
):
    reference = rf(tulip)

    run(
        camt053([{"amount": "75.00", "ref": "C-1", "structured": reference}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    entry = StatementEntry.objects.get()
    assert (entry.status, entry.credited, entry.client) == ("credited", Dec("75.00"), tulip)
    credit = ClientCredit.objects.get(client=tulip)
    assert credit.balance == Dec("75.00")
    assert entry.credit_entry.kind == "unapplied"
    assert Notification.objects.filter(
        client=tulip, subject__contains="credited to your account"
    ).exists()


def test_a_paid_invoice_paid_again_becomes_the_clients_credit(
    tulip, billing_staff, django_capture_on_commit_callbacks
):
    invoice = issue(tulip, billing_staff, "200.00")
    run(
        camt053([{"amount": "200.00", "ref": "P-1", "structured": invoice.payment_reference}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    run(
        camt053(
            [{"amount": "200.00", "ref": "P-2", "text": f"invoice {invoice.number}"}],
            statement_id="T-2",
        ),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    second = StatementEntry.objects.get(bank_reference="P-2")
    assert (second.status, second.invoice, second.credited) == ("credited", invoice, Dec("200.00"))
    assert second.credit_entry.kind == "overpayment"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Dec("200.00"))
    assert ClientCredit.objects.get(client=tulip).balance == Dec("200.00")


@pytest.fixture
def credit(tulip, billing_staff):
    client_credit.client_credit_add(
        client=tulip,
        currency="EUR",
        amount="150.00",
        kind="unapplied",
        received_on=D(2026, 3, 5),
        reference="C-1",
        idempotency_key="statement-entry:x:C-1",
        acting_user=billing_staff,
    )
    return ClientCredit.objects.get(client=tulip)


def test_credit_is_set_off_against_any_open_invoice_of_the_client(tulip, credit, billing_staff):
    first = issue(tulip, billing_staff, "100.00")
    second = issue(tulip, billing_staff, "80.00")

    for invoice, amount in ((first, "100.00"), (second, "50.00")):
        set_offs.set_off_record(
            client=tulip,
            source=SetOff.Source.CLIENT_CREDIT,
            source_obj=credit,
            invoice=invoice,
            amount=amount,
            acting_user=billing_staff,
            idempotency_key=f"so-{invoice.pk}",
        )

    credit.refresh_from_db()
    assert credit.balance == Dec("0.00")
    assert [(e.kind, e.amount, e.balance_after) for e in credit.entries.order_by("pk")] == [
        ("unapplied", Dec("150.00"), Dec("150.00")),
        ("set_off", Dec("-100.00"), Dec("50.00")),
        ("set_off", Dec("-50.00"), Dec("0.00")),
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("paid", "partly_paid")
    # nothing is left: a further set-off is refused and changes nothing
    with pytest.raises(ValidationFailed):
        set_offs.set_off_record(
            client=tulip,
            source=SetOff.Source.CLIENT_CREDIT,
            source_obj=credit,
            invoice=second,
            amount="0.01",
            acting_user=billing_staff,
            idempotency_key="so-more",
        )
    assert SetOff.objects.count() == 2


def test_credit_is_never_set_off_against_another_clients_invoice_even_the_same_company_elsewhere(
    tulip, credit, billing_staff, cm
):
    # the same company as a client of the other provider: another legal entity (art. 11.1)
    twin = company(cm, legal_name=tulip.legal_name, registration_number=tulip.registration_number)
    theirs = issue(twin, billing_staff, "100.00", currency="CNY")

    with pytest.raises(NotAllowed):
        set_offs.set_off_record(
            client=tulip,
            source=SetOff.Source.CLIENT_CREDIT,
            source_obj=credit,
            invoice=theirs,
            amount="10.00",
            acting_user=billing_staff,
            idempotency_key="so-twin",
        )
    credit.refresh_from_db()
    assert credit.balance == Dec("150.00") and not SetOff.objects.exists()


def test_staff_refund_credit_recorded_once_and_never_more_than_it_holds(credit, billing_staff):
    with pytest.raises(ValidationFailed) as refused:
        client_credit.client_credit_refund(
            credit=credit,
            amount="150.01",
            reference="SEPA 1",
            idempotency_key="r-0",
            acting_user=billing_staff,
        )
    assert "amount" in refused.value.errors
    credit.refresh_from_db()
    assert credit.balance == Dec("150.00") and credit.entries.count() == 1

    for _ in range(2):
        client_credit.client_credit_refund(
            credit=credit,
            amount="40.00",
            reference="SEPA 2026-03-06",
            idempotency_key="r-1",
            acting_user=billing_staff,
        )

    credit.refresh_from_db()
    assert credit.balance == Dec("110.00")
    refund = credit.entries.get(kind="refund")
    assert (refund.amount, refund.reference) == (Dec("-40.00"), "SEPA 2026-03-06")
    with pytest.raises(Conflict):
        client_credit.client_credit_refund(
            credit=credit,
            amount="41.00",
            reference="SEPA",
            idempotency_key="r-1",
            acting_user=billing_staff,
        )


def test_a_typed_in_overpayment_is_refused_unless_its_excess_is_credited(tulip, billing_staff):
    invoice = issue(tulip, billing_staff, "100.00")
    with pytest.raises(ValidationFailed):
        payment_services.payment_record(
            invoice=invoice,
            amount="120.00",
            received_on=D(2026, 3, 5),
            reference="",
            idempotency_key="k1",
            acting_user=billing_staff,
        )

    for _ in range(2):  # the same key again records once
        payment = payment_services.payment_record(
            invoice=invoice,
            amount="120.00",
            received_on=D(2026, 3, 5),
            reference="",
            idempotency_key="k2",
            acting_user=billing_staff,
            excess_to_credit=True,
        )

    assert payment.amount == Dec("100.00")
    assert ClientCredit.objects.get(client=tulip).balance == Dec("20.00")
    assert Payment.objects.count() == 1


# --- A constant number of queries per batch (issue 14 §4) ------------------------------------
def _queries_to_match(n: int, tulip, billing_staff, capture) -> int:
    invoices = [issue(tulip, billing_staff, "10.00") for _ in range(n)]
    statement = run(
        camt053([{"amount": "1.00", "ref": f"Q{n}-seed", "text": "x"}], statement_id=f"Q{n}"),
        billing_staff,
        capture,
    )
    entries = [
        StatementEntry.objects.create(
            statement=statement,
            provider_id=statement.provider_id,
            bank_reference=f"Q{n}-{i}",
            booking_date=D(2026, 3, 5),
            amount=Dec("10.00") if i % 2 else Dec("4.00"),
            currency="EUR",
            structured_reference=inv.payment_reference if i % 3 else "",
            remittance_text="" if i % 3 else f"invoice {inv.number}",
        )
        for i, inv in enumerate(invoices)
    ]
    entries = list(
        StatementEntry.objects.filter(pk__in=[e.pk for e in entries])
        .select_related("provider")
        .order_by("pk")
    )
    with CaptureQueriesContext(connection) as queries:
        statement_services.statement_entries_match(entries, user=billing_staff)
    assert all(
        e.status in ("matched", "partly_matched")
        for e in StatementEntry.objects.filter(pk__in=[e.pk for e in entries])
    )
    return len(queries)


def test_matching_a_batch_takes_as_many_queries_for_40_entries_as_for_5(
    tulip, billing_staff, django_capture_on_commit_callbacks
):
    small = _queries_to_match(5, tulip, billing_staff, django_capture_on_commit_callbacks)
    large = _queries_to_match(40, tulip, billing_staff, django_capture_on_commit_callbacks)

    assert large == small
    assert small <= 15


# --- Pages and API ----------------------------------------------------------------------------
def test_the_client_sees_its_credit_and_every_movement_and_another_client_does_not(
    as_user, tulip, credit, cx
):
    page = as_user(admin_of(tulip))
    listing = page.get("/billing/credits/").content.decode()
    assert listing.count('data-testid="credit-row"') == 1
    detail = page.get(f"/billing/credits/{credit.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'data-testid="credit-entry"' in html and "Payment without an invoice" in html
    assert "Record refund" not in html  # staff only

    stranger = as_user(admin_of(company(cx)))
    assert stranger.get(f"/billing/credits/{credit.pk}/").status_code == 404
    assert 'data-testid="credit-row"' not in stranger.get("/billing/credits/").content.decode()


def test_staff_refund_credit_on_the_page(as_user, credit, billing_staff):
    page = as_user(billing_staff)
    form = page.get(f"/billing/credits/{credit.pk}/").context["refund_form"]
    body = {
        "refund-key": form.initial["key"],
        "refund-amount": "30.00",
        "refund-reference": "SEPA 99",
    }

    assert page.post(f"/billing/credits/{credit.pk}/refund/", body).status_code == 302
    assert page.post(f"/billing/credits/{credit.pk}/refund/", body).status_code == 302  # twice

    credit.refresh_from_db()
    assert credit.balance == Dec("120.00") and credit.entries.filter(kind="refund").count() == 1
    too_much = page.post(
        f"/billing/credits/{credit.pk}/refund/",
        {**body, "refund-key": "6f1c0a4e-0000-4000-8000-000000000001", "refund-amount": "500"},
    )
    assert too_much.status_code == 400
    credit.refresh_from_db()
    assert credit.balance == Dec("120.00")


def test_the_api_lists_credit_and_sets_it_off_and_refunds_it(api, tulip, credit, billing_staff):
    invoice = issue(tulip, billing_staff, "60.00")
    staff = api(billing_staff)

    listed = staff.get(f"/api/v1/client-credits/?client={tulip.pk}").json()["results"]
    assert [(c["id"], c["balance"]) for c in listed] == [(credit.pk, "150.00")]
    set_off = staff.post(
        "/api/v1/set-offs/",
        {
            "source": "client_credit",
            "source_id": credit.pk,
            "invoice": invoice.pk,
            "amount": "60.00",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="so-api-1",
    )
    assert set_off.status_code == 201, set_off.content
    assert set_off.json()["client_credit"] == credit.pk
    refund = staff.post(
        f"/api/v1/client-credits/{credit.pk}/refund/",
        {"amount": "40.00", "reference": "SEPA 7"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="rf-api-1",
    )
    assert refund.status_code == 201 and refund.json()["balance_after"] == "50.00"
    moves = staff.get(f"/api/v1/client-credits/{credit.pk}/entries/").json()["results"]
    assert [m["kind"] for m in moves] == ["refund", "set_off", "unapplied"]
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    client_view = api(admin_of(tulip)).get(f"/api/v1/client-credits/{credit.pk}/").json()
    assert client_view["balance"] == "50.00"
    refused = api(admin_of(tulip)).post(
        f"/api/v1/client-credits/{credit.pk}/refund/",
        {"amount": "1.00", "reference": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="rf-api-2",
    )
    assert refused.status_code == 403


def test_staff_give_an_unmatched_entry_to_a_prepaid_client_as_a_top_up(
    as_user, prepaid, billing_staff, django_capture_on_commit_callbacks
):
    run(
        camt053([{"amount": "20.00", "ref": "U-1", "text": "hello"}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )
    entry = StatementEntry.objects.get(status="unmatched")

    response = as_user(billing_staff).post(
        f"/billing/statements/entries/{entry.pk}/client/", {"client": str(prepaid.pk)}
    )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.matched_by, entry.client) == ("top_up", "staff", prepaid)
    assert Wallet.objects.get(client=prepaid).balance == Dec("20.00")
    assert entry.resolved_by == billing_staff


# --- The set-wise path records what payment_record records -------------------------------------
def test_a_statement_payment_of_an_invoice_covering_messages_releases_them(
    tulip, billing_staff, django_capture_on_commit_callbacks
):
    from billing.models import MessageAccount
    from billing.prepaid.services import limits

    invoice = invoice_services.invoice_issue(
        invoice=invoice_services.invoice_draft(
            client=tulip,
            lines=[line("100.00", vat_rate="0", messages=1000)],
            acting_user=billing_staff,
            currency="EUR",
        ),
        acting_user=billing_staff,
    )
    account = limits.message_account_for_client(client=tulip)
    MessageAccount.objects.filter(pk=account.pk).update(unpaid_count=1000)

    run(
        camt053([{"amount": "100.00", "ref": "M-1", "structured": invoice.payment_reference}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    invoice.refresh_from_db()
    assert (invoice.status, invoice.messages_released) == ("paid", 1000)
    assert MessageAccount.objects.get(pk=account.pk).unpaid_count == 0  # art. 26.2


def test_a_statement_part_payment_of_an_overdue_invoice_leaves_it_overdue_with_history(
    tulip, billing_staff, clock, django_capture_on_commit_callbacks
):
    invoice = issue(tulip, billing_staff, "100.00")
    clock.set(invoice.due_date + dt.timedelta(days=3))

    run(
        camt053([{"amount": "40.00", "ref": "O-1", "structured": invoice.payment_reference}]),
        billing_staff,
        django_capture_on_commit_callbacks,
    )

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("overdue", Dec("40.00"))
    assert invoice.overdue_since == invoice.due_date + dt.timedelta(days=1)
    latest = invoice.history.first()
    assert (latest.amount_paid, latest.history_user) == (Dec("40.00"), billing_staff)
    entry = StatementEntry.objects.get()
    assert entry.status == "partly_matched" and entry.history.first().history_user == billing_staff

"""Bank statements in, payments matched (issue 14 §2): camt.053/camt.054 and MT940 read, entries
kept once by the bank's reference, matched by structured reference → invoice number in the
remittance text → unique amount and payer, recorded as payments (art. 4.10), the rest queued
for staff to assign or mark refunded; a malformed or repeated file is refused and changes
nothing. The sample files are in tests/billing/invoicing/statements/."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from billing.invoicing.services import bank_details
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import statements as statement_services
from billing.models import (
    BankAccount,
    ClientCredit,
    Invoice,
    Payment,
    StatementEntry,
    StatementImport,
)
from tests.billing.invoicing.factories import D, Dec, admin_of, company, line

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "statements"
CAMT = (FILES / "camt053_demo.xml").read_bytes()
MT940 = (FILES / "mt940_demo.sta").read_bytes()


@pytest.fixture
def books(cx, billing_staff, clock):
    """cxengage-nl's EUR account and four open euro invoices the sample statements pay:
    NL-2026-000001 1000.00, …000002 500.00, …000003 800.00 (Tulip), …000004 250.00 (Polder)."""
    bank_details.bank_account_save(
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
    tulip = company(cx, legal_name="Tulip Logistics B.V.")
    polder = company(cx, legal_name="Polder Health B.V.")
    clock.set(D(2026, 3, 2))
    invoices = []
    for client, amount in (
        (tulip, "1000.00"),
        (tulip, "500.00"),
        (tulip, "800.00"),
        (polder, "250.00"),
    ):
        draft = invoice_services.invoice_draft(
            client=client,
            lines=[line(amount, vat_rate="0")],
            acting_user=billing_staff,
            currency="EUR",
        )
        invoices.append(
            invoice_services.invoice_issue(
                invoice=draft, acting_user=billing_staff, invoice_date=D(2026, 3, 2)
            )
        )
    assert [i.number for i in invoices] == [f"NL-2026-00000{n}" for n in range(1, 5)]
    clock.set(D(2026, 3, 6))
    return invoices


def upload(content, staff, capture, name="statement"):
    with capture(execute=True):
        return statement_services.statement_upload(
            filename=name, content=content, acting_user=staff
        )


def state(invoices):
    for invoice in invoices:
        invoice.refresh_from_db()
    return [(i.status, i.amount_paid) for i in invoices]


@pytest.mark.parametrize(("content", "kind"), [(CAMT, "camt.053"), (MT940, "mt940")])
def test_a_statement_is_imported_and_its_credits_matched_and_recorded(
    books, billing_staff, django_capture_on_commit_callbacks, content, kind
):
    statement = upload(content, billing_staff, django_capture_on_commit_callbacks)

    statement.refresh_from_db()
    assert statement.format == kind
    assert statement.status == StatementImport.Status.DONE
    assert (statement.entries_total, statement.entries_done) == (6, 6)
    assert (statement.matched, statement.partly_matched, statement.unmatched) == (3, 1, 1)
    assert (statement.duplicates, statement.debits) == (1, 1)
    entries = {e.bank_reference[-4:]: e for e in StatementEntry.objects.all()}
    assert entries["0001"].matched_by == "reference" and entries["0001"].invoice == books[0]
    assert entries["0002"].matched_by == "invoice_number" and entries["0002"].invoice == books[1]
    assert entries["0003"].status == "partly_matched" and entries["0003"].invoice == books[2]
    assert entries["0005"].status == "unmatched" and entries["0005"].invoice is None
    assert entries["0006"].matched_by == "amount_payer" and entries["0006"].invoice == books[3]
    assert state(books) == [
        ("paid", Dec("1000.00")),
        ("paid", Dec("500.00")),
        # 12.50 taken by the banks on the way: the shortfall stays owed (art. 4.10)
        ("partly_paid", Dec("787.50")),
        ("paid", Dec("250.00")),
    ]
    assert Payment.objects.count() == 4
    assert Payment.objects.get(invoice=books[0]).received_on == D(2026, 3, 5)


def test_the_same_file_twice_is_refused_and_changes_nothing(
    books, billing_staff, django_capture_on_commit_callbacks
):
    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    before = (
        StatementImport.objects.count(),
        StatementEntry.objects.count(),
        Payment.objects.count(),
    )

    with pytest.raises(Conflict) as refused:
        upload(CAMT, billing_staff, django_capture_on_commit_callbacks, name="again.xml")

    assert "already imported" in refused.value.message and refused.value.field == "file"
    assert (
        StatementImport.objects.count(),
        StatementEntry.objects.count(),
        Payment.objects.count(),
    ) == before


def test_the_same_entries_in_another_file_book_nothing_twice(
    books, billing_staff, django_capture_on_commit_callbacks
):
    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    paid = state(books)

    second = upload(MT940, billing_staff, django_capture_on_commit_callbacks)

    second.refresh_from_db()
    assert second.status == "done"
    assert (second.duplicates, second.matched, second.unmatched) == (6, 0, 0)
    assert StatementEntry.objects.count() == 5
    assert Payment.objects.count() == 4
    assert state(books) == paid


def test_running_the_import_task_again_books_nothing_twice(
    books, billing_staff, django_capture_on_commit_callbacks
):
    statement = upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    # a redelivered task after a crash mid-run: the import is claimed again
    StatementImport.objects.filter(pk=statement.pk).update(status="running")

    statement_services.statement_import_run(statement_id=statement.pk)

    assert Payment.objects.count() == 4
    assert StatementEntry.objects.count() == 5
    assert statement_services.statement_import_run(statement_id=statement.pk) == {
        "skipped": "finished already"
    }


BROKEN = [
    (CAMT[:-200], "malformed"),
    (CAMT.replace(b"camt.053.001.02", b"pain.001.001.03"), "not an ISO 20022 camt.053"),
    (
        CAMT.replace(b'<Amt Ccy="EUR">3658.45</Amt>', b'<Amt Ccy="EUR">3658.46</Amt>'),
        "do not add up",
    ),
    (
        CAMT.replace(b"<AcctSvcrRef>DEMOBANK-20260305-0005</AcctSvcrRef>", b""),
        "Entry 5 has no bank reference",
    ),
    (CAMT.replace(b'<Amt Ccy="EUR">123.45</Amt>', b'<Amt Ccy="EUR">12x.45</Amt>'), "not an amount"),
    (
        CAMT.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBT</CdtDbtInd>"),
        "not CRDT or DBIT",
    ),
    (MT940.replace(b":62F:C260305EUR3658,45", b":62F:C260305EUR3000,00"), "do not add up"),
    (MT940.replace(b":25:NL93DEMO0123456789\n", b""), "names no account"),
    (b"date;amount\n2026-03-05;100.00\n", "neither ISO 20022"),
    (b"", "empty"),
    (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>',
        "DOCTYPE",
    ),
]


@pytest.mark.parametrize(("content", "says"), BROKEN)
def test_a_malformed_file_is_refused_with_a_clear_message_and_changes_nothing(
    books, billing_staff, django_capture_on_commit_callbacks, content, says
):
    with pytest.raises(ValidationFailed) as refused:
        upload(content, billing_staff, django_capture_on_commit_callbacks, name="bad.xml")

    assert "file" in refused.value.errors
    assert refused.value.errors["file"][0].startswith("bad.xml: ")
    assert says in refused.value.errors["file"][0]
    assert not StatementImport.objects.exists() and not StatementEntry.objects.exists()
    assert not Payment.objects.exists()


def test_a_statement_of_an_unknown_account_is_refused(
    books, billing_staff, django_capture_on_commit_callbacks
):
    other = CAMT.replace(b"NL93DEMO0123456789", b"NL45DEMO0987654321")

    with pytest.raises(ValidationFailed) as refused:
        upload(other, billing_staff, django_capture_on_commit_callbacks)

    assert "NL45DEMO0987654321" in refused.value.message
    assert not StatementImport.objects.exists()


def test_a_camt054_notification_is_read_too(
    books, billing_staff, django_capture_on_commit_callbacks
):
    notification = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
 <GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-03-05T10:00:00</CreDtTm></GrpHdr>
 <Ntfctn><Id>NTFCTN-1</Id><Acct><Id><IBAN>NL93DEMO0123456789</IBAN></Id><Ccy>EUR</Ccy></Acct>
  <Ntry><Amt Ccy="EUR">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
   <BookgDt><Dt>2026-03-05</Dt></BookgDt><AcctSvcrRef>N-0001</AcctSvcrRef>
   <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Tulip Logistics B.V.</Nm></Pty></Dbtr></RltdPties>
    <RmtInf><Strd><CdtrRefInf><Ref>{books[1].payment_reference}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
 </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()

    statement = upload(notification, billing_staff, django_capture_on_commit_callbacks)

    statement.refresh_from_db()
    assert (statement.format, statement.matched) == ("camt.054", 1)
    assert StatementEntry.objects.get().payer_name == "Tulip Logistics B.V."
    assert state(books)[1] == ("paid", Dec("500.00"))


def test_more_than_outstanding_pays_the_invoice_and_the_excess_becomes_client_credit(
    books, billing_staff, django_capture_on_commit_callbacks
):
    bigger = CAMT.replace(b'<Amt Ccy="EUR">500.00</Amt>', b'<Amt Ccy="EUR">600.00</Amt>').replace(
        b'<Amt Ccy="EUR">3658.45</Amt>', b'<Amt Ccy="EUR">3758.45</Amt>'
    )

    upload(bigger, billing_staff, django_capture_on_commit_callbacks)

    entry = StatementEntry.objects.get(bank_reference__endswith="0002")
    assert (entry.status, entry.invoice, entry.credited) == ("matched", books[1], Dec("100.00"))
    assert "credited to the client" in entry.note
    assert state(books)[1] == ("paid", Dec("500.00"))
    credit = ClientCredit.objects.get(client=books[1].client, currency="EUR")
    assert credit.balance == Dec("100.00")
    (moved,) = credit.entries.all()
    assert (moved.kind, moved.amount, moved.invoice) == ("overpayment", Dec("100.00"), books[1])
    assert moved == entry.credit_entry
    assert Payment.objects.get(invoice=books[1]).amount == Dec("500.00")


# --- The staff queue ----------------------------------------------------------------------
def test_staff_assign_an_unmatched_entry_to_an_invoice_in_one_action(
    as_user, books, billing_staff, django_capture_on_commit_callbacks
):
    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    unknown = StatementEntry.objects.get(status="unmatched")
    extra = invoice_services.invoice_issue(
        invoice=invoice_services.invoice_draft(
            client=books[0].client,
            lines=[line("123.45", vat_rate="0")],
            acting_user=billing_staff,
            currency="EUR",
        ),
        acting_user=billing_staff,
    )
    page = as_user(billing_staff)
    queue = page.get("/billing/statements/unmatched/")
    assert queue.status_code == 200
    assert queue.content.decode().count('data-testid="unmatched-row"') == 1

    response = page.post(
        f"/billing/statements/entries/{unknown.pk}/assign/", {"invoice": extra.number}
    )

    assert response.status_code == 302
    unknown.refresh_from_db()
    extra.refresh_from_db()
    assert (unknown.status, unknown.matched_by, unknown.invoice) == ("assigned", "staff", extra)
    assert unknown.resolved_by == billing_staff
    assert (extra.status, extra.amount_paid) == ("paid", Dec("123.45"))
    assert unknown.history.first().history_user == billing_staff
    # a second assignment is refused and books nothing
    again = page.post(
        f"/billing/statements/entries/{unknown.pk}/assign/", {"invoice": extra.number}
    )
    assert again.status_code == 400
    assert Payment.objects.filter(invoice=extra).count() == 1


def test_assigning_more_than_is_outstanding_credits_the_excess_to_the_client(
    as_user, books, billing_staff, django_capture_on_commit_callbacks
):
    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    unknown = StatementEntry.objects.get(status="unmatched")  # 123.45
    response = as_user(billing_staff).post(
        f"/billing/statements/entries/{unknown.pk}/assign/", {"invoice": books[2].number}
    )  # 12.50 outstanding

    assert response.status_code == 302
    unknown.refresh_from_db()
    assert (unknown.status, unknown.credited) == ("assigned", Dec("110.95"))
    assert state(books)[2] == ("paid", Dec("800.00"))
    assert ClientCredit.objects.get(client=books[2].client).balance == Dec("110.95")


def test_staff_mark_an_unmatched_entry_refunded(
    as_user, books, billing_staff, django_capture_on_commit_callbacks
):
    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)
    unknown = StatementEntry.objects.get(status="unmatched")

    response = as_user(billing_staff).post(
        f"/billing/statements/entries/{unknown.pk}/refund/", {"note": "Sent back 2026-03-06"}
    )

    assert response.status_code == 302
    unknown.refresh_from_db()
    assert (unknown.status, unknown.note) == ("refunded", "Sent back 2026-03-06")
    with pytest.raises(ApplicationError):
        statement_services.statement_entry_refund(
            entry=unknown, note="again", acting_user=billing_staff
        )


def test_staff_upload_on_the_page_and_see_the_summary(as_user, books, billing_staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = as_user(billing_staff)
    response = page.post(
        "/billing/statements/",
        {"file": SimpleUploadedFile("camt053_demo.xml", CAMT, content_type="application/xml")},
    )
    assert response.status_code == 302
    statement = StatementImport.objects.get()
    # the task is queued on commit; the test runs it as the worker would
    statement_services.statement_import_run(statement_id=statement.pk)

    html = page.get(f"/billing/statements/{statement.pk}/").content.decode()
    assert 'data-testid="matched">3<' in html
    assert 'data-testid="partly-matched">1<' in html
    assert 'data-testid="unmatched">1<' in html
    assert 'data-testid="duplicates">1<' in html
    refused = page.post(
        "/billing/statements/",
        {"file": SimpleUploadedFile("again.xml", CAMT, content_type="application/xml")},
    )
    assert refused.status_code == 400
    assert "already imported" in refused.content.decode()


def test_the_statement_pages_are_for_billing_staff_only(as_user, books, compliance_officer):
    client_admin = admin_of(books[0].client)
    for user in (client_admin, compliance_officer):
        page = as_user(user)
        assert page.get("/billing/statements/").status_code == 403
        assert page.get("/billing/statements/unmatched/").status_code == 403
    with pytest.raises(ApplicationError):
        statement_services.statement_upload(filename="x", content=CAMT, acting_user=client_admin)
    assert Invoice.objects.filter(status="paid").count() == 0


def test_an_entry_a_crash_left_unmatched_is_matched_when_the_task_runs_again(
    books, billing_staff, django_capture_on_commit_callbacks
):
    statement = statement_services.statement_upload(
        filename="s.xml", content=CAMT, acting_user=billing_staff
    )
    # the worker stored the first entry, then died before matching it
    StatementEntry.objects.create(
        statement=statement,
        provider_id=statement.provider_id,
        bank_reference="DEMOBANK-20260305-0001",
        booking_date=D(2026, 3, 5),
        amount=Dec("1000.00"),
        currency="EUR",
        structured_reference=books[0].payment_reference,
    )
    StatementImport.objects.filter(pk=statement.pk).update(status="running")

    statement_services.statement_import_run(statement_id=statement.pk)

    statement.refresh_from_db()
    assert (statement.matched, statement.duplicates) == (3, 1)
    assert state(books)[0] == ("paid", Dec("1000.00"))
    assert Payment.objects.count() == 4


def test_the_import_page_shows_progress_and_refreshes_while_it_runs(as_user, books, billing_staff):
    statement = statement_services.statement_upload(
        filename="s.xml", content=CAMT, acting_user=billing_staff
    )  # queued: no worker ran it (on_commit not executed)

    response = as_user(billing_staff).get(f"/billing/statements/{statement.pk}/")

    assert response["Refresh"] == "3"
    assert 'data-testid="progress">0 / 6<' in response.content.decode()
    statement_services.statement_import_run(statement_id=statement.pk)
    done = as_user(billing_staff).get(f"/billing/statements/{statement.pk}/")
    assert not done.has_header("Refresh")
    assert 'data-testid="progress">6 / 6<' in done.content.decode()


def test_amount_and_payer_match_only_a_unique_candidate(
    books, billing_staff, django_capture_on_commit_callbacks
):
    # a second open 250.00 invoice of Polder Health: entry 6 (no reference) is ambiguous now
    invoice_services.invoice_issue(
        invoice=invoice_services.invoice_draft(
            client=books[3].client,
            lines=[line("250.00", vat_rate="0")],
            acting_user=billing_staff,
            currency="EUR",
        ),
        acting_user=billing_staff,
    )

    upload(CAMT, billing_staff, django_capture_on_commit_callbacks)

    entry = StatementEntry.objects.get(bank_reference__endswith="0006")
    assert entry.status == "unmatched" and entry.invoice is None
    assert "2 open invoices" in entry.note
    assert state(books)[3] == ("issued", Dec("0.00"))

"""Getting paid, issue 14 §1: the provider's bank accounts (IBAN/BIC checked with python-stdnum),
the payment reference given at issue (ISO 11649 RF for euro, the invoice number otherwise), and
the EPC069-12 QR code of a euro amount to a SEPA account, decoded back field by field."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pytest
import zxingcpp
from django.db import IntegrityError, transaction
from PIL import Image
from pypdf import PdfReader
from stdnum import iso11649

from accounts.kernel.errors import ValidationFailed
from billing.invoicing.pdf import invoice_pdf
from billing.invoicing.services import bank_details
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.models import BankAccount, Invoice
from tests.billing.invoicing.factories import D, Dec, company, issued, key, line

pytestmark = pytest.mark.django_db

SEPA_IBAN = "NL93DEMO0123456789"
USD_IBAN = "NL45DEMO0987654321"
BIC = "DEMONL2A"
HOLDER = "CXENGAGE B.V."


def account(provider, staff, **fields) -> BankAccount:
    values = {
        "kind": BankAccount.Kind.IBAN,
        "currency": "EUR",
        "account_holder": HOLDER,
        "bank_name": "DEMO Bank Amsterdam",
        "iban": SEPA_IBAN,
        "bic": BIC,
        "is_primary": True,
        **fields,
    }
    return bank_details.bank_account_save(
        account=BankAccount(provider=provider, **values), acting_user=staff
    )


def euro_invoice(client, staff, clock, amount="1000.00"):
    clock.set(D(2026, 3, 2))
    draft = invoice_services.invoice_draft(
        client=client, lines=[line(amount, vat_rate="0")], acting_user=staff, currency="EUR"
    )
    return invoice_services.invoice_issue(
        invoice=draft, acting_user=staff, invoice_date=D(2026, 3, 2)
    )


@pytest.fixture
def nl_client(cx):
    return company(cx)


@pytest.fixture
def eur_account(cx, billing_staff):
    return account(cx, billing_staff)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_images(content: bytes) -> list[Image.Image]:
    return [img.image for page in PdfReader(io.BytesIO(content)).pages for img in page.images]


def decode_epc(image: Image.Image) -> list[str]:
    """The lines of the EPC QR code in `image`, decoded by zxing-cpp in the charset it names."""
    results = zxingcpp.read_barcodes(image.convert("L"))
    assert len(results) == 1, results
    raw = results[0].bytes
    charset = {b"1": "utf-8", b"2": "iso-8859-1"}[raw.split(b"\n")[2].strip()]
    return raw.decode(charset).split("\n")


def page_qr(html: str) -> Image.Image:
    match = re.search(r'src="data:image/png;base64,([^"]+)"[^>]*data-testid="epc-qr"', html)
    assert match, "no EPC QR code on the page"
    return Image.open(io.BytesIO(base64.b64decode(match.group(1))))


def assert_epc(lines: list[str], *, amount: str, reference: str) -> None:
    """Every field of EPC069-12 version 002, in order."""
    assert lines[0] == "BCD"  # service tag
    assert lines[1] == "002"  # version
    assert lines[2] in {"1", "2"}  # character set: UTF-8 or ISO 8859-1
    assert lines[3] == "SCT"  # identification: SEPA credit transfer
    assert lines[4] == BIC
    assert lines[5] == HOLDER  # beneficiary name
    assert lines[6] == SEPA_IBAN
    assert lines[7].startswith("EUR")  # amount: EUR then at most two decimals (EUR750, EUR99.9)
    assert re.fullmatch(r"\d+(\.\d{1,2})?", lines[7][3:])
    assert Dec(lines[7][3:]) == Dec(amount)
    assert lines[8] == ""  # purpose
    assert lines[9] == reference  # structured remittance (ISO 11649)
    assert all(line == "" for line in lines[10:])  # no unstructured text


# --- Bank accounts ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"iban": "NL94DEMO0123456789"}, "iban", "ISO 13616"),  # check digits off by one
        ({"iban": "XX93DEMO0123456789"}, "iban", "ISO 13616"),  # no such country
        ({"iban": "NL93DEMO012345678"}, "iban", "ISO 13616"),  # one digit short
        ({"bic": "DEMO2LNA"}, "bic", "ISO 9362"),  # country part not letters
        ({"bic": "DEMONL2"}, "bic", "ISO 9362"),  # 7 characters
    ],
)
def test_an_invalid_iban_or_bic_is_refused_naming_the_field_and_the_rule(
    cx, billing_staff, fields, field, rule
):
    with pytest.raises(ValidationFailed) as refused:
        account(cx, billing_staff, **fields)

    assert field in refused.value.errors
    assert rule in refused.value.errors[field][0]
    assert not BankAccount.objects.exists()


def test_a_valid_iban_is_stored_compact_and_with_history(cx, billing_staff):
    saved = account(cx, billing_staff, iban="nl93 demo 0123 4567 89", bic="demonl2a")

    saved.refresh_from_db()
    assert (saved.iban, saved.bic) == (SEPA_IBAN, BIC)
    assert saved.is_sepa
    assert saved.history.get().history_user == billing_staff


def test_a_chinese_account_needs_number_branch_and_swift_code_and_has_no_iban(cm, billing_staff):
    with pytest.raises(ValidationFailed) as refused:
        account(cm, billing_staff, kind=BankAccount.Kind.CHINA, currency="CNY", bic="")
    assert set(refused.value.errors) == {"account_number", "bic", "branch", "iban"}

    saved = account(
        cm,
        billing_staff,
        kind=BankAccount.Kind.CHINA,
        currency="CNY",
        iban="",
        account_number="4000 0123 4567 8900 001",
        bank_name="DEMO Bank of Shenzhen",
        branch="Nanshan Sub-branch",
        bic="DEMOCNSZXXX",
    )
    assert saved.account_number == "4000012345678900001"
    assert not saved.is_sepa


def test_several_accounts_per_currency_but_one_primary(cx, billing_staff, eur_account):
    second = account(cx, billing_staff, iban="DE52000000000012345678", is_primary=False)
    assert second.pk

    with pytest.raises(ValidationFailed) as refused:
        account(cx, billing_staff, iban="DE52000000000012345678", is_primary=True)
    assert "primary" in refused.value.message
    assert BankAccount.objects.filter(provider=cx, currency="EUR").count() == 2
    # a closed primary does not block a new one
    eur_account.active = False
    eur_account.save()
    assert account(cx, billing_staff, iban="DE52000000000012345678").is_primary


def test_the_admin_refuses_an_invalid_iban_on_its_field(
    client, cx, billing_staff, django_user_model
):
    admin = django_user_model.objects.create_superuser("root@example.test", "pw-pw-pw-pw-123")
    from tests.conftest import login_verified

    login_verified(client, admin)
    response = client.post(
        "/admin/billing/bankaccount/add/",
        {
            "provider": cx.pk,
            "kind": "iban",
            "currency": "EUR",
            "is_primary": "on",
            "active": "on",
            "account_holder": HOLDER,
            "bank_name": "DEMO Bank",
            "iban": "NL94DEMO0123456789",
            "bic": BIC,
        },
    )
    assert response.status_code == 200
    assert "ISO 13616" in str(response.context["adminform"].form.errors["iban"])
    assert not BankAccount.objects.exists()
    assert client.get("/admin/billing/bankaccount/").status_code == 200


# --- Payment reference ------------------------------------------------------------------------
def test_a_euro_invoice_gets_a_valid_rf_reference_unique_across_invoices(
    nl_client, billing_staff, clock, eur_account
):
    invoices = [euro_invoice(nl_client, billing_staff, clock) for _ in range(12)]

    references = [inv.payment_reference for inv in invoices]
    assert all(ref.startswith("RF") and iso11649.is_valid(ref) for ref in references)
    assert len(set(references)) == len(references)
    assert invoices[0].pay_to == eur_account
    # the database holds it too
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoices[1].pk).update(payment_reference=references[0])


def test_the_rf_reference_carries_the_invoice_number(nl_client, billing_staff, clock, eur_account):
    invoice = euro_invoice(nl_client, billing_staff, clock)

    assert invoice.payment_reference[4:] == invoice.number.replace("-", "")
    assert bank_details.creditor_reference("RF-TEST") != bank_details.creditor_reference("RF-TESU")


def test_other_currencies_are_paid_with_the_invoice_number(cn_client, billing_staff, clock, cm):
    invoice = issued(cn_client, billing_staff, invoice_date=D(2026, 3, 2), clock=clock)

    assert invoice.currency == "CNY"
    assert invoice.payment_reference == invoice.number


def test_a_draft_has_no_reference_and_a_credit_note_gets_none(
    nl_client, billing_staff, clock, eur_account
):
    invoice = euro_invoice(nl_client, billing_staff, clock)
    note = invoice_services.invoice_void(invoice=invoice, acting_user=billing_staff, reason="x")

    assert note.payment_reference is None
    draft = invoice_services.invoice_draft(
        client=nl_client, lines=[line()], acting_user=billing_staff
    )
    assert draft.payment_reference is None


def test_a_currency_without_an_account_is_refused_for_a_draft(nl_client, billing_staff):
    with pytest.raises(ValidationFailed) as refused:
        invoice_services.invoice_draft(
            client=nl_client, lines=[line()], acting_user=billing_staff, currency="EUR"
        )
    assert "currency" in refused.value.errors
    assert not Invoice.objects.exists()


# --- PDF, page and API -----------------------------------------------------------------------
def test_the_euro_pdf_names_the_iban_and_reference_and_carries_the_epc_qr_code(
    nl_client, billing_staff, clock, eur_account
):
    invoice = euro_invoice(nl_client, billing_staff, clock, amount="1234.56")

    content = invoice_pdf(invoice)

    text = pdf_text(content)
    assert SEPA_IBAN in text
    assert invoice.payment_reference in text
    images = pdf_images(content)
    assert len(images) == 1
    assert_epc(decode_epc(images[0]), amount="1234.56", reference=invoice.payment_reference)


def test_the_qr_code_asks_for_what_is_due_now(nl_client, billing_staff, clock, eur_account):
    invoice = euro_invoice(nl_client, billing_staff, clock, amount="1000.00")
    payment_services.payment_record(
        invoice=invoice,
        amount="250.00",
        received_on=D(2026, 3, 2),
        reference=invoice.payment_reference,
        idempotency_key=key(),
        acting_user=billing_staff,
    )

    invoice.refresh_from_db()
    [image] = pdf_images(invoice_pdf(invoice))
    assert_epc(decode_epc(image), amount="750.00", reference=invoice.payment_reference)


def test_a_paid_invoice_has_no_qr_code(nl_client, billing_staff, clock, eur_account):
    invoice = euro_invoice(nl_client, billing_staff, clock, amount="100.00")
    payment_services.payment_record(
        invoice=invoice,
        amount="100.00",
        received_on=D(2026, 3, 2),
        reference="",
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()
    assert pdf_images(invoice_pdf(invoice)) == []


def test_the_invoice_page_shows_the_copyable_reference_and_the_qr_code(
    as_user, nl_client, billing_staff, clock, eur_account
):
    invoice = euro_invoice(nl_client, billing_staff, clock, amount="99.90")
    from tests.billing.invoicing.factories import admin_of

    html = as_user(admin_of(nl_client)).get(f"/billing/invoices/{invoice.pk}/").content.decode()

    assert re.search(
        rf'<code[^>]*user-select:all[^>]*data-testid="payment-reference"[^>]*>{invoice.payment_reference}</code>',
        html,
    )
    assert SEPA_IBAN in html
    assert_epc(decode_epc(page_qr(html)), amount="99.90", reference=invoice.payment_reference)


@pytest.mark.parametrize("currency", ["USD", "CNY"])
def test_usd_and_cny_invoices_show_bank_details_but_no_qr_code(
    as_user, cx, cm, billing_staff, clock, currency
):
    provider = cx if currency == "USD" else cm
    if currency == "USD":
        account(cx, billing_staff, currency="USD", iban=USD_IBAN)
        number = USD_IBAN
    else:
        account(
            cm,
            billing_staff,
            kind=BankAccount.Kind.CHINA,
            currency="CNY",
            iban="",
            account_number="4000012345678900001",
            branch="Nanshan Sub-branch",
            bic="DEMOCNSZXXX",
        )
        number = "4000012345678900001"
    client = company(provider)
    invoice = issued(
        client, billing_staff, [line("500.00")], invoice_date=D(2026, 3, 2), clock=clock
    )
    assert invoice.currency == currency

    content = invoice_pdf(invoice)
    assert number in pdf_text(content)
    assert invoice.number in pdf_text(content)
    assert pdf_images(content) == []
    from tests.billing.invoicing.factories import admin_of

    html = as_user(admin_of(client)).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert number in html
    assert 'data-testid="payment-reference"' in html
    assert 'data-testid="epc-qr"' not in html


def test_a_euro_invoice_to_a_non_sepa_account_has_no_qr_code(cm, billing_staff, clock):
    account(
        cm,
        billing_staff,
        kind=BankAccount.Kind.CHINA,
        currency="EUR",
        iban="",
        account_number="4000012345678900002",
        branch="Nanshan Sub-branch",
        bic="DEMOCNSZXXX",
    )
    invoice = euro_invoice(company(cm), billing_staff, clock)

    assert iso11649.is_valid(invoice.payment_reference)
    content = invoice_pdf(invoice)
    assert "4000012345678900002" in pdf_text(content)
    assert pdf_images(content) == []


def test_the_invoice_is_printed_with_the_account_as_it_was_at_issue(
    nl_client, billing_staff, clock, eur_account
):
    # the account was entered before the invoice's (test-clock) issue day; renamed after it
    eur_account.history.update(history_date=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    invoice = euro_invoice(nl_client, billing_staff, clock)
    eur_account.bank_name = "Renamed Bank"
    eur_account.save()

    text = pdf_text(invoice_pdf(invoice))
    assert "DEMO Bank Amsterdam" in text
    assert "Renamed Bank" not in text


def test_the_api_gives_the_reference_the_account_and_the_qr_fields(
    api, nl_client, billing_staff, clock, eur_account
):
    invoice = euro_invoice(nl_client, billing_staff, clock, amount="10.00")
    from tests.billing.invoicing.factories import admin_of

    data = api(admin_of(nl_client)).get(f"/api/v1/invoices/{invoice.pk}/").json()

    assert data["payment_reference"] == invoice.payment_reference
    assert data["pay"]["account"]["iban"] == SEPA_IBAN
    assert data["pay"]["epc_qr"] == {
        "name": HOLDER,
        "iban": SEPA_IBAN,
        "bic": BIC,
        "amount": "10.00",
        "reference": invoice.payment_reference,
    }
    listed = api(admin_of(nl_client)).get("/api/v1/invoices/").json()["results"]
    assert listed[0]["payment_reference"] == invoice.payment_reference


def test_seed_demo_gives_each_provider_its_accounts(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())

    accounts = {(a.provider.code, a.currency, a.kind) for a in BankAccount.objects.all()}
    assert accounts == {
        ("cm-cn", "CNY", "cn"),
        ("cm-cn", "EUR", "iban"),
        ("cxengage-nl", "EUR", "iban"),
        ("cxengage-nl", "USD", "iban"),
    }
    nl_eur = BankAccount.objects.get(provider__code="cxengage-nl", currency="EUR")
    assert nl_eur.iban.startswith("NL") and nl_eur.is_sepa
    euro = Invoice.objects.get(currency="EUR")
    assert iso11649.is_valid(euro.payment_reference)
    assert Dec(euro.total) > 0

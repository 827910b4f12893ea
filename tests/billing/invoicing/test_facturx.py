"""Structured e-invoices, issue 14 §3: every cxengage-nl invoice and credit note is a Factur-X
PDF (PDF/A-3b with the EN 16931 CII XML embedded), the XML alone downloads from the page and
the API, and cm-cn's PDFs stay as they are.

The XML is taken back out of the PDF (factur-x's `get_facturx_xml_from_pdf`) and read with
lxml XPath, independently of drafthorse that wrote it; every total is compared with the
invoice's Decimal amounts, and the Factur-X EN 16931 XSD check passes for every test invoice
and fails for a broken one.
"""

from __future__ import annotations

import io
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from billing.invoicing import einvoice
from billing.invoicing.pdf import invoice_pdf
from billing.invoicing.services import bank_details
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.models import BankAccount, Invoice
from tests.billing.invoicing.factories import D, Dec, company, issued, key, line

pytestmark = pytest.mark.django_db

SELLER_VAT = "NL000099998B57"
SEPA_IBAN = "NL93DEMO0123456789"
USD_IBAN = "NL45DEMO0987654321"
BIC = "DEMONL2A"
DAY = D(2026, 3, 2)
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
NIL = Decimal("0.00")
SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
SUMS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


# --- Helpers -------------------------------------------------------------------------------
class Cii:
    """The CII XML read back with XPath."""

    def __init__(self, xml: bytes):
        self.tree = etree.fromstring(xml)

    def all(self, path: str) -> list[str]:
        return [
            (node.text or "").strip() if hasattr(node, "text") else str(node)
            for node in self.tree.xpath(path, namespaces=NS)
        ]

    def one(self, path: str) -> str:
        found = self.all(path)
        assert len(found) == 1, (path, found)
        return found[0]

    def money(self, path: str) -> Decimal:
        return Decimal(self.one(path))

    def date(self, path: str):
        # udt:DateTimeString, or qdt: in a referenced document's FormattedIssueDateTime
        raw = self.one(f"{path}/*[local-name()='DateTimeString']")
        assert self.one(f"{path}/*[local-name()='DateTimeString']/@format") == "102"
        return D(int(raw[:4]), int(raw[4:6]), int(raw[6:]))

    def breakdown(self) -> list[dict]:
        rows = []
        for node in self.tree.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS):

            def text(tag, node=node):
                found = node.find(f"ram:{tag}", NS)
                return None if found is None else found.text

            rows.append(
                {
                    "category": text("CategoryCode"),
                    "rate": Decimal(text("RateApplicablePercent")),
                    "base": Decimal(text("BasisAmount")),
                    "vat": Decimal(text("CalculatedAmount")),
                    "reason": text("ExemptionReason"),
                    "reason_code": text("ExemptionReasonCode"),
                }
            )
        return rows


def embedded(pdf: bytes) -> Cii:
    """The XML inside the PDF, found the way a Factur-X reader finds it; XSD-checked."""
    name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    einvoice.check_xsd(xml)
    return Cii(xml)


def assert_totals(cii: Cii, invoice: Invoice, *, prepaid=NIL) -> None:
    """Every total of the XML equals the invoice's, BR-CO-10 to BR-CO-16."""
    invoice.refresh_from_db()
    lines = list(invoice.lines.order_by("position", "pk"))
    line_totals = [
        Decimal(t)
        for t in cii.all(
            "//ram:IncludedSupplyChainTradeLineItem"
            "/ram:SpecifiedLineTradeSettlement"
            "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        )
    ]
    assert line_totals == [line.amount for line in lines]
    quantities = cii.all("//ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    assert [Decimal(q) for q in quantities] == [line.quantity for line in lines]
    prices = cii.all("//ram:NetPriceProductTradePrice/ram:ChargeAmount")
    assert [Decimal(p) for p in prices] == [line.unit_price for line in lines]
    assert cii.money(f"{SUMS}/ram:LineTotalAmount") == sum(line_totals) == invoice.subtotal
    assert cii.money(f"{SUMS}/ram:TaxBasisTotalAmount") == invoice.subtotal
    assert cii.money(f"{SUMS}/ram:TaxTotalAmount") == invoice.vat_amount
    assert cii.one(f"{SUMS}/ram:TaxTotalAmount/@currencyID") == invoice.currency
    assert cii.money(f"{SUMS}/ram:GrandTotalAmount") == invoice.total
    assert cii.money(f"{SUMS}/ram:TotalPrepaidAmount") == prepaid
    assert cii.money(f"{SUMS}/ram:DuePayableAmount") == invoice.total - prepaid
    rows = cii.breakdown()
    assert sum(row["base"] for row in rows) == invoice.subtotal
    assert sum(row["vat"] for row in rows) == invoice.vat_amount
    assert cii.one(f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == invoice.currency
    assert cii.one("//rsm:ExchangedDocument/ram:ID") == invoice.number
    assert cii.date("//rsm:ExchangedDocument/ram:IssueDateTime") == invoice.invoice_date
    assert cii.one("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == (
        "urn:cen.eu:en16931:2017"
    )


def seller_and_buyer(cii: Cii, client) -> None:
    seller = "//ram:SellerTradeParty"
    assert cii.one(f"{seller}/ram:Name") == "CXENGAGE B.V."
    assert cii.one(f"{seller}/ram:SpecifiedTaxRegistration/ram:ID") == SELLER_VAT
    assert cii.one(f"{seller}/ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == "VA"
    assert cii.one(f"{seller}/ram:PostalTradeAddress/ram:CountryID") == "NL"
    buyer = "//ram:BuyerTradeParty"
    assert cii.one(f"{buyer}/ram:Name") == client.legal_name
    assert cii.one(f"{buyer}/ram:PostalTradeAddress/ram:CountryID") == client.country
    if client.vat_number:
        assert cii.one(f"{buyer}/ram:SpecifiedTaxRegistration/ram:ID") == client.vat_number


def account(provider, staff, **fields) -> BankAccount:
    values = {
        "kind": BankAccount.Kind.IBAN,
        "currency": "EUR",
        "account_holder": "CXENGAGE B.V.",
        "bank_name": "DEMO Bank Amsterdam",
        "iban": SEPA_IBAN,
        "bic": BIC,
        "is_primary": True,
        **fields,
    }
    return bank_details.bank_account_save(
        account=BankAccount(provider=provider, **values), acting_user=staff
    )


def pdfa_claim(pdf: bytes) -> dict:
    """What the PDF's XMP metadata claims: PDF/A part and conformance, Factur-X level."""
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None, "no XMP metadata"
    xml = xmp.stream.get_data()
    tree = etree.fromstring(xml)

    def first(path):
        found = tree.xpath(
            path,
            namespaces={
                "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
                "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
            },
        )
        return found[0].text if found else None

    return {
        "part": first("//pdfaid:part"),
        "conformance": first("//pdfaid:conformance"),
        "fx_level": first("//fx:ConformanceLevel"),
        "fx_file": first("//fx:DocumentFileName"),
        "fx_type": first("//fx:DocumentType"),
    }


# --- Fixtures ------------------------------------------------------------------------------
@pytest.fixture
def seller(cx):
    """CXENGAGE's profile with the seller's VAT number and address entered."""
    cx.vat_number = SELLER_VAT
    cx.address = "Herengracht 1\n1015 BA Amsterdam"
    cx.save()
    return cx


@pytest.fixture
def usd_account(seller, billing_staff):
    return account(seller, billing_staff, currency="USD", iban=USD_IBAN)


@pytest.fixture
def nl_client(seller):
    return company(seller, country="NL", vat_number="NL999999990B01", address="Damrak 5\nAmsterdam")


@pytest.fixture
def de_client(seller):
    return company(seller, country="DE", vat_number="DE123456789", address="Unter den Linden 1")


# --- The profile field ---------------------------------------------------------------------
def test_the_profiles_say_which_issues_e_invoices(cx, cm):
    """A profile field, not a branch on the provider: cxengage-nl issues Factur-X, cm-cn none."""
    assert cx.einvoice_format == "facturx-en16931"
    assert cm.einvoice_format == ""


# --- Invoices ------------------------------------------------------------------------------
def test_a_standard_rate_invoice_of_several_lines(nl_client, usd_account, billing_staff, clock):
    clock.set(DAY)
    invoice = issued(
        nl_client,
        billing_staff,
        [
            line("0.045", quantity="12345", description="SMS, Netherlands"),
            line("0.0123", quantity="1000.5", description="WhatsApp sessions"),
            line("250.00", description="Dedicated number, March"),
        ],
        invoice_date=DAY,
    )
    assert invoice.vat_amount > 0  # 21 %

    pdf = invoice_pdf(invoice)
    cii = embedded(pdf)

    assert cii.one("//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert_totals(cii, invoice)
    seller_and_buyer(cii, nl_client)
    assert cii.all("//ram:SpecifiedTradeProduct/ram:Name") == [
        "SMS, Netherlands",
        "WhatsApp sessions",
        "Dedicated number, March",
    ]
    assert cii.all(
        "//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode"
    ) == [
        "S",
        "S",
        "S",
    ]
    [row] = cii.breakdown()
    assert (row["category"], row["rate"], row["reason"]) == ("S", Dec("21.00"), None)
    # Payment: the USD account as issued, a plain credit transfer, the invoice number as the
    # reference (not euro: no RF reference), the due date of the payment terms.
    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert cii.one(f"{means}/ram:TypeCode") == "30"
    assert cii.one(f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == USD_IBAN
    assert cii.one(f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == BIC
    assert cii.one(f"{SETTLEMENT}/ram:PaymentReference") == invoice.payment_reference
    assert invoice.payment_reference == invoice.number
    assert cii.date(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime") == (
        invoice.due_date
    )


def test_a_euro_invoice_names_the_sepa_account_and_the_rf_reference(
    nl_client, seller, billing_staff, clock
):
    account(seller, billing_staff)
    clock.set(DAY)
    draft = invoice_services.invoice_draft(
        client=nl_client, lines=[line("1000.00")], acting_user=billing_staff, currency="EUR"
    )
    invoice = invoice_services.invoice_issue(
        invoice=draft, acting_user=billing_staff, invoice_date=DAY
    )
    assert invoice.payment_reference.startswith("RF")

    cii = embedded(invoice_pdf(invoice))

    assert_totals(cii, invoice)
    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert cii.one(f"{means}/ram:TypeCode") == "58"  # SEPA credit transfer
    assert cii.one(f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == SEPA_IBAN
    assert cii.one(f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:AccountName") == (
        "CXENGAGE B.V."
    )
    assert cii.one(f"{SETTLEMENT}/ram:PaymentReference") == invoice.payment_reference
    assert cii.one(f"{SUMS}/ram:TaxTotalAmount/@currencyID") == "EUR"


def test_the_reverse_charge_to_an_eu_business(de_client, usd_account, billing_staff, clock):
    """Art. 4.9: 0 % with the reverse charge, category AE with its exemption reason and code,
    the buyer's VAT number (BR-AE-02)."""
    clock.set(DAY)
    invoice = issued(
        de_client, billing_staff, [line("800.00"), line("0.05", quantity="2000")], invoice_date=DAY
    )
    assert invoice.reverse_charge and invoice.vat_amount == 0

    cii = embedded(invoice_pdf(invoice))

    assert_totals(cii, invoice)
    seller_and_buyer(cii, de_client)
    [row] = cii.breakdown()
    assert row == {
        "category": "AE",
        "rate": Dec("0.00"),
        "base": invoice.subtotal,
        "vat": Dec("0.00"),
        "reason": einvoice.REVERSE_CHARGE_REASON,
        "reason_code": "VATEX-EU-AE",
    }
    assert set(
        cii.all("//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode")
    ) == {"AE"}


def test_standard_and_zero_rates_are_broken_down_per_rate(
    nl_client, usd_account, billing_staff, clock
):
    clock.set(DAY)
    invoice = issued(
        nl_client,
        billing_staff,
        [line("333.33"), line("120.00", vat_rate="0"), line("0.99", quantity="7")],
        invoice_date=DAY,
    )

    cii = embedded(invoice_pdf(invoice))

    assert_totals(cii, invoice)
    rows = {row["category"]: row for row in cii.breakdown()}
    assert set(rows) == {"S", "Z"}
    assert (rows["Z"]["base"], rows["Z"]["vat"], rows["Z"]["reason"]) == (
        Dec("120.00"),
        Dec("0.00"),
        None,
    )
    assert rows["S"]["base"] == Dec("340.26")
    assert rows["S"]["vat"] == Dec("71.45")  # 340.26 × 21 %, rounded half-up once (art. 4.1)


def test_a_partly_paid_invoice_shows_what_has_been_paid_and_what_is_due(
    nl_client, usd_account, billing_staff, clock
):
    clock.set(DAY)
    invoice = issued(nl_client, billing_staff, [line("1000.00")], invoice_date=DAY)
    payment_services.payment_record(
        invoice=invoice,
        amount="400.00",
        received_on=DAY,
        reference=invoice.payment_reference,
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID

    cii = embedded(invoice_pdf(invoice))

    assert_totals(cii, invoice, prepaid=Dec("400.00"))
    assert cii.money(f"{SUMS}/ram:DuePayableAmount") == Dec("810.00")  # 1210.00 − 400.00


def test_a_credit_note_is_type_381_and_names_the_invoice_it_corrects(
    nl_client, usd_account, billing_staff, clock
):
    clock.set(DAY)
    invoice = issued(nl_client, billing_staff, [line("500.00"), line("20.00")], invoice_date=DAY)
    note = invoice_services.invoice_void(invoice=invoice, acting_user=billing_staff, reason="Wrong")
    assert note is not None and note.kind == Invoice.Kind.CREDIT_NOTE

    cii = embedded(invoice_pdf(note))

    assert cii.one("//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert_totals(cii, note)
    seller_and_buyer(cii, nl_client)
    reference = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
    assert cii.one(f"{reference}/ram:IssuerAssignedID") == invoice.number
    assert cii.date(f"{reference}/ram:FormattedIssueDateTime") == invoice.invoice_date
    # Nothing to pay on a credit note: no payment means, no payment reference.
    assert cii.all(f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans") == []
    assert cii.all(f"{SETTLEMENT}/ram:PaymentReference") == []


def test_a_credit_notes_breakdown_adds_up_to_the_vat_it_states():
    """A dispute's credit note derives VAT from a gross amount (disputes._grant_lines): the
    cent it differs from base × rate goes on the largest taxed rate, so BR-CO-14 holds."""

    class Row:
        def __init__(self, amount, rate):
            self.amount, self.vat_rate = Dec(amount), Dec(rate)

    note = Invoice(vat_amount=Dec("21.01"))
    rows = einvoice.vat_breakdown(note, [Row("100.00", "21"), Row("10.00", "9"), Row("5.00", "0")])

    assert rows == [
        (Dec("0"), Dec("5.00"), Dec("0.00")),
        (Dec("9"), Dec("10.00"), Dec("0.90")),
        (Dec("21"), Dec("100.00"), Dec("20.11")),  # 21.00 + the cent
    ]
    assert sum(vat for _, _, vat in rows) == note.vat_amount


# --- The PDF: PDF/A-3 and the XSD check ----------------------------------------------------
def test_the_pdf_claims_pdf_a_3b_and_factur_x_en16931(nl_client, usd_account, billing_staff, clock):
    clock.set(DAY)
    invoice = issued(nl_client, billing_staff, [line("100.00")], invoice_date=DAY)

    pdf = invoice_pdf(invoice)

    assert pdfa_claim(pdf) == {
        "part": "3",
        "conformance": "B",
        "fx_level": "EN 16931",
        "fx_file": "factur-x.xml",
        "fx_type": "INVOICE",
    }
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/OutputIntents" in root  # the sRGB output intent PDF/A requires
    [spec] = [s.get_object() for s in root["/AF"]]
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/F"] == "factur-x.xml"


def test_the_xsd_check_refuses_a_broken_xml(nl_client, usd_account, billing_staff, clock):
    """The check is real: the same XML without the seller (required) or with an element the
    EN 16931 profile does not have fails; the intact one passes."""
    clock.set(DAY)
    invoice = issued(nl_client, billing_staff, [line("100.00")], invoice_date=DAY)
    xml = einvoice.build_xml(invoice)
    einvoice.check_xsd(xml)

    tree = etree.fromstring(xml)
    seller_node = tree.xpath("//ram:SellerTradeParty", namespaces=NS)[0]
    seller_node.getparent().remove(seller_node)
    with pytest.raises(einvoice.EInvoiceInvalid, match="SellerTradeParty|BuyerTradeParty"):
        einvoice.check_xsd(etree.tostring(tree))

    renamed = xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Name>Invoice</ram:Name>")
    with pytest.raises(einvoice.EInvoiceInvalid, match="Name"):
        einvoice.check_xsd(renamed)

    with pytest.raises(einvoice.EInvoiceInvalid, match="not a valid XML"):
        einvoice.check_xsd(xml[:-40])


def test_cm_cn_pdfs_stay_plain(cm, billing_staff, clock):
    clock.set(DAY)
    cn_invoice = issued(company(cm), billing_staff, [line("1000.00")], invoice_date=DAY)

    pdf = invoice_pdf(cn_invoice)

    assert facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False) == (False, False)
    assert "/AF" not in PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert not einvoice.einvoice_applies(cn_invoice)


def test_a_draft_has_no_e_invoice(nl_client, billing_staff):
    draft = invoice_services.invoice_draft(
        client=nl_client, lines=[line("10.00")], acting_user=billing_staff
    )

    assert not einvoice.einvoice_applies(draft)
    assert facturx.get_facturx_xml_from_pdf(invoice_pdf(draft), check_xsd=False) == (False, False)


def test_without_the_sellers_vat_number_the_pdf_is_plain_and_the_xml_refused(
    cx, billing_staff, clock, as_user
):
    """EN 16931 BR-S-02: the seller's VAT number is required; until staff enter it the PDF is
    sent without XML, the XML download answers 409 naming the field, staff see why."""
    assert cx.vat_number == ""
    clock.set(DAY)
    client = company(cx, country="NL")
    invoice = issued(client, billing_staff, [line("100.00")], invoice_date=DAY)

    assert facturx.get_facturx_xml_from_pdf(invoice_pdf(invoice), check_xsd=False) == (False, False)
    response = as_user(billing_staff).get(f"/billing/invoices/{invoice.pk}/einvoice.xml")
    assert response.status_code == 409
    assert "vat_number" in response.content.decode()
    page = as_user(billing_staff).get(f"/billing/invoices/{invoice.pk}/")
    assert b'data-testid="einvoice-missing"' in page.content
    assert b'data-testid="einvoice-link"' not in page.content


# --- Downloads: the page and the API -------------------------------------------------------
def test_the_client_downloads_the_xml_alone(nl_client, usd_account, billing_staff, clock, as_user):
    from tests.billing.invoicing.factories import admin_of

    clock.set(DAY)
    invoice = issued(nl_client, billing_staff, [line("100.00")], invoice_date=DAY)
    admin = admin_of(nl_client)

    page = as_user(admin).get(f"/billing/invoices/{invoice.pk}/")
    assert f'/billing/invoices/{invoice.pk}/einvoice.xml"'.encode() in page.content
    listing = as_user(admin).get("/billing/invoices/")
    assert f'/billing/invoices/{invoice.pk}/einvoice.xml"'.encode() in listing.content
    response = as_user(admin).get(f"/billing/invoices/{invoice.pk}/einvoice.xml")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert f"invoice-{invoice.number}-factur-x.xml" in response["Content-Disposition"]
    einvoice.check_xsd(response.content)
    assert_totals(Cii(response.content), invoice)
    # the same XML the PDF carries
    assert (
        embedded(invoice_pdf(invoice)).tree.xpath(
            "string(//rsm:ExchangedDocument/ram:ID)", namespaces=NS
        )
        == invoice.number
    )


def test_another_clients_xml_is_404_and_cm_cn_has_none(
    nl_client, usd_account, billing_staff, clock, as_user, cm
):
    from tests.billing.invoicing.factories import admin_of

    clock.set(DAY)
    cn_invoice = issued(company(cm), billing_staff, [line("1000.00")], invoice_date=DAY)
    invoice = issued(nl_client, billing_staff, [line("100.00")], invoice_date=DAY)
    stranger = admin_of(company(nl_client.provider))

    assert as_user(stranger).get(f"/billing/invoices/{invoice.pk}/einvoice.xml").status_code == 404
    assert (
        as_user(billing_staff).get(f"/billing/invoices/{cn_invoice.pk}/einvoice.xml").status_code
        == 404
    )


def test_the_api_serves_the_xml(nl_client, usd_account, billing_staff, clock, api, cm):
    from tests.billing.invoicing.factories import admin_of

    clock.set(DAY)
    cn_invoice = issued(company(cm), billing_staff, [line("1000.00")], invoice_date=DAY)
    invoice = issued(nl_client, billing_staff, [line("100.00")], invoice_date=DAY)
    admin = admin_of(nl_client)

    response = api(admin).get(f"/api/v1/invoices/{invoice.pk}/einvoice/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    einvoice.check_xsd(response.content)
    assert_totals(Cii(response.content), invoice)

    missing = api(billing_staff).get(f"/api/v1/invoices/{cn_invoice.pk}/einvoice/")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"]


def test_the_api_names_the_missing_vat_number(cx, billing_staff, clock, api):
    clock.set(DAY)
    invoice = issued(company(cx, country="NL"), billing_staff, [line("100.00")], invoice_date=DAY)

    response = api(billing_staff).get(f"/api/v1/invoices/{invoice.pk}/einvoice/")

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["field"] == "vat_number"
    assert error["code"] == "conflict"


def test_the_admin_checks_the_sellers_vat_number(cx):
    """The seller's VAT number (BT-31) is checked with python-stdnum like a client's."""
    from django.forms.models import model_to_dict

    from accounts.admin import ProviderAdminForm

    data = {k: v for k, v in model_to_dict(cx).items() if v is not None}
    data["vat_number"] = "NL123456789B01"  # wrong check digit
    form = ProviderAdminForm(data=data, instance=cx)
    assert not form.is_valid()
    assert list(form.errors) == ["vat_number"]

    data["vat_number"] = SELLER_VAT
    assert ProviderAdminForm(data=data, instance=cx).is_valid()

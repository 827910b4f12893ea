"""Structured e-invoices (issue 14 §3): an invoice or credit note as EN 16931 data, the
Factur-X / ZUGFeRD 2 "EN 16931" profile of the UN/CEFACT Cross Industry Invoice (CII) XML,
embedded in the PDF/A-3 of the invoice (a "hybrid" invoice: people read the PDF, the client's
bookkeeping reads the XML).

Which provider profiles issue one is a profile field, `Provider.einvoice_format`
('facturx-en16931' for cxengage-nl; '' keeps the plain PDF, as for cm-cn).

Libraries, and why:
- `drafthorse` (pretix, Apache-2.0) builds the XML: it models the ZUGFeRD / Factur-X CII data
  model element by element, in schema order, so this module fills in business terms (BT-…)
  and never writes XML by hand.
- `factur-x` (Akretion, BSD; the reference Python implementation of the Factur-X standard)
  checks the XML against the official Factur-X EN 16931 XSD it bundles
  (`facturx.xml_check_xsd`) and embeds it in the PDF (`facturx.generate_from_binary`): the
  `factur-x.xml` file specification with AFRelationship "Data", the document's /AF array and
  the XMP metadata with the Factur-X extension schema (fx:DocumentType, fx:ConformanceLevel)
  that Factur-X readers look for.
- WeasyPrint, which already renders the invoice PDF (billing/invoicing/pdf.py), renders it as
  PDF/A-3b (`pdf_variant="pdf/a-3b"`: embedded fonts, an sRGB output intent, pdfaid:part 3),
  the archival format Factur-X requires and the only PDF/A part that allows an attached XML.

The EN 16931 business rules checked by construction here: every line and the VAT breakdown
carry a VAT category (S standard rate, Z zero rate, AE reverse charge with its exemption reason
and code VATEX-EU-AE, art. 196 of Directive 2006/112/EC, as art. 4.9 of the terms applies it);
the seller's VAT identifier (BR-S-02, BR-Z-02, BR-AE-02) and, under the reverse charge, the
buyer's (BR-AE-02); the sums BR-CO-10 (line total), BR-CO-13 (tax basis), BR-CO-14 (VAT per
category), BR-CO-15 (grand total) and BR-CO-16 (due = grand total − prepaid); a due date when
something is due (BR-CO-25); a credit note (type code 381) names the invoice it corrects
(BT-25, BT-26). The amounts are the invoice's as stored (art. 4.1: VAT per rate rounded once,
`vat_by_rate`) and what has reached it so far (`invoice_amounts`), never recomputed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext

from accounts.kernel.errors import Conflict, NotFound
from accounts.models import EInvoiceFormat, Provider
from billing.models import BankAccount, Invoice

from ..payment_references import EURO
from .services._common import ZERO
from .services.bank_details import account_as_issued
from .services.invoices import vat_by_rate

# Factur-X 1.0 / ZUGFeRD 2 "EN 16931" profile (Factur-X specification, § "Profiles"): BT-24.
GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
FLAVOR, LEVEL = "factur-x", "en16931"
XML_FILENAME = "factur-x.xml"

TYPE_INVOICE = "380"  # UNTDID 1001: commercial invoice
TYPE_CREDIT_NOTE = "381"  # UNTDID 1001: credit note
# UNTDID 4461 payment means: 58 SEPA credit transfer, 30 credit transfer (any other)
MEANS_SEPA, MEANS_TRANSFER = "58", "30"
# UNTDID 5305 VAT categories
STANDARD, ZERO_RATED, REVERSE_CHARGE = "S", "Z", "AE"
REVERSE_CHARGE_REASON = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(art. 196 Directive 2006/112/EC; art. 4.9 of the terms)"
)
REVERSE_CHARGE_CODE = "VATEX-EU-AE"  # CEF VATEX code list
NIL = Decimal("0.00")
UNIT = "C62"  # UN/ECE Rec. 20: "one" (a message, a unit)


class EInvoiceInvalid(Exception):
    """The XML does not pass the Factur-X EN 16931 XSD: a bug, never the client's input."""


@dataclass(frozen=True, slots=True)
class EInvoice:
    xml: bytes
    filename: str


def einvoice_format(invoice: Invoice) -> str:
    """The e-invoice format of the invoice's provider profile, '' for none."""
    return invoice.provider.einvoice_format or EInvoiceFormat.NONE


def einvoice_applies(invoice: Invoice) -> bool:
    """An issued invoice or credit note (it has a number and a date) of a profile that issues
    e-invoices; a draft is no invoice yet and has none."""
    return (
        einvoice_format(invoice) == EInvoiceFormat.FACTURX_EN16931
        and bool(invoice.number)
        and invoice.invoice_date is not None
    )


def einvoice_missing(provider: Provider) -> list[str]:
    """The profile fields an EN 16931 invoice needs that the profile leaves empty: the seller's
    VAT identifier (BT-31; BR-S-02, BR-Z-02, BR-AE-02) and country (BT-40)."""
    missing = []
    if not (provider.vat_number or "").strip():
        missing.append("vat_number")
    if not (provider.country or "").strip():
        missing.append("country")
    return missing


def provider_einvoice_ready(provider: Provider) -> bool:
    """The provider issues e-invoices and its profile has what the seller must state."""
    return provider.einvoice_format == EInvoiceFormat.FACTURX_EN16931 and not einvoice_missing(
        provider
    )


def einvoice_ready(invoice: Invoice) -> bool:
    """The invoice gets an e-invoice now: it applies and the profile has what it needs."""
    return einvoice_applies(invoice) and not einvoice_missing(invoice.provider)


def _refuse_unless_ready(invoice: Invoice) -> None:
    if not einvoice_applies(invoice):
        raise NotFound(
            gettext(
                "This document has no e-invoice: its provider issues none, or it is a draft "
                "(only issued invoices and credit notes have one)."
            )
        )
    missing = einvoice_missing(invoice.provider)
    if missing:
        raise Conflict(
            gettext(
                "No e-invoice can be made yet: the provider profile %(provider)s lacks "
                "%(fields)s, which EN 16931 requires of the seller."
            )
            % {"provider": invoice.provider.code, "fields": ", ".join(missing)},
            field=missing[0],
        )


# --- Building the XML ----------------------------------------------------------------------
def _plain(value: Decimal) -> Decimal:
    """A decimal without trailing zeros and never in exponent form (0.045000 → 0.045)."""
    return Decimal(f"{Decimal(value).normalize():f}")


def _category(rate: Decimal, reverse_charge: bool) -> str:
    if rate > 0:
        return STANDARD
    return REVERSE_CHARGE if reverse_charge else ZERO_RATED


def _address(address, text: str, country: str) -> None:
    """An address kept as free text, one line per line: its first three lines (BT-35 to
    BT-37 / BT-50 to BT-52 …), and the country code (BT-40 / BT-55), which is required."""
    lines = [row.strip() for row in (text or "").splitlines() if row.strip()]
    if len(lines) > 3:
        lines = [*lines[:2], ", ".join(lines[2:])]
    for attr, row in zip(("line_one", "line_two", "line_three"), lines, strict=False):
        setattr(address, attr, row)
    address.country_id = country.upper()


def _parties(doc, invoice: Invoice) -> None:
    from drafthorse.models.party import TaxRegistration

    provider, client = invoice.provider, invoice.client
    seller = doc.trade.agreement.seller
    seller.name = provider.legal_name  # BT-27
    _address(seller.address, provider.address, provider.country)
    seller.tax_registrations.add(TaxRegistration(id=("VA", provider.vat_number.strip())))

    buyer = doc.trade.agreement.buyer
    buyer.name = client.legal_name  # BT-44
    if client.registration_number:
        buyer.legal_organization.id = client.registration_number  # BT-47
    _address(buyer.address, client.address, client.country)
    if (client.vat_number or "").strip():
        buyer.tax_registrations.add(TaxRegistration(id=("VA", client.vat_number.strip())))
    if client.billing_email:
        buyer.electronic_address.uri_ID = ("EM", client.billing_email)  # BT-49, scheme EM


def _line(invoice: Invoice, position: int, line):
    from drafthorse.models.tradelines import LineItem

    item = LineItem()
    item.document.line_id = str(position)  # BT-126
    item.product.name = line.description  # BT-153
    item.agreement.net.amount = _plain(line.unit_price)  # BT-146
    item.delivery.billed_quantity = (_plain(line.quantity), UNIT)  # BT-129, BT-130
    tax = item.settlement.trade_tax
    tax.type_code = "VAT"
    tax.category_code = _category(Decimal(line.vat_rate), invoice.reverse_charge)  # BT-151
    tax.rate_applicable_percent = Decimal(line.vat_rate)  # BT-152
    item.settlement.monetary_summation.total_amount = line.amount  # BT-131
    return item


def vat_breakdown(invoice: Invoice, lines) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base, VAT) per rate, summing to the invoice's stored VAT (BR-CO-14).

    An invoice's VAT is rounded once per rate (`vat_by_rate`, art. 4.1). A credit note for a
    granted dispute splits a gross amount, so its VAT is what is left of the share after the
    base (billing.invoicing.services.disputes._grant_lines) and can be a cent off base × rate;
    that cent is put on the rate with the largest base, so the breakdown adds up to the VAT
    the credit note states.
    """
    rows = [list(row) for row in vat_by_rate(lines)]
    difference = invoice.vat_amount - sum((vat for _, _, vat in rows), ZERO)
    taxed = [row for row in rows if row[0] > 0]
    if difference and taxed:
        max(taxed, key=lambda row: row[1])[2] += difference
    return [(rate, base, vat) for rate, base, vat in rows]


def _settlement(doc, invoice: Invoice, lines, account: BankAccount | None) -> None:
    from drafthorse.models.accounting import ApplicableTradeTax
    from drafthorse.models.payment import PaymentMeans, PaymentTerms

    from .selectors import invoice_amounts

    settlement = doc.trade.settlement
    currency = invoice.currency
    settlement.currency_code = currency  # BT-5
    if invoice.period_start and invoice.period_end:
        settlement.period.start = invoice.period_start  # BT-73
        settlement.period.end = invoice.period_end  # BT-74

    is_invoice = invoice.kind == Invoice.Kind.INVOICE
    if is_invoice and invoice.payment_reference:
        settlement.payment_reference = invoice.payment_reference  # BT-83 (RF… or the number)
    if is_invoice and account is not None:
        means = PaymentMeans()
        sepa = account.is_sepa and currency == EURO and account.currency == EURO
        means.type_code = MEANS_SEPA if sepa else MEANS_TRANSFER  # BT-81
        if account.kind == BankAccount.Kind.IBAN:
            means.payee_account.iban = account.iban  # BT-84
        else:
            means.payee_account.proprietary_id = account.account_number  # BT-84
        means.payee_account.account_name = account.account_holder  # BT-85
        if account.bic:
            means.payee_institution.bic = account.bic  # BT-86
        settlement.payment_means.add(means)

    for rate, base, vat in vat_breakdown(invoice, lines):
        tax = ApplicableTradeTax()
        tax.calculated_amount = vat  # BT-117
        tax.type_code = "VAT"
        tax.basis_amount = base  # BT-116
        category = _category(rate, invoice.reverse_charge)
        tax.category_code = category  # BT-118
        if category == REVERSE_CHARGE:
            tax.exemption_reason = REVERSE_CHARGE_REASON  # BT-120
            tax.exemption_reason_code = REVERSE_CHARGE_CODE  # BT-121
        tax.rate_applicable_percent = rate  # BT-119
        settlement.trade_tax.add(tax)

    terms = PaymentTerms()
    if is_invoice:
        issued_on, due_on = invoice.invoice_date, invoice.due_date
        days = (due_on - issued_on).days if due_on and issued_on else None
        terms.description = (  # BT-20
            f"Payment within {days} days of the invoice date, quoting the payment reference; "
            "bank charges are borne by the payer (art. 4.5, 4.10)."
            if days is not None
            else "Payment quoting the payment reference (art. 4.5, 4.10)."
        )
        if invoice.due_date:
            terms.due = invoice.due_date  # BT-9
    else:
        terms.description = (
            "Credited: set off against amounts owed or refunded (art. 9.1); nothing to pay."
        )
    settlement.terms.add(terms)

    if is_invoice:
        amounts = invoice_amounts(invoice)
        prepaid = min(amounts.settled, invoice.total)
    else:
        prepaid = NIL
    summation = settlement.monetary_summation
    summation.line_total = sum((line.amount for line in lines), ZERO)  # BT-106
    summation.charge_total = NIL  # BT-108
    summation.allowance_total = NIL  # BT-107
    summation.tax_basis_total = invoice.subtotal  # BT-109
    summation.tax_total = (invoice.vat_amount, currency)  # BT-110
    summation.grand_total = invoice.total  # BT-112
    summation.prepaid_total = prepaid  # BT-113
    summation.due_amount = invoice.total - prepaid  # BT-115

    credited = invoice.credit_note_for
    if not is_invoice and credited is not None and credited.number:
        settlement.invoice_referenced_document.issuer_assigned_id = credited.number  # BT-25
        if credited.invoice_date:
            settlement.invoice_referenced_document.issue_date_time = credited.invoice_date


def build_xml(invoice: Invoice) -> bytes:
    """The invoice or credit note as Factur-X EN 16931 CII XML, not yet checked."""
    from drafthorse.models.document import Document
    from drafthorse.models.note import IncludedNote

    lines = list(invoice.lines.order_by("position", "pk"))
    is_invoice = invoice.kind == Invoice.Kind.INVOICE
    doc = Document()
    doc.context.guideline_parameter.id = GUIDELINE_EN16931  # BT-24
    doc.header.id = invoice.number  # BT-1
    doc.header.type_code = TYPE_INVOICE if is_invoice else TYPE_CREDIT_NOTE  # BT-3
    doc.header.issue_date_time = invoice.invoice_date  # BT-2
    if invoice.notes:
        note = IncludedNote()
        note.content = invoice.notes[:4000]  # BT-22
        doc.header.notes.add(note)
    _parties(doc, invoice)
    for position, line in enumerate(lines, start=1):
        doc.trade.items.add(_line(invoice, position, line))
    account = account_as_issued(invoice) if is_invoice else None
    _settlement(doc, invoice, lines, account)
    # drafthorse's own XSD pass is left off: the check is factur-x's, below, one place.
    return doc.serialize(schema=None)


def check_xsd(xml: bytes) -> None:
    """The XML passes the official Factur-X EN 16931 XSD (factur-x's `xml_check_xsd`)."""
    import facturx

    try:
        facturx.xml_check_xsd(xml, flavor=FLAVOR, level=LEVEL)
    except Exception as exc:  # factur-x raises a bare Exception naming the XSD error
        raise EInvoiceInvalid(str(exc)) from exc


def einvoice_filename(invoice: Invoice) -> str:
    kind = "credit-note" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "invoice"
    return f"{kind}-{invoice.number}-factur-x.xml"


def invoice_einvoice(invoice: Invoice) -> EInvoice:
    """The e-invoice XML of an issued invoice or credit note, checked against the XSD.

    NotFound when it has none (a draft, a profile without e-invoices); Conflict naming the
    profile's missing field when the profile lacks what the seller must state.
    """
    invoice = Invoice.objects.select_related("provider", "client", "credit_note_for", "pay_to").get(
        pk=invoice.pk
    )
    _refuse_unless_ready(invoice)
    xml = build_xml(invoice)
    check_xsd(xml)
    return EInvoice(xml=xml, filename=einvoice_filename(invoice))


def embed(pdf: bytes, xml: bytes, *, invoice: Invoice) -> bytes:
    """The PDF/A-3 with the XML attached as factur-x.xml and the Factur-X XMP metadata
    (factur-x's `generate_from_binary`, which checks the XML against the XSD again)."""
    import facturx

    kind = "Invoice" if invoice.kind == Invoice.Kind.INVOICE else "Credit note"
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor=FLAVOR,
        level=LEVEL,
        check_xsd=True,
        lang="en",
        pdf_metadata={
            "author": invoice.provider.legal_name,
            "keywords": "Factur-X, EN 16931",
            "title": f"{invoice.provider.legal_name}: {kind} {invoice.number}",
            "subject": f"{kind} {invoice.number} of {invoice.invoice_date:%Y-%m-%d}",
        },
    )

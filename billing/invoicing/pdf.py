"""PDF of an invoice or credit note (art. 4.1, 4.5), rendered with WeasyPrint.

The template names "Noto Sans CJK SC" (Debian's fonts-noto-cjk) first, so Chinese legal
names print as characters, not boxes. Amounts come from the invoice as stored and from the
invoicing selectors (paid, set off, withheld, due now: `invoice_amounts`); nothing is
recomputed here.

A profile that issues e-invoices (`Provider.einvoice_format`, issue 14 §3) gets every issued
invoice and credit note as a Factur-X PDF: rendered as PDF/A-3b and the EN 16931 XML embedded
(billing/invoicing/einvoice.py, which says which libraries and why). Other profiles' PDFs,
drafts, and a profile still lacking the seller's VAT number get the plain PDF.

The document is in the client's language (`client_language`, whoever downloads it); where the
provider's terms are made in two languages (cm-cn: Chinese and English, art. 18.6) every
heading also carries the other one, "发票 Invoice", "金额 Amount", as Chinese commercial
invoices commonly are.
"""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.kernel.languages import client_language, document_languages
from billing.models import Invoice

from . import einvoice
from .payment_qr import epc_qr_data_uri
from .selectors import invoice_amounts, invoice_payment_instructions
from .services.invoices import vat_by_rate


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros and never in exponent form: 100.000 → "100", 0.045000 → "0.045"."""
    return f"{Decimal(value).normalize():f}"


def _line_rows(lines) -> list[dict]:
    return [
        {
            "description": line.description,
            "quantity": plain(line.quantity),
            "unit_price": plain(line.unit_price),
            "vat_rate": plain(line.vat_rate),
            "amount": line.amount,
        }
        for line in lines
    ]


def _vat_rows(lines) -> list[dict]:
    """VAT per rate as on the invoice (`vat_by_rate`, art. 4.1), the rate printed plainly."""
    return [
        {"rate": plain(rate), "base": base, "vat": vat} for rate, base, vat in vat_by_rate(lines)
    ]


# The headings of the document, each printed in every one of `document_languages`.
HEADINGS = {
    "invoice": pgettext_lazy("document", "Invoice"),
    "credit_note": pgettext_lazy("document", "Credit note"),
    "draft": _("Draft — not issued"),
    "void": pgettext_lazy("invoice status", "Void"),
    "bill_to": _("Bill to"),
    "details": _("Details"),
    "number": pgettext_lazy("invoice number", "Number"),
    "invoice_date": _("Invoice date"),
    "date": _("Date"),
    "due_date": _("Due date"),
    "billing_period": _("Billing period"),
    "currency": _("Currency"),
    "credits_invoice": _("Credits invoice"),
    "registration_no": _("Registration no."),
    "vat_no": _("VAT no."),
    "description": _("Description"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "vat": _("VAT"),
    "amount": _("Amount excl. VAT"),
    "subtotal": _("Subtotal excluding VAT"),
    "reverse_charge": _("VAT 0 % — reverse charge (art. 4.9)"),
    "total": _("Total"),
    "total_credited": _("Total credited"),
    "paid": _("Paid"),
    "set_off": _("Set off (art. 9.1)"),
    "due_now": _("Due now"),
    "how_to_pay": _("How to pay"),
    "payment_reference": _("Payment reference"),
    "account_holder": _("Account holder"),
    "bank": _("Bank"),
    "account_number": _("Account number"),
    "swift": _("SWIFT code"),
    "payment_term": _("Payment term"),
    "vat_reverse_charged": _("VAT reverse-charged"),
}


def _headings(languages: list[str]) -> dict[str, str]:
    """Each heading in the document's languages, side by side ("发票 Invoice")."""
    texts: dict[str, list[str]] = {key: [] for key in HEADINGS}
    for language in languages:
        with translation.override(language):
            for key, text in HEADINGS.items():
                if str(text) not in texts[key]:
                    texts[key].append(str(text))
    return {key: " ".join(words) for key, words in texts.items()}


def invoice_pdf_context(invoice: Invoice) -> dict:
    lines = list(invoice.lines.order_by("position", "pk"))
    amounts = invoice_amounts(invoice)
    pay = invoice_payment_instructions(invoice, due_now=amounts.due_now)
    return {
        "invoice": invoice,
        "is_invoice": invoice.kind == Invoice.Kind.INVOICE,
        "provider": invoice.provider,
        "client": invoice.client,
        "lines": _line_rows(lines),
        "vat_rates": _vat_rows(lines),
        "credited": invoice.credit_note_for,
        "set_off": amounts.set_off,
        "settled": amounts.settled,
        "outstanding": amounts.outstanding,
        "withheld": amounts.withheld,
        "withheld_label": amounts.withholding.label,
        "due_now": amounts.due_now,
        "pay": pay,
        "qr_src": epc_qr_data_uri(pay.epc if pay else None),
        "generated_at": timezone.now(),
        "h": _headings(document_languages(invoice.client)),
        "document_language": client_language(invoice.client),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as a PDF document (A4)."""
    from weasyprint import HTML  # imported here: it loads Pango and the fonts

    invoice = Invoice.objects.select_related("provider", "client", "credit_note_for", "pay_to").get(
        pk=invoice.pk
    )
    # The client's language, not the reader's: the same document for the client and its staff.
    with translation.override(client_language(invoice.client)):
        html = render_to_string("billing/invoice_pdf.html", invoice_pdf_context(invoice))
    if not einvoice.einvoice_ready(invoice):
        return HTML(string=html).write_pdf()
    xml = einvoice.build_xml(invoice)
    pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    return einvoice.embed(pdf, xml, invoice=invoice)


def invoice_pdf_filename(invoice: Invoice) -> str:
    stem = invoice.number or f"draft-{invoice.pk}"
    kind = "credit-note" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "invoice"
    return f"{kind}-{stem}.pdf"

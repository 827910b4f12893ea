"""PDF of an invoice or credit note (art. 4.1, 4.5), rendered with WeasyPrint.

The template names "Noto Sans CJK SC" (Debian's fonts-noto-cjk) first, so Chinese legal
names print as characters, not boxes. Amounts come from the invoice as stored and from the
invoicing selectors (paid, set off, withheld, due now: `invoice_amounts`); nothing is
recomputed here.

A profile that issues e-invoices (`Provider.einvoice_format`, issue 14 §3) gets every issued
invoice and credit note as a Factur-X PDF: rendered as PDF/A-3b and the EN 16931 XML embedded
(billing/invoicing/einvoice.py, which says which libraries and why). Other profiles' PDFs,
drafts, and a profile still lacking the seller's VAT number get the plain PDF.
"""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

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
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as a PDF document (A4)."""
    from weasyprint import HTML  # imported here: it loads Pango and the fonts

    invoice = Invoice.objects.select_related("provider", "client", "credit_note_for", "pay_to").get(
        pk=invoice.pk
    )
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

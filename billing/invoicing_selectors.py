"""Reads of the invoicing domain, every one scoped to a client (tenant isolation is one habit).

The invoice list is keyset-paginated on (invoice_date, id) descending, which the index
`invoice_client_list_idx` (client, -invoice_date, -id) — or `invoice_client_status_idx` when
filtering by status — answers directly: one query per page, whatever the page number and
however many invoices the client has, selecting only the columns a list shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum

from accounts.kernel.errors import ApplicationError
from accounts.models import Client

from .invoicing import (
    credit_note_available,
    deposit_available,
    interest_accrued,
    interest_spans,
    invoice_due_now,
    invoice_outstanding,
    open_dispute,
    restitution_available,
    set_off_total,
    withheld_amount,
)
from .models import Deposit, Dispute, FapiaoRequest, Invoice, InvoiceLine, Payment, SetOff

LIST_COLUMNS = (
    "id",
    "client_id",
    "kind",
    "number",
    "status",
    "invoice_date",
    "due_date",
    "currency",
    "subtotal",
    "vat_amount",
    "total",
    "amount_paid",
    "period_start",
    "period_end",
)
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Page:
    items: list
    next_cursor: str | None


def _cursor_encode(invoice: Invoice) -> str:
    return f"{invoice.invoice_date.isoformat()}_{invoice.pk}"


def _cursor_decode(cursor: str) -> tuple[dt.date, int]:
    try:
        day, pk = cursor.split("_", 1)
        return dt.date.fromisoformat(day), int(pk)
    except (ValueError, AttributeError):
        raise ValueError("invalid cursor") from None


def invoice_list_queryset(*, client: Client, filters: dict | None = None) -> QuerySet[Invoice]:
    """The client's issued invoices and credit notes (drafts are the provider's, not shown),
    newest first, filtered by status, kind and invoice-date period."""
    filters = filters or {}
    qs = Invoice.objects.filter(client_id=client.pk, invoice_date__isnull=False)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("date_from"):
        qs = qs.filter(invoice_date__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(invoice_date__lte=filters["date_to"])
    return qs.only(*LIST_COLUMNS).order_by("-invoice_date", "-id")


def invoice_list(
    *, client: Client, filters: dict | None = None, cursor: str | None = None, page_size: int = 50
) -> Page:
    """One page of the client's invoice list, keyset-paginated on (invoice_date, id) desc.

    `cursor` is the `next_cursor` of the previous page; an invalid one raises ValueError.
    """
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    qs = invoice_list_queryset(client=client, filters=filters)
    if cursor:
        day, pk = _cursor_decode(cursor)
        # A row comparison walks the (client, -invoice_date, -id) index from the cursor on.
        qs = qs.extra(
            where=['("billing_invoice"."invoice_date", "billing_invoice"."id") < (%s, %s)'],
            params=[day, pk],
        )
    rows = list(qs[: page_size + 1])
    next_cursor = _cursor_encode(rows[page_size - 1]) if len(rows) > page_size else None
    return Page(items=rows[:page_size], next_cursor=next_cursor)


def invoice_drafts(*, client: Client) -> QuerySet[Invoice]:
    """The client's draft invoices (staff only: drafts are not sent)."""
    return Invoice.objects.filter(client_id=client.pk, status=Invoice.Status.DRAFT).order_by("-pk")


def invoice_get(*, client: Client, pk: int) -> Invoice:
    """One invoice of this client; another client's id raises DoesNotExist (a 404, never 403)."""
    return Invoice.objects.select_related("provider", "client").get(client_id=client.pk, pk=pk)


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    invoice: Invoice
    lines: list
    payments: list
    set_offs: list
    interest_charges: list
    disputes: list
    fapiao: FapiaoRequest | None
    credit_notes: list
    outstanding: Decimal
    withheld: Decimal
    due_now: Decimal
    interest_to_date: Decimal
    interest_spans: list


def invoice_detail(*, client: Client, pk: int, today: dt.date | None = None) -> InvoiceDetail:
    """An invoice with its lines, payments, set-offs, interest, disputes, fapiao and what is due now."""
    from .invoicing import _today

    invoice = invoice_get(client=client, pk=pk)
    today = today or _today(invoice.provider)
    interest = Decimal("0")
    spans = []
    if invoice.kind == Invoice.Kind.INVOICE and invoice.due_date and today > invoice.due_date:
        try:
            interest = interest_accrued(invoice=invoice, until=today)
            spans = interest_spans(
                invoice=invoice, first=invoice.due_date + dt.timedelta(days=1), last=today
            )
        except ApplicationError:  # no rate entered yet: the page still shows the invoice
            interest, spans = Decimal("0"), []
    return InvoiceDetail(
        invoice=invoice,
        lines=list(invoice.lines.order_by("position", "pk")),
        payments=list(invoice.payments.order_by("received_on", "pk")),
        set_offs=list(SetOff.objects.filter(invoice=invoice).order_by("recorded_at", "pk")),
        interest_charges=list(invoice.interest_charges.order_by("from_date")),
        disputes=list(invoice.disputes.order_by("-raised_at", "-pk")),
        fapiao=FapiaoRequest.objects.filter(invoice=invoice).first(),
        credit_notes=list(invoice.credit_notes.order_by("pk")),
        outstanding=invoice_outstanding(invoice),
        withheld=withheld_amount(invoice),
        due_now=invoice_due_now(invoice),
        interest_to_date=interest,
        interest_spans=spans,
    )


def invoice_lines(*, client: Client, invoice_pk: int) -> QuerySet[InvoiceLine]:
    return InvoiceLine.objects.filter(invoice__client_id=client.pk, invoice_id=invoice_pk).order_by(
        "position", "pk"
    )


def payment_list(*, client: Client) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(invoice__client_id=client.pk)
        .select_related("invoice")
        .only("id", "amount", "currency", "received_on", "reference", "bank_fee", "invoice__number")
        .order_by("-received_on", "-pk")
    )


def set_off_list(*, client: Client) -> QuerySet[SetOff]:
    """Every set-off of the client, shown on both sides: the source and the invoice (art. 9.1)."""
    return (
        SetOff.objects.filter(client_id=client.pk)
        .select_related("invoice", "deposit", "restitution", "credit_note")
        .order_by("-recorded_at", "-pk")
    )


def deposit_list(*, client: Client) -> QuerySet[Deposit]:
    return (
        Deposit.objects.filter(client_id=client.pk)
        .prefetch_related(
            Prefetch("set_offs", queryset=SetOff.objects.select_related("invoice").order_by("pk"))
        )
        .annotate(set_off_amount=Sum("set_offs__amount"))
        .order_by("-demanded_at", "-pk")
    )


def dispute_list(*, client: Client) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(invoice__client_id=client.pk)
        .select_related("invoice", "credit_note")
        .order_by("-raised_at", "-pk")
    )


def fapiao_request_list(*, client: Client) -> QuerySet[FapiaoRequest]:
    return (
        FapiaoRequest.objects.filter(invoice__client_id=client.pk)
        .select_related("invoice")
        .order_by("-confirmed_at", "-pk")
    )


def set_off_sources(*, client: Client) -> dict:
    """What the provider owes the client and may set off (art. 9.1): remaining per source."""
    from .models import RestitutionRequest

    deposits = [
        (d, deposit_available(d))
        for d in Deposit.objects.filter(client_id=client.pk, status=Deposit.Status.HELD).order_by(
            "pk"
        )
    ]
    restitutions = [
        (r, restitution_available(r))
        for r in RestitutionRequest.objects.filter(
            client_id=client.pk, status=RestitutionRequest.Status.APPROVED
        ).order_by("pk")
    ]
    notes = [
        (n, credit_note_available(n))
        for n in Invoice.objects.filter(
            client_id=client.pk, kind=Invoice.Kind.CREDIT_NOTE
        ).order_by("pk")
    ]
    return {
        "deposits": [x for x in deposits if x[1] > 0],
        "restitutions": [x for x in restitutions if x[1] > 0],
        "credit_notes": [x for x in notes if x[1] > 0],
    }


__all__ = [
    "Page",
    "InvoiceDetail",
    "invoice_list",
    "invoice_list_queryset",
    "invoice_drafts",
    "invoice_get",
    "invoice_detail",
    "invoice_due_now",
    "invoice_outstanding",
    "invoice_lines",
    "payment_list",
    "set_off_list",
    "set_off_total",
    "deposit_list",
    "dispute_list",
    "fapiao_request_list",
    "set_off_sources",
    "open_dispute",
]

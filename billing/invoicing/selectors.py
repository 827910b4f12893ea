"""Reads of invoicing, one function per read, each scoped to the user who asks (the pages and the
API call the same ones).

A client's user sees only its own client's rows, and never a draft invoice (drafts are the
provider's until issued); staff see every client's, narrowed to one with `client`. One row of
another client (or one that does not exist) raises `NotFound`: a 404, never a 403.

The invoice list is keyset-paginated on (invoice_date, id) descending, which the index
`invoice_client_list_idx` (client, -invoice_date, -id) — or `invoice_client_status_idx` when
filtering by status — answers directly: one query per page, whatever the page number and
however many invoices the client has, selecting only the columns a list shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    BooleanField,
    DecimalField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.kernel.errors import ApplicationError, NotFound
from accounts.models import Client, Provider, User
from accounts.selectors import clients_visible_to, providers_visible_to, scoped
from billing.models import (
    BankAccount,
    ClientCredit,
    ClientCreditEntry,
    CpiAdjustment,
    Deposit,
    Dispute,
    ExchangeRate,
    FapiaoRequest,
    InterestNotComputed,
    InterestRate,
    Invoice,
    Payment,
    Price,
    PriceChange,
    Recharge,
    RestitutionRequest,
    SetOff,
    StatementEntry,
    StatementImport,
)
from billing.payment_references import client_ids_quoted

from .services import _common
from .services._common import (
    OPEN_STATUSES,
    UNRESOLVED_DISPUTE_STATUSES,
    ZERO,
)
from .services.bank_details import EURO, account_as_issued
from .services.deposits import deposit_available
from .services.disputes import (
    OPEN_DISPUTE,
    Withholding,
    dispute_escalatable,
    dispute_window_check,
    dispute_withholding,
)
from .services.fapiao import fapiao_confirm_check, fapiao_overdue
from .services.interest import (
    NoRateInForce,
    interest_accrued,
    interest_rate_today,
    interest_spans,
    interest_terms_of,
)
from .services.invoices import (
    dispute_withheld,
    invoice_due_now,
    invoice_outstanding,
    open_dispute,
    set_off_total,
    withheld_amount,
)
from .services.set_offs import credit_note_available, restitution_available

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
    "payment_reference",
)
MAX_PAGE_SIZE = 200


def _scoped_get(queryset: QuerySet, *, user: User, pk, client_field: str = "client"):
    """The row `pk` if `user` may see it; otherwise NotFound (missing and foreign look alike)."""
    obj = scoped(queryset, user=user, client_field=client_field).filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def _scoped_list(
    queryset: QuerySet, *, user: User, client: Client | None, client_field: str = "client"
) -> QuerySet:
    """The rows `user` may see, of `client` only when given."""
    qs = scoped(queryset, user=user, client_field=client_field)
    if client is not None:
        qs = qs.filter(**{f"{client_field}_id": client.pk})
    return qs


# --- Invoices --------------------------------------------------------------------------------
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


def invoice_list_queryset(
    *, user: User, client: Client, filters: dict | None = None
) -> QuerySet[Invoice]:
    """The client's issued invoices and credit notes (drafts are the provider's, not shown),
    newest first, filtered by status, kind and invoice-date period."""
    filters = filters or {}
    qs = _scoped_list(Invoice.objects.filter(invoice_date__isnull=False), user=user, client=client)
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
    *,
    user: User,
    client: Client,
    filters: dict | None = None,
    cursor: str | None = None,
    page_size: int = 50,
) -> Page:
    """One page of the client's invoice list, keyset-paginated on (invoice_date, id) desc.

    `cursor` is the `next_cursor` of the previous page; an invalid one raises ValueError.
    """
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    qs = invoice_list_queryset(user=user, client=client, filters=filters)
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


def staff_invoice_list(*, user: User, filters: dict | None = None) -> QuerySet[Invoice]:
    """The invoices of the clients `user` serves (their providers' only, art. 11.1), newest
    first."""
    filters = filters or {}
    qs = (
        scoped(Invoice.objects.all(), user=user)
        .select_related("client")
        .only(
            "id",
            "client__id",
            "client__legal_name",
            "kind",
            "number",
            "status",
            "invoice_date",
            "due_date",
            "currency",
            "total",
            "amount_paid",
            "created_at",
        )
    )
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("client"):
        qs = qs.filter(client_id=filters["client"])
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True, slots=True)
class AmountDue:
    """What a client owes on its open invoices: per currency, and the next due date to come."""

    by_currency: list[tuple[str, Decimal]]
    next_due_date: dt.date | None


def client_amount_due(*, user: User, client: Client) -> AmountDue:
    """The outstanding amounts of the client's open invoices (total − paid − set-offs, as
    `invoice_outstanding` computes them per invoice; art. 4.5), summed per currency, and the
    earliest due date from today on among them. One query, however many invoices: the set-offs
    are summed in a subquery and the outstanding amounts in SQL."""
    money = DecimalField(max_digits=14, decimal_places=2)
    set_offs = (
        SetOff.objects.filter(invoice_id=OuterRef("pk"))
        .values("invoice_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    today = _common.today(client.provider)
    rows = (
        _scoped_list(Invoice.objects.all(), user=user, client=client)
        .filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
        .annotate(
            outstanding=Greatest(
                ExpressionWrapper(
                    F("total")
                    - F("amount_paid")
                    - Coalesce(Subquery(set_offs, output_field=money), Value(ZERO)),
                    output_field=money,
                ),
                Value(ZERO),
                output_field=money,
            )
        )
        .filter(outstanding__gt=0)
        .values("currency")
        .annotate(
            due=Sum("outstanding"),
            next_due=Min("due_date", filter=Q(due_date__gte=today)),
        )
        .order_by("currency")
    )
    by_currency: list[tuple[str, Decimal]] = []
    next_due: dt.date | None = None
    for row in rows:
        by_currency.append((row["currency"], row["due"]))
        if row["next_due"] is not None and (next_due is None or row["next_due"] < next_due):
            next_due = row["next_due"]
    return AmountDue(by_currency=by_currency, next_due_date=next_due)


def overdue_invoices(*, user: User) -> QuerySet[Invoice]:
    """Invoices past their due date (art. 4.5) of the clients `user` serves, the longest
    overdue first."""
    return (
        scoped(Invoice.objects.filter(status=Invoice.Status.OVERDUE), user=user)
        .select_related("client")
        # An overdue invoice always has its due date; coalesced only because the column may be
        # NULL (a draft's) and a keyset page cannot seek past NULL (accounts.kernel.keyset).
        .annotate(due=Coalesce("due_date", Value(dt.date.max)))
        .order_by("due", "id")
    )


def invoice_get(*, user: User, pk) -> Invoice:
    """One invoice or credit note the user may see; a client's user never sees a draft."""
    invoice = _scoped_get(
        Invoice.objects.select_related("client__provider", "provider", "credit_note_for", "pay_to"),
        user=user,
        pk=pk,
    )
    if not user.is_provider_staff and invoice.status == Invoice.Status.DRAFT:
        raise NotFound()
    return invoice


@dataclass(frozen=True, slots=True)
class InvoiceAmounts:
    """What an invoice owes now, as the page, the API and the PDF show it."""

    set_off: Decimal
    settled: Decimal
    outstanding: Decimal
    withheld: Decimal
    due_now: Decimal
    withholding: Withholding


def invoice_amounts(invoice: Invoice) -> InvoiceAmounts:
    """Set off, settled, outstanding, withheld under an open dispute and due now; nothing for a
    credit note. `withholding` words the open dispute's withholding (or, without one, the rule)."""
    dispute = open_dispute(invoice)
    withholding = dispute_withholding(
        invoice=invoice,
        amount=dispute.amount if dispute else None,
        allowed=dispute.withholdable if dispute else None,
    )
    if invoice.kind != Invoice.Kind.INVOICE:
        return InvoiceAmounts(ZERO, invoice.amount_paid, ZERO, ZERO, ZERO, withholding)
    set_off = set_off_total(invoice)
    return InvoiceAmounts(
        set_off=set_off,
        settled=invoice.amount_paid + set_off,
        outstanding=invoice_outstanding(invoice),
        withheld=withheld_amount(invoice),
        due_now=invoice_due_now(invoice),
        withholding=withholding,
    )


EPC_MAX_AMOUNT = Decimal("999999999.99")  # EPC069-12: the amount field, EUR 0.01 to 999999999.99


@dataclass(frozen=True, slots=True)
class EpcTransfer:
    """The fields of an EPC069-12 QR code ("GiroCode"): a SEPA credit transfer in euro."""

    name: str
    iban: str
    bic: str
    amount: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """How to pay an issued invoice: the reference to quote, the account to pay into as the
    invoice names it (art. 4.10), and the EPC QR transfer when one applies."""

    reference: str
    reference_display: str
    account: BankAccount | None
    epc: EpcTransfer | None


def epc_transfer(
    *, invoice: Invoice, account: BankAccount | None, due_now: Decimal
) -> EpcTransfer | None:
    """The EPC QR code applies to a euro amount due to a SEPA account (EPC069-12): the invoice
    and the account are in euro, the account's IBAN is in a SEPA country, and something between
    EUR 0.01 and 999,999,999.99 is due now; it carries that amount and the RF reference."""
    if (
        account is None
        or invoice.kind != Invoice.Kind.INVOICE
        or invoice.currency != EURO
        or account.currency != EURO
        or not account.is_sepa
        or not invoice.payment_reference
        or not (Decimal("0.01") <= due_now <= EPC_MAX_AMOUNT)
    ):
        return None
    return EpcTransfer(
        name=account.account_holder,
        iban=account.iban,
        bic=account.bic,
        amount=due_now,
        reference=invoice.payment_reference,
    )


def invoice_payment_instructions(
    invoice: Invoice, *, due_now: Decimal | None = None
) -> PaymentInstructions | None:
    """What the invoice page, its PDF and the API print about paying it; None for a draft or a
    credit note (nothing for the client to pay)."""
    if invoice.kind != Invoice.Kind.INVOICE or not invoice.payment_reference:
        return None
    if due_now is None:
        due_now = invoice_due_now(invoice)
    account = account_as_issued(invoice)
    reference = invoice.payment_reference
    display = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
    return PaymentInstructions(
        reference=reference,
        reference_display=display if reference.startswith("RF") else reference,
        account=account,
        epc=epc_transfer(invoice=invoice, account=account, due_now=due_now),
    )


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
    withholding: Withholding
    interest_to_date: Decimal
    interest_spans: list
    pay: PaymentInstructions | None
    interest_no_rate_from: dt.date | None = None


def _interest_so_far(invoice: Invoice, today: dt.date) -> tuple[Decimal, list, dt.date | None]:
    """Interest so far and its spans; with no rate in force on a day that earns interest, the
    first such day instead (art. 4.6): the page says so rather than showing a silent zero."""
    if invoice.kind != Invoice.Kind.INVOICE or not invoice.due_date or today <= invoice.due_date:
        return Decimal("0"), [], None
    try:
        interest = interest_accrued(invoice=invoice, until=today)
        spans = interest_spans(
            invoice=invoice, first=invoice.due_date + dt.timedelta(days=1), last=today
        )
    except NoRateInForce as exc:
        return Decimal("0"), [], exc.day
    return interest, spans, None


def invoice_detail(*, user: User, pk, today: dt.date | None = None) -> InvoiceDetail:
    """An invoice with its lines, payments, set-offs, interest, disputes (each with what it
    withholds now), fapiao (with `overdue`) and what is due now."""
    invoice = invoice_get(user=user, pk=pk)
    today = today or _common.today(invoice.provider)
    interest, spans, no_rate_from = _interest_so_far(invoice, today)
    disputes = with_withheld(invoice.disputes.order_by("-raised_at", "-pk"))
    amounts = invoice_amounts(invoice)
    return InvoiceDetail(
        invoice=invoice,
        lines=list(invoice.lines.order_by("position", "pk")),
        payments=list(invoice.payments.order_by("received_on", "pk")),
        set_offs=list(SetOff.objects.filter(invoice=invoice).order_by("recorded_at", "pk")),
        interest_charges=list(invoice.interest_charges.order_by("from_date")),
        disputes=disputes,
        fapiao=_fapiao_queryset().filter(invoice=invoice).first(),
        credit_notes=list(invoice.credit_notes.order_by("pk")),
        outstanding=amounts.outstanding,
        withheld=amounts.withheld,
        due_now=amounts.due_now,
        withholding=amounts.withholding,
        interest_to_date=interest,
        interest_spans=spans,
        pay=invoice_payment_instructions(invoice, due_now=amounts.due_now),
        interest_no_rate_from=no_rate_from,
    )


@dataclass(frozen=True, slots=True)
class InvoiceActions:
    """What `user` may do on the invoice now, as the services would decide it."""

    dispute: bool
    dispute_closed_reason: str
    confirm_fapiao: bool
    issue: bool
    void: bool
    record_payment: bool


def _dispute_closed_reason(invoice: Invoice, today: dt.date) -> str:
    try:
        dispute_window_check(invoice=invoice, today=today)
    except ApplicationError as exc:
        return exc.message
    return OPEN_DISPUTE if open_dispute(invoice) is not None else ""


def invoice_actions(*, user: User, invoice: Invoice) -> InvoiceActions:
    """The dispute form for the client's own admin within the payment term (art. 10.1), else
    the reason it is closed; fapiao confirmation (art. 4.8); staff's issue, void, payment."""
    own_admin = user.is_client_admin and user.client_id == invoice.client_id
    is_invoice = invoice.kind == Invoice.Kind.INVOICE
    reason = ""
    if own_admin and is_invoice:
        reason = _dispute_closed_reason(invoice, _common.today(invoice.provider))
    try:
        fapiao_confirm_check(invoice=invoice, acting_user=user)
        may_confirm = True
    except ApplicationError:
        may_confirm = False
    staff = user.is_billing_staff
    return InvoiceActions(
        dispute=own_admin and is_invoice and not reason,
        dispute_closed_reason=reason,
        confirm_fapiao=may_confirm,
        issue=staff and invoice.status == Invoice.Status.DRAFT,
        void=staff and is_invoice and invoice.status != Invoice.Status.VOID,
        record_payment=staff and is_invoice and invoice.status in OPEN_STATUSES,
    )


# --- Payments, deposits, set-offs -------------------------------------------------------------
def payment_list(*, user: User, client: Client | None = None) -> QuerySet[Payment]:
    """Payments received against the invoices, newest first (art. 4.10)."""
    return _scoped_list(
        Payment.objects.select_related("invoice"),
        user=user,
        client=client,
        client_field="invoice__client",
    ).order_by("-received_on", "-pk")


def payment_get(*, user: User, pk) -> Payment:
    return _scoped_get(
        Payment.objects.select_related("invoice"), user=user, pk=pk, client_field="invoice__client"
    )


def deposit_list(*, user: User, client: Client | None = None, status: str = "") -> QuerySet:
    """Deposits with their set-offs (`set_off_amount`, and `set_offs` prefetched), newest first."""
    qs = _scoped_list(
        Deposit.objects.select_related("client")
        .prefetch_related(
            Prefetch("set_offs", queryset=SetOff.objects.select_related("invoice").order_by("pk"))
        )
        .annotate(set_off_amount=Sum("set_offs__amount")),
        user=user,
        client=client,
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-demanded_at", "-pk")


def deposit_get(*, user: User, pk) -> Deposit:
    return _scoped_get(Deposit.objects.select_related("client__provider"), user=user, pk=pk)


def deposit_actions(*, user: User, deposit: Deposit) -> list[str]:
    """The billing staff's actions on a deposit now: mark held, adjust and settle until it is
    settled, then record its refund once (art. 4.7)."""
    if not user.is_billing_staff:
        return []
    if deposit.status != Deposit.Status.SETTLED:
        return ["mark-held", "adjust", "settle"]
    return ["refund"] if deposit.refunded_at is None else []


def _set_off_queryset() -> QuerySet[SetOff]:
    return SetOff.objects.select_related(
        "client", "invoice", "deposit", "restitution", "credit_note"
    )


def set_off_list(*, user: User, client: Client | None = None) -> QuerySet[SetOff]:
    """Every set-off, shown on both sides: the source and the invoice (art. 9.1)."""
    return _scoped_list(_set_off_queryset(), user=user, client=client).order_by(
        "-recorded_at", "-pk"
    )


def recharge_list(
    *, user: User, client: Client | None = None, status: str = ""
) -> QuerySet[Recharge]:
    """What the client is charged besides its usage (art. 7.3, 21.5.2, 21.6, 21.7.2, 29.4),
    newest first, each with its source and the invoice that bills it (pending: not yet)."""
    qs = _scoped_list(
        Recharge.objects.select_related("client", "invoice"), user=user, client=client
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-recorded_at", "-id")


def set_off_get(*, user: User, pk) -> SetOff:
    return _scoped_get(_set_off_queryset(), user=user, pk=pk)


SET_OFF_SOURCES = {
    SetOff.Source.CLIENT_CREDIT: ClientCredit,
    SetOff.Source.DEPOSIT: Deposit,
    SetOff.Source.RESTITUTION: RestitutionRequest,
    SetOff.Source.CREDIT_NOTE: Invoice,
}


def set_off_source_get(*, user: User, source: str, pk):
    """The deposit, restitution request, credit note or client credit a set-off names (art. 9.1)."""
    return _scoped_get(SET_OFF_SOURCES[source].objects.all(), user=user, pk=pk)


def set_off_sources(*, user: User, client: Client) -> dict:
    """What the provider owes the client and may set off (art. 9.1): remaining per source."""
    deposits = [
        (d, deposit_available(d))
        for d in _scoped_list(Deposit.objects.all(), user=user, client=client)
        .filter(status=Deposit.Status.HELD)
        .order_by("pk")
    ]
    restitutions = [
        (r, restitution_available(r))
        for r in _scoped_list(RestitutionRequest.objects.all(), user=user, client=client)
        .filter(status=RestitutionRequest.Status.APPROVED)
        .order_by("pk")
    ]
    notes = [
        (n, credit_note_available(n))
        for n in _scoped_list(Invoice.objects.all(), user=user, client=client)
        .filter(kind=Invoice.Kind.CREDIT_NOTE)
        .order_by("pk")
    ]
    credits = [
        (c, c.balance)
        for c in _scoped_list(ClientCredit.objects.all(), user=user, client=client).order_by("pk")
    ]
    return {
        "client_credits": [x for x in credits if x[1] > 0],
        "deposits": [x for x in deposits if x[1] > 0],
        "restitutions": [x for x in restitutions if x[1] > 0],
        "credit_notes": [x for x in notes if x[1] > 0],
    }


def set_off_open_invoices(*, user: User, client: Client) -> list:
    """The client's issued invoices with something outstanding, oldest first, that a set-off
    may settle (art. 9.1)."""
    rows = (
        _scoped_list(Invoice.objects.all(), user=user, client=client)
        .filter(
            kind=Invoice.Kind.INVOICE,
            status__in=[
                Invoice.Status.ISSUED,
                Invoice.Status.PARTLY_PAID,
                Invoice.Status.OVERDUE,
                Invoice.Status.DISPUTED,
            ],
        )
        .order_by("pk")
    )
    return [(i, invoice_amounts(i).outstanding) for i in rows]


# --- Disputes and fapiao ----------------------------------------------------------------------
def dispute_list(
    *, user: User, client: Client | None = None, status: str = "", unresolved: bool = False
) -> QuerySet:
    """Disputes, newest first; `unresolved` gives the staff's queue (pending check, open or
    escalated, oldest first). Each row says whether it may be escalated now (`can_escalate`)."""
    qs = _scoped_list(
        Dispute.objects.select_related("invoice__client", "credit_note"),
        user=user,
        client=client,
        client_field="invoice__client",
    ).annotate(
        can_escalate=ExpressionWrapper(
            dispute_escalatable(_common.now()), output_field=BooleanField()
        )
    )
    if unresolved:
        return qs.filter(status__in=UNRESOLVED_DISPUTE_STATUSES).order_by("raised_at", "pk")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-raised_at", "-pk")


def dispute_get(*, user: User, pk) -> Dispute:
    return _scoped_get(
        Dispute.objects.select_related(
            "invoice__client__provider", "invoice__provider", "credit_note"
        ),
        user=user,
        pk=pk,
        client_field="invoice__client",
    )


def with_withheld(disputes) -> list:
    """The disputes, each with what it withholds now (`withheld`)."""
    disputes = list(disputes)
    for dispute in disputes:
        dispute.withheld = dispute_withheld(dispute)
    return disputes


def _fapiao_queryset() -> QuerySet[FapiaoRequest]:
    """Fapiao requests, each with `overdue` (art. 4.8)."""
    return FapiaoRequest.objects.select_related(
        "invoice__client__provider", "invoice__provider"
    ).annotate(
        overdue=ExpressionWrapper(fapiao_overdue(_common.now()), output_field=BooleanField())
    )


def fapiao_request_list(*, user: User, client: Client | None = None, status: str = "") -> QuerySet:
    """Fapiao requests; the requested ones nearest deadline first (the staff's queue)."""
    qs = _scoped_list(_fapiao_queryset(), user=user, client=client, client_field="invoice__client")
    if status:
        qs = qs.filter(status=status)
    return (
        qs.order_by("due_at", "pk")
        if status == FapiaoRequest.Status.REQUESTED
        else qs.order_by("-confirmed_at", "-pk")
    )


def fapiao_request_get(*, user: User, pk) -> FapiaoRequest:
    return _scoped_get(_fapiao_queryset(), user=user, pk=pk, client_field="invoice__client")


# --- Prices, interest rates, queues -----------------------------------------------------------
def price_list(*, user: User, client: Client | None = None) -> QuerySet[Price]:
    return _scoped_list(Price.objects.all(), user=user, client=client).order_by(
        "client_id", "channel", "-valid_from"
    )


def provider_for_staff(*, user: User, code: str) -> Provider:
    """The profile with `code` if `user` works on it, else NotFound (another's looks missing)."""
    provider = providers_visible_to(user).filter(code=code).first()
    if provider is None:
        raise NotFound()
    return provider


def interest_rate_list(*, user: User, provider_code: str = "") -> QuerySet[InterestRate]:
    qs = InterestRate.objects.select_related("provider").filter(
        provider__in=providers_visible_to(user)
    )
    if provider_code:
        qs = qs.filter(provider__code=provider_code)
    return qs.order_by("provider__code", "-valid_from")


def exchange_rate_list(*, user: User) -> QuerySet[ExchangeRate]:
    """The exchange rates, newest day first (the ECB's imported, staff's entered). They are no
    client's data and shared by both profiles; only provider staff read them."""
    if not user.is_provider_staff:
        return ExchangeRate.objects.none()
    return ExchangeRate.objects.order_by("-valid_from", "base_currency", "quote_currency")


def disputes_pending_check(*, user: User) -> QuerySet[Dispute]:
    """The disputes of the user's providers waiting for an exchange rate (CX 10)."""
    return scoped(
        Dispute.objects.filter(status=Dispute.Status.PENDING_CHECK).select_related(
            "invoice__client"
        ),
        user=user,
        client_field="invoice__client",
    ).order_by("raised_at", "pk")


def cpi_adjustment_list(*, user: User) -> QuerySet[CpiAdjustment]:
    return (
        CpiAdjustment.objects.select_related("provider", "entered_by")
        .filter(provider__in=providers_visible_to(user))
        .order_by("provider__code", "-year")
    )


@dataclass(frozen=True, slots=True)
class InterestStatus:
    """A profile's late-interest position today (art. 4.6), for the staff's pages."""

    provider: Provider
    rate_today: Decimal | None
    rate_rule: str
    compounds_yearly: bool
    rate_period_months: int | None
    invoices_without_interest: int

    @property
    def alert(self) -> bool:
        return self.rate_today is None or self.invoices_without_interest > 0


def interest_status_list(*, user: User) -> list[InterestStatus]:
    """Per profile the staff member works on: the rate in force today (None: none is) and how
    many invoices the overdue job found earning interest without a rate (art. 4.6)."""
    rows = []
    for provider in providers_visible_to(user):
        terms = interest_terms_of(provider)
        rows.append(
            InterestStatus(
                provider=provider,
                rate_today=interest_rate_today(provider),
                rate_rule=terms.rate_rule,
                compounds_yearly=terms.compounds_yearly,
                rate_period_months=terms.rate_period_months,
                invoices_without_interest=InterestNotComputed.objects.filter(
                    provider=provider, resolved_at=None
                ).count(),
            )
        )
    return rows


def interest_gap_list(*, user: User) -> QuerySet[InterestNotComputed]:
    """The overdue job's open records of invoices it could not compute interest on (art. 4.6)."""
    return scoped(
        InterestNotComputed.objects.filter(resolved_at=None).select_related(
            "invoice__client", "provider"
        ),
        user=user,
        client_field="invoice__client",
    ).order_by("-recorded_at", "-id")


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def _change_cursor_encode(change: PriceChange) -> str:
    """`<microseconds since 1970>_<id>`: URL-safe as it is."""
    return f"{(change.recorded_at - _EPOCH) // _MICRO}_{change.pk}"


def _change_cursor_decode(cursor: str) -> tuple[dt.datetime, int]:
    try:
        micros, pk = cursor.split("_", 1)
        return _EPOCH + int(micros) * _MICRO, int(pk)
    except (ValueError, AttributeError, OverflowError):
        raise ValueError("invalid cursor") from None


def price_change_list(
    *, user: User, client: Client, cursor: str | None = None, page_size: int = 50
) -> Page:
    """One page of every change of the client's prices, with its cause (art. 4.2-4.4, 4.11),
    newest first; keyset-paginated on (recorded_at, id) desc over `price_change_client_idx`.

    `cursor` is the `next_cursor` of the previous page; an invalid one raises ValueError.
    """
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    qs = _scoped_list(PriceChange.objects.all(), user=user, client=client).order_by(
        "-recorded_at", "-id"
    )
    if cursor:
        moment, pk = _change_cursor_decode(cursor)
        qs = qs.extra(
            where=['("billing_pricechange"."recorded_at", "billing_pricechange"."id") < (%s, %s)'],
            params=[moment, pk],
        )
    rows = list(qs[: page_size + 1])
    next_cursor = _change_cursor_encode(rows[page_size - 1]) if len(rows) > page_size else None
    return Page(items=rows[:page_size], next_cursor=next_cursor)


def prices_in_force(*, user: User, client: Client, today: dt.date | None = None) -> list[Price]:
    """The client's price per channel in force today, and any already announced for later."""
    today = today or _common.today(client.provider)
    prices = list(
        _scoped_list(Price.objects.all(), user=user, client=client).order_by(
            "channel", "valid_from"
        )
    )
    current: dict[str, Price] = {}
    later: list[Price] = []
    for price in prices:
        if price.valid_from <= today:
            current[price.channel] = price
        else:
            later.append(price)
    return sorted(current.values(), key=lambda p: p.channel) + later


def queue_counts(*, user: User) -> dict:
    """Sizes of the invoicing queues on the billing staff's dashboard (their providers' only)."""
    invoices = scoped(Invoice.objects.all(), user=user)
    return {
        "drafts": invoices.filter(status=Invoice.Status.DRAFT).count(),
        "overdue": invoices.filter(status=Invoice.Status.OVERDUE).count(),
        "disputes": scoped(
            Dispute.objects.filter(status__in=UNRESOLVED_DISPUTE_STATUSES),
            user=user,
            client_field="invoice__client",
        ).count(),
        "fapiao": scoped(
            FapiaoRequest.objects.filter(status=FapiaoRequest.Status.REQUESTED),
            user=user,
            client_field="invoice__client",
        ).count(),
    }


# --- Bank statements (issue 14 §2) -------------------------------------------------------------
def statement_import_list(*, user: User) -> QuerySet[StatementImport]:
    """The statement imports of the providers `user` works for, newest first."""
    return (
        StatementImport.objects.filter(provider__in=providers_visible_to(user))
        .select_related("provider", "bank_account", "uploaded_by")
        .defer("content")
        .order_by("-id")
    )


def statement_import_get(*, user: User, pk) -> StatementImport:
    found = statement_import_list(user=user).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def statement_entries(*, statement: StatementImport) -> QuerySet[StatementEntry]:
    return statement.entries.select_related("invoice", "client", "credit_entry").order_by("pk")


def unmatched_entries(*, user: User) -> QuerySet[StatementEntry]:
    """The staff queue: entries no invoice was found for, oldest first (index
    statement_entry_queue_idx: provider, status, id)."""
    return (
        StatementEntry.objects.filter(
            provider__in=providers_visible_to(user), status=StatementEntry.Status.UNMATCHED
        )
        .select_related("statement", "provider")
        .order_by("id")
    )


def statement_entry_get(*, user: User, pk) -> StatementEntry:
    found = (
        StatementEntry.objects.filter(provider__in=providers_visible_to(user), pk=pk)
        .select_related("provider")
        .first()
    )
    if found is None:
        raise NotFound()
    return found


def invoice_by_number(*, user: User, number: str) -> Invoice | None:
    """An issued invoice the user may see, by its number or payment reference."""
    number = (number or "").strip().upper().replace(" ", "")
    if not number:
        return None
    return (
        scoped(Invoice.objects.filter(kind=Invoice.Kind.INVOICE), user=user)
        .filter(Q(number=number) | Q(payment_reference=number))
        .select_related("provider", "client")
        .first()
    )


# --- Client credit (art. 9.1; issue 12 §6) -----------------------------------------------------
def client_credit_list(*, user: User, client: Client | None = None) -> QuerySet[ClientCredit]:
    """The client credits `user` may see, newest first: a client its own (also at zero, with
    their history), staff those of their providers' clients."""
    return (
        _scoped_list(ClientCredit.objects.all(), user=user, client=client)
        .select_related("client")
        .order_by("-id")
    )


def client_credit_get(*, user: User, pk) -> ClientCredit:
    return _scoped_get(ClientCredit.objects.select_related("client__provider"), user=user, pk=pk)


def client_credit_entries(*, credit: ClientCredit) -> QuerySet[ClientCreditEntry]:
    """A credit's movements, newest first (index credit_entry_list_idx)."""
    return credit.entries.select_related("invoice").order_by("-id")


def client_credit_totals(*, client: Client) -> list[ClientCredit]:
    """The client's credits that hold money, for its dashboards and invoices list."""
    return list(ClientCredit.objects.filter(client=client, balance__gt=0).order_by("currency"))


def statement_client_lookup(*, user: User, entry: StatementEntry, text: str) -> Client | None:
    """The client of the entry's provider that staff name by its client number or reference."""
    text = (text or "").strip().upper()
    if text.isdigit() and len(text) <= 18:
        ids = [int(text)]
    else:
        ids = client_ids_quoted(country=entry.provider.country, references=[text], text=text)
    if len(ids) != 1:
        return None
    return (
        clients_visible_to(user)
        .filter(pk=ids[0], provider_id=entry.provider_id)
        .select_related("provider")
        .first()
    )

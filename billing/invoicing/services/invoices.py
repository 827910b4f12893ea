"""Invoices: what a client owes, drafted, issued, voided and marked overdue (art. 4.1, 4.5, 4.9).

Every state change is a keyword-only function, in one transaction; a refused call raises an
`ApplicationError` naming the field and the article, and changes nothing. Who acted is recorded
by simple-history; emails go out on commit through `accounts.kernel.notifications.notify`.

Choices made here, once, for the whole domain:

* **Credit notes** are `Invoice` rows with `kind=credit_note` and POSITIVE amounts; the kind
  gives the sign. They take their number from the same gapless sequence as invoices.
* **Rounding**: a line's amount is `round_money(quantity × unit price)`; VAT is computed per
  rate on the sum of that rate's line amounts and rounded half-up once per rate.
* **What is due now** (`invoice_due_now`): total − paid − set-offs − the disputed part the
  client withholds while its dispute is open (`dispute_withheld`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext, pgettext

from accounts import selectors
from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_date, clean_text
from accounts.kernel.l10n import money
from accounts.kernel.money import MAX_AMOUNT, round_money, round_unit_price, to_decimal
from accounts.kernel.notifications import client_recipients, notify
from accounts.kernel.roles import require_billing_staff
from accounts.models import Client, Provider, User
from billing.models import BankAccount, Dispute, FapiaoRequest, Invoice, InvoiceLine, SetOff

from . import _common
from ._common import BATCH, HUNDRED, OPEN_DISPUTE_STATUSES, ZERO
from .bank_details import invoice_payment_terms_assign
from .numbering import invoice_number_next

# Member states of the European Union, for the reverse charge on EU B2B supplies (art. 4.9).
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)


# --- Amounts of an invoice -----------------------------------------------------------------
def set_off_total(invoice: Invoice) -> Decimal:
    return SetOff.objects.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))["s"] or ZERO


def open_dispute(invoice: Invoice) -> Dispute | None:
    return (
        Dispute.objects.filter(invoice_id=invoice.pk, status__in=OPEN_DISPUTE_STATUSES)
        .order_by("pk")
        .first()
    )


def dispute_withheld(dispute: Dispute | None, *, on: dt.date | None = None) -> Decimal:
    """What a dispute lets the client withhold: the disputed part while the dispute is open or
    escalated, if it was found withholdable when raised (`disputes.dispute_withholding`);
    nothing once it is resolved. With `on`, what it withheld that day (the profile's local
    days from the day it was raised up to, not including, the day it was resolved)."""
    if dispute is None or not dispute.withholdable:
        return ZERO
    if on is None:
        is_open = dispute.status in OPEN_DISPUTE_STATUSES
    else:
        provider = dispute.invoice.provider
        resolved = dispute.resolved_at and local_date(provider, dispute.resolved_at)
        is_open = local_date(provider, dispute.raised_at) <= on and (not resolved or on < resolved)
    return dispute.amount if is_open else ZERO


def withheld_amount(invoice: Invoice) -> Decimal:
    """The disputed part the client may withhold on the invoice now (its open dispute's)."""
    return dispute_withheld(open_dispute(invoice))


def invoice_outstanding(invoice: Invoice) -> Decimal:
    """What the client still owes on the invoice, disputed or not: total − paid − set-offs."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return ZERO
    return max(invoice.total - invoice.amount_paid - set_off_total(invoice), ZERO)


def invoice_due_now(invoice: Invoice) -> Decimal:
    """What is due now (art. 4.5): total − paid − set-offs − the disputed part withheld while
    its dispute is open (`withheld_amount`), never below zero; a disputed part that may not be
    withheld stays due."""
    return max(invoice_outstanding(invoice) - withheld_amount(invoice), ZERO)


def invoice_settled(invoice: Invoice) -> Decimal:
    """What has reached the invoice: paid plus set off."""
    return invoice.amount_paid + set_off_total(invoice)


def invoice_status_refresh(invoice: Invoice, *, acting_user: User | None) -> Invoice:
    """Derive an issued invoice's status from what is paid, set off, disputed and due (art. 4.5)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return invoice
    today = _common.today(invoice.provider)
    settled = invoice_settled(invoice)
    if settled >= invoice.total:
        status = Invoice.Status.PAID
    elif open_dispute(invoice) is not None and (
        invoice.due_date >= today or invoice_due_now(invoice) == 0
    ):
        status = Invoice.Status.DISPUTED
    elif invoice.due_date < today:
        status = Invoice.Status.OVERDUE
    elif settled > 0:
        status = Invoice.Status.PARTLY_PAID
    else:
        status = Invoice.Status.ISSUED
    if status == Invoice.Status.OVERDUE and invoice.overdue_since is None:
        invoice.overdue_since = invoice.due_date + dt.timedelta(days=1)
    if status != invoice.status:
        invoice.status = status
        with_history_user(invoice, acting_user).save()
    return invoice


# --- Lines and totals (art. 4.1, 4.9) ------------------------------------------------------
def vat_default(client: Client) -> tuple[Decimal, bool]:
    """The VAT rate for a client's lines and whether the reverse charge applies (art. 4.1, 4.9).

    The profile's default rate; 0 % with the reverse charge when the profile applies it to EU
    B2B supplies and the client is a business (it gave a VAT number) established in another
    EU member state than the provider.
    """
    provider = client.provider
    if (
        provider.vat_reverse_charge_eu_b2b
        and client.country in EU_COUNTRIES
        and client.country != provider.country
        and (client.vat_number or "").strip()
    ):
        return ZERO, True
    return provider.default_vat_rate, False


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's amount: quantity × unit price, rounded half-up to cents (excluding VAT)."""
    return round_money(quantity * unit_price)


def vat_by_rate(lines) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base, VAT) per VAT rate, rates ascending: the base is the sum of that rate's line
    amounts, and its VAT is rounded half-up once per rate (art. 4.1)."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        bases[Decimal(line.vat_rate)] += line.amount
    return [
        (rate, base, round_money(base * rate / HUNDRED)) for rate, base in sorted(bases.items())
    ]


def totals(lines) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal excl. VAT, VAT, total): VAT per rate on the rate's sum, rounded half-up (art. 4.1)."""
    rows = vat_by_rate(lines)
    subtotal = sum((base for _, base, _ in rows), ZERO)
    vat = sum((vat for _, _, vat in rows), ZERO)
    return subtotal, vat, subtotal + vat


def invoice_recalculate(invoice: Invoice) -> None:
    """Totals and messages covered from the invoice's lines as stored."""
    invoice.subtotal, invoice.vat_amount, invoice.total = totals(list(invoice.lines.all()))
    invoice.messages_covered = sum(line.messages for line in invoice.lines.all())


def _line_quantity(raw: dict[str, Any], prefix: str) -> Decimal:
    quantity = to_decimal(raw.get("quantity", "1"), field=f"{prefix}.quantity")
    if (
        quantity <= 0
        or quantity != quantity.quantize(Decimal("0.001"))
        or quantity >= Decimal("1e11")
    ):
        raise ValidationFailed(
            {
                f"{prefix}.quantity": [
                    gettext("The quantity must be positive, with at most 3 decimals.")
                ]
            }
        )
    return quantity


def _line_unit_price(raw: dict[str, Any], prefix: str) -> Decimal:
    unit_price = to_decimal(raw.get("unit_price"), field=f"{prefix}.unit_price")
    if unit_price < 0 or unit_price != round_unit_price(unit_price) or unit_price >= Decimal("1e8"):
        raise ValidationFailed(
            {
                f"{prefix}.unit_price": [
                    gettext(
                        "The unit price excludes VAT (art. 4.1): zero or more, with at most 6 decimals."
                    )
                ]
            }
        )
    return unit_price


def _line_vat_rate(
    raw: dict[str, Any], prefix: str, default_rate: Decimal, reverse_charge: bool
) -> Decimal:
    if raw.get("vat_rate") is None:
        return default_rate
    vat_rate = to_decimal(raw["vat_rate"], field=f"{prefix}.vat_rate")
    if vat_rate < 0 or vat_rate >= HUNDRED or vat_rate != vat_rate.quantize(Decimal("0.01")):
        raise ValidationFailed(
            {f"{prefix}.vat_rate": [gettext("The VAT rate is a percentage from 0 to 99.99.")]}
        )
    if reverse_charge and vat_rate != 0:
        raise ValidationFailed(
            {
                f"{prefix}.vat_rate": [
                    gettext(
                        "VAT is reverse-charged to this EU business client: the rate is 0 % (art. 4.9)."
                    )
                ]
            },
            article="4.9",
        )
    return vat_rate


def _clean_line(i: int, raw, default_rate: Decimal, reverse_charge: bool) -> InvoiceLine:
    prefix = f"lines[{i}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(
            {prefix: [gettext("Each line is a description, quantity, unit price and VAT rate.")]}
        )
    description = clean_text(
        raw.get("description"),
        field=f"{prefix}.description",
        message=gettext("Describe what the line bills."),
        max_length=300,
    )
    quantity = _line_quantity(raw, prefix)
    unit_price = _line_unit_price(raw, prefix)
    vat_rate = _line_vat_rate(raw, prefix, default_rate, reverse_charge)
    messages = raw.get("messages", 0) or 0
    if not isinstance(messages, int) or isinstance(messages, bool) or messages < 0:
        raise ValidationFailed(
            {f"{prefix}.messages": [gettext("The messages a line covers are a whole number.")]}
        )
    amount = line_amount(quantity, unit_price)
    if amount > MAX_AMOUNT:
        raise ValidationFailed({f"{prefix}.quantity": [gettext("The line amount is too large.")]})
    return InvoiceLine(
        position=i + 1,
        description=description,
        channel=raw.get("channel", "") or "",
        quantity=quantity,
        unit_price=unit_price,
        vat_rate=vat_rate,
        amount=amount,
        messages=messages,
    )


def _clean_lines(client: Client, lines) -> tuple[list[InvoiceLine], bool]:
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationFailed(
            {"lines": [gettext("An invoice needs at least one line (art. 4.1).")]}
        )
    default_rate, reverse_charge = vat_default(client)
    built = [_clean_line(i, raw, default_rate, reverse_charge) for i, raw in enumerate(lines)]
    return built, reverse_charge


# --- Invoices (art. 4.1, 4.5) --------------------------------------------------------------
def _draft_currency(client: Client, currency: str | None) -> str:
    """The agreed currency (the agreement's, else the profile's; art. 4.1, CX 3), or another
    one staff name for this invoice. Any currency but the profile's needs an active account of
    the provider in it, so the invoice names where to pay (art. 4.10)."""
    provider = client.provider
    agreed = selectors.agreed_currency(client=client)
    code = (currency or "").strip().upper() or agreed
    if code == provider.currency:
        return code
    if not BankAccount.objects.filter(provider=provider, currency=code, active=True).exists():
        raise ValidationFailed(
            {
                "currency": [
                    gettext(
                        "%(name)s invoices this client in the agreed %(agreed)s or in a currency "
                        "it keeps a bank account in; it has none in %(code)s (art. 4.1, 4.10)."
                    )
                    % {"name": provider.name, "agreed": agreed, "code": repr(code)}
                ]
            },
            article="4.1",
        )
    return code


def _clean_invoice_term(value) -> int | None:
    """The invoice's own payment term (art. 4.8, 4.5): whole days from 1 to 365, or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 365:
        raise ValidationFailed(
            {
                "payment_term_days": [
                    gettext(
                        "The invoice's payment term is a whole number of days from 1 to 365, or "
                        "empty for the agreement's (art. 4.5, 4.8)."
                    )
                ]
            },
            article="4.5",
        )
    return int(text)


def invoice_payment_term_days(invoice: Invoice) -> int:
    """The payment term of an invoice (art. 4.5, 4.8): "within fourteen (14) days of the
    invoice date, unless the Agreement explicitly contains different payment terms" (4.5),
    and "the payment term applicable to the invoice in question" (4.8, 10.1): the invoice's
    own term where it states one, else the agreement's, else the profile's 14 days."""
    if invoice.payment_term_days is not None:
        return invoice.payment_term_days
    return selectors.agreed_payment_term_days(client=invoice.client)


@transaction.atomic
def invoice_draft(
    *,
    client: Client,
    lines,
    acting_user: User | None,
    notes: str = "",
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    source_key: str | None = None,
    currency: str | None = None,
    payment_term_days=None,
) -> Invoice:
    """A draft invoice in the agreed currency, prices excluding VAT (art. 4.1).

    Each line is a dict: description, quantity, unit_price, and optionally vat_rate (the
    profile's default; 0 % under the reverse charge for an EU business client, art. 4.9),
    channel and messages. Drafts have no number; `invoice_issue` gives one.

    The currency is the agreement's ("All prices stated are in RMB or RMB equivalents to
    Euros", art. 4.1; CX 3 "the agreed currency (default: USD)"); staff may name another
    `currency` only where the provider keeps an active bank account in it, so the invoice can
    name where to pay (art. 4.10). `payment_term_days` is the invoice's own term where it
    states one (art. 4.8, 4.5; `invoice_payment_term_days`).
    """
    if acting_user is not None:
        require_billing_staff(acting_user)
    client = Client.objects.select_related("provider").get(pk=client.pk)
    if client.status in (Client.Status.PENDING, Client.Status.REJECTED):
        raise ApplicationError(
            gettext("Only an approved client is invoiced."), field="client", article="4.1"
        )
    built, reverse_charge = _clean_lines(client, lines)
    provider = client.provider
    currency = _draft_currency(client, currency)
    term = _clean_invoice_term(payment_term_days)
    invoice = Invoice(
        client=client,
        provider=provider,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.DRAFT,
        currency=currency,
        payment_term_days=term,
        reverse_charge=reverse_charge,
        notes=(notes or "").strip(),
        period_start=period_start,
        period_end=period_end,
        source_key=source_key,
        created_by=acting_user,
    )
    invoice.subtotal, invoice.vat_amount, invoice.total = totals(built)
    invoice.messages_covered = sum(line.messages for line in built)
    with_history_user(invoice, acting_user).save()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    return invoice


def _issue(invoice: Invoice, *, acting_user: User | None, invoice_date: dt.date) -> Invoice:
    provider = invoice.provider
    invoice.number = invoice_number_next(provider=provider, year=invoice_date.year)
    invoice.invoice_date = invoice_date
    invoice.due_date = (
        invoice_date + dt.timedelta(days=invoice_payment_term_days(invoice))
        if invoice.kind == Invoice.Kind.INVOICE
        else invoice_date
    )
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = _common.now()
    invoice.issued_by = acting_user
    invoice_payment_terms_assign(invoice)
    with_history_user(invoice, acting_user).save()
    return invoice


@transaction.atomic
def invoice_issue(
    *, invoice: Invoice, acting_user: User | None, invoice_date: dt.date | None = None
) -> Invoice:
    """Issue a draft: the next gapless number, totals from the lines, due date (art. 4.1, 4.5).

    "The Client shall pay all invoices without suspension, set-off or deduction within
    fourteen (14) days of the invoice date, unless the Agreement explicitly contains different
    payment terms" (4.5): the due date is the invoice date plus the invoice's own term where it
    states one (4.8), else the agreement's, else the profile's (`invoice_payment_term_days`). An issued invoice is never edited; it is voided by a credit note.
    """
    if acting_user is not None:
        require_billing_staff(acting_user)
    invoice = _common.lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE:
        raise ApplicationError(
            gettext("A credit note is issued by voiding an invoice or granting a dispute."),
            field="kind",
        )
    if invoice.status != Invoice.Status.DRAFT:
        raise ApplicationError(
            gettext("Only a draft is issued; an issued invoice is never edited (art. 4.1)."),
            field="status",
        )
    today = _common.today(invoice.provider)
    invoice_date = today if invoice_date is None else clean_date(invoice_date, field="invoice_date")
    if invoice_date > today:
        raise ValidationFailed(
            {"invoice_date": [gettext("An invoice is not dated in the future (art. 4.5).")]},
            article="4.5",
        )
    invoice_recalculate(invoice)
    if invoice.total <= 0:
        raise ApplicationError(
            gettext("There is nothing to invoice: the total is zero."), field="lines", article="4.1"
        )
    _issue(invoice, acting_user=acting_user, invoice_date=invoice_date)
    client = invoice.client
    notify(
        key=f"invoice-issued:{invoice.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            pgettext("email subject", "Invoice %(number)s") % {"number": invoice.number}
        ),
        body=(
            lambda: (
                gettext(
                    "Invoice %(number)s of %(date)s: %(amount)s including VAT, due on %(due)s (art. 4.5)."
                )
                % {
                    "number": invoice.number,
                    "date": f"{invoice.invoice_date:%Y-%m-%d}",
                    "amount": money(invoice.total, invoice.currency),
                    "due": f"{invoice.due_date:%Y-%m-%d}",
                }
            )
        ),
    )
    return invoice


def credit_note_issue(
    *,
    invoice: Invoice,
    lines: list[InvoiceLine],
    subtotal: Decimal,
    vat: Decimal,
    acting_user: User | None,
    notes: str,
) -> Invoice:
    """Issue a credit note for `invoice` with `lines`, numbered from the same sequence (art. 4.1)."""
    note = Invoice(
        client=invoice.client,
        provider=invoice.provider,
        kind=Invoice.Kind.CREDIT_NOTE,
        credit_note_for=invoice,
        status=Invoice.Status.DRAFT,
        currency=invoice.currency,
        reverse_charge=invoice.reverse_charge,
        subtotal=subtotal,
        vat_amount=vat,
        total=subtotal + vat,
        notes=notes,
        created_by=acting_user,
    )
    with_history_user(note, acting_user).save()
    for i, line in enumerate(lines):
        line.pk = None
        line.invoice = note
        line.position = i + 1
    InvoiceLine.objects.bulk_create(lines)
    _issue(note, acting_user=acting_user, invoice_date=_common.today(invoice.provider))
    notify(
        key=f"credit-note-issued:{note.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=lambda: (
            gettext("Credit note %(note)s for invoice %(number)s")
            % {"note": note.number, "number": invoice.number}
        ),
        body=lambda: (
            gettext("Credit note %(note)s: %(amount)s including VAT.")
            % {"note": note.number, "amount": money(note.total, note.currency)}
            + f"\n{notes}"
        ),
    )
    return note


def _refuse_void(invoice: Invoice) -> None:
    """An issued invoice with money on it, an open dispute or a fapiao is not voided."""
    if (
        invoice.amount_paid > 0
        or invoice.payments.exists()
        or SetOff.objects.filter(invoice=invoice).exists()
    ):
        raise ApplicationError(
            gettext("Payments or set-offs are recorded on this invoice; it cannot be voided."),
            field="status",
        )
    if Dispute.objects.filter(
        invoice_id=invoice.pk, status__in=_common.UNRESOLVED_DISPUTE_STATUSES
    ).exists():
        raise ApplicationError(
            gettext("Resolve the open dispute first (art. 10.2)."), field="status", article="10.2"
        )
    if FapiaoRequest.objects.filter(invoice=invoice, status=FapiaoRequest.Status.ISSUED).exists():
        raise ApplicationError(
            gettext(
                "A fapiao has been issued for this invoice; it must be reversed first (art. 4.8)."
            ),
            field="status",
            article="4.8",
        )


@transaction.atomic
def invoice_void(*, invoice: Invoice, acting_user: User, reason: str) -> Invoice | None:
    """Void an invoice; an issued one is cancelled by a credit note, never edited (art. 4.1).

    The credit note repeats the invoice's lines with positive amounts (`kind=credit_note`)
    and takes the next number of the same sequence. It only cancels the voided invoice, so
    nothing of it is left to set off elsewhere. An invoice with payments, set-offs, an open
    dispute or an issued fapiao is not voided: settle those first. A draft has no number and
    is simply voided. Returns the credit note (None for a draft).
    """
    require_billing_staff(acting_user)
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("Say why the invoice is voided; the client sees it."),
    )
    invoice = _common.lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE:
        raise ApplicationError(gettext("A credit note is not voided."), field="kind")
    if invoice.status == Invoice.Status.VOID:
        raise ApplicationError(gettext("This invoice is already void."), field="status")
    now = _common.now()
    note = None
    if invoice.status != Invoice.Status.DRAFT:
        _refuse_void(invoice)
        note = credit_note_issue(
            invoice=invoice,
            lines=list(invoice.lines.order_by("position", "pk")),
            subtotal=invoice.subtotal,
            vat=invoice.vat_amount,
            acting_user=acting_user,
            notes=f"Voids invoice {invoice.number}: {reason}",
        )
    invoice.status = Invoice.Status.VOID
    invoice.voided_at, invoice.voided_by, invoice.void_reason = now, acting_user, reason
    with_history_user(invoice, acting_user).save()
    return note


def invoices_mark_overdue(
    *, today: dt.date | None = None, batch_size: int = BATCH
) -> dict[str, Any]:
    """Job: an invoice not paid by its due date is overdue from the next day (art. 4.5, 4.6).

    Issued, partly paid and disputed invoices past their due date with something due now
    become overdue and get `overdue_since`; a dispute whose withheld part is all that is left
    keeps the invoice disputed (`invoice_due_now`). Walks each provider's candidates by key.
    Then records, visibly, each invoice on which interest runs without a rate in force
    (`interest.interest_gaps_record`, art. 4.6).
    """
    from .interest import interest_gaps_record  # interest builds on this module

    marked = 0
    gaps = {"interest_not_computed": 0, "interest_gaps_resolved": 0}
    for provider in Provider.objects.order_by("pk"):
        day = today or _common.today(provider)
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    Invoice.objects.select_for_update(of=("self",), skip_locked=True)
                    .select_related("provider", "client")
                    .filter(
                        provider=provider,
                        kind=Invoice.Kind.INVOICE,
                        pk__gt=last_pk,
                        due_date__lt=day,
                        status__in=[
                            Invoice.Status.ISSUED,
                            Invoice.Status.PARTLY_PAID,
                            Invoice.Status.DISPUTED,
                        ],
                    )
                    .order_by("pk")[:batch_size]
                )
                for invoice in batch:
                    if invoice_due_now(invoice) > 0:
                        invoice.status = Invoice.Status.OVERDUE
                        invoice.overdue_since = invoice.due_date + dt.timedelta(days=1)
                        with_history_user(invoice, None).save()
                        marked += 1
            if len(batch) < batch_size:
                break
            last_pk = batch[-1].pk
        for name, count in interest_gaps_record(provider=provider, today=day).items():
            gaps[name] += count
    return {"marked_overdue": marked, **gaps}


# --- Termination for cause (art. 15.6) -----------------------------------------------------
@transaction.atomic
def invoices_payable_on_termination(
    *, client: Client, terminated_on: dt.date, article: str, acting_user: User | None
) -> list[Invoice]:
    """Art. 15.6: "If at the time of such termination as is referred to in Article 15.4 and 15.5
    the Client has already received any performance in the execution of the Agreement, any
    amounts invoiced by CM before the termination in connection with that received performance
    shall remain fully due and shall become immediately payable upon termination."

    Every open invoice issued on or before the termination date whose due date lies after it is
    due on that date instead (its old due date kept in `due_date_brought_forward_from`), and the
    client is told once which ones. Drafts are not invoiced yet and stay as they are; running it
    again changes nothing.
    """
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .filter(
            client=client,
            kind=Invoice.Kind.INVOICE,
            status__in=_common.OPEN_STATUSES,
            invoice_date__lte=terminated_on,
            due_date__gt=terminated_on,
        )
        .order_by("pk")
    )
    for invoice in invoices:
        invoice.due_date_brought_forward_from = invoice.due_date
        invoice.due_date = terminated_on
        with_history_user(invoice, acting_user).save()
    if invoices:

        def lines() -> str:
            return "\n".join(
                gettext("%(number)s: %(amount)s, was due %(was)s, now due %(now)s")
                % {
                    "number": i.number,
                    "amount": money(i.total, i.currency),
                    "was": i.due_date_brought_forward_from,
                    "now": terminated_on,
                }
                for i in invoices
            )

        notify(
            key=f"invoices-payable-on-termination:{client.pk}:{terminated_on}",
            client=client,
            recipients=client_recipients(client),
            subject=lambda: (
                gettext("Invoices payable at once after the termination on %(date)s")
                % {"date": terminated_on}
            ),
            body=lambda: (
                gettext(
                    "The agreement was terminated for cause (art. %(article)s). Amounts invoiced "
                    "for performance already received remain fully due and are payable "
                    "immediately (art. 15.6):"
                )
                % {"article": article}
                + f"\n{lines()}"
            ),
        )
    return invoices

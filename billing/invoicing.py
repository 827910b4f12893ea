"""Invoicing: what a client owes and how it is settled (art. 4, 7, 9, 10; CXENGAGE art. 10).

Every state change of the invoicing domain is a keyword-only function here, in one
transaction; a refused call raises an `ApplicationError` naming the field and the article,
and changes nothing. Who acted is recorded by simple-history (`_history_user`); emails go
out on commit through `accounts.kernel.notifications.notify`, once per key.

Choices made here, once, for the whole module:

* **Credit notes** are `Invoice` rows with `kind=credit_note` and POSITIVE amounts; the kind
  gives the sign. They take their number from the same gapless sequence as invoices.
* **Rounding**: a line's amount is `round_money(quantity × unit price)`; VAT is computed per
  rate on the sum of that rate's line amounts and rounded half-up once per rate.
* **Late interest** (art. 4.6) is actual/actual: each day earns 1/365 of the annual rate, or
  1/366 in a leap year, on that day's outstanding amount at the rate in force that day; the
  sum of a charged span is rounded half-up to cents once. Interest is outside the scope of
  VAT (it is compensation, not a supply), so its line has VAT rate 0.
* **Payments settle what they say**: `Payment.amount` is the net amount received; bank fees
  are kept for the record and never count as paid (art. 4.10).
* **What is due now** (`invoice_due_now`): total − paid − set-offs − the part withheld under
  an open dispute that may be withheld (art. 10.2).
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from stdnum.cn import uscc

from accounts import services as account_services
from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.dates import add_months, local_date, local_midnight
from accounts.kernel.money import MAX_DIGITS, apply_rate, round_money, round_unit_price, to_decimal
from accounts.kernel.notifications import (
    client_admin_emails,
    client_recipients,
    notify,
    staff_emails,
)
from accounts.models import Agreement, Client, Provider, Suspension, User

from billing.prepaid.services import limits
from .exceptions import ApplicationError, Conflict, NotAllowed, ValidationFailed
from .models import (
    CpiAdjustment,
    Deposit,
    Dispute,
    ExchangeRate,
    FapiaoRequest,
    InterestCharge,
    InterestRate,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    MessageAccount,
    Payment,
    Price,
    RestitutionRequest,
    SetOff,
    UsageRecord,
)

log = logging.getLogger(__name__)

ZERO = Decimal("0")
HUNDRED = Decimal("100")
MAX_AMOUNT = Decimal(10 ** (MAX_DIGITS - 2)) - Decimal("0.01")
BATCH = 500

# Invoices the client still has to settle (or has settled in part).
OPEN_STATUSES = (
    Invoice.Status.ISSUED,
    Invoice.Status.PARTLY_PAID,
    Invoice.Status.OVERDUE,
    Invoice.Status.DISPUTED,
)
OPEN_DISPUTE_STATUSES = (Dispute.Status.OPEN, Dispute.Status.ESCALATED)

# Member states of the European Union, for the reverse charge on EU B2B supplies (art. 4.9).
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)

DEPOSIT_REFUND_NOTICE_DAYS = 14


# --- Helpers -------------------------------------------------------------------------------
def _h(obj, user):
    """simple-history records who made the change."""
    obj._history_user = user
    return obj


_require_billing_staff = roles.require_billing_staff


def _require_client_admin(user: User | None, client: Client, article: str) -> None:
    roles.require_client_admin(
        user,
        client,
        message=f"Only an admin of this client may do this (art. 5.2, {article}).",
        article=article,
    )


def _money(value, *, field: str, allow_zero: bool = False, article: str | None = None) -> Decimal:
    amount = to_decimal(value, field=field)
    if amount != round_money(amount):
        raise ValidationFailed(
            {field: ["Give the amount in whole cents (2 decimal places)."]}, article=article
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed({field: ["The amount must be positive."]}, article=article)
    if amount > MAX_AMOUNT:
        raise ValidationFailed({field: ["The amount is too large."]}, article=article)
    return amount


def _text(value, *, field: str, message: str, max_length: int | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationFailed({field: [message]})
    if max_length and len(text) > max_length:
        raise ValidationFailed({field: [f"At most {max_length} characters."]})
    return text


def _date(value, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ValidationFailed({field: ["Give a calendar date (YYYY-MM-DD)."]})
    return value


def _lock_invoice(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("provider", "client")
        .get(pk=invoice.pk)
    )


def _client_id_batches(provider: Provider, batch_size: int):
    """The provider's client ids in pk order, `batch_size` at a time (a keyset walk)."""
    last_pk = 0
    while True:
        ids = list(
            Client.objects.filter(provider=provider, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        last_pk = ids[-1]
        yield ids


def _now() -> dt.datetime:
    """The current moment; one place, so tests can move the clock."""
    return timezone.now()


def _today(provider: Provider) -> dt.date:
    return local_date(provider, _now())


def _local_day(provider: Provider, moment: dt.datetime) -> dt.date:
    return local_date(provider, moment)


# --- Amounts of an invoice -----------------------------------------------------------------
def set_off_total(invoice: Invoice) -> Decimal:
    return SetOff.objects.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))["s"] or ZERO


def open_dispute(invoice: Invoice) -> Dispute | None:
    return (
        Dispute.objects.filter(invoice_id=invoice.pk, status__in=OPEN_DISPUTE_STATUSES)
        .order_by("pk")
        .first()
    )


def withheld_amount(invoice: Invoice) -> Decimal:
    """The disputed part the client may withhold while its dispute is open (art. 10.2)."""
    dispute = open_dispute(invoice)
    return dispute.amount if dispute is not None and dispute.withholdable else ZERO


def invoice_outstanding(invoice: Invoice) -> Decimal:
    """What the client still owes on the invoice, disputed or not: total − paid − set-offs."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return ZERO
    return max(invoice.total - invoice.amount_paid - set_off_total(invoice), ZERO)


def invoice_due_now(invoice: Invoice) -> Decimal:
    """What is due now: total − paid − withheld disputed part − set-offs, never below zero (art. 10.2).

    "The Client will only be entitled to suspend payment of the disputed part of the invoice,
    if the amount disputed by the Client exceeds 5% of the total amount of the invoice in
    question (excluding VAT)" — otherwise the whole invoice stays due.
    """
    outstanding = invoice_outstanding(invoice)
    return max(outstanding - withheld_amount(invoice), ZERO)


def _settled(invoice: Invoice) -> Decimal:
    return invoice.amount_paid + set_off_total(invoice)


def _refresh_status(invoice: Invoice, *, acting_user: User | None) -> Invoice:
    """Derive an issued invoice's status from what is paid, set off, disputed and due (art. 4.5)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return invoice
    today = _today(invoice.provider)
    settled = _settled(invoice)
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
        _h(invoice, acting_user).save()
    return invoice


def _after_settlement(invoice: Invoice, *, acting_user: User | None) -> None:
    """What follows money reaching an invoice: status, messages paid, resumption (art. 4.10, 7.3, 26.2)."""
    _refresh_status(invoice, acting_user=acting_user)
    _release_messages(invoice, acting_user=acting_user)
    _resume_if_cleared(invoice.client, acting_user=acting_user)


def _release_messages(invoice: Invoice, *, acting_user: User | None) -> int:
    """Lower the unpaid message count by the messages the settled part of the invoice covers.

    Proportional to what is settled (paid or set off), all of them once the invoice is paid
    (art. 26.2). `messages_released` remembers what was released, so nothing is released
    twice. Messages that staff already marked paid by hand are not counted again: the
    release never takes the count below zero.
    """
    covered = invoice.messages_covered
    if not covered or invoice.total <= 0:
        return 0
    settled = _settled(invoice)
    if settled >= invoice.total:
        target = covered
    else:
        target = int(
            (Decimal(covered) * settled / invoice.total).to_integral_value(rounding=ROUND_FLOOR)
        )
    delta = target - invoice.messages_released
    if delta <= 0:
        return 0
    limits.message_account_for_client(client=invoice.client)
    account = MessageAccount.objects.select_for_update().get(client_id=invoice.client_id)
    release = min(delta, account.unpaid_count)
    if release > 0:
        limits.messages_paid_record(
            client=invoice.client,
            messages=release,
            reference=f"invoice {invoice.number}",
            idempotency_key=f"invoice:{invoice.pk}:messages-to:{target}",
            acting_user=acting_user
            if acting_user is not None and acting_user.is_billing_staff
            else None,
        )
    invoice.messages_released = target
    Invoice.objects.filter(pk=invoice.pk).update(messages_released=target)
    return release


def _suspendable_overdue(client: Client, *, today: dt.date | None = None) -> list[Invoice]:
    """The client's invoices overdue by the profile's grace period with something due (art. 7.1)."""
    provider = client.provider
    today = today or _today(provider)
    cutoff = today - dt.timedelta(days=provider.overdue_suspension_grace_days)
    candidates = (
        Invoice.objects.filter(
            client=client, kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES, due_date__lte=cutoff
        )
        .select_related("provider", "client")
        .order_by("due_date", "pk")
    )
    return [inv for inv in candidates if invoice_due_now(inv) > 0]


def _resume_if_cleared(client: Client, *, acting_user: User | None) -> bool:
    """Paying the overdue invoices removes the reason for a non-payment suspension (art. 7.3)."""
    if not Suspension.objects.filter(
        client=client, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
    ).exists():
        return False
    if _suspendable_overdue(client):
        return False
    account_services.client_resume(
        client=client,
        acting_user=acting_user
        if acting_user is not None and acting_user.is_provider_staff
        else None,
        reason="The overdue invoices have been paid; the service resumes (art. 7.3).",
        cause=Suspension.Cause.NON_PAYMENT,
    )
    return True


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


def totals(lines) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal excl. VAT, VAT, total): VAT per rate on the rate's sum, rounded half-up (art. 4.1)."""
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        by_rate[Decimal(line.vat_rate)] += line.amount
    subtotal = sum(by_rate.values(), ZERO)
    vat = sum((round_money(base * rate / HUNDRED) for rate, base in by_rate.items()), ZERO)
    return subtotal, vat, subtotal + vat


def _recalculate(invoice: Invoice) -> None:
    invoice.subtotal, invoice.vat_amount, invoice.total = totals(list(invoice.lines.all()))
    invoice.messages_covered = sum(line.messages for line in invoice.lines.all())


def _clean_lines(client: Client, lines) -> tuple[list[InvoiceLine], bool]:
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationFailed({"lines": ["An invoice needs at least one line (art. 4.1)."]})
    default_rate, reverse_charge = vat_default(client)
    built = []
    for i, raw in enumerate(lines):
        if not isinstance(raw, dict):
            raise ValidationFailed(
                {f"lines[{i}]": ["Each line is a description, quantity, unit price and VAT rate."]}
            )
        description = _text(
            raw.get("description"),
            field=f"lines[{i}].description",
            message="Describe what the line bills.",
            max_length=300,
        )
        quantity = to_decimal(raw.get("quantity", "1"), field=f"lines[{i}].quantity")
        if (
            quantity <= 0
            or quantity != quantity.quantize(Decimal("0.001"))
            or quantity >= Decimal("1e11")
        ):
            raise ValidationFailed(
                {
                    f"lines[{i}].quantity": [
                        "The quantity must be positive, with at most 3 decimals."
                    ]
                }
            )
        unit_price = to_decimal(raw.get("unit_price"), field=f"lines[{i}].unit_price")
        if (
            unit_price < 0
            or unit_price != round_unit_price(unit_price)
            or unit_price >= Decimal("1e8")
        ):
            raise ValidationFailed(
                {
                    f"lines[{i}].unit_price": [
                        "The unit price excludes VAT (art. 4.1): zero or more, with at most 6 decimals."
                    ]
                }
            )
        if raw.get("vat_rate") is None:
            vat_rate = default_rate
        else:
            vat_rate = to_decimal(raw["vat_rate"], field=f"lines[{i}].vat_rate")
            if (
                vat_rate < 0
                or vat_rate >= HUNDRED
                or vat_rate != vat_rate.quantize(Decimal("0.01"))
            ):
                raise ValidationFailed(
                    {f"lines[{i}].vat_rate": ["The VAT rate is a percentage from 0 to 99.99."]}
                )
            if reverse_charge and vat_rate != 0:
                raise ValidationFailed(
                    {
                        f"lines[{i}].vat_rate": [
                            "VAT is reverse-charged to this EU business client: the rate is 0 % (art. 4.9)."
                        ]
                    },
                    article="4.9",
                )
        messages = raw.get("messages", 0) or 0
        if not isinstance(messages, int) or isinstance(messages, bool) or messages < 0:
            raise ValidationFailed(
                {f"lines[{i}].messages": ["The messages a line covers are a whole number."]}
            )
        amount = line_amount(quantity, unit_price)
        if amount > MAX_AMOUNT:
            raise ValidationFailed({f"lines[{i}].quantity": ["The line amount is too large."]})
        built.append(
            InvoiceLine(
                position=i + 1,
                description=description,
                channel=raw.get("channel", "") or "",
                quantity=quantity,
                unit_price=unit_price,
                vat_rate=vat_rate,
                amount=amount,
                messages=messages,
            )
        )
    return built, reverse_charge


# --- Invoices (art. 4.1, 4.2, 4.5) ---------------------------------------------------------
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
) -> Invoice:
    """A draft invoice in the provider's currency, prices excluding VAT (art. 4.1).

    Each line is a dict: description, quantity, unit_price, and optionally vat_rate (the
    profile's default; 0 % under the reverse charge for an EU business client, art. 4.9),
    channel and messages. Drafts have no number; `invoice_issue` gives one.
    """
    if acting_user is not None:
        _require_billing_staff(acting_user)
    client = Client.objects.select_related("provider").get(pk=client.pk)
    if client.status in (Client.Status.PENDING, Client.Status.REJECTED):
        raise ApplicationError(
            "Only an approved client is invoiced.", field="client", article="4.1"
        )
    built, reverse_charge = _clean_lines(client, lines)
    provider = client.provider
    invoice = Invoice(
        client=client,
        provider=provider,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.DRAFT,
        currency=provider.currency,
        reverse_charge=reverse_charge,
        notes=(notes or "").strip(),
        period_start=period_start,
        period_end=period_end,
        source_key=source_key,
        created_by=acting_user,
    )
    invoice.subtotal, invoice.vat_amount, invoice.total = totals(built)
    invoice.messages_covered = sum(line.messages for line in built)
    _h(invoice, acting_user).save()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    return invoice


def _next_number(provider: Provider, year: int) -> str:
    """The next number of the provider's gapless yearly sequence, e.g. CN-2026-000123.

    The counter row is created once (ON CONFLICT DO NOTHING) and then locked: concurrent
    issuers queue on that row lock, and a rolled-back issue rolls its number back with it, so
    the sequence has neither gaps nor duplicates (no max()+1 race).
    """
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(provider=provider, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(provider=provider, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{provider.country}-{year}-{counter.last_number:06d}"


def _issue(invoice: Invoice, *, acting_user: User | None, invoice_date: dt.date) -> Invoice:
    provider = invoice.provider
    invoice.number = _next_number(provider, invoice_date.year)
    invoice.invoice_date = invoice_date
    invoice.due_date = (
        invoice_date + dt.timedelta(days=provider.payment_term_days)
        if invoice.kind == Invoice.Kind.INVOICE
        else invoice_date
    )
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = _now()
    invoice.issued_by = acting_user
    _h(invoice, acting_user).save()
    return invoice


@transaction.atomic
def invoice_issue(
    *, invoice: Invoice, acting_user: User | None, invoice_date: dt.date | None = None
) -> Invoice:
    """Issue a draft: the next gapless number, totals from the lines, due date (art. 4.1, 4.5).

    "The Client shall pay all invoices without suspension, set-off or deduction within
    fourteen (14) days of the invoice date" (4.5): the due date is the invoice date plus the
    profile's payment term. An issued invoice is never edited; it is voided by a credit note.
    """
    if acting_user is not None:
        _require_billing_staff(acting_user)
    invoice = _lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE:
        raise ApplicationError(
            "A credit note is issued by voiding an invoice or granting a dispute.", field="kind"
        )
    if invoice.status != Invoice.Status.DRAFT:
        raise ApplicationError(
            "Only a draft is issued; an issued invoice is never edited (art. 4.1).", field="status"
        )
    today = _today(invoice.provider)
    invoice_date = today if invoice_date is None else _date(invoice_date, field="invoice_date")
    if invoice_date > today:
        raise ValidationFailed(
            {"invoice_date": ["An invoice is not dated in the future (art. 4.5)."]}, article="4.5"
        )
    _recalculate(invoice)
    if invoice.total <= 0:
        raise ApplicationError(
            "There is nothing to invoice: the total is zero.", field="lines", article="4.1"
        )
    _issue(invoice, acting_user=acting_user, invoice_date=invoice_date)
    client = invoice.client
    notify(
        key=f"invoice-issued:{invoice.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=f"Invoice {invoice.number}",
        body=(
            f"Invoice {invoice.number} of {invoice.invoice_date:%Y-%m-%d}: {invoice.currency} {invoice.total} "
            f"including VAT, due on {invoice.due_date:%Y-%m-%d} (art. 4.5)."
        ),
    )
    return invoice


def _credit_note(
    *,
    invoice: Invoice,
    lines: list[InvoiceLine],
    subtotal: Decimal,
    vat: Decimal,
    acting_user: User | None,
    notes: str,
) -> Invoice:
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
    _h(note, acting_user).save()
    for i, line in enumerate(lines):
        line.pk = None
        line.invoice = note
        line.position = i + 1
    InvoiceLine.objects.bulk_create(lines)
    _issue(note, acting_user=acting_user, invoice_date=_today(invoice.provider))
    notify(
        key=f"credit-note-issued:{note.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=f"Credit note {note.number} for invoice {invoice.number}",
        body=f"Credit note {note.number}: {note.currency} {note.total} including VAT.\n{notes}",
    )
    return note


@transaction.atomic
def invoice_void(*, invoice: Invoice, acting_user: User, reason: str) -> Invoice | None:
    """Void an invoice; an issued one is cancelled by a credit note, never edited (art. 4.1).

    The credit note repeats the invoice's lines with positive amounts (`kind=credit_note`)
    and takes the next number of the same sequence. It only cancels the voided invoice, so
    nothing of it is left to set off elsewhere. An invoice with payments, set-offs, an open
    dispute or an issued fapiao is not voided: settle those first. A draft has no number and
    is simply voided. Returns the credit note (None for a draft).
    """
    _require_billing_staff(acting_user)
    reason = _text(
        reason, field="reason", message="Say why the invoice is voided; the client sees it."
    )
    invoice = _lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE:
        raise ApplicationError("A credit note is not voided.", field="kind")
    if invoice.status == Invoice.Status.VOID:
        raise ApplicationError("This invoice is already void.", field="status")
    now = _now()
    if invoice.status == Invoice.Status.DRAFT:
        invoice.status = Invoice.Status.VOID
        invoice.voided_at, invoice.voided_by, invoice.void_reason = now, acting_user, reason
        _h(invoice, acting_user).save()
        return None
    if (
        invoice.amount_paid > 0
        or invoice.payments.exists()
        or SetOff.objects.filter(invoice=invoice).exists()
    ):
        raise ApplicationError(
            "Payments or set-offs are recorded on this invoice; it cannot be voided.",
            field="status",
        )
    if open_dispute(invoice) is not None:
        raise ApplicationError(
            "Resolve the open dispute first (art. 10.2).", field="status", article="10.2"
        )
    if FapiaoRequest.objects.filter(invoice=invoice, status=FapiaoRequest.Status.ISSUED).exists():
        raise ApplicationError(
            "A fapiao has been issued for this invoice; it must be reversed first (art. 4.8).",
            field="status",
            article="4.8",
        )
    lines = list(invoice.lines.order_by("position", "pk"))
    note = _credit_note(
        invoice=invoice,
        lines=lines,
        subtotal=invoice.subtotal,
        vat=invoice.vat_amount,
        acting_user=acting_user,
        notes=f"Voids invoice {invoice.number}: {reason}",
    )
    invoice.status = Invoice.Status.VOID
    invoice.voided_at, invoice.voided_by, invoice.void_reason = now, acting_user, reason
    _h(invoice, acting_user).save()
    return note


# --- The monthly usage invoice (art. 4.2) --------------------------------------------------
def billing_period(
    provider: Provider, *, period: str | None = None, now: dt.datetime | None = None
):
    """(first day, first day of the next month, start, end) of a calendar-month billing period.

    "The billing period is based on CE(S)T time zone" (4.2): the month's boundaries are local
    midnights in the profile's billing time zone (Europe/Amsterdam). Without `period` it is
    the month before the current one there.
    """
    tz = ZoneInfo(provider.billing_timezone)
    if period:
        if not re.fullmatch(r"\d{4}-\d{2}", period) or not 1 <= int(period[5:]) <= 12:
            raise ValidationFailed({"period": ["Give the period as YYYY-MM."]})
        first = dt.date(int(period[:4]), int(period[5:]), 1)
    else:
        local = (now or _now()).astimezone(tz).date()
        first = add_months(local.replace(day=1), -1)
    following = add_months(first, 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(following, dt.time.min, tzinfo=tz)
    return first, following, start, end


def _price_in_force(prices: list[Price], day: dt.date) -> Price | None:
    current = None
    for price in prices:  # ordered by valid_from
        if price.valid_from <= day:
            current = price
    return current


def _usage_lines(period_label: str, rows, prices_by_channel) -> list[dict]:
    """Lines per channel (and per price in force, when it changes mid-month) (art. 4.2)."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        channel = row["channel"]
        price = _price_in_force(prices_by_channel.get(channel, []), row["day"])
        key = (channel, price.pk if price else None)
        group = groups.setdefault(key, {"price": price, "messages": 0, "amount": ZERO})
        group["messages"] += row["messages"]
        group["amount"] += row["amount"] or ZERO
    labels = dict(UsageRecord.Channel.choices)
    lines = []
    for (channel, _), group in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0], kv[1]["price"].valid_from if kv[1]["price"] else dt.date.min),
    ):
        label = labels.get(channel, channel)
        price = group["price"]
        if price is not None:
            lines.append(
                {
                    "description": f"{label} messages, {period_label}",
                    "channel": channel,
                    "quantity": Decimal(group["messages"]),
                    "unit_price": price.unit_price,
                    "messages": group["messages"],
                }
            )
        else:  # no price on the list: the platform's rating of each message is billed
            lines.append(
                {
                    "description": f"{label}: {group['messages']:,} messages, {period_label}, as rated by the platform",
                    "channel": channel,
                    "quantity": Decimal(1),
                    "unit_price": round_money(group["amount"]),
                    "messages": group["messages"],
                }
            )
    return lines


def invoice_usage(
    *, period: str | None = None, now: dt.datetime | None = None, batch_size: int = 200
) -> dict:
    """Monthly job: invoice each postpaid client's usage of the past calendar month (art. 4.2).

    Usage recorded as postpaid (`UsageRecord.prepaid` false) with `occurred_at` inside the
    month in the billing time zone is grouped by channel; each line is priced from the
    client's price list in force on the local day of the usage (or, for a channel without a
    price, billed at the platform's rating). The invoice is issued at once and covers the
    messages it bills (art. 26.2). Idempotent: `Invoice.source_key` is
    `usage:<client id>:<YYYY-MM>`, so a second run (or a concurrent one) invoices nothing.
    """
    now = now or _now()
    result = {"invoiced": 0, "already_invoiced": 0}
    for provider in Provider.objects.order_by("pk"):
        first, following, start, end = billing_period(provider, period=period, now=now)
        if now < end:
            raise ValidationFailed(
                {"period": ["A billing period is invoiced once it has ended (art. 4.2)."]}
            )
        tz = ZoneInfo(provider.billing_timezone)
        label = f"{first:%Y-%m}"
        for ids in _client_id_batches(provider, batch_size):
            rows = (
                UsageRecord.objects.filter(
                    client_id__in=ids, prepaid=False, occurred_at__gte=start, occurred_at__lt=end
                )
                .annotate(day=TruncDate("occurred_at", tzinfo=tz))
                .values("client_id", "channel", "day")
                .annotate(messages=Sum("message_count"), amount=Sum("amount"))
                .order_by()
            )
            by_client = defaultdict(list)
            for row in rows:
                by_client[row["client_id"]].append(row)
            if not by_client:
                continue
            done = set(
                Invoice.objects.filter(
                    source_key__in=[f"usage:{cid}:{label}" for cid in by_client]
                ).values_list("source_key", flat=True)
            )
            prices = defaultdict(lambda: defaultdict(list))
            for price in Price.objects.filter(
                client_id__in=list(by_client), valid_from__lt=following
            ).order_by("valid_from", "pk"):
                prices[price.client_id][price.channel].append(price)
            for client_id in sorted(by_client):
                key = f"usage:{client_id}:{label}"
                if key in done:
                    result["already_invoiced"] += 1
                    continue
                lines = _usage_lines(label, by_client[client_id], prices[client_id])
                try:
                    with transaction.atomic():
                        client = Client.objects.select_related("provider").get(pk=client_id)
                        draft = invoice_draft(
                            client=client,
                            lines=lines,
                            acting_user=None,
                            notes=f"Usage of {label} (billing period in {provider.billing_timezone}, art. 4.2)",
                            period_start=first,
                            period_end=following - dt.timedelta(days=1),
                            source_key=key,
                        )
                        invoice_issue(
                            invoice=draft, acting_user=None, invoice_date=local_date(provider, now)
                        )
                except IntegrityError:  # invoiced concurrently
                    result["already_invoiced"] += 1
                    continue
                result["invoiced"] += 1
    log.info("invoice_usage: %s", result)
    return result


def invoices_mark_overdue(*, today: dt.date | None = None, batch_size: int = BATCH) -> dict:
    """Job: an invoice not paid by its due date is overdue from the next day (art. 4.5, 4.6).

    Issued, partly paid and disputed invoices past their due date with something due now
    become overdue and get `overdue_since`; a dispute whose withheld part is all that is left
    keeps the invoice disputed (art. 10.2). Walks each provider's candidates by primary key.
    """
    marked = 0
    for provider in Provider.objects.order_by("pk"):
        day = today or _today(provider)
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
                        _h(invoice, None).save()
                        marked += 1
            if len(batch) < batch_size:
                break
            last_pk = batch[-1].pk
    return {"marked_overdue": marked}


# --- Late interest (art. 4.6) --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InterestSpan:
    """Days with the same outstanding amount, rate and year length."""

    first: dt.date
    last: dt.date
    outstanding: Decimal
    annual_rate_pct: Decimal
    year_days: int

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def amount(self) -> Decimal:
        """Unrounded: outstanding × rate × days / days of the year."""
        return self.outstanding * self.annual_rate_pct / HUNDRED * self.days / self.year_days


def interest_spans(*, invoice: Invoice, first: dt.date, last: dt.date) -> list[InterestSpan]:
    """The days from `first` to `last` on which the invoice earns interest, in spans (art. 4.6).

    A day's outstanding amount is the total less payments received on or before it, set-offs
    recorded on or before it (local date) and, while a dispute that may be withheld is open,
    the disputed part (art. 10.2). A rate change, a payment or a new year splits the span.
    """
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return []
    provider = invoice.provider
    payments = list(invoice.payments.values_list("received_on", "amount"))
    set_offs = [
        (_local_day(provider, at), amount)
        for at, amount in SetOff.objects.filter(invoice=invoice).values_list(
            "recorded_at", "amount"
        )
    ]
    withheld = [
        (
            _local_day(provider, d.raised_at),
            _local_day(provider, d.resolved_at) if d.resolved_at else None,
            d.amount,
        )
        for d in Dispute.objects.filter(invoice=invoice, withholdable=True)
    ]
    rates = list(
        InterestRate.objects.filter(provider=provider, valid_from__lte=last)
        .order_by("valid_from")
        .values_list("valid_from", "annual_rate_pct")
    )
    spans: list[InterestSpan] = []
    day = first
    while day <= last:
        paid = sum((a for d, a in payments if d <= day), ZERO) + sum(
            (a for d, a in set_offs if d <= day), ZERO
        )
        held = sum(
            (a for start, end, a in withheld if start <= day and (end is None or day < end)), ZERO
        )
        outstanding = max(invoice.total - paid - held, ZERO)
        if outstanding > 0:
            rate = next((r for since, r in reversed(rates) if since <= day), None)
            if rate is None:
                raise ApplicationError(
                    f"No statutory interest rate is in force on {day:%Y-%m-%d} for {provider.code}; "
                    "staff enter one first (art. 4.6).",
                    field="interest_rate",
                    article="4.6",
                )
            year_days = 366 if calendar.isleap(day.year) else 365
            prev = spans[-1] if spans else None
            if (
                prev is not None
                and prev.last == day - dt.timedelta(days=1)
                and prev.outstanding == outstanding
                and prev.annual_rate_pct == rate
                and prev.year_days == year_days
                and prev.last.year == day.year
            ):
                spans[-1] = InterestSpan(prev.first, day, outstanding, rate, year_days)
            else:
                spans.append(InterestSpan(day, day, outstanding, rate, year_days))
        day += dt.timedelta(days=1)
    return spans


def interest_accrued(*, invoice: Invoice, until: dt.date) -> Decimal:
    """Late interest from the day after the due date up to and including `until` (art. 4.6).

    "In the event that Client fails to pay CM the amounts due within the agreed period,
    statutory commercial interest shall be applied ... on the outstanding amount without any
    requirement from CM to communicate a notice of default." Per day, actual/actual (1/365,
    or 1/366 in a leap year), at the rate in force that day; rounded half-up to cents once.
    """
    if invoice.due_date is None or until <= invoice.due_date:
        return ZERO
    spans = interest_spans(
        invoice=invoice, first=invoice.due_date + dt.timedelta(days=1), last=until
    )
    return round_money(sum((s.amount for s in spans), ZERO))


def _next_draft(client: Client, acting_user: User | None) -> Invoice:
    draft = (
        Invoice.objects.select_for_update()
        .filter(
            client=client, kind=Invoice.Kind.INVOICE, status=Invoice.Status.DRAFT, source_key=None
        )
        .order_by("-pk")
        .first()
    )
    if draft is not None:
        return draft
    vat_rate, reverse_charge = vat_default(client)
    draft = Invoice(
        client=client,
        provider=client.provider,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.DRAFT,
        currency=client.provider.currency,
        reverse_charge=reverse_charge,
        created_by=acting_user,
        notes="Late interest (art. 4.6)",
    )
    _h(draft, acting_user).save()
    return draft


@transaction.atomic
def interest_charge(
    *, client: Client, until: dt.date, acting_user: User | None
) -> list[InterestCharge]:
    """Charge the late interest accrued up to `until` on the client's next draft invoice (art. 4.6).

    Each invoice's charged days follow on from its last `InterestCharge`, so the same days
    are never charged twice; the invoices are locked while this runs. The interest lines carry
    0 % VAT (interest is compensation, not a supply).
    """
    if acting_user is not None:
        _require_billing_staff(acting_user)
    client = Client.objects.select_related("provider").get(pk=client.pk)
    until = _date(until, field="until")
    if until > _today(client.provider):
        raise ValidationFailed(
            {"until": ["Interest is charged for days that have passed (art. 4.6)."]}, article="4.6"
        )
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .select_related("provider", "client")
        .filter(client=client, kind=Invoice.Kind.INVOICE, due_date__lt=until)
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .order_by("pk")
    )
    charges = []
    draft = None
    for invoice in invoices:
        last_charged = InterestCharge.objects.filter(invoice=invoice).aggregate(m=Max("to_date"))[
            "m"
        ]
        first = (last_charged or invoice.due_date) + dt.timedelta(days=1)
        if first > until:
            continue
        spans = interest_spans(invoice=invoice, first=first, last=until)
        amount = round_money(sum((s.amount for s in spans), ZERO))
        if amount <= 0:
            continue
        if draft is None:
            draft = _next_draft(client, acting_user)
        position = (draft.lines.aggregate(m=Max("position"))["m"] or 0) + 1
        line = InvoiceLine.objects.create(
            invoice=draft,
            position=position,
            description=f"Late interest on {invoice.number}, {first:%Y-%m-%d} to {until:%Y-%m-%d} (art. 4.6)",
            quantity=Decimal(1),
            unit_price=amount,
            vat_rate=ZERO,
            amount=amount,
        )
        charges.append(
            InterestCharge.objects.create(
                invoice=invoice,
                from_date=first,
                to_date=until,
                amount=amount,
                currency=invoice.currency,
                charged_on=line,
            )
        )
    if draft is not None:
        _recalculate(draft)
        _h(draft, acting_user).save()
    return charges


@transaction.atomic
def interest_rate_enter(
    *, provider: Provider, valid_from: dt.date, annual_rate_pct, acting_user: User, note: str = ""
) -> InterestRate:
    """Staff keep the dated table of statutory commercial interest rates per profile (art. 4.6)."""
    _require_billing_staff(acting_user)
    valid_from = _date(valid_from, field="valid_from")
    rate = to_decimal(annual_rate_pct, field="annual_rate_pct")
    if rate < 0 or rate >= 1000 or rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed(
            {"annual_rate_pct": ["An annual percentage from 0, with at most 3 decimals."]}
        )
    row = InterestRate.objects.filter(
        provider=provider, valid_from=valid_from
    ).first() or InterestRate(provider=provider, valid_from=valid_from)
    row.annual_rate_pct, row.note = rate, (note or "").strip()[:200]
    _h(row, acting_user).save()
    return row


# --- Payments (art. 4.10) ------------------------------------------------------------------
@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount,
    received_on: dt.date,
    reference: str,
    bank_fee="0",
    idempotency_key: str,
    acting_user: User,
) -> Payment:
    """Record money received against an invoice, in full or in part (art. 4.10).

    "The net amount received by CM shall correspond to the amount invoiced. In this regard,
    the Client remains liable to pay the any shortfall": `amount` is what arrived; the bank
    fee is kept for the record and the shortfall stays owed (partly paid). The invoice is paid
    once paid plus set off reaches its total. The messages it covers are released in
    proportion (art. 26.2), and a client suspended for non-payment resumes once nothing is
    overdue past the grace period any more (art. 7.3). The same idempotency key records once.
    """
    _require_billing_staff(acting_user)
    key = _text(
        idempotency_key,
        field="idempotency_key",
        message="An idempotency key is required (DESIGN.md, Ledger).",
        max_length=200,
    )
    amount = _money(amount, field="amount", article="4.10")
    bank_fee = _money(
        bank_fee if bank_fee is not None else "0", field="bank_fee", allow_zero=True, article="4.10"
    )
    received_on = _date(received_on, field="received_on")
    reference = (reference or "").strip()[:200]
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if (existing.invoice_id, existing.amount, existing.received_on, existing.bank_fee) != (
            invoice.pk,
            amount,
            received_on,
            bank_fee,
        ):
            raise Conflict(
                "This idempotency key was already used for another payment.",
                field="idempotency_key",
            )
        return existing
    invoice = _lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            f"Payments are recorded against issued invoices; this one is {invoice.get_status_display().lower()}.",
            field="invoice",
            article="4.10",
        )
    if received_on > _today(invoice.provider):
        raise ValidationFailed({"received_on": ["A payment is not received in the future."]})
    payment = Payment(
        invoice=invoice,
        amount=amount,
        currency=invoice.currency,
        received_on=received_on,
        reference=reference,
        bank_fee=bank_fee,
        recorded_by=acting_user,
        idempotency_key=key,
    )
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        raise Conflict(
            "This idempotency key was already used for another payment.", field="idempotency_key"
        ) from None
    invoice.amount_paid += amount
    _h(invoice, acting_user).save()
    _after_settlement(invoice, acting_user=acting_user)
    return payment


# --- Deposits (art. 4.7) -------------------------------------------------------------------
def _lock_deposit(deposit: Deposit) -> Deposit:
    return (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=deposit.pk)
    )


@transaction.atomic
def deposit_demand(*, client: Client, amount, acting_user: User, reason: str = "") -> Deposit:
    """CM "is entitled to demand payment of a deposit" (art. 4.7); it earns no interest."""
    _require_billing_staff(acting_user)
    amount = _money(amount, field="amount", article="4.7")
    client = Client.objects.select_related("provider").get(pk=client.pk)
    deposit = Deposit(
        client=client,
        amount=amount,
        currency=client.provider.currency,
        demanded_by=acting_user,
        reason=(reason or "").strip(),
    )
    _h(deposit, acting_user).save()
    notify(
        key=f"deposit-demanded:{deposit.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="A deposit is requested",
        body=f"Please pay a deposit of {deposit.currency} {amount} (art. 4.7). It earns no interest.\n{deposit.reason}",
    )
    return deposit


@transaction.atomic
def deposit_mark_held(*, deposit: Deposit, amount_received, acting_user: User) -> Deposit:
    """Staff record the deposit money received; the deposit is then held (art. 4.7)."""
    _require_billing_staff(acting_user)
    amount = _money(amount_received, field="amount_received", article="4.7")
    deposit = _lock_deposit(deposit)
    if deposit.status == Deposit.Status.SETTLED:
        raise ApplicationError("This deposit has been settled.", field="status", article="4.7")
    deposit.amount_held += amount
    deposit.status = Deposit.Status.HELD
    _h(deposit, acting_user).save()
    return deposit


@transaction.atomic
def deposit_adjust(
    *, deposit: Deposit, amount, acting_user: User, reason: str, amount_held=None
) -> Deposit:
    """ "During the term of the Agreement the deposit may be adjusted after mutual consultation" (art. 4.7).

    Changes the demanded amount (and, when given, what is held, e.g. after money is returned
    or added); the history keeps every version and who made it.
    """
    _require_billing_staff(acting_user)
    reason = _text(
        reason, field="reason", message="Record the consultation behind the adjustment (art. 4.7)."
    )
    amount = _money(amount, field="amount", article="4.7")
    deposit = _lock_deposit(deposit)
    if deposit.status == Deposit.Status.SETTLED:
        raise ApplicationError("A settled deposit is not adjusted.", field="status", article="4.7")
    deposit.amount = amount
    if amount_held is not None:
        held = _money(amount_held, field="amount_held", allow_zero=True, article="4.7")
        if held < SetOff.objects.filter(deposit=deposit).aggregate(s=Sum("amount"))["s"] or ZERO:
            raise ValidationFailed(
                {"amount_held": ["Less than has already been set off."]}, article="4.7"
            )
        deposit.amount_held = held
    deposit.reason = f"{deposit.reason}\n{_now():%Y-%m-%d}: {reason}".strip()
    _h(deposit, acting_user).save()
    return deposit


def deposit_available(deposit: Deposit) -> Decimal:
    """What of a held deposit is left to set off."""
    if deposit.status != Deposit.Status.HELD:
        return ZERO
    used = SetOff.objects.filter(deposit=deposit).aggregate(s=Sum("amount"))["s"] or ZERO
    return max(deposit.amount_held - used, ZERO)


def termination_date(client: Client) -> dt.date | None:
    """The day the client's agreement ended, once it has (art. 15)."""
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None:
        return None
    provider = client.provider
    if agreement.status == Agreement.Status.TERMINATED:
        if agreement.terminated_at:
            return _local_day(provider, agreement.terminated_at)
        return agreement.end_date
    if agreement.end_date and agreement.end_date < _today(provider):
        return agreement.end_date
    return None


@transaction.atomic
def deposit_settle(*, deposit: Deposit, acting_user: User) -> Deposit:
    """On termination, set the deposit off against what is due and refund the rest (art. 4.7).

    "Upon termination of the Agreement the deposit will be refunded to the Client after
    set-off of the deposit against any outstanding amounts then due by the Client to CM. The
    deposit shall be transferred back to the client within two (2) whole calendar months
    following termination." Set off against the client's invoices due now, oldest due first
    (a withheld disputed part is not due, art. 10.2); the refund is due by the termination
    date plus the profile's refund months. No interest (art. 4.7).
    """
    _require_billing_staff(acting_user)
    deposit = _lock_deposit(deposit)
    client = deposit.client
    if deposit.status != Deposit.Status.HELD:
        raise ApplicationError("Only a held deposit is settled.", field="status", article="4.7")
    ended = termination_date(client)
    if ended is None:
        raise ApplicationError(
            "The deposit is settled once the agreement has ended (art. 4.7).",
            field="agreement",
            article="4.7",
        )
    left = deposit_available(deposit)
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .select_related("provider", "client")
        .filter(client=client, kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
        .order_by("due_date", "pk")
    )
    for invoice in invoices:
        if left <= 0:
            break
        due = invoice_due_now(invoice)
        take = min(due, left)
        if take <= 0:
            continue
        SetOff.objects.create(
            client=client,
            source=SetOff.Source.DEPOSIT,
            deposit=deposit,
            invoice=invoice,
            amount=take,
            currency=deposit.currency,
            recorded_by=acting_user,
            idempotency_key=f"deposit-settle:{deposit.pk}:{invoice.pk}",
        )
        left -= take
        _after_settlement(invoice, acting_user=acting_user)
    deposit.status = Deposit.Status.SETTLED
    deposit.refund_amount = left
    deposit.refund_due_by = add_months(ended, client.provider.deposit_refund_months)
    if left == 0:
        deposit.refunded_at = _now()
        deposit.refund_reference = "nothing left to refund after set-off"
    _h(deposit, acting_user).save()
    notify(
        key=f"deposit-settled:{deposit.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="Your deposit has been settled",
        body=(
            f"Deposit held: {deposit.currency} {deposit.amount_held}; set off: {deposit.currency} {deposit.amount_held - left}; "
            f"to be refunded: {deposit.currency} {left}, by {deposit.refund_due_by:%Y-%m-%d} (art. 4.7)."
        ),
    )
    return deposit


@transaction.atomic
def deposit_refund_record(*, deposit: Deposit, reference: str, acting_user: User) -> Deposit:
    """Staff record the refund of a settled deposit (art. 4.7)."""
    _require_billing_staff(acting_user)
    reference = _text(
        reference,
        field="reference",
        message="Give the bank reference of the refund.",
        max_length=200,
    )
    deposit = _lock_deposit(deposit)
    if deposit.status != Deposit.Status.SETTLED:
        raise ApplicationError(
            "Settle the deposit against what is owed first (art. 4.7).",
            field="status",
            article="4.7",
        )
    if deposit.refunded_at is not None:
        raise ApplicationError("The refund is already recorded.", field="refunded_at")
    deposit.refunded_at = _now()
    deposit.refund_reference = reference
    _h(deposit, acting_user).save()
    return deposit


def deposit_refunds_flag(
    *, today: dt.date | None = None, notice_days: int = DEPOSIT_REFUND_NOTICE_DAYS
) -> dict:
    """Job: tell billing staff of deposit refunds coming due and overdue, once each (art. 4.7)."""
    result = {"coming_due": 0, "overdue": 0}
    now = _now()
    for provider in Provider.objects.order_by("pk"):
        day = today or _today(provider)
        base = Deposit.objects.filter(
            client__provider=provider,
            status=Deposit.Status.SETTLED,
            refunded_at=None,
            refund_due_by__isnull=False,
        )
        for kind, qs, field in (
            (
                "overdue",
                base.filter(refund_due_by__lt=day, flagged_overdue_at=None),
                "flagged_overdue_at",
            ),
            (
                "coming_due",
                base.filter(
                    refund_due_by__gte=day,
                    refund_due_by__lte=day + dt.timedelta(days=notice_days),
                    flagged_due_at=None,
                ),
                "flagged_due_at",
            ),
        ):
            for deposit in qs.select_related("client").order_by("pk")[:BATCH]:
                with transaction.atomic():
                    if not Deposit.objects.filter(pk=deposit.pk, **{field: None}).update(
                        **{field: now}
                    ):
                        continue  # another run claimed it
                    notify(
                        key=f"deposit-refund-{kind}:{deposit.pk}",
                        client=deposit.client,
                        recipients=staff_emails(User.Role.BILLING_STAFF),
                        subject=f"Deposit refund {'overdue' if kind == 'overdue' else 'coming due'}: {deposit.client.legal_name}",
                        body=f"Refund {deposit.currency} {deposit.refund_amount} by {deposit.refund_due_by:%Y-%m-%d} (art. 4.7).",
                    )
                    result[kind] += 1
    return result


# --- Set-off (art. 9.1-9.2) ----------------------------------------------------------------
def restitution_available(restitution: RestitutionRequest) -> Decimal:
    if restitution.status != RestitutionRequest.Status.APPROVED or not restitution.amount:
        return ZERO
    used = SetOff.objects.filter(restitution=restitution).aggregate(s=Sum("amount"))["s"] or ZERO
    return max(restitution.amount - used, ZERO)


def credit_note_available(note: Invoice) -> Decimal:
    """What of a credit note is left to set off; a note that voids an invoice only cancels it."""
    if note.kind != Invoice.Kind.CREDIT_NOTE or note.status == Invoice.Status.VOID:
        return ZERO
    if not Dispute.objects.filter(credit_note=note).exists():
        return ZERO
    used = SetOff.objects.filter(credit_note=note).aggregate(s=Sum("amount"))["s"] or ZERO
    return max(note.total - used, ZERO)


@transaction.atomic
def set_off_record(
    *,
    client: Client,
    source: str,
    source_obj,
    invoice: Invoice,
    amount,
    acting_user: User,
    idempotency_key: str,
) -> SetOff:
    """Set off what the provider owes the client against what the client owes (art. 9.1-9.2).

    "CM is entitled to set off the amounts the Client owes to CM against the amounts CM owes
    to the Client" (9.1), "regardless of the Agreement from which the payment obligations in
    question derive" (9.2). The source is a held deposit, an approved restitution or a credit
    note granted on a dispute; the target any open invoice of the client. Never more than the
    source has left or the invoice still owes. Recorded once as a `SetOff` row, which both the
    source and the invoice show, and which the client sees (selectors).
    """
    _require_billing_staff(acting_user)
    key = _text(
        idempotency_key,
        field="idempotency_key",
        message="An idempotency key is required (DESIGN.md, Ledger).",
        max_length=200,
    )
    amount = _money(amount, field="amount", article="9.1")
    if source not in SetOff.Source.values:
        raise ValidationFailed(
            {"source": [f"The source is one of {', '.join(SetOff.Source.values)} (art. 9.1)."]},
            article="9.1",
        )
    existing = SetOff.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if (existing.invoice_id, existing.amount, existing.source) != (invoice.pk, amount, source):
            raise Conflict(
                "This idempotency key was already used for another set-off.",
                field="idempotency_key",
            )
        return existing
    if source == SetOff.Source.DEPOSIT:
        if not isinstance(source_obj, Deposit):
            raise ValidationFailed({"source_obj": ["Give the deposit."]})
        source_obj = Deposit.objects.select_for_update().get(pk=source_obj.pk)
        available = deposit_available(source_obj)
        link = {"deposit": source_obj}
    elif source == SetOff.Source.RESTITUTION:
        if not isinstance(source_obj, RestitutionRequest):
            raise ValidationFailed({"source_obj": ["Give the restitution request."]})
        source_obj = RestitutionRequest.objects.select_for_update().get(pk=source_obj.pk)
        if source_obj.status != RestitutionRequest.Status.APPROVED:
            raise ApplicationError(
                "Only an approved restitution is set off (art. 9.1, 29.6).",
                field="source_obj",
                article="9.1",
            )
        available = restitution_available(source_obj)
        link = {"restitution": source_obj}
    else:
        if not isinstance(source_obj, Invoice):
            raise ValidationFailed({"source_obj": ["Give the credit note."]})
        source_obj = Invoice.objects.select_for_update().get(pk=source_obj.pk)
        if source_obj.kind != Invoice.Kind.CREDIT_NOTE:
            raise ValidationFailed(
                {"source_obj": ["Only a credit note is set off against an invoice (art. 9.1)."]},
                article="9.1",
            )
        available = credit_note_available(source_obj)
        link = {"credit_note": source_obj}
    if source_obj.client_id != client.pk:
        raise NotAllowed("The source belongs to another client.", field="source_obj", article="9.1")
    invoice = _lock_invoice(invoice)
    if invoice.client_id != client.pk:
        raise NotAllowed("The invoice belongs to another client.", field="invoice", article="9.2")
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            "A set-off goes against an open invoice of the client.", field="invoice", article="9.1"
        )
    if invoice.currency != source_obj.currency:
        raise ApplicationError(
            "The source and the invoice are in different currencies.",
            field="source_obj",
            article="9.1",
        )
    owed = invoice_outstanding(invoice)
    if amount > available:
        raise ValidationFailed(
            {
                "amount": [
                    f"The {source.replace('_', ' ')} has {invoice.currency} {available} left to set off (art. 9.1)."
                ]
            },
            article="9.1",
        )
    if amount > owed:
        raise ValidationFailed(
            {
                "amount": [
                    f"Invoice {invoice.number} still owes {invoice.currency} {owed}; no more is set off (art. 9.1)."
                ]
            },
            article="9.1",
        )
    set_off = SetOff(
        client=client,
        source=source,
        invoice=invoice,
        amount=amount,
        currency=invoice.currency,
        recorded_by=acting_user,
        idempotency_key=key,
        **link,
    )
    try:
        with transaction.atomic():
            set_off.save()
    except IntegrityError:
        raise Conflict(
            "This idempotency key was already used for another set-off.", field="idempotency_key"
        ) from None
    _after_settlement(invoice, acting_user=acting_user)
    notify(
        key=f"set-off:{set_off.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=f"Set-off against invoice {invoice.number}",
        body=f"{set_off.currency} {amount} from your {set_off.get_source_display().lower()} was set off against invoice {invoice.number} (art. 9.1).",
    )
    return set_off


# --- Fapiao (art. 4.8) ---------------------------------------------------------------------
DIGITAL_KINDS = (FapiaoRequest.Kind.DIGITAL_SPECIAL, FapiaoRequest.Kind.DIGITAL_GENERAL)
SPECIAL_KINDS = (FapiaoRequest.Kind.DIGITAL_SPECIAL, FapiaoRequest.Kind.PAPER_SPECIAL)


def _require_fapiao(provider: Provider) -> None:
    if not provider.fapiao_enabled:
        raise ApplicationError(
            f"{provider.name} does not issue fapiao; its invoices are VAT invoices (art. 4.8).",
            field="invoice",
            article="4.8",
        )


@transaction.atomic
def fapiao_confirm(*, invoice: Invoice, acting_user: User) -> FapiaoRequest:
    """The client confirms an issued invoice in writing; the fapiao is due 7 days later (art. 4.8).

    "CM will send invoice to client, and then provide Fapiao to client within seven (7) days
    upon receipt of written confirmation from the client." Only a client admin confirms,
    and only under a profile with fapiao.
    """
    invoice = _lock_invoice(invoice)
    _require_fapiao(invoice.provider)
    _require_client_admin(acting_user, invoice.client, "4.8")
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        raise ApplicationError(
            "Only an issued invoice is confirmed for a fapiao (art. 4.8).",
            field="invoice",
            article="4.8",
        )
    if FapiaoRequest.objects.filter(invoice=invoice).exists():
        raise Conflict(
            "This invoice has already been confirmed for a fapiao.", field="invoice", article="4.8"
        )
    now = _now()
    request = FapiaoRequest(
        invoice=invoice,
        confirmed_by=acting_user,
        confirmed_at=now,
        due_at=now + dt.timedelta(days=invoice.provider.fapiao_due_days),
    )
    _h(request, acting_user).save()
    notify(
        key=f"fapiao-requested:{request.pk}",
        client=invoice.client,
        recipients=staff_emails(User.Role.BILLING_STAFF),
        subject=f"Fapiao requested for {invoice.number}",
        body=f"{invoice.client.legal_name} confirmed invoice {invoice.number}; the fapiao is due by {request.due_at:%Y-%m-%d %H:%M} UTC (art. 4.8).",
    )
    return request


@transaction.atomic
def fapiao_issue(
    *,
    request: FapiaoRequest,
    acting_user: User,
    kind: str,
    number: str,
    code: str = "",
    issue_date: dt.date,
    buyer_name: str,
    buyer_tax_id: str,
    buyer_address: str = "",
    buyer_phone: str = "",
    buyer_bank: str = "",
    buyer_account: str = "",
    amount_excl_tax,
    tax_rate=None,
    tax_amount,
    total,
) -> FapiaoRequest:
    """Staff record the fapiao issued for a confirmed invoice, its format checked (art. 4.8).

    A fully digital fapiao (数电票, special or general) has a 20-digit number and no code; a
    paper one a 10- or 12-digit code and an 8-digit number. The buyer's taxpayer ID is a valid
    Unified Social Credit Code; a special VAT fapiao also carries the buyer's address, phone,
    bank and account. The tax rate is the profile's (6 % for value-added telecom services) unless
    given; tax = round(amount × rate) half-up and total = amount + tax; the amount excluding
    tax is the invoice's subtotal.
    """
    _require_billing_staff(acting_user)
    request = (
        FapiaoRequest.objects.select_for_update(of=("self",))
        .select_related("invoice__provider", "invoice__client")
        .get(pk=request.pk)
    )
    invoice = request.invoice
    _require_fapiao(invoice.provider)
    if request.status != FapiaoRequest.Status.REQUESTED:
        raise ApplicationError(
            "The fapiao for this invoice has already been issued.", field="status", article="4.8"
        )
    errors: dict[str, list[str]] = {}
    if kind not in FapiaoRequest.Kind.values:
        raise ValidationFailed(
            {"kind": [f"The kind is one of {', '.join(FapiaoRequest.Kind.values)}."]}, article="4.8"
        )
    number = (number or "").strip()
    code = (code or "").strip()
    if kind in DIGITAL_KINDS:
        if not re.fullmatch(r"\d{20}", number):
            errors["fapiao_number"] = ["A fully digital fapiao number has exactly 20 digits."]
        if code:
            errors["fapiao_code"] = ["A fully digital fapiao has no separate code."]
    else:
        if not re.fullmatch(r"\d{10}|\d{12}", code):
            errors["fapiao_code"] = ["A paper fapiao code has 10 or 12 digits."]
        if not re.fullmatch(r"\d{8}", number):
            errors["fapiao_number"] = ["A paper fapiao number has 8 digits."]
    issue_date = _date(issue_date, field="issue_date")
    if issue_date > _today(invoice.provider):
        errors["issue_date"] = ["A fapiao is not dated in the future."]
    if not (buyer_name or "").strip():
        errors["buyer_name"] = ["Give the buyer's name."]
    tax_id = (buyer_tax_id or "").strip().upper()
    if not uscc.is_valid(tax_id):
        errors["buyer_tax_id"] = [
            "The buyer's taxpayer ID is not a valid Unified Social Credit Code."
        ]
    buyer = {
        "buyer_address": buyer_address,
        "buyer_phone": buyer_phone,
        "buyer_bank": buyer_bank,
        "buyer_account": buyer_account,
    }
    buyer = {k: (v or "").strip() for k, v in buyer.items()}
    if kind in SPECIAL_KINDS:
        for field_name, value in buyer.items():
            if not value:
                errors[field_name] = [
                    "A special VAT fapiao carries the buyer's address, phone, bank and account."
                ]
    amount = _money(amount_excl_tax, field="amount_excl_tax", article="4.8")
    rate = (
        invoice.provider.default_vat_rate
        if tax_rate is None
        else to_decimal(tax_rate, field="tax_rate")
    )
    tax = _money(tax_amount, field="tax_amount", allow_zero=True, article="4.8")
    gross = _money(total, field="total", article="4.8")
    if amount != invoice.subtotal:
        errors["amount_excl_tax"] = [
            f"The fapiao covers the invoice: {invoice.currency} {invoice.subtotal} excluding tax."
        ]
    if tax != round_money(amount * rate / HUNDRED):
        errors["tax_amount"] = [
            f"Tax at {rate} % of {amount} is {round_money(amount * rate / HUNDRED)}."
        ]
    if gross != amount + tax:
        errors["total"] = [f"The total is the amount plus tax: {amount + tax}."]
    duplicate = FapiaoRequest.objects.filter(
        fapiao_code=code, fapiao_number=number, status=FapiaoRequest.Status.ISSUED
    )
    if number and duplicate.exclude(pk=request.pk).exists():
        errors["fapiao_number"] = ["A fapiao with this code and number is already recorded."]
    if errors:
        raise ValidationFailed(errors, article="4.8")
    request.kind, request.fapiao_number, request.fapiao_code = kind, number, code
    request.issue_date, request.buyer_name, request.buyer_tax_id = (
        issue_date,
        buyer_name.strip(),
        tax_id,
    )
    for field_name, value in buyer.items():
        setattr(request, field_name, value)
    request.amount_excl_tax, request.tax_rate, request.tax_amount, request.total = (
        amount,
        rate,
        tax,
        gross,
    )
    request.status = FapiaoRequest.Status.ISSUED
    request.issued_by, request.issued_at = acting_user, _now()
    _h(request, acting_user).save()
    notify(
        key=f"fapiao-issued:{request.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=f"Fapiao for invoice {invoice.number}",
        body=f"{request.get_kind_display()} {code} {number} of {issue_date:%Y-%m-%d}: {invoice.currency} {gross} (art. 4.8).",
    )
    return request


def fapiao_overdue_flag(*, now: dt.datetime | None = None) -> dict:
    """Job: flag fapiao requests past their 7-day deadline to billing staff, once each (art. 4.8)."""
    now = now or _now()
    flagged = 0
    while True:
        batch = list(
            FapiaoRequest.objects.filter(
                status=FapiaoRequest.Status.REQUESTED, due_at__lt=now, overdue_flagged_at=None
            )
            .select_related("invoice__client")
            .order_by("pk")[:BATCH]
        )
        for request in batch:
            with transaction.atomic():
                if not FapiaoRequest.objects.filter(pk=request.pk, overdue_flagged_at=None).update(
                    overdue_flagged_at=now
                ):
                    continue
                notify(
                    key=f"fapiao-overdue:{request.pk}",
                    client=request.invoice.client,
                    recipients=staff_emails(User.Role.BILLING_STAFF),
                    subject=f"Fapiao overdue for {request.invoice.number}",
                    body=f"The fapiao was due by {request.due_at:%Y-%m-%d %H:%M} UTC (art. 4.8).",
                )
                flagged += 1
        if len(batch) < BATCH:
            return {"flagged": flagged}


# --- Disputes (art. 10.1-10.2; CXENGAGE art. 10) -------------------------------------------
@dataclass(frozen=True, slots=True)
class RateInForce:
    """The exchange rate `convert` used: the row, and whether it was quoted the other way round."""

    row: ExchangeRate
    inverse: bool

    def __str__(self) -> str:
        rate = f"{self.row.rate.normalize():f}"
        return f"1 {self.row.base_currency} = {rate} {self.row.quote_currency} from {self.row.valid_from:%Y-%m-%d}"


def rate_in_force(*, from_currency: str, to_currency: str, on: dt.date) -> RateInForce | None:
    """The exchange rate in force on `on` for converting `from_currency` into `to_currency`.

    In force means the row with the latest `valid_from` on or before that day. The pair may be
    kept either way round (EUR→USD, or USD→EUR used as 1 / rate); when both exist, the one that
    took effect later wins, and on the same day the direct pair wins. None when none is known.
    """
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    found = []
    for base, quote, inverse in (
        (from_currency, to_currency, False),
        (to_currency, from_currency, True),
    ):
        row = (
            ExchangeRate.objects.filter(
                base_currency=base, quote_currency=quote, valid_from__lte=on
            )
            .order_by("-valid_from")
            .first()
        )
        if row is not None:
            found.append(RateInForce(row=row, inverse=inverse))
    if not found:
        return None
    return max(found, key=lambda r: (r.row.valid_from, not r.inverse))


def convert(
    *, amount: Decimal, from_currency: str, to_currency: str, on: dt.date
) -> Decimal | None:
    """`amount` in `from_currency` expressed in `to_currency` at the rate in force on `on`
    (`rate_in_force`), rounded once to cents half-up (`money.apply_rate`); the same currency
    gives the amount back, rounded the same way. None when no rate is known for that day:
    the caller decides what that means, nothing is ever compared across currencies."""
    if from_currency.upper() == to_currency.upper():
        return round_money(amount)
    rate = rate_in_force(from_currency=from_currency, to_currency=to_currency, on=on)
    if rate is None:
        return None
    return apply_rate(amount, rate.row.rate, inverse=rate.inverse)


def dispute_admissibility(
    *, invoice: Invoice, amount: Decimal, on: dt.date | None = None
) -> tuple[bool, str]:
    """Whether a disputed amount is admissible under the profile (CX 10); (ok, text).

    CXENGAGE: "Disputes are allowed only for amounts exceeding €150 and 3% of the invoice
    total" — both, strictly above. cm-cn has no minimum (null fields).

    The minimum is kept in `dispute_min_amount_currency` (EUR for cxengage-nl) and the invoice
    is in the provider's currency (USD). "Disputes are allowed only for amounts exceeding €150"
    is a condition on the dispute, so the minimum is converted into the invoice's currency at
    the exchange rate in force on the DISPUTE day (`on`, the profile's local date when the
    client raises it; default today), not the invoice date, and rounded to cents (`convert`).
    The disputed amount must exceed that converted minimum (as a money amount it is in whole
    cents, so where the exact equivalent ends in half a cent or more it rounds up, e.g. at
    USD→EUR 0.92 the minimum is USD 163.04 for the exact 163.0434…).

    When no rate is in force that day the minimum cannot be checked. The dispute is then
    decided in the client's favour on the amount (the 3 % share is still checked): ok is True
    and the text says that the minimum was not checked, so that the dispute records it for
    staff. Otherwise the text is empty when ok and the reason when not.
    """
    provider = invoice.provider
    note = how = ""
    if provider.dispute_min_amount is not None:
        min_currency = provider.dispute_min_amount_currency or invoice.currency
        day = on or _today(provider)
        if min_currency.upper() == invoice.currency.upper():
            minimum = round_money(provider.dispute_min_amount)
        else:
            rate = rate_in_force(from_currency=min_currency, to_currency=invoice.currency, on=day)
            if rate is None:
                minimum = None
                note = (
                    f"The minimum of {min_currency} {provider.dispute_min_amount} (art. 10) was not checked: no "
                    f"{min_currency}/{invoice.currency} exchange rate is in force on {day:%Y-%m-%d}, so the "
                    "dispute was admitted on the amount in the client's favour."
                )
            else:
                minimum = apply_rate(
                    provider.dispute_min_amount, rate.row.rate, inverse=rate.inverse
                )
                how = f" ({invoice.currency} {minimum} at {rate}, in force on {day:%Y-%m-%d})"
        if minimum is not None and amount <= minimum:
            return False, (
                f"A dispute is admissible only for an amount exceeding {min_currency} "
                f"{provider.dispute_min_amount}{how} (art. 10)."
            )
    if (
        provider.dispute_min_pct is not None
        and amount * HUNDRED <= invoice.total * provider.dispute_min_pct
    ):
        return False, (
            f"A dispute is admissible only for an amount exceeding {provider.dispute_min_pct} % of the invoice total "
            f"({invoice.currency} {invoice.total}) (art. 10)."
        )
    return True, note


def dispute_withholdable(*, invoice: Invoice, amount: Decimal) -> bool:
    """ "The Client will only be entitled to suspend payment of the disputed part of the invoice,
    if the amount disputed by the Client exceeds 5% of the total amount of the invoice in
    question (excluding VAT)" (art. 10.2) — strictly above the profile's share of the subtotal."""
    return amount * HUNDRED > invoice.subtotal * invoice.provider.dispute_withhold_threshold_pct


def escalation_available_at(invoice: Invoice) -> dt.datetime:
    """The close of business of the 20th working day after the due date (art. 10.2), on the
    profile's working-day calendar."""
    provider = invoice.provider
    return workdays.add_working_days(
        local_midnight(provider, invoice.due_date),
        provider.dispute_escalation_working_days,
        provider,
    )


@transaction.atomic
def dispute_raise(*, invoice: Invoice, amount, reason: str, acting_user: User) -> Dispute:
    """A client admin disputes an invoice with a motivated complaint within its payment term (art. 10.1).

    "If the Client disputes the accuracy of an invoice sent by CM, Client will provide a
    motivated complaint within the payment term applicable to the invoice in question by
    written notice to CM." Admissibility follows the profile (CX 10, see
    `dispute_admissibility`); whether the disputed part may be withheld follows art. 10.2.
    """
    invoice = _lock_invoice(invoice)
    _require_client_admin(acting_user, invoice.client, "10.1")
    reason = _text(
        reason,
        field="reason",
        message="A dispute needs a motivated complaint: say what is wrong (art. 10.1).",
    )
    amount = _money(amount, field="amount", article="10.1")
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            "Only an issued, unpaid invoice is disputed (art. 10.1).",
            field="invoice",
            article="10.1",
        )
    today = _today(invoice.provider)
    if today > invoice.due_date:
        raise ApplicationError(
            f"The payment term of invoice {invoice.number} ended on {invoice.due_date:%Y-%m-%d}; a dispute must be "
            "raised within the payment term (art. 10.1).",
            field="invoice",
            article="10.1",
        )
    if amount > invoice.total:
        raise ValidationFailed(
            {"amount": [f"More than the invoice total ({invoice.currency} {invoice.total})."]},
            article="10.1",
        )
    ok, why = dispute_admissibility(invoice=invoice, amount=amount, on=today)
    if not ok:
        raise ValidationFailed({"amount": [why]}, article="10")
    if why:
        log.warning("dispute on invoice %s admitted unchecked: %s", invoice.number, why)
    if open_dispute(invoice) is not None:
        raise Conflict("This invoice already has an open dispute.", field="invoice", article="10.1")
    dispute = Dispute(
        invoice=invoice,
        raised_by=acting_user,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        withholdable=dispute_withholdable(invoice=invoice, amount=amount),
        admissibility_note=why,
        escalation_available_at=escalation_available_at(invoice),
    )
    try:
        with transaction.atomic():
            _h(dispute, acting_user).save()
    except IntegrityError:
        raise Conflict(
            "This invoice already has an open dispute.", field="invoice", article="10.1"
        ) from None
    if invoice.status != Invoice.Status.PAID:
        invoice.status = Invoice.Status.DISPUTED
        _h(invoice, acting_user).save()
    withheld = (
        f"You may withhold the disputed {invoice.currency} {amount} until it is resolved; the rest stays due (art. 10.2)."
        if dispute.withholdable
        else f"The disputed amount does not exceed {invoice.provider.dispute_withhold_threshold_pct} % of the total "
        "excluding VAT, so the whole invoice stays due (art. 10.2)."
    )
    notify(
        key=f"dispute-raised:{dispute.pk}",
        client=invoice.client,
        recipients=staff_emails(User.Role.BILLING_STAFF) + client_admin_emails(invoice.client),
        subject=f"Invoice {invoice.number} disputed",
        body=f"{invoice.currency} {amount} disputed: {reason}\n{withheld}"
        + (f"\n{why}" if why else ""),
    )
    return dispute


def disputes_escalation_flag(*, now: dt.datetime | None = None) -> dict:
    """Job: tell staff and the client once an unresolved dispute may go to an external expert (art. 10.2)."""
    now = now or _now()
    flagged = 0
    while True:
        batch = list(
            Dispute.objects.filter(
                status=Dispute.Status.OPEN,
                escalation_available_at__lte=now,
                escalation_flagged_at=None,
            )
            .select_related("invoice__client")
            .order_by("pk")[:BATCH]
        )
        for dispute in batch:
            with transaction.atomic():
                if not Dispute.objects.filter(pk=dispute.pk, escalation_flagged_at=None).update(
                    escalation_flagged_at=now
                ):
                    continue
                client = dispute.invoice.client
                notify(
                    key=f"dispute-escalation:{dispute.pk}",
                    client=client,
                    recipients=staff_emails(User.Role.BILLING_STAFF) + client_admin_emails(client),
                    subject=f"Dispute on {dispute.invoice.number} may be escalated",
                    body="The dispute is unresolved 20 working days after the due date; the parties may submit it to an "
                    "external expert appointed in mutual consultation, agreeing on the costs (art. 10.2).",
                )
                flagged += 1
        if len(batch) < BATCH:
            return {"flagged": flagged}


def _lock_dispute(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("invoice__provider", "invoice__client")
        .get(pk=dispute.pk)
    )


@transaction.atomic
def dispute_escalate(
    *, dispute: Dispute, expert_name: str, cost_agreement: str, acting_user: User
) -> Dispute:
    """Record the external expert and the agreement on costs (art. 10.2), no earlier than 20
    working days after the invoice's due date."""
    _require_billing_staff(acting_user)
    expert_name = _text(
        expert_name,
        field="expert_name",
        message="Name the external expert appointed in mutual consultation (art. 10.2).",
        max_length=200,
    )
    cost_agreement = _text(
        cost_agreement,
        field="cost_agreement",
        message="Record the agreement on the expert's costs (art. 10.2).",
    )
    dispute = _lock_dispute(dispute)
    if dispute.status != Dispute.Status.OPEN:
        raise ApplicationError("Only an open dispute is escalated.", field="status", article="10.2")
    if _now() < dispute.escalation_available_at:
        raise ApplicationError(
            f"A dispute may go to an external expert only if unresolved 20 working days after the due date, i.e. from "
            f"{dispute.escalation_available_at.astimezone(ZoneInfo(dispute.invoice.provider.timezone)):%Y-%m-%d %H:%M} (art. 10.2).",
            field="status",
            article="10.2",
        )
    dispute.expert_name, dispute.expert_cost_agreement = expert_name, cost_agreement
    dispute.status, dispute.escalated_at = Dispute.Status.ESCALATED, _now()
    _h(dispute, acting_user).save()
    return dispute


def _grant_lines(invoice: Invoice, granted: Decimal) -> tuple[list[InvoiceLine], Decimal, Decimal]:
    """Credit-note lines for a granted amount including VAT, split over the invoice's VAT rates.

    Each rate gets its share of the granted amount by its share of the invoice total; the base
    is the share less VAT at that rate, and the VAT is what remains, so the credit note's total
    is exactly the granted amount.
    """
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in invoice.lines.all():
        by_rate[Decimal(line.vat_rate)] += line.amount
    rates = sorted(by_rate)
    gross = {r: by_rate[r] + round_money(by_rate[r] * r / HUNDRED) for r in rates}
    gross_total = sum(gross.values(), ZERO)
    lines, subtotal, vat, left = [], ZERO, ZERO, granted
    for i, rate in enumerate(rates):
        share = left if i == len(rates) - 1 else round_money(granted * gross[rate] / gross_total)
        left -= share
        base = round_money(share * HUNDRED / (HUNDRED + rate))
        subtotal += base
        vat += share - base
        lines.append(
            InvoiceLine(
                description=f"Credit granted on dispute of invoice {invoice.number}",
                quantity=Decimal(1),
                unit_price=base,
                vat_rate=rate,
                amount=base,
            )
        )
    return lines, subtotal, vat


@transaction.atomic
def dispute_resolve(
    *, dispute: Dispute, granted_amount, resolution: str, acting_user: User
) -> Dispute:
    """Resolve a dispute: a credit note for what is granted, or a rejection with reasons (art. 10.2).

    The granted amount is on the same footing as the disputed one (including VAT), at most the
    disputed amount. Its credit note is set off at once against what the invoice still owes;
    anything left of it (the invoice was already paid) stays available for set-off (art. 9.1).
    A rejection makes the withheld part due again.
    """
    _require_billing_staff(acting_user)
    resolution = _text(
        resolution,
        field="resolution",
        message="Give the reasons for the resolution; the client sees them (art. 10.2).",
    )
    granted = _money(granted_amount, field="granted_amount", allow_zero=True, article="10.2")
    dispute = _lock_dispute(dispute)
    invoice = _lock_invoice(dispute.invoice)
    if dispute.status not in OPEN_DISPUTE_STATUSES:
        raise ApplicationError(
            "This dispute has already been resolved.", field="status", article="10.2"
        )
    if granted > dispute.amount:
        raise ValidationFailed(
            {"granted_amount": [f"At most the disputed {dispute.currency} {dispute.amount}."]},
            article="10.2",
        )
    now = _now()
    dispute.resolution, dispute.resolved_at, dispute.resolved_by = resolution, now, acting_user
    dispute.granted_amount = granted
    if granted > 0:
        lines, subtotal, vat = _grant_lines(invoice, granted)
        note = _credit_note(
            invoice=invoice,
            lines=lines,
            subtotal=subtotal,
            vat=vat,
            acting_user=acting_user,
            notes=f"Dispute {dispute.pk} on invoice {invoice.number}: {resolution}",
        )
        dispute.credit_note = note
        dispute.status = Dispute.Status.GRANTED
    else:
        dispute.status = Dispute.Status.REJECTED
    _h(dispute, acting_user).save()
    if granted > 0:
        take = min(granted, invoice_outstanding(invoice))
        if take > 0 and invoice.status in OPEN_STATUSES:
            SetOff.objects.create(
                client=invoice.client,
                source=SetOff.Source.CREDIT_NOTE,
                credit_note=dispute.credit_note,
                invoice=invoice,
                amount=take,
                currency=invoice.currency,
                recorded_by=acting_user,
                idempotency_key=f"dispute-grant:{dispute.pk}",
            )
    _after_settlement(invoice, acting_user=acting_user)
    notify(
        key=f"dispute-resolved:{dispute.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=f"Dispute on invoice {invoice.number} {'granted' if granted > 0 else 'rejected'}",
        body=(
            f"Granted: {invoice.currency} {granted}, by credit note {dispute.credit_note.number}.\n"
            if granted > 0
            else "Rejected.\n"
        )
        + resolution,
    )
    return dispute


# --- Suspension for non-payment (art. 7.1-7.3) ---------------------------------------------
def suspend_for_non_payment(*, today: dt.date | None = None, batch_size: int = BATCH) -> dict:
    """Job: suspend a client with an invoice overdue by the profile's grace period (art. 7.1).

    "If the Client acts contrary to ... the obligation to pay the amounts due to CM within the
    agreed payment term, CM is entitled to suspend provision of the Service"; the client
    stays liable meanwhile (7.2) and is told (client_suspend). Idempotent: a client already
    suspended for non-payment is left alone, and each crossing of the grace line (keyed by the
    newest invoice to cross it) suspends once, so a client that staff resumed by hand is not
    suspended again for the same invoices. Payment resumes it (payment_record, art. 7.3).
    """
    suspended = 0
    for provider in Provider.objects.order_by("pk"):
        day = today or _today(provider)
        cutoff = day - dt.timedelta(days=provider.overdue_suspension_grace_days)
        open_suspension = Suspension.objects.filter(
            client_id=OuterRef("client_id"), cause=Suspension.Cause.NON_PAYMENT, ended_at=None
        )
        candidates = (
            Invoice.objects.filter(
                provider=provider,
                kind=Invoice.Kind.INVOICE,
                status__in=OPEN_STATUSES,
                due_date__lte=cutoff,
            )
            .exclude(Exists(open_suspension))
            .values_list("client_id", flat=True)
            .distinct()
            .order_by("client_id")
        )
        client_ids, last_id = [], 0
        while True:  # keyset over client ids, in bounded batches
            batch = list(candidates.filter(client_id__gt=last_id)[:batch_size])
            client_ids += batch
            if len(batch) < batch_size:
                break
            last_id = batch[-1]
        for client_id in client_ids:
            with transaction.atomic():
                client = (
                    Client.objects.select_for_update(of=("self",))
                    .select_related("provider")
                    .get(pk=client_id)
                )
                if Suspension.objects.filter(
                    client=client, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
                ).exists():
                    continue
                overdue = _suspendable_overdue(client, today=day)
                if not overdue:
                    continue
                newest = overdue[-1]
                claimed = notify(
                    key=f"non-payment-suspension:{client.pk}:{newest.pk}",
                    client=client,
                    recipients=staff_emails(User.Role.BILLING_STAFF),
                    subject=f"Suspended for non-payment: {client.legal_name}",
                    body=", ".join(inv.number for inv in overdue)
                    + " overdue beyond the grace period (art. 7.1).",
                )
                if not claimed:
                    continue
                account_services.client_suspend(
                    client=client,
                    cause=Suspension.Cause.NON_PAYMENT,
                    acting_user=None,
                    reason=(
                        f"Invoice {newest.number}, due on {newest.due_date:%Y-%m-%d}, is unpaid "
                        f"{(day - newest.due_date).days} days after its due date (art. 7.1). You remain liable "
                        "for payment (art. 7.2); paying it resumes the service (art. 7.3)."
                    ),
                )
                suspended += 1
    return {"suspended": suspended}


# --- Prices (art. 4.2-4.3, 4.11) -----------------------------------------------------------
@transaction.atomic
def price_set(
    *,
    client: Client,
    channel: str,
    unit_price,
    valid_from: dt.date,
    acting_user: User,
    fixed: bool = False,
    agreement_reference: str = "",
) -> Price:
    """Set a client's price per message on a channel from a day (art. 4.2, 4.3).

    "If a fixed price has been expressly agreed ... CM is only entitled to change the agreed
    fixed price(s) after written agreement by the Client" (4.3): replacing a fixed price, and
    agreeing a new one, both need the reference of that written agreement.
    """
    _require_billing_staff(acting_user)
    if channel not in UsageRecord.Channel.values:
        raise ValidationFailed(
            {"channel": [f"The channel is one of {', '.join(UsageRecord.Channel.values)}."]}
        )
    price_value = to_decimal(unit_price, field="unit_price")
    if (
        price_value < 0
        or price_value != round_unit_price(price_value)
        or price_value >= Decimal("1e8")
    ):
        raise ValidationFailed(
            {
                "unit_price": [
                    "A unit price excluding VAT, zero or more, with at most 6 decimals (art. 4.1)."
                ]
            }
        )
    valid_from = _date(valid_from, field="valid_from")
    reference = (agreement_reference or "").strip()
    client = (
        Client.objects.select_for_update(of=("self",)).select_related("provider").get(pk=client.pk)
    )
    current = (
        Price.objects.filter(client=client, channel=channel, valid_from__lte=valid_from)
        .order_by("-valid_from")
        .first()
    )
    if current is not None and current.fixed and not reference:
        raise ValidationFailed(
            {
                "agreement_reference": [
                    "This price is fixed; it changes only after the client's written agreement: give its reference (art. 4.3)."
                ]
            },
            article="4.3",
        )
    if fixed and not reference:
        raise ValidationFailed(
            {
                "agreement_reference": [
                    "A fixed price is expressly agreed: give the agreement's reference (art. 4.3)."
                ]
            },
            article="4.3",
        )
    price = Price.objects.filter(
        client=client, channel=channel, valid_from=valid_from
    ).first() or Price(client=client, channel=channel, valid_from=valid_from)
    price.unit_price, price.currency, price.fixed, price.agreement_reference = (
        price_value,
        client.provider.currency,
        bool(fixed),
        reference,
    )
    _h(price, acting_user).save()
    return price


@transaction.atomic
def cpi_rate_enter(*, provider: Provider, year: int, rate_pct, acting_user: User) -> CpiAdjustment:
    """Staff enter the year's national CPI change for a profile, applied in January (art. 4.11)."""
    _require_billing_staff(acting_user)
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise ValidationFailed({"year": ["Give the year whose January the rate applies in."]})
    rate = to_decimal(rate_pct, field="rate_pct")
    if rate <= -100 or rate >= 100 or rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed({"rate_pct": ["A percentage change, with at most 3 decimals."]})
    row = CpiAdjustment.objects.select_for_update().filter(provider=provider, year=year).first()
    if row is not None and row.applied_at is not None:
        raise ApplicationError(
            "This year's CPI change has already been applied.", field="year", article="4.11"
        )
    row = row or CpiAdjustment(provider=provider, year=year, entered_by=acting_user)
    row.rate_pct, row.entered_by, row.entered_at = rate, acting_user, _now()
    _h(row, acting_user).save()
    return row


def cpi_adjust(*, today: dt.date | None = None, batch_size: int = 200) -> dict:
    """Job: each January apply the year's CPI change to the prices that are not fixed (art. 4.11).

    "CM shall have the right to make adjustments to its prices (fixed or general) on an annual
    basis at the beginning of each subsequent calendar year to reflect the annual changes in
    the national Consumer Price Index." The portal applies it to prices not fixed only (issue
    4: a fixed price changes only by a recorded written agreement, art. 4.3). Each client's
    price in force on 1 January gets a new Price row valid from 1 January with the unit price
    × (1 + rate), rounded to 6 places half-up; each affected client is emailed once. Runs only
    in January; idempotent per provider and year (`CpiAdjustment.applied_at`), and resumable:
    a client that already has a price from 1 January for a channel is left as it is.
    """
    result = {"prices_adjusted": 0, "clients_notified": 0}
    for adjustment in (
        CpiAdjustment.objects.filter(applied_at=None).select_related("provider").order_by("pk")
    ):
        provider = adjustment.provider
        day = today or _today(provider)
        if day.year != adjustment.year or day.month != 1:
            continue
        jan1 = dt.date(adjustment.year, 1, 1)
        factor = 1 + adjustment.rate_pct / HUNDRED
        for ids in _client_id_batches(provider, batch_size):
            with transaction.atomic():
                current: dict[tuple[int, str], Price] = {}
                for price in Price.objects.filter(client_id__in=ids, valid_from__lte=jan1).order_by(
                    "valid_from", "pk"
                ):
                    current[(price.client_id, price.channel)] = price
                changed = defaultdict(list)
                for (client_id, channel), price in sorted(current.items()):
                    if price.fixed or price.valid_from == jan1:
                        continue
                    new = Price(
                        client_id=client_id,
                        channel=channel,
                        unit_price=round_unit_price(price.unit_price * factor),
                        currency=price.currency,
                        fixed=False,
                        valid_from=jan1,
                        agreement_reference=f"CPI {adjustment.year}: {adjustment.rate_pct} % (art. 4.11)",
                    )
                    _h(new, None).save()
                    changed[client_id].append((price, new))
                    result["prices_adjusted"] += 1
                for client in Client.objects.filter(pk__in=list(changed)).order_by("pk"):
                    lines = "\n".join(
                        f"{old.get_channel_display()}: {old.unit_price} -> {new.unit_price} {new.currency} per message"
                        for old, new in changed[client.pk]
                    )
                    if notify(
                        key=f"cpi:{provider.pk}:{adjustment.year}:{client.pk}",
                        client=client,
                        recipients=client_recipients(client),
                        subject=f"Your prices from 1 January {adjustment.year}",
                        body=f"Prices are adjusted by the national CPI change of {adjustment.rate_pct} % (art. 4.11):\n{lines}",
                    ):
                        result["clients_notified"] += 1
        CpiAdjustment.objects.filter(pk=adjustment.pk, applied_at=None).update(applied_at=_now())
    return result

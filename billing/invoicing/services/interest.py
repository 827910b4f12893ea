"""Late interest (art. 4.6) and the dated table of statutory rates it is charged at.

**Late interest** is actual/actual: each day earns 1/365 of the annual rate, or 1/366 in a
leap year, on that day's outstanding amount at the rate in force that day; the sum of a charged
span is rounded half-up to cents once. Interest is outside the scope of VAT (it is
compensation, not a supply), so its line has VAT rate 0.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_date
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.roles import require_billing_staff, require_serves_provider
from accounts.models import Client, Provider, User
from billing.models import Dispute, InterestCharge, InterestRate, Invoice, InvoiceLine, SetOff

from . import _common
from ._common import HUNDRED, ZERO
from .invoices import dispute_withheld, invoice_recalculate, vat_default


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


def _rate_on(rates: list, day: dt.date, provider: Provider) -> Decimal:
    rate = next((r for since, r in reversed(rates) if since <= day), None)
    if rate is None:
        raise ApplicationError(
            f"No statutory interest rate is in force on {day:%Y-%m-%d} for {provider.code}; "
            "staff enter one first (art. 4.6).",
            field="interest_rate",
            article="4.6",
        )
    return rate


def _extend(spans: list[InterestSpan], day: dt.date, outstanding: Decimal, rate: Decimal) -> None:
    """Add `day` to the last span when nothing changed since, else start a new span."""
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


def interest_spans(*, invoice: Invoice, first: dt.date, last: dt.date) -> list[InterestSpan]:
    """The days from `first` to `last` on which the invoice earns interest, in spans (art. 4.6).

    A day's outstanding amount is the total less payments received on or before it, set-offs
    recorded on or before it (local date) and what a dispute withheld that day
    (`dispute_withheld`). A rate change, a payment or a new year splits the span.
    """
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        return []
    provider = invoice.provider
    payments = list(invoice.payments.values_list("received_on", "amount"))
    set_offs = [
        (local_date(provider, at), amount)
        for at, amount in SetOff.objects.filter(invoice=invoice).values_list(
            "recorded_at", "amount"
        )
    ]
    disputes = list(
        Dispute.objects.filter(invoice=invoice, withholdable=True).select_related(
            "invoice__provider"
        )
    )
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
        held = sum((dispute_withheld(d, on=day) for d in disputes), ZERO)
        outstanding = max(invoice.total - paid - held, ZERO)
        if outstanding > 0:
            _extend(spans, day, outstanding, _rate_on(rates, day, provider))
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
    with_history_user(draft, acting_user).save()
    return draft


def _charge_line(
    draft: Invoice, invoice: Invoice, first: dt.date, until: dt.date, amount: Decimal
) -> InterestCharge:
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
    return InterestCharge.objects.create(
        invoice=invoice,
        from_date=first,
        to_date=until,
        amount=amount,
        currency=invoice.currency,
        charged_on=line,
    )


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
        require_billing_staff(acting_user)
    client = Client.objects.select_related("provider").get(pk=client.pk)
    until = clean_date(until, field="until")
    if until > _common.today(client.provider):
        raise ValidationFailed(
            {"until": [gettext("Interest is charged for days that have passed (art. 4.6).")]},
            article="4.6",
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
        charges.append(_charge_line(draft, invoice, first, until, amount))
    if draft is not None:
        invoice_recalculate(draft)
        with_history_user(draft, acting_user).save()
    return charges


@transaction.atomic
def interest_rate_enter(
    *, provider: Provider, valid_from: dt.date, annual_rate_pct, acting_user: User, note: str = ""
) -> InterestRate:
    """Staff keep the dated table of statutory commercial interest rates per profile (art. 4.6)."""
    require_billing_staff(acting_user)
    require_serves_provider(acting_user, provider)
    valid_from = clean_date(valid_from, field="valid_from")
    rate = to_decimal(annual_rate_pct, field="annual_rate_pct")
    if rate < 0 or rate >= 1000 or rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed(
            {"annual_rate_pct": [gettext("An annual percentage from 0, with at most 3 decimals.")]}
        )
    row = InterestRate.objects.filter(
        provider=provider, valid_from=valid_from
    ).first() or InterestRate(provider=provider, valid_from=valid_from)
    row.annual_rate_pct, row.note = rate, (note or "").strip()[:200]
    with_history_user(row, acting_user).save()
    return row

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

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum
from django.utils.translation import gettext

from accounts import selectors
from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_date
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.roles import require_billing_staff, require_serves_provider
from accounts.models import Client, Provider, User
from billing.models import (
    Dispute,
    InterestCharge,
    InterestNotComputed,
    InterestRate,
    InterestTerms,
    Invoice,
    InvoiceLine,
    SetOff,
)

from . import _common
from ._common import HUNDRED, ZERO
from .invoices import dispute_withheld, invoice_issue, invoice_recalculate, vat_default

# The overdue job's interest invoices: `interest:<client id>:<YYYY-MM>`, one per client and period.
INTEREST_KEY = "interest:"


@dataclass(frozen=True, slots=True)
class InterestSpan:
    """Days with the same outstanding amount, rate and year length.

    `outstanding` is the amount interest runs on: what is unpaid of the invoice plus, where
    the profile compounds (art. 6:119a(3) BW), the interest of each full year already added to
    it (`capitalised`, included in `outstanding`)."""

    first: dt.date
    last: dt.date
    outstanding: Decimal
    annual_rate_pct: Decimal
    year_days: int
    capitalised: Decimal = ZERO

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def amount(self) -> Decimal:
        """Unrounded: outstanding × rate × days / days of the year."""
        return self.outstanding * self.annual_rate_pct / HUNDRED * self.days / self.year_days


class NoRateInForce(ApplicationError):
    """No interest rate is in force on a day on which interest runs (art. 4.6)."""

    code = "no_interest_rate"

    def __init__(self, provider: Provider, day: dt.date) -> None:
        super().__init__(
            f"No late-interest rate is in force on {day:%Y-%m-%d} for {provider.code}; "
            "staff enter one first (art. 4.6).",
            field="interest_rate",
            article="4.6",
        )
        self.day = day


def interest_terms_of(provider: Provider) -> InterestTerms:
    """The profile's way of reckoning interest; a profile without a row has its own rate, in
    force until the next, simple interest (as cm-cn)."""
    terms = InterestTerms.objects.filter(provider=provider).first()
    return terms or InterestTerms(provider=provider, basis=InterestTerms.Basis.PROVIDER)


@dataclass(frozen=True, slots=True)
class RatePeriod:
    since: dt.date
    until: dt.date | None  # exclusive; None: until the next rate
    annual_rate_pct: Decimal


def interest_rate_table(provider: Provider, *, last: dt.date | None = None) -> list[RatePeriod]:
    """The profile's rates with the days each is in force (art. 4.6).

    A rate is in force from its day until the next rate; where the profile fixes rates per
    period (`InterestTerms.rate_period_months`: 6 for the Dutch half-years of art. 6:119a BW),
    at most until the end of its period, so a half-year nobody entered has no rate instead of
    silently keeping the last one.
    """
    terms = interest_terms_of(provider)
    qs = InterestRate.objects.filter(provider=provider).order_by("valid_from")
    if last is not None:
        qs = qs.filter(valid_from__lte=last)
    rows = list(qs.values_list("valid_from", "annual_rate_pct"))
    table = []
    for i, (since, rate) in enumerate(rows):
        until = rows[i + 1][0] if i + 1 < len(rows) else None
        if terms.rate_period_months:
            end = add_months(since, terms.rate_period_months)
            until = end if until is None else min(until, end)
        table.append(RatePeriod(since, until, rate))
    return table


def rate_in_force(table: list[RatePeriod], day: dt.date) -> Decimal | None:
    """The annual rate in force on `day`, or None (art. 4.6)."""
    for period in reversed(table):
        if period.since <= day:
            return period.annual_rate_pct if period.until is None or day < period.until else None
    return None


def interest_rate_today(provider: Provider) -> Decimal | None:
    """The rate in force today in the profile's time zone, or None (art. 4.6)."""
    today = _common.today(provider)
    return rate_in_force(interest_rate_table(provider, last=today), today)


def disputed_part_withheld(dispute: Dispute, day: dt.date) -> Decimal:
    """What a dispute kept out of the amount interest runs on, on `day` (art. 4.6, 10.2).

    While the dispute is open, the disputed part the client may withhold (`dispute_withheld`).
    Once it is resolved only what was granted was rightly withheld: if the dispute is rejected,
    interest on the withheld part runs from the original due date, as if it had never been
    withheld; if part is granted, interest on the rest runs likewise.
    """
    held = dispute_withheld(dispute, on=day)
    if dispute.status == Dispute.Status.REJECTED:
        return ZERO
    if dispute.status == Dispute.Status.GRANTED:
        return min(held, dispute.granted_amount or ZERO)
    return held


def _extend(
    spans: list[InterestSpan], day: dt.date, outstanding: Decimal, rate: Decimal, capitalised
) -> None:
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
        and prev.capitalised == capitalised
    ):
        spans[-1] = InterestSpan(prev.first, day, outstanding, rate, year_days, capitalised)
    else:
        spans.append(InterestSpan(day, day, outstanding, rate, year_days, capitalised))


def _all_spans(invoice: Invoice, last: dt.date) -> list[InterestSpan]:
    """Every span from the first day of interest (the day after the due date) to `last`."""
    if (
        invoice.kind != Invoice.Kind.INVOICE
        or invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID)
        or invoice.due_date is None
    ):
        return []
    provider = invoice.provider
    terms = interest_terms_of(provider)
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
    table = interest_rate_table(provider, last=last)
    start = invoice.due_date + dt.timedelta(days=1)
    spans: list[InterestSpan] = []
    capitalised = ZERO
    years = 1
    anniversary = add_months(start, 12)
    year_interest = ZERO
    day = start
    while day <= last:
        if terms.compounds_yearly and day == anniversary:
            # art. 6:119a(3) BW: after each year, that year's interest joins the amount on which
            # interest runs.
            capitalised += round_money(year_interest)
            year_interest = ZERO
            years += 1
            anniversary = add_months(start, 12 * years)
        paid = sum((a for d, a in payments if d <= day), ZERO) + sum(
            (a for d, a in set_offs if d <= day), ZERO
        )
        held = sum((disputed_part_withheld(d, day) for d in disputes), ZERO)
        principal = max(invoice.total - paid - held, ZERO)
        if principal > 0:
            rate = rate_in_force(table, day)
            if rate is None:
                raise NoRateInForce(provider, day)
            _extend(spans, day, principal + capitalised, rate, capitalised)
            span = spans[-1]
            year_interest += span.outstanding * rate / HUNDRED / span.year_days
        day += dt.timedelta(days=1)
    return spans


def interest_spans(*, invoice: Invoice, first: dt.date, last: dt.date) -> list[InterestSpan]:
    """The days from `first` to `last` on which the invoice earns interest, in spans (art. 4.6).

    A day's outstanding amount is the total less payments received on or before it, set-offs
    recorded on or before it (local date) and what a dispute rightly withheld that day
    (`disputed_part_withheld`), plus, where the profile compounds, the interest of each full
    year since interest began (art. 6:119a(3) BW). A rate change, a payment, a new year or a
    year's interest added splits the span. Raises `NoRateInForce` for a day that earns interest
    without a rate in force: never a silent zero.
    """
    clipped = []
    for s in _all_spans(invoice, last):
        if s.last < first:
            continue
        lo = max(s.first, first)
        clipped.append(
            InterestSpan(lo, s.last, s.outstanding, s.annual_rate_pct, s.year_days, s.capitalised)
        )
    return clipped


def interest_accrued(*, invoice: Invoice, until: dt.date) -> Decimal:
    """Late interest from the day after the due date up to and including `until` (art. 4.6).

    "In the event that Client fails to pay CM the amounts due within the agreed period,
    statutory commercial interest shall be applied and will fall due accordingly by the Client
    on the outstanding amount without any requirement from CM to communicate a notice of
    default." Per day, actual/actual (1/365, or 1/366 in a leap year), at the rate in force
    that day (`interest_rate_table`), compounded yearly where the profile says so (cxengage-nl,
    art. 6:119a(3) BW); rounded half-up to cents once.
    """
    if invoice.due_date is None or until <= invoice.due_date:
        return ZERO
    return round_money(sum((s.amount for s in _all_spans(invoice, until)), ZERO))


def first_day_uncovered(table: list[RatePeriod], first: dt.date, last: dt.date) -> dt.date | None:
    """The first day from `first` to `last` on which no rate of `table` is in force, or None."""
    day = first
    while day <= last:
        period = next(
            (p for p in reversed(table) if p.since <= day and (p.until is None or day < p.until)),
            None,
        )
        if period is None:
            return day
        if period.until is None:
            return None
        day = period.until
    return None


def interest_first_day_without_rate(
    *, invoice: Invoice, until: dt.date, table: list[RatePeriod] | None = None
) -> dt.date | None:
    """The first day up to `until` on which the invoice earns interest but no rate is in force.

    With the profile's `table` given, an invoice whose every day of interest is covered by a
    rate is answered without walking its days."""
    if invoice.due_date is None or until <= invoice.due_date:
        return None
    if table is not None and (
        first_day_uncovered(table, invoice.due_date + dt.timedelta(days=1), until) is None
    ):
        return None
    try:
        _all_spans(invoice, until)
    except NoRateInForce as exc:
        return exc.day
    return None


def _next_draft(client: Client, acting_user: User | None, source_key: str | None = None) -> Invoice:
    if source_key is not None:
        # the overdue job's own interest invoice for one period
        keyed = Invoice.objects.select_for_update().filter(source_key=source_key).first()
        if keyed is not None:
            return keyed
    draft = (
        None
        if source_key is not None
        else (
            Invoice.objects.select_for_update()
            .filter(
                client=client,
                kind=Invoice.Kind.INVOICE,
                status=Invoice.Status.DRAFT,
                source_key=None,
            )
            .order_by("-pk")
            .first()
        )
    )
    if draft is not None:
        return draft
    _vat_rate, reverse_charge = vat_default(client)
    draft = Invoice(
        client=client,
        provider=client.provider,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.DRAFT,
        currency=selectors.agreed_currency(client=client),
        reverse_charge=reverse_charge,
        created_by=acting_user,
        notes="Late interest (art. 4.6)",
        source_key=source_key,
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
    *,
    client: Client,
    until: dt.date,
    acting_user: User | None,
    draft_source_key: str | None = None,
    skip_without_rate: bool = False,
) -> list[InterestCharge]:
    """Charge the late interest accrued up to `until` on the client's next draft invoice (art. 4.6).

    Each invoice's charged days follow on from its last `InterestCharge`, and the amount is
    the interest accrued up to `until` less what was charged before, so the same interest is
    never charged twice, while interest that arose for earlier days after they were charged
    (a rejected dispute's withheld part, from the original due date; a year's interest added
    to the principal) is charged with the next span. The invoices are locked while this runs. The interest lines carry
    0 % VAT (interest is compensation, not a supply).

    `draft_source_key` names the draft to charge on (the overdue job's interest invoice of one
    period); `skip_without_rate` leaves an invoice without a rate in force uncharged instead of
    refusing (the job records it as `InterestNotComputed`). Interest invoices themselves earn no
    further interest here: the yearly compounding of art. 6:119a(3) BW is the only interest on
    interest.
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
        .exclude(source_key__startswith=INTEREST_KEY)
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
        charged = InterestCharge.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"]
        try:
            amount = interest_accrued(invoice=invoice, until=until) - (charged or ZERO)
        except NoRateInForce:
            if not skip_without_rate:
                raise
            continue
        if amount <= 0:
            continue
        if draft is None:
            draft = _next_draft(client, acting_user, draft_source_key)
            if draft.status != Invoice.Status.DRAFT:
                return charges  # this period's interest invoice is issued already
        charges.append(_charge_line(draft, invoice, first, until, amount))
    if draft is not None:
        invoice_recalculate(draft)
        with_history_user(draft, acting_user).save()
    return charges


@transaction.atomic
def interest_rate_enter(
    *, provider: Provider, valid_from: dt.date, annual_rate_pct, acting_user: User, note: str = ""
) -> InterestRate:
    """Staff keep the dated table of late-interest rates per profile (art. 4.6).

    cxengage-nl: the statutory rate of art. 6:119a BW, the ECB main refinancing rate plus 8
    points, fixed for each half-year, so it takes effect on 1 January or 1 July only; cm-cn:
    the provider's own rate, from any day, in force until the next.
    """
    require_billing_staff(acting_user)
    require_serves_provider(acting_user, provider)
    valid_from = clean_date(valid_from, field="valid_from")
    rate = to_decimal(annual_rate_pct, field="annual_rate_pct")
    if rate < 0 or rate >= 1000 or rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed(
            {"annual_rate_pct": [gettext("An annual percentage from 0, with at most 3 decimals.")]}
        )
    period = interest_terms_of(provider).rate_period_months
    if period and (valid_from.day != 1 or (valid_from.month - 1) % period):
        starts = ", ".join(f"1 {calendar.month_name[m]}" for m in range(1, 13, period))
        raise ValidationFailed(
            {
                "valid_from": [
                    gettext(
                        "This profile's rate is fixed per period of %(period)s months: it takes effect on %(starts)s (art. 4.6)."
                    )
                    % {"period": period, "starts": starts}
                ]
            },
            article="4.6",
        )
    row = InterestRate.objects.filter(
        provider=provider, valid_from=valid_from
    ).first() or InterestRate(provider=provider, valid_from=valid_from)
    row.annual_rate_pct, row.note = rate, (note or "").strip()[:200]
    with_history_user(row, acting_user).save()
    return row


def _gap_check(
    invoice: Invoice, day: dt.date, now: dt.datetime, table: list[RatePeriod]
) -> str | None:
    """Record, or close, the invoice's no-rate record; what happened, if anything."""
    missing = interest_first_day_without_rate(invoice=invoice, until=day, table=table)
    open_gap = InterestNotComputed.objects.filter(invoice=invoice, resolved_at=None).first()
    if missing is None:
        if open_gap is not None:
            InterestNotComputed.objects.filter(pk=open_gap.pk).update(
                resolved_at=now, last_checked_on=day
            )
            return "resolved"
        return None
    if open_gap is not None:
        InterestNotComputed.objects.filter(pk=open_gap.pk).update(
            first_day=missing, last_checked_on=day
        )
        return None
    try:
        with transaction.atomic():
            InterestNotComputed.objects.create(
                invoice=invoice, provider=invoice.provider, first_day=missing, last_checked_on=day
            )
    except IntegrityError:  # a concurrent run recorded it first
        return None
    return "recorded"


def interest_gaps_record(
    *, provider: Provider, today: dt.date, batch_size: int = 500
) -> dict[str, int]:
    """Part of the overdue job: where interest runs but no rate is in force, say so (art. 4.6).

    "Statutory commercial interest shall be applied ... on the outstanding amount": for each
    invoice past its due date that is still open (or has an open record), a day that earns
    interest without a rate in force gets a visible `InterestNotComputed` record, once per
    invoice, instead of interest accruing as zero unseen; a later run that finds every day
    covered (staff entered the rate) closes it. Walks the invoices by key in bounded batches.
    """
    result = {"interest_not_computed": 0, "interest_gaps_resolved": 0}
    now = _common.now()
    open_statuses = [
        Invoice.Status.ISSUED,
        Invoice.Status.PARTLY_PAID,
        Invoice.Status.OVERDUE,
        Invoice.Status.DISPUTED,
    ]
    candidates = (
        Invoice.objects.filter(provider=provider, kind=Invoice.Kind.INVOICE, due_date__lt=today)
        .filter(
            Q(status__in=open_statuses)
            | Q(pk__in=InterestNotComputed.objects.filter(resolved_at=None).values("invoice_id"))
        )
        .select_related("provider")
        .order_by("pk")
    )
    table = interest_rate_table(provider, last=today)
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk)[:batch_size])
        for invoice in batch:
            with transaction.atomic():
                done = _gap_check(invoice, today, now, table)
            if done == "recorded":
                result["interest_not_computed"] += 1
            elif done == "resolved":
                result["interest_gaps_resolved"] += 1
        if len(batch) < batch_size:
            return result
        last_pk = batch[-1].pk


def _charge_client_for_period(client_id: int, until: dt.date, key: str) -> Invoice | None:
    """One client's interest up to `until` on its interest invoice `key`, issued at once."""
    with transaction.atomic():
        client = Client.objects.select_related("provider").get(pk=client_id)
        if Invoice.objects.filter(source_key=key).exclude(status=Invoice.Status.DRAFT).exists():
            return None
        charges = interest_charge(
            client=client,
            until=until,
            acting_user=None,
            draft_source_key=key,
            skip_without_rate=True,
        )
        if not charges:
            return None
        draft = Invoice.objects.get(source_key=key)
        draft.notes = f"Late interest up to {until:%Y-%m-%d} (art. 4.6)"
        return invoice_issue(invoice=draft, acting_user=None)


def interest_charge_overdue(
    *, today: dt.date | None = None, batch_size: int = 500
) -> dict[str, int]:
    """Job: charge the late interest of the past calendar month on an invoice of its own (art. 4.6).

    "Statutory commercial interest shall be applied and will fall due accordingly by the Client
    on the outstanding amount without any requirement from CM to communicate a notice of
    default." For each client with an invoice due before the end of the past month (the
    profile's local calendar), the interest accrued up to that month's last day and not charged
    before (`interest_charge`) is charged on the client's interest invoice of the month,
    `interest:<client id>:<YYYY-MM>`, which is issued at once and collected like any invoice.
    Idempotent per invoice and period: the key admits one invoice per client and month, and each
    invoice's charged days follow on from its last charge. An invoice on which interest runs
    without a rate in force is skipped here; the overdue job records it (`interest_gaps_record`).
    """
    result = {"interest_invoices": 0, "interest_charged_clients_skipped": 0}
    for provider in Provider.objects.order_by("pk"):
        day = today or _common.today(provider)
        until = day.replace(day=1) - dt.timedelta(days=1)
        period = f"{until:%Y-%m}"
        candidates = (
            Invoice.objects.filter(provider=provider, kind=Invoice.Kind.INVOICE, due_date__lt=until)
            .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
            .exclude(source_key__startswith=INTEREST_KEY)
            .values_list("client_id", flat=True)
            .distinct()
            .order_by("client_id")
        )
        last_id = 0
        while True:
            ids = list(candidates.filter(client_id__gt=last_id)[:batch_size])
            for client_id in ids:
                key = f"{INTEREST_KEY}{client_id}:{period}"
                try:
                    issued = _charge_client_for_period(client_id, until, key)
                except IntegrityError:  # a concurrent run made this period's invoice
                    issued = None
                if issued is not None:
                    result["interest_invoices"] += 1
                else:
                    result["interest_charged_clients_skipped"] += 1
            if len(ids) < batch_size:
                break
            last_id = ids[-1]
    return result

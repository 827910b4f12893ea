"""Disputes (art. 10.1-10.2; CXENGAGE art. 10): raised within the payment term, withheld when
above the threshold, escalated to an external expert, resolved by credit note or rejection."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from accounts import workdays
from accounts.kernel.dates import local_date, local_midnight
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_money, clean_text
from accounts.kernel.l10n import money
from accounts.kernel.money import Money, apply_rate, round_money
from accounts.kernel.notifications import (
    client_admin_emails,
    client_recipients,
    notify,
    staff_emails,
)
from accounts.kernel.roles import require_billing_staff, require_client_admin
from accounts.models import User
from billing.models import Dispute, Invoice, InvoiceLine, SetOff

from . import _common
from ._common import (
    BATCH,
    HUNDRED,
    OPEN_DISPUTE_STATUSES,
    OPEN_STATUSES,
    UNRESOLVED_DISPUTE_STATUSES,
    ZERO,
)
from .exchange_rates import rate_first_after, rate_in_force
from .invoices import (
    credit_note_issue,
    invoice_outstanding,
    invoice_status_refresh,
    vat_by_rate,
)
from .payments import after_settlement

log = logging.getLogger(__name__)

OPEN_DISPUTE = gettext_noop("This invoice already has an open dispute.")


# --- Withholding -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Withholding:
    """Whether the disputed part of an invoice may be withheld, and the words that say so."""

    allowed: bool
    rule: str  # the threshold, shown with the dispute form
    outcome: str  # what the client is told when it raises the dispute
    notice: str  # the invoice's notice while the dispute withholds
    short: str  # the dispute's own line while it withholds
    label: str  # the PDF's row of the withheld amount


def dispute_withholding(
    *, invoice: Invoice, amount: Decimal | None = None, allowed: bool | None = None
) -> Withholding:
    """ "The Client will only be entitled to suspend payment of the disputed part of the invoice,
    if the amount disputed by the Client exceeds 5% of the total amount of the invoice in
    question (excluding VAT)" (art. 10.2): strictly above the profile's share of the subtotal.

    `allowed` is decided from `amount` unless given (the decision recorded when the dispute
    was raised, `Dispute.withholdable`). Every wording of withholding (the dispute form, the
    notice on raising, the invoice page and its PDF) comes from here.
    """
    threshold = invoice.provider.dispute_withhold_threshold_pct
    if allowed is None:
        allowed = amount is not None and amount * HUNDRED > invoice.subtotal * threshold
    pct = f"{threshold.normalize():f}"
    disputed = Money(amount if amount is not None else ZERO, invoice.currency)
    if allowed:
        outcome = f"You may withhold the disputed {disputed} until it is resolved; the rest stays due (art. 10.2)."
    else:
        outcome = (
            f"The disputed amount does not exceed {pct} % of the total excluding VAT, so the "
            "whole invoice stays due (art. 10.2)."
        )
    return Withholding(
        allowed=allowed,
        rule=f"The disputed part may be withheld only if it exceeds {pct} % of the total excluding VAT (art. 10.2).",
        outcome=outcome,
        notice=f"{disputed} is disputed and may be withheld until the dispute is resolved (art. 10.2); the rest stays due.",
        short="The disputed part may be withheld (art. 10.2).",
        label="Withheld under dispute (art. 10.2)",
    )


# --- Raising a dispute (art. 10.1; CX 10) ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Admissibility:
    """Whether a disputed amount is admissible (CX 10): `ok`, refused with `text` as the
    reason, or `pending` (the minimum awaits an exchange rate; `text` says which)."""

    ok: bool
    pending: bool = False
    text: str = ""


def _minimum_rate(min_currency: str, currency: str, day: dt.date, *, later: bool):
    """The rate that converts the minimum on `day`: the one in force that day; with `later`,
    failing that, the first one published after it (a dispute waiting for a rate is decided
    on the first reference rate there is)."""
    rate = rate_in_force(from_currency=min_currency, to_currency=currency, on=day)
    if rate is None and later:
        rate = rate_first_after(from_currency=min_currency, to_currency=currency, after=day)
    return rate


def _dispute_minimum(
    invoice: Invoice, day: dt.date, *, later: bool = False
) -> tuple[Decimal | None, str]:
    """The profile's minimum in the invoice's currency on `day`: (minimum, how it was
    converted); None when no exchange rate is known for it (see `_minimum_rate`)."""
    provider = invoice.provider
    min_currency = provider.dispute_min_amount_currency or invoice.currency
    if min_currency.upper() == invoice.currency.upper():
        return round_money(provider.dispute_min_amount), ""
    rate = _minimum_rate(min_currency, invoice.currency, day, later=later)
    if rate is None:
        return None, ""
    minimum = apply_rate(provider.dispute_min_amount, rate.row.rate, inverse=rate.inverse)
    return minimum, f" ({invoice.currency} {minimum} at {rate}, in force on {day:%Y-%m-%d})"


def dispute_admissibility(
    *, invoice: Invoice, amount: Decimal, on: dt.date | None = None, later: bool = False
) -> Admissibility:
    """Whether a disputed amount is admissible under the profile (CX 10).

    CXENGAGE: "Disputes are allowed only for amounts exceeding €150 and 3% of the invoice
    total" — both, strictly above (EUR 150.00 exactly is not admissible). cm-cn has no
    minimum (null fields).

    The minimum is kept in `dispute_min_amount_currency` (EUR for cxengage-nl) and the invoice
    is in the agreed currency (USD by default). "Disputes are allowed only for amounts
    exceeding €150" is a condition on the dispute, so the minimum is converted into the
    invoice's currency at the exchange rate in force on the DISPUTE day (`on`, the profile's
    local date when the client raises it; default today), not the invoice date, and rounded to
    cents (`convert`). The disputed amount must exceed that converted minimum (as a money
    amount it is in whole cents, so where the exact equivalent ends in half a cent or more it
    rounds up, e.g. at USD→EUR 0.92 the minimum is USD 163.04 for the exact 163.0434…).

    Admissibility is never decided without a rate (issue 12 §5): when the 3 % share passes but
    no rate is known for the minimum, the result is `pending`; the dispute then waits as
    "pending check" and is decided when a rate arrives (`disputes_pending_decide`, with
    `later`: the first rate published after the dispute day when none was in force on it).
    """
    provider = invoice.provider
    if (
        provider.dispute_min_pct is not None
        and amount * HUNDRED <= invoice.total * provider.dispute_min_pct
    ):
        return Admissibility(
            ok=False,
            text=(
                f"A dispute is admissible only for an amount exceeding {provider.dispute_min_pct} % of the invoice total "
                f"({invoice.currency} {invoice.total}) (art. 10)."
            ),
        )
    if provider.dispute_min_amount is not None:
        day = on or _common.today(provider)
        min_currency = provider.dispute_min_amount_currency or invoice.currency
        minimum, how = _dispute_minimum(invoice, day, later=later)
        if minimum is None:
            return Admissibility(
                ok=False,
                pending=True,
                text=(
                    f"The minimum of {min_currency} {provider.dispute_min_amount} (art. 10) awaits a "
                    f"{min_currency}/{invoice.currency} exchange rate for {day:%Y-%m-%d}: the dispute is "
                    "pending check and is decided as soon as the rate is imported or entered."
                ),
            )
        if amount <= minimum:
            return Admissibility(
                ok=False,
                text=(
                    f"A dispute is admissible only for an amount exceeding {min_currency} "
                    f"{provider.dispute_min_amount}{how} (art. 10)."
                ),
            )
    return Admissibility(ok=True)


def dispute_window_check(*, invoice: Invoice, today: dt.date) -> None:
    """Raise unless `invoice` may be disputed on `today`: an issued, unpaid invoice, within its
    payment term (art. 10.1): "Client will provide a motivated complaint within the payment
    term applicable to the invoice in question"."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            gettext("Only an issued, unpaid invoice is disputed (art. 10.1)."),
            field="invoice",
            article="10.1",
        )
    if today > invoice.due_date:
        raise ApplicationError(
            gettext(
                "Invoice %(number)s: the payment term ended on %(date)s; a dispute "
                "must be raised within the payment term (art. 10.1)."
            )
            % {"number": invoice.number, "date": f"{invoice.due_date:%Y-%m-%d}"},
            field="invoice",
            article="10.1",
        )


def escalation_available_at(invoice: Invoice) -> dt.datetime:
    """The close of business of the 20th working day after the due date (art. 10.2), on the
    profile's working-day calendar."""
    provider = invoice.provider
    return workdays.add_working_days(
        local_midnight(provider, invoice.due_date),
        provider.dispute_escalation_working_days,
        provider,
    )


def _admitted_amount(invoice: Invoice, amount: Decimal, today: dt.date) -> Admissibility:
    """Refuse an amount over the total or not admissible (CX 10); admitted or pending else."""
    if amount > invoice.total:
        raise ValidationFailed(
            {
                "amount": [
                    gettext("More than the invoice total (%(currency)s %(total)s).")
                    % {"currency": invoice.currency, "total": invoice.total}
                ]
            },
            article="10.1",
        )
    admissibility = dispute_admissibility(invoice=invoice, amount=amount, on=today)
    if not admissibility.ok and not admissibility.pending:
        raise ValidationFailed({"amount": [admissibility.text]}, article="10")
    if admissibility.pending:
        log.warning("dispute on invoice %s pending check: %s", invoice.number, admissibility.text)
    if Dispute.objects.filter(invoice=invoice, status__in=UNRESOLVED_DISPUTE_STATUSES).exists():
        raise Conflict(gettext(OPEN_DISPUTE), field="invoice", article="10.1")
    return admissibility


@transaction.atomic
def dispute_raise(*, invoice: Invoice, amount, reason: str, acting_user: User) -> Dispute:
    """A client admin disputes an invoice with a motivated complaint within its payment term (art. 10.1).

    "If the Client disputes the accuracy of an invoice sent by CM, Client will provide a
    motivated complaint within the payment term applicable to the invoice in question by
    written notice to CM." Admissibility follows the profile (CX 10, see
    `dispute_admissibility`); whether the disputed part may be withheld, `dispute_withholding`.
    """
    invoice = _common.lock_invoice(invoice)
    require_client_admin(
        acting_user,
        invoice.client,
        message=gettext("Only an admin of this client may do this (art. 5.2, 10.1)."),
        article="10.1",
    )
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("A dispute needs a motivated complaint: say what is wrong (art. 10.1)."),
    )
    amount = clean_money(amount, field="amount", article="10.1")
    today = _common.today(invoice.provider)
    dispute_window_check(invoice=invoice, today=today)
    admissibility = _admitted_amount(invoice, amount, today)
    withholding = dispute_withholding(invoice=invoice, amount=amount)
    dispute = Dispute(
        invoice=invoice,
        raised_by=acting_user,
        raised_at=_common.now(),
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        status=Dispute.Status.PENDING_CHECK if admissibility.pending else Dispute.Status.OPEN,
        withholdable=withholding.allowed,
        admissibility_note=admissibility.text,
        escalation_available_at=escalation_available_at(invoice),
    )
    try:
        with transaction.atomic():
            with_history_user(dispute, acting_user).save()
    except IntegrityError:  # another dispute was raised at the same moment
        raise Conflict(gettext(OPEN_DISPUTE), field="invoice", article="10.1") from None
    if admissibility.pending:
        _alert_pending(dispute, invoice)
        return dispute
    if invoice.status != Invoice.Status.PAID:
        invoice.status = Invoice.Status.DISPUTED
        with_history_user(invoice, acting_user).save()
    notify(
        key=f"dispute-raised:{dispute.pk}",
        client=invoice.client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=invoice.client.provider_id)
        + client_admin_emails(invoice.client),
        subject=lambda: gettext("Invoice %(number)s disputed") % {"number": invoice.number},
        body=lambda: (
            gettext("%(amount)s disputed: %(reason)s")
            % {"amount": money(amount, invoice.currency), "reason": reason}
            + f"\n{withholding.outcome}"
            + (f"\n{admissibility.text}" if admissibility.text else "")
        ),
    )
    return dispute


def _alert_pending(dispute: Dispute, invoice: Invoice) -> None:
    """Tell the provider's billing staff (its mailbox, else its staff; never the other
    provider's) that a dispute waits for an exchange rate, and the client that it is received."""
    client = invoice.client
    notify(
        key=f"dispute-pending-check:{dispute.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        subject=lambda: (
            gettext("Dispute on invoice %(number)s pending check: exchange rate needed")
            % {"number": invoice.number}
        ),
        body=lambda: (
            gettext("%(amount)s disputed by %(client)s: %(reason)s")
            % {
                "amount": money(dispute.amount, invoice.currency),
                "client": client,
                "reason": dispute.reason,
            }
            + f"\n{dispute.admissibility_note}\n"
            + gettext(
                "Enter the rate (admin: Billing → Exchange rates) if the daily ECB import does "
                "not bring it; the dispute is then admitted or refused (CX 10)."
            )
        ),
    )
    notify(
        key=f"dispute-raised:{dispute.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject=lambda: (
            gettext("Invoice %(number)s disputed: admissibility pending check")
            % {"number": invoice.number}
        ),
        body=lambda: (
            gettext("%(amount)s disputed: %(reason)s")
            % {"amount": money(dispute.amount, invoice.currency), "reason": dispute.reason}
            + "\n"
            + gettext(
                "Whether the amount exceeds the minimum of art. 10 is checked as soon as the "
                "exchange rate is known; you will be told the outcome. Until then the whole "
                "invoice stays due."
            )
        ),
    )


# --- Pending check: decided when a rate arrives (CX 10) --------------------------------------
@transaction.atomic
def dispute_pending_decide(*, dispute_id: int) -> str:
    """Decide one dispute pending check, if a rate is now known: "admitted" or "refused";
    "waiting" while no rate is known, "" when it is no longer pending (another run decided it).

    The minimum is converted at the rate in force on the dispute day (the profile's local date
    it was raised), else at the first rate published after it (`dispute_admissibility` with
    `later`). Admitted: the dispute opens, with the withholding decided when it was raised
    (art. 10.2), and the invoice is disputed. Refused: it is rejected with the reason (CX 10).
    Both are told to the client and the provider's staff.
    """
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("invoice__provider", "invoice__client")
        .filter(pk=dispute_id, status=Dispute.Status.PENDING_CHECK)
        .first()
    )
    if dispute is None:
        return ""
    invoice = _common.lock_invoice(dispute.invoice)
    day = local_date(invoice.provider, dispute.raised_at)
    admissibility = dispute_admissibility(
        invoice=invoice, amount=dispute.amount, on=day, later=True
    )
    if admissibility.pending:
        return "waiting"
    now = _common.now()
    dispute.admissibility_checked_at = now
    client = invoice.client
    if admissibility.ok:
        dispute.status = Dispute.Status.OPEN
        minimum, how = _dispute_minimum(invoice, day, later=True)
        dispute.admissibility_note = (
            f"Admitted on {local_date(invoice.provider, now):%Y-%m-%d} after the pending check: the amount exceeds "
            f"{invoice.provider.dispute_min_amount_currency} {invoice.provider.dispute_min_amount}{how} (art. 10)."
        )
        with_history_user(dispute, None).save()
        invoice_status_refresh(invoice, acting_user=None)
        outcome, text = (
            "admitted",
            dispute_withholding(
                invoice=invoice, amount=dispute.amount, allowed=dispute.withholdable
            ).outcome,
        )
    else:
        dispute.status = Dispute.Status.REJECTED
        dispute.resolved_at = now
        dispute.resolution = dispute.admissibility_note = admissibility.text
        with_history_user(dispute, None).save()
        outcome, text = "refused", admissibility.text
    notify(
        key=f"dispute-pending-decided:{dispute.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id)
        + client_admin_emails(client),
        subject=lambda: (
            (
                gettext("Dispute on invoice %(number)s admitted (art. 10)")
                if outcome == "admitted"
                else gettext("Dispute on invoice %(number)s refused (art. 10)")
            )
            % {"number": invoice.number}
        ),
        body=lambda: (
            (
                gettext("%(amount)s disputed: admitted.")
                if outcome == "admitted"
                else gettext("%(amount)s disputed: refused.")
            )
            % {"amount": money(dispute.amount, invoice.currency)}
            + f"\n{text}\n{dispute.admissibility_note}"
        ),
    )
    return outcome


def disputes_pending_decide(*, batch_size: int = BATCH) -> dict[str, Any]:
    """Job, and after every imported or entered exchange rate: decide each dispute pending
    check for which a rate is now known (`dispute_pending_decide`; CX 10). Walks them by key
    in bounded batches; one that still has no rate waits for the next run."""
    counts = {"admitted": 0, "refused": 0, "waiting": 0}
    last_pk = 0
    while True:
        ids = list(
            Dispute.objects.filter(status=Dispute.Status.PENDING_CHECK, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        for pk in ids:
            outcome = dispute_pending_decide(dispute_id=pk)
            if outcome:
                counts[outcome] += 1
        if len(ids) < batch_size:
            return counts
        last_pk = ids[-1]


# --- Escalation (art. 10.2) ----------------------------------------------------------------
def dispute_escalatable(now: dt.datetime) -> Q:
    """An open dispute may go to an external expert once it is unresolved 20 working days after
    the invoice's due date (`escalation_available_at`, art. 10.2). A filter, so the queue
    annotates it and the job selects by it."""
    return Q(status=Dispute.Status.OPEN, escalation_available_at__lte=now)


def disputes_escalation_flag(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Job: tell staff and the client once an unresolved dispute may go to an external expert (art. 10.2)."""
    now = now or _common.now()
    flagged = 0
    while True:
        batch = list(
            Dispute.objects.filter(dispute_escalatable(now), escalation_flagged_at=None)
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
                    recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id)
                    + client_admin_emails(client),
                    subject=lambda: (
                        gettext("Dispute on %(number)s may be escalated")
                        % {"number": dispute.invoice.number}
                    ),
                    body=lambda: gettext(
                        "The dispute is unresolved 20 working days after the due date; the "
                        "parties may submit it to an external expert appointed in mutual "
                        "consultation, agreeing on the costs (art. 10.2)."
                    ),
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
    working days after the invoice's due date (`dispute_escalatable`)."""
    require_billing_staff(acting_user)
    expert_name = clean_text(
        expert_name,
        field="expert_name",
        message=gettext("Name the external expert appointed in mutual consultation (art. 10.2)."),
        max_length=200,
    )
    cost_agreement = clean_text(
        cost_agreement,
        field="cost_agreement",
        message=gettext("Record the agreement on the expert's costs (art. 10.2)."),
    )
    dispute = _lock_dispute(dispute)
    if dispute.status != Dispute.Status.OPEN:
        raise ApplicationError(
            gettext("Only an open dispute is escalated."), field="status", article="10.2"
        )
    now = _common.now()
    if not Dispute.objects.filter(dispute_escalatable(now), pk=dispute.pk).exists():
        local = dispute.escalation_available_at.astimezone(
            ZoneInfo(dispute.invoice.provider.timezone)
        )
        raise ApplicationError(
            gettext(
                "A dispute may go to an external expert only if unresolved 20 working days after the due date, i.e. from %(local)s (art. 10.2)."
            )
            % {"local": f"{local:%Y-%m-%d %H:%M}"},
            field="status",
            article="10.2",
        )
    dispute.expert_name, dispute.expert_cost_agreement = expert_name, cost_agreement
    dispute.status, dispute.escalated_at = Dispute.Status.ESCALATED, now
    with_history_user(dispute, acting_user).save()
    return dispute


# --- Resolution (art. 10.2) ----------------------------------------------------------------
def _grant_lines(invoice: Invoice, granted: Decimal) -> tuple[list[InvoiceLine], Decimal, Decimal]:
    """Credit-note lines for a granted amount including VAT, split over the invoice's VAT rates.

    Each rate gets its share of the granted amount by its share of the invoice total; the base
    is the share less VAT at that rate, and the VAT is what remains, so the credit note's total
    is exactly the granted amount.
    """
    per_rate = vat_by_rate(invoice.lines.all())
    rates = [rate for rate, _, _ in per_rate]
    gross = {rate: base + vat for rate, base, vat in per_rate}
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


def _grant(
    dispute: Dispute, invoice: Invoice, granted: Decimal, resolution: str, acting_user: User
):
    """The credit note for what is granted, set off at once against what the invoice still
    owes; anything left of it stays available for set-off (art. 9.1)."""
    lines, subtotal, vat = _grant_lines(invoice, granted)
    dispute.credit_note = credit_note_issue(
        invoice=invoice,
        lines=lines,
        subtotal=subtotal,
        vat=vat,
        acting_user=acting_user,
        notes=f"Dispute {dispute.pk} on invoice {invoice.number}: {resolution}",
    )
    dispute.status = Dispute.Status.GRANTED
    with_history_user(dispute, acting_user).save()
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
    require_billing_staff(acting_user)
    resolution = clean_text(
        resolution,
        field="resolution",
        message=gettext("Give the reasons for the resolution; the client sees them (art. 10.2)."),
    )
    granted = clean_money(granted_amount, field="granted_amount", allow_zero=True, article="10.2")
    dispute = _lock_dispute(dispute)
    invoice = _common.lock_invoice(dispute.invoice)
    if dispute.status == Dispute.Status.PENDING_CHECK:
        raise ApplicationError(
            gettext(
                "This dispute is pending check: its admissibility awaits an exchange rate (art. 10)."
            ),
            field="status",
            article="10",
        )
    if dispute.status not in OPEN_DISPUTE_STATUSES:
        raise ApplicationError(
            gettext("This dispute has already been resolved."), field="status", article="10.2"
        )
    if granted > dispute.amount:
        raise ValidationFailed(
            {
                "granted_amount": [
                    gettext("At most the disputed %(currency)s %(amount)s.")
                    % {"currency": dispute.currency, "amount": dispute.amount}
                ]
            },
            article="10.2",
        )
    dispute.resolution, dispute.resolved_at, dispute.resolved_by = (
        resolution,
        _common.now(),
        acting_user,
    )
    dispute.granted_amount = granted
    if granted > 0:
        _grant(dispute, invoice, granted, resolution, acting_user)
    else:
        dispute.status = Dispute.Status.REJECTED
        with_history_user(dispute, acting_user).save()
    after_settlement(invoice, acting_user=acting_user)
    notify(
        key=f"dispute-resolved:{dispute.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=lambda: (
            (
                gettext("Dispute on invoice %(number)s granted")
                if granted > 0
                else gettext("Dispute on invoice %(number)s rejected")
            )
            % {"number": invoice.number}
        ),
        body=lambda: (
            (
                gettext("Granted: %(amount)s, by credit note %(note)s.")
                % {"amount": money(granted, invoice.currency), "note": dispute.credit_note.number}
                if granted > 0
                else gettext("Rejected.")
            )
            + "\n"
            + resolution
        ),
    )
    return dispute

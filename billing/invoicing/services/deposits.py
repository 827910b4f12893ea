"""Deposits (art. 4.7): demanded, held, adjusted, set off on termination and refunded.

A deposit earns no interest (art. 4.7).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from accounts import selectors
from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_money, clean_text
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.kernel.roles import require_billing_staff
from accounts.models import Agreement, Client, Provider, User
from billing.models import Deposit, Invoice, SetOff

from . import _common
from ._common import BATCH, OPEN_STATUSES, ZERO
from .invoices import invoice_due_now
from .payments import after_settlement

DEPOSIT_REFUND_NOTICE_DAYS = 14


def _lock_deposit(deposit: Deposit) -> Deposit:
    return (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=deposit.pk)
    )


@transaction.atomic
def deposit_demand(*, client: Client, amount, acting_user: User, reason: str = "") -> Deposit:
    """CM "is entitled to demand payment of a deposit" (art. 4.7); it earns no interest."""
    require_billing_staff(acting_user)
    amount = clean_money(amount, field="amount", article="4.7")
    client = Client.objects.select_related("provider").get(pk=client.pk)
    deposit = Deposit(
        client=client,
        amount=amount,
        currency=selectors.agreed_currency(client=client),
        demanded_by=acting_user,
        reason=(reason or "").strip(),
    )
    with_history_user(deposit, acting_user).save()
    notify(
        key=f"deposit-demanded:{deposit.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("A deposit is requested"),
        body=lambda: (
            gettext("Please pay a deposit of %(amount)s (art. 4.7). It earns no interest.")
            % {"amount": money(amount, deposit.currency)}
            + f"\n{deposit.reason}"
        ),
    )
    return deposit


@transaction.atomic
def deposit_mark_held(*, deposit: Deposit, amount_received, acting_user: User) -> Deposit:
    """Staff record the deposit money received; the deposit is then held (art. 4.7)."""
    require_billing_staff(acting_user)
    amount = clean_money(amount_received, field="amount_received", article="4.7")
    deposit = _lock_deposit(deposit)
    if deposit.status == Deposit.Status.SETTLED:
        raise ApplicationError(
            gettext("This deposit has been settled."), field="status", article="4.7"
        )
    deposit.amount_held += amount
    deposit.status = Deposit.Status.HELD
    with_history_user(deposit, acting_user).save()
    return deposit


def _set_off_so_far(deposit: Deposit) -> Decimal:
    return SetOff.objects.filter(deposit=deposit).aggregate(s=Sum("amount"))["s"] or ZERO


@transaction.atomic
def deposit_adjust(
    *, deposit: Deposit, amount, acting_user: User, reason: str, amount_held=None
) -> Deposit:
    """ "During the term of the Agreement the deposit may be adjusted after mutual consultation" (art. 4.7).

    Changes the demanded amount (and, when given, what is held, e.g. after money is returned
    or added); the history keeps every version and who made it.
    """
    require_billing_staff(acting_user)
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("Record the consultation behind the adjustment (art. 4.7)."),
    )
    amount = clean_money(amount, field="amount", article="4.7")
    deposit = _lock_deposit(deposit)
    if deposit.status == Deposit.Status.SETTLED:
        raise ApplicationError(
            gettext("A settled deposit is not adjusted."), field="status", article="4.7"
        )
    deposit.amount = amount
    if amount_held is not None:
        held = clean_money(amount_held, field="amount_held", allow_zero=True, article="4.7")
        if held < _set_off_so_far(deposit):
            raise ValidationFailed(
                {"amount_held": [gettext("Less than has already been set off.")]}, article="4.7"
            )
        deposit.amount_held = held
    deposit.reason = f"{deposit.reason}\n{_common.now():%Y-%m-%d}: {reason}".strip()
    with_history_user(deposit, acting_user).save()
    return deposit


def deposit_available(deposit: Deposit) -> Decimal:
    """What of a held deposit is left to set off."""
    if deposit.status != Deposit.Status.HELD:
        return ZERO
    return max(deposit.amount_held - _set_off_so_far(deposit), ZERO)


def termination_date(client: Client) -> dt.date | None:
    """The day the client's agreement ended, once it has (art. 15)."""
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None:
        return None
    provider = client.provider
    if agreement.status == Agreement.Status.TERMINATED:
        if agreement.terminated_at:
            return local_date(provider, agreement.terminated_at)
        return agreement.end_date
    if agreement.end_date and agreement.end_date < _common.today(provider):
        return agreement.end_date
    return None


def _set_off_against_due(deposit: Deposit, left: Decimal, acting_user: User) -> Decimal:
    """Set the deposit off against the client's invoices due now, oldest due first; returns
    what is left of it."""
    client = deposit.client
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .select_related("provider", "client")
        .filter(client=client, kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
        .order_by("due_date", "pk")
    )
    for invoice in invoices:
        if left <= 0:
            break
        take = min(invoice_due_now(invoice), left)
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
        after_settlement(invoice, acting_user=acting_user)
    return left


@transaction.atomic
def deposit_settle(*, deposit: Deposit, acting_user: User) -> Deposit:
    """On termination, set the deposit off against what is due and refund the rest (art. 4.7).

    "Upon termination of the Agreement the deposit will be refunded to the Client after
    set-off of the deposit against any outstanding amounts then due by the Client to CM. The
    deposit shall be transferred back to the client within two (2) whole calendar months
    following termination." Set off against the client's invoices due now, oldest due first
    (a withheld disputed part is not due, `invoice_due_now`); the refund is due by the
    termination date plus the profile's refund months. No interest (art. 4.7).
    """
    require_billing_staff(acting_user)
    deposit = _lock_deposit(deposit)
    client = deposit.client
    if deposit.status != Deposit.Status.HELD:
        raise ApplicationError(
            gettext("Only a held deposit is settled."), field="status", article="4.7"
        )
    ended = termination_date(client)
    if ended is None:
        raise ApplicationError(
            gettext("The deposit is settled once the agreement has ended (art. 4.7)."),
            field="agreement",
            article="4.7",
        )
    left = _set_off_against_due(deposit, deposit_available(deposit), acting_user)
    deposit.status = Deposit.Status.SETTLED
    deposit.refund_amount = left
    deposit.refund_due_by = add_months(ended, client.provider.deposit_refund_months)
    if left == 0:
        deposit.refunded_at = _common.now()
        deposit.refund_reference = "nothing left to refund after set-off"
    with_history_user(deposit, acting_user).save()
    notify(
        key=f"deposit-settled:{deposit.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your deposit has been settled"),
        body=(
            lambda: (
                gettext(
                    "Deposit held: %(held)s; set off: %(set_off)s; to be refunded: %(refund)s, by "
                    "%(date)s (art. 4.7)."
                )
                % {
                    "held": money(deposit.amount_held, deposit.currency),
                    "set_off": money(deposit.amount_held - left, deposit.currency),
                    "refund": money(left, deposit.currency),
                    "date": f"{deposit.refund_due_by:%Y-%m-%d}",
                }
            )
        ),
    )
    return deposit


@transaction.atomic
def deposit_refund_record(*, deposit: Deposit, reference: str, acting_user: User) -> Deposit:
    """Staff record the refund of a settled deposit (art. 4.7)."""
    require_billing_staff(acting_user)
    reference = clean_text(
        reference,
        field="reference",
        message=gettext("Give the bank reference of the refund."),
        max_length=200,
    )
    deposit = _lock_deposit(deposit)
    if deposit.status != Deposit.Status.SETTLED:
        raise ApplicationError(
            gettext("Settle the deposit against what is owed first (art. 4.7)."),
            field="status",
            article="4.7",
        )
    if deposit.refunded_at is not None:
        raise ApplicationError(gettext("The refund is already recorded."), field="refunded_at")
    deposit.refunded_at = _common.now()
    deposit.refund_reference = reference
    with_history_user(deposit, acting_user).save()
    return deposit


def _flag_refund(deposit: Deposit, kind: str, field: str, now: dt.datetime) -> bool:
    with transaction.atomic():
        if not Deposit.objects.filter(pk=deposit.pk, **{field: None}).update(**{field: now}):
            return False  # another run claimed it
        notify(
            key=f"deposit-refund-{kind}:{deposit.pk}",
            client=deposit.client,
            recipients=staff_emails(User.Role.BILLING_STAFF, provider=deposit.client.provider_id),
            subject=lambda: (
                (
                    gettext("Deposit refund overdue: %(client)s")
                    if kind == "overdue"
                    else gettext("Deposit refund coming due: %(client)s")
                )
                % {"client": deposit.client.legal_name}
            ),
            body=lambda: (
                gettext("Refund %(amount)s by %(date)s (art. 4.7).")
                % {
                    "amount": money(deposit.refund_amount, deposit.currency),
                    "date": f"{deposit.refund_due_by:%Y-%m-%d}",
                }
            ),
        )
        return True


def deposit_refunds_flag(
    *, today: dt.date | None = None, notice_days: int = DEPOSIT_REFUND_NOTICE_DAYS
) -> dict[str, Any]:
    """Job: tell billing staff of deposit refunds coming due and overdue, once each (art. 4.7)."""
    result = {"coming_due": 0, "overdue": 0}
    now = _common.now()
    for provider in Provider.objects.order_by("pk"):
        day = today or _common.today(provider)
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
                if _flag_refund(deposit, kind, field, now):
                    result[kind] += 1
    return result

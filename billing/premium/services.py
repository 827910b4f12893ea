"""Premium services' revenue (CXENGAGE Part V), every write in a transaction.

The articles, as the CXENGAGE terms state them (terms/000, Part V – Premium SMS, DCB, and Voice):

- General Provisions: "Service Reporting: Clients must notify CXENGAGE in advance of changes to
  End User Services."
- Revenue and Payments: "Revenue Basis: Only amounts actually received from operators are paid
  out." "Delayed or Partial Operator Payments: CXENGAGE isn't liable to pay more than it
  receives." "Payment Disputes: Must be raised within 10 days with supporting documentation."
  "Chargebacks: Clients are liable for any End User chargebacks and associated fees." "Right of
  Offset: CXENGAGE can deduct owed amounts from revenue payments." "Tax Responsibility: ...
  CXENGAGE may withhold taxes as required."
- End User & Operator Complaints: "Fees: CXENGAGE may charge administrative fees for handling
  complaints or refunds." "Refund Campaigns: Misconduct may lead to €5,000 fine for campaign
  costs."

Every money movement is a `PremiumLedgerEntry` recorded once per idempotency key; a statement's
balance is the sum of its entries, and nothing is paid out or offset beyond it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel import roles
from accounts.kernel.dates import local_date, local_midnight
from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_date, clean_money, clean_text, optional_text
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.kernel.uploads import document_check
from accounts.models import Client, User
from billing.invoicing.services import _common as invoicing_common
from billing.invoicing.services.exchange_rates import convert
from billing.invoicing.services.invoices import invoice_outstanding
from billing.invoicing.services.payments import after_settlement
from billing.models import (
    Invoice,
    PremiumDispute,
    PremiumDisputeDocument,
    PremiumLedgerEntry,
    PremiumServiceChange,
    PremiumStatement,
    SetOff,
)

ZERO = Decimal("0")
PART_V = "CX Part V"
Kind = PremiumLedgerEntry.Kind
# What staff deduct by hand on a statement (the refund-campaign charge has its own service: its
# amount is the profile's, not the staff's).
DEDUCTIONS = (Kind.CHARGEBACK, Kind.CHARGEBACK_FEE, Kind.COMPLAINT_FEE, Kind.TAX_WITHHELD)


# --- Who, and for which provider --------------------------------------------------------------
def require_premium_offered(client: Client, *, field: str = "client") -> None:
    """Only a provider whose terms have Part V offers premium services (the profile's
    `offers_premium_services`); another provider's client is refused on the field."""
    if not client.provider.offers_premium_services:
        raise ValidationFailed(
            {
                field: [
                    gettext(
                        "This client's provider does not offer premium SMS, direct carrier "
                        "billing or premium voice (CX Part V)."
                    )
                ]
            },
            article=PART_V,
        )


def _require_staff_for(user: User, client: Client) -> None:
    roles.require_billing_staff(user)
    if not user.serves(client):
        raise NotAllowed(gettext("You do not act for this client's provider (art. 11.1)."))


def _key(value: object) -> str:
    return clean_text(
        value,
        field="idempotency_key",
        message=gettext("An idempotency key is required."),
        max_length=200,
    )


def _lock(statement: PremiumStatement) -> PremiumStatement:
    """The statement under a row lock: every movement on it is serialised, so two payouts
    cannot both see the same balance."""
    return (
        PremiumStatement.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=statement.pk)
    )


def statement_balance(statement: PremiumStatement) -> Decimal:
    """What of the statement is left to pay out: the sum of its ledger entries (received from the
    operators, less deductions, offsets and payouts)."""
    total = PremiumLedgerEntry.objects.filter(statement=statement).aggregate(s=Sum("amount"))["s"]
    return total or ZERO


def _require_issued(statement: PremiumStatement, what: str) -> None:
    if statement.status != PremiumStatement.Status.ISSUED:
        raise ApplicationError(
            gettext("Issue the statement to the client before %(what)s.") % {"what": what},
            field="statement",
            code="statement_not_issued",
            article=PART_V,
        )


def _entry(
    statement: PremiumStatement,
    *,
    kind: str,
    amount: Decimal,
    occurred_on: dt.date,
    key: str,
    acting_user: User,
    **extra: Any,
) -> tuple[PremiumLedgerEntry, bool]:
    """One ledger entry, once per key: the same key with the same movement answers the entry
    already there; with another movement it is a Conflict that records nothing."""
    signed = amount if kind == Kind.RECEIPT else -amount

    def same(row: PremiumLedgerEntry) -> bool:
        return (row.statement_id, row.kind, row.amount, row.occurred_on) == (
            statement.pk,
            kind,
            signed,
            occurred_on,
        )

    return create_once(
        PremiumLedgerEntry,
        key_lookup={"idempotency_key": key},
        values={
            "statement": statement,
            "client": statement.client,
            "kind": kind,
            "amount": signed,
            "currency": statement.currency,
            "occurred_on": occurred_on,
            "recorded_by": acting_user,
            **extra,
        },
        same=same,
        conflict_message=gettext("This idempotency key was used for another movement."),
        field="idempotency_key",
    )


def _replay(key: str, *, statement: PremiumStatement, kind: str) -> PremiumLedgerEntry | None:
    """The entry a repeated request already recorded under `key`, or None; a key used for
    another statement or kind of movement is a Conflict."""
    existing = PremiumLedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.statement_id != statement.pk or existing.kind != kind:
        raise Conflict(
            gettext("This idempotency key was used for another movement."), field="idempotency_key"
        )
    return existing


def _not_in_future(day: dt.date, statement: PremiumStatement, field: str) -> None:
    if day > local_date(statement.client.provider):
        raise ValidationFailed({field: [gettext("The date cannot be in the future.")]})


# --- Statements -------------------------------------------------------------------------------
@transaction.atomic
def premium_statement_create(
    *,
    client: Client,
    operator: str,
    period_start: object,
    period_end: object,
    acting_user: User,
    currency: str = "",
) -> PremiumStatement:
    """A revenue statement of `client` for one period and one operator (CX Part V, Revenue and
    Payments: "Only amounts actually received from operators are paid out"): a draft that staff
    fill with what the operator paid and what is deducted, then issue."""
    _require_staff_for(acting_user, client)
    require_premium_offered(client)
    operator = clean_text(
        operator, field="operator", message=gettext("Name the operator."), max_length=100
    )
    start = clean_date(period_start, field="period_start")
    end = clean_date(period_end, field="period_end")
    if end < start:
        raise ValidationFailed({"period_end": [gettext("The period cannot end before it starts.")]})
    currency = (currency or client.provider.currency).strip().upper()
    if len(currency) != 3:
        raise ValidationFailed({"currency": [gettext("Give the currency as ISO 4217, e.g. EUR.")]})
    statement = PremiumStatement(
        client=client,
        operator=operator,
        period_start=start,
        period_end=end,
        currency=currency,
        created_by=acting_user,
    )
    try:
        with transaction.atomic():
            save_with_history(statement, acting_user)
    except IntegrityError:
        raise ValidationFailed(
            {
                "operator": [
                    gettext("This client already has a statement for this operator and period.")
                ]
            }
        ) from None
    return statement


@transaction.atomic
def premium_receipt_record(
    *,
    statement: PremiumStatement,
    amount: object,
    received_on: object,
    acting_user: User,
    idempotency_key: str,
    operator_billed: object = None,
    reference: str = "",
) -> PremiumLedgerEntry:
    """Record what an operator actually paid for the statement's period (CX Part V, Revenue and
    Payments: "Revenue Basis: Only amounts actually received from operators are paid out";
    "Delayed or Partial Operator Payments: CXENGAGE isn't liable to pay more than it receives").
    What the operator billed its end users is shown beside it, never paid out; a late or partial
    payment is recorded when it arrives, on a draft or an issued statement."""
    key = _key(idempotency_key)
    value = clean_money(amount, field="amount", article=PART_V)
    day = clean_date(received_on, field="received_on")
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    existing = _replay(key, statement=statement, kind=Kind.RECEIPT)
    if existing is not None:
        if (existing.amount, existing.occurred_on) != (value, day):
            raise Conflict(
                gettext("This idempotency key was used for another movement."),
                field="idempotency_key",
            )
        return existing
    billed = None
    if operator_billed not in (None, ""):
        billed = clean_money(operator_billed, field="operator_billed", article=PART_V)
        if value > billed:
            raise ValidationFailed(
                {
                    "amount": [
                        gettext(
                            "The operator cannot have paid more than it billed its end users "
                            "(%(billed)s %(currency)s)."
                        )
                        % {"billed": billed, "currency": statement.currency}
                    ]
                },
                article=PART_V,
            )
    _not_in_future(day, statement, "received_on")
    if day < statement.period_start:
        raise ValidationFailed(
            {"received_on": [gettext("Money for the period cannot arrive before it starts.")]}
        )
    entry, _ = _entry(
        statement,
        kind=Kind.RECEIPT,
        amount=value,
        occurred_on=day,
        key=key,
        acting_user=acting_user,
        operator_billed=billed,
        reference=optional_text(reference)[:200],
    )
    return entry


@transaction.atomic
def premium_deduction_record(
    *,
    statement: PremiumStatement,
    kind: str,
    amount: object,
    occurred_on: object,
    note: str,
    acting_user: User,
    idempotency_key: str,
    reference: str = "",
) -> PremiumLedgerEntry:
    """Deduct from the statement what the client owes under Part V: an end-user chargeback and
    its fee ("Chargebacks: Clients are liable for any End User chargebacks and associated
    fees"), an administrative fee for handling a complaint or refund ("Fees: CXENGAGE may charge
    administrative fees for handling complaints or refunds"), or tax withheld ("CXENGAGE may
    withhold taxes as required"). Each says what it is for. A deduction larger than what is
    left on the statement leaves it owing: it is never paid out from other money."""
    if kind not in DEDUCTIONS:
        raise ValidationFailed(
            {"kind": [gettext("Choose a chargeback, a chargeback fee, a complaint fee or tax.")]}
        )
    key = _key(idempotency_key)
    value = clean_money(amount, field="amount", article=PART_V)
    day = clean_date(occurred_on, field="occurred_on")
    text = clean_text(
        note,
        field="note",
        message=gettext("Say what the deduction is for (the end user, the complaint)."),
    )
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    existing = _replay(key, statement=statement, kind=kind)
    if existing is not None:
        if (existing.amount, existing.occurred_on) != (-value, day):
            raise Conflict(
                gettext("This idempotency key was used for another movement."),
                field="idempotency_key",
            )
        return existing
    _not_in_future(day, statement, "occurred_on")
    entry, _ = _entry(
        statement,
        kind=kind,
        amount=value,
        occurred_on=day,
        key=key,
        acting_user=acting_user,
        note=text,
        reference=optional_text(reference)[:200],
    )
    return entry


@transaction.atomic
def premium_chargeback_record(
    *,
    statement: PremiumStatement,
    amount: object,
    fee: object,
    occurred_on: object,
    end_user_reference: str,
    acting_user: User,
    idempotency_key: str,
) -> list[PremiumLedgerEntry]:
    """An end user's chargeback and the fee charged for it, both deducted (CX Part V, Revenue and
    Payments: "Chargebacks: Clients are liable for any End User chargebacks and associated
    fees"): two entries under one request key."""
    key = _key(idempotency_key)
    reference = clean_text(
        end_user_reference,
        field="end_user_reference",
        message=gettext("Name the end user's transaction that was charged back."),
        max_length=200,
    )
    note = gettext("Chargeback of %(reference)s") % {"reference": reference}
    entries = [
        premium_deduction_record(
            statement=statement,
            kind=Kind.CHARGEBACK,
            amount=amount,
            occurred_on=occurred_on,
            note=note,
            reference=reference,
            acting_user=acting_user,
            idempotency_key=f"{key}:chargeback",
        )
    ]
    if fee not in (None, "") and to_amount(fee) != ZERO:
        entries.append(
            premium_deduction_record(
                statement=statement,
                kind=Kind.CHARGEBACK_FEE,
                amount=fee,
                occurred_on=occurred_on,
                note=note,
                reference=reference,
                acting_user=acting_user,
                idempotency_key=f"{key}:fee",
            )
        )
    return entries


def to_amount(value: object) -> Decimal:
    return clean_money(value, field="fee", allow_zero=True, article=PART_V)


@transaction.atomic
def premium_refund_campaign_charge(
    *,
    statement: PremiumStatement,
    misconduct: str,
    occurred_on: object,
    acting_user: User,
    idempotency_key: str,
) -> PremiumLedgerEntry:
    """Charge the refund campaign that the client's misconduct made necessary (CX Part V, End
    User & Operator Complaints: "Refund Campaigns: Misconduct may lead to €5,000 fine for
    campaign costs"). The amount is the profile's (`premium_refund_campaign_charge` in
    `premium_refund_campaign_currency`), converted to the statement's currency at the rate in
    force that day; without a rate on file nothing is charged."""
    key = _key(idempotency_key)
    text = clean_text(
        misconduct,
        field="misconduct",
        message=gettext("Describe the misconduct that made the refund campaign necessary."),
    )
    day = clean_date(occurred_on, field="occurred_on")
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    existing = _replay(key, statement=statement, kind=Kind.REFUND_CAMPAIGN)
    if existing is not None:
        if existing.occurred_on != day:
            raise Conflict(
                gettext("This idempotency key was used for another movement."),
                field="idempotency_key",
            )
        return existing
    _not_in_future(day, statement, "occurred_on")
    provider = statement.client.provider
    charge = provider.premium_refund_campaign_charge
    charge_currency = provider.premium_refund_campaign_currency
    amount = convert(
        amount=charge, from_currency=charge_currency, to_currency=statement.currency, on=day
    )
    if amount is None:
        raise ApplicationError(
            gettext(
                "No %(source)s→%(target)s exchange rate on file for %(day)s: the refund-campaign "
                "charge of %(charge)s %(source)s cannot be converted (CX Part V)."
            )
            % {
                "source": charge_currency,
                "target": statement.currency,
                "day": day.isoformat(),
                "charge": charge,
            },
            field="occurred_on",
            code="no_exchange_rate",
            article=PART_V,
        )
    entry, _ = _entry(
        statement,
        kind=Kind.REFUND_CAMPAIGN,
        amount=amount,
        occurred_on=day,
        key=key,
        acting_user=acting_user,
        note=text,
        source_amount=charge,
        source_currency=charge_currency,
    )
    return entry


def dispute_deadline(statement: PremiumStatement, issued_at: dt.datetime) -> dt.datetime:
    """CX Part V, Revenue and Payments: "Payment Disputes: Must be raised within 10 days with
    supporting documentation". The article says days, not Working Days (which it says where it
    means them, 13.7): calendar days (`premium_dispute_days`), counted from the day the statement
    was issued in the provider's time zone, to the last moment of the tenth day."""
    provider = statement.client.provider
    last_day = local_date(provider, issued_at) + dt.timedelta(days=provider.premium_dispute_days)
    return local_midnight(provider, last_day + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)


@transaction.atomic
def premium_statement_issue(
    *, statement: PremiumStatement, acting_user: User, now: dt.datetime | None = None
) -> PremiumStatement:
    """Issue the statement to the client: it shows what the operator billed, what it actually
    paid and what is deducted, and opens the client's 10 days to dispute the payment (CX Part
    V, Revenue and Payments)."""
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    if statement.status != PremiumStatement.Status.DRAFT:
        raise Conflict(gettext("This statement was already issued."), field="status")
    now = now or timezone.now()
    statement.status = PremiumStatement.Status.ISSUED
    statement.issued_at = now
    statement.issued_by = acting_user
    statement.dispute_deadline = dispute_deadline(statement, now)
    save_with_history(statement, acting_user)
    client = statement.client
    notify(
        key=f"premium-statement:{statement.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            gettext("Revenue statement %(operator)s %(start)s – %(end)s")
            % {
                "operator": statement.operator,
                "start": f"{statement.period_start:%Y-%m-%d}",
                "end": f"{statement.period_end:%Y-%m-%d}",
            }
        ),
        body=lambda: (
            gettext(
                "Your revenue statement is available in the portal. Only amounts actually "
                "received from the operator are paid out. A payment dispute must be raised with "
                "supporting documents by %(deadline)s (CX Part V)."
            )
            % {"deadline": f"{statement.dispute_deadline:%Y-%m-%d %H:%M %Z}"}
        ),
    )
    return statement


# --- The right of offset and payouts ----------------------------------------------------------
def _over_balance(amount: Decimal, balance: Decimal, statement: PremiumStatement) -> None:
    if amount > balance:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "Only amounts actually received from the operators are paid out or "
                        "offset: %(balance)s %(currency)s is left on this statement (received, "
                        "less deductions, offsets and payouts; CX Part V)."
                    )
                    % {"balance": max(balance, ZERO), "currency": statement.currency}
                ]
            },
            article=PART_V,
        )


@transaction.atomic
def premium_offset_record(
    *,
    statement: PremiumStatement,
    invoice: Invoice,
    amount: object,
    acting_user: User,
    idempotency_key: str,
) -> PremiumLedgerEntry:
    """Offset what the client owes on an open invoice against its revenue (CX Part V, Revenue and
    Payments: "Right of Offset: CXENGAGE can deduct owed amounts from revenue payments"; art.
    9.1: set-off). Recorded as a `SetOff` of the invoice (source: premium revenue), which pays
    it, and as a ledger entry that reduces what is paid out; never more than is left on the
    statement or outstanding on the invoice, in the same currency."""
    key = _key(idempotency_key)
    value = clean_money(amount, field="amount", article=PART_V)
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    existing = _replay(key, statement=statement, kind=Kind.OFFSET)
    if existing is not None:
        if existing.amount != -value or (
            existing.set_off is not None and existing.set_off.invoice_id != invoice.pk
        ):
            raise Conflict(
                gettext("This idempotency key was used for another movement."),
                field="idempotency_key",
            )
        return existing
    _require_issued(statement, gettext("offsetting its revenue"))
    invoice = invoicing_common.lock_invoice(invoice)
    if invoice.client_id != statement.client_id:
        raise NotAllowed(gettext("The invoice belongs to another client."), field="invoice")
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in invoicing_common.OPEN_STATUSES:
        raise ValidationFailed(
            {"invoice": [gettext("An offset goes against an open invoice of the client.")]},
            article=PART_V,
        )
    if invoice.currency != statement.currency:
        raise ValidationFailed(
            {"invoice": [gettext("The statement and the invoice are in different currencies.")]},
            article=PART_V,
        )
    _over_balance(value, statement_balance(statement), statement)
    owed = invoice_outstanding(invoice)
    if value > owed:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "Invoice %(number)s still owes %(owed)s %(currency)s; no more is offset."
                    )
                    % {"number": invoice.number, "owed": owed, "currency": invoice.currency}
                ]
            },
            article=PART_V,
        )
    set_off, _ = create_once(
        SetOff,
        key_lookup={"idempotency_key": f"premium:{key}"},
        values={
            "client": statement.client,
            "source": SetOff.Source.PREMIUM_REVENUE,
            "premium_statement": statement,
            "invoice": invoice,
            "amount": value,
            "currency": invoice.currency,
            "recorded_by": acting_user,
        },
        same=lambda row: (row.invoice_id, row.amount) == (invoice.pk, value),
        conflict_message=gettext("This idempotency key was used for another movement."),
        field="idempotency_key",
    )
    entry, _ = _entry(
        statement,
        kind=Kind.OFFSET,
        amount=value,
        occurred_on=local_date(statement.client.provider),
        key=key,
        acting_user=acting_user,
        set_off=set_off,
        reference=invoice.number or "",
    )
    after_settlement(invoice, acting_user=acting_user)
    notify(
        key=f"premium-offset:{entry.pk}",
        client=statement.client,
        recipients=client_recipients(statement.client),
        subject=lambda: (
            gettext("Revenue offset against invoice %(number)s") % {"number": invoice.number}
        ),
        body=lambda: (
            gettext(
                "%(amount)s of your revenue (%(operator)s, %(start)s – %(end)s) was offset "
                "against invoice %(number)s (CX Part V, right of offset)."
            )
            % {
                "amount": money(value, statement.currency),
                "operator": statement.operator,
                "start": f"{statement.period_start:%Y-%m-%d}",
                "end": f"{statement.period_end:%Y-%m-%d}",
                "number": invoice.number,
            }
        ),
    )
    return entry


@transaction.atomic
def premium_payout_record(
    *,
    statement: PremiumStatement,
    amount: object,
    paid_on: object,
    acting_user: User,
    idempotency_key: str,
    reference: str = "",
) -> PremiumLedgerEntry:
    """Pay revenue out to the client, once per idempotency key (CX Part V, Revenue and Payments:
    "Only amounts actually received from operators are paid out"; "CXENGAGE isn't liable to pay
    more than it receives"): never more than the statement's balance, which is what the operator
    paid less chargebacks, fees, charges, tax withheld, offsets and earlier payouts."""
    key = _key(idempotency_key)
    value = clean_money(amount, field="amount", article=PART_V)
    day = clean_date(paid_on, field="paid_on")
    statement = _lock(statement)
    _require_staff_for(acting_user, statement.client)
    existing = _replay(key, statement=statement, kind=Kind.PAYOUT)
    if existing is not None:
        if (existing.amount, existing.occurred_on) != (-value, day):
            raise Conflict(
                gettext("This idempotency key was used for another movement."),
                field="idempotency_key",
            )
        return existing
    _require_issued(statement, gettext("paying out its revenue"))
    _not_in_future(day, statement, "paid_on")
    _over_balance(value, statement_balance(statement), statement)
    entry, created = _entry(
        statement,
        kind=Kind.PAYOUT,
        amount=value,
        occurred_on=day,
        key=key,
        acting_user=acting_user,
        reference=optional_text(reference)[:200],
    )
    if created:
        notify(
            key=f"premium-payout:{entry.pk}",
            client=statement.client,
            recipients=client_recipients(statement.client),
            subject=lambda: (
                gettext("Revenue paid out: %(amount)s")
                % {"amount": money(value, statement.currency)}
            ),
            body=lambda: (
                gettext(
                    "%(amount)s of your revenue (%(operator)s, %(start)s – %(end)s) was paid out "
                    "on %(day)s."
                )
                % {
                    "amount": money(value, statement.currency),
                    "operator": statement.operator,
                    "start": f"{statement.period_start:%Y-%m-%d}",
                    "end": f"{statement.period_end:%Y-%m-%d}",
                    "day": f"{day:%Y-%m-%d}",
                }
            ),
        )
    return entry


# --- Payment disputes -------------------------------------------------------------------------
@transaction.atomic
def premium_dispute_raise(
    *,
    statement: PremiumStatement,
    reason: str,
    documents: Sequence[File[bytes]],
    acting_user: User,
    amount_claimed: object = None,
    now: dt.datetime | None = None,
) -> PremiumDispute:
    """The client disputes the payment on a statement (CX Part V, Revenue and Payments: "Payment
    Disputes: Must be raised within 10 days with supporting documentation"): only an issued
    statement, up to the end of the tenth calendar day after it was issued, with at least one
    document. A late dispute is refused and records nothing."""
    statement = _lock(statement)
    roles.require_client_admin(
        acting_user,
        statement.client,
        message=gettext("Only an admin of this client may dispute a statement (art. 5.2)."),
    )
    now = now or timezone.now()
    if statement.status != PremiumStatement.Status.ISSUED or statement.dispute_deadline is None:
        raise ApplicationError(
            gettext("Only an issued statement can be disputed."),
            field="statement",
            code="statement_not_issued",
            article=PART_V,
        )
    provider = statement.client.provider
    if now > statement.dispute_deadline:
        raise ApplicationError(
            gettext(
                "Too late: a payment dispute must be raised within %(days)s days of the "
                "statement, by %(deadline)s (CX Part V, Revenue and Payments). This statement was "
                "issued on %(issued)s; the dispute is not recorded."
            )
            % {
                "days": provider.premium_dispute_days,
                "deadline": local_date(provider, statement.dispute_deadline).isoformat(),
                "issued": local_date(provider, statement.issued_at).isoformat()
                if statement.issued_at
                else "",
            },
            field="statement",
            code="dispute_too_late",
            article=PART_V,
        )
    text = clean_text(
        reason, field="reason", message=gettext("Say what is wrong with the payment.")
    )
    files = [f for f in documents if f]
    if not files:
        raise ValidationFailed(
            {
                "documents": [
                    gettext("A payment dispute needs supporting documentation (CX Part V).")
                ]
            },
            article=PART_V,
        )
    for file in files:
        document_check(file, field="documents", what=gettext("The supporting document"))
    claimed = None
    if amount_claimed not in (None, ""):
        claimed = clean_money(amount_claimed, field="amount_claimed", article=PART_V)
    dispute = PremiumDispute(
        statement=statement,
        client=statement.client,
        reason=text,
        amount_claimed=claimed,
        currency=statement.currency,
        raised_at=now,
        raised_by=acting_user,
    )
    save_with_history(dispute, acting_user)
    for file in files:
        document = PremiumDisputeDocument(dispute=dispute)
        document.file.save(getattr(file, "name", "document.pdf"), file, save=False)
        document.save()
    notify(
        key=f"premium-dispute:{dispute.pk}",
        client=statement.client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=provider),
        subject=lambda: (
            gettext("Payment dispute by %(client)s") % {"client": statement.client.legal_name}
        ),
        body=f"{statement.operator} {statement.period_start:%Y-%m-%d}: {text}",
    )
    return dispute


@transaction.atomic
def premium_dispute_resolve(
    *, dispute: PremiumDispute, upheld: bool, resolution: str, acting_user: User
) -> PremiumDispute:
    """Staff answer a payment dispute: upheld (a corrected receipt follows on the statement) or
    rejected, with the reasons in writing."""
    dispute = (
        PremiumDispute.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=dispute.pk)
    )
    _require_staff_for(acting_user, dispute.client)
    text = clean_text(
        resolution, field="resolution", message=gettext("Give the answer in writing.")
    )
    if dispute.status != PremiumDispute.Status.OPEN:
        raise Conflict(gettext("This dispute was already answered."), field="status")
    dispute.status = PremiumDispute.Status.UPHELD if upheld else PremiumDispute.Status.REJECTED
    dispute.resolution = text
    dispute.resolved_at = timezone.now()
    dispute.resolved_by = acting_user
    save_with_history(dispute, acting_user)
    notify(
        key=f"premium-dispute-answer:{dispute.pk}",
        client=dispute.client,
        recipients=client_recipients(dispute.client),
        subject=lambda: (
            gettext("Your payment dispute: %(status)s") % {"status": dispute.get_status_display()}
        ),
        body=text,
    )
    return dispute


# --- Advance notice of changes to end-user services -------------------------------------------
def earliest_change_day(client: Client, now: dt.datetime | None = None) -> dt.date:
    """CX Part V, General Provisions: "Service Reporting: Clients must notify CXENGAGE in advance
    of changes to End User Services." The article fixes no number of days: the profile's
    `premium_change_notice_days` (at least one) is the lead time, in calendar days from the day
    of the notice in the provider's time zone."""
    provider = client.provider
    lead = max(provider.premium_change_notice_days, 1)
    return local_date(provider, now) + dt.timedelta(days=lead)


@transaction.atomic
def premium_service_change_notify(
    *,
    client: Client,
    service: str,
    change: str,
    effective_on: object,
    acting_user: User,
    now: dt.datetime | None = None,
) -> PremiumServiceChange:
    """The client notifies a change to one of its end-user services before it takes effect (CX
    Part V, General Provisions: "Clients must notify CXENGAGE in advance of changes to End User
    Services"); a change that would take effect sooner than the lead time is refused."""
    roles.require_client_admin(
        acting_user,
        client,
        staff_may=True,
        message=gettext("Only an admin of this client may notify a service change (art. 5.2)."),
    )
    require_premium_offered(client)
    now = now or timezone.now()
    name = clean_text(
        service, field="service", message=gettext("Name the end-user service."), max_length=200
    )
    text = clean_text(change, field="change", message=gettext("Describe the change."))
    day = clean_date(effective_on, field="effective_on")
    earliest = earliest_change_day(client, now)
    if day < earliest:
        raise ValidationFailed(
            {
                "effective_on": [
                    gettext(
                        "A change to an end-user service must be notified in advance: at least "
                        "%(days)s day(s) before it takes effect, so %(earliest)s at the earliest "
                        "(CX Part V, General Provisions)."
                    )
                    % {
                        "days": max(client.provider.premium_change_notice_days, 1),
                        "earliest": earliest.isoformat(),
                    }
                ]
            },
            article=PART_V,
        )
    notice = PremiumServiceChange(
        client=client,
        service=name,
        change=text,
        effective_on=day,
        notice_days=max(client.provider.premium_change_notice_days, 1),
        notified_at=now,
        notified_by=acting_user,
    )
    save_with_history(notice, acting_user)
    notify(
        key=f"premium-service-change:{notice.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider),
        subject=lambda: (
            gettext("Service change notified by %(client)s") % {"client": client.legal_name}
        ),
        body=lambda: (
            gettext("%(service)s, from %(day)s: %(change)s (CX Part V, service reporting)")
            % {"service": name, "day": f"{day:%Y-%m-%d}", "change": text}
        ),
    )
    return notice


@transaction.atomic
def premium_service_change_acknowledge(
    *, notice: PremiumServiceChange, acting_user: User
) -> PremiumServiceChange:
    """Staff acknowledge the client's notice of a service change."""
    notice = (
        PremiumServiceChange.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=notice.pk)
    )
    _require_staff_for(acting_user, notice.client)
    if notice.acknowledged_at is not None:
        raise Conflict(gettext("This notice was already acknowledged."), field="status")
    notice.acknowledged_at = timezone.now()
    notice.acknowledged_by = acting_user
    return save_with_history(notice, acting_user)

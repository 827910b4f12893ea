"""Payments received against invoices, and what follows money reaching an invoice (art. 4.10,
7.3, 26.2).

**Payments settle what they say**: `Payment.amount` is the net amount received; bank fees are
kept for the record and never count as paid (art. 4.10).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.utils.translation import gettext

from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_date, clean_money, clean_text
from accounts.kernel.roles import require_billing_staff
from accounts.models import User
from billing.models import ClientCreditEntry, Invoice, MessageAccount, Payment
from billing.prepaid.services import limits

from . import _common
from ._common import KEY_REQUIRED, OPEN_STATUSES, ZERO
from .invoices import invoice_outstanding, invoice_settled, invoice_status_refresh
from .suspension import resume_if_cleared

KEY_USED = "This idempotency key was already used for another payment."


def messages_release(invoice: Invoice, *, acting_user: User | None) -> int:
    """Lower the unpaid message count by the messages the settled part of the invoice covers.

    Proportional to what is settled (paid or set off), all of them once the invoice is paid
    (art. 26.2). `messages_released` remembers what was released, so nothing is released
    twice. Messages that staff already marked paid by hand are not counted again: the
    release never takes the count below zero.
    """
    covered = invoice.messages_covered
    if not covered or invoice.total <= 0:
        return 0
    settled = invoice_settled(invoice)
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


def after_settlement(invoice: Invoice, *, acting_user: User | None) -> None:
    """What follows money reaching an invoice: status, messages paid, resumption (art. 4.10, 7.3, 26.2)."""
    invoice_status_refresh(invoice, acting_user=acting_user)
    messages_release(invoice, acting_user=acting_user)
    resume_if_cleared(invoice.client, acting_user=acting_user)


def payment_fits_outstanding(invoice: Invoice, amount: Decimal) -> None:
    """A payment is recorded against an invoice only up to what is outstanding on it (total −
    paid − set-offs): an overpayment is refused, naming the outstanding amount, so no money is
    silently absorbed. The excess is the client's (art. 9.1 set-off, or a refund)."""
    outstanding = invoice_outstanding(invoice)
    if amount > outstanding:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "%(currency)s %(amount)s is more than the %(currency)s %(outstanding)s outstanding on invoice %(number)s: record at most the outstanding amount; the excess is the client's to set off or refund (art. 9.1)."
                    )
                    % {
                        "currency": invoice.currency,
                        "amount": f"{amount:,.2f}",
                        "outstanding": f"{outstanding:,.2f}",
                        "number": invoice.number,
                    }
                ]
            },
            article="9.1",
        )


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
    excess_to_credit: bool = False,
) -> Payment:
    """Record money received against an invoice, in full or in part (art. 4.10).

    "The net amount received by CM shall correspond to the amount invoiced. In this regard,
    the Client remains liable to pay the any shortfall": `amount` is what arrived; the bank
    fee is kept for the record and the shortfall stays owed (partly paid). The invoice is paid
    once paid plus set off reaches its total. The messages it covers are released in
    proportion (art. 26.2), and a client suspended for non-payment resumes once nothing is
    overdue past the grace period any more (art. 7.3). The same idempotency key records once.
    One transaction (the invoice page calls it outside any): a refused payment changes nothing.

    More than is outstanding is refused (`payment_fits_outstanding`), unless `excess_to_credit`:
    then the outstanding part is the payment and the excess becomes the client's credit (art.
    9.1, `client_credit.client_credit_add`, key `<key>:excess`), never absorbed.
    """
    require_billing_staff(acting_user)
    key = clean_text(idempotency_key, field="idempotency_key", message=KEY_REQUIRED, max_length=200)
    amount = clean_money(amount, field="amount", article="4.10")
    bank_fee = clean_money(
        bank_fee if bank_fee is not None else "0", field="bank_fee", allow_zero=True, article="4.10"
    )
    received_on = clean_date(received_on, field="received_on")
    reference = (reference or "").strip()[:200]

    def same(existing: Payment) -> bool:
        return (
            existing.invoice_id,
            existing.amount + _excess_recorded(existing),
            existing.received_on,
            existing.bank_fee,
        ) == (
            invoice.pk,
            amount,
            received_on,
            bank_fee,
        )

    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if not same(existing):
            raise Conflict(KEY_USED, field="idempotency_key")
        return existing
    invoice = _common.lock_invoice(invoice)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            gettext("Payments are recorded against issued invoices; this one is %(status)s.")
            % {"status": invoice.get_status_display().lower()},
            field="invoice",
            article="4.10",
        )
    if received_on > _common.today(invoice.provider):
        raise ValidationFailed(
            {"received_on": [gettext("A payment is not received in the future.")]}
        )
    excess = ZERO
    if excess_to_credit:
        outstanding = invoice_outstanding(invoice)
        excess = max(amount - outstanding, ZERO)
        if excess and outstanding <= 0:
            raise ApplicationError(
                f"Invoice {invoice.number} has nothing outstanding: record the money as the "
                "client's credit (payment without an invoice), not as a payment of it.",
                field="invoice",
                article="9.1",
            )
    payment_fits_outstanding(invoice, amount - excess)
    payment, created = create_once(
        Payment,
        key_lookup={"idempotency_key": key},
        values={
            "invoice": invoice,
            "amount": amount - excess,
            "currency": invoice.currency,
            "received_on": received_on,
            "reference": reference,
            "bank_fee": bank_fee,
            "recorded_by": acting_user,
        },
        same=same,
        conflict_message=KEY_USED,
        field="idempotency_key",
    )
    if not created:
        return payment
    invoice.amount_paid += payment.amount
    with_history_user(invoice, acting_user).save()
    if excess:
        from .client_credit import client_credit_add

        client_credit_add(
            client=invoice.client,
            currency=invoice.currency,
            amount=excess,
            kind=ClientCreditEntry.Kind.OVERPAYMENT,
            received_on=received_on,
            reference=reference,
            idempotency_key=f"{key}:excess",
            acting_user=acting_user,
            invoice=invoice,
        )
    after_settlement(invoice, acting_user=acting_user)
    return payment


def _excess_recorded(payment: Payment) -> Decimal:
    """What of the money recorded with `payment` went to the client's credit (art. 9.1)."""
    found = (
        ClientCreditEntry.objects.filter(
            credit__client_id=payment.invoice.client_id,
            idempotency_key=f"{payment.idempotency_key}:excess",
        )
        .values_list("amount", flat=True)
        .first()
    )
    return found or ZERO

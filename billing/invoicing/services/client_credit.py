"""Client credit (art. 9.1-9.2; issue 12 §6): overpayments and payments that name no invoice.

Money a client sends beyond what its invoices ask is never absorbed silently: it becomes the
client's credit in that currency (`ClientCredit`), which the client and staff see with every
movement (`ClientCreditEntry`, append-only, each with an idempotency key; the balance is the
sum of the entries, written with each entry under the credit's row lock). The credit is what
the provider owes the client, so it is used as art. 9.1 says: "CM is entitled to set off the
amounts the Client owes to CM against the amounts CM owes to the Client" (a set-off with
source `client_credit`, `set_offs.set_off_record`), or paid back by a staff action
(`client_credit_refund`, recorded with the transfer's reference).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from accounts.kernel.errors import Conflict, ValidationFailed
from accounts.kernel.inputs import clean_money, clean_text
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify
from accounts.kernel.roles import require_billing_staff
from accounts.models import Client, User
from billing.models import ClientCredit, ClientCreditEntry, Invoice, SetOff

from . import _common
from ._common import KEY_REQUIRED

KEY_USED = "This idempotency key was already used for another movement of the client's credit."


def client_credit_for(*, client: Client, currency: str) -> ClientCredit:
    """The client's credit in `currency`, made on first use (ON CONFLICT DO NOTHING)."""
    ClientCredit.objects.bulk_create(
        [ClientCredit(client=client, currency=currency)], ignore_conflicts=True
    )
    return ClientCredit.objects.get(client=client, currency=currency)


def lock_credit(credit: ClientCredit) -> ClientCredit:
    """The credit's row, locked for this transaction (the first lock of every credit write)."""
    return ClientCredit.objects.select_for_update(of=("self",)).get(pk=credit.pk)


def _same(existing: ClientCreditEntry, kind: str, amount: Decimal) -> ClientCreditEntry:
    if existing.kind != kind or existing.amount != amount:
        raise Conflict(KEY_USED, field="idempotency_key")
    return existing


def credit_entry_write(
    credit: ClientCredit,
    *,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    cause: str,
    acting_user: User | None,
    invoice: Invoice | None = None,
    set_off: SetOff | None = None,
    received_on: dt.date | None = None,
    reference: str = "",
) -> ClientCreditEntry:
    """Write one movement (signed `amount`) of a credit locked by the caller, and its balance."""
    balance = credit.balance + amount
    if balance < 0:
        raise ValidationFailed(
            {
                "amount": [
                    f"The client's credit holds {credit.currency} {credit.balance:,.2f}; "
                    f"{credit.currency} {-amount:,.2f} cannot be taken from it (art. 9.1)."
                ]
            },
            article="9.1",
        )
    entry = ClientCreditEntry.objects.create(
        credit=credit,
        kind=kind,
        amount=amount,
        currency=credit.currency,
        balance_after=balance,
        idempotency_key=idempotency_key,
        created_at=_common.now(),
        created_by=acting_user,
        cause=cause[:300],
        invoice=invoice,
        set_off=set_off,
        received_on=received_on,
        reference=(reference or "")[:200],
    )
    credit.balance = balance
    ClientCredit.objects.filter(pk=credit.pk).update(balance=balance)
    return entry


@transaction.atomic
def client_credit_add(
    *,
    client: Client,
    currency: str,
    amount: object,
    kind: str,
    received_on: dt.date,
    reference: str,
    idempotency_key: str,
    acting_user: User | None,
    invoice: Invoice | None = None,
) -> ClientCreditEntry:
    """Money received for the client beyond what an invoice asks becomes its credit (art. 9.1).

    `kind` is an overpayment (of `invoice`: the part beyond what was outstanding) or a payment
    without an invoice. Never absorbed: the client is told, and sees the credit on its invoices
    page. The same idempotency key again returns the same entry and writes nothing."""
    if acting_user is not None:
        require_billing_staff(acting_user)
    key = clean_text(idempotency_key, field="idempotency_key", message=KEY_REQUIRED, max_length=200)
    amount = clean_money(amount, field="amount", article="9.1")
    if kind not in (ClientCreditEntry.Kind.OVERPAYMENT, ClientCreditEntry.Kind.UNAPPLIED):
        raise ValidationFailed({"kind": [gettext("Credit comes from a payment.")]}, article="9.1")
    credit = lock_credit(client_credit_for(client=client, currency=currency))
    existing = ClientCreditEntry.objects.filter(credit=credit, idempotency_key=key).first()
    if existing is not None:
        return _same(existing, kind, amount)
    if kind == ClientCreditEntry.Kind.OVERPAYMENT and invoice is not None:
        cause = f"paid beyond invoice {invoice.number}"
    else:
        cause = "payment without an invoice"
    entry = credit_entry_write(
        credit,
        kind=kind,
        amount=amount,
        idempotency_key=key,
        cause=f"{cause} ({reference})" if reference else cause,
        acting_user=acting_user,
        invoice=invoice,
        received_on=received_on,
        reference=reference,
    )
    notify(
        key=f"client-credit:{entry.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            gettext("%(amount)s credited to your account") % {"amount": money(amount, currency)}
        ),
        body=lambda: (
            gettext(
                "We received %(amount)s (%(cause)s). It is held as your credit: it is set off "
                "against your open invoices or refunded to you (art. 9.1). Your credit is now "
                "%(balance)s."
            )
            % {
                "amount": money(amount, currency),
                "cause": (
                    gettext("paid beyond invoice %(number)s") % {"number": invoice.number}
                    if kind == ClientCreditEntry.Kind.OVERPAYMENT and invoice is not None
                    else gettext("payment without an invoice")
                ),
                "balance": money(credit.balance, currency),
            }
        ),
    )
    return entry


@transaction.atomic
def client_credit_refund(
    *,
    credit: ClientCredit,
    amount: object,
    reference: str,
    idempotency_key: str,
    acting_user: User,
) -> ClientCreditEntry:
    """Billing staff pay (part of) a client's credit back to it; recorded with the transfer's
    reference, and the credit goes down by the amount (art. 9.1: what CM owes the client).
    Never more than the credit holds; a refusal changes nothing."""
    require_billing_staff(acting_user)
    key = clean_text(idempotency_key, field="idempotency_key", message=KEY_REQUIRED, max_length=200)
    amount = clean_money(amount, field="amount", article="9.1")
    reference = clean_text(
        reference,
        field="reference",
        message=gettext("Say how it was refunded (e.g. the bank transfer's reference)."),
        max_length=200,
    )
    credit = lock_credit(credit)
    existing = ClientCreditEntry.objects.filter(credit=credit, idempotency_key=key).first()
    if existing is not None:
        return _same(existing, ClientCreditEntry.Kind.REFUND, -amount)
    entry = credit_entry_write(
        credit,
        kind=ClientCreditEntry.Kind.REFUND,
        amount=-amount,
        idempotency_key=key,
        cause=f"refunded by {acting_user.email}: {reference}",
        acting_user=acting_user,
        reference=reference,
        received_on=_common.today(credit.client.provider),
    )
    client = credit.client
    notify(
        key=f"client-credit:{entry.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            gettext("%(amount)s of your credit refunded")
            % {"amount": money(amount, credit.currency)}
        ),
        body=lambda: (
            gettext(
                "We refunded %(amount)s of your credit (%(reference)s). Your credit is now %(balance)s."
            )
            % {
                "amount": money(amount, credit.currency),
                "reference": reference,
                "balance": money(credit.balance, credit.currency),
            }
        ),
    )
    return entry

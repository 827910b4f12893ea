"""Set-off (art. 9.1-9.2): what the provider owes the client, set off against what it owes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_money, clean_text
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify
from accounts.kernel.roles import require_billing_staff
from accounts.models import Client, User
from billing.models import (
    ClientCredit,
    ClientCreditEntry,
    Deposit,
    Dispute,
    Invoice,
    RestitutionRequest,
    SetOff,
)
from billing.models.invoicing import MANUAL_SET_OFF_SOURCES

from . import _common
from ._common import KEY_REQUIRED, OPEN_STATUSES, ZERO
from .client_credit import credit_entry_write, lock_credit
from .deposits import deposit_available
from .invoices import invoice_outstanding
from .payments import after_settlement

KEY_USED = "This idempotency key was already used for another set-off."


def restitution_available(restitution: RestitutionRequest) -> Decimal:
    """What of an approved restitution is left to set off (art. 9.1, 29.6)."""
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


def _lock_source(source: str, source_obj) -> tuple[object, Decimal, dict[str, Any]]:
    """The source locked, what it has left to set off, and its link on the `SetOff` row."""
    if source == SetOff.Source.DEPOSIT:
        if not isinstance(source_obj, Deposit):
            raise ValidationFailed({"source_obj": [gettext("Give the deposit.")]})
        source_obj = Deposit.objects.select_for_update().get(pk=source_obj.pk)
        return source_obj, deposit_available(source_obj), {"deposit": source_obj}
    if source == SetOff.Source.CLIENT_CREDIT:
        if not isinstance(source_obj, ClientCredit):
            raise ValidationFailed({"source_obj": [gettext("Give the client's credit.")]})
        source_obj = lock_credit(source_obj)
        return source_obj, source_obj.balance, {"client_credit": source_obj}
    if source == SetOff.Source.RESTITUTION:
        if not isinstance(source_obj, RestitutionRequest):
            raise ValidationFailed({"source_obj": [gettext("Give the restitution request.")]})
        source_obj = RestitutionRequest.objects.select_for_update().get(pk=source_obj.pk)
        if source_obj.status != RestitutionRequest.Status.APPROVED:
            raise ApplicationError(
                gettext("Only an approved restitution is set off (art. 9.1, 29.6)."),
                field="source_obj",
                article="9.1",
            )
        return source_obj, restitution_available(source_obj), {"restitution": source_obj}
    if not isinstance(source_obj, Invoice):
        raise ValidationFailed({"source_obj": [gettext("Give the credit note.")]})
    source_obj = Invoice.objects.select_for_update().get(pk=source_obj.pk)
    if source_obj.kind != Invoice.Kind.CREDIT_NOTE:
        raise ValidationFailed(
            {
                "source_obj": [
                    gettext("Only a credit note is set off against an invoice (art. 9.1).")
                ]
            },
            article="9.1",
        )
    return source_obj, credit_note_available(source_obj), {"credit_note": source_obj}


def _check_target(client: Client, source_obj, invoice: Invoice) -> None:
    """Both sides belong to the client, the invoice is open, and the currencies match."""
    if source_obj.client_id != client.pk:
        raise NotAllowed(
            gettext("The source belongs to another client."), field="source_obj", article="9.1"
        )
    if invoice.client_id != client.pk:
        raise NotAllowed(
            gettext("The invoice belongs to another client."), field="invoice", article="9.2"
        )
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ApplicationError(
            gettext("A set-off goes against an open invoice of the client."),
            field="invoice",
            article="9.1",
        )
    if invoice.currency != source_obj.currency:
        raise ApplicationError(
            gettext("The source and the invoice are in different currencies."),
            field="source_obj",
            article="9.1",
        )


def _check_amount(amount: Decimal, source: str, available: Decimal, invoice: Invoice) -> None:
    """Never more than the source has left or the invoice still owes (art. 9.1)."""
    owed = invoice_outstanding(invoice)
    if amount > available:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "The %(source)s has %(currency)s %(available)s left to set off (art. 9.1)."
                    )
                    % {
                        "source": source.replace("_", " "),
                        "currency": invoice.currency,
                        "available": available,
                    }
                ]
            },
            article="9.1",
        )
    if amount > owed:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "Invoice %(number)s still owes %(currency)s %(owed)s; no more is set off (art. 9.1)."
                    )
                    % {"number": invoice.number, "currency": invoice.currency, "owed": owed}
                ]
            },
            article="9.1",
        )


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
    question derive" (9.2). The source is a held deposit, an approved restitution, a credit
    note granted on a dispute or the client's credit (overpayments, payments without an
    invoice: `client_credit`); the target any open invoice of the client, whatever it bills.
    A client holds one agreement with a provider (`Agreement.client` is one-to-one), and a
    company that contracts with both providers is two clients of two legal entities (art.
    11.1): a set-off never crosses from one to the other. Never more than the
    source has left or the invoice still owes. Recorded once as a `SetOff` row, which both the
    source and the invoice show, and which the client sees (selectors).
    """
    require_billing_staff(acting_user)
    key = clean_text(idempotency_key, field="idempotency_key", message=KEY_REQUIRED, max_length=200)
    amount = clean_money(amount, field="amount", article="9.1")
    if source not in SetOff.Source.values or source == SetOff.Source.PREMIUM_REVENUE:
        raise ValidationFailed(
            {
                "source": [
                    gettext("The source is one of %(choices)s (art. 9.1).")
                    % {"choices": ", ".join(code for code, _label in MANUAL_SET_OFF_SOURCES)}
                ]
            },
            article="9.1",
        )

    def same(existing: SetOff) -> bool:
        return (existing.invoice_id, existing.amount, existing.source) == (
            invoice.pk,
            amount,
            source,
        )

    existing = SetOff.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if not same(existing):
            raise Conflict(KEY_USED, field="idempotency_key")
        return existing
    source_obj, available, link = _lock_source(source, source_obj)
    invoice = _common.lock_invoice(invoice)
    _check_target(client, source_obj, invoice)
    _check_amount(amount, source, available, invoice)
    set_off, created = create_once(
        SetOff,
        key_lookup={"idempotency_key": key},
        values={
            "client": client,
            "source": source,
            "invoice": invoice,
            "amount": amount,
            "currency": invoice.currency,
            "recorded_by": acting_user,
            **link,
        },
        same=same,
        conflict_message=KEY_USED,
        field="idempotency_key",
    )
    if not created:
        return set_off
    if source == SetOff.Source.CLIENT_CREDIT:
        assert isinstance(source_obj, ClientCredit)
        credit_entry_write(
            source_obj,
            kind=ClientCreditEntry.Kind.SET_OFF,
            amount=-amount,
            idempotency_key=f"set-off:{set_off.pk}",
            cause=f"set off against invoice {invoice.number}",
            acting_user=acting_user,
            invoice=invoice,
            set_off=set_off,
        )
    after_settlement(invoice, acting_user=acting_user)
    notify(
        key=f"set-off:{set_off.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Set-off against invoice %(number)s") % {"number": invoice.number},
        body=lambda: (
            gettext(
                "%(amount)s from your %(source)s was set off against invoice %(number)s (art. 9.1)."
            )
            % {
                "amount": money(amount, set_off.currency),
                "source": set_off.get_source_display().lower(),
                "number": invoice.number,
            }
        ),
    )
    return set_off

"""Chargebacks (art. 29.4): a charged-back top-up's remaining credit is reversed and the account
closed (suspended for cause `chargeback`) until billing staff reopen it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from accounts import services as account_services
from accounts.kernel import roles
from accounts.kernel.errors import Conflict
from accounts.kernel.inputs import clean_text
from accounts.models import Client, Suspension, User
from billing.models import Chargeback, CreditLot, LedgerAllocation, LedgerEntry, Wallet

from .. import selectors
from ..signals import chargeback_recorded
from .wallets import lock_wallet


def credit_used(lot: CreditLot) -> Decimal:
    """What the client drew from the lot: its debits and any restitution paid out of it, never
    what expired unused (art. 29.3) or is still on it. Owed once the top-up is charged back."""
    drawn = LedgerAllocation.objects.filter(
        lot=lot, entry__kind__in=[LedgerEntry.Kind.DEBIT, LedgerEntry.Kind.RESTITUTION]
    ).aggregate(s=Sum("amount"))["s"]
    return drawn or Decimal("0")


@transaction.atomic
def chargeback_record(
    *, lot: CreditLot, reference: str, reason: str, acting_user: User
) -> Chargeback:
    """A charged-back top-up: its remaining credit is reversed and the account closed (art. 29.4).

    "The Pre-Paid Client is in default when the credit card payment is being charged back.
    CM is entitled to close down the Pre-Paid Client's account when a credit card payment is
    being charged back." The account is suspended with cause `chargeback` (messaging refused,
    the client's users are told); `account_reopen` reopens it. The credit already used from
    the top-up (`credit_used`) and the profile's chargeback fee are owed: invoicing issues an
    invoice for them in the same transaction (`recharges.chargeback_debt_record`).
    """
    roles.require_billing_staff(acting_user)
    reference = clean_text(
        reference,
        field="reference",
        message=gettext("Give the chargeback's reference (art. 29.4)."),
    )
    wallet = lock_wallet(lot.wallet)
    lot = CreditLot.objects.select_for_update().get(pk=lot.pk)
    if Chargeback.objects.filter(lot=lot).exists():
        raise Conflict(
            gettext("This top-up has already been charged back."), field="lot", article="29.4"
        )
    # Only credit still on the lot can be reversed; what was used is owed by the client in default.
    reversed_amount = lot.remaining if lot.status == CreditLot.Status.ACTIVE else Decimal("0")
    balance = wallet.balance - reversed_amount
    used = credit_used(lot)
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        kind=LedgerEntry.Kind.CHARGEBACK,
        amount=-reversed_amount,
        currency=wallet.currency,
        balance_after=balance,
        idempotency_key=f"chargeback:{lot.pk}",
        created_by=acting_user,
        cause=f"chargeback {reference} recorded by {acting_user.email}"[:200],
        lot=lot,
        memo=(
            f"Top-up {lot.reference} ({lot.currency} {lot.amount}) charged back: {reason or ''}".strip()
            + (
                f"\n{lot.currency} {used} of it was already used; the client is in default (art. 29.4)."
                if used
                else ""
            )
        ),
    )
    if reversed_amount:
        LedgerAllocation.objects.create(entry=entry, lot=lot, amount=reversed_amount)
    lot.remaining = Decimal("0")
    lot.status = CreditLot.Status.REVERSED
    lot.save(update_fields=["remaining", "status"])
    Wallet.objects.filter(pk=wallet.pk).update(balance=balance)
    chargeback = Chargeback.objects.create(
        lot=lot,
        reference=reference,
        reason=(reason or "").strip(),
        reversed_amount=reversed_amount,
        used_amount=used,
        entry=entry,
        recorded_by=acting_user,
    )
    # invoicing bills the used credit and the profile's fee as an amount due (art. 29.4)
    chargeback_recorded.send(sender=Chargeback, chargeback=chargeback, acting_user=acting_user)
    client = wallet.client
    if not selectors.closed_after_chargeback(client=client):
        account_services.client_suspend(
            client=client,
            cause=Suspension.Cause.CHARGEBACK,
            reason=(
                f"The payment {lot.reference or reference} was charged back; your account is in default "
                "and has been closed (art. 29.4)."
            ),
            acting_user=acting_user,
        )
    return chargeback


def account_reopen(
    *, client: Client, reason: str, acting_user: User, activation_cost: object = None
) -> int:
    """Staff reopen an account closed after a chargeback (art. 29.4), saying why; activation
    costs given are charged to the client (art. 7.3, `client_resume`)."""
    roles.require_billing_staff(acting_user)
    return account_services.client_resume(
        client=client,
        acting_user=acting_user,
        reason=reason,
        cause=Suspension.Cause.CHARGEBACK,
        activation_cost=activation_cost,
    )

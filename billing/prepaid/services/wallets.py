"""Wallets and top-ups (art. 29.1, 29.3): the client's one wallet; a payment received becomes a
credit lot, usable the next local day and expiring twelve months after the purchase.

Each write of the prepaid side runs in one transaction and writes its ledger entry
(append-only, with an idempotency key unique per wallet) together with the wallet's `balance`,
so the balance is always the ledger's sum. Lock order, everywhere: the wallet row first
(`lock_wallet`), then its lots in pk order (`docs: STYLE.md, Concurrency`); every writer of a
lot holds its wallet's lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import selectors
from accounts.kernel import roles
from accounts.kernel.dates import add_months, local_date, local_midnight
from accounts.kernel.errors import Conflict, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_money, clean_text
from accounts.kernel.money import MAX_AMOUNT
from accounts.models import Client, User
from billing.models import CreditLot, LedgerEntry, Wallet

KEY_REQUIRED = "Every movement of money needs an idempotency key."


# --- Shared by every writer of a wallet ----------------------------------------------------
def lock_wallet(wallet: Wallet) -> Wallet:
    """The wallet's row, locked for this transaction (the first lock of every prepaid write).

    Only the wallet's row (`of=("self",)`): the client and provider are read with it but not
    locked. Locking them too serialised every prepaid write of a provider on its one row, and
    deadlocked against usage ingestion, which holds its clients' rows in key-share (the usage
    rows' foreign keys) before it takes the wallet locks (issue 10, section 5)."""
    return (
        Wallet.objects.select_for_update(of=("self",))
        .select_related("client__provider")
        .get(pk=wallet.pk)
    )


def require_aware(moment: dt.datetime, field: str) -> dt.datetime:
    """A moment of money moving carries its time zone; a naive one is refused on `field`."""
    if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
        raise ValidationFailed({field: [gettext("Give a moment with its time zone.")]})
    return moment


def require_idempotency_key(key: str) -> None:
    """Every movement of money carries an idempotency key, so a retry never moves it twice."""
    clean_text(key, field="idempotency_key", message=KEY_REQUIRED)


# --- Wallet and top-up (art. 29.1, 29.3) ---------------------------------------------------
def wallet_for_client(*, client: Client) -> Wallet:
    """The client's one wallet, in the agreed currency (art. 29.1; art. 4.1 / CX 3: the
    agreement's, else the profile's); made on first use. A wallet that never held money
    follows a later change of the agreed currency; one with ledger entries keeps its own."""
    currency = selectors.agreed_currency(client=client)
    wallet, _ = Wallet.objects.get_or_create(client=client, defaults={"currency": currency})
    if wallet.currency != currency and not LedgerEntry.objects.filter(wallet=wallet).exists():
        Wallet.objects.filter(pk=wallet.pk, balance=0).update(currency=currency)
        wallet.refresh_from_db(fields=["currency"])
    return wallet


def require_agreed_currency(wallet: Wallet, currency: str | None) -> None:
    """Money moves in the wallet in the agreed currency only (art. 4.1 / CX 3, art. 29.1): a
    top-up named in another currency, or into a wallet kept in a currency the agreement no
    longer names, is refused on `currency` and changes nothing."""
    agreed = selectors.agreed_currency(client=wallet.client)
    code = (currency or "").strip().upper() or wallet.currency
    if code != agreed or wallet.currency != agreed:
        raise ValidationFailed(
            {
                "currency": [
                    f"The agreed currency is {agreed} and the wallet is kept in {wallet.currency}; "
                    f"a top-up in {code} is refused (art. 4.1, 29.1)."
                ]
            },
            article="4.1",
        )


def credit_lot_dates(*, provider, received_at: dt.datetime) -> dict[str, Any]:
    """When a top-up becomes usable and when it expires (art. 29.3).

    "Pre-paid credits ... can be used ... the day following the day the amount is received"
    and "will expire twelve (12) months after the date on which the Pre-Paid Client
    purchased": usable from 00:00 of the next local day; expires at 00:00 of the same calendar
    day 12 months after the purchase date (29 February falls back to 28 February).
    """
    purchase_date = local_date(provider, received_at)
    usable_day = purchase_date + dt.timedelta(days=provider.credit_usable_after_days)
    expires_on = add_months(purchase_date, provider.credit_expiry_months)
    return {
        "purchase_date": purchase_date,
        "usable_from": local_midnight(provider, usable_day),
        "expires_on": expires_on,
        "expires_at": local_midnight(provider, expires_on),
    }


@transaction.atomic
def wallet_top_up(
    *,
    wallet: Wallet,
    amount,
    received_at: dt.datetime,
    reference: str,
    idempotency_key: str,
    acting_user: User | None = None,
    currency: str | None = None,
) -> CreditLot:
    """A payment received becomes a credit lot (art. 29.1, 29.3), in the agreed currency
    (`require_agreed_currency`: a top-up in another one is refused on `currency`).

    "Pre-paid credits and balance can be used by the Pre-Paid Client the day following the
    day the amount is received by CM. Pre-paid credit ... will expire twelve (12) months after
    the date on which the Pre-Paid Client purchased the prepaid balance." The same
    idempotency key again returns the same lot and writes nothing.
    """
    if acting_user is not None:
        roles.require_billing_staff(acting_user)
    amount = clean_money(amount, field="amount")
    received_at = require_aware(received_at, "received_at")
    require_idempotency_key(idempotency_key)
    wallet = lock_wallet(wallet)
    existing = (
        LedgerEntry.objects.filter(wallet=wallet, idempotency_key=idempotency_key)
        .select_related("lot")
        .first()
    )
    if existing is not None:
        if existing.kind != LedgerEntry.Kind.TOP_UP or existing.amount != amount:
            raise Conflict(
                gettext("This idempotency key was already used for a different movement."),
                field="idempotency_key",
            )
        return existing.lot
    require_agreed_currency(wallet, currency)
    if wallet.balance + amount > MAX_AMOUNT:
        raise ValidationFailed(
            {
                "amount": [
                    gettext(
                        "The balance would exceed %(currency)s %(max_amount)s, the most a wallet holds; record the payment in smaller top-ups on separate wallets or refund it."
                    )
                    % {"currency": wallet.currency, "max_amount": f"{MAX_AMOUNT:,}"}
                ]
            }
        )
    provider = wallet.client.provider
    lot = CreditLot(
        wallet=wallet,
        currency=wallet.currency,
        amount=amount,
        remaining=amount,
        reference=(reference or "").strip(),
        received_at=received_at,
        **credit_lot_dates(provider=provider, received_at=received_at),
    )
    save_with_history(lot, acting_user, clean=True)
    balance = wallet.balance + amount
    LedgerEntry.objects.create(
        wallet=wallet,
        kind=LedgerEntry.Kind.TOP_UP,
        amount=amount,
        currency=wallet.currency,
        balance_after=balance,
        idempotency_key=idempotency_key,
        created_at=received_at,
        created_by=acting_user,
        cause=f"payment {lot.reference}".strip()
        + (f" recorded by {acting_user.email}" if acting_user else ""),
        lot=lot,
    )
    # art. 29.7: a top-up charges the account: both inactivity clocks stop and a pending
    # deletion warning no longer stands.
    last_charged = max(filter(None, [wallet.last_charged_at, received_at]))
    Wallet.objects.filter(pk=wallet.pk).update(
        balance=balance,
        credit_exhausted_at=None,
        last_charged_at=last_charged,
        inactivity_warned_at=None,
    )
    return lot

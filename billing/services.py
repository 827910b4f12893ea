"""Every state change of the prepaid side: wallets, credit lots, the ledger (art. 29).

Each write runs in one transaction and writes its ledger entry (append-only, with an
idempotency key unique per wallet) together with the wallet's `balance`, so the balance is
always the ledger's sum. Lock order, everywhere: the wallet row first, then its lots in pk
order (`docs: STYLE.md, Concurrency`); every writer of a lot holds its wallet's lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.dates import add_months, local_date, local_midnight
from accounts.models import Client, User

from .exceptions import ApplicationError, Conflict, InsufficientCredit, NotAllowed, ValidationFailed
from .models import CreditLot, LedgerAllocation, LedgerEntry, Wallet
from .money import MAX_DIGITS, round_money, to_decimal

log = logging.getLogger(__name__)

MAX_AMOUNT = Decimal(10 ** (MAX_DIGITS - 2)) - Decimal("0.01")
CREDIT_EXPIRY_REMINDER_DAYS = 30

# Refusal reasons of the batch primitive (one string per refused debit).
REFUSED_INSUFFICIENT_CREDIT = (
    "insufficient credit: the usable prepaid balance does not cover this debit; "
    "services can only be used when enough credit has been paid in (art. 29.2)"
)
REFUSED_INVALID_AMOUNT = "invalid amount: a debit is a non-negative amount in cents"
REFUSED_KEY_REUSED = "idempotency key already used for a different ledger movement"


# --- Helpers -------------------------------------------------------------------------------
def _require_billing_staff(user: User | None) -> None:
    if user is None or not user.is_billing_staff:
        raise NotAllowed("Only billing staff may do this.")


def _amount(value, *, field_name: str = "amount", allow_zero: bool = False) -> Decimal:
    amount = to_decimal(value, field=field_name)
    if amount != round_money(amount):
        raise ValidationFailed({field_name: ["Give the amount in whole cents (2 decimal places)."]})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed({field_name: ["The amount must be positive."]})
    if amount > MAX_AMOUNT:
        raise ValidationFailed({field_name: ["The amount is too large."]})
    return amount


def _aware(moment: dt.datetime, field_name: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
        raise ValidationFailed({field_name: ["Give a moment with its time zone."]})
    return moment


def _lock_wallet(wallet: Wallet) -> Wallet:
    return Wallet.objects.select_for_update().select_related("client__provider").get(pk=wallet.pk)


def _fifo_key(lot: CreditLot):
    """Earliest expiry first, then oldest purchase (issue 3, §1)."""
    return (lot.expires_at, lot.received_at, lot.pk)


# --- Wallet and top-up (art. 29.1, 29.3) ---------------------------------------------------
def wallet_for_client(*, client: Client) -> Wallet:
    """The client's one wallet, in its provider's currency (art. 29.1); made on first use."""
    wallet, _ = Wallet.objects.get_or_create(
        client=client, defaults={"currency": client.provider.currency}
    )
    return wallet


def credit_lot_dates(*, provider, received_at: dt.datetime) -> dict:
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
) -> CreditLot:
    """A payment received becomes a credit lot (art. 29.1, 29.3).

    "Pre-paid credits and balance can be used by the Pre-Paid Client the day following the
    day the amount is received by CM. Pre-paid credit ... will expire twelve (12) months after
    the date on which the Pre-Paid Client purchased the prepaid balance." The same
    idempotency key again returns the same lot and writes nothing.
    """
    if acting_user is not None:
        _require_billing_staff(acting_user)
    amount = _amount(amount)
    received_at = _aware(received_at, "received_at")
    if not (idempotency_key or "").strip():
        raise ValidationFailed(
            {"idempotency_key": ["Every movement of money needs an idempotency key."]}
        )
    wallet = _lock_wallet(wallet)
    existing = (
        LedgerEntry.objects.filter(wallet=wallet, idempotency_key=idempotency_key)
        .select_related("lot")
        .first()
    )
    if existing is not None:
        if existing.kind != LedgerEntry.Kind.TOP_UP or existing.amount != amount:
            raise Conflict(
                "This idempotency key was already used for a different movement.",
                field="idempotency_key",
            )
        return existing.lot
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
    lot.save()
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
    # Credit is no longer "all used" (art. 29.7), so that clock stops.
    Wallet.objects.filter(pk=wallet.pk).update(balance=balance, credit_exhausted_at=None)
    return lot


# --- Debits: the one FIFO rule (art. 29.2) -------------------------------------------------
@dataclass(slots=True)
class _WalletPlan:
    wallet: Wallet
    lots: list  # usable lots, FIFO order
    remaining: dict  # lot pk -> remaining amount, in memory
    usable: Decimal
    balance: Decimal
    charged: bool = False
    touched: set = field(default_factory=set)


def wallets_debit_locked(
    *, debits_by_wallet: dict, at: dt.datetime, acting_user: User | None = None
) -> dict:
    """Debit many wallets at once; the caller holds every wallet's lock in its transaction.

    `debits_by_wallet`: {Wallet: [(idempotency_key, amount, cause), ...]}. Returns
    {wallet_pk: [outcome, ...]} with one outcome per debit, in order: the `LedgerEntry` (new,
    or the earlier one for a replayed key) or a refusal reason string. Each debit is decided
    on its own over the wallet's usable lots, earliest expiry first, then oldest purchase;
    one larger than the usable balance is refused whole (art. 29.2: "Services subject to
    charges can only be used if the applicable minimum amount has been paid into the
    Pre-Paid Clients' account"). The whole batch costs a fixed number of statements: lock and
    read the lots, read the replayed keys, insert entries, insert allocations, update lots,
    update wallets.
    """
    at = _aware(at, "at")
    wallets = {w.pk: w for w in debits_by_wallet}
    if not wallets:
        return {}
    wallet_ids = sorted(wallets)
    # Lots in pk order under lock (the wallets are already locked by the caller).
    lots = list(
        CreditLot.objects.select_for_update()
        .filter(
            wallet_id__in=wallet_ids,
            status=CreditLot.Status.ACTIVE,
            remaining__gt=0,
            usable_from__lte=at,
            expires_at__gt=at,
        )
        .order_by("pk")
    )
    keys = [key for debits in debits_by_wallet.values() for key, _, _ in debits]
    existing = {
        (e.wallet_id, e.idempotency_key): e
        for e in LedgerEntry.objects.filter(wallet_id__in=wallet_ids, idempotency_key__in=keys)
    }
    plans: dict[int, _WalletPlan] = {}
    for wid in wallet_ids:
        mine = sorted((lot for lot in lots if lot.wallet_id == wid), key=_fifo_key)
        plans[wid] = _WalletPlan(
            wallet=wallets[wid],
            lots=mine,
            remaining={lot.pk: lot.remaining for lot in mine},
            usable=sum((lot.remaining for lot in mine), Decimal("0")),
            balance=wallets[wid].balance,
        )

    results: dict[int, list] = {}
    new_entries: list[LedgerEntry] = []
    new_allocations: list[tuple[LedgerEntry, CreditLot, Decimal]] = []
    for wallet, debits in debits_by_wallet.items():
        plan = plans[wallet.pk]
        outcomes: list = []
        seen: dict[str, object] = {}
        for key, raw_amount, cause in debits:
            try:
                amount = _amount(raw_amount, allow_zero=True)
            except ApplicationError:
                outcomes.append(REFUSED_INVALID_AMOUNT)
                continue
            earlier = existing.get((wallet.pk, key)) or seen.get(key)
            if earlier is not None:
                if isinstance(earlier, str):
                    outcomes.append(earlier)
                elif earlier.kind == LedgerEntry.Kind.DEBIT and -earlier.amount == amount:
                    outcomes.append(earlier)
                else:
                    outcomes.append(REFUSED_KEY_REUSED)
                continue
            if amount > plan.usable:
                seen[key] = REFUSED_INSUFFICIENT_CREDIT
                outcomes.append(REFUSED_INSUFFICIENT_CREDIT)
                continue
            plan.balance -= amount
            plan.usable -= amount
            entry = LedgerEntry(
                wallet=wallet,
                kind=LedgerEntry.Kind.DEBIT,
                amount=-amount,
                currency=wallet.currency,
                balance_after=plan.balance,
                idempotency_key=key,
                created_at=at,
                created_by=acting_user,
                cause=(cause or "debit")[:200],
            )
            to_take = amount
            for lot in plan.lots:
                if to_take == 0:
                    break
                available = plan.remaining[lot.pk]
                if available == 0:
                    continue
                take = min(available, to_take)
                plan.remaining[lot.pk] = available - take
                plan.touched.add(lot.pk)
                to_take -= take
                new_allocations.append((entry, lot, take))
            if amount > 0:
                plan.charged = True
            new_entries.append(entry)
            seen[key] = entry
            outcomes.append(entry)
        results[wallet.pk] = outcomes

    if not new_entries:
        return results
    LedgerEntry.objects.bulk_create(new_entries)
    LedgerAllocation.objects.bulk_create(
        [
            LedgerAllocation(entry_id=entry.pk, lot_id=lot.pk, amount=take)
            for entry, lot, take in new_allocations
        ]
    )
    touched = [(pk, plan.remaining[pk]) for plan in plans.values() for pk in sorted(plan.touched)]
    changed = [
        plan for plan in plans.values() if plan.balance != plan.wallet.balance or plan.charged
    ]
    with connection.cursor() as cursor:
        if touched:
            cursor.execute(
                f"UPDATE {CreditLot._meta.db_table} AS l"
                " SET remaining = v.remaining,"
                "     status = CASE WHEN v.remaining = 0 THEN %s ELSE l.status END"
                " FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, remaining) WHERE l.id = v.id",
                [
                    CreditLot.Status.EXHAUSTED,
                    [pk for pk, _ in touched],
                    [rem for _, rem in touched],
                ],
            )
        if changed:
            # art. 29.7: a charge stops the inactivity clock and cancels a pending warning;
            # all credit used starts the other clock.
            cursor.execute(
                f"UPDATE {Wallet._meta.db_table} AS w"
                " SET balance = v.balance,"
                "     last_charged_at = CASE WHEN v.charged THEN %s ELSE w.last_charged_at END,"
                "     inactivity_warned_at = CASE WHEN v.charged THEN NULL ELSE w.inactivity_warned_at END,"
                "     credit_exhausted_at = CASE WHEN v.charged AND v.balance = 0 THEN %s"
                "                                WHEN v.balance > 0 THEN NULL ELSE w.credit_exhausted_at END"
                " FROM unnest(%s::bigint[], %s::numeric[], %s::boolean[]) AS v(id, balance, charged)"
                " WHERE w.id = v.id",
                [
                    at,
                    at,
                    [p.wallet.pk for p in changed],
                    [p.balance for p in changed],
                    [p.charged for p in changed],
                ],
            )
    for plan in changed:
        w = plan.wallet
        w.balance = plan.balance
        if plan.charged:
            w.last_charged_at = at
            w.inactivity_warned_at = None
            if plan.balance == 0:
                w.credit_exhausted_at = at
        if plan.balance > 0:
            w.credit_exhausted_at = None
    return results


def wallet_debit_locked(
    *, wallet: Wallet, debits: list, at: dt.datetime, acting_user: User | None = None
) -> list:
    """The batch primitive: debit one wallet whose row the caller has locked in its transaction.

    `debits`: [(idempotency_key, amount, cause), ...], decided in order, each accepted or
    refused on its own (art. 29.2: refused whole when the usable balance is short). Returns one
    outcome per debit: the `LedgerEntry`, or a refusal reason string. See
    `wallets_debit_locked` for the many-wallet form (same statements for a whole batch).
    """
    return wallets_debit_locked(debits_by_wallet={wallet: debits}, at=at, acting_user=acting_user)[
        wallet.pk
    ]


@transaction.atomic
def wallet_debit(
    *,
    wallet: Wallet,
    amount,
    idempotency_key: str,
    cause: str,
    at: dt.datetime | None = None,
    acting_user: User | None = None,
) -> LedgerEntry:
    """Charge the prepaid account for services used (art. 29.2).

    "Charges are incurred for the use of some Services, which are debited from Clients'
    pre-paid account. Services subject to charges can only be used if the applicable minimum
    amount has been paid into the Pre-Paid Clients' account." Consumes usable lots earliest
    expiry first; a debit larger than the usable balance raises `InsufficientCredit` and
    changes nothing. The same idempotency key again returns the first entry.
    """
    amount = _amount(amount, allow_zero=True)
    if not (idempotency_key or "").strip():
        raise ValidationFailed(
            {"idempotency_key": ["Every movement of money needs an idempotency key."]}
        )
    at = at or timezone.now()
    wallet = _lock_wallet(wallet)
    outcome = wallet_debit_locked(
        wallet=wallet, debits=[(idempotency_key, amount, cause)], at=at, acting_user=acting_user
    )[0]
    if outcome == REFUSED_INSUFFICIENT_CREDIT:
        raise InsufficientCredit(
            usable=_usable_at(wallet, at), amount=amount, currency=wallet.currency
        )
    if outcome == REFUSED_KEY_REUSED:
        raise Conflict(
            "This idempotency key was already used for a different movement.",
            field="idempotency_key",
        )
    if isinstance(outcome, str):
        raise ValidationFailed({"amount": [outcome]})
    return outcome


def _usable_at(wallet: Wallet, at: dt.datetime) -> Decimal:
    lots = CreditLot.objects.filter(
        wallet=wallet, status=CreditLot.Status.ACTIVE, usable_from__lte=at, expires_at__gt=at
    ).values_list("remaining", flat=True)
    return sum(lots, Decimal("0"))

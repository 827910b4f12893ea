"""Debits: the one FIFO rule (art. 29.2). Services used are debited from the usable lots,
earliest expiry first, then oldest purchase; a debit larger than the usable balance is refused
whole.

`wallets_debit_locked` is the batch primitive every debit goes through (one wallet's single
debit, `wallet_debit`, and usage ingestion's thousands): a fixed number of statements per
batch, whatever its size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.db import pg_plain_array, pg_text_array, require_postgresql
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.inputs import clean_money
from accounts.models import User
from billing.exceptions import InsufficientCredit
from billing.models import CreditLot, LedgerAllocation, LedgerEntry, Wallet

from .. import selectors
from .wallets import lock_wallet, require_aware, require_idempotency_key

# Refusal reasons of the batch primitive (one string per refused debit).
REFUSED_INSUFFICIENT_CREDIT = (
    "insufficient credit: the usable prepaid balance does not cover this debit; "
    "services can only be used when enough credit has been paid in (art. 29.2)"
)
REFUSED_INVALID_AMOUNT = "invalid amount: a debit is a non-negative amount in cents"
REFUSED_KEY_REUSED = "idempotency key already used for a different ledger movement"

# The usable lots of the batch's wallets, locked in pk order (the wallets are already locked by
# the caller), then handed back per wallet in FIFO order: earliest expiry first, then oldest
# purchase (issue 3, §1), then pk.
_DEBIT_LOTS_SQL = f"""
    SELECT id, wallet_id, remaining FROM (
        SELECT id, wallet_id, remaining, expires_at, received_at
          FROM {CreditLot._meta.db_table}
         WHERE wallet_id = ANY(%s::bigint[]) AND status = %s AND remaining > 0
           AND usable_from <= %s AND expires_at > %s
         ORDER BY id
           FOR UPDATE
    ) AS l
    ORDER BY wallet_id, expires_at, received_at, id
"""
# Which of the batch's (wallet, key) pairs have an entry already: one index probe per pair.
# The LATERAL ... LIMIT 1 keeps it so (a nested loop over the unique index): written as an
# IN (unnest) semi-join, the planner often chose a hash join over a scan of the whole ledger,
# a cost that grew with the ledger and was paid while the wallet locks are held.
_DEBIT_REPLAYS_SQL = f"""
    SELECT e.id FROM unnest(%s::bigint[], %s::varchar[]) AS k(wallet_id, idempotency_key)
     CROSS JOIN LATERAL (
           SELECT e.id FROM {LedgerEntry._meta.db_table} e
            WHERE e.wallet_id = k.wallet_id AND e.idempotency_key = k.idempotency_key
            LIMIT 1) AS e
"""
# Every write of a batch in one statement, each column one array literal: the entries (in
# order), their lot allocations (in order, each pointing at its entry by position), the lots'
# remaining amounts and statuses, the wallets' balances. Returns the entries' ids in order.
# The entries take their ids from the ledger's sequence here, under the wallet locks, in the
# order their running balances were computed (ORDER BY s.n): the ledger's order is its ids,
# and each entry's balance_after is the one before it plus its amount (a bank statement).
_DEBIT_WRITE_SQL = f"""
    WITH src AS MATERIALIZED (
        SELECT * FROM unnest(%(wallet)s::bigint[], %(amount)s::numeric[],
                             %(balance)s::numeric[], %(key)s::varchar[], %(cause)s::varchar[])
               WITH ORDINALITY AS s(wallet_id, amount, balance_after, idempotency_key, cause, n)
    ),
    entries AS (
        INSERT INTO {LedgerEntry._meta.db_table}
            (wallet_id, kind, amount, currency, balance_after, idempotency_key, created_at,
             created_by_id, cause, lot_id, memo)
        SELECT s.wallet_id, %(kind)s, s.amount, c.currency, s.balance_after, s.idempotency_key,
               %(at)s, %(by)s, s.cause, NULL, ''
          FROM src s
          JOIN unnest(%(currency_wallet)s::bigint[], %(currency)s::varchar[])
               AS c(wallet_id, currency) ON c.wallet_id = s.wallet_id
         ORDER BY s.n
        RETURNING id, wallet_id, idempotency_key
    ),
    ids AS MATERIALIZED (
        SELECT e.id, s.n FROM entries e
          JOIN src s ON s.wallet_id = e.wallet_id AND s.idempotency_key = e.idempotency_key
    ),
    allocations AS (
        INSERT INTO {LedgerAllocation._meta.db_table} (entry_id, lot_id, amount)
        SELECT ids.id, a.lot_id, a.amount
          FROM unnest(%(alloc_entry)s::bigint[], %(alloc_lot)s::bigint[], %(alloc_amount)s::numeric[])
               WITH ORDINALITY AS a(n, lot_id, amount, o)
          JOIN ids ON ids.n = a.n
         ORDER BY a.o
    ),
    lots AS (
        UPDATE {CreditLot._meta.db_table} AS l
           SET remaining = v.remaining,
               status = CASE WHEN v.remaining = 0 THEN %(exhausted)s ELSE l.status END
          FROM unnest(%(lot)s::bigint[], %(lot_remaining)s::numeric[]) AS v(id, remaining)
         WHERE l.id = v.id
    ),
    wallets AS (
        -- art. 29.7: a debit that uses the last credit starts the "all credit used" clock.
        UPDATE {Wallet._meta.db_table} AS w
           SET balance = v.balance,
               credit_exhausted_at = CASE WHEN v.charged AND v.balance = 0 THEN %(at)s
                                          WHEN v.balance > 0 THEN NULL
                                          ELSE w.credit_exhausted_at END
          FROM unnest(%(changed)s::bigint[], %(changed_balance)s::numeric[],
                      %(changed_charged)s::boolean[]) AS v(id, balance, charged)
         WHERE w.id = v.id
    )
    SELECT id FROM ids ORDER BY n
"""
_ENTRY_WALLET = LedgerEntry._meta.get_field("wallet")
_ENTRY_CREATED_BY = LedgerEntry._meta.get_field("created_by")


@dataclass(slots=True)
class _WalletPlan:
    wallet: Wallet
    lots: list  # usable lots as [pk, remaining], FIFO order; remaining is updated in memory
    usable: Decimal
    balance: Decimal
    charged: bool = False
    touched: set = field(default_factory=set)


@dataclass(slots=True)
class _NewRows:
    # entries as (wallet, key, amount, balance_after, cause); allocations as
    # (entry position, lot pk, amount)
    entries: list = field(default_factory=list)
    allocations: list = field(default_factory=list)


def wallets_debit_locked(
    *,
    debits_by_wallet: dict[str, Any],
    at: dt.datetime,
    acting_user: User | None = None,
    as_ids: bool = False,
) -> dict[str, Any]:
    """Debit many wallets at once; the caller holds every wallet's lock in its transaction.

    `debits_by_wallet`: {Wallet: [(idempotency_key, amount, cause), ...]}. Returns
    {wallet_pk: [outcome, ...]} with one outcome per debit, in order: the `LedgerEntry` (new,
    or the earlier one for a replayed key) or a refusal reason string. Each debit is decided
    on its own over the wallet's usable lots, earliest expiry first, then oldest purchase;
    one larger than the usable balance is refused whole (art. 29.2: "Services subject to
    charges can only be used if the applicable minimum amount has been paid into the
    Pre-Paid Clients' account"). The whole batch costs three statements, whatever its size:
    lock and read the lots, find the replayed keys (a fourth reads their entries, only when
    there are any), then one statement that inserts the entries and their allocations and
    updates the lots and the wallets, every column sent as one array literal (parsed by
    PostgreSQL, not quoted element by element in Python).

    The new entries take their ids from the ledger's sequence in the write statement, under
    the wallet locks and in the order of their running balances, so ordered by id the ledger
    chains (issue 10, section 5: an id drawn before the lock let a batch that locked later
    take smaller ids). `as_ids=True` answers each accepted debit with its entry's pk instead
    of a `LedgerEntry` (no objects built while the locks are held; usage ingestion then
    points its rows at them).
    """
    require_postgresql("Batch debits")
    at = require_aware(at, "at")
    wallets = {w.pk: w for w in debits_by_wallet}
    if not wallets:
        return {}
    plans, existing = _read_lots_and_replays(debits_by_wallet, at)
    rows = _NewRows()
    results = {
        wallet.pk: _decide(plans[wallet.pk], debits, existing, rows)
        for wallet, debits in debits_by_wallet.items()
    }
    if not rows.entries:
        return _outcome_ids(results, []) if as_ids else results
    changed = [
        plan for plan in plans.values() if plan.balance != plan.wallet.balance or plan.charged
    ]
    ids = _write(plans, changed, rows, at, acting_user)
    _wallets_remember(changed, at)
    if as_ids:
        return _outcome_ids(results, ids)
    return _outcome_entries(results, ids, rows.entries, at, acting_user)


def _read_lots_and_replays(debits_by_wallet: dict[str, Any], at: dt.datetime) -> tuple[dict, dict]:
    """Lock and read the usable lots (FIFO order) and the entries of replayed keys."""
    wallets = {w.pk: w for w in debits_by_wallet}
    wallet_ids = sorted(wallets)
    replay_wallets: list[int] = []
    replay_keys: list[str] = []
    for wallet, debits in debits_by_wallet.items():
        for key, _, _ in debits:
            replay_wallets.append(wallet.pk)
            replay_keys.append(key)
    with connection.cursor() as cursor:
        cursor.execute(
            _DEBIT_LOTS_SQL, [pg_plain_array(wallet_ids), CreditLot.Status.ACTIVE, at, at]
        )
        lot_rows = cursor.fetchall()
        cursor.execute(
            _DEBIT_REPLAYS_SQL, [pg_plain_array(replay_wallets), pg_text_array(replay_keys)]
        )
        replayed = [pk for (pk,) in cursor.fetchall()]
    # Replays are rare: only then are the earlier entries read whole.
    existing = (
        {(e.wallet_id, e.idempotency_key): e for e in LedgerEntry.objects.filter(pk__in=replayed)}
        if replayed
        else {}
    )
    by_wallet: dict[int, list] = {wid: [] for wid in wallet_ids}
    for pk, wallet_id, remaining in lot_rows:
        by_wallet[wallet_id].append([pk, remaining])
    plans = {
        wid: _WalletPlan(
            wallet=wallets[wid],
            lots=mine,
            usable=sum((remaining for _, remaining in mine), Decimal("0")),
            balance=wallets[wid].balance,
        )
        for wid, mine in by_wallet.items()
    }
    return plans, existing


def _decide(plan: _WalletPlan, debits: list, existing: dict[str, Any], rows: _NewRows) -> list:
    """One wallet's debits, in order, each accepted (FIFO over the usable lots) or refused on
    its own (art. 29.2); returns the outcomes, a new entry as its position in `rows`."""
    outcomes: list = []
    seen: dict[str, object] = {}
    wallet_pk = plan.wallet.pk
    for key, raw_amount, cause in debits:
        try:
            amount = clean_money(raw_amount, field="amount", allow_zero=True)
        except ApplicationError:
            outcomes.append(REFUSED_INVALID_AMOUNT)
            continue
        earlier = existing.get((wallet_pk, key)) or seen.get(key)
        if earlier is not None:
            if isinstance(earlier, str):
                outcomes.append(earlier)
            elif isinstance(earlier, int):  # a new entry of this batch, by position
                same = rows.entries[earlier][2] == amount
                outcomes.append(earlier if same else REFUSED_KEY_REUSED)
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
        position = len(rows.entries)
        to_take = amount
        for lot in plan.lots:
            if to_take == 0:
                break
            available = lot[1]
            if available == 0:
                continue
            take = min(available, to_take)
            lot[1] = available - take
            plan.touched.add(lot[0])
            to_take -= take
            rows.allocations.append((position, lot[0], take))
        if amount > 0:
            plan.charged = True
        rows.entries.append((plan.wallet, key, amount, plan.balance, (cause or "debit")[:200]))
        seen[key] = position
        outcomes.append(position)
    return outcomes


def _write(plans: dict[str, Any], changed: list, rows: _NewRows, at, acting_user):
    """The one write statement of the batch; returns the new entries' ids, in order."""
    wallet_ids = sorted(plans)
    touched = [
        (pk, remaining)
        for plan in plans.values()
        for pk, remaining in sorted(plan.lots)
        if pk in plan.touched
    ]
    entries, allocations = rows.entries, rows.allocations
    params = {
        "wallet": pg_plain_array([e[0].pk for e in entries]),
        "amount": pg_plain_array([-e[2] for e in entries]),
        "balance": pg_plain_array([e[3] for e in entries]),
        "key": pg_text_array([e[1] for e in entries]),
        "cause": pg_text_array([e[4] for e in entries]),
        "kind": LedgerEntry.Kind.DEBIT,
        "at": at,
        "by": acting_user.pk if acting_user is not None else None,
        "currency_wallet": pg_plain_array(wallet_ids),
        "currency": pg_text_array([plans[wid].wallet.currency for wid in wallet_ids]),
        # positions are 0-based here, ORDINALITY is 1-based
        "alloc_entry": pg_plain_array([a[0] + 1 for a in allocations]),
        "alloc_lot": pg_plain_array([a[1] for a in allocations]),
        "alloc_amount": pg_plain_array([a[2] for a in allocations]),
        "exhausted": CreditLot.Status.EXHAUSTED,
        "lot": pg_plain_array([pk for pk, _ in touched]),
        "lot_remaining": pg_plain_array([rem for _, rem in touched]),
        "changed": pg_plain_array([p.wallet.pk for p in changed]),
        "changed_balance": pg_plain_array([p.balance for p in changed]),
        "changed_charged": pg_plain_array(["t" if p.charged else "f" for p in changed]),
    }
    with connection.cursor() as cursor:
        cursor.execute(_DEBIT_WRITE_SQL, params)
        ids = cursor.fetchall()
    if len(ids) != len(entries):  # pragma: no cover - the statement inserts every row
        raise RuntimeError("the ledger insert returned fewer ids than entries")
    return ids


def _outcome_entries(
    results: dict[str, Any], ids: list, new_entries: list, at, acting_user
) -> dict[str, Any]:
    """The outcomes: LedgerEntry objects as a bulk_create would leave them (pk set, saved)."""
    db = connection.alias
    kind = LedgerEntry.Kind.DEBIT
    created_by_id = acting_user.pk if acting_user is not None else None
    entries = []
    for (pk,), (wallet, key, amount, balance_after, cause) in zip(ids, new_entries, strict=True):
        entry = LedgerEntry(
            pk, wallet.pk, kind, -amount, wallet.currency, balance_after, key, at,
            created_by_id, cause, None, "",
        )  # fmt: skip
        entry._state.adding = False
        entry._state.db = db
        _ENTRY_WALLET.set_cached_value(entry, wallet)
        _ENTRY_CREATED_BY.set_cached_value(entry, acting_user)
        entries.append(entry)
    for outcomes in results.values():
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, int):
                outcomes[i] = entries[outcome]
    return results


def _outcome_ids(results: dict[str, Any], ids: list) -> dict[str, Any]:
    """`as_ids`: each accepted debit answered by its entry's pk (new or replayed)."""
    for outcomes in results.values():
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, int):
                outcomes[i] = ids[outcome][0]
            elif isinstance(outcome, LedgerEntry):
                outcomes[i] = outcome.pk
    return results


def _wallets_remember(changed: list, at: dt.datetime) -> None:
    """The wallets in memory as the write left their rows."""
    for plan in changed:
        w = plan.wallet
        w.balance = plan.balance
        if plan.charged and plan.balance == 0:
            w.credit_exhausted_at = at
        if plan.balance > 0:
            w.credit_exhausted_at = None


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
    amount = clean_money(amount, field="amount", allow_zero=True)
    require_idempotency_key(idempotency_key)
    at = at or timezone.now()
    wallet = lock_wallet(wallet)
    outcome = wallet_debit_locked(
        wallet=wallet, debits=[(idempotency_key, amount, cause)], at=at, acting_user=acting_user
    )[0]
    if outcome == REFUSED_INSUFFICIENT_CREDIT:
        usable = selectors.wallet_summary(client=wallet.client, at=at)["usable_now"]
        raise InsufficientCredit(usable=usable, amount=amount, currency=wallet.currency)
    if outcome == REFUSED_KEY_REUSED:
        raise Conflict(
            gettext("This idempotency key was already used for a different movement."),
            field="idempotency_key",
        )
    if isinstance(outcome, str):
        raise ValidationFailed({"amount": [outcome]})
    return outcome

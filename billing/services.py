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

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import services as account_services
from accounts.kernel import roles
from accounts.kernel.dates import add_months, local_date, local_midnight
from accounts.kernel.db import require_postgresql
from accounts.kernel.errors import from_django_validation_error
from accounts.kernel.money import MAX_DIGITS, round_money, to_decimal
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.models import Agreement, Client, Provider, Suspension, User

from .exceptions import ApplicationError, Conflict, InsufficientCredit, NotAllowed, ValidationFailed
from .models import Chargeback, CreditLot, LedgerAllocation, LedgerEntry, RestitutionRequest, Wallet

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
_require_billing_staff = roles.require_billing_staff


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
    try:
        lot.full_clean()
    except DjangoValidationError as exc:
        raise from_django_validation_error(exc) from exc
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


# --- Debits: the one FIFO rule (art. 29.2) -------------------------------------------------
def _pg_text_array(values) -> str:
    """A PostgreSQL array literal of text, sent as one parameter. psycopg quotes a Python list
    element by element in Python, which cost more than the rest of a batch's Python work;
    PostgreSQL parses the literal in C. Every element is quoted, so any text (empty, "NULL",
    commas, braces, quotes, backslashes, spaces) arrives exactly."""
    return (
        "{"
        + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values])
        + "}"
    )


def _pg_plain_array(values) -> str:
    """An array literal of values that need no quoting: integers and finite Decimals (the
    Decimal's own text, so money stays exact; never a float)."""
    return "{" + ",".join([str(v) for v in values]) + "}"


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
_DEBIT_WRITE_SQL = f"""
    WITH src AS MATERIALIZED (
        SELECT * FROM unnest(%(wallet)s::bigint[], %(amount)s::numeric[],
                             %(balance)s::numeric[], %(key)s::varchar[], %(cause)s::varchar[]
                             /*entry_ids*/)
               WITH ORDINALITY AS s(wallet_id, amount, balance_after, idempotency_key, cause
                                    /*entry_id*/, n)
    ),
    entries AS (
        INSERT INTO {LedgerEntry._meta.db_table}
            (/*id_column*/wallet_id, kind, amount, currency, balance_after, idempotency_key, created_at,
             created_by_id, cause, lot_id, memo)
        SELECT /*id_value*/s.wallet_id, %(kind)s, s.amount, c.currency, s.balance_after, s.idempotency_key,
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
# The same statement for entries whose ids the caller drew from the sequence beforehand
# (usage ingestion links its rows to them before it takes the wallet locks).
_DEBIT_WRITE_WITH_IDS_SQL = (
    _DEBIT_WRITE_SQL.replace("/*entry_ids*/", ", %(entry_id)s::bigint[]")
    .replace("/*entry_id*/", ", entry_id")
    .replace("/*id_column*/", "id, ")
    .replace("/*id_value*/", "s.entry_id, ")
)
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


def wallets_debit_locked(
    *,
    debits_by_wallet: dict,
    at: dt.datetime,
    acting_user: User | None = None,
    entry_ids: dict | None = None,
    as_ids: bool = False,
) -> dict:
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

    For callers that hold other rows pointing at the new entries (usage ingestion, which
    writes its rows before it takes the wallet locks, so the locks are held for less):
    `entry_ids` {wallet_pk: [id, ...]}, one per debit, ids drawn beforehand from the ledger's
    sequence, which a new entry then takes; and `as_ids=True` answers each accepted debit
    with its entry's pk instead of a `LedgerEntry` (no objects built while the locks are held).
    """
    require_postgresql("Batch debits")
    at = _aware(at, "at")
    wallets = {w.pk: w for w in debits_by_wallet}
    if not wallets:
        return {}
    wallet_ids = sorted(wallets)
    replay_wallets: list[int] = []
    replay_keys: list[str] = []
    for wallet, debits in debits_by_wallet.items():
        for key, _, _ in debits:
            replay_wallets.append(wallet.pk)
            replay_keys.append(key)
    with connection.cursor() as cursor:
        cursor.execute(
            _DEBIT_LOTS_SQL, [_pg_plain_array(wallet_ids), CreditLot.Status.ACTIVE, at, at]
        )
        lot_rows = cursor.fetchall()
        cursor.execute(
            _DEBIT_REPLAYS_SQL, [_pg_plain_array(replay_wallets), _pg_text_array(replay_keys)]
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

    results: dict[int, list] = {}
    # New entries as (wallet, key, amount, balance_after, cause, results list, position);
    # allocations as (entry position, lot pk, amount).
    new_entries: list[tuple] = []
    new_allocations: list[tuple[int, int, Decimal]] = []
    for wallet, debits in debits_by_wallet.items():
        plan = plans[wallet.pk]
        outcomes: list = []
        seen: dict[str, object] = {}
        wanted_ids = entry_ids[wallet.pk] if entry_ids is not None else None
        for index, (key, raw_amount, cause) in enumerate(debits):
            try:
                amount = _amount(raw_amount, allow_zero=True)
            except ApplicationError:
                outcomes.append(REFUSED_INVALID_AMOUNT)
                continue
            earlier = existing.get((wallet.pk, key)) or seen.get(key)
            if earlier is not None:
                if isinstance(earlier, str):
                    outcomes.append(earlier)
                elif isinstance(earlier, int):  # a new entry of this batch, by position
                    if new_entries[earlier][2] == amount:
                        outcomes.append(earlier)
                    else:
                        outcomes.append(REFUSED_KEY_REUSED)
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
            position = len(new_entries)
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
                new_allocations.append((position, lot[0], take))
            if amount > 0:
                plan.charged = True
            new_entries.append(
                (
                    wallet,
                    key,
                    amount,
                    plan.balance,
                    (cause or "debit")[:200],
                    wanted_ids[index] if wanted_ids is not None else None,
                )
            )
            seen[key] = position
            outcomes.append(position)
        results[wallet.pk] = outcomes

    if not new_entries:
        return _outcome_ids(results, []) if as_ids else results
    touched = [
        (pk, remaining)
        for plan in plans.values()
        for pk, remaining in sorted(plan.lots)
        if pk in plan.touched
    ]
    changed = [
        plan for plan in plans.values() if plan.balance != plan.wallet.balance or plan.charged
    ]
    params = {
        "wallet": _pg_plain_array([e[0].pk for e in new_entries]),
        "amount": _pg_plain_array([-e[2] for e in new_entries]),
        "balance": _pg_plain_array([e[3] for e in new_entries]),
        "key": _pg_text_array([e[1] for e in new_entries]),
        "cause": _pg_text_array([e[4] for e in new_entries]),
        "kind": LedgerEntry.Kind.DEBIT,
        "at": at,
        "by": acting_user.pk if acting_user is not None else None,
        "currency_wallet": _pg_plain_array(wallet_ids),
        "currency": _pg_text_array([wallets[wid].currency for wid in wallet_ids]),
        # positions are 0-based here, ORDINALITY is 1-based
        "alloc_entry": _pg_plain_array([a[0] + 1 for a in new_allocations]),
        "alloc_lot": _pg_plain_array([a[1] for a in new_allocations]),
        "alloc_amount": _pg_plain_array([a[2] for a in new_allocations]),
        "exhausted": CreditLot.Status.EXHAUSTED,
        "lot": _pg_plain_array([pk for pk, _ in touched]),
        "lot_remaining": _pg_plain_array([rem for _, rem in touched]),
        "changed": _pg_plain_array([p.wallet.pk for p in changed]),
        "changed_balance": _pg_plain_array([p.balance for p in changed]),
        "changed_charged": "{" + ",".join(["t" if p.charged else "f" for p in changed]) + "}",
    }
    if entry_ids is not None:
        params["entry_id"] = _pg_plain_array([e[5] for e in new_entries])
    with connection.cursor() as cursor:
        cursor.execute(_DEBIT_WRITE_SQL if entry_ids is None else _DEBIT_WRITE_WITH_IDS_SQL, params)
        ids = cursor.fetchall()
    if len(ids) != len(new_entries):  # pragma: no cover - the statement inserts every row
        raise RuntimeError("the ledger insert returned fewer ids than entries")
    _wallets_remember(changed, at)
    if as_ids:
        return _outcome_ids(results, ids)

    # The outcomes: LedgerEntry objects as a bulk_create would leave them (pk set, saved).
    db = connection.alias
    kind = LedgerEntry.Kind.DEBIT
    created_by_id = acting_user.pk if acting_user is not None else None
    entries = []
    for (pk,), (wallet, key, amount, balance_after, cause, _) in zip(ids, new_entries, strict=True):
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


def _outcome_ids(results: dict, ids: list) -> dict:
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


# --- Chargebacks (art. 29.4) ---------------------------------------------------------------
@transaction.atomic
def chargeback_record(
    *, lot: CreditLot, reference: str, reason: str, acting_user: User
) -> Chargeback:
    """A charged-back top-up: its remaining credit is reversed and the account closed (art. 29.4).

    "The Pre-Paid Client is in default when the credit card payment is being charged back.
    CM is entitled to close down the Pre-Paid Client's account when a credit card payment is
    being charged back." The account is suspended with cause `chargeback` (messaging refused,
    the client's users are told); `account_reopen` reopens it.
    """
    _require_billing_staff(acting_user)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed({"reference": ["Give the chargeback's reference (art. 29.4)."]})
    wallet = _lock_wallet(lot.wallet)
    lot = CreditLot.objects.select_for_update().get(pk=lot.pk)
    if Chargeback.objects.filter(lot=lot).exists():
        raise Conflict("This top-up has already been charged back.", field="lot", article="29.4")
    # Only credit still on the lot can be reversed; what was used is owed by the client in default.
    reversed_amount = lot.remaining if lot.status == CreditLot.Status.ACTIVE else Decimal("0")
    balance = wallet.balance - reversed_amount
    used = lot.amount - lot.remaining if lot.status != CreditLot.Status.EXPIRED else Decimal("0")
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
        entry=entry,
        recorded_by=acting_user,
    )
    client = wallet.client
    if not Suspension.objects.filter(
        client=client, cause=Suspension.Cause.CHARGEBACK, ended_at=None
    ).exists():
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


def account_reopen(*, client: Client, reason: str, acting_user: User) -> int:
    """Staff reopen an account closed after a chargeback (art. 29.4), saying why."""
    _require_billing_staff(acting_user)
    return account_services.client_resume(
        client=client, acting_user=acting_user, reason=reason, cause=Suspension.Cause.CHARGEBACK
    )


# --- Restitution on termination (art. 29.6) ------------------------------------------------
@transaction.atomic
def restitution_request(
    *, client: Client, acting_user: User, reason: str = ""
) -> RestitutionRequest:
    """A terminating prepaid client asks in writing for its remaining credit (art. 29.6).

    "Pre-Paid Clients can terminate the Agreement at any time in writing. If at the time of
    such termination the Pre-Paid Client has any credit left, the Pre-Paid Client can submit a
    written request for restitution of this remaining credit."
    """
    if not (acting_user.is_client_admin and acting_user.client_id == client.pk):
        raise NotAllowed("Only an admin of this client may request restitution (art. 5.2, 29.6).")
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.billing_mode != Client.BillingMode.PREPAID:
        raise ApplicationError(
            "Only a prepaid client can request restitution of credit (art. 29.6).",
            field="client",
            article="29.6",
        )
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None or not (
        agreement.status == Agreement.Status.TERMINATED or agreement.notice_given_at
    ):
        raise ApplicationError(
            "Restitution can be requested once the agreement has been terminated in writing (art. 29.6).",
            field="agreement",
            article="29.6",
        )
    if RestitutionRequest.objects.filter(
        client=client, status=RestitutionRequest.Status.PENDING
    ).exists():
        raise Conflict("A restitution request is already pending for this client.", field="client")
    wallet = wallet_for_client(client=client)
    request = RestitutionRequest(
        client=client,
        requested_by=acting_user,
        reason=(reason or "").strip(),
        currency=wallet.currency,
    )
    request._history_user = acting_user
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise Conflict(
            "A restitution request is already pending for this client.", field="client"
        ) from exc
    notify(
        key=f"restitution-requested:{request.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF),
        subject=f"Restitution requested: {client.legal_name}",
        body=f"{client.legal_name} asks for restitution of its remaining prepaid credit (art. 29.6).\n{request.reason}",
    )
    return request


def _decidable(request: RestitutionRequest, acting_user: User) -> RestitutionRequest:
    _require_billing_staff(acting_user)
    request = (
        RestitutionRequest.objects.select_for_update().select_related("client").get(pk=request.pk)
    )
    if request.status != RestitutionRequest.Status.PENDING:
        raise ApplicationError("This restitution request has already been decided.", field="status")
    return request


@transaction.atomic
def restitution_approve(
    *, request: RestitutionRequest, acting_user: User, note: str = ""
) -> RestitutionRequest:
    """Restitute the remaining unexpired credit (art. 29.6); expired credit is never refunded (art. 29.3).

    One RESTITUTION ledger entry takes what is left on every lot that has not expired at the
    moment of approval (usable or not yet usable), with an allocation per lot.
    """
    request = _decidable(request, acting_user)
    client = request.client
    wallet = _lock_wallet(wallet_for_client(client=client))
    now = timezone.now()
    lots = list(
        CreditLot.objects.select_for_update()
        .filter(wallet=wallet, status=CreditLot.Status.ACTIVE, remaining__gt=0, expires_at__gt=now)
        .order_by("pk")
    )
    total = sum((lot.remaining for lot in lots), Decimal("0"))
    entry = None
    if total > 0:
        balance = wallet.balance - total
        entry = LedgerEntry.objects.create(
            wallet=wallet,
            kind=LedgerEntry.Kind.RESTITUTION,
            amount=-total,
            currency=wallet.currency,
            balance_after=balance,
            idempotency_key=f"restitution:{request.pk}",
            created_at=now,
            created_by=acting_user,
            cause=f"restitution request {request.pk} approved by {acting_user.email}"[:200],
            memo=(note or "").strip(),
        )
        LedgerAllocation.objects.bulk_create(
            [LedgerAllocation(entry=entry, lot=lot, amount=lot.remaining) for lot in lots]
        )
        CreditLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(
            remaining=Decimal("0"), status=CreditLot.Status.EXHAUSTED
        )
        Wallet.objects.filter(pk=wallet.pk).update(balance=balance)
    request.status = RestitutionRequest.Status.APPROVED
    request.amount = total
    request.entry = entry
    request.decided_by = acting_user
    request.decided_at = now
    request.decision_note = (note or "").strip()
    request._history_user = acting_user
    request.save()
    notify(
        key=f"restitution-decided:{request.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="Your restitution request was approved",
        body=(
            f"{request.currency} {total} of remaining unexpired credit will be restituted (art. 29.6). "
            "Expired credit is not refunded (art. 29.3).\n" + request.decision_note
        ),
    )
    return request


@transaction.atomic
def restitution_refuse(
    *, request: RestitutionRequest, acting_user: User, note: str
) -> RestitutionRequest:
    """Staff refuse a restitution request, saying why (art. 29.6); nothing moves."""
    if not (note or "").strip():
        raise ValidationFailed({"note": ["Give the reason for the refusal; the client sees it."]})
    request = _decidable(request, acting_user)
    request.status = RestitutionRequest.Status.REFUSED
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_note = note.strip()
    request._history_user = acting_user
    request.save()
    notify(
        key=f"restitution-decided:{request.pk}",
        client=request.client,
        recipients=client_recipients(request.client),
        subject="Your restitution request was refused",
        body=request.decision_note,
    )
    return request


# --- Job: credit expiry (art. 29.3) --------------------------------------------------------
_LOT = CreditLot._meta.db_table
_WALLET = Wallet._meta.db_table
_ENTRY = LedgerEntry._meta.db_table

# The candidates of one batch, by keyset on the partial index (expires_at, id) WHERE active:
# each batch starts where the last one ended, so no batch rescans rows already expired.
_EXPIRY_CANDIDATES = f"""
    SELECT id, wallet_id, expires_at FROM {_LOT}
    WHERE status = 'active' AND expires_at <= %(now)s {{after}}
    ORDER BY expires_at, id
    LIMIT %(limit)s
"""
# Lock order as everywhere: the wallets (in pk order) before their lots.
_EXPIRY_LOCK_WALLETS = (
    f"SELECT id FROM {_WALLET} WHERE id = ANY(%(wallet_ids)s) ORDER BY id FOR UPDATE"
)
# All writes of a batch in one statement: expiry entries (with the running balance after each),
# lots emptied and marked expired, wallet balances lowered. `{lots}` selects the lots to expire
# and `{wallets}` their wallets (the batch's ids for the job, so the planner probes the wallets'
# primary key instead of scanning the table once per batch; TRUE for the plain-SQL benchmark).
EXPIRY_WRITE_SQL = f"""
    WITH due AS MATERIALIZED (
        SELECT l.id, l.wallet_id, l.remaining, l.currency, l.expires_at
        FROM {_LOT} l
        WHERE {{lots}} AND l.status = 'active' AND l.expires_at <= %(now)s
    ),
    lots AS (
        UPDATE {_LOT} l SET remaining = 0, status = 'expired'
        FROM due WHERE l.id = due.id
        RETURNING l.id
    ),
    totals AS (
        SELECT wallet_id, SUM(remaining) AS total FROM due WHERE remaining > 0 GROUP BY wallet_id
    ),
    wallets AS (
        UPDATE {_WALLET} w SET balance = w.balance - totals.total,
            credit_exhausted_at = CASE WHEN w.balance - totals.total = 0
                                       THEN coalesce(w.credit_exhausted_at, %(now)s)
                                       ELSE w.credit_exhausted_at END
        FROM totals WHERE w.id = totals.wallet_id AND {{wallets}}
        RETURNING w.id
    ),
    entries AS (
        INSERT INTO {_ENTRY}
            (wallet_id, kind, amount, currency, balance_after, idempotency_key, created_at,
             created_by_id, cause, lot_id, memo)
        SELECT due.wallet_id, 'expiry', -due.remaining, due.currency,
               w.balance - SUM(due.remaining) OVER (
                   PARTITION BY due.wallet_id ORDER BY due.expires_at, due.id
               ),
               'expiry:' || due.id, %(now)s, NULL, 'job expire_credit (art. 29.3)', due.id, ''
        FROM due JOIN {_WALLET} w ON w.id = due.wallet_id AND {{wallets}}
        WHERE due.remaining > 0
        ORDER BY due.wallet_id, due.expires_at, due.id
        RETURNING amount
    )
    SELECT (SELECT count(*) FROM lots), (SELECT count(*) FROM entries),
           (SELECT coalesce(-sum(amount), 0) FROM entries), (SELECT count(*) FROM wallets)
"""


def credit_expire(*, now: dt.datetime | None = None, batch_size: int = 5000) -> dict:
    """Expire what is left on lots past their expiry (art. 29.3).

    "Pre-paid credit is non-refundable and will expire twelve (12) months after the date on
    which the Pre-Paid Client purchased the prepaid balance." For each active lot whose
    expires_at has passed: an EXPIRY entry for its remaining amount (key `expiry:<lot id>`),
    the lot emptied and marked expired, the wallet's balance lowered. Set-wise, in batches of
    `batch_size` lots, each its own transaction of three statements; a second run finds
    nothing to do (it filters on the state it changes).
    """
    require_postgresql("The credit expiry job")
    now = now or timezone.now()
    summary = {"lots_expired": 0, "entries": 0, "amount": Decimal("0"), "wallets": 0, "batches": 0}
    after = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # The job is idempotent and each batch is consistent on its own: a crash can lose
            # the last batches' commits, never half of one, and the next run redoes them. So
            # a batch need not wait for its WAL flush.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            params = {"now": now, "limit": batch_size}
            if after is None:
                cursor.execute(_EXPIRY_CANDIDATES.format(after=""), params)
            else:
                params.update(after_at=after[0], after_id=after[1])
                cursor.execute(
                    _EXPIRY_CANDIDATES.format(
                        after="AND (expires_at, id) > (%(after_at)s, %(after_id)s)"
                    ),
                    params,
                )
            rows = cursor.fetchall()
            if not rows:
                break
            after = (rows[-1][2], rows[-1][0])
            wallet_ids = sorted({r[1] for r in rows})
            cursor.execute(_EXPIRY_LOCK_WALLETS, {"wallet_ids": wallet_ids})
            cursor.execute(
                EXPIRY_WRITE_SQL.format(
                    lots="l.id = ANY(%(lot_ids)s)", wallets="w.id = ANY(%(wallet_ids)s)"
                ),
                {"now": now, "lot_ids": [r[0] for r in rows], "wallet_ids": wallet_ids},
            )
            lots, entries, amount, wallets = cursor.fetchone()
        summary["lots_expired"] += lots
        summary["entries"] += entries
        summary["amount"] += amount
        summary["wallets"] += wallets
        summary["batches"] += 1
        if len(rows) < batch_size:
            break
    log.info("expire_credit: %s", summary)
    summary["amount"] = str(summary["amount"])
    return summary


# --- Job: reminders before credit expires --------------------------------------------------
def credit_expiry_reminders_send(*, now: dt.datetime | None = None, batch_size: int = 500) -> dict:
    """Email the client 30 days before a lot with remaining credit expires (art. 29.3), once per lot."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=CREDIT_EXPIRY_REMINDER_DAYS)
    sent = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            # skip_locked: a lot in the middle of a debit is reminded on the next run.
            lots = list(
                CreditLot.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("wallet__client__provider")
                .filter(
                    status=CreditLot.Status.ACTIVE,
                    remaining__gt=0,
                    expiry_reminded_at=None,
                    expires_at__gt=now,
                    expires_at__lte=horizon,
                    pk__gt=last_pk,
                )
                .order_by("pk")[:batch_size]
            )
            if not lots:
                break
            for lot in lots:
                client = lot.wallet.client
                last_usable_day = lot.expires_on - dt.timedelta(days=1)
                if notify(
                    key=f"credit-expiry-reminder:{lot.pk}",
                    client=client,
                    recipients=client_recipients(client),
                    subject=f"{lot.currency} {lot.remaining} of prepaid credit expires on {lot.expires_on}",
                    body=(
                        f"Your top-up {lot.reference} of {lot.purchase_date} has {lot.currency} {lot.remaining} left. "
                        f"It can be used until the end of {last_usable_day} ({client.provider.timezone}); "
                        "prepaid credit expires twelve months after purchase and is non-refundable (art. 29.3)."
                    ),
                ):
                    sent += 1
            CreditLot.objects.filter(
                pk__in=[lot.pk for lot in lots], expiry_reminded_at=None
            ).update(expiry_reminded_at=now)
            last_pk = lots[-1].pk
    return {"reminded": sent}


# --- Job: deletion of inactive prepaid accounts (art. 29.7) --------------------------------
def inactivity_deadline(
    *, client: Client, wallet: Wallet | None
) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, deadline) of the art. 29.7 clock, or None when the account is not at risk.

    "The account will be deleted if the account is not charged within three (3) months of
    registration, or within three months after all credit has been used." A prepaid account
    is charged when credit is loaded onto it (a top-up, art. 29.1: "occasional payments ...
    credited to his account"), so an account holding paid credit is never deleted. Never
    charged counts from the registration (approval, else sign-up); all credit used counts
    from the moment the balance reached zero, by a debit or by expiry (a top-up clears it).
    """
    months = client.provider.inactive_deletion_months
    if wallet is None or wallet.last_charged_at is None:
        start = client.approved_at or client.created_at
    elif wallet.credit_exhausted_at is not None:
        start = wallet.credit_exhausted_at
    else:
        return None
    return start, add_months(start, months)


def inactive_accounts_delete(*, now: dt.datetime | None = None, batch_size: int = 200) -> dict:
    """Warn, then delete, prepaid accounts not charged in time (art. 29.7).

    The account is warned by email `inactive_warning_days` (14) before its deadline; on the
    deadline (and at least that many days after the warning) it is deleted through
    `client_delete_account`: personal data anonymised, users deactivated, the wallet and the
    ledger kept. A charge after the warning stops the clock and the deletion.
    """
    now = now or timezone.now()
    summary = {"warned": 0, "deleted": 0, "cleared": 0}
    for provider in Provider.objects.order_by("pk"):
        warn = dt.timedelta(days=provider.inactive_warning_days)
        # Coarse in SQL (anyone whose clock could be due for a warning), exact in Python.
        bound = add_months(now + warn, -provider.inactive_deletion_months) + dt.timedelta(days=1)
        candidates = (
            Client.objects.filter(
                provider=provider,
                billing_mode=Client.BillingMode.PREPAID,
                status=Client.Status.ACTIVE,
            )
            .annotate(registered=Coalesce("approved_at", "created_at"))
            .filter(
                (Q(wallet__isnull=True) | Q(wallet__last_charged_at__isnull=True))
                & Q(registered__lte=bound)
                | Q(wallet__credit_exhausted_at__lte=bound)
                | Q(wallet__inactivity_warned_at__isnull=False)
            )
        )
        last_pk = 0
        while True:
            batch = list(
                candidates.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                break
            last_pk = batch[-1]
            for client_id in batch:
                outcome = _inactive_account_step(client_id=client_id, now=now)
                if outcome:
                    summary[outcome] += 1
    return summary


@transaction.atomic
def _inactive_account_step(*, client_id: int, now: dt.datetime) -> str | None:
    client = Client.objects.select_related("provider").get(pk=client_id)
    wallet = _lock_wallet(wallet_for_client(client=client))
    if client.status != Client.Status.ACTIVE:
        return None
    clock = inactivity_deadline(client=client, wallet=wallet)
    warned_at = wallet.inactivity_warned_at
    if clock is None or (warned_at is not None and warned_at < clock[0]):
        # Charged again (or topped up after using it all): the warning no longer stands.
        if warned_at is not None:
            Wallet.objects.filter(pk=wallet.pk).update(inactivity_warned_at=None)
            if clock is None:
                return "cleared"
            warned_at = None
        else:
            return None
    start, deadline = clock
    warn = dt.timedelta(days=client.provider.inactive_warning_days)
    if now < deadline - warn:
        return None
    if warned_at is None:
        notify(
            key=f"inactive-warning:{client.pk}:{start.isoformat()}",
            client=client,
            recipients=client_recipients(client, include_viewers=True),
            subject=f"Your prepaid account will be deleted on {max(deadline, now + warn):%Y-%m-%d}",
            body=(
                "Your prepaid account has not been topped up within "
                f"{client.provider.inactive_deletion_months} months "
                + (
                    "of registration"
                    if wallet.last_charged_at is None
                    else "after all credit was used"
                )
                + ". It will be deleted unless credit is added before then (art. 29.7)."
            ),
        )
        Wallet.objects.filter(pk=wallet.pk).update(inactivity_warned_at=now)
        return "warned"
    if now >= max(deadline, warned_at + warn):
        account_services.client_delete_account(
            client=client,
            reason="Not charged within the period of art. 29.7; the account was deleted after a warning.",
            acting_user=None,
        )
        return "deleted"
    return None


__all__ = [
    "CREDIT_EXPIRY_REMINDER_DAYS",
    "REFUSED_INSUFFICIENT_CREDIT",
    "REFUSED_INVALID_AMOUNT",
    "REFUSED_KEY_REUSED",
    "account_reopen",
    "chargeback_record",
    "credit_expire",
    "credit_expiry_reminders_send",
    "credit_lot_dates",
    "inactive_accounts_delete",
    "inactivity_deadline",
    "restitution_approve",
    "restitution_refuse",
    "restitution_request",
    "wallet_debit",
    "wallet_debit_locked",
    "wallet_for_client",
    "wallet_top_up",
    "wallets_debit_locked",
]

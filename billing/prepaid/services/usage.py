"""Usage from the messaging platform: batches of records, accepted or refused one by one.

Each record carries its own id, the idempotency key: a replayed id is a no-op that answers
"duplicate". Prepaid clients are debited from their wallet (art. 29.2, refused whole when the
usable balance is short); postpaid clients' messages count against their message limit
(art. 26.1), and a record that would take the unpaid count over the limit is refused
(art. 26.2). A bad record never loses its good neighbours.

The work is set-based per batch, so the platform's volume fits (issue 3, benchmark):
validation in plain Python (`usage_records.py`) and a read of the ids recorded before; then one transaction that
first inserts the new records in one statement (ON CONFLICT tells which are new), then locks
the touched message accounts and wallets in pk order (so concurrent batches for the same
client serialise and never exceed a limit or overdraw), decides every record in memory,
debits the wallets, deletes the rows of records refused under the locks and updates every
touched account in one statement. One lock order for every batch: usage rows (record id
order), message accounts, wallets, lots; the usage rows come first so that the account and
wallet locks are held only for the decisions, the debit and the commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.kernel import metrics
from accounts.kernel.db import pg_plain_array, pg_text_array, require_postgresql
from accounts.models import Agreement, Client, Provider, Suspension, User
from accounts.selectors import messaging_refusal
from billing.models import MessageAccount, UsageRecord, Wallet

from . import debits as wallet_debits
from .limits import limit_notices_send, message_account_for_client, notice_threshold_reached
from .usage_records import Record, refusal, validate
from .wallets import wallet_for_client

MAX_BATCH = 10_000
RETRIES = 3
# A usage debit's ledger key: only usage writes keys of this form, so a record id never
# collides with another movement's idempotency key in the same wallet.
LEDGER_KEY_PREFIX = "usage:"

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


class _Retry(Exception):
    """The batch lost a race (a missing account or wallet, or a record id taken concurrently);
    everything is rolled back and the batch runs again."""

    def __init__(self, missing_accounts=(), missing_wallets=()):
        super().__init__("retry")
        self.missing_accounts = list(missing_accounts)
        self.missing_wallets = list(missing_wallets)


# --- Set-based reads -----------------------------------------------------------------------
_CLIENTS_SQL = None


def _clients_sql() -> str:
    """Each client with what the batch needs, in one query: its billing mode, agreed currency
    (the agreement's, else the profile's; art. 4.1, CX 3) and
    notice percentage, and the facts accounts' messaging rule decides from (the client's
    status, its agreement's status, the causes of its open suspensions; art. 7.1)."""
    global _CLIENTS_SQL
    if _CLIENTS_SQL is None:
        _CLIENTS_SQL = f"""
            SELECT c.id, c.billing_mode, c.status, COALESCE(NULLIF(a.currency, ''), p.currency),
                   p.limit_notice_pct, a.status,
                   (SELECT array_agg(s.cause) FROM {Suspension._meta.db_table} s
                     WHERE s.client_id = c.id AND s.ended_at IS NULL)
              FROM {Client._meta.db_table} c
              JOIN {Provider._meta.db_table} p ON p.id = c.provider_id
              LEFT JOIN {Agreement._meta.db_table} a ON a.client_id = c.id
             WHERE c.id = ANY(%s)
        """
    return _CLIENTS_SQL


@dataclass(slots=True)
class _Client:
    id: int
    prepaid: bool
    currency: str
    notice_pct: int
    refusal: tuple[str, str, str, str | None] | None  # field, code, reason, article


def _load_clients(cursor, client_ids: list[int]) -> dict[int, _Client]:
    """The batch's clients; a client that may not message carries its refusal
    (accounts.selectors.messaging_refusal, the one rule of art. 7.1), on the record's field
    `client`."""
    cursor.execute(_clients_sql(), [client_ids])
    clients = {}
    for cid, mode, status, currency, pct, agreement_status, suspensions in cursor.fetchall():
        refusal = messaging_refusal(
            status=status, agreement_status=agreement_status, suspension_causes=suspensions
        )
        clients[cid] = _Client(
            cid,
            mode == Client.BillingMode.PREPAID,
            currency,
            pct,
            None if refusal is None else ("client", *refusal),
        )
    return clients


def _lock_message_accounts(cursor, client_ids: list[int]) -> dict[int, list]:
    """Lock the postpaid clients' accounts in pk order; {client_id: [pk, limit, unpaid, armed]}."""
    if not client_ids:
        return {}
    cursor.execute(
        f'SELECT id, client_id, "limit", unpaid_count, notice_armed FROM {MessageAccount._meta.db_table}'
        " WHERE client_id = ANY(%s) ORDER BY id FOR UPDATE",
        [client_ids],
    )
    return {row[1]: [row[0], row[2], row[3], row[4]] for row in cursor.fetchall()}


def _lock_wallets(client_ids: list[int]) -> dict[int, Wallet]:
    if not client_ids:
        return {}
    return {
        w.client_id: w
        for w in Wallet.objects.select_for_update().filter(client_id__in=client_ids).order_by("pk")
    }


def _existing(cursor, ids: list[str]) -> dict[str, tuple]:
    """Which of these ids were recorded before, with what they recorded."""
    cursor.execute(
        f"SELECT record_id, client_id, message_count, amount FROM {UsageRecord._meta.db_table}"
        " WHERE record_id = ANY(%s::varchar[])",
        [pg_text_array(ids)],
    )
    return {row[0]: row[1:] for row in cursor.fetchall()}


_INSERT_SQL = None


def _insert_sql() -> str:
    """One statement for the batch's new records, each column one array literal, written
    before any account or wallet is locked (so the locks are held for less). ON CONFLICT
    leaves an id recorded concurrently alone (RETURNING names the rows this batch wrote). A
    prepaid row is pointed at its ledger entry after the debit (`_link_rows`): the entry's id
    is drawn under the wallet lock, so the ledger's id order is its balance order. Rows go in
    record id order, so two batches that share ids wait on each other in the same order
    instead of deadlocking."""
    global _INSERT_SQL
    if _INSERT_SQL is None:
        _INSERT_SQL = f"""
            INSERT INTO {UsageRecord._meta.db_table}
                (record_id, client_id, channel, message_count, amount, currency, prepaid,
                 occurred_at, received_at, recipient)
            SELECT r.i, r.c, r.ch, r.n, r.a, r.cu, r.p, r.o, %s, r.re
              FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[], %s::integer[],
                          %s::numeric[], %s::varchar[], %s::boolean[], %s::timestamptz[],
                          %s::varchar[])
                   AS r(i, c, ch, n, a, cu, p, o, re)
             ORDER BY r.i
            ON CONFLICT (record_id) DO NOTHING
            RETURNING record_id, id
        """
    return _INSERT_SQL


def _insert(cursor, records: list[Record], clients: dict[str, Any], now) -> dict[str, int]:
    """Insert the records; returns {record_id: pk} for those written."""
    cursor.execute(
        _insert_sql(),
        [
            now,
            pg_text_array([r.id for r in records]),
            pg_plain_array([r.client_id for r in records]),
            pg_plain_array([r.channel for r in records]),
            pg_plain_array([r.message_count for r in records]),
            pg_plain_array([r.amount for r in records]),
            pg_plain_array([clients[r.client_id].currency for r in records]),
            pg_plain_array(["t" if clients[r.client_id].prepaid else "f" for r in records]),
            pg_text_array([r.occurred_at.isoformat() for r in records]),
            pg_text_array([r.recipient for r in records]),
        ],
    )
    return dict(cursor.fetchall())


_CLIENT_FK_NAME = None


def _client_fk_name(cursor) -> str:
    """The quoted name of the usage table's foreign key to its client, read from the catalog
    once per process."""
    global _CLIENT_FK_NAME
    if _CLIENT_FK_NAME is None:
        cursor.execute(
            "SELECT quote_ident(c.conname) FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = %s",
            [UsageRecord._meta.db_table, UsageRecord._meta.get_field("client").column],
        )
        _CLIENT_FK_NAME = cursor.fetchone()[0]
    return _CLIENT_FK_NAME


# --- The batch -----------------------------------------------------------------------------
def usage_ingest(
    *, records: list, platform_user: User | None = None, now: dt.datetime | None = None
) -> list[dict]:
    """Ingest a batch of usage records; one answer per record, in order.

    accepted: recorded (and, for a prepaid client, debited; art. 29.2);
    duplicate: this id was recorded before, nothing changes;
    refused: with the field, a code and the reason (the rule and its article).
    """
    require_postgresql("Usage ingestion")
    now = now or timezone.now()
    results: list[dict | None] = [None] * len(records)
    valid: list[Record] = []
    first_index: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for index, raw in enumerate(records):
        outcome = validate(index, raw, now)
        if isinstance(outcome, dict):
            results[index] = outcome
            continue
        if outcome.id in first_index:
            # The same id twice in one batch: the first occurrence decides, the second replays.
            repeats.append((index, first_index[outcome.id]))
            continue
        first_index[outcome.id] = index
        valid.append(outcome)

    if valid:
        for attempt in range(RETRIES + 1):
            try:
                decided, crossed = _ingest_valid(valid, now)
                break
            except _Retry as retry:
                if attempt == RETRIES:
                    raise
                _create_missing(retry)
        for index, result in decided.items():
            results[index] = result
        if crossed:
            # Each crossing emails once: limit_notices_send claims the account under its lock.
            transaction.on_commit(lambda: limit_notices_send(client_ids=crossed))

    for index, first in repeats:
        first_result = results[first]
        if first_result["status"] in (ACCEPTED, DUPLICATE):
            results[index] = {"id": first_result["id"], "status": DUPLICATE}
        else:
            results[index] = dict(first_result)
    # Counted once the batch is committed (at once when no outer transaction is open): a batch
    # rolled back never shows in the metrics.
    transaction.on_commit(lambda: metrics.usage_results_count(results))  # type: ignore[arg-type]
    return results  # type: ignore[return-value]


def _create_missing(retry: _Retry) -> None:
    """Accounts and wallets are created outside the batch's transaction, so the batch only
    ever locks existing rows, in pk order."""
    ids = retry.missing_accounts + retry.missing_wallets
    if not ids:
        return
    clients = {c.pk: c for c in Client.objects.select_related("provider").filter(pk__in=ids)}
    for client_id in retry.missing_accounts:
        message_account_for_client(client=clients[client_id])
    for client_id in retry.missing_wallets:
        wallet_for_client(client=clients[client_id])


def _screen(
    valid: list[Record], clients: dict[int, _Client], existing: dict[str, tuple], decided: dict
) -> list[Record]:
    """Answer what needs no lock (replays, unknown or barred clients, wrong currency); return
    the records left for the locked part."""
    pending = []
    for r in valid:
        previous = existing.get(r.id)
        if previous is not None:
            if (
                previous[0] != r.client_id
                or previous[1] != r.message_count
                or previous[2] != r.amount
            ):
                decided[r.index] = refusal(
                    r.id,
                    "id",
                    "id_reused",
                    "This id was already recorded for a different record; ids are idempotency keys.",
                )
            else:
                decided[r.index] = {"id": r.id, "status": DUPLICATE}
            continue
        client = clients.get(r.client_id)
        if client is None:
            decided[r.index] = refusal(
                r.id, "client", "unknown_client", f"No client with id {r.client_id}."
            )
            continue
        if client.refusal is not None:
            decided[r.index] = refusal(r.id, *client.refusal)
            continue
        if r.currency is not None and r.currency != client.currency:
            decided[r.index] = refusal(
                r.id,
                "currency",
                "wrong_currency",
                f"The client is billed in {client.currency}, not {r.currency} (art. 4.1).",
                "4.1",
            )
            continue
        pending.append(r)
    return pending


def _ingest_valid(valid: list[Record], now: dt.datetime) -> tuple[dict[int, dict], list[int]]:
    """The set-based part of a batch. The reads that need no lock (clients, ids recorded
    before) run first, outside the transaction. Then, in one transaction, with one lock order
    for every batch (usage rows, message accounts, wallets, lots; each in id order): the new
    records are written before any account or wallet is locked, so those locks are held only
    for the decisions and the debit; a record then refused (limit, credit) is deleted again
    before commit. An id that a concurrent batch recorded meanwhile is answered as the replay
    it is; an account or wallet missing rolls everything back and runs again (`_Retry`)."""
    decided: dict[int, dict] = {}
    with connection.cursor() as cursor:
        clients = _load_clients(cursor, sorted({r.client_id for r in valid}))
        existing = _existing(cursor, [r.id for r in valid])
    pending = _screen(valid, clients, existing, decided)
    if not pending:
        return decided, []

    with transaction.atomic(), connection.cursor() as cursor:
        written = _insert(cursor, pending, clients, now)
        # The new rows' client foreign keys are checked now rather than at commit, so that
        # deferred work is not done while the locks below are held.
        cursor.execute(f"SET CONSTRAINTS {_client_fk_name(cursor)} IMMEDIATE")
        if len(written) != len(pending):
            # Recorded by a concurrent batch that committed while this insert waited for it.
            raced = [r for r in pending if r.id not in written]
            recorded = _existing(cursor, [r.id for r in raced])
            if len(recorded) != len(raced):  # pragma: no cover - ON CONFLICT saw them
                raise _Retry()
            _screen(raced, clients, recorded, decided)
            pending = [r for r in pending if r.id in written]
            if not pending:
                return decided, []
        touched = {r.client_id for r in pending}
        postpaid_ids = sorted(cid for cid in touched if not clients[cid].prepaid)
        prepaid_ids = sorted(cid for cid in touched if clients[cid].prepaid)

        # Message accounts, then wallets, each in pk order: concurrent batches for the same
        # client queue here, so a limit is never exceeded and a wallet never overdrawn.
        accounts = _lock_message_accounts(cursor, postpaid_ids)
        wallets = _lock_wallets(prepaid_ids)
        missing_accounts = [cid for cid in postpaid_ids if cid not in accounts]
        missing_wallets = [cid for cid in prepaid_ids if cid not in wallets]
        if missing_accounts or missing_wallets:
            raise _Retry(missing_accounts, missing_wallets)

        refused: list[int] = []  # usage row pks to delete again
        counts, debits = _count_postpaid(pending, clients, accounts, written, decided, refused)
        linked: list[tuple[int, int]] = []
        if debits:
            _debit(wallets, debits, written, now, decided, refused, linked)
        _correct_rows(cursor, refused, linked)
        crossed = _update_accounts(cursor, accounts, counts, clients)
    return decided, crossed


def _count_postpaid(pending, clients, accounts, written, decided, refused):
    """Postpaid records count against the message limit (art. 26.1): one that would take the
    unpaid count over it is refused (art. 26.2). Returns the new counts by client and the
    prepaid records by client, for the debit."""
    debits: dict[int, list[Record]] = {}
    counts = {cid: acc[2] for cid, acc in accounts.items()}
    for r in pending:
        if clients[r.client_id].prepaid:
            debits.setdefault(r.client_id, []).append(r)
            continue
        limit = accounts[r.client_id][1]
        new_count = counts[r.client_id] + r.message_count
        if new_count > limit:
            decided[r.index] = refusal(
                r.id,
                "message_count",
                "message_limit_reached",
                f"The message limit of {limit:,} unpaid messages is reached ({counts[r.client_id]:,} unpaid); "
                "messaging is suspended until payment or a higher limit.",
                "26.2",
            )
            refused.append(written[r.id])
            continue
        counts[r.client_id] = new_count
        decided[r.index] = {"id": r.id, "status": ACCEPTED}
    return counts, debits


def _correct_rows(cursor, refused: list[int], linked: list[tuple[int, int]]) -> None:
    """Delete the rows of records refused under the locks; point each debited row at its
    ledger entry (new, or the one already in the ledger for its key), in one statement."""
    if refused:
        cursor.execute(
            f"DELETE FROM {UsageRecord._meta.db_table} WHERE id = ANY(%s::bigint[])",
            [pg_plain_array(sorted(refused))],
        )
    if linked:
        cursor.execute(
            f"UPDATE {UsageRecord._meta.db_table} AS u SET ledger_entry_id = v.e"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, e) WHERE u.id = v.id",
            [pg_plain_array([pk for pk, _ in linked]), pg_plain_array([e for _, e in linked])],
        )


def _update_accounts(
    cursor, accounts: dict[str, Any], counts: dict[str, Any], clients: dict[str, Any]
) -> list[int]:
    """Write the new unpaid counts in one statement; returns the clients whose armed notice
    this batch's usage made due (art. 26.1)."""
    crossed = []
    changed = [(acc[0], counts[cid]) for cid, acc in accounts.items() if counts[cid] != acc[2]]
    if changed:
        cursor.execute(
            f"UPDATE {MessageAccount._meta.db_table} AS m SET unpaid_count = v.n"
            " FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) WHERE m.id = v.id",
            [pg_plain_array([pk for pk, _ in changed]), pg_plain_array([n for _, n in changed])],
        )
        for cid, (_, limit, before, armed) in accounts.items():
            pct = clients[cid].notice_pct
            if (
                armed
                and counts[cid] != before
                and notice_threshold_reached(unpaid_count=counts[cid], limit=limit, pct=pct)
            ):
                crossed.append(cid)
    return crossed


def _debit(
    wallets: dict[int, Wallet],
    debits: dict[int, list[Record]],
    written: dict[str, int],
    now,
    decided: dict[str, Any],
    refused: list[int],
    linked: list[tuple[int, int]],
) -> None:
    """Debit the prepaid wallets (already locked) through the batch primitive of `debits.py`,
    in a fixed number of statements for the whole batch: FIFO by expiry, and a debit larger
    than the usable balance is refused whole (art. 29.2). The entries take their ids under the
    wallet locks; each accepted row goes on `linked` with its entry's id (a new one, or the
    entry already in the ledger for its key), a refused record's row on `refused`."""
    outcomes = wallet_debits.wallets_debit_locked(
        debits_by_wallet={
            wallets[client_id]: [
                (LEDGER_KEY_PREFIX + r.id, r.amount, f"usage record {r.id}") for r in records
            ]
            for client_id, records in debits.items()
        },
        at=now,
        as_ids=True,
    )
    for client_id, records in debits.items():
        for r, outcome in zip(records, outcomes[wallets[client_id].pk], strict=True):
            if isinstance(outcome, str):
                if outcome == wallet_debits.REFUSED_INSUFFICIENT_CREDIT:
                    decided[r.index] = refusal(
                        r.id, "amount", "insufficient_credit", outcome, "29.2"
                    )
                else:
                    decided[r.index] = refusal(r.id, "amount", "invalid", outcome)
                refused.append(written[r.id])
                continue
            linked.append((written[r.id], outcome))
            decided[r.index] = {"id": r.id, "status": ACCEPTED}

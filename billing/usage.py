"""Usage from the messaging platform: batches of records, accepted or refused one by one.

Each record carries its own id, the idempotency key: a replayed id is a no-op that answers
"duplicate". Prepaid clients are debited from their wallet (art. 29.2, refused whole when the
usable balance is short); postpaid clients' messages count against their message limit
(art. 26.1), and a record that would take the unpaid count over the limit is refused
(art. 26.2). A bad record never loses its good neighbours.

The work is set-based per batch, so the platform's volume fits (issue 3, benchmark):
validation in plain Python and a read of the ids recorded before; then one transaction that
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
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from accounts.kernel.db import require_postgresql
from accounts.models import Agreement, Client, Provider, Suspension, User

from .limits import limit_notices_send, message_account_for_client
from .models import LedgerEntry, MessageAccount, UsageRecord, Wallet

log = logging.getLogger(__name__)

CHANNELS = frozenset(UsageRecord.Channel.values)
MAX_BATCH = 10_000
MAX_ID_LENGTH = 100
MAX_RECIPIENT_LENGTH = 64
MAX_MESSAGE_COUNT = 1_000_000
# money fields hold 14 digits with 2 decimals
MAX_AMOUNT = Decimal("999999999999.99")
FUTURE_TOLERANCE = dt.timedelta(hours=1)
RETRIES = 3
# A usage debit's ledger key: only usage writes keys of this form, so a record id never
# collides with another movement's idempotency key in the same wallet.
LEDGER_KEY_PREFIX = "usage:"

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"


class _Retry(Exception):
    """The batch lost a race (a missing account or wallet, or a record id taken concurrently);
    everything is rolled back and the batch runs again."""

    def __init__(self, missing_accounts=(), missing_wallets=()):
        super().__init__("retry")
        self.missing_accounts = list(missing_accounts)
        self.missing_wallets = list(missing_wallets)


@dataclass(slots=True)
class _Record:
    index: int
    id: str
    client_id: int
    channel: str
    message_count: int
    amount: Decimal
    occurred_at: dt.datetime
    recipient: str
    currency: str | None


def _refused(record_id, field: str, code: str, reason: str, article: str | None = None) -> dict:
    result = {"id": record_id, "status": REFUSED, "field": field, "code": code, "reason": reason}
    if article:
        result["article"] = article
    return result


# --- Validation, in plain Python -----------------------------------------------------------
def _validate(index: int, raw, now: dt.datetime) -> _Record | dict:
    """One record's shape and values; returns the record or its refusal."""
    if not isinstance(raw, dict):
        return _refused(None, "record", "invalid", "Each record must be an object.")
    record_id = raw.get("id")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if not isinstance(record_id, str) or not record_id.strip():
        return _refused(None, "id", "required", "Each record needs an id (its idempotency key).")
    record_id = record_id.strip()
    if "\x00" in record_id:
        return _refused(None, "id", "invalid", "The id may not contain NUL characters.")
    if len(record_id) > MAX_ID_LENGTH:
        return _refused(
            record_id, "id", "invalid", f"The id may have at most {MAX_ID_LENGTH} characters."
        )

    client_id = raw.get("client")
    if isinstance(client_id, str) and client_id.isdigit():
        client_id = int(client_id)
    if not isinstance(client_id, int) or isinstance(client_id, bool) or client_id <= 0:
        return _refused(
            record_id, "client", "invalid", "client must be the client's id (a positive integer)."
        )

    channel = raw.get("channel")
    if channel not in CHANNELS:
        return _refused(
            record_id,
            "channel",
            "invalid",
            f"channel must be one of {', '.join(sorted(CHANNELS))}; got {channel!r}.",
        )

    count = raw.get("message_count")
    if not isinstance(count, int) or isinstance(count, bool):
        return _refused(
            record_id, "message_count", "invalid", "message_count must be a whole number."
        )
    if count < 0 or count > MAX_MESSAGE_COUNT:
        return _refused(
            record_id,
            "message_count",
            "invalid",
            f"message_count must be between 0 and {MAX_MESSAGE_COUNT:,}.",
        )

    raw_amount = raw.get("amount")
    if isinstance(raw_amount, float):
        return _refused(
            record_id,
            "amount",
            "float",
            "Give the amount as a decimal string, never a floating point number (DESIGN.md, Money).",
        )
    if isinstance(raw_amount, bool) or not isinstance(raw_amount, (str, int)):
        return _refused(
            record_id, "amount", "invalid", 'amount must be a decimal string such as "0.05".'
        )
    try:
        amount = Decimal(raw_amount) if isinstance(raw_amount, int) else Decimal(raw_amount.strip())
    except InvalidOperation:
        return _refused(record_id, "amount", "invalid", f"{raw_amount!r} is not an amount.")
    if not amount.is_finite():
        return _refused(record_id, "amount", "invalid", f"{raw_amount!r} is not an amount.")
    if amount < 0:
        return _refused(
            record_id, "amount", "negative", "amount may not be negative; usage only charges."
        )
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        return _refused(record_id, "amount", "invalid", "amount may have at most 2 decimal places.")
    if amount > MAX_AMOUNT:
        return _refused(record_id, "amount", "invalid", "amount is too large.")

    currency = raw.get("currency")
    if currency is not None and not isinstance(currency, str):
        return _refused(record_id, "currency", "invalid", "currency must be an ISO 4217 code.")

    occurred = raw.get("occurred_at")
    if not isinstance(occurred, str):
        return _refused(
            record_id, "occurred_at", "required", "occurred_at must be an ISO 8601 timestamp."
        )
    try:
        occurred_at = dt.datetime.fromisoformat(occurred)
    except ValueError:
        return _refused(
            record_id, "occurred_at", "invalid", f"{occurred!r} is not an ISO 8601 timestamp."
        )
    if occurred_at.tzinfo is None:
        return _refused(
            record_id,
            "occurred_at",
            "invalid",
            "occurred_at must carry a UTC offset (e.g. 'Z' or '+08:00').",
        )
    if occurred_at > now + FUTURE_TOLERANCE:
        return _refused(record_id, "occurred_at", "future", "occurred_at lies in the future.")

    recipient = raw.get("recipient") or ""
    if (
        not isinstance(recipient, str)
        or len(recipient) > MAX_RECIPIENT_LENGTH
        or "\x00" in recipient
    ):
        return _refused(
            record_id,
            "recipient",
            "invalid",
            f"recipient must be text of at most {MAX_RECIPIENT_LENGTH} characters.",
        )
    return _Record(
        index, record_id, client_id, channel, count, amount, occurred_at, recipient, currency
    )


# --- Set-based reads -----------------------------------------------------------------------
_CLIENTS_SQL = None


def _clients_sql() -> str:
    """Each client with what the batch needs; `allowed` is accounts.selectors.messaging_allowed
    in one query (active client, a live agreement, no open suspension; art. 7.1)."""
    global _CLIENTS_SQL
    if _CLIENTS_SQL is None:
        _CLIENTS_SQL = f"""
            SELECT c.id, c.billing_mode, c.status, p.currency, p.limit_notice_pct, a.status,
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
    cursor.execute(_clients_sql(), [client_ids])
    clients = {}
    for cid, mode, status, currency, pct, agreement_status, suspensions in cursor.fetchall():
        refusal = None
        if status != Client.Status.ACTIVE:
            refusal = (
                "client",
                "client_not_active",
                f"The client's account is {status}; messaging is refused.",
                None,
            )
        elif agreement_status is None:
            refusal = (
                "client",
                "no_agreement",
                "The client has no agreement; messaging is refused.",
                None,
            )
        elif agreement_status == Agreement.Status.TERMINATED:
            refusal = (
                "client",
                "agreement_ended",
                "The client's agreement has ended; messaging is refused.",
                "15",
            )
        elif suspensions or agreement_status == Agreement.Status.SUSPENDED:
            causes = ", ".join(sorted(set(suspensions or []))) or "suspended agreement"
            refusal = (
                "client",
                "suspended",
                f"The client's service is suspended ({causes}).",
                "7.1",
            )
        clients[cid] = _Client(cid, mode == Client.BillingMode.PREPAID, currency, pct, refusal)
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


def _text_array(values) -> str:
    """A PostgreSQL array literal of text. Built here and sent as one parameter, because
    psycopg quotes a Python list element by element in Python, which cost more than the rest
    of a batch's Python work; PostgreSQL parses the literal in C."""
    return (
        "{"
        + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values])
        + "}"
    )


def _plain_array(values) -> str:
    """An array literal of values that need no quoting (integers, validated codes, amounts,
    ISO timestamps); None is NULL."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def _existing(cursor, ids: list[str]) -> dict[str, tuple]:
    """Which of these ids were recorded before, with what they recorded."""
    cursor.execute(
        f"SELECT record_id, client_id, message_count, amount FROM {UsageRecord._meta.db_table}"
        " WHERE record_id = ANY(%s::varchar[])",
        [_text_array(ids)],
    )
    return {row[0]: row[1:] for row in cursor.fetchall()}


_INSERT_SQL = None


def _insert_sql() -> str:
    """One statement for the batch's new records, each column one array literal, written
    before any account or wallet is locked (so the locks are held for less). ON CONFLICT
    leaves an id recorded concurrently alone (RETURNING names the rows this batch wrote), and
    a prepaid row takes its ledger entry's id from the ledger's sequence here, for the debit
    to use (the foreign key is checked at commit). Rows go in record id order, so two batches
    that share ids wait on each other in the same order instead of deadlocking."""
    global _INSERT_SQL
    if _INSERT_SQL is None:
        _INSERT_SQL = f"""
            INSERT INTO {UsageRecord._meta.db_table}
                (record_id, client_id, channel, message_count, amount, currency, prepaid,
                 occurred_at, received_at, recipient, ledger_entry_id)
            SELECT r.i, r.c, r.ch, r.n, r.a, r.cu, r.p, r.o, %s, r.re,
                   CASE WHEN r.p THEN nextval(pg_get_serial_sequence(%s, 'id')) END
              FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[], %s::integer[],
                          %s::numeric[], %s::varchar[], %s::boolean[], %s::timestamptz[],
                          %s::varchar[])
                   AS r(i, c, ch, n, a, cu, p, o, re)
             ORDER BY r.i
            ON CONFLICT (record_id) DO NOTHING
            RETURNING record_id, id, ledger_entry_id
        """
    return _INSERT_SQL


def _insert(cursor, records: list[_Record], clients: dict, now) -> dict[str, tuple[int, int]]:
    """Insert the records; returns {record_id: (pk, ledger entry id)} for those written."""
    cursor.execute(
        _insert_sql(),
        [
            now,
            LedgerEntry._meta.db_table,
            _text_array([r.id for r in records]),
            _plain_array([r.client_id for r in records]),
            _plain_array([r.channel for r in records]),
            _plain_array([r.message_count for r in records]),
            _plain_array([r.amount for r in records]),
            _plain_array([clients[r.client_id].currency for r in records]),
            "{" + ",".join(["t" if clients[r.client_id].prepaid else "f" for r in records]) + "}",
            _text_array([r.occurred_at.isoformat() for r in records]),
            _text_array([r.recipient for r in records]),
        ],
    )
    return {record_id: (pk, entry_id) for record_id, pk, entry_id in cursor.fetchall()}


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
    valid: list[_Record] = []
    first_index: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for index, raw in enumerate(records):
        outcome = _validate(index, raw, now)
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
    if retry.missing_wallets:
        from .services import wallet_for_client

        for client_id in retry.missing_wallets:
            wallet_for_client(client=clients[client_id])


def _screen(
    valid: list[_Record], clients: dict[int, _Client], existing: dict[str, tuple], decided: dict
) -> list[_Record]:
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
                decided[r.index] = _refused(
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
            decided[r.index] = _refused(
                r.id, "client", "unknown_client", f"No client with id {r.client_id}."
            )
            continue
        if client.refusal is not None:
            decided[r.index] = _refused(r.id, *client.refusal)
            continue
        if r.currency is not None and r.currency != client.currency:
            decided[r.index] = _refused(
                r.id,
                "currency",
                "wrong_currency",
                f"The client is billed in {client.currency}, not {r.currency} (art. 4.1).",
                "4.1",
            )
            continue
        pending.append(r)
    return pending


def _ingest_valid(valid: list[_Record], now: dt.datetime) -> tuple[dict[int, dict], list[int]]:
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
        # deferred work is not done while the locks below are held (the ledger entry key
        # stays deferred: its entries are written under the wallet locks).
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
        debits: dict[int, list[_Record]] = {}
        counts = {cid: acc[2] for cid, acc in accounts.items()}
        for r in pending:
            if clients[r.client_id].prepaid:
                debits.setdefault(r.client_id, []).append(r)
                continue
            limit = accounts[r.client_id][1]
            new_count = counts[r.client_id] + r.message_count
            if new_count > limit:
                decided[r.index] = _refused(
                    r.id,
                    "message_count",
                    "message_limit_reached",
                    f"The message limit of {limit:,} unpaid messages is reached ({counts[r.client_id]:,} unpaid); "
                    "messaging is suspended until payment or a higher limit.",
                    "26.2",
                )
                refused.append(written[r.id][0])
                continue
            counts[r.client_id] = new_count
            decided[r.index] = {"id": r.id, "status": ACCEPTED}

        relinked: list[tuple[int, int]] = []
        if debits:
            _debit(wallets, debits, written, now, decided, refused, relinked)
        if refused:
            cursor.execute(
                f"DELETE FROM {UsageRecord._meta.db_table} WHERE id = ANY(%s::bigint[])",
                [_plain_array(sorted(refused))],
            )
        if relinked:  # the record's ledger key was in the ledger already
            cursor.execute(
                f"UPDATE {UsageRecord._meta.db_table} AS u SET ledger_entry_id = v.e"
                " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, e) WHERE u.id = v.id",
                [_plain_array([pk for pk, _ in relinked]), _plain_array([e for _, e in relinked])],
            )

        crossed = []
        changed = [(acc[0], counts[cid]) for cid, acc in accounts.items() if counts[cid] != acc[2]]
        if changed:
            cursor.execute(
                f"UPDATE {MessageAccount._meta.db_table} AS m SET unpaid_count = v.n"
                " FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) WHERE m.id = v.id",
                [_plain_array([pk for pk, _ in changed]), _plain_array([n for _, n in changed])],
            )
            for cid, (_, limit, before, armed) in accounts.items():
                pct = clients[cid].notice_pct
                if armed and counts[cid] != before and counts[cid] * 100 >= limit * pct:
                    crossed.append(cid)
    return decided, crossed


def _debit(
    wallets: dict[int, Wallet],
    debits: dict[int, list[_Record]],
    written: dict[str, tuple[int, int]],
    now,
    decided: dict,
    refused: list[int],
    relinked: list[tuple[int, int]],
) -> None:
    """Debit the prepaid wallets (already locked) through billing.services' batch primitive,
    in a fixed number of statements for the whole batch: FIFO by expiry, and a debit larger
    than the usable balance is refused whole (art. 29.2). Each new entry takes the id its
    usage row already points at; a refused record's row goes on `refused`, and a row whose
    key turns out to be in the ledger already on `relinked`, pointed at that entry."""
    from .services import REFUSED_INSUFFICIENT_CREDIT, wallets_debit_locked

    outcomes = wallets_debit_locked(
        debits_by_wallet={
            wallets[client_id]: [
                (LEDGER_KEY_PREFIX + r.id, r.amount, f"usage record {r.id}") for r in records
            ]
            for client_id, records in debits.items()
        },
        at=now,
        entry_ids={
            wallets[client_id].pk: [written[r.id][1] for r in records]
            for client_id, records in debits.items()
        },
        as_ids=True,
    )
    for client_id, records in debits.items():
        for r, outcome in zip(records, outcomes[wallets[client_id].pk], strict=True):
            if isinstance(outcome, str):
                if outcome == REFUSED_INSUFFICIENT_CREDIT:
                    decided[r.index] = _refused(
                        r.id, "amount", "insufficient_credit", outcome, "29.2"
                    )
                else:
                    decided[r.index] = _refused(r.id, "amount", "invalid", outcome)
                refused.append(written[r.id][0])
                continue
            pk, entry_id = written[r.id]
            if outcome != entry_id:
                relinked.append((pk, outcome))
            decided[r.index] = {"id": r.id, "status": ACCEPTED}

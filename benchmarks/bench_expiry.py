"""Benchmark: the expiry job (art. 29.3) on 1,000,000 and 2,000,000 lots beside plain SQL.

For each size the lots are generated with `generate_series` into a dedicated database
(`portal_bench_expiry` on the server of DATABASE_URL, migrated first), then:
- plain SQL: one statement over every due lot making the same writes as the job (expiry
  entries with their running balance, lots emptied and marked expired, wallets lowered);
- the job: `billing.prepaid.services.expiry.credit_expire`, batches of 5,000 lots, each its own transaction.
The data is regenerated between the two so each starts from the same state. Targets (issue 3):
the job at most 1.5x the plain SQL, and the 2M run at most 2.1x the 1M run.

Usage: python benchmarks/bench_expiry.py [SIZE ...]   (default 1000000 2000000)
Writes its markdown section to benchmarks/out/expiry.md.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg
from _db import bench_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "portal_bench_expiry"
BATCH_SIZE = int(os.environ.get("BENCH_EXPIRY_BATCH", "5000"))
LOTS_PER_WALLET = 20
# One lot in ten is not yet due, so the job's filter has something to leave alone.
NOT_DUE_EVERY = 10


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DB_CONN_MAX_AGE", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _generate(n_lots: int, now) -> dict:
    """n lots over n/20 prepaid wallets; 9 in 10 are past expiry with credit left.

    As in production, lots are inserted in purchase order, so their ids (and their place in
    the table) follow their expiry; wallets interleave (lot g belongs to wallet g mod n/20).
    The expiry dates spread over 300 days (many lots share a day).
    """
    from django.db import connection, transaction

    n_wallets = max(1, n_lots // LOTS_PER_WALLET)
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            "TRUNCATE billing_ledgerallocation, billing_ledgerentry, billing_chargeback,"
            " billing_creditlot, billing_wallet RESTART IDENTITY CASCADE"
        )
        c.execute("DELETE FROM accounts_client WHERE legal_name LIKE 'Bench %%'")
        c.execute("SELECT id FROM accounts_provider WHERE code = 'cm-cn'")
        provider_id = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO accounts_client
                (provider_id, legal_name, address, country, registration_number,
                 registration_number_normalised, vat_number, billing_email, billing_mode, status,
                 created_at, approved_at, rejection_reason)
            SELECT %(provider)s, 'Bench ' || g, g || ' Bench Road', 'CN', 'BENCH' || g, 'BENCH' || g, '',
                   'bench' || g || '@bench.invalid', 'prepaid', 'active', %(now)s, %(now)s, ''
            FROM generate_series(1, %(n)s) AS g
            """,
            {"provider": provider_id, "now": now, "n": n_wallets},
        )
        c.execute(
            "INSERT INTO billing_wallet (client_id, currency, balance, created_at)"
            " SELECT id, 'CNY', 0, %(now)s FROM accounts_client WHERE legal_name LIKE 'Bench %%' ORDER BY id",
            {"now": now},
        )
        c.execute("SELECT min(id) FROM billing_wallet")
        first_wallet = c.fetchone()[0]
        # Load fast: without the lots' secondary indexes (rebuilt below, as they were) and
        # without per-row foreign-key triggers (the generated wallet ids are known to exist).
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'billing_creditlot'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"
        )
        indexes = c.fetchall()
        for name, _ in indexes:
            c.execute(f'DROP INDEX "{name}"')
        c.execute("SET LOCAL session_replication_role = replica")
        c.execute(
            """
            INSERT INTO billing_creditlot
                (wallet_id, currency, amount, remaining, reference, received_at, purchase_date,
                 usable_from, expires_on, expires_at, status)
            SELECT %(first)s + (g %% %(wallets)s), 'CNY', a.amount, a.amount - (g %% 7), 'PAY-' || g,
                   e.expires_at - interval '12 months', (e.expires_at - interval '12 months')::date,
                   e.expires_at - interval '12 months' + interval '1 day', e.expires_at::date,
                   e.expires_at, 'active'
            FROM generate_series(1, %(n)s) AS g,
                 LATERAL (SELECT (10 + g %% 90)::numeric(14, 2) AS amount) a,
                 LATERAL (SELECT CASE WHEN g > %(due)s
                                      THEN %(now)s + ((g - %(due)s) * 300 / (%(n)s - %(due)s + 1)) * interval '1 day'
                                      ELSE %(now)s - interval '1 hour' - ((%(due)s - g) * 300 / %(due)s) * interval '1 day'
                                 END AS expires_at) e
            """,
            {
                "first": first_wallet,
                "wallets": n_wallets,
                "n": n_lots,
                "now": now,
                "due": n_lots - n_lots // NOT_DUE_EVERY,
            },
        )
        c.execute("SET LOCAL session_replication_role = origin")
        for _, definition in indexes:
            c.execute(definition)
        c.execute(
            "UPDATE billing_wallet w SET balance = s.total"
            " FROM (SELECT wallet_id, sum(remaining) AS total FROM billing_creditlot GROUP BY wallet_id) s"
            " WHERE w.id = s.wallet_id"
        )
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE billing_creditlot")
        conn.execute("VACUUM ANALYZE billing_wallet")
        conn.execute("VACUUM ANALYZE billing_ledgerentry")
        conn.execute("CHECKPOINT")
    return {"wallets": n_wallets}


def _result_digest() -> tuple:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT count(*), coalesce(sum(amount), 0), coalesce(sum(balance_after), 0)"
            " FROM billing_ledgerentry WHERE kind = 'expiry'"
        )
        entries = c.fetchone()
        c.execute("SELECT count(*) FROM billing_creditlot WHERE status = 'expired'")
        lots = c.fetchone()[0]
        c.execute("SELECT coalesce(sum(balance), 0) FROM billing_wallet")
        balance = c.fetchone()[0]
    return (*entries, lots, balance)


MAX_WAL_SIZE = os.environ.get("BENCH_MAX_WAL_SIZE", "8GB")


def _server_setting(name: str, value: str | None) -> None:
    """Set (or, with None, reset) a server setting for the run; ALTER SYSTEM needs no restart
    for max_wal_size, only a reload."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        if value is None:
            conn.execute(f"ALTER SYSTEM RESET {name}")
        else:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")


def _checkpoints() -> int:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        return conn.execute(
            "SELECT checkpoints_req + checkpoints_timed FROM pg_stat_bgwriter"
        ).fetchone()[0]


def _plain_sql(now) -> float:
    from django.db import connection, transaction

    from billing.prepaid.services.expiry import EXPIRY_WRITE_SQL

    sql = EXPIRY_WRITE_SQL.format(lots="TRUE", wallets="TRUE")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as c:
        c.execute(sql, {"now": now})
    return time.perf_counter() - start


def _job(now) -> tuple[float, dict]:
    from billing.prepaid.services.expiry import credit_expire

    start = time.perf_counter()
    summary = credit_expire(now=now, batch_size=BATCH_SIZE)
    return time.perf_counter() - start, summary


def main(argv: list[str]) -> int:
    sizes = [int(a.replace("_", "")) for a in argv] or [1_000_000, 2_000_000]
    url = bench_database(DB_NAME)
    _setup_django(url)
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    rows = []
    # PostgreSQL's default max_wal_size (1 GB) forces checkpoints, and with them full-page
    # writes, in the middle of the 2M run but not the 1M one: that measures the server's WAL
    # sizing, not the job. A server that runs bulk jobs has it larger; the run sets it and
    # restores the default afterwards.
    _server_setting("max_wal_size", MAX_WAL_SIZE)
    try:
        _runs(sizes, now, rows)
    finally:
        _server_setting("max_wal_size", None)
    return _report(rows)


def _runs(sizes, now, rows) -> None:
    for n in sizes:
        print(f"-- {n:,} lots: generating", flush=True)
        t0 = time.perf_counter()
        meta = _generate(n, now)
        gen = time.perf_counter() - t0
        print(f"   generated in {gen:.1f}s; plain SQL", flush=True)
        before = _checkpoints()
        plain = _plain_sql(now)
        plain_checkpoints = _checkpoints() - before
        plain_digest = _result_digest()
        print(f"   plain SQL {plain:.2f}s; regenerating", flush=True)
        _generate(n, now)
        print("   job", flush=True)
        before = _checkpoints()
        job, summary = _job(now)
        job_checkpoints = _checkpoints() - before
        job_digest = _result_digest()
        again_start = time.perf_counter()
        from billing.prepaid.services.expiry import credit_expire

        again = credit_expire(now=now, batch_size=BATCH_SIZE)
        again_s = time.perf_counter() - again_start
        same = plain_digest == job_digest and again["lots_expired"] == 0
        print(f"   job {job:.2f}s ({summary['batches']} batches), same writes: {same}", flush=True)
        rows.append(
            {
                "n": n,
                "wallets": meta["wallets"],
                "due": summary["lots_expired"],
                "plain": plain,
                "job": job,
                "again": again_s,
                "same": same,
                "batches": summary["batches"],
                "checkpoints": (plain_checkpoints, job_checkpoints),
            }
        )


def _report(rows) -> int:
    lines = [
        "## Credit expiry job (art. 29.3)",
        "",
        f"`credit_expire` (`billing.prepaid.services.expiry.credit_expire`, batches of {BATCH_SIZE:,} lots, one transaction "
        "and three statements per batch: keyset read of the due lots, lock of their wallets in pk order, one "
        "statement writing entries, lots and wallets) beside one plain SQL statement making the same writes, "
        f"on generated data ({LOTS_PER_WALLET} lots per prepaid wallet, wallets interleaved, lots in purchase "
        f"order as in production, 1 in {NOT_DUE_EVERY} not yet due; regenerated before each timed run). "
        "The job commits each batch without waiting for the WAL flush (it is idempotent; a crash loses "
        "whole batches that the next run redoes); the plain SQL is one transaction with an ordinary commit. "
        f"Server: max_wal_size set to {MAX_WAL_SIZE} for the run (restored after; the default 1 GB forces "
        "checkpoints inside the 2M run only), each timed run starts after a CHECKPOINT. "
        "Rerun: `python benchmarks/bench_expiry.py` (uses the database `portal_bench_expiry`).",
        "",
        "| lots | wallets | lots expired | plain SQL (s) | job (s) | job / plain | second run (s) | same writes | checkpoints (plain, job) |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['wallets']:,} | {r['due']:,} | {r['plain']:.2f} | {r['job']:.2f} | "
            f"{r['job'] / r['plain']:.2f}x | {r['again']:.3f} | {'yes' if r['same'] else 'NO'} | "
            f"{r['checkpoints'][0]}, {r['checkpoints'][1]} |"
        )
    ok = all(r["same"] and r["job"] <= 1.5 * r["plain"] for r in rows)
    if len(rows) >= 2:
        scale = rows[-1]["job"] / rows[0]["job"]
        size_ratio = rows[-1]["n"] / rows[0]["n"]
        ok = ok and (size_ratio != 2 or scale <= 2.1)
        lines += [
            "",
            f"Scaling: the {rows[-1]['n']:,} run took {scale:.2f}x the {rows[0]['n']:,} run "
            f"(size ratio {size_ratio:.0f}x; target at most 2.1x for 2x).",
        ]
    lines += [
        "",
        "Targets: job at most 1.5x plain SQL; 2M run at most 2.1x the 1M run. "
        + ("**Met.**" if ok else "**Not met in this run.**"),
        "",
    ]
    section = "\n".join(lines)
    print(section)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "expiry.md").write_text(section)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Benchmark: usage ingestion through the API, beside pgbench's simple-update, in one run.

What it measures (issue 3, section 7): records per second accepted by `POST /api/v1/usage/`
with batches of 1,000 records, sent over HTTP to gunicorn on 127.0.0.1 by a few client
threads, for postpaid clients (message limits), prepaid clients (wallet debits, FIFO over
lots) and a mix, over many clients. Beside it, in the same run and on the same server,
pgbench's built-in simple-update (`pgbench -N -c 4 -j 2 -T 15`). Target: ingestion at least
5x the pgbench transactions per second.

Setup: a dedicated database `portal_bench_ingest` on the server of DATABASE_URL (created and
migrated; its clients, usage and ledger are truncated at the start of each run) and
`portal_bench_pgbench` (pgbench -i). Request bodies are built before the clock starts, so the
figure is the portal's, not the load generator's JSON encoding.

Usage: python benchmarks/bench_ingest.py [--seconds N] [--workers N] [--threads N]
Writes its markdown section to benchmarks/out/ingest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from _db import bench_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "portal_bench_ingest"
PGBENCH_DB = "portal_bench_pgbench"
BATCH = 1000
CLIENTS = 200  # half postpaid, half prepaid
PGBENCH_ARGS = ["-N", "-c", "4", "-j", "2", "-T", "15"]
TARGET_RATIO = 5


def _server_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 60,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        BEHIND_TLS_PROXY="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.pop("REDIS_URL", None)
    return env


# --- Data ----------------------------------------------------------------------------------
def _seed(now: dt.datetime) -> tuple[str, list[int], list[int]]:
    """200 active clients with agreements: 100 postpaid, 100 prepaid with three lots each."""
    from django.db import connection

    from accounts.models import Agreement, Client, Provider, User
    from accounts.tokens import api_token_issue
    from billing.prepaid.services.limits import message_account_for_client
    from billing.prepaid.services.wallets import wallet_for_client, wallet_top_up

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE billing_usagerecord, billing_ledgerallocation, billing_ledgerentry,"
            " billing_creditlot, billing_wallet, billing_messageaccount, accounts_client,"
            " accounts_user, accounts_apitoken, accounts_notification RESTART IDENTITY CASCADE"
        )
    provider = Provider.objects.get(code="cm-cn")
    clients = Client.objects.bulk_create(
        [
            Client(
                provider=provider,
                legal_name=f"Bench Client {n}",
                address="1 Bench Road",
                country="CN",
                registration_number=f"BENCH{n:08d}",
                registration_number_normalised=f"BENCH{n:08d}",
                billing_email=f"billing{n}@bench.example",
                billing_mode=Client.BillingMode.PREPAID if n % 2 else Client.BillingMode.POSTPAID,
                status=Client.Status.ACTIVE,
                approved_at=now,
            )
            for n in range(CLIENTS)
        ]
    )
    today = now.date()
    Agreement.objects.bulk_create(
        [
            Agreement(
                client=c,
                start_date=today,
                currency=c.provider.currency,
                initial_term_months=12,
                renewal_term_months=12,
                notice_period_months=3,
                current_term_end=today + dt.timedelta(days=364),
            )
            for c in clients
        ]
    )
    postpaid, prepaid = [], []
    for c in clients:
        if c.billing_mode == Client.BillingMode.PREPAID:
            wallet = wallet_for_client(client=c)
            for i in range(3):
                wallet_top_up(
                    wallet=wallet,
                    amount=Decimal("100000.00"),
                    received_at=now - dt.timedelta(days=3 + 30 * i),
                    reference=f"bench-{c.pk}-{i}",
                    idempotency_key=f"bench-top-up-{c.pk}-{i}",
                )
            prepaid.append(c.pk)
        else:
            message_account_for_client(client=c)
            postpaid.append(c.pk)
    platform = User.objects.create_user("platform@bench.example", role=User.Role.PLATFORM)
    _, key = api_token_issue(user=platform, name="bench")
    return key, postpaid, prepaid


def _bodies(phase: str, n_batches: int, client_ids: list[int], now: dt.datetime) -> list[bytes]:
    rng = random.Random(phase)
    occurred = (now - dt.timedelta(minutes=5)).isoformat()
    channels = ["sms", "sms", "sms", "whatsapp", "voice"]
    bodies = []
    for b in range(n_batches):
        records = [
            {
                "id": f"{phase}-{b}-{i}",
                "client": rng.choice(client_ids),
                "channel": rng.choice(channels),
                "message_count": 1,
                "amount": "0.05",
                "occurred_at": occurred,
                "recipient": f"+86138{rng.randrange(10**8):08d}",
            }
            for i in range(BATCH)
        ]
        bodies.append(json.dumps({"records": records}).encode())
    return bodies


# --- The server and the load ---------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(url: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [
            gunicorn,
            "portal.wsgi:application",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=_server_env(url),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def _post(port: int, key: str, body: bytes) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/v1/usage/",
            body=body,
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
    return json.loads(data)


def _load(port: int, key: str, bodies: list[bytes], threads: int) -> tuple[float, dict]:
    """Send every body from `threads` threads; returns (seconds, summed answer counts)."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    totals = {"accepted": 0, "duplicate": 0, "refused": 0}
    failures: list[BaseException] = []

    def worker():
        while True:
            with lock:
                if not queue or failures:
                    return
                body = queue.pop()
            try:
                answer = _post(port, key, body)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
                return
            with lock:
                for k in totals:
                    totals[k] += answer[k]

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed, totals


def _pgbench() -> tuple[float, str]:
    url = bench_database(PGBENCH_DB)
    parts = urlsplit(url)
    conn_args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(
        ["pgbench", *conn_args, "-i", "-s", "10", "-q", PGBENCH_DB], check=True, capture_output=True
    )
    out = subprocess.run(
        ["pgbench", *conn_args, *PGBENCH_ARGS, PGBENCH_DB],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out) or re.search(
        r"tps = ([0-9.]+)", out
    )
    return float(match.group(1)), out


def _debit_share(prepaid: list[int], now: dt.datetime, batches: int = 5) -> tuple[float, float]:
    """In-process, for the record: ms per prepaid batch, and the share of it spent inside
    billing.prepaid.services.debits.wallets_debit_locked (the wallet primitive that writes the entries)."""
    from billing.prepaid.services import debits
    from billing.prepaid.services.usage import usage_ingest

    spent = [0.0]
    original = debits.wallets_debit_locked

    def timed(**kwargs):
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    debits.wallets_debit_locked = timed
    try:
        records = [json.loads(b)["records"] for b in _bodies("inprocess", batches, prepaid, now)]
        started = time.perf_counter()
        for batch in records:
            usage_ingest(records=batch, now=now)
        total = time.perf_counter() - started
    finally:
        debits.wallets_debit_locked = original
    return total / batches * 1000, spent[0] / total


def _check(accepted: int) -> list[str]:
    """After the run: the ledger and the counts agree with what was accepted."""
    from django.db import connection

    problems = []
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM billing_usagerecord")
        if c.fetchone()[0] != accepted:
            problems.append("usage rows differ from accepted answers")
        c.execute(
            "SELECT count(*) FROM billing_wallet w WHERE w.balance <>"
            " (SELECT coalesce(sum(amount), 0) FROM billing_ledgerentry e WHERE e.wallet_id = w.id)"
            " OR w.balance <> (SELECT coalesce(sum(remaining), 0) FROM billing_creditlot l WHERE l.wallet_id = w.id)"
        )
        if c.fetchone()[0]:
            problems.append("a wallet's balance differs from its ledger or its lots")
        c.execute(
            "SELECT count(*) FROM billing_messageaccount m WHERE m.unpaid_count <>"
            " (SELECT coalesce(sum(message_count), 0) FROM billing_usagerecord u"
            "   WHERE u.client_id = m.client_id AND NOT u.prepaid)"
        )
        if c.fetchone()[0]:
            problems.append("an unpaid count differs from its usage")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--batches",
        type=int,
        default=int(os.environ.get("BENCH_INGEST_BATCHES", "150")),
        help="batches of 1,000 per phase",
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("BENCH_INGEST_WORKERS", "3"))
    )
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("BENCH_INGEST_THREADS", "4"))
    )
    parser.add_argument("--skip-pgbench", action="store_true")
    args = parser.parse_args()

    url = bench_database(DB_NAME)
    os.environ.update(_server_env(url))
    os.environ["DB_CONN_MAX_AGE"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    print("seeding 200 clients ...", flush=True)
    key, postpaid, prepaid = _seed(now)
    phases = [
        ("postpaid", postpaid),
        ("prepaid", prepaid),
        ("mixed", postpaid + prepaid),
    ]
    bodies = {name: _bodies(name, args.batches, ids, now) for name, ids in phases}
    warmup = _bodies("warmup", 2 * args.threads, postpaid + prepaid, now)
    connection.close()

    server, port = _start_server(url, args.workers)
    rows = []
    total_accepted = 0
    try:
        _load(port, key, warmup, args.threads)
        total_accepted += 2 * args.threads * BATCH
        for name, _ in phases:
            elapsed, totals = _load(port, key, bodies[name], args.threads)
            records = len(bodies[name]) * BATCH
            total_accepted += totals["accepted"]
            rows.append((name, records, elapsed, records / elapsed, totals))
            print(
                f"{name}: {records:,} records in {elapsed:.2f} s = {records / elapsed:,.0f} records/s {totals}",
                flush=True,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    per_batch_ms, debit_share = _debit_share(prepaid, now)
    total_accepted += 5 * BATCH
    problems = _check(total_accepted)
    connection.close()

    tps, _ = (0.0, "") if args.skip_pgbench else _pgbench()
    if tps:
        print(f"pgbench {' '.join(PGBENCH_ARGS)}: {tps:,.0f} tps", flush=True)

    overall = sum(r[1] for r in rows) / sum(r[2] for r in rows)
    lines = [
        "## Usage ingestion through the API (issue 3, section 7)",
        "",
        f"`POST /api/v1/usage/` over HTTP to gunicorn ({args.workers} sync workers) on 127.0.0.1, "
        f"{args.threads} client threads, batches of {BATCH:,} records over {CLIENTS} clients "
        f"({len(postpaid)} postpaid against their message limit, {len(prepaid)} prepaid debited FIFO over three lots each). "
        f"Beside it, in the same run on the same PostgreSQL: `pgbench {' '.join(PGBENCH_ARGS)}` (scale 10). "
        f"Rerun: `python benchmarks/bench_ingest.py` (`--batches`, `--workers`, `--threads`).",
        "",
        "| phase | records | seconds | records/s | accepted | refused |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, records, elapsed, rate, totals in rows:
        lines.append(
            f"| {name} | {records:,} | {elapsed:.2f} | {rate:,.0f} | {totals['accepted']:,} | {totals['refused']:,} |"
        )
    lines.append(
        f"| **all** | {sum(r[1] for r in rows):,} | {sum(r[2] for r in rows):.2f} | **{overall:,.0f}** | | |"
    )
    lines.append("")
    if tps:
        ratio = overall / tps
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        lines.append(
            f"pgbench simple-update: **{tps:,.0f} tps**. Ingestion / pgbench = **{ratio:.1f}x** "
            f"(target ≥ {TARGET_RATIO}x: {verdict})."
        )
    lines.append("")
    lines.append(
        f"Where a prepaid batch goes (in-process, 5 batches): {per_batch_ms:,.0f} ms per batch of {BATCH:,}, "
        f"{debit_share:.0%} of it inside `billing.prepaid.services.debits.wallets_debit_locked` (a ledger entry and its lot "
        "allocations per record, lots and wallets updated); the postpaid path writes one usage row per record "
        "and one update per touched message account."
    )
    lines.append("")
    lines.append(
        "Consistency after the run: "
        + (
            "every wallet's balance = its ledger = its lots; unpaid counts = postpaid usage; rows = accepted answers."
            if not problems
            else "PROBLEMS: " + "; ".join(problems)
        )
    )
    section = "\n".join(lines) + "\n"
    print()
    print(section)
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "ingest.md").write_text(section)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

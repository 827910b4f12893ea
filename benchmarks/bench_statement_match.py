"""Benchmark: a bank statement of 50,000 entries imported and matched against 100,000 open
invoices (issue 14 §4), beside the plain SQL that writes the same payments.

What it measures, over several runs on the same data (reset between runs, not timed):
- the upload (`statement_upload`: the camt.053 file read whole and checked, then stored);
- the import (`statement_import_run`, the Celery task's body, run in-process): entries kept once
  per bank reference, matched a batch (500) at a time by structured reference, invoice number
  in the remittance text, or amount and payer, and recorded as payments, with the invoices'
  and entries' history rows;
- the number of queries each batch takes (matching and recording), which must not grow with
  the batch's contents: the same for every full batch;
- plain SQL writing the same rows (entries, payments, invoice updates; no history) from arrays
  prepared beforehand, in one transaction: the floor the import is compared with.

Data (database `portal_bench_statements` on the server of DATABASE_URL, created and migrated;
regenerated with --reload): cxengage-nl with a euro account, 1,000 postpaid clients,
100,000 issued euro invoices (RF references). The statement's 50,000 credit entries: 50 % quote
the RF reference, 30 % the invoice number in the remittance text, 5 % only the payer's name and
the exact amount, 5 % pay short by a bank fee (partly matched), 5 % an RF reference no invoice
has, 5 % nothing known (the last two wait for staff).

Usage: python benchmarks/bench_statement_match.py [--runs N] [--entries N] [--reload]
Writes its markdown section to benchmarks/out/statement_match.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from _db import bench_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "portal_bench_statements"
INVOICES = 100_000
CLIENTS = 1_000
IBAN = "NL93DEMO0123456789"
BOOKED = dt.date(2026, 3, 5)


def _setup_django(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 60,
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PORTAL_UPLOAD_MAX_BYTES=str(200 * 2**20),  # a 50,000-entry camt.053 is ~30 MB
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _number(j: int) -> str:
    return f"NL-2026-{j + 1:06d}"


def _total(j: int) -> Decimal:
    # distinct per client (client j % CLIENTS, its k-th invoice j // CLIENTS)
    return Decimal(100 + j // CLIENTS) + Decimal(j % CLIENTS) / 100


def _load(reload: bool):
    """The staff user; generates the clients, account and invoices when missing."""
    from django.db import connection

    from accounts.models import Client, Provider, User
    from billing.invoicing.services.bank_details import creditor_reference
    from billing.models import BankAccount, Invoice
    from tests.accounts.factories import BillingStaffFactory

    cx = Provider.objects.get(code="cxengage-nl")
    staff = User.objects.filter(email="bench.billing@bench.example").first()
    if staff is None:
        staff = BillingStaffFactory(email="bench.billing@bench.example")
        staff.providers.set([cx])
    if Invoice.objects.filter(provider=cx).count() >= INVOICES and not reload:
        return staff
    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE billing_invoice, billing_historicalinvoice, billing_payment, "
            "billing_statemententry, billing_historicalstatemententry, billing_statementimport "
            "RESTART IDENTITY CASCADE"
        )
    BankAccount.objects.get_or_create(
        provider=cx,
        iban=IBAN,
        defaults={
            "currency": "EUR",
            "account_holder": "CXENGAGE B.V.",
            "bank_name": "DEMO Bank Amsterdam",
            "bic": "DEMONL2A",
            "is_primary": True,
        },
    )
    have = Client.objects.filter(provider=cx, legal_name__startswith="Bench Client ").count()
    Client.objects.bulk_create(
        [
            Client(
                provider=cx,
                legal_name=f"Bench Client {i:04d} B.V.",
                address="Keizersgracht 1, Amsterdam",
                country="NL",
                registration_number=f"BENCH{i:06d}",
                registration_number_normalised=f"BENCH{i:06d}",
                billing_email=f"c{i}@bench.example",
                billing_mode=Client.BillingMode.POSTPAID,
                status=Client.Status.ACTIVE,
            )
            for i in range(have, CLIENTS)
        ]
    )
    client_ids = list(
        Client.objects.filter(provider=cx, legal_name__startswith="Bench Client ")
        .order_by("legal_name")
        .values_list("pk", flat=True)
    )
    numbers = [_number(j) for j in range(INVOICES)]
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO billing_invoice (
                client_id, provider_id, kind, number, payment_reference, status, invoice_date,
                due_date, currency, subtotal, vat_amount, total, amount_paid, messages_covered,
                messages_released, reverse_charge, notes, created_at, void_reason, issued_at)
            SELECT c, %(provider)s, 'invoice', n, r, 'issued', DATE '2026-03-02',
                   DATE '2026-03-16', 'EUR', t, 0, t, 0, 0, 0, false, '', now(), '', now()
            FROM unnest(%(clients)s::int[], %(numbers)s::text[], %(refs)s::text[],
                        %(totals)s::numeric[]) AS u(c, n, r, t)
            """,
            {
                "provider": cx.pk,
                "clients": [client_ids[j % CLIENTS] for j in range(INVOICES)],
                "numbers": numbers,
                "refs": [creditor_reference(n) for n in numbers],
                "totals": [_total(j) for j in range(INVOICES)],
            },
        )
        c.execute("ANALYZE")
    print(f"loaded {INVOICES:,} invoices in {time.perf_counter() - started:.0f} s", flush=True)
    return staff


def _statement(entries: int, run: int) -> bytes:
    """A camt.053 of `entries` credit entries (kinds in the module docstring)."""
    from billing.invoicing.services.bank_details import creditor_reference

    rows = []
    total = Decimal("0")
    for i in range(entries):
        j = i  # entry i pays invoice i (or names it)
        amount = _total(j)
        kind = i % 20
        payer = f"Bench Client {j % CLIENTS:04d} B.V."
        strd = text = ""
        if kind < 10:
            strd = creditor_reference(_number(j))
        elif kind < 16:
            text = f"Invoice {_number(j)} March"
        elif kind == 16:
            text = "March messaging"
            payer = payer.upper().replace(".", "")  # "BENCH CLIENT 0016 BV"
        elif kind == 17:
            strd = creditor_reference(_number(j))
            amount -= Decimal("2.50")
        elif kind == 18:
            strd = creditor_reference(f"XX{j:08d}")
        else:
            text = "donation"
            payer = "Unknown Trading GmbH"
        total += amount
        rmt = (f"<Strd><CdtrRefInf><Ref>{strd}</Ref></CdtrRefInf></Strd>" if strd else "") + (
            f"<Ustrd>{text}</Ustrd>" if text else ""
        )
        rows.append(
            f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt><Dt>{BOOKED.isoformat()}</Dt></BookgDt>"
            f"<AcctSvcrRef>BENCH-{run}-{i:06d}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties>"
            f"<Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties><RmtInf>{rmt}</RmtInf></TxDtls>"
            "</NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-05T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>BENCH-STMT-{run}</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-04</Dt></Dt></Bal>"
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{total:.2f}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-05</Dt></Dt></Bal>"
        + "".join(rows)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _reset() -> None:
    """Every invoice open and unpaid again, no payments, statements or their history."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE billing_payment, billing_statemententry, billing_historicalstatemententry, "
            "billing_statementimport, billing_historicalinvoice RESTART IDENTITY CASCADE"
        )
        c.execute(
            "UPDATE billing_invoice SET amount_paid = 0, status = 'issued' "
            "WHERE amount_paid <> 0 OR status <> 'issued'"
        )
        c.execute("VACUUM ANALYZE billing_invoice")
        c.execute("CHECKPOINT")


def _import(staff, content: bytes) -> dict:
    """Upload and import once; the times, the outcome and the queries of each batch."""
    from django.db import connection

    from billing.invoicing.services import statements

    per_batch: list[int] = []
    original = statements.statement_entries_match
    counter = {"n": 0}

    def count(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    def measured(entries, *, user):
        before = counter["n"]
        original(entries, user=user)
        per_batch.append(counter["n"] - before)

    statements.statement_entries_match = measured
    try:
        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            statement = statements.statement_upload(
                filename="bench.xml", content=content, acting_user=staff
            )
            t1 = time.perf_counter()
            total_before = counter["n"]
            result = statements.statement_import_run(statement_id=statement.pk)
            t2 = time.perf_counter()
            total = counter["n"] - total_before
    finally:
        statements.statement_entries_match = original
    return {
        "upload": t1 - t0,
        "import": t2 - t1,
        "result": result,
        "per_batch": per_batch,
        "queries": total,
        "statement": statement.pk,
    }


def _written() -> dict:
    """The rows the import wrote, as arrays for the plain SQL to write again."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT statement_id, provider_id, bank_reference, booking_date, amount, currency, "
            "payer_name, payer_iban, structured_reference, remittance_text, status, matched_by, "
            "invoice_id, note FROM billing_statemententry ORDER BY id"
        )
        entries = c.fetchall()
        c.execute(
            "SELECT invoice_id, amount, currency, received_on, reference, idempotency_key, "
            "recorded_by_id FROM billing_payment ORDER BY id"
        )
        payments = c.fetchall()
        c.execute(
            "SELECT id, amount_paid, status FROM billing_invoice WHERE amount_paid <> 0 ORDER BY id"
        )
        invoices = c.fetchall()
    return {"entries": entries, "payments": payments, "invoices": invoices}


def _plain_sql(rows: dict, statement_id: int) -> float:
    """The same entries, payments and invoice updates in plain SQL, one transaction."""
    from django.db import connection, transaction

    e = list(zip(*rows["entries"], strict=True))
    p = list(zip(*rows["payments"], strict=True))
    i = list(zip(*rows["invoices"], strict=True))
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            """
            INSERT INTO billing_statemententry (statement_id, provider_id, bank_reference,
                booking_date, amount, currency, payer_name, payer_iban, structured_reference,
                remittance_text, status, matched_by, invoice_id, note, credited)
            SELECT %s, u.* , 0 FROM unnest(%s::int[], %s::text[], %s::date[], %s::numeric[],
                %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                %s::text[], %s::int[], %s::text[]) AS u
            """,
            [statement_id, *[list(col) for col in e[1:]]],
        )
        c.execute(
            """
            INSERT INTO billing_payment (invoice_id, amount, currency, received_on, reference,
                idempotency_key, recorded_by_id, bank_fee, recorded_at)
            SELECT u.*, 0, now() FROM unnest(%s::int[], %s::numeric[], %s::text[], %s::date[],
                %s::text[], %s::text[], %s::int[]) AS u
            """,
            [list(col) for col in p],
        )
        c.execute(
            """
            UPDATE billing_invoice SET amount_paid = u.paid, status = u.status
            FROM unnest(%s::int[], %s::numeric[], %s::text[]) AS u(id, paid, status)
            WHERE billing_invoice.id = u.id
            """,
            [list(col) for col in i],
        )
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    url = bench_database(DB_NAME)
    _setup_django(url)
    staff = _load(args.reload)

    from billing.invoicing.services import _common
    from billing.invoicing.services.statements import BATCH

    # the statement is booked on 5 March 2026; the import runs the next day
    _common.now = lambda: dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)

    runs = []
    plain = []
    load_before = os.getloadavg()
    for run in range(1, args.runs + 1):
        _reset()
        content = _statement(args.entries, run)
        outcome = _import(staff, content)
        runs.append(outcome)
        print(
            f"run {run}: upload {outcome['upload']:.1f} s, import {outcome['import']:.1f} s, "
            f"{outcome['result']}, queries per batch {sorted(set(outcome['per_batch']))}",
            flush=True,
        )
        rows = _written()
        from django.db import connection

        with connection.cursor() as c:
            c.execute("DELETE FROM billing_statemententry")
            c.execute("DELETE FROM billing_payment")
            c.execute("UPDATE billing_invoice SET amount_paid = 0, status = 'issued'")
            c.execute("VACUUM ANALYZE billing_invoice")
            c.execute("CHECKPOINT")
        plain.append(_plain_sql(rows, outcome["statement"]))
        print(f"run {run}: plain SQL {plain[-1]:.1f} s", flush=True)
    load_after = os.getloadavg()

    def mmm(values):
        return min(values), statistics.median(values), max(values)

    imports = [r["import"] for r in runs]
    uploads = [r["upload"] for r in runs]
    ends = [r["import"] + r["upload"] for r in runs]
    result = runs[0]["result"]
    full = [q for r in runs for q in r["per_batch"][:-1]]  # the last batch may be short
    last = runs[0]["per_batch"][-1]
    batches = len(runs[0]["per_batch"])
    constant = len(set(full)) == 1
    ratio = statistics.median(imports) / statistics.median(plain)

    def row(label, values):
        lo, med, hi = mmm(values)
        return f"| {label} | {lo:.1f} | {med:.1f} | {hi:.1f} |"

    lines = [
        "## Bank statement import and matching (issue 14 §4)",
        "",
        f"A camt.053 statement of {args.entries:,} credit entries "
        f"(~{len(content) / 2**20:.0f} MB) against {INVOICES:,} open "
        f"euro invoices of {CLIENTS:,} clients (cxengage-nl): 50 % quote the RF reference, 30 % "
        "the invoice number in the remittance text, 5 % only the payer's name and the exact "
        "amount, 5 % pay short by a bank fee, 5 % an RF reference no invoice has, 5 % nothing "
        f"known. {args.runs} runs on the same data, reset between runs (not timed); the import "
        f"is the Celery task's body (`statement_import_run`) in-process, in batches of {BATCH}. "
        "Rerun: `python benchmarks/bench_statement_match.py` (database "
        "`portal_bench_statements`; `--runs`, `--entries`, `--reload`).",
        "",
        "| step | min (s) | median (s) | max (s) |",
        "|---|---:|---:|---:|",
        row("upload (file read whole and checked, stored)", uploads),
        row("import and match (entries, payments, invoices, history rows)", imports),
        row("upload + import", ends),
        row("plain SQL writing the same entries, payments and invoice updates", plain),
        "",
        f"Outcome of each run: matched {result['matched']:,}, partly matched "
        f"{result['partly_matched']:,}, unmatched {result['unmatched']:,}, duplicates "
        f"{result['duplicates']:,}. Import / plain SQL (medians): **{ratio:.1f}x** (the plain SQL "
        "knows the matches beforehand and writes no history rows).",
        "",
        f"Queries per batch (matching and recording {BATCH} entries): "
        f"{', '.join(str(q) for q in sorted(set(full)))} for every full batch of every run "
        f"({'constant' if constant else 'NOT constant'}), {last} for the last one; "
        f"{runs[0]['queries']:,} queries for the whole import of {batches} batches "
        f"({runs[0]['queries'] / batches:.1f} a batch with the entries' insert and the progress "
        "update). Top-ups, client credit and payments that need `payment_record`'s follow-ups "
        "(an open dispute, messages released, a suspension lifted, more than is outstanding) "
        "are recorded one by one; this statement has none.",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. "
        f"Load average (1, 5, 15 min) before: {load_before[0]:.2f}, {load_before[1]:.2f}, "
        f"{load_before[2]:.2f}; after: {load_after[0]:.2f}, {load_after[1]:.2f}, "
        f"{load_after[2]:.2f} ({os.cpu_count()} cores; other sessions share the machine).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "statement_match.md").write_text(text)
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())

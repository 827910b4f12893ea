"""Every CSV export goes through the kernel's one helper (issue 10, section 5): a cell that a
spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@` or a tab) is written
with a leading apostrophe, on every export, page and API; amounts stay numbers; the download
is streamed.

The exports: the client's ledger page (`billing:ledger_csv`), the staff's ledger of a client
(`billing:client_ledger_csv`), the ledger API (`/api/v1/ledger/?format=csv` and
`/api/v1/ledger.csv`), the record of processing page (`dataprocessing:record_csv`) and API
(`/api/v1/processing-records/<pk>/csv/`).
"""

import csv
import datetime as dt
import io
import pathlib
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.prepaid.helpers import LATER, SH
from tests.dataprocessing.factories import keep_record

pytestmark = pytest.mark.django_db

PAYLOADS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]
ROOT = pathlib.Path(__file__).resolve().parent.parent


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming, "a CSV export is streamed, not built whole in memory"
    return list(csv.reader(io.StringIO(response.getvalue().decode())))


@pytest.fixture
def ledger(cm):
    """A prepaid client whose ledger carries a formula in each free-text column: the payment
    reference of a lot, and a debit's cause and idempotency key."""
    client = prepaid_client(cm)
    wallet = wallet_for_client(client=client)
    top_up(wallet, "100.00", dt.datetime(2026, 3, 1, 10, tzinfo=SH), reference="=1+1")
    for payload in PAYLOADS:
        wallet_debit(wallet=wallet, amount="1.25", idempotency_key=payload, cause=payload, at=LATER)
    return client


def ledger_exports(client, as_user, api, billing_staff):
    admin = ClientAdminFactory(client=client)
    page = as_user(admin).get(reverse("billing:ledger_csv"))
    staff = as_user(billing_staff).get(reverse("billing:client_ledger_csv", args=[client.pk]))
    api_query = api(admin).get("/api/v1/ledger/?format=csv")
    api_path = api(admin).get("/api/v1/ledger.csv")
    return {"page": page, "staff page": staff, "api ?format=csv": api_query, "api .csv": api_path}


def test_every_ledger_export_neutralises_formulas_and_keeps_amounts_numbers(
    ledger, as_user, api, billing_staff
):
    for name, response in ledger_exports(ledger, as_user, api, billing_staff).items():
        rows = rows_of(response)
        header, body = rows[0], rows[1:]
        col = {h: i for i, h in enumerate(header)}
        debits = [r for r in body if r[col["kind"]] == "debit"]
        assert sorted(r[col["cause"]] for r in debits) == sorted("'" + p for p in PAYLOADS), name
        assert sorted(r[col["idempotency_key"]] for r in debits) == sorted(
            "'" + p for p in PAYLOADS
        ), name
        (top,) = [r for r in body if r[col["kind"]] == "top_up"]
        assert top[col["lot"]] == "'=1+1", name
        # amounts are numbers: a debit's minus sign is kept, never turned into text
        assert {r[col["amount"]] for r in debits} == {"-1.25"}, name
        assert [Decimal(r[col["balance_after"]]) for r in body] == [
            Decimal("100.00") - Decimal("1.25") * n for n in range(len(PAYLOADS), -1, -1)
        ], name


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_record_of_processing_export_neutralises_formulas(
    payload, client_company, compliance_officer, client_admin, as_user, api
):
    record = keep_record(client_company, compliance_officer)
    type(record).objects.filter(pk=record.pk).update(purposes=payload, data_types=payload)
    exports = {
        "page": as_user(compliance_officer).get(
            reverse("dataprocessing:record_csv", args=[client_company.pk])
        ),
        "api": api(client_admin).get(f"/api/v1/processing-records/{record.pk}/csv/"),
    }
    for name, response in exports.items():
        rows = rows_of(response)
        assert rows[0] == ["section", "item", "detail"], name
        details = {row[0]: row[2] for row in rows[1:]}
        assert details["Purposes of processing (24.4)"] == "'" + payload, name
        assert details["Types of personal data (24.3)"] == "'" + payload, name
        assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for r in rows for cell in r)


def test_no_module_writes_csv_but_the_kernel_helper():
    """A new export cannot bypass the helper: `csv.writer` and a hand-made text/csv response
    appear only in accounts/kernel/csv_export.py."""
    offenders = []
    for app in ("accounts", "billing", "dataprocessing", "portal"):
        for path in (ROOT / app).rglob("*.py"):
            if path.match("accounts/kernel/csv_export.py") or "migrations" in path.parts:
                continue
            text = path.read_text()
            if re.search(r"\bcsv\.(writer|DictWriter)\b|content_type=\"text/csv", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

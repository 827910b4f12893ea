"""Gapless invoice numbers under concurrent issuing: real threads on PostgreSQL (art. 4.1)."""

import datetime as dt
import threading

import pytest
from django.db import connection

from billing.invoicing.services import _common
from billing.invoicing.services import invoices as invoice_services
from billing.models import Invoice, InvoiceCounter
from tests.accounts.factories import BillingStaffFactory
from tests.billing.invoicing.factories import D, company, line


def _run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


# serialized_rollback: the flush after a transaction test would otherwise remove the seeded profiles.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_16_threads_issuing_at_once_get_numbers_1_to_16_without_gaps_or_duplicates(cm, monkeypatch):
    # given 16 drafts of one provider
    monkeypatch.setattr(_common, "now", lambda: dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC))
    staff = BillingStaffFactory()
    clients = [company(cm) for _ in range(4)]
    drafts = [
        invoice_services.invoice_draft(
            client=clients[i % 4], lines=[line(f"{10 + i}.00")], acting_user=staff
        )
        for i in range(16)
    ]

    # when 16 threads issue them at the same moment
    def issue(i):
        return invoice_services.invoice_issue(
            invoice=Invoice(pk=drafts[i].pk), acting_user=staff, invoice_date=D(2026, 5, 4)
        ).number

    results, errors = _run_threads(16, issue)

    # then every number from 1 to 16 is used exactly once
    assert not errors, errors
    assert sorted(results) == [f"CN-2026-{n:06d}" for n in range(1, 17)]
    assert sorted(
        Invoice.objects.filter(status="issued").values_list("number", flat=True)
    ) == sorted(results)
    assert InvoiceCounter.objects.get(provider=cm, year=2026).last_number == 16

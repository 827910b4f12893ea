"""The interest job (art. 4.6, issue 12 §1): each month's late interest on an invoice of its own,
issued and collected like any invoice, once per client and month; without a rate in force
nothing is charged and the overdue job's record says so."""

import pytest

from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import invoices as invoice_services
from billing.models import InterestCharge, InterestNotComputed, Invoice
from portal import jobs
from tests.billing.invoicing.factories import D, Dec, interest_rate, issued, line

pytestmark = pytest.mark.django_db

THOUSAND = [line("1000.00", vat_rate="0")]


def _interest_invoices(client):
    return list(
        Invoice.objects.filter(client=client, source_key__startswith="interest:").order_by("pk")
    )


def test_the_job_is_registered_and_scheduled():
    from django.conf import settings

    assert "interest_charge_overdue" in jobs.registry()
    assert "interest_charge_overdue" in settings.CELERY_BEAT_SCHEDULE


def test_the_past_months_interest_is_charged_once_on_an_issued_invoice(
    cm, client_company, billing_staff, clock
):
    # given 8 % from 2020 and an invoice of 1000 due 15 March, unpaid
    interest_rate(cm, D(2020, 1, 1), "8.000")
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    assert invoice.due_date == D(2026, 3, 15)

    # when the job runs on 2 April, and again the same day and the next
    clock.set(D(2026, 4, 2))
    first = interest_services.interest_charge_overdue(today=D(2026, 4, 2))
    again = interest_services.interest_charge_overdue(today=D(2026, 4, 2))
    clock.set(D(2026, 4, 3))
    interest_services.interest_charge_overdue(today=D(2026, 4, 3))

    # then March's interest, 16-31 March: 1000 × 8 % × 16/365 = 3.506849… → 3.51, is charged
    # once, on an issued invoice of its own
    assert first["interest_invoices"] == 1 and again["interest_invoices"] == 0
    [march] = _interest_invoices(client_company)
    assert march.source_key == f"interest:{client_company.pk}:2026-03"
    assert march.status == Invoice.Status.ISSUED and march.number
    assert (march.total, march.vat_amount) == (Dec("3.51"), Dec("0.00"))
    [charge] = InterestCharge.objects.filter(invoice=invoice)
    assert (charge.from_date, charge.to_date, charge.amount) == (
        D(2026, 3, 16),
        D(2026, 3, 31),
        Dec("3.51"),
    )
    assert charge.charged_on.invoice == march

    # and in May, April's: 46 days in all = 10.082191… → 10.08, less 3.51 charged = 6.57; the
    # interest invoice of March (due 16 April, unpaid) earns no interest on interest
    clock.set(D(2026, 5, 1))
    assert interest_services.interest_charge_overdue(today=D(2026, 5, 1))["interest_invoices"] == 1
    april = _interest_invoices(client_company)[-1]
    assert april.source_key.endswith(":2026-04") and april.total == Dec("6.57")
    assert not InterestCharge.objects.filter(invoice=march).exists()


def test_an_invoice_paid_on_time_is_charged_no_interest(cm, client_company, billing_staff, clock):
    from billing.invoicing.services import payments as payment_services

    interest_rate(cm, D(2020, 1, 1), "8.000")
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    clock.set(D(2026, 3, 15))
    payment_services.payment_record(
        invoice=invoice,
        amount="1000.00",
        received_on=D(2026, 3, 15),
        reference="on time",
        idempotency_key="on-time-job",
        acting_user=billing_staff,
    )
    clock.set(D(2026, 4, 2))
    assert interest_services.interest_charge_overdue(today=D(2026, 4, 2))["interest_invoices"] == 0
    assert _interest_invoices(client_company) == []


def test_without_a_rate_nothing_is_charged_and_the_overdue_job_records_it(
    client_company, billing_staff, clock
):
    # cm-cn without a rate in force
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    clock.set(D(2026, 4, 2))

    result = interest_services.interest_charge_overdue(today=D(2026, 4, 2))
    invoice_services.invoices_mark_overdue(today=D(2026, 4, 2))

    assert result["interest_invoices"] == 0 and _interest_invoices(client_company) == []
    assert not InterestCharge.objects.exists()
    assert InterestNotComputed.objects.filter(invoice=invoice, resolved_at=None).exists()

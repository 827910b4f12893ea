"""Late interest (art. 4.6): per day from the day after the due date, at the rate in force each
day, actual/actual (1/365, 1/366 in a leap year), over month and year ends; charged once."""

import pytest

from accounts.kernel.errors import ApplicationError, ValidationFailed
from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.models import InterestCharge, Invoice
from tests.billing.invoicing.factories import (
    D,
    Dec,
    interest_rate,
    issued,
    line,
)

pytestmark = pytest.mark.django_db

THOUSAND = [line("1000.00", vat_rate="0")]


@pytest.fixture
def eight_percent(cm):
    return interest_rate(cm, D(2020, 1, 1), "8.000")


def test_no_interest_up_to_and_on_the_due_date(client_company, billing_staff, clock, eight_percent):
    clock.set(D(2026, 12, 31))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2026, 12, 10)
    )  # due 24 Dec

    assert invoice.due_date == D(2026, 12, 24)
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 12, 24)) == 0
    # one day: 1000 × 8 % / 365 = 0.2191… → 0.22
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 12, 25)) == Dec("0.22")


def test_interest_runs_across_the_month_and_year_end(
    client_company, billing_staff, clock, eight_percent
):
    clock.set(D(2027, 1, 31))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2026, 12, 10)
    )  # due 24 Dec

    # 25-31 Dec (7 days) + 1-10 Jan (10 days) = 17 days; 1000 × 8 % × 17 / 365 = 3.7260… → 3.73
    assert interest_services.interest_accrued(invoice=invoice, until=D(2027, 1, 10)) == Dec("3.73")


def test_days_of_a_leap_year_count_1_366th(client_company, billing_staff, clock, eight_percent):
    clock.set(D(2028, 1, 31))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2027, 12, 10)
    )  # due 24 Dec 2027

    spans = interest_services.interest_spans(
        invoice=invoice, first=D(2027, 12, 25), last=D(2028, 1, 10)
    )
    assert [(s.first, s.last, s.days, s.year_days) for s in spans] == [
        (D(2027, 12, 25), D(2027, 12, 31), 7, 365),
        (D(2028, 1, 1), D(2028, 1, 10), 10, 366),
    ]
    # 80 × 7 / 365 = 1.534246… ; 80 × 10 / 366 = 2.185792… ; sum 3.720038… → 3.72
    assert interest_services.interest_accrued(invoice=invoice, until=D(2028, 1, 10)) == Dec("3.72")


def test_a_rate_change_mid_period_splits_the_span(
    cm, client_company, billing_staff, clock, eight_percent
):
    interest_rate(cm, D(2026, 7, 1), "10.000")
    clock.set(D(2026, 8, 15))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2026, 6, 6)
    )  # due 20 June

    spans = interest_services.interest_spans(
        invoice=invoice, first=D(2026, 6, 21), last=D(2026, 7, 31)
    )
    assert [(s.first, s.last, s.annual_rate_pct) for s in spans] == [
        (D(2026, 6, 21), D(2026, 6, 30), Dec("8.000")),
        (D(2026, 7, 1), D(2026, 7, 31), Dec("10.000")),
    ]
    # 21-30 June: 1000 × 8 % × 10 / 365 = 2.191780…; July: 1000 × 10 % × 31 / 365 = 8.493150…
    # total 10.684931… → 10.68
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 7, 31)) == Dec("10.68")


def test_interest_runs_on_the_outstanding_amount_after_a_partial_payment(
    cm, client_company, billing_staff, clock, eight_percent
):
    interest_rate(cm, D(2026, 7, 1), "10.000")
    clock.set(D(2026, 8, 15))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 6, 6))
    payment_services.payment_record(
        invoice=invoice,
        amount="400.00",
        received_on=D(2026, 7, 11),
        reference="part",
        idempotency_key="part-1",
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()

    # June: 2.191780…; 1-10 July on 1000 at 10 %: 2.739726…; 11-31 July on 600: 60 × 21 / 365 = 3.452054…
    # total 8.383561… → 8.38
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 7, 31)) == Dec("8.38")


def test_an_invoice_paid_on_its_due_date_earns_no_interest(
    client_company, billing_staff, clock, eight_percent
):
    clock.set(D(2026, 8, 15))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 6, 6))
    payment_services.payment_record(
        invoice=invoice,
        amount="1000.00",
        received_on=D(2026, 6, 20),
        reference="on time",
        idempotency_key="on-time",
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 8, 1)) == 0


def test_interest_is_charged_on_the_next_draft_and_the_same_days_never_twice(
    cm, client_company, billing_staff, clock, eight_percent
):
    interest_rate(cm, D(2026, 7, 1), "10.000")
    clock.set(D(2026, 8, 15))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 6, 6))

    # 21 June - 10 July: 2.191780… + 1000 × 10 % × 10 / 365 = 2.739726… → 4.93
    first = interest_services.interest_charge(
        client=client_company, until=D(2026, 7, 10), acting_user=billing_staff
    )
    again = interest_services.interest_charge(
        client=client_company, until=D(2026, 7, 10), acting_user=billing_staff
    )
    # 11-31 July: 1000 × 10 % × 21 / 365 = 5.753424… → 5.75
    later = interest_services.interest_charge(
        client=client_company, until=D(2026, 7, 31), acting_user=billing_staff
    )

    assert [(c.from_date, c.to_date, c.amount) for c in first] == [
        (D(2026, 6, 21), D(2026, 7, 10), Dec("4.93"))
    ]
    assert again == []
    assert [(c.from_date, c.to_date, c.amount) for c in later] == [
        (D(2026, 7, 11), D(2026, 7, 31), Dec("5.75"))
    ]
    draft = Invoice.objects.get(client=client_company, status=Invoice.Status.DRAFT)
    assert draft.lines.count() == 2
    assert all(li.vat_rate == 0 for li in draft.lines.all())
    assert draft.total == Dec("10.68")
    assert InterestCharge.objects.filter(invoice=invoice).count() == 2
    # the draft is then issued like any other invoice
    issued_draft = invoice_services.invoice_issue(invoice=draft, acting_user=billing_staff)
    assert issued_draft.total == Dec("10.68") and issued_draft.number == "CN-2026-000002"


def test_interest_is_charged_for_days_that_have_passed_only(
    client_company, billing_staff, clock, eight_percent
):
    clock.set(D(2026, 8, 15))
    with pytest.raises(ValidationFailed) as exc:
        interest_services.interest_charge(
            client=client_company, until=D(2026, 8, 16), acting_user=billing_staff
        )
    assert exc.value.article == "4.6"


def test_without_a_rate_in_force_interest_is_refused_naming_the_article(
    client_company, billing_staff, clock
):
    clock.set(D(2026, 8, 15))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 6, 6))
    with pytest.raises(ApplicationError) as exc:
        interest_services.interest_accrued(invoice=invoice, until=D(2026, 7, 1))
    assert exc.value.article == "4.6"

"""Late interest per profile (art. 4.6, issue 12 §1): cxengage-nl's statutory rate of art. 6:119a
BW fixed per half-year and compounded yearly; cm-cn's own rate, and a visible record while none
is in force; a rejected dispute's withheld part earns interest from the original due date."""

import pytest

from accounts.kernel.errors import ValidationFailed
from billing.invoicing.services import disputes as dispute_services
from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.models import Dispute, InterestNotComputed, InterestRate, InterestTerms, SetOff
from tests.billing.invoicing.factories import D, Dec, company, interest_rate, issued, line

pytestmark = pytest.mark.django_db

THOUSAND = [line("1000.00", vat_rate="0")]


# --- cxengage-nl: art. 6:119a BW ---------------------------------------------------------------
def test_the_dutch_statutory_rates_are_seeded_per_half_year(cx):
    terms = InterestTerms.objects.get(provider=cx)
    assert (terms.basis, terms.rate_period_months, terms.compounds_yearly) == (
        InterestTerms.Basis.STATUTORY,
        6,
        True,
    )
    assert list(
        InterestRate.objects.filter(provider=cx)
        .order_by("valid_from")
        .values_list("valid_from", "annual_rate_pct")
    ) == [
        (D(2023, 1, 1), Dec("10.500")),
        (D(2023, 7, 1), Dec("12.000")),
        (D(2024, 1, 1), Dec("12.500")),
        (D(2024, 7, 1), Dec("12.250")),
    ]


def test_the_half_year_boundary_a_day_in_each_half_at_its_own_rate(cx, billing_staff, clock):
    clock.set(D(2023, 7, 10))
    client = company(cx)
    invoice = issued(client, billing_staff, THOUSAND, invoice_date=D(2023, 6, 15))  # due 29 June

    spans = interest_services.interest_spans(
        invoice=invoice, first=D(2023, 6, 30), last=D(2023, 7, 1)
    )
    assert [(s.first, s.last, s.annual_rate_pct) for s in spans] == [
        (D(2023, 6, 30), D(2023, 6, 30), Dec("10.500")),
        (D(2023, 7, 1), D(2023, 7, 1), Dec("12.000")),
    ]
    # 30 June: 1000 × 10.5 % / 365 = 0.287671… → 0.29
    assert interest_services.interest_accrued(invoice=invoice, until=D(2023, 6, 30)) == Dec("0.29")
    # + 1 July: 1000 × 12 % / 365 = 0.328767…; 0.616438… → 0.62
    assert interest_services.interest_accrued(invoice=invoice, until=D(2023, 7, 1)) == Dec("0.62")


def test_a_half_year_nobody_entered_has_no_rate_rather_than_the_last_one(cx, billing_staff, clock):
    clock.set(D(2025, 1, 10))
    client = company(cx)
    invoice = issued(client, billing_staff, THOUSAND, invoice_date=D(2024, 12, 1))  # due 15 Dec

    assert interest_services.interest_accrued(invoice=invoice, until=D(2024, 12, 31)) > 0
    with pytest.raises(interest_services.NoRateInForce) as exc:
        interest_services.interest_accrued(invoice=invoice, until=D(2025, 1, 1))
    assert exc.value.day == D(2025, 1, 1) and exc.value.article == "4.6"


def test_a_dutch_rate_takes_effect_on_1_january_or_1_july_only(cx, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        interest_services.interest_rate_enter(
            provider=cx,
            valid_from=D(2025, 3, 1),
            annual_rate_pct="11.15",
            acting_user=billing_staff,
        )
    assert exc.value.field == "valid_from" and exc.value.article == "4.6"
    assert not InterestRate.objects.filter(provider=cx, valid_from__year=2025).exists()

    row = interest_services.interest_rate_enter(
        provider=cx, valid_from=D(2025, 1, 1), annual_rate_pct="11.150", acting_user=billing_staff
    )
    assert row.annual_rate_pct == Dec("11.150")


def test_after_a_full_year_the_years_interest_is_added_to_the_principal(cx, billing_staff, clock):
    # given an invoice of 1000 due 30 June 2023: interest runs from 1 July 2023
    clock.set(D(2024, 8, 1))
    client = company(cx)
    invoice = issued(client, billing_staff, THOUSAND, invoice_date=D(2023, 6, 16))
    assert invoice.due_date == D(2023, 6, 30)

    # year 1 (1 July 2023 - 30 June 2024): 1000 × 12 % × 184/365 + 1000 × 12.5 % × 182/366
    # = 60.493150… + 62.158469… = 122.651620… → 122.65, the same compounded or simple
    assert interest_services.interest_accrued(invoice=invoice, until=D(2024, 6, 30)) == Dec(
        "122.65"
    )
    spans = interest_services.interest_spans(
        invoice=invoice, first=D(2024, 6, 30), last=D(2024, 7, 31)
    )
    assert [(s.first, s.outstanding, s.capitalised) for s in spans] == [
        (D(2024, 6, 30), Dec("1000.00"), Dec("0")),
        (D(2024, 7, 1), Dec("1122.65"), Dec("122.65")),
    ]
    # then July 2024 runs on 1122.65: × 12.25 % × 31/366 = 11.648259… ; total 134.299881… → 134.30
    compounded = interest_services.interest_accrued(invoice=invoice, until=D(2024, 7, 31))
    assert compounded == Dec("134.30")

    # simple interest (a profile that does not compound) would be 1000 × 12.25 % × 31/366
    # = 10.375683… more: 133.027303… → 133.03
    InterestTerms.objects.filter(provider=cx).update(compounds_yearly=False)
    simple = interest_services.interest_accrued(invoice=invoice, until=D(2024, 7, 31))
    assert simple == Dec("133.03")
    assert compounded - simple == Dec("1.27")


def test_cm_cn_interest_stays_simple(cm):
    assert interest_services.interest_terms_of(cm).compounds_yearly is False


# --- cm-cn: no rate in force --------------------------------------------------------------------
def test_without_a_rate_the_overdue_job_records_that_no_interest_could_be_computed(
    client_company, billing_staff, clock
):
    clock.set(D(2026, 4, 1))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1)
    )  # due 15th

    result = invoice_services.invoices_mark_overdue(today=D(2026, 4, 1))
    again = invoice_services.invoices_mark_overdue(today=D(2026, 4, 2))

    assert result["marked_overdue"] == 1 and result["interest_not_computed"] == 1
    assert again["interest_not_computed"] == 0
    gap = InterestNotComputed.objects.get(invoice=invoice, resolved_at=None)
    assert gap.first_day == D(2026, 3, 16) and gap.last_checked_on == D(2026, 4, 2)

    # when staff enter the provider's rate, the next run closes the record
    interest_services.interest_rate_enter(
        provider=client_company.provider,
        valid_from=D(2026, 1, 1),
        annual_rate_pct="6",
        acting_user=billing_staff,
    )
    later = invoice_services.invoices_mark_overdue(today=D(2026, 4, 3))
    assert later["interest_gaps_resolved"] == 1
    assert not InterestNotComputed.objects.filter(resolved_at=None).exists()
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 4, 3)) > 0


def test_an_invoice_paid_on_time_gets_no_record_without_a_rate(
    client_company, billing_staff, clock
):
    clock.set(D(2026, 4, 1))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    payment_services.payment_record(
        invoice=invoice,
        amount="1000.00",
        received_on=D(2026, 3, 15),
        reference="on time",
        idempotency_key="on-time-nr",
        acting_user=billing_staff,
    )
    assert invoice_services.invoices_mark_overdue(today=D(2026, 4, 1))["interest_not_computed"] == 0
    assert not InterestNotComputed.objects.exists()


# --- a rejected dispute ------------------------------------------------------------------------
def _dispute(invoice, client, amount, clock):
    from tests.billing.invoicing.factories import admin_of

    dispute = dispute_services.dispute_raise(
        invoice=invoice,
        amount=amount,
        reason="The volume on line 1 is wrong.",
        acting_user=admin_of(client),
    )
    # raised_at takes the wall clock; put it on the test's day
    Dispute.objects.filter(pk=dispute.pk).update(raised_at=clock.moment)
    dispute.refresh_from_db()
    return dispute


def test_a_rejected_disputes_withheld_part_earns_interest_from_the_original_due_date(
    cm, client_company, billing_staff, clock
):
    # given 8 % from 2020, an invoice of 1000 due 15 March, 300 of it disputed on 10 March and
    # withheld (30 % > 5 %), 600 paid on the due date: 300 withheld, 100 unpaid
    interest_rate(cm, D(2020, 1, 1), "8.000")
    clock.set(D(2026, 3, 10))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    dispute = _dispute(invoice, client_company, "300.00", clock)
    assert dispute.withholdable
    clock.set(D(2026, 3, 15))
    payment_services.payment_record(
        invoice=invoice,
        amount="600.00",
        received_on=D(2026, 3, 15),
        reference="undisputed part",
        idempotency_key="undisputed-rj",
        acting_user=billing_staff,
    )

    # while the dispute is open only the unpaid undisputed 100 earns interest:
    # 16 March - 13 April = 29 days: 100 × 8 % × 29/365 = 0.635616… → 0.64
    clock.set(D(2026, 4, 14))
    first = interest_services.interest_charge(
        client=client_company, until=D(2026, 4, 13), acting_user=billing_staff
    )
    assert [c.amount for c in first] == [Dec("0.64")]

    # when it is rejected on 14 April
    dispute_services.dispute_resolve(
        dispute=dispute,
        granted_amount="0",
        resolution="The volume is right.",
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()

    # then the 300 earns interest from 16 March as if never withheld:
    # 400 × 8 % × 30/365 = 2.630136… → 2.63; of which 0.64 was charged
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 4, 14)) == Dec("2.63")
    later = interest_services.interest_charge(
        client=client_company, until=D(2026, 4, 14), acting_user=billing_staff
    )
    assert [(c.from_date, c.to_date, c.amount) for c in later] == [
        (D(2026, 4, 14), D(2026, 4, 14), Dec("1.99"))
    ]


def test_a_granted_part_stays_rightly_withheld_and_the_rest_earns_interest(
    cm, client_company, billing_staff, clock
):
    interest_rate(cm, D(2020, 1, 1), "8.000")
    clock.set(D(2026, 3, 10))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    dispute = _dispute(invoice, client_company, "300.00", clock)
    clock.set(D(2026, 3, 15))
    payment_services.payment_record(
        invoice=invoice,
        amount="700.00",
        received_on=D(2026, 3, 15),
        reference="undisputed part",
        idempotency_key="undisputed-gr",
        acting_user=billing_staff,
    )
    clock.set(D(2026, 4, 14))
    dispute_services.dispute_resolve(
        dispute=dispute,
        granted_amount="100.00",
        resolution="Partly right.",
        acting_user=billing_staff,
    )
    SetOff.objects.filter(invoice=invoice).update(recorded_at=clock.moment)  # wall clock, too
    invoice.refresh_from_db()

    # 200 not granted earns interest 16 March - 13 April (29 days), then 14 April (after the
    # credit note of 100 is set off, 200 is still unpaid): 200 × 8 % × 30/365 = 1.315068… → 1.32
    assert interest_services.interest_accrued(invoice=invoice, until=D(2026, 4, 14)) == Dec("1.32")


def test_the_table_knows_which_days_no_rate_covers(cx, cm):
    table = interest_services.interest_rate_table(cx)
    # covered from 1 January 2023 to 31 December 2024, half-year after half-year
    assert interest_services.first_day_uncovered(table, D(2023, 1, 1), D(2024, 12, 31)) is None
    assert interest_services.first_day_uncovered(table, D(2022, 12, 1), D(2023, 2, 1)) == D(
        2022, 12, 1
    )
    assert interest_services.first_day_uncovered(table, D(2024, 6, 1), D(2025, 2, 1)) == D(
        2025, 1, 1
    )
    # cm-cn without a rate: nothing is covered
    assert interest_services.first_day_uncovered(
        interest_services.interest_rate_table(cm), D(2026, 1, 1), D(2026, 1, 1)
    ) == D(2026, 1, 1)


# serialized_rollback: the flush after a transaction test would otherwise remove the seeded rows.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_overdue_jobs_running_at_once_record_an_invoice_without_interest_once(cm, monkeypatch):
    import datetime as dt
    import threading

    from django.db import connection

    from billing.invoicing.services import _common
    from tests.accounts.factories import BillingStaffFactory

    monkeypatch.setattr(_common, "now", lambda: dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC))
    staff = BillingStaffFactory()
    client = company(cm)
    issued(client, staff, THOUSAND, invoice_date=D(2026, 3, 1))

    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(interest_services.interest_gaps_record(provider=cm, today=D(2026, 4, 1)))
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    assert sum(r["interest_not_computed"] for r in results) == 1
    assert InterestNotComputed.objects.filter(resolved_at=None).count() == 1

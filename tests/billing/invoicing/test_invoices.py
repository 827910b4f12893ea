"""Invoices (art. 4.1, 4.2, 4.5, 4.9): rounding, VAT per profile, numbering, due dates, void
and credit notes, the monthly usage job in Europe/Amsterdam time, the overdue job."""

import datetime as dt

import pytest

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import prices as price_services
from billing.invoicing.services import set_offs as set_off_services
from billing.invoicing.services import usage_invoices as usage_invoice_services
from billing.jobs import JOBS
from billing.models import Invoice, InvoiceCounter
from tests.billing.invoicing.factories import (
    D,
    Dec,
    amsterdam,
    company,
    issued,
    line,
    usage,
)

pytestmark = pytest.mark.django_db


# --- Rounding and VAT ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quantity", "unit_price", "expected"),
    [
        ("1", "0.125", "0.13"),  # half-up, where banker's rounding would give 0.12
        ("1", "0.135", "0.14"),
        ("3", "0.125", "0.38"),  # 0.375
        ("1000", "0.0345", "34.50"),
        ("7", "0.004999", "0.03"),  # 0.034993
        ("1", "0.124999", "0.12"),
    ],
)
def test_a_line_amount_is_quantity_times_unit_price_rounded_half_up_to_cents(
    quantity, unit_price, expected
):
    assert invoice_services.line_amount(Dec(quantity), Dec(unit_price)) == Dec(expected)


def test_vat_is_computed_per_rate_on_the_sum_of_its_lines_and_rounded_half_up(
    client_company, billing_staff, clock
):
    # given three lines at 6 % whose VAT per line would round differently than on their sum
    draft = invoice_services.invoice_draft(
        client=client_company,
        acting_user=billing_staff,
        lines=[line("0.25"), line("0.25"), line("0.25")],
    )

    # then 0.75 × 6 % = 0.045 → 0.05 (per line 0.015 → 0.02 each would make 0.06)
    assert draft.subtotal == Dec("0.75")
    assert draft.vat_amount == Dec("0.05")
    assert draft.total == Dec("0.80")


def test_lines_at_two_rates_each_get_their_own_rounded_vat(client_company, billing_staff, clock):
    draft = invoice_services.invoice_draft(
        client=client_company,
        acting_user=billing_staff,
        lines=[line("10.05", vat_rate="6"), line("10.05", vat_rate="13")],
    )
    # 10.05 × 6 % = 0.603 → 0.60; 10.05 × 13 % = 1.3065 → 1.31
    assert draft.vat_amount == Dec("1.91")
    assert draft.total == Dec("22.01")


def test_the_default_vat_rate_comes_from_the_profile(cm, cx, billing_staff, clock):
    cn_client = company(cm)
    nl_client = company(cx, country="NL")

    cn = invoice_services.invoice_draft(
        client=cn_client, acting_user=billing_staff, lines=[line("100.00")]
    )
    nl = invoice_services.invoice_draft(
        client=nl_client, acting_user=billing_staff, lines=[line("100.00")]
    )

    assert cn.lines.get().vat_rate == Dec("6.00") and cn.vat_amount == Dec("6.00")
    assert nl.lines.get().vat_rate == Dec("21.00") and nl.vat_amount == Dec("21.00")
    assert cn.currency == "CNY" and nl.currency == "USD"


def test_an_eu_business_client_abroad_is_reverse_charged_under_a_profile_that_says_so(
    cx, cm, billing_staff, clock
):
    german = company(cx, country="DE", vat_number="DE123456789")
    german_without_vat_id = company(cx, country="DE", vat_number="")
    american = company(cx, country="US", vat_number="")
    german_at_cm = company(cm, country="DE", vat_number="DE987654321")

    rc = invoice_services.invoice_draft(
        client=german, acting_user=billing_staff, lines=[line("100.00")]
    )
    assert rc.reverse_charge is True
    assert rc.vat_amount == 0 and rc.total == Dec("100.00")
    assert rc.lines.get().vat_rate == 0

    for client in (german_without_vat_id, american):
        draft = invoice_services.invoice_draft(
            client=client, acting_user=billing_staff, lines=[line("100.00")]
        )
        assert draft.reverse_charge is False and draft.vat_amount == Dec("21.00")
    # cm-cn's profile does not reverse-charge
    cm_draft = invoice_services.invoice_draft(
        client=german_at_cm, acting_user=billing_staff, lines=[line("100.00")]
    )
    assert cm_draft.reverse_charge is False and cm_draft.vat_amount == Dec("6.00")


def test_a_reverse_charged_line_may_not_carry_vat(cx, billing_staff, clock):
    german = company(cx, country="DE", vat_number="DE123456789")
    with pytest.raises(ValidationFailed) as exc:
        invoice_services.invoice_draft(
            client=german, acting_user=billing_staff, lines=[line("100.00", vat_rate="21")]
        )
    assert exc.value.article == "4.9"
    assert not Invoice.objects.filter(client=german).exists()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"description": "", "quantity": "1", "unit_price": "1"}, "lines[0].description"),
        ({"description": "x", "quantity": "0", "unit_price": "1"}, "lines[0].quantity"),
        ({"description": "x", "quantity": "1", "unit_price": "-1"}, "lines[0].unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "0.0000001"}, "lines[0].unit_price"),
        ({"description": "x", "quantity": 1.5, "unit_price": "1"}, "lines[0].quantity"),
    ],
)
def test_bad_lines_are_refused_naming_the_field(client_company, billing_staff, bad, field):
    with pytest.raises(ValidationFailed) as exc:
        invoice_services.invoice_draft(
            client=client_company, acting_user=billing_staff, lines=[bad]
        )
    assert exc.value.field == field
    assert not Invoice.objects.exists()


def test_only_billing_staff_draft_invoices(client_company, client_admin):
    with pytest.raises(NotAllowed):
        invoice_services.invoice_draft(
            client=client_company, acting_user=client_admin, lines=[line()]
        )


# --- Issue, numbers, due dates -------------------------------------------------------------
def test_issuing_numbers_per_provider_and_year_with_the_country_prefix(
    cm, cx, billing_staff, clock
):
    clock.set(D(2027, 1, 5))
    cn_client, nl_client = company(cm), company(cx)

    first = issued(cn_client, billing_staff, invoice_date=D(2026, 12, 31))
    second = issued(cn_client, billing_staff, invoice_date=D(2026, 12, 31))
    new_year = issued(cn_client, billing_staff, invoice_date=D(2027, 1, 2))
    dutch = issued(nl_client, billing_staff, invoice_date=D(2026, 12, 31))

    assert [first.number, second.number, new_year.number] == [
        "CN-2026-000001",
        "CN-2026-000002",
        "CN-2027-000001",
    ]
    assert dutch.number == "NL-2026-000001"
    assert InvoiceCounter.objects.get(provider=cm, year=2026).last_number == 2


def test_the_due_date_is_the_invoice_date_plus_the_payment_term(
    client_company, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 2, 20))

    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.invoice_date == D(2026, 2, 20)
    assert invoice.due_date == D(2026, 3, 6)  # 14 days, across the end of February


def test_an_issued_invoice_is_never_issued_or_changed_again(client_company, billing_staff, clock):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1))
    with pytest.raises(ApplicationError) as exc:
        invoice_services.invoice_issue(invoice=invoice, acting_user=billing_staff)
    assert exc.value.field == "status"
    invoice.refresh_from_db()
    assert invoice.number == "CN-2026-000001"


def test_an_invoice_is_not_dated_in_the_future(client_company, billing_staff, clock):
    clock.set(D(2026, 3, 1))
    draft = invoice_services.invoice_draft(
        client=client_company, acting_user=billing_staff, lines=[line()]
    )
    with pytest.raises(ValidationFailed):
        invoice_services.invoice_issue(
            invoice=draft, acting_user=billing_staff, invoice_date=D(2026, 3, 2)
        )
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and draft.number is None
    assert not InvoiceCounter.objects.filter(last_number__gt=0).exists()


# --- Void and credit notes -----------------------------------------------------------------
def test_voiding_issues_a_credit_note_with_the_next_number_and_positive_amounts(
    client_company, billing_staff, clock
):
    invoice = issued(
        client_company, billing_staff, [line("100.00"), line("50.00")], invoice_date=D(2026, 3, 1)
    )

    note = invoice_services.invoice_void(
        invoice=invoice, acting_user=billing_staff, reason="wrong price list"
    )

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID and invoice.void_reason == "wrong price list"
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.credit_note_for_id == invoice.pk
    assert note.number == "CN-2026-000002"
    assert (note.subtotal, note.vat_amount, note.total) == (
        invoice.subtotal,
        invoice.vat_amount,
        invoice.total,
    )
    assert note.total > 0
    assert note.lines.count() == 2
    # a note that voids an invoice only cancels it: nothing of it is left to set off
    assert set_off_services.credit_note_available(note) == 0


def test_an_invoice_with_a_payment_is_not_voided(client_company, billing_staff, clock):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1))
    clock.set(D(2026, 3, 2))
    payment_services.payment_record(
        invoice=invoice,
        amount="10.00",
        received_on=D(2026, 3, 2),
        reference="r",
        idempotency_key="k1",
        acting_user=billing_staff,
    )

    with pytest.raises(ApplicationError):
        invoice_services.invoice_void(invoice=invoice, acting_user=billing_staff, reason="x")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


# --- The monthly usage invoice (art. 4.2) --------------------------------------------------
def test_the_billing_period_is_the_calendar_month_in_amsterdam_time(client_company, clock):
    # given usage around the January/February boundary (winter: CET = UTC+1)
    utc = dt.UTC
    usage(
        client_company, dt.datetime(2025, 12, 31, 23, 30, tzinfo=utc), messages=1
    )  # 1 Jan 00:30 CET
    usage(client_company, dt.datetime(2026, 1, 15, 12, 0, tzinfo=utc), messages=10)
    usage(
        client_company, dt.datetime(2026, 1, 31, 22, 59, tzinfo=utc), messages=100
    )  # 31 Jan 23:59 CET
    usage(
        client_company, dt.datetime(2026, 1, 31, 23, 30, tzinfo=utc), messages=1000
    )  # 1 Feb 00:30 CET
    usage(
        client_company, dt.datetime(2025, 12, 31, 22, 30, tzinfo=utc), messages=10000
    )  # 31 Dec 23:30 CET

    # when the job runs early on 1 February, Amsterdam time
    clock.set(amsterdam(2026, 2, 1, 2, 0))
    result = usage_invoice_services.invoice_usage(now=clock.moment)

    # then January holds 1 + 10 + 100 messages, not the one at 23:30 UTC on 31 January
    assert result["invoiced"] == 1
    invoice = Invoice.objects.get(source_key=f"usage:{client_company.pk}:2026-01")
    assert invoice.messages_covered == 111
    assert (invoice.period_start, invoice.period_end) == (D(2026, 1, 1), D(2026, 1, 31))
    assert invoice.status == Invoice.Status.ISSUED and invoice.number.startswith("CN-2026-")


def test_the_summer_boundary_follows_cest(client_company, clock):
    utc = dt.UTC
    usage(
        client_company, dt.datetime(2026, 7, 31, 21, 59, tzinfo=utc), messages=1
    )  # 23:59 CEST, July
    usage(
        client_company, dt.datetime(2026, 7, 31, 22, 0, tzinfo=utc), messages=5
    )  # 00:00 CEST, August

    clock.set(amsterdam(2026, 8, 1, 1, 0))
    usage_invoice_services.invoice_usage(now=clock.moment)

    assert (
        Invoice.objects.get(source_key=f"usage:{client_company.pk}:2026-07").messages_covered == 1
    )


def test_usage_is_invoiced_per_channel_at_the_price_list_or_the_platform_rating(
    client_company, billing_staff, clock
):
    price_services.price_set(
        client=client_company,
        channel="sms",
        unit_price="0.050000",
        valid_from=D(2026, 1, 1),
        acting_user=billing_staff,
    )
    price_services.price_set(
        client=client_company,
        channel="sms",
        unit_price="0.060000",
        valid_from=D(2026, 1, 16),
        acting_user=billing_staff,
    )
    usage(client_company, amsterdam(2026, 1, 10, 12), messages=100, amount="9.99")
    usage(client_company, amsterdam(2026, 1, 20, 12), messages=10, amount="9.99")
    usage(client_company, amsterdam(2026, 1, 20, 13), messages=3, amount="0.07", channel="whatsapp")
    usage(client_company, amsterdam(2026, 1, 21, 13), messages=2, amount="0.05", channel="whatsapp")
    usage(
        client_company, amsterdam(2026, 1, 21, 14), messages=50, prepaid=True
    )  # prepaid: not invoiced

    clock.set(amsterdam(2026, 2, 1, 2, 0))
    usage_invoice_services.invoice_usage(now=clock.moment)

    invoice = Invoice.objects.get(source_key=f"usage:{client_company.pk}:2026-01")
    lines = [
        (li.channel, li.quantity, li.unit_price, li.amount, li.messages)
        for li in invoice.lines.order_by("position")
    ]
    assert lines == [
        ("sms", Dec("100"), Dec("0.05"), Dec("5.00"), 100),
        ("sms", Dec("10"), Dec("0.06"), Dec("0.60"), 10),
        ("whatsapp", Dec("1"), Dec("0.12"), Dec("0.12"), 5),
    ]
    assert invoice.subtotal == Dec("5.72")
    assert invoice.vat_amount == Dec("0.34")  # 5.72 × 6 % = 0.3432
    assert invoice.messages_covered == 115


def test_the_monthly_job_is_idempotent(client_company, other_company, clock):
    usage(client_company, amsterdam(2026, 1, 10, 12), messages=3)
    usage(other_company, amsterdam(2026, 1, 11, 12), messages=4)
    clock.set(amsterdam(2026, 2, 1, 2, 0))

    first = usage_invoice_services.invoice_usage(now=clock.moment)
    second = usage_invoice_services.invoice_usage(now=clock.moment)

    assert first["invoiced"] == 2
    assert second == {"invoiced": 0, "already_invoiced": 2}
    assert Invoice.objects.filter(kind=Invoice.Kind.INVOICE).count() == 2
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == ["CN-2026-000001", "CN-2026-000002"]


def test_a_client_without_postpaid_usage_gets_no_invoice(client_company, clock):
    usage(client_company, amsterdam(2026, 1, 10, 12), messages=3, prepaid=True)
    clock.set(amsterdam(2026, 2, 1, 2, 0))
    assert usage_invoice_services.invoice_usage(now=clock.moment)["invoiced"] == 0
    assert not Invoice.objects.exists()


def test_the_monthly_job_is_registered(client_company, clock):
    for name in (
        "invoice_usage",
        "invoices_mark_overdue",
        "suspend_for_non_payment",
        "deposit_refunds_flag",
        "fapiao_overdue_flag",
        "disputes_escalation_flag",
        "cpi_adjust",
    ):
        assert name in JOBS


# --- Overdue (art. 4.5) --------------------------------------------------------------------
def test_an_unpaid_invoice_becomes_overdue_the_day_after_its_due_date(
    client_company, billing_staff, clock
):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1))  # due 15 March

    assert invoice_services.invoices_mark_overdue(today=D(2026, 3, 15))["marked_overdue"] == 0
    assert invoice_services.invoices_mark_overdue(today=D(2026, 3, 16))["marked_overdue"] == 1
    assert invoice_services.invoices_mark_overdue(today=D(2026, 3, 17))["marked_overdue"] == 0

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OVERDUE
    assert invoice.overdue_since == D(2026, 3, 16)


def test_a_paid_invoice_never_becomes_overdue(client_company, billing_staff, clock):
    invoice = issued(
        client_company, billing_staff, [line("100.00", vat_rate="0")], invoice_date=D(2026, 3, 1)
    )
    payment_services.payment_record(
        invoice=invoice,
        amount="100.00",
        received_on=D(2026, 3, 1),
        reference="r",
        idempotency_key="paid-1",
        acting_user=billing_staff,
    )

    invoice_services.invoices_mark_overdue(today=D(2026, 4, 1))

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.overdue_since is None


def test_amounts_are_never_floats(client_company, billing_staff):
    with pytest.raises(ValidationFailed):
        invoice_services.invoice_draft(
            client=client_company,
            acting_user=billing_staff,
            lines=[{"description": "x", "quantity": "1", "unit_price": 0.1}],
        )

"""Disputes (art. 10.1-10.2; CXENGAGE art. 10): admissibility per profile as a table of cases,
withholding above 5 % of the total excluding VAT, the payment-term deadline, escalation 20
working days after the due date on each profile's calendar, resolution."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Notification
from billing.invoicing.services import disputes as dispute_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import set_offs as set_off_services
from billing.invoicing.services import suspension as suspension_services
from billing.models import Dispute, ExchangeRate, Invoice, SetOff
from tests.accounts.factories import ClientViewerFactory
from tests.billing.invoicing.factories import (
    D,
    Dec,
    admin_of,
    company,
    issued,
    line,
)

pytestmark = pytest.mark.django_db


def raise_(invoice, admin, amount, reason="The SMS volume on line 1 is double what we sent."):
    return dispute_services.dispute_raise(
        invoice=invoice, amount=amount, reason=reason, acting_user=admin
    )


# Exchange rates (base, quote, rate, valid from) for the cases below; every case disputes on
# 1 March 2026 (the dispute day decides which rate is in force).
EUR_USD = (("EUR", "USD", "1.0850", D(2026, 1, 1)),)  # EUR 150 = USD 162.75 exactly
EUR_USD_CHANGES_ON_THE_DAY = EUR_USD + (("EUR", "USD", "1.1000", D(2026, 3, 1)),)  # = USD 165.00
EUR_USD_CHANGES_THE_DAY_AFTER = EUR_USD + (("EUR", "USD", "1.2000", D(2026, 3, 2)),)
USD_EUR = (
    ("USD", "EUR", "0.9200", D(2026, 1, 1)),
)  # EUR 150 = USD 150 / 0.92 = 163.0434… → 163.04
NO_RATE_IN_FORCE = (
    ("EUR", "USD", "1.0850", D(2026, 3, 2)),
    ("EUR", "CNY", "7.8000", D(2026, 1, 1)),
)

PENDING = "pending"  # no rate for the minimum: the dispute waits as "pending check" (issue 12 §5)

# (profile, rates, net line → invoice total incl. VAT, disputed amount, admissible / PENDING)
ADMISSIBILITY = [
    # cxengage-nl: more than EUR 150 in the invoice's USD ... (3 % of 1000.00 is 30.00: the amount decides)
    ("cxengage-nl", EUR_USD, "826.45", "1000.00", "149.99", False),
    ("cxengage-nl", EUR_USD, "826.45", "1000.00", "150.00", False),
    # was admissible while EUR 150 was compared as USD 150; at 1.0850 it is EUR 138.25
    ("cxengage-nl", EUR_USD, "826.45", "1000.00", "150.01", False),
    ("cxengage-nl", EUR_USD, "826.45", "1000.00", "162.75", False),  # exactly EUR 150: must exceed
    ("cxengage-nl", EUR_USD, "826.45", "1000.00", "162.76", True),
    # ... and more than 3 % of the invoice total (10000.00 → 300.00: the share decides)
    ("cxengage-nl", EUR_USD, "8264.46", "10000.00", "299.99", False),
    ("cxengage-nl", EUR_USD, "8264.46", "10000.00", "300.00", False),
    ("cxengage-nl", EUR_USD, "8264.46", "10000.00", "300.01", True),
    # both: above EUR 150 but not above 3 % of 6000.00 (180.00) is refused
    ("cxengage-nl", EUR_USD, "4958.68", "6000.00", "162.76", False),
    ("cxengage-nl", EUR_USD, "4958.68", "6000.00", "180.01", True),
    # a new rate in force from the dispute day itself applies (1.1000 → USD 165.00) ...
    ("cxengage-nl", EUR_USD_CHANGES_ON_THE_DAY, "826.45", "1000.00", "162.76", False),
    ("cxengage-nl", EUR_USD_CHANGES_ON_THE_DAY, "826.45", "1000.00", "165.00", False),
    ("cxengage-nl", EUR_USD_CHANGES_ON_THE_DAY, "826.45", "1000.00", "165.01", True),
    # ... one from the day after does not (still 1.0850)
    ("cxengage-nl", EUR_USD_CHANGES_THE_DAY_AFTER, "826.45", "1000.00", "162.75", False),
    ("cxengage-nl", EUR_USD_CHANGES_THE_DAY_AFTER, "826.45", "1000.00", "162.76", True),
    # the pair kept the other way round (USD → EUR) is used inversely
    ("cxengage-nl", USD_EUR, "826.45", "1000.00", "163.04", False),
    ("cxengage-nl", USD_EUR, "826.45", "1000.00", "163.05", True),
    # no EUR/USD rate in force: never decided without one, the dispute waits pending check ...
    ("cxengage-nl", NO_RATE_IN_FORCE, "826.45", "1000.00", "149.99", PENDING),
    ("cxengage-nl", (), "826.45", "1000.00", "100.00", PENDING),
    # ... but a share of at most 3 % is refused at once, rate or not
    ("cxengage-nl", (), "826.45", "1000.00", "30.00", False),
    ("cxengage-nl", (), "826.45", "1000.00", "30.01", PENDING),
    # cm-cn: any amount, rates or not
    ("cm-cn", (), "1000.00", "1060.00", "0.01", True),
    ("cm-cn", (), "1000.00", "1060.00", "1.00", True),
    ("cm-cn", (), "1000.00", "1060.00", "1060.00", True),
    ("cm-cn", EUR_USD, "1000.00", "1060.00", "0.01", True),
]


def rates(*rows):
    for base, quote, rate, valid_from in rows:
        ExchangeRate.objects.create(
            base_currency=base,
            quote_currency=quote,
            rate=Dec(rate),
            valid_from=valid_from,
            source="test",
        )


@pytest.mark.parametrize(
    ("profile", "rate_rows", "net", "total", "amount", "admissible"), ADMISSIBILITY
)
def test_dispute_admissibility_per_profile(
    profile, rate_rows, net, total, amount, admissible, billing_staff, clock
):
    from accounts.models import Provider

    rates(*rate_rows)
    client = company(Provider.objects.get(code=profile))
    admin = admin_of(client)
    clock.set(D(2026, 3, 1))
    invoice = issued(client, billing_staff, [line(net)], invoice_date=D(2026, 3, 1))
    assert invoice.total == Dec(total)

    if admissible == PENDING:
        dispute = raise_(invoice, admin, amount)
        assert dispute.status == Dispute.Status.PENDING_CHECK
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.ISSUED  # nothing withheld until admitted
        assert invoice_services.invoice_due_now(invoice) == invoice.total
    elif admissible:
        dispute = raise_(invoice, admin, amount)
        assert dispute.status == Dispute.Status.OPEN
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DISPUTED
    else:
        with pytest.raises(ValidationFailed) as exc:
            raise_(invoice, admin, amount)
        assert exc.value.field == "amount" and "art. 10" in exc.value.message
        assert not Dispute.objects.exists()
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.ISSUED


def test_the_refusal_names_the_minimum_in_both_currencies_and_the_rate(billing_staff, clock):
    from accounts.models import Provider

    rates(*EUR_USD)
    client = company(Provider.objects.get(code="cxengage-nl"))
    clock.set(D(2026, 3, 1))
    invoice = issued(client, billing_staff, [line("826.45")], invoice_date=D(2026, 3, 1))

    with pytest.raises(ValidationFailed) as exc:
        raise_(invoice, admin_of(client), "162.75")
    assert "EUR 150.00" in exc.value.message and "USD 162.75" in exc.value.message
    assert (
        "1 EUR = 1.085 USD from 2026-01-01" in exc.value.message
        and "2026-03-01" in exc.value.message
    )


def test_a_dispute_without_a_rate_waits_pending_check_and_staff_are_alerted(billing_staff, clock):
    from accounts.models import Provider

    cx = Provider.objects.get(code="cxengage-nl")
    cx.staff_email = "billing@cxengage.test"
    cx.save()
    client = company(cx)
    clock.set(D(2026, 3, 1))
    invoice = issued(client, billing_staff, [line("826.45")], invoice_date=D(2026, 3, 1))

    dispute = raise_(invoice, admin_of(client), "100.00")

    assert dispute.status == Dispute.Status.PENDING_CHECK
    assert "EUR/USD" in dispute.admissibility_note and "2026-03-01" in dispute.admissibility_note
    assert dispute.history.latest().status == Dispute.Status.PENDING_CHECK
    alert = Notification.objects.get(key=f"dispute-pending-check:{dispute.pk}")
    assert alert.recipients[0] == "billing@cxengage.test"
    assert dispute.admissibility_note in alert.body
    assert "pending check" in Notification.objects.get(key=f"dispute-raised:{dispute.pk}").subject
    # a second dispute on the same invoice is refused while it waits
    with pytest.raises(ApplicationError):
        raise_(invoice, admin_of(client), "120.00")
    # staff cannot resolve it before its admissibility is decided
    with pytest.raises(ApplicationError) as refused:
        dispute_services.dispute_resolve(
            dispute=dispute, granted_amount="0", resolution="no", acting_user=billing_staff
        )
    assert refused.value.article == "10"


def test_a_dispute_checked_against_a_rate_has_no_note(billing_staff, clock):
    from accounts.models import Provider

    rates(*EUR_USD)
    client = company(Provider.objects.get(code="cxengage-nl"))
    clock.set(D(2026, 3, 1))
    invoice = issued(client, billing_staff, [line("826.45")], invoice_date=D(2026, 3, 1))

    assert raise_(invoice, admin_of(client), "162.76").admissibility_note == ""


# (profile, net line, disputed amount, may withhold)
WITHHOLDING = [
    # cm-cn: 5 % of 1000.00 excluding VAT (the total incl. VAT is 1060.00) is 50.00
    ("cm-cn", "1000.00", "49.99", False),
    ("cm-cn", "1000.00", "50.00", False),
    ("cm-cn", "1000.00", "50.01", True),
    # cxengage-nl: 5 % of 8264.46 excluding VAT is 413.223
    ("cxengage-nl", "8264.46", "413.22", False),
    ("cxengage-nl", "8264.46", "413.23", True),
]


@pytest.mark.parametrize(("profile", "net", "amount", "withholdable"), WITHHOLDING)
def test_only_a_disputed_part_above_5_percent_excluding_vat_may_be_withheld(
    profile, net, amount, withholdable, billing_staff, clock
):
    from accounts.models import Provider

    rates(*EUR_USD)
    client = company(Provider.objects.get(code=profile))
    clock.set(D(2026, 3, 1))
    invoice = issued(client, billing_staff, [line(net)], invoice_date=D(2026, 3, 1))

    dispute = raise_(invoice, admin_of(client), amount)

    assert dispute.withholdable is withholdable
    expected_due = invoice.total - Dec(amount) if withholdable else invoice.total
    assert invoice_services.invoice_due_now(invoice) == expected_due


def test_a_dispute_after_the_payment_term_is_refused_with_the_reason(
    client_company, client_admin, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1))  # due 15 March
    clock.set(dt.datetime(2026, 3, 15, 15, 59, tzinfo=dt.UTC))  # 23:59 in Shanghai on the due date
    raise_(invoice, client_admin, "10.00")
    Dispute.objects.all().delete()
    clock.set(dt.datetime(2026, 3, 15, 16, 0, tzinfo=dt.UTC))  # 16 March in Shanghai

    with pytest.raises(ApplicationError) as exc:
        raise_(invoice, client_admin, "10.00")
    assert exc.value.article == "10.1" and "payment term" in exc.value.message


def test_a_dispute_needs_a_motivated_complaint(client_company, client_admin, billing_staff, clock):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1), clock=clock)
    with pytest.raises(ValidationFailed) as exc:
        raise_(invoice, client_admin, "10.00", reason="  ")
    assert exc.value.field == "reason"


def test_only_an_admin_of_the_client_disputes(client_company, other_admin, billing_staff, clock):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1), clock=clock)
    viewer = ClientViewerFactory(client=client_company)
    for user in (viewer, other_admin, billing_staff):
        with pytest.raises(NotAllowed):
            raise_(invoice, user, "10.00")


def test_one_open_dispute_per_invoice(client_company, client_admin, billing_staff, clock):
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 1), clock=clock)
    raise_(invoice, client_admin, "10.00")
    with pytest.raises(ApplicationError):
        raise_(invoice, client_admin, "20.00")
    assert Dispute.objects.count() == 1


# --- Escalation after 20 working days (art. 10.2) ------------------------------------------
@pytest.mark.parametrize(
    ("profile", "invoice_date", "due", "available", "zone"),
    [
        # China: due Fri 25 Sep 2026; National Day 1-7 Oct off, Sat 10 Oct worked → Thu 29 Oct, 17:30
        (
            "cm-cn",
            D(2026, 9, 11),
            D(2026, 9, 25),
            dt.datetime(2026, 10, 29, 17, 30),
            "Asia/Shanghai",
        ),
        # Netherlands: due Mon 20 Apr 2026; King's Day 27 Apr and Ascension 14 May off → Wed 20 May, 17:00
        (
            "cxengage-nl",
            D(2026, 4, 6),
            D(2026, 4, 20),
            dt.datetime(2026, 5, 20, 17, 0),
            "Europe/Amsterdam",
        ),
    ],
)
def test_escalation_opens_20_working_days_after_the_due_date_on_the_profile_calendar(
    profile, invoice_date, due, available, zone, billing_staff, clock
):
    from accounts.models import Provider

    rates(*EUR_USD)
    client = company(Provider.objects.get(code=profile))
    clock.set(invoice_date)
    invoice = issued(client, billing_staff, [line("10000.00")], invoice_date=invoice_date)
    assert invoice.due_date == due
    dispute = raise_(invoice, admin_of(client), "2000.00")
    opens = available.replace(tzinfo=ZoneInfo(zone))
    assert dispute.escalation_available_at == opens

    # before: refused, and the job flags nothing
    clock.set(opens - dt.timedelta(minutes=1))
    with pytest.raises(ApplicationError) as exc:
        dispute_services.dispute_escalate(
            dispute=dispute,
            expert_name="Expert BV",
            cost_agreement="shared 50/50",
            acting_user=billing_staff,
        )
    assert exc.value.article == "10.2"
    assert dispute_services.disputes_escalation_flag(now=clock.moment) == {"flagged": 0}

    # from then on: flagged once, and staff record the expert
    clock.set(opens)
    assert dispute_services.disputes_escalation_flag(now=clock.moment) == {"flagged": 1}
    assert dispute_services.disputes_escalation_flag(now=clock.moment) == {"flagged": 0}
    assert Notification.objects.filter(key=f"dispute-escalation:{dispute.pk}").count() == 1
    escalated = dispute_services.dispute_escalate(
        dispute=dispute,
        expert_name="Expert BV",
        cost_agreement="shared 50/50",
        acting_user=billing_staff,
    )
    assert escalated.status == Dispute.Status.ESCALATED and escalated.expert_name == "Expert BV"


# --- Resolution ----------------------------------------------------------------------------
def test_a_granted_dispute_gets_a_credit_note_set_off_against_the_invoice(
    client_company, client_admin, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(
        client_company, billing_staff, [line("1000.00")], invoice_date=D(2026, 3, 1)
    )  # 1060.00
    dispute = raise_(invoice, client_admin, "200.00")

    resolved = dispute_services.dispute_resolve(
        dispute=dispute,
        granted_amount="100.00",
        resolution="Half the volume was a platform error.",
        acting_user=billing_staff,
    )

    note = resolved.credit_note
    assert resolved.status == Dispute.Status.GRANTED
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.number == "CN-2026-000002"
    # 100.00 including 6 % VAT: 94.34 + 5.66
    assert (note.subtotal, note.vat_amount, note.total) == (
        Dec("94.34"),
        Dec("5.66"),
        Dec("100.00"),
    )
    assert SetOff.objects.get(credit_note=note).amount == Dec("100.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID  # the credit note settled part of it
    assert invoice_services.invoice_due_now(invoice) == Dec("960.00")
    assert set_off_services.credit_note_available(note) == 0


def test_a_rejected_dispute_makes_the_withheld_part_due_again(
    client_company, client_admin, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, [line("1000.00")], invoice_date=D(2026, 3, 1))
    dispute = raise_(invoice, client_admin, "200.00")
    assert invoice_services.invoice_due_now(invoice) == Dec("860.00")

    with pytest.raises(ValidationFailed):
        dispute_services.dispute_resolve(
            dispute=dispute, granted_amount="0", resolution="", acting_user=billing_staff
        )
    with pytest.raises(ValidationFailed):
        dispute_services.dispute_resolve(
            dispute=dispute, granted_amount="200.01", resolution="x", acting_user=billing_staff
        )
    rejected = dispute_services.dispute_resolve(
        dispute=dispute,
        granted_amount="0",
        resolution="The volumes match the platform's records.",
        acting_user=billing_staff,
    )

    assert rejected.status == Dispute.Status.REJECTED and rejected.credit_note is None
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice_services.invoice_due_now(invoice) == Dec("1060.00")


def test_an_invoice_whose_only_unpaid_part_is_withheld_is_not_overdue(
    client_company, client_admin, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, [line("1000.00")], invoice_date=D(2026, 3, 1))
    raise_(invoice, client_admin, "200.00")
    payment_services.payment_record(
        invoice=invoice,
        amount="860.00",
        received_on=D(2026, 3, 1),
        reference="undisputed part",
        idempotency_key="u1",
        acting_user=billing_staff,
    )

    assert invoice_services.invoices_mark_overdue(today=D(2026, 4, 1))["marked_overdue"] == 0
    assert suspension_services.suspend_for_non_payment(today=D(2026, 5, 1)) == {"suspended": 0}
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DISPUTED

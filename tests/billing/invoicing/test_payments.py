"""Payments (art. 4.10), message release (art. 26.2), suspension for non-payment and its
end on payment (art. 7.1-7.3)."""

import datetime as dt

import pytest
from django.db import connection

from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.models import Agreement, Suspension
from accounts.services import client_resume
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import suspension as suspension_services
from billing.models import Invoice, MessageAccount, MessagePayment, Payment
from billing.prepaid.services import limits
from tests.billing.invoicing.factories import (
    D,
    Dec,
    issued,
    line,
)

pytestmark = pytest.mark.django_db

THOUSAND = [line("1000.00", vat_rate="0")]


def pay(invoice, staff, amount, *, on, key, fee="0"):
    return payment_services.payment_record(
        invoice=invoice,
        amount=amount,
        received_on=on,
        reference=f"ref {key}",
        bank_fee=fee,
        idempotency_key=key,
        acting_user=staff,
    )


def test_a_partial_payment_leaves_the_invoice_partly_paid(client_company, billing_staff, clock):
    clock.set(D(2026, 3, 5))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))

    pay(invoice, billing_staff, "300.00", on=D(2026, 3, 4), key="p1")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert invoice.amount_paid == Dec("300.00")
    assert invoice_services.invoice_due_now(invoice) == Dec("700.00")


def test_bank_fees_leave_the_shortfall_owed_until_it_is_paid(client_company, billing_staff, clock):
    clock.set(D(2026, 3, 5))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))

    # 1000.00 sent, 12.50 taken by the banks on the way: 987.50 arrived
    payment = pay(invoice, billing_staff, "987.50", on=D(2026, 3, 4), key="p1", fee="12.50")
    invoice.refresh_from_db()
    assert payment.bank_fee == Dec("12.50")
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert invoice_services.invoice_due_now(invoice) == Dec("12.50")

    pay(invoice, billing_staff, "12.50", on=D(2026, 3, 5), key="p2")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice_services.invoice_due_now(invoice) == 0


def test_the_same_idempotency_key_records_a_payment_once(client_company, billing_staff, clock):
    clock.set(D(2026, 3, 5))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))

    first = pay(invoice, billing_staff, "100.00", on=D(2026, 3, 4), key="same")
    replay = pay(invoice, billing_staff, "100.00", on=D(2026, 3, 4), key="same")
    with pytest.raises(Conflict):
        pay(invoice, billing_staff, "200.00", on=D(2026, 3, 4), key="same")

    invoice.refresh_from_db()
    assert replay.pk == first.pk
    assert invoice.amount_paid == Dec("100.00")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "fee", "field"),
    [
        ("0", "0", "amount"),
        ("-5.00", "0", "amount"),
        ("10.001", "0", "amount"),
        ("10.00", "-1", "bank_fee"),
    ],
)
def test_bad_payment_amounts_are_refused(client_company, billing_staff, clock, amount, fee, field):
    clock.set(D(2026, 3, 5))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    with pytest.raises(ValidationFailed) as exc:
        pay(invoice, billing_staff, amount, on=D(2026, 3, 4), key="bad", fee=fee)
    assert exc.value.field == field
    assert not Payment.objects.exists()


def test_a_draft_takes_no_payment(client_company, billing_staff, clock):
    draft = invoice_services.invoice_draft(
        client=client_company, lines=THOUSAND, acting_user=billing_staff
    )
    with pytest.raises(ApplicationError):
        pay(draft, billing_staff, "10.00", on=D(2026, 3, 1), key="d")


def test_paying_an_invoice_releases_the_messages_it_covers_in_proportion_then_in_full(
    client_company, billing_staff, clock
):
    # given 1,000 unpaid messages billed on one invoice of 1000.00
    account = limits.message_account_for_client(client=client_company)
    MessageAccount.objects.filter(pk=account.pk).update(unpaid_count=1000)
    clock.set(D(2026, 3, 10))
    invoice = issued(
        client_company,
        billing_staff,
        [line("1.00", quantity="1000", vat_rate="0", messages=1000)],
        invoice_date=D(2026, 3, 1),
    )
    assert invoice.messages_covered == 1000

    def unpaid():
        return MessageAccount.objects.get(pk=account.pk).unpaid_count

    pay(invoice, billing_staff, "250.00", on=D(2026, 3, 2), key="m1")
    assert unpaid() == 750
    pay(invoice, billing_staff, "740.00", on=D(2026, 3, 3), key="m2", fee="10.00")
    assert unpaid() == 10  # 990 of 1000.00 paid: 990 messages
    pay(
        invoice, billing_staff, "740.00", on=D(2026, 3, 3), key="m2", fee="10.00"
    )  # a replay does nothing
    pay(invoice, billing_staff, "10.00", on=D(2026, 3, 4), key="m3")
    assert unpaid() == 0

    invoice.refresh_from_db()
    assert invoice.messages_released == 1000
    assert MessagePayment.objects.filter(client=client_company).count() == 3


# --- Suspension for non-payment (art. 7.1-7.3) ---------------------------------------------
def open_non_payment(client):
    return Suspension.objects.filter(
        client=client, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
    )


def test_an_invoice_overdue_by_the_grace_period_suspends_the_client_once(
    cm, client_company, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    invoice = issued(
        client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1)
    )  # due 15 March
    grace = cm.overdue_suspension_grace_days
    suspend_day = D(2026, 3, 15) + dt.timedelta(days=grace)

    assert suspension_services.suspend_for_non_payment(
        today=suspend_day - dt.timedelta(days=1)
    ) == {"suspended": 0}
    assert suspension_services.suspend_for_non_payment(today=suspend_day) == {"suspended": 1}
    assert suspension_services.suspend_for_non_payment(today=suspend_day) == {"suspended": 0}

    suspension = open_non_payment(client_company).get()
    assert invoice.number in suspension.reason and "7.2" in suspension.reason
    assert Agreement.objects.get(client=client_company).status == Agreement.Status.SUSPENDED


def test_paying_the_overdue_invoice_resumes_the_client(cm, client_company, billing_staff, clock):
    clock.set(D(2026, 3, 1))
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    suspension_services.suspend_for_non_payment(today=D(2026, 4, 30))
    assert open_non_payment(client_company).exists()

    clock.set(D(2026, 4, 30))
    pay(invoice, billing_staff, "600.00", on=D(2026, 4, 30), key="late-1")
    assert open_non_payment(client_company).exists()  # still overdue: still suspended (art. 7.2)
    pay(invoice, billing_staff, "400.00", on=D(2026, 4, 30), key="late-2")

    assert not open_non_payment(client_company).exists()
    assert Agreement.objects.get(client=client_company).status == Agreement.Status.ACTIVE
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_client_resumed_by_staff_is_not_suspended_again_for_the_same_invoice(
    cm, client_company, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    suspension_services.suspend_for_non_payment(today=D(2026, 4, 30))
    client_resume(
        client=client_company,
        acting_user=billing_staff,
        reason="payment plan agreed",
        cause=Suspension.Cause.NON_PAYMENT,
    )

    assert suspension_services.suspend_for_non_payment(today=D(2026, 5, 1)) == {"suspended": 0}
    # a later invoice that also goes unpaid suspends again
    clock.set(D(2026, 4, 1))
    issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 4, 1))
    assert suspension_services.suspend_for_non_payment(today=D(2026, 6, 1)) == {"suspended": 1}


def test_an_invoice_overdue_within_the_grace_period_does_not_suspend(
    cm, client_company, billing_staff, clock
):
    clock.set(D(2026, 3, 1))
    issued(client_company, billing_staff, THOUSAND, invoice_date=D(2026, 3, 1))
    invoice_services.invoices_mark_overdue(today=D(2026, 3, 20))
    assert suspension_services.suspend_for_non_payment(today=D(2026, 3, 20)) == {"suspended": 0}
    assert not open_non_payment(client_company).exists()


@pytest.mark.django_db(transaction=True)
def test_a_payment_is_recorded_in_its_own_transaction_as_the_invoice_page_calls_it(
    client_company, billing_staff, clock
):
    """The page calls the service outside any transaction: it opens its own, so its invoice
    lock holds (select_for_update outside a transaction raised TransactionManagementError,
    a 500 on every payment recorded from the invoice page)."""
    invoice = issued(client_company, billing_staff, THOUSAND, invoice_date=clock.moment.date())
    assert not connection.in_atomic_block

    pay(invoice, billing_staff, "40.00", on=clock.moment.date(), key="outside-atomic")

    invoice.refresh_from_db()
    assert invoice.amount_paid == Dec("40.00")
    assert invoice.status == Invoice.Status.PARTLY_PAID

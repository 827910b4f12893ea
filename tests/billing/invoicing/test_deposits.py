"""Deposits (art. 4.7) and set-off (art. 9.1-9.2): demand, hold, adjust with history, settle on
termination, refund due within 2 calendar months and its flags; set-off limits and visibility."""

import datetime as dt

import pytest

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Agreement, Notification
from billing.invoicing import selectors
from billing.invoicing.services import deposits as deposit_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import set_offs as set_off_services
from billing.models import Deposit, Invoice, RestitutionRequest, SetOff
from tests.billing.invoicing.factories import (
    D,
    Dec,
    admin_of,
    issued,
    key,
    line,
)

pytestmark = pytest.mark.django_db


def held_deposit(client, staff, amount):
    deposit = deposit_services.deposit_demand(
        client=client, amount=amount, acting_user=staff, reason="new account"
    )
    return deposit_services.deposit_mark_held(
        deposit=deposit, amount_received=amount, acting_user=staff
    )


def invoice_of(client, staff, amount, clock, on=None):
    on = on or D(2026, 5, 1)
    clock.set(max(clock.moment.date(), on))
    return issued(client, staff, [line(amount, vat_rate="0")], invoice_date=on)


def terminate(client, moment):
    Agreement.objects.filter(client=client).update(
        status=Agreement.Status.TERMINATED, terminated_at=moment
    )


# --- Deposits ------------------------------------------------------------------------------
def test_a_deposit_is_demanded_held_and_adjusted_with_history(client_company, billing_staff, clock):
    deposit = deposit_services.deposit_demand(
        client=client_company, amount="500.00", acting_user=billing_staff
    )
    assert deposit.status == Deposit.Status.DEMANDED and deposit.currency == "CNY"
    assert Notification.objects.filter(key=f"deposit-demanded:{deposit.pk}").exists()

    deposit_services.deposit_mark_held(
        deposit=deposit, amount_received="500.00", acting_user=billing_staff
    )
    deposit_services.deposit_adjust(
        deposit=deposit,
        amount="800.00",
        reason="volume doubled, agreed by phone and email",
        acting_user=billing_staff,
    )

    deposit.refresh_from_db()
    assert (deposit.status, deposit.amount, deposit.amount_held) == (
        Deposit.Status.HELD,
        Dec("800.00"),
        Dec("500.00"),
    )
    amounts = list(deposit.history.order_by("history_id").values_list("amount", "history_user_id"))
    assert amounts == [
        (Dec("500.00"), billing_staff.pk),
        (Dec("500.00"), billing_staff.pk),
        (Dec("800.00"), billing_staff.pk),
    ]
    with pytest.raises(ValidationFailed):
        deposit_services.deposit_adjust(
            deposit=deposit, amount="900.00", reason="", acting_user=billing_staff
        )


def test_a_deposit_is_settled_only_after_termination(client_company, billing_staff, clock):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    with pytest.raises(ApplicationError) as exc:
        deposit_services.deposit_settle(deposit=deposit, acting_user=billing_staff)
    assert exc.value.article == "4.7"
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.HELD


def test_on_termination_the_deposit_is_set_off_and_the_rest_refunded_within_2_months(
    client_company, billing_staff, clock
):
    # given a held deposit of 500.00 and two open invoices of 300.00 and 150.00
    deposit = held_deposit(client_company, billing_staff, "500.00")
    first = invoice_of(client_company, billing_staff, "300.00", clock, on=D(2026, 5, 1))
    second = invoice_of(client_company, billing_staff, "150.00", clock, on=D(2026, 6, 1))
    clock.set(D(2026, 6, 2))
    payment_services.payment_record(
        invoice=second,
        amount="100.00",
        received_on=D(2026, 6, 2),
        reference="part",
        idempotency_key="p",
        acting_user=billing_staff,
    )
    terminate(client_company, dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC))
    clock.set(D(2026, 7, 1))

    # when staff settle it
    settled = deposit_services.deposit_settle(deposit=deposit, acting_user=billing_staff)

    # then 300 + 50 are set off, 150 is refunded by 30 August
    assert sorted(SetOff.objects.filter(deposit=deposit).values_list("invoice_id", "amount")) == [
        (first.pk, Dec("300.00")),
        (second.pk, Dec("50.00")),
    ]
    assert settled.status == Deposit.Status.SETTLED
    assert settled.refund_amount == Dec("150.00")
    assert settled.refund_due_by == D(2026, 8, 30)
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID


def test_refunds_are_flagged_coming_due_and_overdue_once_each(client_company, billing_staff, clock):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    terminate(client_company, dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC))
    clock.set(D(2026, 7, 1))
    deposit_services.deposit_settle(deposit=deposit, acting_user=billing_staff)  # due by 30 August

    assert deposit_services.deposit_refunds_flag(today=D(2026, 8, 15)) == {
        "coming_due": 0,
        "overdue": 0,
    }
    assert deposit_services.deposit_refunds_flag(today=D(2026, 8, 16)) == {
        "coming_due": 1,
        "overdue": 0,
    }
    assert deposit_services.deposit_refunds_flag(today=D(2026, 8, 20)) == {
        "coming_due": 0,
        "overdue": 0,
    }
    assert deposit_services.deposit_refunds_flag(today=D(2026, 8, 30)) == {
        "coming_due": 0,
        "overdue": 0,
    }
    assert deposit_services.deposit_refunds_flag(today=D(2026, 8, 31)) == {
        "coming_due": 0,
        "overdue": 1,
    }
    assert deposit_services.deposit_refunds_flag(today=D(2026, 9, 30)) == {
        "coming_due": 0,
        "overdue": 0,
    }
    deposit.refresh_from_db()
    assert deposit.flagged_due_at and deposit.flagged_overdue_at


def test_a_recorded_refund_is_no_longer_flagged(client_company, billing_staff, clock):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    terminate(client_company, dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC))
    clock.set(D(2026, 7, 1))
    deposit_services.deposit_settle(deposit=deposit, acting_user=billing_staff)
    deposit_services.deposit_refund_record(
        deposit=deposit, reference="BANK-REF-1", acting_user=billing_staff
    )

    assert deposit_services.deposit_refunds_flag(today=D(2026, 9, 30)) == {
        "coming_due": 0,
        "overdue": 0,
    }
    with pytest.raises(ApplicationError):
        deposit_services.deposit_refund_record(
            deposit=deposit, reference="again", acting_user=billing_staff
        )


def test_a_deposit_fully_used_by_set_off_has_nothing_to_refund(
    client_company, billing_staff, clock
):
    deposit = held_deposit(client_company, billing_staff, "200.00")
    invoice_of(client_company, billing_staff, "300.00", clock)
    terminate(client_company, dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC))
    clock.set(D(2026, 7, 1))

    settled = deposit_services.deposit_settle(deposit=deposit, acting_user=billing_staff)

    assert settled.refund_amount == 0 and settled.refunded_at is not None
    assert deposit_services.deposit_refunds_flag(today=D(2026, 9, 30)) == {
        "coming_due": 0,
        "overdue": 0,
    }


# --- Set-off (art. 9.1-9.2) ----------------------------------------------------------------
def set_off(client, staff, source, obj, invoice, amount, k=None):
    return set_off_services.set_off_record(
        client=client,
        source=source,
        source_obj=obj,
        invoice=invoice,
        amount=amount,
        acting_user=staff,
        idempotency_key=k or key(),
    )


def test_a_set_off_is_never_more_than_the_source_has_left(client_company, billing_staff, clock):
    deposit = held_deposit(client_company, billing_staff, "100.00")
    invoice = invoice_of(client_company, billing_staff, "300.00", clock)

    with pytest.raises(ValidationFailed) as exc:
        set_off(client_company, billing_staff, "deposit", deposit, invoice, "100.01")
    assert exc.value.field == "amount" and exc.value.article == "9.1"
    set_off(client_company, billing_staff, "deposit", deposit, invoice, "100.00")
    with pytest.raises(ValidationFailed):
        set_off(client_company, billing_staff, "deposit", deposit, invoice, "0.01")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert invoice_services.invoice_due_now(invoice) == Dec("200.00")


def test_a_set_off_is_never_more_than_the_invoice_owes(client_company, billing_staff, clock):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    invoice = invoice_of(client_company, billing_staff, "300.00", clock)

    with pytest.raises(ValidationFailed) as exc:
        set_off(client_company, billing_staff, "deposit", deposit, invoice, "300.01")
    assert "300.00" in exc.value.message
    set_off(client_company, billing_staff, "deposit", deposit, invoice, "300.00")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert deposit_services.deposit_available(deposit) == Dec("200.00")


def test_an_approved_restitution_is_set_off_but_a_pending_one_is_not(
    client_company, client_admin, billing_staff, clock
):
    invoice = invoice_of(client_company, billing_staff, "300.00", clock)
    request = RestitutionRequest.objects.create(
        client=client_company, requested_by=client_admin, currency="CNY"
    )
    with pytest.raises(ApplicationError):
        set_off(client_company, billing_staff, "restitution", request, invoice, "10.00")

    RestitutionRequest.objects.filter(pk=request.pk).update(status="approved", amount=Dec("80.00"))
    set_off(client_company, billing_staff, "restitution", request, invoice, "80.00")

    request.refresh_from_db()
    assert set_off_services.restitution_available(request) == 0
    assert invoice_services.invoice_due_now(invoice) == Dec("220.00")


def test_a_credit_note_that_voids_an_invoice_is_not_set_off_elsewhere(
    client_company, billing_staff, clock
):
    voided = invoice_of(client_company, billing_staff, "300.00", clock)
    note = invoice_services.invoice_void(
        invoice=voided, acting_user=billing_staff, reason="duplicate"
    )
    other = invoice_of(client_company, billing_staff, "300.00", clock)
    with pytest.raises(ValidationFailed):
        set_off(client_company, billing_staff, "credit_note", note, other, "1.00")


def test_a_set_off_against_another_clients_invoice_is_refused(
    client_company, other_company, billing_staff, clock
):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    foreign = invoice_of(other_company, billing_staff, "300.00", clock)
    with pytest.raises(NotAllowed):
        set_off(client_company, billing_staff, "deposit", deposit, foreign, "10.00")
    assert not SetOff.objects.exists()


def test_a_set_off_is_recorded_once_and_shown_on_both_sides_to_its_client_only(
    client_company, other_company, billing_staff, clock
):
    deposit = held_deposit(client_company, billing_staff, "500.00")
    invoice = invoice_of(client_company, billing_staff, "300.00", clock)

    first = set_off(client_company, billing_staff, "deposit", deposit, invoice, "120.00", k="so-1")
    replay = set_off(client_company, billing_staff, "deposit", deposit, invoice, "120.00", k="so-1")

    assert replay.pk == first.pk
    admin, other_admin = admin_of(client_company), admin_of(other_company)
    listed = list(selectors.set_off_list(user=admin))
    assert [(s.deposit_id, s.invoice_id, s.amount) for s in listed] == [
        (deposit.pk, invoice.pk, Dec("120.00"))
    ]
    assert list(selectors.set_off_list(user=other_admin)) == []
    detail = selectors.invoice_detail(user=admin, pk=invoice.pk)
    assert [s.pk for s in detail.set_offs] == [first.pk] and detail.due_now == Dec("180.00")
    deposits = list(selectors.deposit_list(user=admin))
    assert deposits[0].set_off_amount == Dec("120.00")

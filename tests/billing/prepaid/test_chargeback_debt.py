"""A charged-back top-up's used credit is an amount due, with the profile's fee (art. 29.4,
issue 12 §3): an invoice of its own, due after the payment term, collected like any invoice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.kernel.errors import Conflict
from accounts.models import Provider
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services.recharges import chargeback_debt_record
from billing.models import Chargeback, CreditLot, Invoice, Recharge
from billing.prepaid.services.chargebacks import chargeback_record
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.expiry import credit_expire
from tests.billing.factories import check, top_up

pytestmark = pytest.mark.django_db


def _lot(wallet, amount="100.00"):
    return top_up(wallet, amount, timezone.now() - dt.timedelta(days=10))


def _debts(client):
    return list(Invoice.objects.filter(client=client, source_key__startswith="recharge:"))


def _fee(provider, amount, currency):
    Provider.objects.filter(pk=provider.pk).update(
        chargeback_fee=Decimal(amount), chargeback_fee_currency=currency
    )


def test_after_partial_use_the_used_part_is_owed_on_an_invoice_due_after_the_term(
    wallet, prepaid, billing_staff
):
    # given a top-up of 100 of which 30 was used
    lot = _lot(wallet)
    wallet_debit(wallet=wallet, amount="30.00", idempotency_key="d1", cause="sms")

    # when it is charged back
    chargeback = chargeback_record(lot=lot, reference="CB-1", reason="", acting_user=billing_staff)

    # then 70 is reversed and 30 is owed, at 0 % VAT, due after the payment term (art. 4.5)
    assert (chargeback.reversed_amount, chargeback.used_amount) == (
        Decimal("70.00"),
        Decimal("30.00"),
    )
    [invoice] = _debts(prepaid)
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert (invoice.subtotal, invoice.vat_amount, invoice.total) == (
        Decimal("30.00"),
        Decimal("0.00"),
        Decimal("30.00"),
    )
    assert invoice.due_date == invoice.invoice_date + dt.timedelta(
        days=prepaid.provider.payment_term_days
    )
    [recharge] = Recharge.objects.filter(client=prepaid)
    assert recharge.kind == Recharge.Kind.CHARGEBACK_DEBT
    assert (recharge.source_kind, recharge.source_id) == ("billing.chargeback", str(chargeback.pk))
    assert recharge.invoice_line.invoice == invoice and "CB-1" in recharge.invoice_line.description
    assert "art. 29.4" in recharge.invoice_line.description
    check(wallet)


def test_after_no_use_nothing_is_owed_and_no_invoice_is_made(wallet, prepaid, billing_staff):
    lot = _lot(wallet)
    chargeback = chargeback_record(lot=lot, reference="CB-0", reason="", acting_user=billing_staff)
    assert chargeback.used_amount == 0 and chargeback.reversed_amount == Decimal("100.00")
    assert _debts(prepaid) == [] and not Recharge.objects.exists()


def test_after_full_use_the_whole_top_up_is_owed(wallet, prepaid, billing_staff):
    lot = _lot(wallet, "50.00")
    wallet_debit(wallet=wallet, amount="50.00", idempotency_key="all", cause="sms")
    chargeback = chargeback_record(lot=lot, reference="CB-F", reason="", acting_user=billing_staff)
    assert chargeback.reversed_amount == 0
    [invoice] = _debts(prepaid)
    assert invoice.total == Decimal("50.00")


def test_credit_that_expired_unused_is_not_owed(wallet, prepaid, billing_staff):
    # given a top-up of 80 bought 13 months ago, 20 used, the rest expired (art. 29.3)
    bought = timezone.now() - dt.timedelta(days=400)
    lot = top_up(wallet, "80.00", bought)
    wallet_debit(
        wallet=wallet,
        amount="20.00",
        idempotency_key="e1",
        cause="sms",
        at=bought + dt.timedelta(days=2),
    )
    credit_expire()
    lot.refresh_from_db()
    assert lot.status == CreditLot.Status.EXPIRED

    # when it is charged back, only the 20 used is owed
    chargeback = chargeback_record(lot=lot, reference="CB-E", reason="", acting_user=billing_staff)
    assert (chargeback.reversed_amount, chargeback.used_amount) == (Decimal("0"), Decimal("20.00"))
    [invoice] = _debts(prepaid)
    assert invoice.total == Decimal("20.00")


def test_the_profiles_fee_is_charged_with_the_used_credit(wallet, prepaid, billing_staff):
    _fee(prepaid.provider, "25.00", "CNY")
    lot = _lot(wallet)
    wallet_debit(wallet=wallet, amount="10.00", idempotency_key="f1", cause="sms")
    chargeback_record(lot=lot, reference="CB-FEE", reason="", acting_user=billing_staff)

    [invoice] = _debts(prepaid)
    assert invoice.total == Decimal("35.00") and invoice.vat_amount == 0
    assert sorted(r.kind for r in invoice.recharges.all()) == [
        Recharge.Kind.CHARGEBACK_DEBT,
        Recharge.Kind.CHARGEBACK_FEE,
    ]


def test_with_a_fee_and_no_use_the_fee_alone_is_owed(wallet, prepaid, billing_staff):
    _fee(prepaid.provider, "25.00", "CNY")
    chargeback_record(lot=_lot(wallet), reference="CB-F0", reason="", acting_user=billing_staff)
    [invoice] = _debts(prepaid)
    assert invoice.total == Decimal("25.00")
    assert [r.kind for r in invoice.recharges.all()] == [Recharge.Kind.CHARGEBACK_FEE]


def test_a_fee_in_another_currency_without_a_rate_refuses_the_chargeback_and_changes_nothing(
    wallet, prepaid, billing_staff
):
    _fee(prepaid.provider, "5.00", "EUR")
    lot = _lot(wallet)
    with pytest.raises(Conflict) as exc:
        chargeback_record(lot=lot, reference="CB-X", reason="", acting_user=billing_staff)
    assert exc.value.field == "chargeback_fee" and exc.value.article == "29.4"
    assert not Chargeback.objects.exists() and not Invoice.objects.exists()
    check(wallet)


def test_the_same_chargeback_twice_makes_one_debt(wallet, prepaid, billing_staff):
    lot = _lot(wallet)
    wallet_debit(wallet=wallet, amount="30.00", idempotency_key="i1", cause="sms")
    chargeback = chargeback_record(lot=lot, reference="CB-2", reason="", acting_user=billing_staff)

    # the service again (a retried task), and the chargeback again (refused)
    assert chargeback_debt_record(chargeback=chargeback, acting_user=billing_staff) is None
    with pytest.raises(Conflict):
        chargeback_record(lot=lot, reference="CB-2", reason="", acting_user=billing_staff)

    assert len(_debts(prepaid)) == 1 and Recharge.objects.count() == 1


def test_the_debt_is_collected_like_any_invoice(wallet, prepaid, billing_staff):
    lot = _lot(wallet)
    wallet_debit(wallet=wallet, amount="30.00", idempotency_key="c1", cause="sms")
    chargeback_record(lot=lot, reference="CB-C", reason="", acting_user=billing_staff)
    [invoice] = _debts(prepaid)

    # overdue after its due date
    day_after = invoice.due_date + dt.timedelta(days=1)
    invoice_services.invoices_mark_overdue(today=day_after)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OVERDUE

    # and paid like any invoice
    payment_services.payment_record(
        invoice=invoice,
        amount="30.00",
        received_on=invoice.invoice_date,
        reference=invoice.payment_reference,
        idempotency_key="pay-debt",
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_reopening_after_a_chargeback_with_activation_costs_bills_them(
    wallet, prepaid, billing_staff
):
    from billing.prepaid.services.chargebacks import account_reopen

    chargeback_record(lot=_lot(wallet), reference="CB-R", reason="", acting_user=billing_staff)
    account_reopen(
        client=prepaid, reason="Paid by transfer.", acting_user=billing_staff, activation_cost="15"
    )
    [recharge] = Recharge.objects.filter(client=prepaid)
    assert recharge.kind == Recharge.Kind.ACTIVATION and recharge.amount == Decimal("15.00")
    assert recharge.invoice.status == Invoice.Status.ISSUED

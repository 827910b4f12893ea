"""Chargebacks close the account (art. 29.4); restitution of unexpired credit on termination (art. 29.6)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Agreement, Suspension
from billing.models import CreditLot, LedgerAllocation, LedgerEntry, RestitutionRequest
from billing.prepaid.services.chargebacks import account_reopen, chargeback_record
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.restitution import (
    restitution_approve,
    restitution_refuse,
    restitution_request,
)
from tests.accounts.factories import ClientAdminFactory, ClientViewerFactory
from tests.billing.factories import check, top_up


def test_chargeback_reverses_the_lots_remaining_credit_and_closes_the_account(
    wallet, prepaid, prepaid_admin, billing_staff, django_capture_on_commit_callbacks
):
    now = timezone.now()
    lot = top_up(wallet, "100.00", now - dt.timedelta(days=10))
    keep = top_up(wallet, "40.00", now - dt.timedelta(days=5))
    wallet_debit(wallet=wallet, amount="30.00", idempotency_key="d1", cause="sms")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        chargeback = chargeback_record(
            lot=lot, reference="CB-1", reason="card holder dispute", acting_user=billing_staff
        )
    # then: the 70 left on the lot is reversed; the other lot is untouched
    assert chargeback.reversed_amount == Decimal("70.00")
    lot.refresh_from_db()
    assert lot.remaining == 0 and lot.status == CreditLot.Status.REVERSED
    assert CreditLot.objects.get(pk=keep.pk).remaining == Decimal("40.00")
    entry = chargeback.entry
    assert entry.kind == LedgerEntry.Kind.CHARGEBACK and entry.amount == Decimal("-70.00")
    assert "already used" in entry.memo
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("40.00")
    check(wallet)
    # the client is in default: suspended for chargeback, users told
    assert Suspension.objects.filter(
        client=prepaid, cause=Suspension.Cause.CHARGEBACK, ended_at=None
    ).exists()
    assert Agreement.objects.get(client=prepaid).status == Agreement.Status.SUSPENDED
    assert any(prepaid_admin.email in m.to for m in mail.outbox)


def test_a_second_chargeback_of_the_same_top_up_is_refused(wallet, billing_staff):
    lot = top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=2))
    chargeback_record(lot=lot, reference="CB-1", reason="", acting_user=billing_staff)
    with pytest.raises(Conflict):
        chargeback_record(lot=lot, reference="CB-2", reason="", acting_user=billing_staff)


def test_a_second_chargeback_on_another_lot_keeps_one_suspension(wallet, prepaid, billing_staff):
    a = top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=2))
    b = top_up(wallet, "20.00", timezone.now() - dt.timedelta(days=2))
    chargeback_record(lot=a, reference="CB-1", reason="", acting_user=billing_staff)
    chargeback_record(lot=b, reference="CB-2", reason="", acting_user=billing_staff)
    assert Suspension.objects.filter(client=prepaid, cause=Suspension.Cause.CHARGEBACK).count() == 1
    check(wallet)


def test_only_billing_staff_record_a_chargeback(wallet, prepaid_admin):
    lot = top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=2))
    with pytest.raises(NotAllowed):
        chargeback_record(lot=lot, reference="CB", reason="", acting_user=prepaid_admin)
    assert CreditLot.objects.get(pk=lot.pk).status == CreditLot.Status.ACTIVE


def test_reopening_after_a_chargeback_is_a_staff_action_with_a_reason(
    wallet, prepaid, billing_staff
):
    lot = top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=2))
    chargeback_record(lot=lot, reference="CB-1", reason="", acting_user=billing_staff)
    with pytest.raises(ValidationFailed) as refused:
        account_reopen(client=prepaid, reason=" ", acting_user=billing_staff)
    assert refused.value.field == "reason"
    assert (
        account_reopen(client=prepaid, reason="Paid by bank transfer", acting_user=billing_staff)
        == 1
    )
    suspension = Suspension.objects.get(client=prepaid, cause=Suspension.Cause.CHARGEBACK)
    assert suspension.ended_at is not None and suspension.ended_by == billing_staff
    assert Agreement.objects.get(client=prepaid).status == Agreement.Status.ACTIVE


# --- Restitution (art. 29.6) -----------------------------------------------------------------
def _give_notice(client):
    Agreement.objects.filter(client=client).update(
        status=Agreement.Status.NOTICE_GIVEN,
        notice_given_at=timezone.now(),
        notice_given_by="client",
    )


def test_restitution_is_requested_only_after_written_termination(prepaid, prepaid_admin):
    with pytest.raises(ApplicationError) as refused:
        restitution_request(client=prepaid, acting_user=prepaid_admin, reason="closing")
    assert refused.value.field == "agreement" and "29.6" in refused.value.message
    _give_notice(prepaid)
    request = restitution_request(client=prepaid, acting_user=prepaid_admin, reason="closing")
    assert request.status == RestitutionRequest.Status.PENDING
    with pytest.raises(Conflict):
        restitution_request(client=prepaid, acting_user=prepaid_admin, reason="again")


def test_restitution_is_requested_by_a_client_admin_of_a_prepaid_client(cm, prepaid):
    _give_notice(prepaid)
    with pytest.raises(NotAllowed):
        restitution_request(
            client=prepaid, acting_user=ClientViewerFactory(client=prepaid), reason=""
        )
    from tests.accounts.factories import AgreementFactory, ClientFactory

    postpaid = ClientFactory(provider=cm)
    AgreementFactory(client=postpaid, status=Agreement.Status.TERMINATED)
    with pytest.raises(ApplicationError) as refused:
        restitution_request(
            client=postpaid, acting_user=ClientAdminFactory(client=postpaid), reason=""
        )
    # refused for being postpaid (art. 29.6), not for the admin's role
    assert not isinstance(refused.value, NotAllowed)
    assert (refused.value.field, refused.value.article) == ("client", "29.6")
    assert not RestitutionRequest.objects.filter(client=postpaid).exists()


def test_approved_restitution_takes_the_unexpired_credit_and_never_the_expired(
    prepaid, wallet, prepaid_admin, billing_staff
):
    now = timezone.now()
    # expired yesterday but not yet processed by the job: never refunded
    expired = top_up(wallet, "30.00", now - dt.timedelta(days=367))
    usable = top_up(wallet, "50.00", now - dt.timedelta(days=20))
    pending = top_up(wallet, "20.00", now)  # received today, not yet usable, but unexpired
    wallet_debit(wallet=wallet, amount="10.00", idempotency_key="d", cause="sms")
    _give_notice(prepaid)
    request = restitution_request(client=prepaid, acting_user=prepaid_admin, reason="we stop")
    # when
    request = restitution_approve(
        request=request, acting_user=billing_staff, note="bank transfer next week"
    )
    # then
    assert request.status == RestitutionRequest.Status.APPROVED
    assert request.amount == Decimal("60.00")  # 40 left of the usable lot + 20 pending
    assert request.entry.kind == LedgerEntry.Kind.RESTITUTION and request.entry.amount == Decimal(
        "-60.00"
    )
    allocations = dict(
        LedgerAllocation.objects.filter(entry=request.entry).values_list("lot_id", "amount")
    )
    assert allocations == {usable.pk: Decimal("40.00"), pending.pk: Decimal("20.00")}
    assert CreditLot.objects.get(pk=expired.pk).remaining == Decimal("30.00")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("30.00")  # the expired lot, left for the expiry job
    check(wallet)
    assert request.history.count() == 2


def test_refused_restitution_moves_nothing_and_needs_a_note(
    prepaid, wallet, prepaid_admin, billing_staff
):
    top_up(wallet, "50.00", timezone.now() - dt.timedelta(days=20))
    _give_notice(prepaid)
    request = restitution_request(client=prepaid, acting_user=prepaid_admin, reason="")
    with pytest.raises(ValidationFailed) as missing:
        restitution_refuse(request=request, acting_user=billing_staff, note="")
    assert missing.value.field == "note"
    request = restitution_refuse(
        request=request, acting_user=billing_staff, note="credit set off against invoice 12"
    )
    assert request.status == RestitutionRequest.Status.REFUSED
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESTITUTION).exists()
    with pytest.raises(ApplicationError) as decided:
        restitution_approve(request=request, acting_user=billing_staff)
    assert decided.value.field == "status"
    assert "already been decided" in decided.value.message
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("50.00")

"""The rules of CXENGAGE Part V at their edges: only what operators paid is paid out, never more;
chargebacks, fees and the refund-campaign charge are deducted; the right of offset pays an open
invoice and reduces the payout; payment disputes within 10 (calendar) days with documents; advance
notice of service changes; premium services only where the profile offers them."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from billing.models import (
    Invoice,
    PremiumDispute,
    PremiumLedgerEntry,
    PremiumServiceChange,
    PremiumStatement,
    SetOff,
)
from billing.premium import selectors, services
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.premium.factories import company, invoice, key, rate, receipt, statement

AMS = ZoneInfo("Europe/Amsterdam")
Kind = PremiumLedgerEntry.Kind


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(db):
    return BillingStaffFactory()


@pytest.fixture
def client(cx):
    return company(cx)


def pdf(name="proof.pdf"):
    return ContentFile(b"%PDF-1.4 operator report", name=name)


def payout(stmt, staff, amount, *, idem=None, on=dt.date(2027, 6, 1)):
    return services.premium_payout_record(
        statement=stmt, amount=amount, paid_on=on, acting_user=staff, idempotency_key=idem or key()
    )


def issued(stmt, staff, at=None):
    return services.premium_statement_issue(statement=stmt, acting_user=staff, now=at)


# --- Only for a provider that offers premium services -----------------------------------------
@pytest.mark.django_db
def test_premium_services_are_offered_by_the_profile_flag_not_by_the_provider(cm, cx, staff):
    assert cx.offers_premium_services and not cm.offers_premium_services
    with pytest.raises(ValidationFailed) as refused:
        statement(company(cm), staff)
    assert refused.value.field == "client" and "CX Part V" in refused.value.message
    assert not PremiumStatement.objects.exists()
    # the flag decides, whichever provider it is
    cm.offers_premium_services = True
    cm.save()
    assert statement(company(cm), staff).currency == "CNY"


@pytest.mark.django_db
def test_a_cm_client_admin_sees_no_premium_services(cm, cx):
    cm_admin = ClientAdminFactory(client=company(cm))
    cx_admin = ClientAdminFactory(client=company(cx))
    assert not selectors.premium_offered_to(cm_admin)
    assert selectors.premium_offered_to(cx_admin)


@pytest.mark.django_db
def test_one_statement_per_client_operator_and_period(client, staff):
    statement(client, staff)
    with pytest.raises(ValidationFailed) as refused:
        statement(client, staff)
    assert refused.value.field == "operator"
    statement(client, staff, operator="Odido")
    assert PremiumStatement.objects.count() == 2


# --- Only amounts actually received are paid out, never more ----------------------------------
@pytest.mark.django_db
def test_the_payout_is_at_most_what_the_operator_actually_paid(client, staff):
    # given KPN billed end users 1,000.00 but paid only 600.00 so far (a partial payment)
    stmt = statement(client, staff)
    receipt(stmt, staff, "600.00", billed="1000.00")
    issued(stmt, staff)
    summary = selectors.statement_summary(stmt)
    assert (summary.billed, summary.received, summary.not_received) == (
        Decimal("1000.00"),
        Decimal("600.00"),
        Decimal("400.00"),
    )
    # when more than received is paid out, then it is refused and nothing is recorded
    with pytest.raises(ValidationFailed) as refused:
        payout(stmt, staff, "600.01")
    assert refused.value.field == "amount" and "600.00 USD is left" in refused.value.message
    assert not PremiumLedgerEntry.objects.filter(kind=Kind.PAYOUT).exists()
    # exactly what was received is paid out; then nothing more
    payout(stmt, staff, "600.00")
    with pytest.raises(ValidationFailed):
        payout(stmt, staff, "0.01")
    # the late rest of the operator's payment can be paid out when it arrives
    receipt(stmt, staff, "400.00", on=dt.date(2027, 6, 1))
    payout(stmt, staff, "400.00")
    assert selectors.statement_summary(stmt).paid_out == Decimal("1000.00")
    assert services.statement_balance(stmt) == Decimal("0")


@pytest.mark.django_db
def test_an_operator_cannot_have_paid_more_than_it_billed(client, staff):
    stmt = statement(client, staff)
    with pytest.raises(ValidationFailed) as refused:
        receipt(stmt, staff, "100.01", billed="100.00")
    assert refused.value.field == "amount"
    receipt(stmt, staff, "100.00", billed="100.00")


@pytest.mark.django_db
def test_a_receipt_cannot_be_dated_in_the_future_or_before_the_period(client, staff, now):
    stmt = statement(client, staff)
    with pytest.raises(ValidationFailed) as refused:
        receipt(stmt, staff, "1.00", on=dt.date(2027, 6, 2))
    assert refused.value.field == "received_on"
    with pytest.raises(ValidationFailed):
        receipt(stmt, staff, "1.00", on=dt.date(2027, 4, 30))
    assert not PremiumLedgerEntry.objects.exists()


@pytest.mark.django_db
def test_a_draft_statement_is_not_paid_out(client, staff):
    stmt = statement(client, staff)
    receipt(stmt, staff, "10.00")
    with pytest.raises(ApplicationError) as refused:
        payout(stmt, staff, "10.00")
    assert refused.value.code == "statement_not_issued"


@pytest.mark.django_db
def test_a_payout_is_recorded_once_per_idempotency_key(client, staff):
    stmt = statement(client, staff)
    receipt(stmt, staff, "500.00")
    issued(stmt, staff)
    first = payout(stmt, staff, "200.00", idem="pay-1")
    again = payout(stmt, staff, "200.00", idem="pay-1")
    assert again.pk == first.pk
    assert PremiumLedgerEntry.objects.filter(kind=Kind.PAYOUT).count() == 1
    with pytest.raises(Conflict):
        payout(stmt, staff, "250.00", idem="pay-1")
    assert services.statement_balance(stmt) == Decimal("300.00")


@pytest.mark.django_db
def test_only_staff_of_the_clients_provider_pay_out(client, staff, cm):
    stmt = statement(client, staff)
    receipt(stmt, staff, "5.00")
    issued(stmt, staff)
    with pytest.raises(NotAllowed):
        payout(stmt, BillingStaffFactory(providers=[cm]), "5.00")
    with pytest.raises(NotAllowed):
        payout(stmt, ClientAdminFactory(client=client), "5.00")


# --- Chargebacks, fees, the refund-campaign charge ---------------------------------------------
@pytest.mark.django_db
def test_chargebacks_and_their_fees_are_deducted_from_the_payout(client, staff):
    stmt = statement(client, staff)
    receipt(stmt, staff, "100.00")
    entries = services.premium_chargeback_record(
        statement=stmt,
        amount="30.00",
        fee="5.00",
        occurred_on=dt.date(2027, 5, 20),
        end_user_reference="+31612345678 / tx 991",
        acting_user=staff,
        idempotency_key="cb-1",
    )
    assert [(e.kind, e.amount) for e in entries] == [
        (Kind.CHARGEBACK, Decimal("-30.00")),
        (Kind.CHARGEBACK_FEE, Decimal("-5.00")),
    ]
    # the same request again records nothing twice
    services.premium_chargeback_record(
        statement=stmt,
        amount="30.00",
        fee="5.00",
        occurred_on=dt.date(2027, 5, 20),
        end_user_reference="+31612345678 / tx 991",
        acting_user=staff,
        idempotency_key="cb-1",
    )
    issued(stmt, staff)
    with pytest.raises(ValidationFailed):
        payout(stmt, staff, "65.01")
    payout(stmt, staff, "65.00")


@pytest.mark.django_db
def test_an_administrative_fee_for_a_complaint_says_what_it_is_for(client, staff):
    stmt = statement(client, staff)
    receipt(stmt, staff, "100.00")
    with pytest.raises(ValidationFailed) as refused:
        services.premium_deduction_record(
            statement=stmt,
            kind=Kind.COMPLAINT_FEE,
            amount="25.00",
            occurred_on=dt.date(2027, 5, 20),
            note=" ",
            acting_user=staff,
            idempotency_key=key(),
        )
    assert refused.value.field == "note"
    services.premium_deduction_record(
        statement=stmt,
        kind=Kind.COMPLAINT_FEE,
        amount="25.00",
        occurred_on=dt.date(2027, 5, 20),
        note="Complaint 2027-118 handled for the client",
        acting_user=staff,
        idempotency_key=key(),
    )
    summary = selectors.statement_summary(stmt)
    assert summary.deductions == {Kind.COMPLAINT_FEE: Decimal("-25.00")}
    assert summary.available == Decimal("75.00")
    with pytest.raises(ValidationFailed):
        services.premium_deduction_record(
            statement=stmt,
            kind=Kind.PAYOUT,
            amount="1.00",
            occurred_on=dt.date(2027, 5, 20),
            note="not a deduction",
            acting_user=staff,
            idempotency_key=key(),
        )


@pytest.mark.django_db
def test_the_refund_campaign_charge_is_5000_euro_converted_to_the_statements_currency(
    client, staff
):
    stmt = statement(client, staff)
    receipt(stmt, staff, "10000.00")

    def charge():
        return services.premium_refund_campaign_charge(
            statement=stmt,
            misconduct="Subscriptions sold without double opt-in",
            occurred_on=dt.date(2027, 5, 25),
            acting_user=staff,
            idempotency_key="campaign-1",
        )

    # without a EUR→USD rate nothing is charged
    with pytest.raises(ApplicationError) as refused:
        charge()
    assert refused.value.code == "no_exchange_rate"
    assert not PremiumLedgerEntry.objects.filter(kind=Kind.REFUND_CAMPAIGN).exists()
    rate("EUR", "USD", "1.10")
    entry = charge()
    assert (entry.amount, entry.source_amount, entry.source_currency) == (
        Decimal("-5500.00"),
        Decimal("5000.00"),
        "EUR",
    )
    assert charge().pk == entry.pk
    assert services.statement_balance(stmt) == Decimal("4500.00")


@pytest.mark.django_db
def test_deductions_beyond_the_revenue_leave_the_client_owing_and_nothing_paid(client, staff):
    stmt = statement(client, staff)
    receipt(stmt, staff, "20.00")
    services.premium_chargeback_record(
        statement=stmt,
        amount="30.00",
        fee="",
        occurred_on=dt.date(2027, 5, 20),
        end_user_reference="tx 1",
        acting_user=staff,
        idempotency_key=key(),
    )
    issued(stmt, staff)
    summary = selectors.statement_summary(stmt)
    assert (summary.available, summary.owed_by_client) == (Decimal("0"), Decimal("10.00"))
    with pytest.raises(ValidationFailed):
        payout(stmt, staff, "0.01")


# --- The right of offset --------------------------------------------------------------------
@pytest.mark.django_db
def test_an_offset_pays_the_open_invoice_and_reduces_the_payout(client, staff):
    # given 1,000.00 received and an open invoice of 300.00
    stmt = statement(client, staff)
    receipt(stmt, staff, "1000.00")
    issued(stmt, staff)
    bill = invoice(client, dt.date(2027, 5, 31), "300.00")

    # when 300.00 is offset against it
    entry = services.premium_offset_record(
        statement=stmt, invoice=bill, amount="300.00", acting_user=staff, idempotency_key="off-1"
    )

    # then the invoice is paid by a set-off, and 700.00 is left to pay out
    bill.refresh_from_db()
    assert bill.status == Invoice.Status.PAID
    set_off = SetOff.objects.get()
    assert (set_off.source, set_off.premium_statement, set_off.amount) == (
        SetOff.Source.PREMIUM_REVENUE,
        stmt,
        Decimal("300.00"),
    )
    assert entry.set_off == set_off and entry.amount == Decimal("-300.00")
    assert selectors.statement_summary(stmt).offsets == Decimal("300.00")
    # the same request again records it once
    services.premium_offset_record(
        statement=stmt, invoice=bill, amount="300.00", acting_user=staff, idempotency_key="off-1"
    )
    assert SetOff.objects.count() == 1
    with pytest.raises(ValidationFailed):
        payout(stmt, staff, "700.01")
    payout(stmt, staff, "700.00")


@pytest.mark.django_db
def test_an_offset_is_never_more_than_the_invoice_owes_or_the_statement_holds(client, staff, cx):
    stmt = statement(client, staff)
    receipt(stmt, staff, "100.00")
    issued(stmt, staff)
    bill = invoice(client, dt.date(2027, 5, 31), "300.00")

    def offset(amount, target=bill):
        return services.premium_offset_record(
            statement=stmt, invoice=target, amount=amount, acting_user=staff, idempotency_key=key()
        )

    with pytest.raises(ValidationFailed) as refused:
        offset("100.01")
    assert refused.value.field == "amount"
    small = invoice(client, dt.date(2027, 5, 31), "40.00")
    with pytest.raises(ValidationFailed) as refused:
        offset("40.01", small)
    assert "still owes 40.00" in refused.value.message
    with pytest.raises(NotAllowed):
        offset("10.00", invoice(company(cx), dt.date(2027, 5, 31), "40.00"))
    with pytest.raises(ValidationFailed) as refused:
        offset("10.00", invoice(client, dt.date(2027, 5, 31), "40.00", currency="EUR"))
    assert refused.value.field == "invoice"
    assert not SetOff.objects.exists() and services.statement_balance(stmt) == Decimal("100.00")
    offset("100.00")
    bill.refresh_from_db()
    assert bill.status == Invoice.Status.PARTLY_PAID


@pytest.mark.django_db
def test_premium_revenue_is_not_a_source_of_the_manual_set_off(client, staff):
    from billing.invoicing.services.set_offs import set_off_record

    bill = invoice(client, dt.date(2027, 5, 31), "300.00")
    with pytest.raises(ValidationFailed) as refused:
        set_off_record(
            client=client,
            source=SetOff.Source.PREMIUM_REVENUE,
            source_obj=None,
            invoice=bill,
            amount="1.00",
            acting_user=staff,
            idempotency_key=key(),
        )
    assert refused.value.field == "source"


# --- Payment disputes within 10 days, with documents ------------------------------------------
def _dispute(stmt, admin, at, documents=None):
    return services.premium_dispute_raise(
        statement=stmt,
        reason="KPN's report shows 1,200.00 paid, not 600.00",
        documents=[pdf()] if documents is None else documents,
        acting_user=admin,
        now=at,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "issued_at, last_moment",
    [
        # issued 1 June: day 10 is 11 June (calendar days)
        (dt.datetime(2027, 6, 1, 11, tzinfo=AMS), dt.datetime(2027, 6, 11, 23, 59, 59, tzinfo=AMS)),
        # issued the Wednesday before King's Day (27 April) and a weekend: still 10 days, not
        # working days — day 10 is 1 May
        (dt.datetime(2027, 4, 21, 16, tzinfo=AMS), dt.datetime(2027, 5, 1, 23, 59, 59, tzinfo=AMS)),
    ],
)
def test_a_dispute_on_day_10_is_admitted_and_on_day_11_refused(
    client, staff, issued_at, last_moment
):
    admin = ClientAdminFactory(client=client)
    stmt = statement(client, staff, start=dt.date(2027, 3, 1), end=dt.date(2027, 3, 31))
    issued(stmt, staff, at=issued_at)
    stmt.refresh_from_db()
    assert stmt.dispute_deadline == last_moment + dt.timedelta(microseconds=999999)

    # day 11, the first moment after the deadline: refused with a clear message, nothing kept
    with pytest.raises(ApplicationError) as refused:
        _dispute(stmt, admin, last_moment + dt.timedelta(seconds=1))
    assert refused.value.code == "dispute_too_late"
    assert "within 10 days" in refused.value.message
    assert last_moment.date().isoformat() in refused.value.message
    assert not PremiumDispute.objects.exists()

    # day 10, at its last second: admitted, with its document
    dispute = _dispute(stmt, admin, last_moment)
    assert dispute.status == PremiumDispute.Status.OPEN
    assert dispute.documents.count() == 1


@pytest.mark.django_db
def test_a_dispute_needs_supporting_documents_of_an_accepted_type(client, staff, now):
    admin = ClientAdminFactory(client=client)
    stmt = statement(client, staff)
    with pytest.raises(ApplicationError) as refused:
        _dispute(stmt, admin, None)
    assert refused.value.code == "statement_not_issued"
    issued(stmt, staff)
    with pytest.raises(ValidationFailed) as refused:
        _dispute(stmt, admin, None, documents=[])
    assert refused.value.field == "documents"
    with pytest.raises(ValidationFailed) as refused:
        _dispute(stmt, admin, None, documents=[ContentFile(b"<html>", name="proof.pdf")])
    assert refused.value.field == "documents"
    assert not PremiumDispute.objects.exists()


@pytest.mark.django_db
def test_staff_answer_a_dispute_once(client, staff, now):
    admin = ClientAdminFactory(client=client)
    stmt = statement(client, staff)
    issued(stmt, staff)
    dispute = _dispute(stmt, admin, None)
    services.premium_dispute_resolve(
        dispute=dispute, upheld=True, resolution="Corrected receipt follows", acting_user=staff
    )
    dispute.refresh_from_db()
    assert dispute.status == PremiumDispute.Status.UPHELD
    with pytest.raises(Conflict):
        services.premium_dispute_resolve(
            dispute=dispute, upheld=False, resolution="No", acting_user=staff
        )


# --- Advance notice of changes to end-user services ------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("lead_days", [1, 14])
def test_a_service_change_is_notified_at_least_the_lead_time_in_advance(client, now, lead_days):
    client.provider.premium_change_notice_days = lead_days
    client.provider.save()
    admin = ClientAdminFactory(client=client)
    today = dt.date(2027, 6, 1)  # the clock: 1 June 2027, 11:00 in Amsterdam

    def notify(day):
        return services.premium_service_change_notify(
            client=client,
            service="Short code 4411, keyword WEER",
            change="Price per message from €0.50 to €1.00",
            effective_on=day,
            acting_user=admin,
        )

    with pytest.raises(ValidationFailed) as refused:
        notify(today + dt.timedelta(days=lead_days - 1))
    assert refused.value.field == "effective_on" and "in advance" in refused.value.message
    assert not PremiumServiceChange.objects.exists()
    notice = notify(today + dt.timedelta(days=lead_days))
    assert notice.notice_days == lead_days


@pytest.mark.django_db
def test_a_cm_client_cannot_notify_a_premium_service_change(cm, now):
    client = company(cm)
    with pytest.raises(ValidationFailed):
        services.premium_service_change_notify(
            client=client,
            service="x",
            change="y",
            effective_on=dt.date(2027, 7, 1),
            acting_user=ClientAdminFactory(client=client),
        )

"""Costs the client bears (art. 7.3, 21.5.2, 21.6, 21.7.2; issue 12 §4): recorded by accounts and
data processing, billed by billing through portal/'s wiring, once per source; on the next
monthly invoice for a postpaid client, as an invoice of its own for a prepaid one."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import services as account_services
from accounts.kernel.errors import ValidationFailed
from accounts.models import Suspension
from billing.invoicing.services import usage_invoices
from billing.invoicing.services.recharges import SourceRef, record_recharge
from billing.models import Invoice, Recharge
from dataprocessing.models import AssistanceRequest, AuditRequest, DataSubjectRequest
from dataprocessing.services import assistance, audits, dsrs
from tests.billing.factories import prepaid_client
from tests.billing.invoicing.factories import D, amsterdam, company, usage
from tests.dataprocessing.factories import AuditRequestFactory, DataSubjectRequestFactory

pytestmark = pytest.mark.django_db


def _dsr_completed(client, officer, cost):
    dsr = DataSubjectRequestFactory(client=client, status=DataSubjectRequest.Status.IN_PROGRESS)
    return dsrs.dsr_record_action(
        dsr=dsr, action_taken="Erased.", acting_user=officer, assistance_cost=cost
    )


def _run_march(clock):
    clock.set(amsterdam(2026, 4, 1, 3))
    return usage_invoices.invoice_usage(period="2026-03", now=clock.moment)


def test_a_recharged_dsr_cost_appears_on_the_next_postpaid_invoice_with_its_source(
    cm, compliance_officer, clock
):
    # given a postpaid client with March usage and a DSR whose assistance cost 120
    client = company(cm)
    usage(client, amsterdam(2026, 3, 10, 12), messages=100, amount="5.00")
    clock.set(amsterdam(2026, 3, 20, 12))
    dsr = _dsr_completed(client, compliance_officer, "120.00")

    # then it waits, pending, for the next invoice
    [recharge] = Recharge.objects.filter(client=client)
    assert recharge.status == Recharge.Status.PENDING and recharge.invoice is None
    assert (recharge.kind, recharge.source_kind, recharge.source_id) == (
        Recharge.Kind.DSR_ASSISTANCE,
        "dataprocessing.dsr",
        str(dsr.pk),
    )
    assert not Invoice.objects.filter(client=client).exists()

    # when March is invoiced
    assert _run_march(clock)["invoiced"] == 1

    # then the DSR cost is a line of it, with its source and article, at the client's VAT rate
    invoice = Invoice.objects.get(client=client, source_key__startswith="usage:")
    recharge.refresh_from_db()
    assert recharge.status == Recharge.Status.INVOICED and recharge.invoice == invoice
    line = recharge.invoice_line
    assert line.invoice == invoice and line.amount == Decimal("120.00")
    assert str(dsr.request_id) in line.description and "art. 21.5.2" in line.description
    assert line.vat_rate == cm.default_vat_rate
    assert invoice.subtotal == Decimal("125.00")

    # a second run bills nothing twice
    assert _run_march(clock)["invoiced"] == 0
    assert Invoice.objects.filter(client=client).count() == 1


def test_a_recharge_alone_is_invoiced_in_the_monthly_run_and_a_later_one_waits(
    cm, compliance_officer, clock
):
    client = company(cm)
    clock.set(amsterdam(2026, 3, 20, 12))
    _dsr_completed(client, compliance_officer, "40.00")
    clock.set(amsterdam(2026, 4, 1, 2))  # recorded after March ended: April's invoice
    _dsr_completed(client, compliance_officer, "15.00")

    assert _run_march(clock)["invoiced"] == 1
    invoice = Invoice.objects.get(client=client)
    assert invoice.subtotal == Decimal("40.00")
    assert Recharge.objects.filter(client=client, status=Recharge.Status.PENDING).count() == 1


def test_a_dsr_without_a_cost_is_not_recharged(cm, compliance_officer, clock):
    client = company(cm)
    _dsr_completed(client, compliance_officer, "0")
    assert not Recharge.objects.exists()


def test_a_prepaid_clients_audit_time_becomes_an_amount_due(cm, compliance_officer, clock):
    # given a prepaid client's audit at an agreed 150 an hour, its report shared
    client = prepaid_client(cm)
    audit = AuditRequestFactory(
        client=client,
        status=AuditRequest.Status.REPORT_SHARED,
        reimbursement_rate=Decimal("150.00"),
        reimbursement_currency="CNY",
    )

    # when it is completed after 6.5 hours of the provider's time
    audits.audit_complete(audit=audit, acting_user=compliance_officer, hours_spent="6.50")

    # then 975 is owed on an invoice of its own, issued and due after the payment term
    audit.refresh_from_db()
    assert audit.hours_spent == Decimal("6.50")
    [recharge] = Recharge.objects.filter(client=client)
    assert recharge.kind == Recharge.Kind.AUDIT_TIME and recharge.amount == Decimal("975.00")
    invoice = recharge.invoice
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert invoice.subtotal == Decimal("975.00")
    assert invoice.due_date == invoice.invoice_date + dt.timedelta(days=cm.payment_term_days)
    assert f"audit #{audit.pk}" in recharge.invoice_line.description
    assert "art. 21.7.2" in recharge.invoice_line.description


def test_an_information_request_has_no_time_to_reimburse(cm, compliance_officer, clock):
    client = prepaid_client(cm)
    info = AuditRequestFactory(client=client, kind=AuditRequest.Kind.INFORMATION)
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_complete(audit=info, acting_user=compliance_officer, hours_spent="2")
    assert exc.value.field == "hours_spent"
    info.refresh_from_db()
    assert info.status == AuditRequest.Status.REQUESTED and not Recharge.objects.exists()


def test_negative_hours_are_refused_naming_the_field(cm, compliance_officer, clock):
    audit = AuditRequestFactory(
        client=company(cm), status=AuditRequest.Status.REPORT_SHARED, reimbursement_rate=10
    )
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_complete(audit=audit, acting_user=compliance_officer, hours_spent="-1")
    assert exc.value.field == "hours_spent" and exc.value.article == "21.7.2"
    audit.refresh_from_db()
    assert audit.status == AuditRequest.Status.REPORT_SHARED


def test_completed_impact_assessment_assistance_is_recharged(cm, compliance_officer, clock):
    client = company(cm)
    request = AssistanceRequest.objects.create(
        client=client, kind="dpia", description="DPIA for OTP", requested_by=compliance_officer
    )
    assistance.assistance_request_update(
        assistance_request=request,
        acting_user=compliance_officer,
        status="completed",
        outcome="Information provided.",
        cost="300",
    )
    [recharge] = Recharge.objects.filter(client=client)
    assert recharge.kind == Recharge.Kind.COMPLIANCE_ASSISTANCE
    assert (recharge.source_kind, recharge.amount) == ("dataprocessing.assistance", Decimal("300"))


def test_a_resumption_with_activation_costs_recharges_them(cm, billing_staff, clock):
    # given a prepaid client suspended for breach
    client = prepaid_client(cm)
    account_services.client_suspend(
        client=client, cause=Suspension.Cause.BREACH, reason="Spam.", acting_user=billing_staff
    )

    # when staff resume it with 80 of activation costs (art. 7.3)
    account_services.client_resume(
        client=client, acting_user=billing_staff, reason="Fixed.", activation_cost="80.00"
    )

    # then the suspension keeps them and the client owes them on an invoice of its own
    suspension = Suspension.objects.get(client=client)
    assert (suspension.activation_cost, suspension.activation_cost_currency) == (
        Decimal("80.00"),
        "CNY",
    )
    [recharge] = Recharge.objects.filter(client=client)
    assert recharge.kind == Recharge.Kind.ACTIVATION
    assert (recharge.source_kind, recharge.source_id) == ("accounts.suspension", str(suspension.pk))
    assert recharge.invoice.total == Decimal("80.00") * (1 + cm.default_vat_rate / 100)
    assert "art. 7.3" in recharge.invoice_line.description


def test_a_resumption_without_activation_costs_bills_nothing(cm, billing_staff, clock):
    client = company(cm)
    account_services.client_suspend(
        client=client, cause=Suspension.Cause.BREACH, reason="Spam.", acting_user=billing_staff
    )
    account_services.client_resume(client=client, acting_user=billing_staff, reason="Fixed.")
    assert not Recharge.objects.exists()


def test_negative_activation_costs_are_refused_and_the_client_stays_suspended(
    cm, billing_staff, clock
):
    client = company(cm)
    account_services.client_suspend(
        client=client, cause=Suspension.Cause.BREACH, reason="Spam.", acting_user=billing_staff
    )
    with pytest.raises(ValidationFailed) as exc:
        account_services.client_resume(
            client=client, acting_user=billing_staff, reason="Fixed.", activation_cost="-5"
        )
    assert exc.value.field == "activation_cost"
    assert Suspension.objects.get(client=client).ended_at is None


def test_billing_the_same_source_twice_makes_one_line(cm, clock):
    client = prepaid_client(cm)
    first = record_recharge(
        client, "audit_time", "100.00", SourceRef("dataprocessing.audit", 7), description="audit #7"
    )
    again = record_recharge(
        client, "audit_time", "100.00", SourceRef("dataprocessing.audit", 7), description="audit #7"
    )
    assert first == again and Recharge.objects.count() == 1
    assert Invoice.objects.filter(client=client).count() == 1


def test_an_unknown_kind_or_a_negative_amount_is_refused(cm, clock):
    client = company(cm)
    with pytest.raises(ValidationFailed) as exc:
        record_recharge(client, "lunch", "1", SourceRef("x", 1), description="")
    assert exc.value.field == "kind"
    with pytest.raises(ValidationFailed) as exc:
        record_recharge(client, "activation", "-1", SourceRef("x", 1), description="")
    assert exc.value.field == "amount"
    assert not Recharge.objects.exists()
    assert D(2026, 3, 2) == clock.moment.date()


# --- pages and API ------------------------------------------------------------------------
def _two_clients_with_recharges(cm):
    from tests.billing.invoicing.factories import admin_of

    mine, theirs = company(cm), company(cm)
    record_recharge(
        mine, "activation", "11.00", SourceRef("accounts.suspension", 1), description="mine"
    )
    record_recharge(
        theirs, "activation", "22.00", SourceRef("accounts.suspension", 2), description="theirs"
    )
    return mine, admin_of(mine), theirs


def test_the_client_sees_its_own_recharges_on_its_invoice_pages_and_staff_see_them(
    cm, as_user, billing_staff, clock
):
    mine, admin, theirs = _two_clients_with_recharges(cm)

    page = as_user(admin).get("/billing/recharges/")
    text = page.content.decode()
    assert page.status_code == 200 and "mine" in text and "theirs" not in text
    assert "/billing/recharges/" in as_user(admin).get("/billing/invoices/").content.decode()

    staff_page = as_user(billing_staff).get(f"/billing/recharges/?client={theirs.pk}")
    assert "theirs" in staff_page.content.decode() and "mine" not in staff_page.content.decode()


def test_the_api_lists_the_clients_recharges_with_their_source(cm, api, billing_staff, clock):
    mine, admin, theirs = _two_clients_with_recharges(cm)

    rows = api(admin).get("/api/v1/recharges/").json()["results"]
    assert [(r["description"], r["source_kind"], r["article"], r["status"]) for r in rows] == [
        ("mine", "accounts.suspension", "7.3", "pending")
    ]
    assert len(api(billing_staff).get("/api/v1/recharges/?status=pending").json()["results"]) == 2
    assert api(admin).get("/api/v1/recharges/?status=nope").status_code == 400


def test_staff_complete_an_audit_with_its_hours_through_the_api(cm, api, compliance_officer, clock):
    client = prepaid_client(cm)
    audit = AuditRequestFactory(
        client=client,
        status=AuditRequest.Status.REPORT_SHARED,
        reimbursement_rate=Decimal("100.00"),
        reimbursement_currency="CNY",
    )
    answer = api(compliance_officer).post(
        f"/api/v1/audit-requests/{audit.pk}/complete/", {"hours_spent": "2.5"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["hours_spent"] == "2.50"
    assert Recharge.objects.get(client=client).amount == Decimal("250.00")

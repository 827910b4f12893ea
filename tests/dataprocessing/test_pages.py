"""The data-processing pages (issue 5, section 8): the compliance dashboard, queues, register,
breach countdown, records with CSV and PDF; role refusals and 404 for another client's ids."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dataprocessing import services
from dataprocessing.models import (
    AuditRequest,
    BreachNotification,
    DataSubjectRequest,
    SubProcessorObjection,
)
from tests.dataprocessing.test_api import breach, dsr, information_request, record, register

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"dataprocessing:{name}", args=args)


# --- Compliance dashboard ------------------------------------------------------------------
def test_the_staff_dashboard_links_the_compliance_dashboard(as_user, compliance_officer):
    page = as_user(compliance_officer).get("/")

    assert url("home") in page.content.decode()


def test_the_compliance_dashboard_lists_every_open_item_with_its_deadline_unit(
    as_user, compliance_officer, client_admin, client_company, cm
):
    information_request(client_company, client_admin)
    dsr(client_company, compliance_officer)
    breach(cm, compliance_officer, client_company)
    services.assistance_request_log(
        client=client_company, kind="dpia", description="x", acting_user=client_admin
    )

    page = as_user(compliance_officer).get(url("home"))

    html = page.content.decode()
    assert page.status_code == 200
    for label in ("Audit request", "Data-subject request", "Breach notice", "Assistance request"):
        assert label in html
    assert " days" in html
    assert "h " in html and "min left" in html  # the breach countdown, in hours


def test_dsrs_due_within_five_days_are_highlighted(as_user, compliance_officer, client_company):
    soon = dsr(client_company, compliance_officer)
    DataSubjectRequest.objects.filter(pk=soon.pk).update(
        due_at=timezone.now() + dt.timedelta(days=3)
    )
    dsr(client_company, compliance_officer)  # due in a month

    page = as_user(compliance_officer).get(url("home"))
    queue = as_user(compliance_officer).get(url("dsrs"), {"due_soon": "on"})

    assert page.context["due_soon"] == 1
    assert "Due within 5 days" in page.content.decode()
    assert [d.pk for d in queue.context["dsrs"]] == [soon.pk]
    assert "due-soon" in queue.content.decode()


def test_audits_show_working_days_left_on_the_dashboard(
    as_user, compliance_officer, client_admin, client_company
):
    services.audit_request(
        client=client_company,
        kind="audit",
        acting_user=client_admin,
        proposed_start=timezone.localdate() + dt.timedelta(days=40),
        auditor_name="Jan",
        auditor_accredited=True,
        auditor_not_competitor=True,
    )

    page = as_user(compliance_officer).get(url("home"), {"kind": "audit"})

    assert "working days" in page.content.decode()
    assert [i["kind"] for i in page.context["items"]] == ["audit"]


def test_a_client_user_gets_its_own_overview_not_the_compliance_dashboard(as_user, client_viewer):
    page = as_user(client_viewer).get(url("home"))

    assert page.status_code == 200
    assert "Compliance dashboard" not in page.content.decode()


# --- Audits --------------------------------------------------------------------------------
def test_a_client_admin_requests_an_audit_from_the_page(as_user, client_admin):
    start = timezone.localdate() + dt.timedelta(days=40)
    response = as_user(client_admin).post(
        url("audits"),
        {
            "kind": "audit",
            "proposed_start": start.isoformat(),
            "auditor_name": "Jan Jansen",
            "auditor_firm": "Audit BV",
            "auditor_accredited": "on",
            "auditor_not_competitor": "on",
        },
    )

    assert response.status_code == 302
    audit = AuditRequest.objects.get()
    assert audit.client == client_admin.client and audit.proposed_start == start


def test_an_audit_without_the_declarations_is_refused_on_the_fields(as_user, client_admin):
    response = as_user(client_admin).post(
        url("audits"),
        {
            "kind": "audit",
            "proposed_start": (timezone.localdate() + dt.timedelta(days=40)).isoformat(),
            "auditor_name": "Jan",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert "auditor_accredited" in form.errors and "auditor_not_competitor" in form.errors
    assert not AuditRequest.objects.exists()


def test_a_compliance_officer_refuses_an_audit_from_its_page(
    as_user, compliance_officer, client_admin, client_company
):
    audit = information_request(client_company, client_admin)

    response = as_user(compliance_officer).post(
        url("audit_action", audit.pk, "refuse"), {"refuse-reason": "Competitor"}
    )

    assert response.status_code == 302
    audit.refresh_from_db()
    assert audit.status == "refused" and audit.refusal_reason == "Competitor"


def test_a_client_admin_may_not_start_or_refuse_an_audit(as_user, client_admin, client_company):
    audit = information_request(client_company, client_admin)
    c = as_user(client_admin)

    assert c.post(url("audit_action", audit.pk, "complete")).status_code == 403
    assert (
        c.post(url("audit_action", audit.pk, "refuse"), {"refuse-reason": "x"}).status_code == 403
    )
    audit.refresh_from_db()
    assert audit.status == "requested"


def test_audit_detail_shows_the_history(as_user, client_admin, client_company):
    audit = information_request(client_company, client_admin)

    page = as_user(client_admin).get(url("audit_detail", audit.pk))

    assert page.status_code == 200
    assert client_admin.email in page.content.decode()


# --- DSRs ----------------------------------------------------------------------------------
def test_a_compliance_officer_logs_a_dsr_and_the_client_instructs(
    as_user, compliance_officer, client_admin, client_company, mailoutbox
):
    response = as_user(compliance_officer).post(
        url("dsrs"),
        {"client": client_company.pk, "type": "erasure", "subject_reference": "+8613800000001"},
    )
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.received_by == "provider" and request.logged_by == compliance_officer

    instructed = as_user(client_admin).post(
        url("dsr_action", request.pk, "instruct"), {"instruct-instruction": "delete"}
    )

    assert instructed.status_code == 302
    request.refresh_from_db()
    assert request.status == "in_progress" and request.instruction == "delete"


def test_a_client_files_a_dsr_for_itself_only(as_user, client_admin):
    response = as_user(client_admin).post(
        url("dsrs"), {"type": "access", "subject_reference": "cust-7"}
    )

    assert response.status_code == 302
    assert DataSubjectRequest.objects.get().client == client_admin.client


def test_a_client_admin_may_not_record_the_providers_action(
    as_user, client_admin, compliance_officer, client_company
):
    request = dsr(client_company, compliance_officer)

    response = as_user(client_admin).post(
        url("dsr_action", request.pk, "record-action"), {"record_action-action_taken": "x"}
    )

    assert response.status_code == 403


def test_an_unknown_action_is_404(as_user, compliance_officer, client_company):
    request = dsr(client_company, compliance_officer)

    assert (
        as_user(compliance_officer).post(url("dsr_action", request.pk, "explode")).status_code
        == 404
    )


# --- Sub-processors ------------------------------------------------------------------------
def test_the_register_shows_history_and_a_client_objects_from_the_list(
    as_user, compliance_officer, client_admin, cm
):
    current = register(cm, compliance_officer)
    future = register(cm, compliance_officer, name="Future Host", active=False)
    change = services.sub_processor_change_announce(
        provider=cm, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    detail = as_user(compliance_officer).get(url("sub_processor_detail", current.pk))
    client_list = as_user(client_admin).get(url("sub_processors"))
    objected = as_user(client_admin).post(
        url("sub_processor_object", change.pk), {"reason": "Outside our region"}
    )

    assert detail.status_code == 200 and compliance_officer.email in detail.content.decode()
    html = client_list.content.decode()
    assert current.name in html and "Object to this change" in html
    assert [s.pk for s in client_list.context["sub_processors"]] == [current.pk]
    assert objected.status_code == 302
    assert SubProcessorObjection.objects.get().reason == "Outside our region"


def test_a_compliance_officer_registers_a_sub_processor_and_the_safeguard_rule_shows(
    as_user, compliance_officer, cm
):
    data = {
        "register-provider": cm.pk,
        "register-name": "Offshore Inc",
        "register-kind": "third_party",
        "register-country": "US",
        "register-services": "Storage",
        "register-agreement_date": "2024-01-01",
        "register-safeguard": "",
    }
    c = as_user(compliance_officer)

    refused = c.post(url("sub_processor_register"), data)
    data["register-safeguard"] = "scc"
    accepted = c.post(url("sub_processor_register"), data)

    assert refused.status_code == 400
    assert "safeguard" in refused.context["register_form"].errors
    assert accepted.status_code == 302


def test_client_users_may_not_register_sub_processors(as_user, client_admin):
    assert as_user(client_admin).post(url("sub_processor_register"), {}).status_code == 403


# --- Breaches ------------------------------------------------------------------------------
def test_the_breach_page_counts_down_each_clients_48_hours_and_notifies(
    as_user, compliance_officer, cm, client_company, other_company
):
    b = breach(cm, compliance_officer, client_company, other_company)  # detected two hours ago
    c = as_user(compliance_officer)

    page = c.get(url("breach_detail", b.pk))
    html = page.content.decode()
    notice = b.notifications.get(client=client_company)
    sent = c.post(
        url("breach_notify", b.pk, notice.pk), {f"notify_{notice.pk}-message": "We lost a log."}
    )

    assert page.status_code == 200
    assert html.count("45 h ") == 2 or html.count("46 h ") == 2
    assert "Send notice to the client" in html
    assert sent.status_code == 302
    notice.refresh_from_db()
    assert notice.notified_at and notice.message == "We lost a log."


def test_a_missed_breach_deadline_shows_overdue(as_user, compliance_officer, cm, client_company):
    b = breach(cm, compliance_officer, client_company)
    BreachNotification.objects.filter(breach=b).update(
        deadline=timezone.now() - dt.timedelta(hours=3)
    )

    html = as_user(compliance_officer).get(url("breach_detail", b.pk)).content.decode()

    assert "overdue by 3 h" in html or "overdue by 2 h" in html
    assert "Missed" in html


def test_clients_see_breach_notices_not_the_staff_breach_pages(
    as_user, client_admin, compliance_officer, cm, client_company, other_company
):
    b = breach(cm, compliance_officer, client_company, other_company)
    mine = b.notifications.get(client=client_company)
    services.breach_notify_client(
        notification=mine, message="Notice to you", acting_user=compliance_officer
    )
    c = as_user(client_admin)

    listing = c.get(url("breaches"))
    detail = c.get(url("breach_notice_detail", mine.pk))

    assert c.get(url("breach_detail", b.pk)).status_code == 403
    assert listing.status_code == 200 and [n.pk for n in listing.context["notices"]] == [mine.pk]
    assert "Notice to you" in detail.content.decode()
    assert other_company.legal_name not in listing.content.decode() + detail.content.decode()


def test_a_compliance_officer_logs_a_breach_from_the_page(
    as_user, compliance_officer, cm, client_company
):
    detected = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = as_user(compliance_officer).post(
        url("breaches"),
        {
            "breach-provider": cm.pk,
            "breach-detected_at": detected,
            "breach-description": "Leak",
            "breach-data_types": "numbers",
            "breach-approx_subjects": "5",
            "breach-measures": "Fixed",
            "breach-clients": [client_company.pk],
        },
    )

    assert response.status_code == 302
    assert BreachNotification.objects.get().client == client_company


# --- Records -------------------------------------------------------------------------------
def test_a_record_is_exported_as_csv_and_pdf(as_user, compliance_officer, client_company, cm):
    record(client_company, compliance_officer)
    register(cm, compliance_officer, name="深圳云服务有限公司", country="CN", safeguard="scc")
    c = as_user(compliance_officer)

    csv_response = c.get(url("record_csv", client_company.pk))
    pdf_response = c.get(url("record_pdf", client_company.pk))

    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert "深圳云服务有限公司" in csv_response.content.decode()
    assert pdf_response.status_code == 200
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response.content.startswith(b"%PDF")


def test_a_compliance_officer_keeps_a_record_from_the_page(
    as_user, compliance_officer, client_company
):
    data = {
        "subject_categories": "Customers",
        "data_types": "Phone numbers",
        "purposes": "Messaging",
        "transfers": "",
        "retention": "",
        "toms_reference": "art. 21.2",
    }
    c = as_user(compliance_officer)

    refused = c.post(url("record_detail", client_company.pk), data)
    data["retention"] = "90 days"
    saved = c.post(url("record_detail", client_company.pk), data)

    assert refused.status_code == 400
    assert saved.status_code == 302
    assert client_company.processing_record.retention == "90 days"


def test_a_client_user_sees_its_own_record_but_may_not_edit(
    as_user, client_viewer, compliance_officer, client_company
):
    record(client_company, compliance_officer)
    c = as_user(client_viewer)

    assert c.get(url("records")).url == url("record_detail", client_company.pk)
    assert c.get(url("record_detail", client_company.pk)).status_code == 200
    assert c.post(url("record_detail", client_company.pk), {}).status_code == 403


# --- Assistance ----------------------------------------------------------------------------
def test_a_client_asks_for_assistance_and_staff_complete_it(
    as_user, client_admin, compliance_officer
):
    created = as_user(client_admin).post(
        url("assistance"), {"kind": "dpia", "description": "Help with a DPIA"}
    )
    assert created.status_code == 302
    from dataprocessing.models import AssistanceRequest

    request = AssistanceRequest.objects.get()
    done = as_user(compliance_officer).post(
        url("assistance_detail", request.pk),
        {"status": "completed", "outcome": "Sent our DPIA input", "cost": "50"},
    )

    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == "completed"


# --- Role refusals and tenant isolation ----------------------------------------------------
@pytest.fixture
def theirs(other_company, other_admin, compliance_officer, cm, cx):
    b = breach(cm, compliance_officer, other_company)
    notice = b.notifications.get()
    services.breach_notify_client(notification=notice, message="x", acting_user=compliance_officer)
    return {
        "audit": information_request(other_company, other_admin).pk,
        "dsr": dsr(other_company, compliance_officer).pk,
        "notice": notice.pk,
        "client": other_company.pk,
        "assistance": services.assistance_request_log(
            client=other_company, kind="dpia", description="theirs", acting_user=other_admin
        ).pk,
        "sub_processor": register(cx, compliance_officer, name="CX host").pk,
    }


@pytest.mark.parametrize(
    "name, key, extra",
    [
        ("audit_detail", "audit", ()),
        ("audit_action", "audit", ("cancel",)),
        ("audit_action", "audit", ("agree",)),
        ("dsr_detail", "dsr", ()),
        ("dsr_action", "dsr", ("instruct",)),
        ("dsr_action", "dsr", ("cancel",)),
        ("breach_notice_detail", "notice", ()),
        ("record_detail", "client", ()),
        ("record_csv", "client", ()),
        ("record_pdf", "client", ()),
        ("assistance_detail", "assistance", ()),
        ("sub_processor_detail", "sub_processor", ()),
    ],
)
def test_every_page_answers_404_for_another_clients_id(
    as_user, client_admin, theirs, name, key, extra
):
    c = as_user(client_admin)
    target = url(name, theirs[key], *extra)
    missing = url(name, 987654321, *extra)

    for method in ("get", "post"):
        response = getattr(c, method)(target)
        assert response.status_code in (404, 405), (method, target, response.status_code)
        assert response.status_code == getattr(c, method)(missing).status_code
    assert c.get(target).status_code in (404, 405)


def test_staff_only_pages_refuse_client_users(
    as_user, client_admin, compliance_officer, cm, client_company
):
    b = breach(cm, compliance_officer, client_company)
    c = as_user(client_admin)

    assert c.get(url("breach_detail", b.pk)).status_code == 403
    assert c.post(url("breach_close", b.pk)).status_code == 403
    assert c.post(url("sub_processor_announce")).status_code == 403


def test_another_providers_change_cannot_be_objected_to(
    as_user, client_admin, compliance_officer, cx
):
    future = register(cx, compliance_officer, active=False)
    change = services.sub_processor_change_announce(
        provider=cx, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    assert (
        as_user(client_admin)
        .post(url("sub_processor_object", change.pk), {"reason": "x"})
        .status_code
        == 404
    )


def test_lists_show_only_the_clients_own_rows(
    as_user, client_admin, compliance_officer, theirs, client_company
):
    mine = dsr(client_company, compliance_officer)
    c = as_user(client_admin)

    assert [d.pk for d in c.get(url("dsrs")).context["dsrs"]] == [mine.pk]
    assert list(c.get(url("audits")).context["audits"]) == []
    assert list(c.get(url("assistance")).context["requests"]) == []
    assert "theirs" not in c.get(url("assistance")).content.decode()


def test_breach_times_on_the_page_are_the_providers_local_time(as_user, compliance_officer, cx):
    """A Friday-evening detection in Amsterdam is entered as 19:00, not converted by hand to UTC."""
    from zoneinfo import ZoneInfo

    from tests.accounts.factories import ClientFactory

    affected = ClientFactory(provider=cx)
    response = as_user(compliance_officer).post(
        url("breaches"),
        {
            "breach-provider": cx.pk,
            "breach-detected_at": "2026-11-20T19:00",
            "breach-description": "Leak",
            "breach-data_types": "numbers",
            "breach-approx_subjects": "5",
            "breach-measures": "Fixed",
            "breach-clients": [affected.pk],
        },
    )

    assert response.status_code == 302
    notice = BreachNotification.objects.get(client=affected)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    assert notice.breach.detected_at == dt.datetime(2026, 11, 20, 19, 0, tzinfo=amsterdam)
    assert notice.deadline == dt.datetime(2026, 11, 22, 19, 0, tzinfo=amsterdam)

"""The data-processing API (issue 5, section 8): happy paths, role refusals, the OpenDSR shape,
CSV export, the schema, and tenant isolation on every route that takes an id."""

import base64
import datetime as dt
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from dataprocessing import services
from dataprocessing.models import (
    AuditRequest,
    BreachNotification,
    DataSubjectRequest,
    SubProcessorChange,
    SubProcessorObjection,
)

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------
def register(cm, officer, name="Acme Cloud BV", country="NL", active=True, **extra):
    return services.sub_processor_register(
        provider=cm,
        acting_user=officer,
        name=name,
        kind="third_party",
        country=country,
        services="Hosting",
        agreement_date=dt.date(2024, 1, 1),
        active_from=dt.date(2024, 1, 2) if active else None,
        **extra,
    )


def information_request(client, admin):
    return services.audit_request(
        client=client, kind=AuditRequest.Kind.INFORMATION, acting_user=admin
    )


def dsr(client, officer, **extra):
    return services.dsr_receive(
        client=client,
        type="erasure",
        received_by="provider",
        subject_reference="+8613800000000",
        acting_user=officer,
        **extra,
    )


def breach(cm, officer, *clients):
    return services.breach_log(
        provider=cm,
        detected_at=timezone.now() - dt.timedelta(hours=2),
        description="Misdirected export",
        data_types="phone numbers",
        approx_subjects=120,
        measures="Export revoked",
        affected_clients=list(clients),
        acting_user=officer,
    )


def record(client, officer):
    return services.processing_record_save(
        client=client,
        acting_user=officer,
        subject_categories="Customers",
        data_types="Phone numbers",
        purposes="Messaging",
        retention="90 days",
        toms_reference="art. 21.2",
    )


# --- Sub-processors ------------------------------------------------------------------------
def test_a_client_sees_the_current_sub_processors_of_its_provider_only(
    api, client_viewer, compliance_officer, cm, cx
):
    current = register(cm, compliance_officer)
    register(cm, compliance_officer, name="Future Ltd", active=False)
    register(cx, compliance_officer, name="Other Provider's Host")

    response = api(client_viewer).get("/api/v1/sub-processors/")

    assert response.status_code == 200
    assert [s["id"] for s in response.data["results"]] == [current.pk]
    assert response.data["results"][0]["provider"] == "cm-cn"


def test_another_providers_sub_processor_answers_404_to_a_client(
    api, client_viewer, compliance_officer, cx
):
    theirs = register(cx, compliance_officer)

    assert api(client_viewer).get(f"/api/v1/sub-processors/{theirs.pk}/").status_code == 404


def test_a_compliance_officer_registers_and_corrects_a_sub_processor(api, compliance_officer):
    c = api(compliance_officer)

    created = c.post(
        "/api/v1/sub-processors/",
        {
            "provider": "cm-cn",
            "name": "Tencent Cloud",
            "kind": "third_party",
            "country": "CN",
            "services": "SMS gateway",
            "agreement_date": "2024-03-01",
            "safeguard": "scc",
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    assert created.data["in_eea"] is False

    patched = c.patch(
        f"/api/v1/sub-processors/{created.data['id']}/", {"active_to": "2030-01-01"}, format="json"
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["active_to"] == "2030-01-01"
    assert patched.data["name"] == "Tencent Cloud"


def test_a_sub_processor_outside_the_eea_without_safeguard_is_refused_with_the_article(
    api, compliance_officer
):
    response = api(compliance_officer).post(
        "/api/v1/sub-processors/",
        {
            "provider": "cm-cn",
            "name": "Offshore",
            "kind": "third_party",
            "country": "US",
            "services": "Storage",
            "agreement_date": "2024-03-01",
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.data["errors"][0]
    assert error["field"] == "safeguard"
    assert error["article"] == "21.10"


def test_client_users_may_not_register_sub_processors(api, client_admin):
    response = api(client_admin).post("/api/v1/sub-processors/", {}, format="json")

    assert response.status_code == 403


def test_a_client_admin_objects_to_an_announced_change_once(
    api, client_admin, compliance_officer, cm
):
    new = register(cm, compliance_officer, name="New Host", active=False)
    c = api(compliance_officer)
    announced = c.post(
        "/api/v1/sub-processor-changes/",
        {"provider": "cm-cn", "kind": "addition", "sub_processor": new.pk},
        format="json",
    )
    assert announced.status_code == 201, announced.data
    change_id = announced.data["id"]

    admin = api(client_admin)
    listed = admin.get("/api/v1/sub-processor-changes/")
    objected = admin.post(
        f"/api/v1/sub-processor-changes/{change_id}/object/",
        {"reason": "Not in the EU"},
        format="json",
    )
    again = admin.post(
        f"/api/v1/sub-processor-changes/{change_id}/object/", {"reason": "Still"}, format="json"
    )

    assert [ch["id"] for ch in listed.data["results"]] == [change_id]
    assert objected.status_code == 201, objected.data
    assert again.status_code == 409
    objection = SubProcessorObjection.objects.get()
    assert objection.client == client_admin.client and objection.reason == "Not in the EU"
    mine = admin.get(f"/api/v1/sub-processor-changes/{change_id}/")
    assert [o["client"] for o in mine.data["objections"]] == [client_admin.client_id]

    resolved = c.post(
        f"/api/v1/sub-processor-objections/{objection.pk}/resolve/",
        {"resolution": "Moved to Frankfurt"},
        format="json",
    )
    assert resolved.status_code == 200
    assert resolved.data["status"] == "resolved"


def test_a_client_sees_only_its_own_objection_on_a_change(
    api, client_admin, other_admin, compliance_officer, cm
):
    new = register(cm, compliance_officer, name="New Host", active=False)
    change = services.sub_processor_change_announce(
        provider=cm, sub_processor=new, kind="addition", acting_user=compliance_officer
    )
    services.sub_processor_object(
        change=change, client=other_admin.client, acting_user=other_admin, reason="theirs"
    )

    response = api(client_admin).get(f"/api/v1/sub-processor-changes/{change.pk}/")

    assert response.status_code == 200
    assert response.data["objections"] == []


def test_a_client_viewer_may_not_object(api, client_viewer, compliance_officer, cm):
    new = register(cm, compliance_officer, active=False)
    change = services.sub_processor_change_announce(
        provider=cm, sub_processor=new, kind="addition", acting_user=compliance_officer
    )

    response = api(client_viewer).post(
        f"/api/v1/sub-processor-changes/{change.pk}/object/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 403
    assert not SubProcessorObjection.objects.exists()


# --- Audits --------------------------------------------------------------------------------
def test_a_client_admin_requests_an_audit_and_the_notice_rule_names_its_article(api, client_admin):
    c = api(client_admin)
    body = {
        "kind": "audit",
        "proposed_start": str(timezone.localdate() + dt.timedelta(days=2)),
        "auditor_name": "Jan Jansen",
        "auditor_firm": "Audit BV",
        "auditor_accredited": True,
        "auditor_not_competitor": True,
    }

    too_soon = c.post("/api/v1/audit-requests/", body, format="json")
    body["proposed_start"] = str(timezone.localdate() + dt.timedelta(days=40))
    accepted = c.post("/api/v1/audit-requests/", body, format="json")

    assert too_soon.status_code == 400
    assert too_soon.data["errors"][0]["field"] == "proposed_start"
    assert too_soon.data["errors"][0]["article"] == "21.7.2"
    assert accepted.status_code == 201, accepted.data
    assert accepted.data["client"] == client_admin.client_id
    assert accepted.data["status"] == "requested"
    assert accepted.data["earliest_start"]


def test_the_audit_journey_through_the_api(api, client_admin, compliance_officer, client_company):
    audit = services.audit_request(
        client=client_company,
        kind="audit",
        acting_user=client_admin,
        proposed_start=timezone.localdate() + dt.timedelta(days=40),
        auditor_name="Jan Jansen",
        auditor_accredited=True,
        auditor_not_competitor=True,
    )
    terms = {
        "scope": "Messaging",
        "timing": "May",
        "duration_days": 3,
        "reimbursement_rate": "150.00",
    }
    admin, officer = api(client_admin), api(compliance_officer)

    assert (
        admin.post(f"/api/v1/audit-requests/{audit.pk}/agree/", terms, format="json").status_code
        == 200
    )
    agreed = officer.post(f"/api/v1/audit-requests/{audit.pk}/agree/", terms, format="json")
    upload = admin.post(
        f"/api/v1/audit-requests/{audit.pk}/confidentiality/",
        {"file": SimpleUploadedFile("nda.pdf", b"%PDF-1.4 signed", content_type="application/pdf")},
        format="multipart",
    )
    too_early = officer.post(f"/api/v1/audit-requests/{audit.pk}/start/")

    assert agreed.data["status"] == "agreed"
    assert upload.status_code == 200, upload.data
    assert upload.data["confidentiality_declaration"].startswith("nda")
    assert too_early.status_code == 400
    assert too_early.data["errors"][0]["article"] == "21.7.2"

    # the notice has run: start, share the report, complete
    AuditRequest.objects.filter(pk=audit.pk).update(
        earliest_start=timezone.now() - dt.timedelta(days=2)
    )
    assert officer.post(f"/api/v1/audit-requests/{audit.pk}/start/").data["status"] == "in_progress"
    report = admin.post(
        f"/api/v1/audit-requests/{audit.pk}/report/",
        {"file": SimpleUploadedFile("report.pdf", b"%PDF-1.4 report")},
        format="multipart",
    )
    assert report.data["status"] == "report_shared"
    completed = officer.post(f"/api/v1/audit-requests/{audit.pk}/complete/")
    assert completed.data["status"] == "completed"


def test_staff_only_audit_actions_refuse_client_users(api, client_admin, client_company):
    audit = information_request(client_company, client_admin)
    c = api(client_admin)

    for action in ("start", "complete", "refuse"):
        assert (
            c.post(f"/api/v1/audit-requests/{audit.pk}/{action}/", {"reason": "x"}).status_code
            == 403
        )
    audit.refresh_from_db()
    assert audit.status == "requested"


def test_a_compliance_officer_refuses_a_request_with_a_reason(
    api, client_admin, compliance_officer, client_company
):
    audit = information_request(client_company, client_admin)

    response = api(compliance_officer).post(
        f"/api/v1/audit-requests/{audit.pk}/refuse/", {"reason": "Competitor"}, format="json"
    )

    assert response.status_code == 200
    assert response.data["status"] == "refused" and response.data["refusal_reason"] == "Competitor"


def test_a_compliance_officer_logs_an_audit_request_on_a_clients_behalf(
    api, compliance_officer, client_company
):
    response = api(compliance_officer).post(
        "/api/v1/audit-requests/",
        {"client": client_company.pk, "kind": "information"},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["on_behalf_of_client"] is True


def test_a_client_admin_cannot_request_for_another_client(api, client_admin, other_company):
    response = api(client_admin).post(
        "/api/v1/audit-requests/",
        {"client": other_company.pk, "kind": "information"},
        format="json",
    )

    assert response.status_code == 404
    assert not AuditRequest.objects.exists()


# --- Data-subject requests -----------------------------------------------------------------
def test_a_dsr_logged_by_staff_is_instructed_by_the_client_and_completed(
    api, client_admin, compliance_officer, client_company
):
    officer, admin = api(compliance_officer), api(client_admin)

    logged = officer.post(
        "/api/v1/data-subject-requests/",
        {"client": client_company.pk, "type": "erasure", "subject_reference": "+8613800000000"},
        format="json",
    )
    assert logged.status_code == 201, logged.data
    assert logged.data["received_by"] == "provider"
    pk = logged.data["id"]

    assert (
        admin.post(
            f"/api/v1/data-subject-requests/{pk}/record-action/", {"action_taken": "x"}
        ).status_code
        == 403
    )
    instructed = admin.post(
        f"/api/v1/data-subject-requests/{pk}/instruct/", {"instruction": "delete"}, format="json"
    )
    done = officer.post(
        f"/api/v1/data-subject-requests/{pk}/record-action/",
        {"action_taken": "Deleted 3 messages", "assistance_cost": "25.00"},
        format="json",
    )

    assert instructed.data["status"] == "in_progress"
    assert done.status_code == 200, done.data
    assert done.data["status"] == "completed"
    assert (
        done.data["assistance_cost"] == "25.00" and done.data["assistance_cost_currency"] == "CNY"
    )


def test_a_client_files_its_own_dsr_and_pauses_and_resumes_it(api, client_admin):
    c = api(client_admin)

    filed = c.post(
        "/api/v1/data-subject-requests/",
        {"type": "access", "subject_reference": "cust-42"},
        format="json",
    )
    pk = filed.data["id"]
    paused = c.post(f"/api/v1/data-subject-requests/{pk}/pause/")
    resumed = c.post(f"/api/v1/data-subject-requests/{pk}/resume/")

    assert filed.status_code == 201 and filed.data["received_by"] == "client"
    assert paused.data["is_paused"] is True
    assert resumed.data["is_paused"] is False


def test_extend_is_for_compliance_officers_and_only_once(
    api, client_admin, compliance_officer, client_company
):
    request = dsr(client_company, compliance_officer)
    url = f"/api/v1/data-subject-requests/{request.pk}/extend/"

    refused = api(client_admin).post(url, {"reason": "x"}, format="json")
    first = api(compliance_officer).post(url, {"reason": "Large volume"}, format="json")
    second = api(compliance_officer).post(url, {"reason": "Again"}, format="json")

    assert refused.status_code == 403
    assert first.status_code == 200 and first.data["extended"] is True
    assert second.status_code == 400


def test_a_client_cancels_its_dsr(api, client_admin, compliance_officer, client_company):
    request = dsr(client_company, compliance_officer)

    response = api(client_admin).post(
        f"/api/v1/data-subject-requests/{request.pk}/cancel/", {}, format="json"
    )

    assert response.status_code == 200 and response.data["status"] == "cancelled"


def test_dsr_list_filters_by_status_and_is_scoped(
    api, client_admin, compliance_officer, client_company, other_company
):
    mine = dsr(client_company, compliance_officer)
    dsr(other_company, compliance_officer)

    response = api(client_admin).get("/api/v1/data-subject-requests/", {"status": "pending"})

    assert [d["id"] for d in response.data["results"]] == [mine.pk]


# --- OpenDSR -------------------------------------------------------------------------------
def test_opendsr_submission_answers_in_the_opendsr_shape(api, client_admin):
    body = {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": "erasure",
        "submitted_time": "2026-01-05T10:00:00Z",
        "subject_identities": [
            {
                "identity_type": "phone_number",
                "identity_value": "+31612345678",
                "identity_format": "raw",
            }
        ],
        "status_callback_urls": ["https://controller.example/opendsr/callbacks"],
        "api_version": "0.1",
    }

    response = api(client_admin).post("/api/v1/opendsr/requests/", body, format="json")

    assert response.status_code == 201, response.data
    assert set(response.data) >= {
        "received_time",
        "expected_completion_time",
        "encoded_request",
        "subject_request_id",
    }
    dsr_row = DataSubjectRequest.objects.get(request_id=response.data["subject_request_id"])
    assert dsr_row.type == "erasure" and dsr_row.received_by == "client"
    assert dsr_row.subject_reference == "phone_number:+31612345678"
    assert dsr_row.status_callback_url == "https://controller.example/opendsr/callbacks"
    assert response.data["received_time"].startswith("2026-01-05T10:00:00")
    assert response.data["expected_completion_time"].startswith("2026-02-05T10:00:00")
    assert (
        json.loads(base64.b64decode(response.data["encoded_request"]))["subject_request_type"]
        == "erasure"
    )


def test_opendsr_status_follows_the_request(api, client_admin, compliance_officer, client_company):
    request = dsr(client_company, compliance_officer)
    url = f"/api/v1/opendsr/requests/{request.request_id}/"
    c = api(client_admin)

    pending = c.get(url)
    services.dsr_instruct(dsr=request, instruction="delete", acting_user=client_admin)
    in_progress = c.get(url)
    services.dsr_record_action(dsr=request, action_taken="done", acting_user=compliance_officer)
    completed = c.get(url)

    assert pending.status_code == 200
    assert pending.data["subject_request_id"] == str(request.request_id)
    assert [r.data["request_status"] for r in (pending, in_progress, completed)] == [
        "pending",
        "in_progress",
        "completed",
    ]
    assert pending.data["expected_completion_time"]


def test_opendsr_status_of_another_clients_request_is_404(
    api, client_admin, compliance_officer, other_company
):
    theirs = dsr(other_company, compliance_officer)

    assert (
        api(client_admin).get(f"/api/v1/opendsr/requests/{theirs.request_id}/").status_code == 404
    )
    assert api(client_admin).get(f"/api/v1/opendsr/requests/{uuid.uuid4()}/").status_code == 404


def test_opendsr_refuses_an_unknown_type_and_a_viewer(api, client_admin, client_viewer):
    body = {
        "subject_request_type": "teleport",
        "subject_identities": [{"identity_type": "email", "identity_value": "a@b.c"}],
    }

    assert (
        api(client_admin).post("/api/v1/opendsr/requests/", body, format="json").status_code == 400
    )
    body["subject_request_type"] = "access"
    assert (
        api(client_viewer).post("/api/v1/opendsr/requests/", body, format="json").status_code == 403
    )
    assert not DataSubjectRequest.objects.exists()


# --- Breaches ------------------------------------------------------------------------------
def test_staff_log_a_breach_and_notify_each_client(
    api, compliance_officer, client_company, other_company
):
    c = api(compliance_officer)
    logged = c.post(
        "/api/v1/breaches/",
        {
            "provider": "cm-cn",
            "detected_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "description": "Leaked log file",
            "data_types": "phone numbers",
            "approx_subjects": 10,
            "measures": "Rotated keys",
            "affected_clients": [client_company.pk, other_company.pk],
        },
        format="json",
    )
    assert logged.status_code == 201, logged.data
    assert len(logged.data["notifications"]) == 2
    assert 46 * 3600 < logged.data["notifications"][0]["seconds_left"] <= 47 * 3600

    notified = c.post(
        f"/api/v1/breaches/{logged.data['id']}/notify/",
        {"client": client_company.pk, "message": "We lost a log file."},
        format="json",
    )

    assert notified.status_code == 200, notified.data
    notice = BreachNotification.objects.get(client=client_company)
    assert notice.notified_at and notice.notified_by == compliance_officer


def test_breaches_are_staff_only_and_clients_see_only_their_sent_notices(
    api, client_admin, compliance_officer, cm, client_company, other_company
):
    b = breach(cm, compliance_officer, client_company, other_company)
    mine = b.notifications.get(client=client_company)
    c = api(client_admin)

    assert c.get("/api/v1/breaches/").status_code == 403
    assert c.get(f"/api/v1/breaches/{b.pk}/").status_code == 403
    assert c.get("/api/v1/breach-notices/").data["results"] == []  # not sent yet

    services.breach_notify_client(
        notification=mine, message="Notice", acting_user=compliance_officer
    )
    listed = c.get("/api/v1/breach-notices/")

    assert [n["id"] for n in listed.data["results"]] == [mine.pk]
    assert "client_name" not in listed.data["results"][0]
    assert other_company.legal_name not in json.dumps(listed.data, default=str)


def test_a_breach_is_closed_after_notices_and_root_cause(
    api, compliance_officer, cm, client_company
):
    b = breach(cm, compliance_officer, client_company)
    c = api(compliance_officer)

    early = c.post(f"/api/v1/breaches/{b.pk}/close/")
    c.post(
        f"/api/v1/breaches/{b.pk}/notify/",
        {"client": client_company.pk, "message": "x"},
        format="json",
    )
    c.post(
        f"/api/v1/breaches/{b.pk}/root-cause/",
        {"root_cause": "Misconfigured bucket"},
        format="json",
    )
    update = c.post(f"/api/v1/breaches/{b.pk}/updates/", {"text": "Bucket fixed"}, format="json")
    closed = c.post(f"/api/v1/breaches/{b.pk}/close/")

    assert early.status_code == 400 and early.data["errors"][0]["article"] == "21.11"
    assert update.status_code == 201
    assert closed.status_code == 200 and closed.data["closed_at"]


# --- Records and assistance ----------------------------------------------------------------
def test_a_compliance_officer_keeps_a_record_and_exports_it_as_csv(
    api, compliance_officer, client_admin, client_company, cm
):
    register(cm, compliance_officer, name="深圳云服务有限公司", country="CN", safeguard="scc")
    saved = api(compliance_officer).post(
        "/api/v1/processing-records/",
        {
            "client": client_company.pk,
            "subject_categories": "Customers",
            "data_types": "Phone numbers",
            "purposes": "Messaging",
            "retention": "90 days",
            "toms_reference": "art. 21.2",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.data

    csv_response = api(client_admin).get(f"/api/v1/processing-records/{saved.data['id']}/csv/")

    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    text = csv_response.content.decode()
    assert text.splitlines()[0] == "section,item,detail"
    assert "Phone numbers" in text and "深圳云服务有限公司" in text


def test_clients_may_not_write_records(api, client_admin, client_company):
    response = api(client_admin).post(
        "/api/v1/processing-records/", {"client": client_company.pk}, format="json"
    )

    assert response.status_code == 403


def test_assistance_requests_are_logged_by_clients_and_tracked_by_staff(
    api, client_admin, compliance_officer
):
    created = api(client_admin).post(
        "/api/v1/assistance-requests/",
        {"kind": "dpia", "description": "DPIA for campaign"},
        format="json",
    )
    assert created.status_code == 201, created.data
    url = f"/api/v1/assistance-requests/{created.data['id']}/"

    refused = api(client_admin).patch(url, {"status": "completed"}, format="json")
    done = api(compliance_officer).patch(
        url, {"status": "completed", "outcome": "Answered", "cost": "80.00"}, format="json"
    )

    assert refused.status_code == 403
    assert done.status_code == 200 and done.data["status"] == "completed"


# --- Schema --------------------------------------------------------------------------------
DP_PATHS = [
    "/api/v1/sub-processors/",
    "/api/v1/sub-processor-changes/{id}/object/",
    "/api/v1/audit-requests/{id}/confidentiality/",
    "/api/v1/data-subject-requests/{id}/record-action/",
    "/api/v1/opendsr/requests/",
    "/api/v1/opendsr/requests/{subject_request_id}/",
    "/api/v1/breaches/{id}/notify/",
    "/api/v1/breach-notices/",
    "/api/v1/processing-records/{id}/csv/",
    "/api/v1/assistance-requests/",
]


def test_the_data_processing_endpoints_are_in_the_schema_and_it_is_valid(api, client_admin):
    response = api(client_admin).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert not [p for p in DP_PATHS if p not in paths]

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(
        patterns=[path("api/v1/", include("dataprocessing.api.urls"))]
    ).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._error_cache
    upload = schema["paths"]["/api/v1/audit-requests/{id}/confidentiality/"]["post"]["requestBody"][
        "content"
    ]
    assert "multipart/form-data" in upload


# --- Tenant isolation ----------------------------------------------------------------------
@pytest.fixture
def other_clients_objects(other_company, other_admin, compliance_officer, cm, cx):
    """One object of every kind the data-processing API exposes by id, none the client's own."""
    their_sp = register(cx, compliance_officer, name="CX host")
    their_future = register(cx, compliance_officer, name="CX future", active=False)
    change = services.sub_processor_change_announce(
        provider=cx, sub_processor=their_future, kind="addition", acting_user=compliance_officer
    )
    own_future = register(cm, compliance_officer, name="CM future", active=False)
    own_change = services.sub_processor_change_announce(
        provider=cm, sub_processor=own_future, kind="addition", acting_user=compliance_officer
    )
    objection = services.sub_processor_object(
        change=own_change, client=other_company, acting_user=other_admin, reason="theirs"
    )
    b = breach(cm, compliance_officer, other_company)
    notice = b.notifications.get()
    services.breach_notify_client(notification=notice, message="x", acting_user=compliance_officer)
    return {
        "sub-processors": their_sp.pk,
        "sub-processor-changes": change.pk,
        "sub-processor-objections": objection.pk,
        "audit-requests": information_request(other_company, other_admin).pk,
        "data-subject-requests": dsr(other_company, compliance_officer).pk,
        "breaches": b.pk,
        "breach-notices": notice.pk,
        "processing-records": record(other_company, compliance_officer).pk,
        "assistance-requests": services.assistance_request_log(
            client=other_company, kind="dpia", description="theirs", acting_user=other_admin
        ).pk,
    }


def _id_routes():
    from dataprocessing.api.urls import urlpatterns

    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if "<int:pk>" in route:
            yield route


@pytest.mark.parametrize("route", list(_id_routes()))
def test_every_data_processing_route_answers_404_for_another_clients_object(
    api, client_admin, other_clients_objects, route
):
    """Another client's (or provider's) id answers exactly like an id that does not exist."""
    resource = route.split("/")[0]
    theirs = "/api/v1/" + route.replace("<int:pk>", str(other_clients_objects[resource]))
    missing = "/api/v1/" + route.replace("<int:pk>", "987654321")
    c = api(client_admin)

    for method in ("get", "post", "patch", "put", "delete"):
        response = getattr(c, method)(theirs, {}, format="json")
        assert response.status_code in (403, 404, 405), (method, theirs, response.status_code)
        assert response.status_code == getattr(c, method)(missing, {}, format="json").status_code, (
            method,
            theirs,
        )
        assert "theirs" not in response.content.decode()
    if route.count("/") == 2 and resource not in ("breaches", "sub-processor-objections"):
        assert c.get(theirs).status_code == 404


def test_the_isolation_walk_uses_objects_that_exist(api, compliance_officer, other_clients_objects):
    c = api(compliance_officer)
    for resource, pk in other_clients_objects.items():
        if resource == "sub-processor-objections":
            continue
        assert c.get(f"/api/v1/{resource}/{pk}/").status_code == 200, resource


def test_the_opendsr_lookup_is_scoped_like_the_rest(
    api, client_admin, compliance_officer, other_company
):
    theirs = dsr(other_company, compliance_officer)

    assert (
        api(compliance_officer).get(f"/api/v1/opendsr/requests/{theirs.request_id}/").status_code
        == 200
    )
    assert (
        api(client_admin).get(f"/api/v1/opendsr/requests/{theirs.request_id}/").status_code == 404
    )


def test_sub_processor_changes_of_another_provider_are_not_listed(
    api, client_admin, compliance_officer, cx
):
    future = register(cx, compliance_officer, active=False)
    services.sub_processor_change_announce(
        provider=cx, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    assert api(client_admin).get("/api/v1/sub-processor-changes/").data["results"] == []
    assert SubProcessorChange.objects.count() == 1

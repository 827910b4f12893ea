"""The data-processing API (issue 5, section 8): audit requests."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dataprocessing.models import AuditRequest
from dataprocessing.services import audits
from tests.dataprocessing.factories import information_request

pytestmark = pytest.mark.django_db


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
    audit = audits.audit_request(
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
        {"client": client_company.pk, "kind": "information", "requester_not_competitor": True},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["on_behalf_of_client"] is True


def test_a_client_admin_cannot_request_for_another_client(api, client_admin, other_company):
    response = api(client_admin).post(
        "/api/v1/audit-requests/",
        {"client": other_company.pk, "kind": "information", "requester_not_competitor": True},
        format="json",
    )

    assert response.status_code == 404
    assert not AuditRequest.objects.exists()

"""API of issue 13 §4 in accounts: the provider's requests (art. 5.4, 5.7, 20.1.2) and changes to
the service (art. 5.3)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ChangeRequest, DataRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_staff_send_a_consent_request_and_the_client_answers_with_a_document(
    api, compliance_officer, client_admin
):
    sent = api(compliance_officer).post(
        "/api/v1/data-requests/",
        {
            "client": client_admin.client_id,
            "kind": "consent_records",
            "description": "Opt-ins of campaign 42",
            "working_days": 3,
        },
        format="json",
    )
    assert sent.status_code == 201, sent.data
    assert (sent.data["kind"], sent.data["response_working_days"]) == ("consent_records", 3)
    pk = sent.data["id"]

    answered = api(client_admin).post(
        f"/api/v1/data-requests/{pk}/answer/",
        {
            "answer": "Attached",
            "documents": [
                SimpleUploadedFile("optins.pdf", b"%PDF-1.4 x", content_type="application/pdf")
            ],
        },
        format="multipart",
    )
    assert answered.status_code == 200, answered.data
    assert [d["name"] for d in answered.data["documents"]] == ["optins.pdf"]

    closed = api(compliance_officer).post(
        f"/api/v1/data-requests/{pk}/close/", {"findings": "Complete"}, format="json"
    )
    assert closed.status_code == 200 and closed.data["status"] == "closed"
    listed = api(client_admin).get("/api/v1/data-requests/", {"kind": "consent_records"})
    assert [r["id"] for r in listed.data["results"]] == [pk]


def test_a_providers_request_without_working_days_is_refused_naming_it(
    api, compliance_officer, client_company
):
    refused = api(compliance_officer).post(
        "/api/v1/data-requests/",
        {"client": client_company.pk, "kind": "compliance_audit", "description": "Audit"},
        format="json",
    )
    assert refused.status_code == 400
    assert {e["field"] for e in refused.data["errors"]} == {
        "scope",
        "documents_requested",
        "working_days",
    }
    assert not DataRequest.objects.exists()


def test_a_client_may_not_close_a_request(api, client_admin, compliance_officer):
    dr = DataRequest.objects.create(
        client=client_admin.client,
        kind="consent_records",
        requested_by="CM",
        description="x",
        logged_by=compliance_officer,
        due_at="2099-01-01T00:00:00Z",
        status="answered",
    )
    answer = api(client_admin).post(f"/api/v1/data-requests/{dr.pk}/close/", {"findings": "x"})
    assert answer.status_code == 403


def test_a_client_admin_requests_a_change_to_the_service_and_staff_agree_it(
    api, client_admin, billing_staff
):
    sent = api(client_admin).post(
        "/api/v1/service-change-requests/",
        {"service": "whatsapp", "description": "A second number", "wanted_from": "2099-03-01"},
        format="json",
    )
    assert sent.status_code == 201, sent.data
    assert (sent.data["kind"], sent.data["service"]) == ("service", "whatsapp")
    listed = api(client_admin).get("/api/v1/service-change-requests/")
    assert [r["id"] for r in listed.data["results"]] == [sent.data["id"]]

    no_note = api(billing_staff).post(
        f"/api/v1/change-requests/{sent.data['id']}/accept/", {}, format="json"
    )
    assert no_note.status_code == 400
    assert [e["field"] for e in no_note.data["errors"]] == ["note"]
    agreed = api(billing_staff).post(
        f"/api/v1/change-requests/{sent.data['id']}/accept/",
        {"note": "Agreed"},
        format="json",
    )
    assert agreed.status_code == 200
    assert (agreed.data["status"], agreed.data["agreed_from"]) == ("accepted", "2099-03-01")


def test_a_service_change_names_a_bad_service(api, client_admin):
    refused = api(client_admin).post(
        "/api/v1/service-change-requests/",
        {"service": "fax", "description": "x"},
        format="json",
    )
    assert refused.status_code == 400
    assert [e["field"] for e in refused.data["errors"]] == ["service"]
    assert not ChangeRequest.objects.exists()

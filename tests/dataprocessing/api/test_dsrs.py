"""The data-processing API (issue 5, section 8): data-subject requests, in the portal's shape and
the OpenDSR shape."""

import base64
import json
import socket
import uuid

import pytest

from dataprocessing.models import DataSubjectRequest
from dataprocessing.services import dsrs
from tests.dataprocessing.factories import receive_dsr

pytestmark = pytest.mark.django_db


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
    request = receive_dsr(client_company, compliance_officer)
    url = f"/api/v1/data-subject-requests/{request.pk}/extend/"

    refused = api(client_admin).post(url, {"reason": "x"}, format="json")
    first = api(compliance_officer).post(url, {"reason": "Large volume"}, format="json")
    second = api(compliance_officer).post(url, {"reason": "Again"}, format="json")

    assert refused.status_code == 403
    assert first.status_code == 200 and first.data["extended"] is True
    assert second.status_code == 400


def test_a_client_cancels_its_dsr(api, client_admin, compliance_officer, client_company):
    request = receive_dsr(client_company, compliance_officer)

    response = api(client_admin).post(
        f"/api/v1/data-subject-requests/{request.pk}/cancel/", {}, format="json"
    )

    assert response.status_code == 200 and response.data["status"] == "cancelled"


def test_dsr_list_filters_by_status_and_is_scoped(
    api, client_admin, compliance_officer, client_company, other_company
):
    mine = receive_dsr(client_company, compliance_officer)
    receive_dsr(other_company, compliance_officer)

    response = api(client_admin).get("/api/v1/data-subject-requests/", {"status": "pending"})

    assert [d["id"] for d in response.data["results"]] == [mine.pk]


# --- OpenDSR -------------------------------------------------------------------------------
def test_opendsr_submission_answers_in_the_opendsr_shape(api, client_admin, monkeypatch):
    # the callback host is resolved and checked at receipt: give it a public address
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **kw: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port))]
            if host == "controller.example"
            else real(host, port, *a, **kw)
        ),
    )
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
    request = receive_dsr(client_company, compliance_officer)
    url = f"/api/v1/opendsr/requests/{request.request_id}/"
    c = api(client_admin)

    pending = c.get(url)
    dsrs.dsr_instruct(dsr=request, instruction="delete", acting_user=client_admin)
    in_progress = c.get(url)
    dsrs.dsr_record_action(dsr=request, action_taken="done", acting_user=compliance_officer)
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
    theirs = receive_dsr(other_company, compliance_officer)

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


def test_the_opendsr_lookup_is_scoped_like_the_rest(
    api, client_admin, compliance_officer, other_company
):
    theirs = receive_dsr(other_company, compliance_officer)

    assert (
        api(compliance_officer).get(f"/api/v1/opendsr/requests/{theirs.request_id}/").status_code
        == 200
    )
    assert (
        api(client_admin).get(f"/api/v1/opendsr/requests/{theirs.request_id}/").status_code == 404
    )

"""API: change requests of registration details (art. 5.5) and data requests (art. 5.6)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ChangeRequest, DataRequest
from accounts.services import change_requests, data_requests

pytestmark = pytest.mark.django_db


def test_a_client_admin_submits_a_change_request_for_its_own_client(
    api, client_admin, client_company, with_directors
):
    response = api(client_admin).post(
        "/api/v1/change-requests/", {"address": "9 Harbour Road, Shenzhen"}
    )

    assert response.status_code == 201, response.data
    assert response.data["client"] == client_company.pk
    assert response.data["changes"]["address"]["new"] == "9 Harbour Road, Shenzhen"
    assert response.data["submitted_by"] == client_admin.email
    client_company.refresh_from_db()
    assert client_company.address != "9 Harbour Road, Shenzhen"  # applied only when staff accept


def test_a_client_viewer_may_not_submit_a_change_request(api, client_viewer, with_directors):
    response = api(client_viewer).post("/api/v1/change-requests/", {"address": "9 Harbour Road"})

    assert response.status_code == 403
    assert not ChangeRequest.objects.exists()


def test_a_change_request_for_another_client_answers_404(
    api, client_admin, other_company, with_directors
):
    response = api(client_admin).post(
        "/api/v1/change-requests/", {"client": other_company.pk, "address": "9 Harbour Road"}
    )

    assert response.status_code == 404
    assert not ChangeRequest.objects.exists()


def test_a_change_request_that_changes_nothing_is_refused(
    api, client_admin, client_company, with_directors
):
    response = api(client_admin).post(
        "/api/v1/change-requests/", {"address": client_company.address}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] is None


def test_a_change_request_names_an_unknown_field(api, client_admin, with_directors):
    response = api(client_admin).post("/api/v1/change-requests/", {"status": "active"})

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "status"


def test_an_invalid_billing_email_in_a_change_request_names_the_field(
    api, client_admin, with_directors
):
    response = api(client_admin).post("/api/v1/change-requests/", {"billing_email": "not-an-email"})

    assert response.status_code == 400
    assert response.data["errors"] == [
        {"code": "invalid", "message": "Enter a valid email address.", "field": "billing_email"}
    ]


def _submitted(client_admin, client_company):
    return change_requests.change_request_submit(
        client=client_company,
        acting_user=client_admin,
        changes={"address": "9 Harbour Road, Shenzhen"},
    )


def test_billing_staff_accept_a_change_request_and_it_applies(
    api, billing_staff, client_admin, client_company, with_directors
):
    request = _submitted(client_admin, client_company)

    response = api(billing_staff).post(
        f"/api/v1/change-requests/{request.pk}/accept/", {"note": "checked"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "accepted"
    assert response.data["decided_by"] == billing_staff.email
    client_company.refresh_from_db()
    assert client_company.address == "9 Harbour Road, Shenzhen"


def test_billing_staff_reject_a_change_request_with_a_note(
    api, billing_staff, client_admin, client_company, with_directors
):
    request = _submitted(client_admin, client_company)

    response = api(billing_staff).post(
        f"/api/v1/change-requests/{request.pk}/reject/", {"note": "No proof"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "rejected"
    client_company.refresh_from_db()
    assert client_company.address != "9 Harbour Road, Shenzhen"


def test_a_client_admin_may_not_accept_its_own_change_request(
    api, client_admin, client_company, with_directors
):
    request = _submitted(client_admin, client_company)

    response = api(client_admin).post(f"/api/v1/change-requests/{request.pk}/accept/")

    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.PENDING


def test_change_requests_list_only_the_clients_own(
    api, client_admin, other_admin, client_company, other_company, with_directors
):
    mine = _submitted(client_admin, client_company)
    theirs = _submitted(other_admin, other_company)

    listed = api(client_admin).get("/api/v1/change-requests/")
    detail = api(client_admin).get(f"/api/v1/change-requests/{theirs.pk}/")

    assert [r["id"] for r in listed.data["results"]] == [mine.pk]
    assert detail.status_code == 404


# --- Data requests -------------------------------------------------------------------------
def test_staff_log_a_data_request_due_in_three_working_days(
    api, compliance_officer, client_company
):
    response = api(compliance_officer).post(
        "/api/v1/data-requests/",
        {
            "client": client_company.pk,
            "requested_by": "China Mobile",
            "description": "Registration certificate",
        },
    )

    assert response.status_code == 201, response.data
    request = DataRequest.objects.get(pk=response.data["id"])
    assert request.due_at > request.logged_at + timedelta(days=2)
    assert response.data["status"] == "open"
    assert response.data["is_overdue"] is False


def test_logging_a_data_request_names_the_missing_fields(api, billing_staff, client_company):
    response = api(billing_staff).post(
        "/api/v1/data-requests/",
        {"client": client_company.pk, "requested_by": "", "description": ""},
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.data["errors"]} == {"requested_by", "description"}


def test_a_client_admin_may_not_log_a_data_request(api, client_admin, client_company):
    response = api(client_admin).post(
        "/api/v1/data-requests/",
        {"client": client_company.pk, "requested_by": "x", "description": "y"},
    )

    assert response.status_code == 403


def _logged(staff, client, **kwargs):
    return data_requests.data_request_log(
        client=client, acting_user=staff, requested_by="MIIT", description="Licence copy", **kwargs
    )


def test_the_client_admin_answers_a_data_request(api, client_admin, billing_staff, client_company):
    request = _logged(billing_staff, client_company)

    response = api(client_admin).post(
        f"/api/v1/data-requests/{request.pk}/answer/", {"answer": "Attached below"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "answered"
    assert response.data["answered_by"] == client_admin.email


def test_answering_another_clients_data_request_answers_404(
    api, client_admin, billing_staff, other_company
):
    request = _logged(billing_staff, other_company)

    response = api(client_admin).post(
        f"/api/v1/data-requests/{request.pk}/answer/", {"answer": "x"}
    )

    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == DataRequest.Status.OPEN


def test_a_viewer_may_not_answer_a_data_request(api, client_viewer, billing_staff, client_company):
    request = _logged(billing_staff, client_company)

    assert (
        api(client_viewer)
        .post(f"/api/v1/data-requests/{request.pk}/answer/", {"answer": "x"})
        .status_code
        == 403
    )


def test_staff_filter_overdue_data_requests(api, billing_staff, client_company, other_company):
    late = _logged(billing_staff, client_company)
    DataRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    _logged(billing_staff, other_company)

    response = api(billing_staff).get("/api/v1/data-requests/", {"overdue": "true"})

    assert [r["id"] for r in response.data["results"]] == [late.pk]
    assert response.data["results"][0]["is_overdue"] is True


def test_a_client_sees_its_data_requests_with_their_deadline(
    api, client_viewer, billing_staff, client_company, other_company
):
    mine = _logged(billing_staff, client_company)
    _logged(billing_staff, other_company)

    response = api(client_viewer).get("/api/v1/data-requests/")

    assert [r["id"] for r in response.data["results"]] == [mine.pk]
    assert response.data["results"][0]["due_at"]

"""The data-processing API (issue 5, section 8): assistance requests."""

import pytest

pytestmark = pytest.mark.django_db


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

"""API: clients (list, detail, history), staff decisions (approve, reject, suspend, resume) and sign-up."""

import pytest

from accounts.models import Agreement, Client, Suspension, User
from tests.accounts.factories import ClientFactory, DirectorFactory, make_uscc

pytestmark = pytest.mark.django_db


def test_staff_list_every_client_with_pagination(api, billing_staff, client_company, other_company):
    response = api(billing_staff).get("/api/v1/clients/", {"page_size": 1})

    assert response.status_code == 200
    assert "count" not in response.data  # no exact count of a provider's 100,000 clients
    assert len(response.data["results"]) == 1
    assert response.data["previous"] is None
    second = api(billing_staff).get(response.data["next"])
    assert len(second.data["results"]) == 1
    assert second.data["next"] is None
    assert second.data["previous"]
    assert {response.data["results"][0]["id"], second.data["results"][0]["id"]} == {
        client_company.pk,
        other_company.pk,
    }


def test_a_client_user_lists_only_its_own_client(api, client_viewer, other_company):
    response = api(client_viewer).get("/api/v1/clients/")

    assert response.status_code == 200
    assert [c["id"] for c in response.data["results"]] == [client_viewer.client_id]


def test_client_list_filters_by_status_and_name(api, billing_staff, client_company, cm):
    pending = ClientFactory(
        provider=cm, status=Client.Status.PENDING, legal_name="Pending Widgets Ltd"
    )

    by_status = api(billing_staff).get("/api/v1/clients/", {"status": "pending"})
    by_name = api(billing_staff).get("/api/v1/clients/", {"q": "widgets"})

    assert [c["id"] for c in by_status.data["results"]] == [pending.pk]
    assert [c["id"] for c in by_name.data["results"]] == [pending.pk]


def test_client_detail_shows_directors_agreement_and_open_suspension(
    api, client_admin, client_company
):
    DirectorFactory(client=client_company, name="Li Wei", title="Legal representative")
    Suspension.objects.create(
        client=client_company, cause=Suspension.Cause.NON_PAYMENT, reason="Invoice 7 overdue"
    )

    response = api(client_admin).get(f"/api/v1/clients/{client_company.pk}/")

    assert response.status_code == 200
    assert response.data["directors"] == [{"name": "Li Wei", "title": "Legal representative"}]
    assert response.data["agreement"] == client_company.agreement.pk
    assert response.data["is_suspended"] is True
    assert response.data["open_suspensions"][0]["reason"] == "Invoice 7 overdue"
    assert response.data["provider"] == "cm-cn"


def test_another_clients_detail_answers_404(api, client_admin, other_company):
    response = api(client_admin).get(f"/api/v1/clients/{other_company.pk}/")

    assert response.status_code == 404
    assert response.data["errors"][0]["code"] == "not_found"


def test_another_clients_history_answers_404(api, client_admin, other_company):
    assert api(client_admin).get(f"/api/v1/clients/{other_company.pk}/history/").status_code == 404


def test_history_shows_who_changed_a_registration_field(
    api, client_admin, billing_staff, client_company, with_directors
):
    from accounts.services import change_requests

    request = change_requests.change_request_submit(
        client=client_company, acting_user=client_admin, changes={"address": "1 New Road, Shenzhen"}
    )
    change_requests.change_request_accept(change_request=request, acting_user=billing_staff)

    response = api(client_admin).get(f"/api/v1/clients/{client_company.pk}/history/")

    assert response.status_code == 200
    change = next(c for c in response.data if c["field"] == "address")
    assert change["new"] == "1 New Road, Shenzhen"
    assert change["by"] == billing_staff.email


def test_billing_staff_approve_a_pending_client_and_its_agreement_starts(api, billing_staff, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING, approved_at=None)

    response = api(billing_staff).post(f"/api/v1/clients/{pending.pk}/approve/")

    assert response.status_code == 200
    assert response.data["status"] == "active"
    pending.refresh_from_db()
    assert pending.status == Client.Status.ACTIVE
    assert Agreement.objects.filter(client=pending).exists()


def test_approving_an_active_client_is_refused_with_the_field(api, billing_staff, client_company):
    response = api(billing_staff).post(f"/api/v1/clients/{client_company.pk}/approve/")

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "status"


@pytest.mark.parametrize("action", ["approve", "reject", "suspend", "resume"])
def test_client_users_may_not_take_staff_decisions(api, client_admin, client_company, action):
    response = api(client_admin).post(
        f"/api/v1/clients/{client_company.pk}/{action}/", {"reason": "x"}
    )

    assert response.status_code == 403
    assert response.data["errors"][0]["code"] == "permission_denied"


def test_a_compliance_officer_may_not_approve_a_client(api, compliance_officer, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING)

    response = api(compliance_officer).post(f"/api/v1/clients/{pending.pk}/approve/")

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == Client.Status.PENDING


def test_rejection_needs_a_reason(api, billing_staff, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING)

    response = api(billing_staff).post(f"/api/v1/clients/{pending.pk}/reject/", {"reason": "  "})

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "reason"
    pending.refresh_from_db()
    assert pending.status == Client.Status.PENDING


def test_billing_staff_reject_a_pending_client_with_a_reason(api, billing_staff, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING)

    response = api(billing_staff).post(
        f"/api/v1/clients/{pending.pk}/reject/", {"reason": "Not a company"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "rejected"
    assert response.data["rejection_reason"] == "Not a company"


def test_suspend_then_resume_a_client(api, billing_staff, client_company):
    staff = api(billing_staff)

    suspended = staff.post(
        f"/api/v1/clients/{client_company.pk}/suspend/",
        {"cause": "breach", "reason": "Spam complaints"},
    )
    resumed = staff.post(
        f"/api/v1/clients/{client_company.pk}/resume/", {"reason": "Complaints resolved"}
    )

    assert suspended.status_code == 200
    assert suspended.data["is_suspended"] is True
    assert resumed.status_code == 200
    assert resumed.data["is_suspended"] is False
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE


def test_suspending_twice_for_the_same_cause_is_a_conflict(api, billing_staff, client_company):
    staff = api(billing_staff)
    body = {"cause": "breach", "reason": "Spam complaints"}
    staff.post(f"/api/v1/clients/{client_company.pk}/suspend/", body)

    response = staff.post(f"/api/v1/clients/{client_company.pk}/suspend/", body)

    assert response.status_code == 409
    assert response.data["errors"][0] == {
        "code": "conflict",
        "message": "The client is already suspended for this cause.",
        "field": "cause",
    }


def test_an_unknown_suspension_cause_names_the_field(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/clients/{client_company.pk}/suspend/", {"cause": "whim", "reason": "x"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "cause"
    assert response.data["errors"][0]["code"] == "invalid_choice"


def _sign_up_body(**overrides):
    body = {
        "provider": "cm-cn",
        "email": "founder@newco.example",
        "password": "a-long-enough-passphrase",
        "full_name": "Zhang San",
        "legal_name": "NewCo Shenzhen Ltd",
        "address": "8 Science Park, Shenzhen",
        "country": "CN",
        "registration_number": make_uscc(900_001),
        "billing_email": "billing@newco.example",
        "directors": [{"name": "Zhang San", "title": "Legal representative"}],
    }
    body.update(overrides)
    return body


def test_sign_up_without_credentials_creates_a_pending_client_and_its_admin(api):
    response = api().post("/api/v1/sign-up/", _sign_up_body(), format="json")

    assert response.status_code == 201, response.data
    assert response.data["client"]["status"] == "pending"
    assert response.data["user"]["role"] == "client_admin"
    user = User.objects.get(email="founder@newco.example")
    assert user.client.legal_name == "NewCo Shenzhen Ltd"
    assert user.client.directors.count() == 1
    assert "password" not in response.data["user"]


def test_sign_up_with_an_invalid_registration_number_names_the_field_and_article(api):
    response = api().post(
        "/api/v1/sign-up/", _sign_up_body(registration_number="123"), format="json"
    )

    assert response.status_code == 400
    fields = {e["field"] for e in response.data["errors"]}
    assert "registration_number" in fields
    assert not User.objects.filter(email="founder@newco.example").exists()


def test_sign_up_twice_for_the_same_company_is_refused(api, cm):
    existing = ClientFactory(provider=cm)

    response = api().post(
        "/api/v1/sign-up/",
        _sign_up_body(registration_number=existing.registration_number),
        format="json",
    )

    assert response.status_code == 400
    error = next(e for e in response.data["errors"] if e["field"] == "registration_number")
    assert "29.7" in error["message"]


def test_sign_up_reports_nested_director_errors_by_index(api):
    response = api().post(
        "/api/v1/sign-up/", _sign_up_body(directors=[{"name": "", "title": "CEO"}]), format="json"
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "directors[0].name"
    assert response.data["errors"][0]["code"] == "blank"

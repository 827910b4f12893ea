"""API: the signed-in user, a client's users and invitations (art. 5.2)."""

import pytest

from accounts.models import Invitation, User
from accounts.services import users
from tests.accounts.factories import ClientAdminFactory, ClientViewerFactory

pytestmark = pytest.mark.django_db


def test_me_shows_the_signed_in_user_and_its_client(api, client_viewer, client_company):
    response = api(client_viewer).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.data["email"] == client_viewer.email
    assert response.data["role"] == "client_viewer"
    assert response.data["client"] == client_company.pk
    assert response.data["client_name"] == client_company.legal_name
    assert response.data["is_client_admin"] is False


def test_me_for_staff_has_no_client(api, billing_staff):
    response = api(billing_staff).get("/api/v1/me/")

    assert response.data["client"] is None
    assert response.data["is_provider_staff"] is True


def test_me_without_credentials_answers_401_in_the_error_shape(api):
    response = api().get("/api/v1/me/")

    assert response.status_code == 401
    assert response.data["errors"][0]["code"] == "not_authenticated"
    assert response.data["errors"][0]["field"] is None


def test_a_client_admin_lists_only_its_own_users(api, client_admin, client_viewer, other_admin):
    response = api(client_admin).get("/api/v1/users/")

    assert response.status_code == 200
    assert {u["email"] for u in response.data["results"]} == {
        client_admin.email,
        client_viewer.email,
    }


def test_a_client_viewer_may_not_list_users(api, client_viewer):
    assert api(client_viewer).get("/api/v1/users/").status_code == 403


def test_another_clients_user_answers_404(api, client_admin, other_admin):
    assert api(client_admin).get(f"/api/v1/users/{other_admin.pk}/").status_code == 404
    assert (
        api(client_admin)
        .patch(f"/api/v1/users/{other_admin.pk}/", {"role": "client_viewer"})
        .status_code
        == 404
    )
    assert api(client_admin).delete(f"/api/v1/users/{other_admin.pk}/").status_code == 404
    other_admin.refresh_from_db()
    assert other_admin.is_active and other_admin.role == User.Role.CLIENT_ADMIN


def test_staff_users_are_not_reachable_through_the_users_endpoint(api, client_admin, billing_staff):
    assert api(billing_staff).get(f"/api/v1/users/{billing_staff.pk}/").status_code == 404


def test_a_client_admin_changes_a_users_role(api, client_admin, client_viewer):
    response = api(client_admin).patch(
        f"/api/v1/users/{client_viewer.pk}/", {"role": "client_admin"}
    )

    assert response.status_code == 200
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_ADMIN


def test_a_user_cannot_be_made_staff_through_a_role_change(api, client_admin, client_viewer):
    response = api(client_admin).patch(
        f"/api/v1/users/{client_viewer.pk}/", {"role": "billing_staff"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "role"
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_VIEWER


def test_the_last_admin_cannot_demote_itself(api, client_admin):
    response = api(client_admin).patch(
        f"/api/v1/users/{client_admin.pk}/", {"role": "client_viewer"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "role"


def test_a_client_admin_removes_a_user_who_is_kept_deactivated(api, client_admin, client_company):
    viewer = ClientViewerFactory(client=client_company)

    response = api(client_admin).delete(f"/api/v1/users/{viewer.pk}/")

    assert response.status_code == 204
    viewer.refresh_from_db()
    assert viewer.is_active is False


def test_a_client_admin_invites_an_employee(
    api, client_admin, client_company, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(client_admin).post(
            "/api/v1/invitations/", {"email": "New.Hire@Client.example", "role": "client_viewer"}
        )

    assert response.status_code == 201, response.data
    assert response.data["client"] == client_company.pk
    assert response.data["email"] == "new.hire@client.example"
    assert "token" not in response.data and "token_hash" not in response.data
    assert [m.to for m in mailoutbox] == [["new.hire@client.example"]]


def test_an_invitation_for_another_client_answers_404(api, client_admin, other_company):
    response = api(client_admin).post(
        "/api/v1/invitations/",
        {"email": "x@y.example", "role": "client_viewer", "client": other_company.pk},
    )

    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_an_invitation_without_a_role_names_the_field(api, client_admin):
    response = api(client_admin).post("/api/v1/invitations/", {"email": "x@y.example"})

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "role"


def test_billing_staff_invite_a_company_to_register(api, billing_staff):
    response = api(billing_staff).post(
        "/api/v1/invitations/", {"email": "ceo@prospect.example", "provider": "cxengage-nl"}
    )

    assert response.status_code == 201, response.data
    assert response.data["client"] is None
    assert response.data["provider"] == "cxengage-nl"


def test_a_client_admin_may_not_invite_a_company_to_register(api, client_admin):
    response = api(client_admin).post(
        "/api/v1/invitations/", {"email": "ceo@prospect.example", "provider": "cm-cn"}
    )

    assert response.status_code == 403
    assert response.data["errors"][0]["code"] == "not_allowed"


def test_invitations_list_only_the_clients_own(
    api, client_admin, other_admin, client_company, other_company
):
    mine, _ = users.user_invite(
        client=client_company, email="a@x.example", role="client_viewer", acting_user=client_admin
    )
    users.user_invite(
        client=other_company, email="b@x.example", role="client_viewer", acting_user=other_admin
    )

    response = api(client_admin).get("/api/v1/invitations/")

    assert [i["id"] for i in response.data["results"]] == [mine.pk]


def test_an_invited_employee_accepts_without_credentials(api, client_admin, client_company):
    _, raw = users.user_invite(
        client=client_company, email="new@x.example", role="client_viewer", acting_user=client_admin
    )

    response = api().post(
        "/api/v1/invitations/accept/",
        {"token": raw, "full_name": "New Hire", "password": "a-long-enough-passphrase"},
    )

    assert response.status_code == 201, response.data
    user = User.objects.get(email="new@x.example")
    assert user.client == client_company and user.role == User.Role.CLIENT_VIEWER


def test_a_used_invitation_is_refused(api, client_admin, client_company):
    _, raw = users.user_invite(
        client=client_company, email="new@x.example", role="client_viewer", acting_user=client_admin
    )
    body = {"token": raw, "full_name": "New Hire", "password": "a-long-enough-passphrase"}
    api().post("/api/v1/invitations/accept/", body)

    response = api().post("/api/v1/invitations/accept/", body)

    assert response.status_code == 400
    assert response.data["errors"][0] == {
        "code": "invalid_invitation",
        "message": "This invitation is invalid, used or expired.",
        "field": "token",
    }


def test_staff_list_users_of_a_client_by_filter(
    api, billing_staff, client_admin, other_admin, other_company
):
    ClientAdminFactory(client=other_company)

    response = api(billing_staff).get("/api/v1/users/", {"client": other_company.pk})

    assert len(response.data["results"]) == 2
    assert all(u["client"] == other_company.pk for u in response.data["results"])

"""Pages: the client's users (art. 5.2): invitations, role changes, removal, tenant isolation."""

import pytest
from django.urls import reverse

from accounts.models import (
    Invitation,
    User,
)

pytestmark = pytest.mark.django_db


# --- Users ---------------------------------------------------------------------------------
def test_client_admin_invites_a_user(as_user, client_admin):
    c = as_user(client_admin)
    response = c.post(
        reverse("user_invite"),
        {"email": "colleague@client.example", "role": User.Role.CLIENT_VIEWER},
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(
        email="colleague@client.example", client=client_admin.client
    ).exists()


def test_invite_refusal_is_shown_on_the_email_field(as_user, client_admin, other_admin):
    response = as_user(client_admin).post(
        reverse("user_invite"), {"email": other_admin.email, "role": User.Role.CLIENT_VIEWER}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_client_admin_changes_a_role_and_removes_a_user(as_user, client_admin, client_viewer):
    c = as_user(client_admin)
    c.post(reverse("user_change_role", args=[client_viewer.pk]), {"role": User.Role.CLIENT_ADMIN})
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_ADMIN
    c.post(reverse("user_remove", args=[client_viewer.pk]))
    client_viewer.refresh_from_db()
    assert not client_viewer.is_active


def test_viewer_sees_users_read_only(as_user, client_viewer, client_admin):
    c = as_user(client_viewer)
    page = c.get(reverse("users"))
    assert page.status_code == 200
    assert "Invite a colleague" not in page.content.decode()
    assert (
        c.post(
            reverse("user_invite"), {"email": "x@y.example", "role": "client_viewer"}
        ).status_code
        == 403
    )
    assert c.post(reverse("user_remove", args=[client_admin.pk])).status_code == 403


def test_another_clients_user_answers_404(as_user, client_admin, other_admin):
    c = as_user(client_admin)
    assert c.post(reverse("user_remove", args=[other_admin.pk])).status_code == 404
    assert (
        c.post(
            reverse("user_change_role", args=[other_admin.pk]), {"role": "client_viewer"}
        ).status_code
        == 404
    )
    other_admin.refresh_from_db()
    assert other_admin.is_active

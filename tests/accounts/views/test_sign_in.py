"""Pages: sign-in by email, the lockout, sign-out, password reset and the staff's second factor."""

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


# --- Sign-in, lockout, two-factor ----------------------------------------------------------
def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_sign_in_page_asks_for_email(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b">Email<" in response.content or b"Email:" in response.content


def test_client_admin_signs_in_by_email_and_sees_dashboard(client, client_admin):
    response = client.post(
        reverse("login"), {"email": client_admin.email, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert client_admin.client.legal_name in response.content.decode()


def test_sign_in_locks_after_five_failures(client, client_admin):
    for _ in range(4):
        response = client.post(
            reverse("login"), {"email": client_admin.email, "password": "wrong-password"}
        )
        assert response.status_code == 200
    fifth = client.post(
        reverse("login"), {"email": client_admin.email, "password": "wrong-password"}
    )
    assert fifth.status_code == 429
    assert "Too many failed sign-ins" in fifth.content.decode()
    # the right password does not get through while the lock lasts
    response = client.post(reverse("login"), {"email": client_admin.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_email_address(client, client_admin, client_viewer):
    for _ in range(5):
        client.post(reverse("login"), {"email": client_admin.email, "password": "wrong-password"})
    response = client.post(reverse("login"), {"email": client_viewer.email, "password": PASSWORD})
    assert response.status_code == 302


def test_logout_is_a_post(client, client_admin):
    client.force_login(client_admin)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_emails_a_link(client, client_admin):
    response = client.post(reverse("password_reset"), {"email": client_admin.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
    assert client.get(reverse("password_reset_done")).status_code == 200


def test_unverified_staff_are_sent_to_two_factor(client, billing_staff):
    client.force_login(billing_staff)
    response = client.get(reverse("client_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor"))


def test_staff_without_device_enrol_with_qr_code_and_confirm(client, billing_staff):
    client.force_login(billing_staff)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=billing_staff, confirmed=False)
    response = client.post(
        reverse("two_factor") + "?next=/accounts/clients/", {"code": f"{totp(device.bin_key):06d}"}
    )
    assert response.status_code == 302
    assert response.url == "/accounts/clients/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("client_list")).status_code == 200


def test_staff_with_device_are_asked_for_the_code_and_a_wrong_one_fails(client, billing_staff):
    device = TOTPDevice.objects.create(user=billing_staff, name="phone", confirmed=True)
    client.force_login(billing_staff)
    page = client.get(reverse("two_factor"))
    assert "<svg" not in page.content.decode()
    wrong = (totp(device.bin_key) + 1) % 1_000_000
    response = client.post(reverse("two_factor"), {"code": f"{wrong:06d}"})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get(reverse("client_list")).status_code == 302

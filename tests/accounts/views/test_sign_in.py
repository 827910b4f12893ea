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


# --- Password reset: rate-limited per address and per IP address ---------------------------
def _reset(client, email, ip="127.0.0.1"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_n_plus_one_reset_requests_for_one_address_send_n_emails(settings, client, client_admin):
    settings.PORTAL_PASSWORD_RESETS_PER_ADDRESS_HOUR = 5
    answers = [_reset(client, client_admin.email, ip=f"198.51.100.{i}") for i in range(6)]
    # the same neutral answer every time; the sixth sends nothing
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, reverse("password_reset_done"))
    }
    assert len(mail.outbox) == 5
    # the address is counted however it is spelled
    _reset(client, client_admin.email.upper(), ip="198.51.100.99")
    assert len(mail.outbox) == 5


def test_reset_requests_from_one_ip_address_are_limited_across_addresses(
    settings, client, client_admin, client_viewer
):
    settings.PORTAL_PASSWORD_RESETS_PER_IP_HOUR = 20
    for i in range(19):
        _reset(client, f"nobody{i}@example.com")  # unknown addresses count too
    _reset(client, client_admin.email)
    assert len(mail.outbox) == 1
    over = _reset(client, client_viewer.email)
    assert over.status_code == 302 and over["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    # another IP address is not held back
    _reset(client, client_viewer.email, ip="198.51.100.7")
    assert [m.to for m in mail.outbox] == [[client_admin.email], [client_viewer.email]]


def test_the_default_reset_limits_are_five_per_address_and_twenty_per_ip(settings):
    assert settings.PORTAL_PASSWORD_RESETS_PER_ADDRESS_HOUR == 5
    assert settings.PORTAL_PASSWORD_RESETS_PER_IP_HOUR == 20


def test_a_reset_still_works_when_the_cache_is_down(monkeypatch, client, client_admin):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "add", down)
    assert _reset(client, client_admin.email).status_code == 302
    assert len(mail.outbox) == 1


# --- Lockout: password spraying across usernames from one IP address ------------------------
def _sign_in(client, email, password, ip="127.0.0.1"):
    return client.post(reverse("login"), {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_spraying_one_password_across_many_usernames_from_one_ip_is_locked_out(
    settings, client, client_admin
):
    assert settings.PORTAL_AXES_IP_FAILURE_LIMIT == 20
    answers = [
        _sign_in(client, f"user{i}@example.com", "Summer2026!", ip="203.0.113.5") for i in range(20)
    ]
    assert [a.status_code for a in answers[:19]] == [200] * 19
    assert answers[19].status_code == 429
    # the right password of a real user from that address does not get through now
    locked = _sign_in(client, client_admin.email, PASSWORD, ip="203.0.113.5")
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    # from another address the same user signs in
    other = _sign_in(client, client_admin.email, PASSWORD, ip="198.51.100.20")
    assert other.status_code == 302 and "_auth_user_id" in client.session


def test_a_few_typos_by_colleagues_behind_one_address_lock_no_one_else_out(
    client, client_admin, client_viewer
):
    for i in range(4):
        _sign_in(client, f"colleague{i}@example.com", "typo-password")
        _sign_in(client, f"colleague{i}@example.com", "typo-password")
    # 8 failures from the address: under the address's limit, so another user signs in
    assert _sign_in(client, client_viewer.email, PASSWORD).status_code == 302


def test_a_sprayer_cannot_reset_its_addresss_count_by_signing_in_to_its_own_account(
    client, client_admin
):
    for i in range(19):
        _sign_in(client, f"user{i}@example.com", "Summer2026!", ip="203.0.113.5")
    # the sprayer holds one valid account and signs in with it
    assert _sign_in(client, client_admin.email, PASSWORD, ip="203.0.113.5").status_code == 302
    client.logout()
    assert (
        _sign_in(client, "user99@example.com", "Summer2026!", ip="203.0.113.5").status_code == 429
    )

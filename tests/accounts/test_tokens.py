"""Staff API tokens do not skip the second factor (issue 10, section 5): issued only after a
TOTP check, and limited in lifetime; client and platform tokens are unchanged."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.kernel.errors import NotAllowed
from accounts.models import ApiToken
from accounts.tokens import api_token_authenticate, api_token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(billing_staff):
    return TOTPDevice.objects.create(user=billing_staff, name="phone", confirmed=True)


@pytest.mark.parametrize("code", [None, "", "000000x", "123456"])
def test_a_staff_token_without_the_current_totp_code_is_refused_and_nothing_is_stored(
    billing_staff, device, code
):
    with pytest.raises(NotAllowed) as refused:
        api_token_issue(user=billing_staff, otp_code=code)
    assert refused.value.field == "otp_code"
    assert not ApiToken.objects.filter(user=billing_staff).exists()


def test_a_staff_token_is_issued_after_the_totp_check_and_expires(billing_staff, device, settings):
    settings.PORTAL_STAFF_TOKEN_HOURS = 12
    before = timezone.now()
    token, raw = api_token_issue(user=billing_staff, otp_code=f"{totp(device.bin_key):06d}")
    assert (
        before + dt.timedelta(hours=12)
        <= token.expires_at
        <= timezone.now() + dt.timedelta(hours=12)
    )
    assert api_token_authenticate(raw) == billing_staff
    # once expired, the API refuses it
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert api_token_authenticate(raw) is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/clients/").status_code == 401


def test_client_tokens_need_no_second_factor_and_do_not_expire(client_admin):
    token, raw = api_token_issue(user=client_admin)
    assert token.expires_at is None
    assert api_token_authenticate(raw) == client_admin


def test_issue_token_asks_staff_for_the_code(billing_staff, device, capsys):
    with pytest.raises(CommandError, match="second-factor"):
        call_command("issue_token", billing_staff.email)
    call_command("issue_token", billing_staff.email, "--totp", f"{totp(device.bin_key):06d}")
    assert ApiToken.objects.get(user=billing_staff).expires_at is not None
    assert "expires at" in capsys.readouterr().err

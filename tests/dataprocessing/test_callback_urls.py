"""Status callback URLs supplied by clients never make the portal post into a private network."""

import pytest

from dataprocessing import services
from dataprocessing.models import DataSubjectRequest


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/dsr", "must use https"),
        ("https://127.0.0.1/dsr", "public address"),
        ("https://10.0.0.8/dsr", "public address"),
        ("https://169.254.169.254/latest/meta-data", "public address"),
        ("https://[::1]/dsr", "public address"),
        ("ftp://example.com/x", "absolute http(s) URL"),
    ],
)
def test_a_callback_to_a_private_or_plain_http_address_is_refused(settings, url, reason):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
    assert reason in services.callback_url_error(url)


def test_a_public_ip_over_https_is_allowed(settings):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
    assert services.callback_url_error("https://8.8.8.8/dsr-status") is None


@pytest.mark.django_db
def test_receiving_a_dsr_with_a_private_callback_is_refused_naming_the_field(
    settings, client_company, client_admin
):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
    with pytest.raises(services.ValidationFailed) as refused:
        services.dsr_receive(
            client=client_company,
            type="access",
            received_by="client",
            subject_reference="+8613800000000",
            acting_user=client_admin,
            status_callback_url="https://192.168.1.10/cb",
        )
    assert "status_callback_url" in refused.value.errors
    assert not DataSubjectRequest.objects.exists()

"""The breach countdown ticks in the page (issue 15 §5; art. 21.11's 48 hours): the server
renders the time left, and the page's script moves it with the clock, in the page's language."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Provider
from tests.accounts.factories import ClientFactory, ComplianceOfficerFactory
from tests.browser.test_onboarding import sign_in
from tests.conftest import PASSWORD
from tests.dataprocessing.factories import log_breach

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_breach_countdown_ticks(page):
    cm = Provider.objects.get(code="cm-cn")
    client = ClientFactory(provider=cm, legal_name="Jasmine Telecom Ltd")
    officer = ComplianceOfficerFactory(email="officer@provider.example", providers=[cm])
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    breach = log_breach(cm, officer, client)
    notice = breach.notifications.get(client=client)

    page.clock.install()
    sign_in(page, officer.email, PASSWORD)
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    page.goto(f"/data-processing/breaches/{breach.pk}/")

    countdown = page.get_by_test_id(f"notice-{client.pk}").locator(".countdown")
    # detected two hours ago: about 46 hours are left, as the server rendered it
    expect(countdown).to_have_text(re.compile(r"^4[56] h \d\d min left$"))
    before = countdown.inner_text()

    # when: three hours pass in the page's clock
    page.clock.fast_forward("03:00:00")

    # then: the script has moved the countdown on, without a reload
    expect(countdown).not_to_have_text(before)
    expect(countdown).to_have_text(re.compile(r"^4[23] h \d\d min left$"))
    assert notice.deadline is not None

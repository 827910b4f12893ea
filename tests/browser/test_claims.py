"""Force majeure and a loss claim in a real browser: billing staff (TOTP verified) log a
situation of force majeure and send the client its notice from the countdown table; the client
admin sees the notice and reports a loss against the provider, with both deadlines of art. 13.6
and the liability cap of art. 13.4 on the claim page."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import ForceMajeureNotice, Provider
from billing.models import ExchangeRate, LossClaim
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
)
from tests.browser.test_onboarding import sign_in, sign_out
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_staff_send_a_force_majeure_notice_and_the_client_reports_a_loss(page, artifacts):
    cm = Provider.objects.get(code="cm-cn")
    company = ClientFactory(provider=cm, legal_name="Lotus Messaging (Shenzhen) Ltd")
    AgreementFactory(client=company)
    admin = ClientAdminFactory(client=company, email="admin@lotus.example")
    staff = BillingStaffFactory(email="billing@provider.example", providers=[cm])
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    ExchangeRate.objects.create(
        base_currency="EUR",
        quote_currency="CNY",
        rate=Decimal("7.8"),
        valid_from=timezone.localdate() - dt.timedelta(days=30),
    )
    yesterday = timezone.localtime(timezone.now() - dt.timedelta(days=1), ZoneInfo(cm.timezone))

    # given: billing staff sign in with the second factor
    sign_in(page, staff.email, PASSWORD)
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")

    # when: they log a situation of force majeure for the client, by its number
    page.get_by_role("link", name="Force majeure (art. 14)").click()
    page.locator("summary", has_text="New situation").click()
    page.get_by_label("Arose at").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Description").fill("Operator network outage in Guangdong")
    page.get_by_label("Services affected").fill("SMS to China Mobile numbers")
    page.get_by_label("Affected clients").fill(str(company.pk))
    page.get_by_test_id("fm-submit").click()
    expect(page.locator(".messages")).to_contain_text("Force majeure logged")

    # then: the situation shows a working-day countdown to the client's notice; staff send it
    page.get_by_test_id("force-majeure-list").get_by_role("link").first.click()
    row = page.get_by_test_id(f"fm-notice-{company.pk}")
    expect(row).to_contain_text(re.compile(r"\d+ working days? left"))
    expect(page.get_by_test_id("termination-right")).to_contain_text("20 working days")
    row.locator("summary", has_text="Notify client").click()
    row.get_by_label("Message").fill("Our SMS service to China Mobile is interrupted.")
    row.get_by_role("button", name="Send notice to the client").click()
    expect(page.locator(".messages")).to_contain_text("notified")
    expect(page.get_by_test_id(f"fm-notice-{company.pk}")).to_contain_text("Notified")
    assert ForceMajeureNotice.objects.get(client=company).notified_at is not None
    page.screenshot(path=str(artifacts / "force_majeure.png"), full_page=True)
    sign_out(page)

    # when: the client admin reads the notice and reports a loss against the provider
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Force majeure notices").click()
    expect(page.get_by_test_id("force-majeure-notices")).to_contain_text(
        "Our SMS service to China Mobile is interrupted."
    )
    page.goto("/")
    page.get_by_role("link", name="Loss claims").click()
    page.locator("summary", has_text="New claim").click()
    page.get_by_label("Description").fill("A campaign of 20,000 messages was not delivered")
    page.get_by_label("The loss arose at").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Amount claimed").fill("1200.00")
    page.get_by_test_id("claim-submit").click()

    # then: the claim page shows both deadlines and the liability cap
    expect(page.locator(".messages")).to_contain_text("10 working days to remedy")
    expect(page.get_by_test_id("report-deadline")).to_contain_text("CST")
    expect(page.get_by_test_id("remedy-deadline")).to_contain_text("CST")
    expect(page.get_by_test_id("liability-cap")).to_contain_text("Remaining")
    claim = LossClaim.objects.get()
    assert claim.client == company and claim.against == "provider" and not claim.late
    page.screenshot(path=str(artifacts / "loss_claim.png"), full_page=True)

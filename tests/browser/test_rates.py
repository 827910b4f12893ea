"""Issue 12 §1-§2 in a real browser: billing staff see that no late-interest rate is in force
for cm-cn, enter the provider's rate on the rates page and the notice goes (art. 4.6); they
change a fixed price for an operator's rate change and the client sees it listed with its cause
(art. 4.4)."""

import datetime as dt
import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.kernel.dates import local_date
from accounts.models import Provider
from billing.invoicing.services import prices as price_services
from billing.models import InterestRate
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.invoicing.factories import company
from tests.conftest import PASSWORD

from .test_onboarding import sign_in, sign_out

# serialized_rollback: keep the seeded provider profiles for later tests (see test_onboarding).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_staff_enter_the_missing_interest_rate_and_change_a_fixed_price_the_client_sees(
    page, artifacts
):
    # given: a cm-cn client with a fixed SMS price, and no late-interest rate for cm-cn
    cm = Provider.objects.get(code="cm-cn")
    client = company(cm, legal_name="Pearl River Messaging Co., Ltd.")
    admin = ClientAdminFactory(client=client, email="li.na@pearl.example")
    staff = BillingStaffFactory(email="billing@provider.example")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    today = local_date(cm)
    price_services.price_set(
        client=client,
        channel="sms",
        unit_price="0.040000",
        valid_from=today.replace(day=1),
        fixed=True,
        agreement_reference="Agreement §3",
        acting_user=staff,
    )

    # when: billing staff sign in
    sign_in(page, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")

    # then: the dashboard says prominently that no rate is in force for cm-cn
    alert = page.get_by_test_id("interest-rate-alert").filter(has_text="CM Telecom")
    expect(alert).to_contain_text("No late-interest rate is in force today")

    # when: they enter the provider's rate from the notice's link
    alert.get_by_role("link", name="Enter the rate").click()
    page.select_option("#id_rate-provider", label=cm.name)
    page.fill("#id_rate-valid_from", today.replace(day=1).isoformat())
    page.fill("#id_rate-annual_rate_pct", "6")
    page.click("button:has-text('Enter rate')")

    # then: the rate is on record and the notice for cm-cn is gone
    expect(page.locator(".messages")).to_contain_text("cm-cn: 6 % from")
    assert InterestRate.objects.get(provider=cm).annual_rate_pct == 6
    expect(page.get_by_test_id("interest-rate-alert").filter(has_text="CM Telecom")).to_have_count(
        0
    )

    # when: they change the fixed SMS price for an operator's rate change, effective next month
    page.goto(f"/billing/prices/?client={client.pk}")
    effective = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    page.select_option("#id_change-channel", "sms")
    page.fill("#id_change-unit_price", "0.045")
    page.fill("#id_change-valid_from", effective.isoformat())
    page.select_option("#id_change-cause", "operator_rate")
    page.fill("#id_change-explanation", "China Mobile raises its A2P termination rate.")
    page.click("button:has-text('Change price and tell the client')")
    expect(page.locator(".messages")).to_contain_text("the client is told now")
    sign_out(page)

    # then: the client sees the change with its cause and the date it takes effect
    sign_in(page, admin.email, PASSWORD)
    page.goto("/billing/prices/")
    row = page.get_by_test_id("price-change-row").first
    expect(row).to_contain_text("Rate change by an Operator (art. 4.4)")
    expect(row).to_contain_text("China Mobile")
    expect(row).to_contain_text("emailed")
    expect(page.get_by_test_id("price-row")).to_have_count(2)
    page.screenshot(path=str(artifacts / "client_prices.png"), full_page=True)

"""The onboarding journey in a real browser: sign up, pending, staff approve with TOTP, active."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Client, Provider
from tests.accounts.factories import BillingStaffFactory, make_uscc
from tests.conftest import PASSWORD

# serialized_rollback: the flush after a live-server test would otherwise remove the
# provider profiles that the data migration seeds and that later tests rely on.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def sign_in(page, email, password):
    page.goto("/accounts/login/")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("button:has-text('Sign in')")


def sign_out(page):
    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_company_signs_up_is_approved_by_staff_and_sees_its_active_dashboard(page, artifacts):
    cm = Provider.objects.get(code="cm-cn")
    uscc = make_uscc(777_001)

    # given: a person registers its company
    page.goto("/accounts/sign-up/")
    page.fill("#id_full_name", "Chen Jing")
    page.fill("#id_email", "chen.jing@pearl-river.example")
    page.fill("#id_password1", "pearl-river-delta-2026")
    page.fill("#id_password2", "pearl-river-delta-2026")
    page.check(f"input[name=provider][value='{cm.pk}']")
    page.fill("#id_legal_name", "Pearl River Messaging Co., Ltd.")
    page.fill("#id_address", "18 Shennan Avenue, Futian, Shenzhen")
    page.fill("#id_country", "CN")
    page.fill("#id_registration_number", uscc)
    page.fill("#id_vat_number", uscc)
    page.fill("#id_billing_email", "finance@pearl-river.example")
    page.check("input[name=billing_mode][value=prepaid]")
    page.fill("#id_directors-0-name", "Chen Jing")
    page.fill("#id_directors-0-title", "Legal representative")
    page.fill("#id_directors-1-name", "Wu Hao")
    page.fill("#id_directors-1-title", "Director")
    page.click("button:has-text('Register company')")

    # then: it lands on its dashboard, pending approval
    expect(page.get_by_test_id("pending-notice")).to_contain_text("Pending approval")
    company = Client.objects.get(legal_name="Pearl River Messaging Co., Ltd.")
    assert company.status == Client.Status.PENDING
    assert company.directors.count() == 2
    page.screenshot(path=str(artifacts / "pending.png"), full_page=True)
    sign_out(page)

    # when: billing staff sign in with their second factor and approve the company
    staff = BillingStaffFactory(email="billing@provider.example")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    sign_in(page, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    expect(page.get_by_role("heading", name="Work queues")).to_be_visible()
    page.get_by_test_id("queue-pending").get_by_role(
        "link", name="Pearl River Messaging Co., Ltd."
    ).click()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("client-status")).to_have_text("Active")
    page.screenshot(path=str(artifacts / "staff_client_detail.png"), full_page=True)
    sign_out(page)

    # then: the client admin signs in and sees the active dashboard with its agreement
    sign_in(page, "chen.jing@pearl-river.example", "pearl-river-delta-2026")
    expect(page.get_by_test_id("client-status")).to_have_text("Active")
    expect(page.get_by_test_id("agreement-status")).to_contain_text("Active")
    expect(page.get_by_test_id("pending-notice")).to_have_count(0)
    expect(page.locator(".usermenu")).to_contain_text("Pearl River Messaging Co., Ltd.")
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    company.refresh_from_db()
    assert company.status == Client.Status.ACTIVE

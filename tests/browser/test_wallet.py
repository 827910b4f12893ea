"""The wallet journey in a real browser (issue 3, §7): a client admin sees its lots and asks for
a higher message limit, billing staff approve it in the queue (TOTP), the client sees the new limit."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.kernel.dates import local_date, local_midnight
from accounts.models import Provider
from billing.models import LimitIncreaseRequest, MessageAccount
from billing.prepaid.services.limits import message_account_for_client
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.conftest import PASSWORD

from .test_onboarding import sign_in, sign_out

# serialized_rollback: keep the seeded provider profiles for later tests (see test_onboarding).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_client_admin_sees_its_lots_asks_for_a_higher_limit_and_staff_approve_it(page, artifacts):
    # given: a prepaid client with a top-up received yesterday (usable) and one today (pending)
    cm = Provider.objects.get(code="cm-cn")
    company = prepaid_client(cm, legal_name="Lotus Bay Messaging Co., Ltd.")
    admin = ClientAdminFactory(
        client=company, email="liu.yang@lotus-bay.example", full_name="Liu Yang"
    )
    wallet = wallet_for_client(client=company)
    yesterday = local_date(cm) - dt.timedelta(days=1)
    top_up(
        wallet,
        "1200.00",
        local_midnight(cm, yesterday) + dt.timedelta(hours=10, minutes=30),
        reference="ICBC-20260001",
    )
    top_up(wallet, "300.00", timezone.now() - dt.timedelta(seconds=5), reference="ICBC-20260002")
    # some postpaid-style unpaid messages, so the gauge has something to show
    account = message_account_for_client(client=company)
    MessageAccount.objects.filter(pk=account.pk).update(unpaid_count=31_250)

    # when: the client admin opens the wallet from the dashboard
    sign_in(page, admin.email, PASSWORD)
    expect(page.get_by_test_id("dashboard-wallet")).to_contain_text("CNY 1,200.00")
    page.get_by_test_id("dashboard-wallet").get_by_role("link", name="Open").click()

    # then: the balance, usable now, pending and both lots are shown
    expect(page.get_by_role("heading", name="Wallet and message limit")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("CNY 1,500.00")
    expect(page.get_by_test_id("usable-now")).to_have_text("CNY 1,200.00")
    expect(page.get_by_test_id("pending")).to_have_text("CNY 300.00")
    rows = page.get_by_test_id("lot-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="ICBC-20260001")).to_contain_text("Usable")
    expect(rows.filter(has_text="ICBC-20260002")).to_contain_text("Pending")
    expect(page.get_by_test_id("limit-value")).to_have_text("50,000")
    expect(page.get_by_test_id("limit-gauge")).to_have_attribute("aria-valuenow", "31250")
    page.screenshot(path=str(artifacts / "wallet.png"), full_page=True)

    # when: it asks for a higher limit
    page.fill("#id_requested_limit", "120000")
    page.fill("#id_reason", "Singles' Day campaign: three times our usual SMS volume.")
    page.click("button:has-text('Request a higher limit')")
    expect(page.locator(".messages")).to_contain_text("is with billing staff")
    expect(page.get_by_test_id("limit-request-pending")).to_contain_text("120,000")
    request = LimitIncreaseRequest.objects.get(client=company)
    assert request.status == LimitIncreaseRequest.Status.PENDING
    sign_out(page)

    # when: billing staff sign in with their second factor and approve it in the queue
    staff = BillingStaffFactory(email="limits@provider.example")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    sign_in(page, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    expect(page.get_by_test_id("queue-limit-requests")).to_contain_text("1")
    page.get_by_role("link", name="Limit increase requests").click()
    row = page.get_by_test_id(f"limit-request-{request.pk}")
    expect(row).to_contain_text("Lotus Bay Messaging Co., Ltd.")
    expect(row).to_contain_text("50,000 → 120,000")
    row.locator("textarea[name='approve-note']").fill("Approved for Q4; payment record is good.")
    page.screenshot(path=str(artifacts / "limit_queue.png"), full_page=True)
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("Limit raised for Lotus Bay Messaging")
    expect(page.get_by_test_id(f"limit-request-{request.pk}")).to_have_count(0)

    # and: staff reach the client's wallet from the client detail page
    page.goto(f"/accounts/clients/{company.pk}/")
    page.get_by_test_id("client-wallet-link").click()
    expect(page.get_by_test_id("limit-value")).to_have_text("120,000")
    expect(page.get_by_test_id("staff-actions")).to_be_visible()
    page.get_by_text("Record a top-up (art. 29.1)").click()
    page.screenshot(path=str(artifacts / "staff_wallet.png"), full_page=True)
    sign_out(page)

    # then: the client sees the new limit and the approved request
    sign_in(page, admin.email, PASSWORD)
    page.goto("/billing/wallet/")
    expect(page.get_by_test_id("limit-value")).to_have_text("120,000")
    expect(page.get_by_test_id("limit-request-row").first).to_contain_text("Approved")
    expect(page.get_by_test_id("limit-request-row").first).to_contain_text(
        "Approved for Q4; payment record is good."
    )
    page.screenshot(path=str(artifacts / "wallet_after_approval.png"), full_page=True)
    assert MessageAccount.objects.get(client=company).limit == 120_000
    request.refresh_from_db()
    assert request.decided_by == staff

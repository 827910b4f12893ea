"""Data processing in a real browser: a compliance officer (TOTP verified) logs a data-subject
request, a client admin requests an audit, and each sees the other's item afterwards."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from dataprocessing.models import AuditRequest, DataSubjectRequest
from tests.accounts.factories import (
    AgreementFactory,
    ClientAdminFactory,
    ClientFactory,
    ComplianceOfficerFactory,
)
from tests.browser.test_onboarding import sign_in, sign_out
from tests.conftest import PASSWORD

# serialized_rollback: keep the seeded provider profiles for the tests that follow.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_compliance_officer_logs_a_dsr_and_a_client_admin_requests_an_audit(page, artifacts):
    company = ClientFactory(legal_name="Lotus Messaging (Shenzhen) Ltd")
    AgreementFactory(client=company)
    admin = ClientAdminFactory(client=company, email="admin@lotus.example")
    officer = ComplianceOfficerFactory(email="privacy@provider.example")
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)

    # given: the compliance officer signs in with the second factor
    sign_in(page, officer.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    page.get_by_test_id("compliance-dashboard-link").click()
    expect(page.get_by_role("heading", name="Compliance dashboard")).to_be_visible()

    # when: it logs a data-subject request received by the provider
    page.get_by_role("link", name="Data-subject requests").first.click()
    form = page.get_by_test_id("dsr-form")
    form.get_by_label("Client").fill(company.legal_name)  # found by name, never a list of all
    form.get_by_label("Type").select_option("erasure")
    form.get_by_label("Subject reference").fill("+86 138 0000 0000")
    form.get_by_role("button", name="Log request").click()

    # then: it is in the queue, and on the dashboard with its deadline in days
    expect(page.locator(".messages")).to_contain_text("Data-subject request logged")
    expect(page.get_by_test_id("dsr-list")).to_contain_text("+86 138 0000 0000")
    dsr = DataSubjectRequest.objects.get()
    assert dsr.client == company and dsr.received_by == "provider" and dsr.logged_by == officer
    page.get_by_role("link", name="Compliance dashboard").first.click()
    expect(page.get_by_test_id("open-items")).to_contain_text("Data-subject request")
    expect(page.get_by_test_id("open-items")).to_contain_text(re.compile(r"\d+ days"))
    page.screenshot(path=str(artifacts / "compliance_dashboard.png"), full_page=True)
    sign_out(page)

    # when: the client admin requests an audit from the portal
    start = timezone.localdate() + dt.timedelta(days=45)
    sign_in(page, admin.email, PASSWORD)
    page.get_by_test_id("data-protection-link").click()
    page.get_by_role("link", name="Audits").first.click()
    form = page.get_by_test_id("audit-request-form")
    form.get_by_label("Kind").select_option("audit")
    form.get_by_label("Proposed start").fill(start.isoformat())
    form.get_by_label("Auditor name").fill("Jan Jansen")
    form.get_by_label("Auditor firm").fill("Amstel Audit BV")
    form.get_by_label(re.compile("accredited external expert")).check()
    form.get_by_label(re.compile("auditor is not a competitor")).check()
    form.get_by_role("button", name="Send request").click()

    # then: the client sees its audit and the DSR the provider logged for it
    expect(page.locator(".messages")).to_contain_text("Request recorded")
    expect(page.get_by_test_id("audit-list")).to_contain_text("Jan Jansen")
    audit = AuditRequest.objects.get()
    assert audit.client == company and audit.requested_by == admin and audit.proposed_start == start
    page.get_by_role("link", name="Data-subject requests").first.click()
    expect(page.get_by_test_id("dsr-list")).to_contain_text("Erasure")
    page.screenshot(path=str(artifacts / "client_dsrs.png"), full_page=True)
    sign_out(page)

    # and: the compliance officer finds the audit request on the dashboard
    sign_in(page, officer.email, PASSWORD)
    page.fill("#id_code", f"{totp(device.bin_key, t0=-30):06d}")
    page.click("button:has-text('Verify')")
    page.goto("/data-processing/")
    items = page.get_by_test_id("open-items")
    expect(items).to_contain_text("Audit request")
    expect(items).to_contain_text(company.legal_name)
    expect(items).to_contain_text("working days")

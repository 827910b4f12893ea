"""The invoicing journey in a real browser (issue 4, §10): a cm-cn client admin opens its
invoices from the dashboard, downloads an invoice PDF, disputes an invoice within its payment
term and confirms another for fapiao."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.kernel.dates import local_date
from accounts.models import Provider
from billing.models import Dispute, FapiaoRequest
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.invoicing.factories import CHINESE_NAME, company, issued, line
from tests.conftest import PASSWORD

from .test_onboarding import sign_in

# serialized_rollback: keep the seeded provider profiles for later tests (see test_onboarding).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_client_admin_downloads_a_pdf_disputes_an_invoice_and_confirms_one_for_fapiao(
    page, artifacts
):
    # given: a cm-cn client with two invoices issued today
    cm = Provider.objects.get(code="cm-cn")
    client = company(cm, legal_name=CHINESE_NAME)
    admin = ClientAdminFactory(
        client=client, email="wang.fang@lanhai.example", full_name="Wang Fang"
    )
    staff = BillingStaffFactory()
    today = local_date(cm)
    march = issued(
        client, staff, [line("1000.00", description="SMS messages, March")], invoice_date=today
    )
    april = issued(
        client, staff, [line("2400.00", description="WhatsApp sessions, April")], invoice_date=today
    )

    # when: the client admin opens its invoices from the navigation
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.get_by_test_id("invoice-row")).to_have_count(2)

    # then: it downloads the PDF of the first invoice
    page.get_by_role("link", name=march.number).click()
    expect(page.get_by_test_id("lines")).to_contain_text("SMS messages, March")
    with page.expect_download() as download_info:
        page.get_by_test_id("pdf-link").click()
    download = download_info.value
    path = artifacts / download.suggested_filename
    download.save_as(path)
    assert download.suggested_filename == f"invoice-{march.number}.pdf"
    assert path.read_bytes().startswith(b"%PDF")

    # when: it disputes part of that invoice within the payment term
    expect(page.get_by_test_id("due-now")).to_have_text("CNY 1,060.00")
    page.get_by_text("Dispute this invoice").click()
    page.fill("#id_dispute-amount", "212.00")
    page.fill("#id_dispute-reason", "4,000 messages of 28 March were billed twice.")
    page.click("button:has-text('Raise the dispute')")

    # then: the dispute is shown and only the undisputed part is due now (art. 10.2)
    expect(page.locator(".messages")).to_contain_text("You may withhold")
    expect(page.get_by_test_id("dispute-row")).to_contain_text("CNY 212.00")
    expect(page.get_by_test_id("due-now")).to_have_text("CNY 848.00")
    page.screenshot(path=str(artifacts / "invoice-disputed.png"), full_page=True)
    dispute = Dispute.objects.get(invoice=march)
    assert dispute.amount == Decimal("212.00") and dispute.withholdable

    # when: it confirms the second invoice for fapiao
    page.get_by_role("link", name="← Invoices").click()
    page.get_by_role("link", name=april.number).click()
    page.click("button:has-text('Confirm for fapiao')")

    # then: the request is open, due 7 days later (art. 4.8)
    expect(page.locator(".messages")).to_contain_text("the fapiao is due by")
    expect(page.get_by_test_id("fapiao")).to_contain_text("Requested")
    expect(page.get_by_role("button", name="Confirm for fapiao")).to_have_count(0)
    request = FapiaoRequest.objects.get(invoice=april)
    assert request.due_at - request.confirmed_at == dt.timedelta(days=7)
    expect(page).to_have_url(re.compile(rf"/billing/invoices/{april.pk}/$"))
    page.screenshot(path=str(artifacts / "invoice-fapiao.png"), full_page=True)

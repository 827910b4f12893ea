"""The portal in Chinese in a real browser (issue 11): a cm-cn client admin with a Chinese browser
signs in on a Chinese sign-in page and reads the dashboard, the wallet, the invoice list and an
invoice in 简体中文, amounts as ¥1,200.00 and dates as 2026年3月2日; the invoice's PDF is headed in
Chinese and English; a dispute refused is explained in Chinese; the profile page switches the
portal to English. A Dutch user of cxengage-nl reads the same in Nederlands, PDF included."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.kernel.dates import local_date
from accounts.models import Provider
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.invoicing.factories import issued, line
from tests.conftest import PASSWORD

# serialized_rollback: keep the seeded provider profiles for later tests (see test_onboarding).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def zh_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_a_cm_client_admin_with_a_chinese_browser_reads_the_portal_in_chinese(zh_page, artifacts):
    # given: a prepaid cm-cn client with 1,200.00 usable and an invoice; its admin has made no
    # language choice, so the provider's default (简体中文) applies
    page = zh_page
    cm = Provider.objects.get(code="cm-cn")
    client = prepaid_client(cm, legal_name="深圳蓝海信息科技有限公司", language="")
    admin = ClientAdminFactory(client=client, email="li.na@lanhai.example", language="")
    top_up(
        wallet_for_client(client=client),
        "1200.00",
        timezone.now() - dt.timedelta(days=2),
        reference="ICBC-ZH-1",
    )
    today = local_date(cm)
    invoice = issued(client, BillingStaffFactory(), [line("1000.00")], invoice_date=today)

    # when: the admin opens the sign-in page; the browser's language decides before sign-in
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.fill("#id_email", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('登录')")

    # then: the dashboard is in Chinese, with the wallet's amount written the Chinese way
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_text("公司状态")).to_be_visible()
    wallet_card = page.get_by_test_id("dashboard-wallet")
    expect(wallet_card).to_contain_text("钱包和消息限额")
    expect(wallet_card).to_contain_text("¥1,200.00")
    page.screenshot(path=str(artifacts / "dashboard-zh.png"), full_page=True)

    # when: it opens the wallet from the dashboard card
    wallet_card.get_by_role("link", name="查看").click()

    # then: the wallet's headings, amounts and dates are in Chinese
    expect(page.get_by_role("heading", name="钱包和消息限额")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("¥1,200.00")
    purchased = today - dt.timedelta(days=2)
    expect(page.get_by_test_id("lot-row")).to_contain_text(
        f"{purchased.year}年{purchased.month}月{purchased.day}日"
    )
    expect(page.get_by_test_id("lot-row")).to_contain_text("可用")

    # when: it opens its invoices from the navigation
    page.get_by_role("navigation").get_by_role("link", name="发票").click()

    # then: the list is in Chinese with the total in yuan
    expect(page.get_by_role("heading", name="发票")).to_be_visible()
    row = page.get_by_test_id("invoice-row")
    expect(row).to_contain_text(invoice.number)
    expect(row).to_contain_text(f"¥{invoice.total:,.2f}")
    expect(row).to_contain_text("已开具")
    page.screenshot(path=str(artifacts / "invoices-zh.png"), full_page=True)

    # when: it opens the invoice
    row.get_by_role("link", name=invoice.number).click()

    # then: the invoice page is in Chinese, and its PDF is headed in Chinese and English
    expect(page.get_by_role("heading", name=f"发票 {invoice.number}")).to_be_visible()
    expect(page.get_by_test_id("lines")).to_contain_text("小计（不含增值税）")
    pdf = page.request.get(page.get_by_test_id("pdf-link").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "发票" in text and "Invoice" in text and "付款方" in text and "bill to" in text.lower()
    assert "银行手续费由付款方承担" in text

    # when: it disputes more than the invoice's total
    page.get_by_text("对本发票提出异议").click()
    page.fill("#id_dispute-amount", "999999.00")
    page.fill("#id_dispute-reason", "数量与平台统计不符")
    page.get_by_role("button", name="提出异议").click()

    # then: the refusal is in Chinese, on the form
    expect(page.get_by_text("超过发票总额")).to_be_visible()
    page.screenshot(path=str(artifacts / "dispute-refused-zh.png"), full_page=True)

    # when: it switches to English on its profile page
    page.get_by_test_id("profile-link").click()
    page.select_option("#id_language", "en")
    page.get_by_test_id("language-form").get_by_role("button", name="保存").click()

    # then: the portal is in English from then on
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"/billing/invoices/{invoice.pk}/")
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()


def test_a_dutch_user_of_cxengage_reads_dashboard_and_wallet_in_dutch(page, artifacts):
    # given: a prepaid cxengage-nl client whose admin chose Nederlands (the provider's default
    # is English, Dutch is offered)
    cx = Provider.objects.get(code="cxengage-nl")
    client = prepaid_client(cx, legal_name="Zuidas Berichten B.V.", language="nl")
    admin = ClientAdminFactory(client=client, email="sanne@zuidas.example", language="nl")
    top_up(wallet_for_client(client=client), "1200.00", timezone.now() - dt.timedelta(days=2))

    # when: the admin signs in from an English browser
    page.goto("/accounts/login/")
    page.fill("#id_email", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")

    # then: after sign-in its own choice wins: the dashboard and wallet are Dutch
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    wallet_card = page.get_by_test_id("dashboard-wallet")
    expect(wallet_card).to_contain_text("Tegoed en berichtlimiet")
    expect(wallet_card).to_contain_text("US$\xa01.200,00")
    wallet_card.get_by_role("link", name="Openen").click()
    expect(page.get_by_role("heading", name="Tegoed en berichtlimiet")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("US$\xa01.200,00")
    expect(page.get_by_role("heading", name="Tegoedpartijen")).to_be_visible()
    page.screenshot(path=str(artifacts / "wallet-nl.png"), full_page=True)

    # when: it opens an invoice of its own
    invoice = issued(client, BillingStaffFactory(), [line("1000.00")], invoice_date=local_date(cx))
    page.goto(f"/billing/invoices/{invoice.pk}/")

    # then: the page is Dutch, and the PDF is Dutch only (cxengage-nl's terms are one language)
    expect(page.get_by_role("heading", name=f"Factuur {invoice.number}")).to_be_visible()
    expect(page.get_by_test_id("lines")).to_contain_text("Subtotaal exclusief btw")
    pdf = page.request.get(page.get_by_test_id("pdf-link").get_attribute("href"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Factuur" in text and "Vervaldatum" in text and "Invoice" not in text

    # when: it disputes more than the total, the refusal is Dutch
    page.get_by_text("Deze factuur betwisten").click()
    page.fill("#id_dispute-amount", "999999.00")
    page.fill("#id_dispute-reason", "Het aantal klopt niet met het platform")
    page.get_by_role("button", name="Geschil indienen").click()
    expect(page.get_by_text("Meer dan het factuurtotaal")).to_be_visible()

    # when: it switches to English on its profile page, the portal is English
    page.get_by_test_id("profile-link").click()
    page.select_option("#id_language", "en")
    page.get_by_test_id("language-form").get_by_role("button", name="Opslaan").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

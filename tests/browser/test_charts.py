"""The pictures in a real browser (issue 15 §1): the wallet and the dashboard draw their charts
as SVG without any script, each with its numbers as a table that opens under "Show the numbers";
axe-core finds nothing wrong with them."""

import datetime as dt
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Provider
from billing.models import UsageRecord
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.browser.test_onboarding import sign_in
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_wallet_draws_its_charts_with_their_tables(page, artifacts):
    cm = Provider.objects.get(code="cm-cn")
    client = prepaid_client(cm, legal_name="Camellia Messaging Ltd")
    admin = ClientAdminFactory(client=client, email="admin@camellia.example")
    wallet = wallet_for_client(client=client)
    now = timezone.now()
    top_up(wallet, "500.00", now - dt.timedelta(days=20))
    for day in range(1, 15):
        UsageRecord.objects.create(
            record_id=f"chart-{day}",
            client=client,
            channel="sms" if day % 3 else "whatsapp",
            message_count=100 * day,
            amount=Decimal("1.00"),
            currency="CNY",
            prepaid=True,
            occurred_at=now - dt.timedelta(days=day),
        )
        wallet_debit(
            wallet=wallet,
            amount=Decimal("10.00"),
            idempotency_key=f"chart-debit-{day}",
            cause="usage",
            at=now - dt.timedelta(days=day, hours=-1),
        )

    # given: the client admin opens the wallet
    sign_in(page, admin.email, PASSWORD)
    page.goto("/billing/wallet/")

    # then: four charts are drawn as images with a name, no script involved
    figures = page.locator("figure.chart")
    expect(figures).to_have_count(4)
    expect(page.locator("figure.chart svg[role=img]")).to_have_count(4)
    expect(page.locator("figure.chart svg rect").first).to_be_visible()
    expect(page.locator("figure.chart polyline.line")).to_have_count(1)
    assert page.evaluate("document.scripts.length") == 0

    # when: the reader opens the numbers of the daily usage
    usage = figures.filter(has_text="Messages per day")
    usage.get_by_text("Show the numbers").click()
    table = usage.locator("table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(30)
    expect(table.locator("thead")).to_contain_text("SMS")
    expect(table.locator("thead")).to_contain_text("WhatsApp Business")

    # and: the balance's numbers end at the wallet's balance
    balance = figures.filter(has_text="Balance at the end of each day")
    balance.get_by_text("Show the numbers").click()
    wallet.refresh_from_db()
    expect(balance.locator("tbody tr").last).to_contain_text(f"{wallet.balance:,.2f}")

    # and: axe-core finds no violation on the page with the charts and their tables open
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.screenshot(path=str(artifacts / "charts.png"), full_page=True)

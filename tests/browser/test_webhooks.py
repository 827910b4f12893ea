"""A webhook endpoint set up in a real browser, and a delivery received by a local receiver that
verifies its Standard Webhooks signature with the secret the page showed (issue 15 §2).

The client admin registers the receiver's URL for "Low balance", sets a balance alert sent by
webhook, the alerts job runs after their credit is spent, and the receiver gets one signed
delivery; the endpoint's page shows it delivered."""

import datetime as dt
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from standardwebhooks import Webhook

from accounts.models import Provider
from billing.prepaid.services import alerts
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


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), raw))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/portal-events"
    yield server
    server.shutdown()
    server.server_close()


def test_a_client_admin_sets_up_an_endpoint_and_receives_a_signed_delivery(
    page, artifacts, receiver
):
    cm = Provider.objects.get(code="cm-cn")
    company = prepaid_client(cm, legal_name="Orchid Notifications Ltd")
    admin = ClientAdminFactory(client=company, email="admin@orchid.example")
    wallet = wallet_for_client(client=company)
    top_up(wallet, "100.00", timezone.now() - dt.timedelta(days=2))

    # given: the client admin opens the webhooks page from the navigation
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Alerts & webhooks").click()
    page.get_by_role("link", name="Webhook endpoints").click()

    # when: they register the receiver for low-balance events
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Low balance").check()
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#webhook-secret")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")

    # and: set a balance alert sent by webhook
    page.goto("/billing/alerts/")
    page.get_by_label("Alert me when").select_option("balance_below")
    page.get_by_label("Amount").fill("25.00")
    page.get_by_label("By email").uncheck()
    page.get_by_label("By webhook").check()
    page.get_by_role("button", name="Set alert").click()
    expect(page.locator("table")).to_contain_text("Usable balance below an amount")

    # and: the credit is spent below the line and the alerts job runs
    wallet_debit(wallet=wallet, amount=Decimal("80.00"), idempotency_key="b-1", cause="usage")
    assert alerts.client_alerts_check()["fired"] == 1

    # then: the receiver got one delivery whose signature verifies with the page's secret
    assert len(receiver.requests) == 1
    headers, raw = receiver.requests[0]
    body = Webhook(secret).verify(raw, headers)
    assert body["type"] == "balance.low"
    assert body["data"]["usable_balance"] == "20.00"
    assert json.loads(raw)["data"]["threshold"] == "25.00"

    # and: the endpoint's page shows it delivered, with its id
    page.goto("/accounts/webhooks/")
    page.get_by_role("link", name=receiver.url).click()
    row = page.locator("tr", has_text=headers["webhook-id"])
    expect(row).to_contain_text("Delivered")
    page.screenshot(path=str(artifacts / "webhooks.png"), full_page=True)

"""The claims register's pages and API: a client admin reports a loss against the provider,
a viewer reads, staff see the cap (or why it cannot be stated); payouts honour Idempotency-Key."""

import datetime as dt

import pytest

from billing.models import ClaimPayout, LossClaim
from tests.accounts.clock import SHANGHAI
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory, ClientViewerFactory
from tests.billing.claims.factories import company, invoice, rate

ROUTE = "/billing/claims/"


def _post(c, data):
    return c.post(ROUTE, {f"claim-{k}": v for k, v in data.items()})


@pytest.mark.django_db
def test_a_client_admin_reports_a_loss_on_the_page_and_sees_both_deadlines(cm, as_user, now):
    client = company(cm)
    now.set(dt.datetime(2027, 2, 5, 2, tzinfo=dt.UTC))
    c = as_user(ClientAdminFactory(client=client))
    answer = _post(
        c,
        {"description": "Campaign lost", "arose_at": "2027-02-04T10:00", "exclusions": ["profits"]},
    )
    claim = LossClaim.objects.get()
    assert answer.status_code == 302 and answer.url == f"{ROUTE}{claim.pk}/"
    assert claim.against == LossClaim.Against.PROVIDER and claim.exclusions == ["profits"]
    assert claim.arose_at == dt.datetime(2027, 2, 4, 10, tzinfo=SHANGHAI)  # the provider's time
    page = c.get(answer.url).content.decode()
    assert "24 Feb 2027, 17:30 CST" in page  # report deadline after the Spring Festival
    assert "(i) loss of profits" in page
    # no form for the client to record payouts or assess
    assert "Record a payout" not in page


@pytest.mark.django_db
def test_a_viewer_reads_claims_but_has_no_form_and_cannot_post(cm, as_user, now):
    client = company(cm)
    c = as_user(ClientViewerFactory(client=client))
    assert "Report a loss" not in c.get(ROUTE).content.decode()
    _post(c, {"description": "x", "arose_at": "2027-05-31T10:00"})
    assert not LossClaim.objects.exists()


@pytest.mark.django_db
def test_the_claim_page_shows_the_cap_or_says_it_cannot_be_stated(cm, as_user, now):
    client = company(cm)
    invoice(client, dt.date(2027, 1, 31), "3000.00")
    now.set(dt.datetime(2027, 2, 5, 2, tzinfo=dt.UTC))
    staff = BillingStaffFactory()
    c = as_user(staff)
    _post(
        c,
        {
            "client": str(client.pk),
            "against": "provider",
            "description": "Lost",
            "arose_at": "2027-02-04T10:00",
        },
    )
    claim = LossClaim.objects.get()
    page = c.get(f"{ROUTE}{claim.pk}/").content.decode()
    assert 'data-testid="cap-unknown"' in page and "No EUR→CNY exchange rate" in page
    rate("EUR", "CNY", "7.8")
    page = c.get(f"{ROUTE}{claim.pk}/").content.decode()
    # 3,000 over the two months begun (Jan, Feb): 1,500
    assert "1500.00 CNY" in page and 'data-testid="cap-remaining"' in page


@pytest.mark.django_db
def test_the_api_reports_a_claim_and_records_a_payout_once_per_key(cm, api, now):
    client = company(cm)
    invoice(client, dt.date(2027, 1, 31), "3000.00")
    rate("EUR", "CNY", "7.8")
    now.set(dt.datetime(2027, 2, 5, 2, tzinfo=dt.UTC))
    admin = api(ClientAdminFactory(client=client))
    answer = admin.post(
        "/api/v1/loss-claims/",
        {"description": "Lost", "arose_at": "2027-02-04T10:00:00+08:00"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["late"] is False and body["report_deadline"].startswith("2027-02-24T")
    assert body["liability_cap"]["remaining"] == "1500.00"
    staff = api(BillingStaffFactory())
    url = f"/api/v1/loss-claims/{body['id']}/payouts/"
    pay = {"amount": "500.00", "currency": "CNY", "paid_on": "2027-02-05"}
    first = staff.post(url, pay, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = staff.post(url, pay, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201 and again.json() == first.json()
    assert ClaimPayout.objects.count() == 1
    over = staff.post(url, {**pay, "amount": "1000.01"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert over.status_code == 400
    assert over.json()["errors"][0]["field"] == "amount"
    assert ClaimPayout.objects.count() == 1
    # the client admin may not record payouts
    assert admin.post(url, pay, format="json", HTTP_IDEMPOTENCY_KEY="k3").status_code == 403

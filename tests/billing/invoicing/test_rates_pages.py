"""Pages and API of issue 12 §1-§2: the staff dashboard says so when no late-interest rate is in
force (art. 4.6); staff enter interest rates and CPI changes on a page and through the API; the
client sees every price change with its cause (art. 4.4, 4.11), keyset-paged; writes are billing
staff's only."""

from __future__ import annotations

import pytest

from accounts.models import Notification
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import prices as price_services
from billing.models import CpiAdjustment, InterestRate, PriceCause, PriceChange
from tests.billing.invoicing.factories import D, Dec, company, interest_rate, issued, line

pytestmark = pytest.mark.django_db

ALERT = 'data-testid="interest-rate-alert"'


def body(response) -> str:
    return response.content.decode()


# --- art. 4.6: no rate in force -----------------------------------------------------------------
def test_the_staff_dashboard_says_prominently_that_no_interest_rate_is_in_force(
    as_user, cm, cn_client, billing_staff, clock
):
    clock.set(D(2026, 4, 1))
    issued(cn_client, billing_staff, [line("1000.00", vat_rate="0")], invoice_date=D(2026, 3, 1))
    invoice_services.invoices_mark_overdue(today=D(2026, 4, 1))

    page = body(as_user(billing_staff).get("/"))
    assert ALERT in page
    assert "No late-interest rate is in force today for CM Telecom" in page
    assert "interest on overdue invoices is not being computed on 1 invoice" in page

    # the rates page lists the invoice the job recorded
    rates = body(as_user(billing_staff).get("/billing/rates/"))
    assert rates.count('data-testid="interest-gap-row"') == 1

    # once a rate is in force and the job has run again, the notice goes
    interest_rate(cm, D(2026, 1, 1), "6.000")
    invoice_services.invoices_mark_overdue(today=D(2026, 4, 2))
    assert "CM Telecom" not in _alerts(body(as_user(billing_staff).get("/")))


def _alerts(page: str) -> str:
    return "".join(part.split("</div>")[0] for part in page.split(ALERT)[1:])


def test_staff_enter_a_rate_on_the_page_and_a_dutch_one_only_per_half_year(
    as_user, cm, cx, cn_client, billing_staff, clock
):
    company(cx)  # a client of cxengage-nl, so its staff work on that profile
    page = as_user(billing_staff)

    refused = page.post(
        "/billing/rates/interest/",
        {"rate-provider": cx.pk, "rate-valid_from": "2025-03-01", "rate-annual_rate_pct": "11.15"},
    )
    assert refused.status_code == 400
    assert "1 January, 1 July" in body(refused)
    assert not InterestRate.objects.filter(provider=cx, valid_from=D(2025, 3, 1)).exists()

    ok = page.post(
        "/billing/rates/interest/",
        {"rate-provider": cx.pk, "rate-valid_from": "2025-01-01", "rate-annual_rate_pct": "11.15"},
    )
    assert ok.status_code == 302
    assert InterestRate.objects.get(provider=cx, valid_from=D(2025, 1, 1)).annual_rate_pct == Dec(
        "11.150"
    )


def test_staff_enter_the_cpi_change_on_the_page(as_user, cm, cn_client, billing_staff):
    response = as_user(billing_staff).post(
        "/billing/rates/cpi/", {"cpi-provider": cm.pk, "cpi-year": "2027", "cpi-rate_pct": "0.2"}
    )
    assert response.status_code == 302
    assert CpiAdjustment.objects.get(provider=cm, year=2027).rate_pct == Dec("0.200")
    assert "0.200" in body(as_user(billing_staff).get("/billing/rates/"))


def test_rate_pages_and_their_writes_are_billing_staffs(
    as_user, cm, cn_client, cn_admin, compliance_officer
):
    for user in (cn_admin, compliance_officer):
        page = as_user(user)
        assert page.get("/billing/rates/").status_code == 403
        assert (
            page.post(
                "/billing/rates/cpi/",
                {"cpi-provider": cm.pk, "cpi-year": "2027", "cpi-rate_pct": "2"},
            ).status_code
            == 403
        )
    assert not CpiAdjustment.objects.exists()


# --- art. 4.4, 4.11: every price change, listed for the client ------------------------------------
def _prices(client, staff, n):
    for i in range(n):
        price_services.price_set(
            client=client,
            channel="sms",
            unit_price=f"0.0{10 + i}000",
            valid_from=D(2026, 1, 1 + i),
            acting_user=staff,
        )


def test_the_client_sees_every_price_change_with_its_cause_keyset_paged(
    as_user, cn_client, cn_admin, other, billing_staff, clock
):
    clock.set(D(2026, 3, 2))
    _prices(cn_client, billing_staff, 27)
    _prices(other, billing_staff, 1)
    price_services.price_change_for_cause(
        client=cn_client,
        channel="sms",
        unit_price="0.050000",
        valid_from=D(2026, 4, 1),
        cause=PriceCause.CHANGE_OF_LAW,
        explanation="MIIT fee on A2P SMS from 1 April.",
        acting_user=billing_staff,
    )
    page = as_user(cn_admin)

    first = page.get("/billing/prices/")
    assert first.status_code == 200
    assert body(first).count('data-testid="price-change-row"') == 25
    assert "Change of Applicable Law (art. 4.4)" in body(first)
    assert "MIIT fee" in body(first)
    assert "Change a price for a cause" not in body(first)  # no staff form for the client
    second = page.get(f"/billing/prices/?cursor={first.context['next_cursor']}")
    assert body(second).count('data-testid="price-change-row"') == 3
    assert first.context["changes"][-1].pk > second.context["changes"][0].pk
    # another client's changes are not in the list
    assert not any(c.client_id == other.pk for c in first.context["changes"])


def test_staff_change_a_price_for_a_cause_on_the_clients_prices_page(
    as_user, cn_client, billing_staff, compliance_officer, clock
):
    clock.set(D(2026, 3, 2))
    price_services.price_set(
        client=cn_client,
        channel="sms",
        unit_price="0.040000",
        valid_from=D(2026, 1, 1),
        fixed=True,
        agreement_reference="Agreement §3",
        acting_user=billing_staff,
    )
    form = {
        "client": cn_client.pk,
        "change-channel": "sms",
        "change-unit_price": "0.044",
        "change-valid_from": "2026-03-02",
        "change-cause": PriceCause.PURCHASE_PRICE,
        "change-explanation": "Our supplier's price rose by 10 %.",
    }
    assert as_user(compliance_officer).post("/billing/prices/change/", form).status_code == 403

    refused = as_user(billing_staff).post("/billing/prices/change/", form)
    assert refused.status_code == 400 and "in advance" in body(refused)
    assert not PriceChange.objects.filter(cause=PriceCause.PURCHASE_PRICE).exists()

    ok = as_user(billing_staff).post(
        "/billing/prices/change/", {**form, "change-valid_from": "2026-04-01"}
    )
    assert ok.status_code == 302
    change = PriceChange.objects.get(cause=PriceCause.PURCHASE_PRICE)
    assert change.fixed and change.new_unit_price == Dec("0.044000")
    assert Notification.objects.filter(key=f"price-change:{change.pk}", client=cn_client).exists()


def test_a_client_sees_only_its_own_prices_and_staff_name_a_client(
    as_user, cn_client, cn_admin, other, billing_staff
):
    # a client's user sees its own, whatever ?client= says
    assert (
        as_user(cn_admin).get(f"/billing/prices/?client={other.pk}").context["client"] == cn_client
    )
    # staff name the client; none, or one that does not exist, is a missing page
    assert as_user(billing_staff).get("/billing/prices/").status_code == 404
    assert as_user(billing_staff).get("/billing/prices/?client=999999").status_code == 404
    staff_page = as_user(billing_staff).get(f"/billing/prices/?client={other.pk}")
    assert staff_page.status_code == 200 and "Change a price for a cause" in body(staff_page)


# --- API ----------------------------------------------------------------------------------------
def test_the_price_change_api_lists_keyset_pages_and_billing_staff_post_a_change(
    api, cn_client, cn_admin, other, billing_staff, compliance_officer, clock
):
    clock.set(D(2026, 3, 2))
    _prices(cn_client, billing_staff, 3)

    first = api(cn_admin).get("/api/v1/price-changes/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next_cursor"]
    second = api(cn_admin).get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next_cursor"] is None
    assert {r["cause"] for r in first["results"] + second["results"]} == {"set"}
    assert api(cn_admin).get(f"/api/v1/price-changes/?client={other.pk}").status_code == 404
    bad = api(cn_admin).get("/api/v1/price-changes/?cursor=nonsense")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"

    payload = {
        "client": cn_client.pk,
        "channel": "sms",
        "unit_price": "0.050000",
        "valid_from": "2026-04-01",
        "cause": "operator_rate",
        "explanation": "China Unicom's new rate.",
    }
    assert api(cn_admin).post("/api/v1/price-changes/", payload, format="json").status_code == 403
    assert (
        api(compliance_officer).post("/api/v1/price-changes/", payload, format="json").status_code
        == 403
    )
    created = api(billing_staff).post("/api/v1/price-changes/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["cause"] == "operator_rate" and created.json()["notice_sent"] is True

    refused = api(billing_staff).post(
        "/api/v1/price-changes/", {**payload, "cause": "set"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "cause"


def test_the_cpi_api_is_billing_staffs(api, cm, cn_client, cn_admin, billing_staff):
    payload = {"provider": "cm-cn", "year": 2027, "rate_pct": "0.2"}
    assert api(cn_admin).post("/api/v1/cpi-adjustments/", payload, format="json").status_code == 403
    assert api(cn_admin).get("/api/v1/cpi-adjustments/").status_code == 403
    created = api(billing_staff).post("/api/v1/cpi-adjustments/", payload, format="json")
    assert created.status_code == 201 and created.json()["rate_pct"] == "0.200"
    listed = api(billing_staff).get("/api/v1/cpi-adjustments/").json()["results"]
    assert [(r["provider"], r["year"]) for r in listed] == [("cm-cn", 2027)]


def test_the_invoice_says_interest_cannot_be_computed_instead_of_a_silent_zero(
    as_user, api, cn_client, cn_admin, billing_staff, clock
):
    clock.set(D(2026, 4, 1))
    invoice = issued(
        cn_client, billing_staff, [line("1000.00", vat_rate="0")], invoice_date=D(2026, 3, 1)
    )

    page = body(as_user(billing_staff).get(f"/billing/invoices/{invoice.pk}/"))
    assert 'data-testid="interest-no-rate"' in page and "from 16 Mar 2026" in page
    detail = api(cn_admin).get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert detail["interest_no_rate_from"] == "2026-03-16"

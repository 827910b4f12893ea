"""The prepaid side of the API: wallet, credit lots, ledger and its CSV, top-ups with
Idempotency-Key, chargebacks, restitution requests, and tenant isolation on every route."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Agreement
from billing.models import CreditLot, LedgerEntry, RestitutionRequest
from billing.prepaid.services.usage import usage_ingest
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory, PlatformUserFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.prepaid.helpers import errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepaid(prepaid):
    """The prepaid client with 100.00 received five days ago (usable) and 50.00 today (pending)."""
    wallet = wallet_for_client(client=prepaid)
    top_up(wallet, "100.00", timezone.now() - dt.timedelta(days=5), reference="PAY-OLD")
    top_up(wallet, "50.00", timezone.now(), reference="PAY-TODAY")
    return prepaid


@pytest.fixture
def other_prepaid(cm):
    company = prepaid_client(cm)
    top_up(wallet_for_client(client=company), "10.00", timezone.now() - dt.timedelta(days=5))
    return company


def test_a_client_sees_its_wallet_with_usable_and_pending_credit(api, prepaid_admin):
    body = api(prepaid_admin).get("/api/v1/wallet/").json()

    assert body["currency"] == "CNY"
    assert Decimal(body["balance"]) == Decimal("150.00")
    assert Decimal(body["usable_now"]) == Decimal("100.00")
    assert Decimal(body["pending"]) == Decimal("50.00")
    assert [lot["state"] for lot in body["lots"]] == ["usable", "pending"]


def test_staff_see_any_clients_wallet(api, billing_staff, prepaid):
    by_path = api(billing_staff).get(f"/api/v1/clients/{prepaid.pk}/wallet/")
    by_query = api(billing_staff).get(f"/api/v1/wallet/?client={prepaid.pk}")

    assert by_path.status_code == by_query.status_code == 200
    assert by_path.json()["client"] == prepaid.pk
    assert by_path.json() == by_query.json()


def test_staff_must_name_the_client_of_a_wallet(api, billing_staff):
    response = api(billing_staff).get("/api/v1/wallet/")

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "client"


def test_credit_lots_are_listed_earliest_expiry_first(api, prepaid_admin):
    lots = api(prepaid_admin).get("/api/v1/credit-lots/").json()["results"]

    assert [lot["reference"] for lot in lots] == ["PAY-OLD", "PAY-TODAY"]
    assert lots[0]["remaining"] == "100.00"


def test_the_ledger_filters_by_kind_and_exports_csv(api, prepaid_admin, prepaid):
    usage_ingest(
        records=[
            {
                "id": "u1",
                "client": prepaid.pk,
                "channel": "sms",
                "message_count": 1,
                "amount": "2.50",
                "occurred_at": timezone.now().isoformat(),
            }
        ],
        platform_user=PlatformUserFactory(),
    )
    c = api(prepaid_admin)

    everything = c.get("/api/v1/ledger/").json()["results"]
    debits = c.get("/api/v1/ledger/?kind=debit").json()["results"]
    csv_query = c.get("/api/v1/ledger/?format=csv&kind=debit")
    csv_path = c.get("/api/v1/ledger.csv?kind=debit")

    assert len(everything) == 3
    assert [(e["kind"], e["amount"]) for e in debits] == [("debit", "-2.50")]
    for response in (csv_query, csv_path):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        lines = response.getvalue().decode().strip().splitlines()
        assert lines[0].startswith("created_at,kind,amount")
        assert len(lines) == 2 and ",debit,-2.50," in lines[1]


@pytest.mark.parametrize("query", ["kind=gift", "date_from=yesterday", "client=abc"])
def test_bad_ledger_filters_are_400_naming_the_field(api, prepaid_admin, query):
    response = api(prepaid_admin).get(f"/api/v1/ledger/?{query}")

    assert response.status_code == 400
    assert errors(response)[0]["field"] == query.split("=")[0]


# --- Top-ups -------------------------------------------------------------------------------
def test_staff_record_a_top_up_once_per_idempotency_key(api, billing_staff, prepaid):
    c = api(billing_staff)
    body = {
        "client": prepaid.pk,
        "amount": "25.00",
        "received_at": "2026-03-01T23:59:00+08:00",
        "reference": "WIRE-9",
    }

    first = c.post("/api/v1/top-ups/", body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    again = c.post("/api/v1/top-ups/", body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    other = c.post(
        "/api/v1/top-ups/", {**body, "amount": "26.00"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1"
    )

    assert first.status_code == 201, first.json()
    lot = first.json()
    assert lot["amount"] == "25.00"
    assert lot["purchase_date"] == "2026-03-01"
    assert lot["usable_from"].startswith("2026-03-01T16:00:00")  # 00:00 on 2 March in Beijing
    assert again.json() == lot
    assert other.status_code == 409
    assert CreditLot.objects.filter(reference="WIRE-9").count() == 1


def test_a_top_up_without_an_idempotency_key_is_400(api, billing_staff, prepaid):
    response = api(billing_staff).post(
        "/api/v1/top-ups/",
        {
            "client": prepaid.pk,
            "amount": "1.00",
            "received_at": "2026-03-01T10:00:00Z",
            "reference": "x",
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "Idempotency-Key"


def test_a_float_or_negative_top_up_is_400(api, billing_staff, prepaid):
    c = api(billing_staff)
    for amount, key in [(-5, "n"), ("abc", "a"), (25.5, "f")]:
        response = c.post(
            "/api/v1/top-ups/",
            {
                "client": prepaid.pk,
                "amount": amount,
                "received_at": "2026-03-01T10:00:00Z",
                "reference": "x",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 400
        assert errors(response)[0]["field"] == "amount"


def test_a_client_cannot_top_up_its_own_wallet(api, prepaid_admin, prepaid):
    response = api(prepaid_admin).post(
        "/api/v1/top-ups/",
        {
            "client": prepaid.pk,
            "amount": "1.00",
            "received_at": "2026-03-01T10:00:00Z",
            "reference": "x",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == 403


# --- Chargebacks ---------------------------------------------------------------------------
def test_staff_record_a_chargeback_and_the_credit_is_reversed(
    api, billing_staff, prepaid, django_capture_on_commit_callbacks
):
    lot = CreditLot.objects.get(reference="PAY-OLD")

    with django_capture_on_commit_callbacks(execute=True):
        response = api(billing_staff).post(
            "/api/v1/chargebacks/",
            {"lot": lot.pk, "reference": "CB-1", "reason": "card disputed"},
            format="json",
        )

    assert response.status_code == 201, response.json()
    assert response.json()["reversed_amount"] == "100.00"
    assert response.json()["used_amount"] == "0.00"  # nothing used: nothing owed (art. 29.4)
    assert LedgerEntry.objects.filter(kind="chargeback", wallet__client=prepaid).exists()
    # messaging is refused while the account is closed
    [result] = usage_ingest(
        records=[
            {
                "id": "after-cb",
                "client": prepaid.pk,
                "channel": "sms",
                "message_count": 1,
                "amount": "0.01",
                "occurred_at": timezone.now().isoformat(),
            }
        ],
        platform_user=PlatformUserFactory(),
    )
    assert (result["status"], result["code"]) == ("refused", "suspended")


def test_a_chargeback_of_an_unknown_lot_is_404(api, billing_staff):
    assert (
        api(billing_staff)
        .post("/api/v1/chargebacks/", {"lot": 999999, "reference": "x"}, format="json")
        .status_code
        == 404
    )


# --- Restitution ---------------------------------------------------------------------------
def test_restitution_request_and_approval(api, prepaid_admin, billing_staff, prepaid):
    Agreement.objects.filter(client=prepaid).update(
        status=Agreement.Status.NOTICE_GIVEN, notice_given_at=timezone.now()
    )

    created = api(prepaid_admin).post(
        "/api/v1/restitution-requests/", {"reason": "we terminate"}, format="json"
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]

    approved = api(billing_staff).post(
        f"/api/v1/restitution-requests/{pk}/approve/", {"note": "ok"}, format="json"
    )

    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == billing_staff.email
    assert RestitutionRequest.objects.get(pk=pk).entry is not None


def test_restitution_refusal_needs_a_note(api, prepaid_admin, billing_staff, prepaid):
    Agreement.objects.filter(client=prepaid).update(
        status=Agreement.Status.NOTICE_GIVEN, notice_given_at=timezone.now()
    )
    pk = api(prepaid_admin).post("/api/v1/restitution-requests/", {}, format="json").json()["id"]

    missing = api(billing_staff).post(
        f"/api/v1/restitution-requests/{pk}/refuse/", {"note": ""}, format="json"
    )
    assert missing.status_code == 400
    assert errors(missing)[0]["field"] == "note"
    assert RestitutionRequest.objects.get(pk=pk).status == RestitutionRequest.Status.PENDING
    refused = api(billing_staff).post(
        f"/api/v1/restitution-requests/{pk}/refuse/", {"note": "no"}, format="json"
    )
    assert refused.json()["status"] == "refused"


# --- Tenant isolation ----------------------------------------------------------------------
def test_another_clients_ids_answer_404_on_every_prepaid_route(
    api, prepaid_admin, other_prepaid, billing_staff
):
    other_lot = CreditLot.objects.get(wallet__client=other_prepaid)
    other_admin = ClientAdminFactory(client=other_prepaid)
    Agreement.objects.filter(client=other_prepaid).update(
        status=Agreement.Status.NOTICE_GIVEN, notice_given_at=timezone.now()
    )
    restitution = (
        api(other_admin).post("/api/v1/restitution-requests/", {}, format="json").json()["id"]
    )
    c = api(prepaid_admin)

    for url in [
        f"/api/v1/clients/{other_prepaid.pk}/wallet/",
        f"/api/v1/wallet/?client={other_prepaid.pk}",
        f"/api/v1/credit-lots/?client={other_prepaid.pk}",
        f"/api/v1/ledger/?client={other_prepaid.pk}",
        f"/api/v1/ledger.csv?client={other_prepaid.pk}",
        f"/api/v1/restitution-requests/{restitution}/",
    ]:
        response = c.get(url)
        assert response.status_code == 404, url
        assert errors(response)[0]["code"] == "not_found"
    assert c.get("/api/v1/restitution-requests/").json()["results"] == []
    # staff actions on a missing object are 404 too, never 500
    s = api(billing_staff)
    assert (
        s.post("/api/v1/restitution-requests/999999/approve/", {}, format="json").status_code == 404
    )
    assert (
        s.post(
            "/api/v1/top-ups/",
            {
                "client": 999999,
                "amount": "1.00",
                "received_at": "2026-03-01T10:00:00Z",
                "reference": "x",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="z",
        ).status_code
        == 404
    )
    assert other_lot.remaining == Decimal("10.00")


def test_the_prepaid_endpoints_are_in_the_schema(api, billing_staff):
    paths = api(billing_staff).get("/api/schema/?format=json").json()["paths"]

    for path in [
        "/api/v1/wallet/",
        "/api/v1/clients/{id}/wallet/",
        "/api/v1/credit-lots/",
        "/api/v1/ledger/",
        "/api/v1/ledger.csv",
        "/api/v1/top-ups/",
        "/api/v1/chargebacks/",
        "/api/v1/restitution-requests/",
        "/api/v1/restitution-requests/{id}/approve/",
    ]:
        assert path in paths, path

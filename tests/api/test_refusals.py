"""Inputs that answered 500 and now answer 400 naming the field, changing nothing (issue 10,
section 4)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import PREFIX_LEN, hash_key
from billing.models import CreditLot, LedgerEntry, Payment, UsageRecord
from tests.accounts.factories import PlatformUserFactory
from tests.billing.invoicing.factories import D, issued, line

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    raw = f"refusals-{user.pk}"
    ApiToken.objects.create(user=user, prefix=raw[:PREFIX_LEN], key_hash=hash_key(raw))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api


@pytest.fixture
def staff_api(billing_staff):
    return _api(billing_staff)


@pytest.fixture
def platform_api(db):
    return _api(PlatformUserFactory())


def _field_errors(response) -> set[str]:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    return {e["field"] for e in response.json()["errors"]}


# --- usage: times ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "occurred_at",
    ["2026-03-01T10:00:00+17:22", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"],
)
def test_a_usage_time_out_of_range_refuses_that_record_only(
    platform_api, client_company, occurred_at
):
    good = {
        "id": "good-1",
        "client": client_company.pk,
        "channel": "sms",
        "message_count": 1,
        "amount": "0.05",
        "occurred_at": "2026-03-01T10:00:00+08:00",
    }
    response = platform_api.post(
        "/api/v1/usage/", [good, {**good, "id": "bad-1", "occurred_at": occurred_at}], format="json"
    )
    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "refused"]
    assert results[1]["field"] == "occurred_at"
    assert list(UsageRecord.objects.values_list("record_id", flat=True)) == ["good-1"]


@pytest.mark.parametrize("param", ["occurred_after", "occurred_before"])
@pytest.mark.parametrize("value", ["2026-03-01T10:00:00+17:22", "9999-12-31T23:59:59-08:00"])
def test_a_list_filter_out_of_range_is_refused_naming_it(staff_api, client_company, param, value):
    response = staff_api.get("/api/v1/usage/", {param: value, "client": client_company.pk})
    assert param in _field_errors(response)


# --- amounts ----------------------------------------------------------------------------------
BAD_AMOUNTS = ["1e30", "9" * 400, "1e2", "٣", " 10.00 ", "10.00\n", "NaN", "-0.00", "0x10"]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_top_up_amount_that_is_not_a_plain_amount_is_refused(staff_api, client_company, amount):
    from billing.prepaid.services.wallets import wallet_for_client

    wallet_for_client(client=client_company)
    response = staff_api.post(
        "/api/v1/top-ups/",
        {
            "client": client_company.pk,
            "amount": amount,
            "received_at": "2026-03-01T10:00:00Z",
            "reference": "x",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"top-up-{abs(hash(amount))}",
    )
    assert "amount" in _field_errors(response)
    assert not CreditLot.objects.exists() and not LedgerEntry.objects.exists()


def test_a_top_up_that_would_overflow_the_balance_is_refused(staff_api, client_company):
    """The largest amount a balance holds is accepted once; the next top-up would overflow the
    balance column and is refused, recording nothing."""
    from billing.prepaid.services.wallets import wallet_for_client

    wallet_for_client(client=client_company)
    body = {"client": client_company.pk, "received_at": "2026-03-01T10:00:00Z", "reference": "x"}
    first = staff_api.post(
        "/api/v1/top-ups/",
        {**body, "amount": "999999999999.99"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="big-1",
    )
    assert first.status_code == 201, first.content
    second = staff_api.post(
        "/api/v1/top-ups/",
        {**body, "amount": "0.01"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="big-2",
    )
    assert "amount" in _field_errors(second)
    assert CreditLot.objects.count() == 1


@pytest.fixture
def invoice_106(client_company, billing_staff):
    # 100.00 plus 6 % VAT (cm-cn's rate for value-added telecom services, art. 4.1)
    return issued(client_company, billing_staff, [line("100.00")], invoice_date=D(2026, 3, 1))


@pytest.mark.parametrize("field", ["amount", "bank_fee"])
@pytest.mark.parametrize("value", BAD_AMOUNTS)
def test_a_payment_amount_or_fee_that_is_not_a_plain_amount_is_refused(
    staff_api, invoice_106, field, value
):
    body = {
        "invoice": invoice_106.pk,
        "amount": "50.00",
        "received_on": "2026-03-02",
        "reference": "",
    }
    response = staff_api.post(
        "/api/v1/payments/",
        {**body, field: value},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"pay-{field}-{abs(hash(value))}",
    )
    assert field in _field_errors(response)
    assert not Payment.objects.exists()


def test_an_overpayment_is_refused_naming_what_is_outstanding(staff_api, invoice_106):
    assert invoice_106.total == 106
    response = staff_api.post(
        "/api/v1/payments/",
        {
            "invoice": invoice_106.pk,
            "amount": "5000.00",
            "received_on": "2026-03-02",
            "reference": "",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="over-1",
    )
    assert "amount" in _field_errors(response)
    assert "106.00" in response.json()["errors"][0]["message"]
    assert not Payment.objects.exists()
    # the outstanding amount itself is accepted
    response = staff_api.post(
        "/api/v1/payments/",
        {
            "invoice": invoice_106.pk,
            "amount": "106.00",
            "received_on": "2026-03-02",
            "reference": "",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="exact-1",
    )
    assert response.status_code == 201, response.content


# --- refusals to a CSV request answer JSON ---------------------------------------------------
def test_a_csv_request_with_a_bad_filter_answers_the_json_error(api, client_admin):
    """Found by schemathesis: `?format=csv` rendered the 400 as an empty text/csv body."""
    response = api(client_admin).get("/api/v1/ledger/", {"format": "csv", "date_to": "not-a-date"})
    assert response["Content-Type"].startswith("application/json")
    assert _field_errors(response) == {"date_to"}


@pytest.mark.django_db
def test_text_with_the_nul_character_is_refused_naming_the_field_not_a_500(api):
    """schemathesis found it: a NUL in the sign-up's provider code reached PostgreSQL (a 500)."""
    answer = api().post(
        "/api/v1/sign-up/",
        {"provider": "cm\u0000cn", "email": "a@example.test", "directors": [{"name": "x\u0000"}]},
        format="json",
    )

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] in ("provider", "directors[0].name")

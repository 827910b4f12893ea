"""The billing API for usage and message limits: platform auth, per-record answers, limit
requests and changes, message payments with Idempotency-Key, tenant isolation, the schema."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.tokens import api_token_issue
from billing.models import (
    LimitChange,
    LimitIncreaseRequest,
    MessageAccount,
    MessagePayment,
    UsageRecord,
)
from billing.prepaid.services import limits
from billing.prepaid.services.usage import usage_ingest
from tests.billing.prepaid.helpers import errors, record

pytestmark = pytest.mark.django_db


# --- POST /api/v1/usage/ -------------------------------------------------------------------
def test_the_platform_posts_a_batch_and_gets_one_answer_per_record(platform_api, client_company):
    response = platform_api.post(
        "/api/v1/usage/",
        {
            "records": [
                record(client_company, 1),
                {**record(client_company, 2), "channel": "fax"},
                record(client_company, 3),
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["refused"]) == (2, 0, 1)
    assert [r["status"] for r in body["results"]] == ["accepted", "refused", "accepted"]
    assert body["results"][1]["field"] == "channel"
    assert UsageRecord.objects.count() == 2


def test_a_bare_list_is_accepted_and_a_replay_answers_duplicate(platform_api, client_company):
    batch = [record(client_company, 1, messages=2)]
    platform_api.post("/api/v1/usage/", batch, format="json")

    response = platform_api.post("/api/v1/usage/", batch, format="json")

    assert response.json()["results"] == [
        {"id": f"rec-{client_company.pk}-1", "status": "duplicate"}
    ]
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 2


def test_a_float_amount_sent_as_json_number_is_refused(platform_api, client_company):
    response = platform_api.post(
        "/api/v1/usage/",
        b'[{"id": "f1", "client": %d, "channel": "sms", "message_count": 1, "amount": 0.05, '
        b'"occurred_at": "2026-03-01T10:00:00Z"}]' % client_company.pk,
        content_type="application/json",
    )

    [result] = response.json()["results"]
    assert (result["status"], result["field"], result["code"]) == ("refused", "amount", "float")


@pytest.mark.parametrize("body", [{"records": "x"}, {"nothing": []}, "text"])
def test_a_body_that_is_not_a_list_of_records_is_400_in_the_one_error_shape(platform_api, body):
    response = platform_api.post("/api/v1/usage/", body, format="json")

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "records"


def test_a_client_user_or_staff_cannot_post_usage(api, client_admin, billing_staff, client_company):
    for user in (client_admin, billing_staff):
        response = api(user).post("/api/v1/usage/", [record(client_company, 1)], format="json")
        assert response.status_code == 403
        assert errors(response)[0]["code"] == "permission_denied"
    assert not UsageRecord.objects.exists()


def test_a_client_users_own_token_cannot_post_usage(client_admin, client_company):
    _, key = api_token_issue(user=client_admin)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert c.post("/api/v1/usage/", [record(client_company, 1)], format="json").status_code == 403


@pytest.mark.parametrize("header", ["Api-Key wrong-key", "Api-Key", ""])
def test_a_bad_or_missing_key_is_401(client_company, header, platform):
    c = APIClient()
    if header:
        c.credentials(HTTP_AUTHORIZATION=header)

    response = c.post("/api/v1/usage/", [record(client_company, 1)], format="json")

    assert response.status_code == 401
    assert "errors" in response.json()


def test_a_revoked_key_is_401(platform, client_company):
    from accounts.tokens import api_token_revoke

    token, key = api_token_issue(user=platform)
    api_token_revoke(token=token)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert c.post("/api/v1/usage/", [record(client_company, 1)], format="json").status_code == 401


# --- GET /api/v1/usage/ --------------------------------------------------------------------
def test_a_client_sees_only_its_own_usage(
    api, client_admin, client_company, other_company, platform, billing_staff
):
    usage_ingest(
        records=[record(client_company, 1), record(other_company, 1)], platform_user=platform
    )

    mine = api(client_admin).get("/api/v1/usage/").json()["results"]
    assert [r["id"] for r in mine] == [f"rec-{client_company.pk}-1"]
    assert mine[0]["amount"] == "0.05"
    # another client's id as a filter finds nothing
    assert (
        api(client_admin).get(f"/api/v1/usage/?client={other_company.pk}").json()["results"] == []
    )

    staff = api(billing_staff).get(f"/api/v1/usage/?client={other_company.pk}").json()["results"]
    assert [r["id"] for r in staff] == [f"rec-{other_company.pk}-1"]


def test_the_platform_cannot_read_usage(platform_api):
    assert platform_api.get("/api/v1/usage/").status_code == 403


# --- Message limits ------------------------------------------------------------------------
def test_a_client_sees_its_limit_gauge(api, client_viewer, client_company, platform):
    usage_ingest(records=[record(client_company, 1, messages=12_500)], platform_user=platform)

    body = api(client_viewer).get(f"/api/v1/message-limits/{client_company.pk}/").json()

    assert body["limit"] == 50_000
    assert body["unpaid_count"] == 12_500
    assert body["remaining"] == 37_500
    assert body["used_pct"] == "25.0"
    assert body["notice_pct"] == 75
    assert body["limit_reached"] is False
    listed = api(client_viewer).get("/api/v1/message-limits/").json()["results"]
    assert [row["client"] for row in listed] == [client_company.pk]


def test_a_client_that_never_sent_shows_the_standard_limit(api, client_admin, client_company):
    body = api(client_admin).get(f"/api/v1/message-limits/{client_company.pk}/").json()

    assert (body["limit"], body["unpaid_count"], body["changes"]) == (50_000, 0, [])
    assert not MessageAccount.objects.filter(client=client_company).exists()


def test_staff_patch_a_limit_and_the_client_is_emailed(
    api, billing_staff, client_admin, client_company, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(billing_staff).patch(
            f"/api/v1/message-limits/{client_company.pk}/",
            {"limit": 30_000, "reason": "risk review"},
            format="json",
        )

    assert response.status_code == 200
    body = response.json()
    assert body["limit"] == 30_000
    assert body["changes"][0]["reason"] == "risk review"
    assert body["changes"][0]["changed_by"] == billing_staff.email
    assert any(
        m.subject == "Your message limit has changed" and client_admin.email in m.to
        for m in mail.outbox
    )


def test_staff_change_a_limit_by_post_action(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/message-limits/{client_company.pk}/change/",
        {"limit": 70_000, "reason": "good payer"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["new_limit"] == 70_000


def test_a_limit_change_without_a_reason_is_400_naming_the_field(
    api, billing_staff, client_company
):
    response = api(billing_staff).patch(
        f"/api/v1/message-limits/{client_company.pk}/", {"limit": 1, "reason": ""}, format="json"
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "reason"


def test_a_client_admin_cannot_change_its_own_limit(api, client_admin, client_company):
    response = api(client_admin).patch(
        f"/api/v1/message-limits/{client_company.pk}/",
        {"limit": 99_999, "reason": "x"},
        format="json",
    )

    assert response.status_code == 403
    assert not LimitChange.objects.exists()


# --- Limit increase requests ---------------------------------------------------------------
def test_request_approve_journey_through_the_api(
    api, client_admin, billing_staff, client_company, django_capture_on_commit_callbacks
):
    created = api(client_admin).post(
        "/api/v1/limit-increase-requests/",
        {"requested_limit": 90_000, "reason": "new campaign"},
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["status"] == "pending"

    queue = (
        api(billing_staff).get("/api/v1/limit-increase-requests/?status=pending").json()["results"]
    )
    assert [r["id"] for r in queue] == [pk]

    with django_capture_on_commit_callbacks(execute=True):
        approved = api(billing_staff).post(
            f"/api/v1/limit-increase-requests/{pk}/approve/", {"note": "ok for Q2"}, format="json"
        )

    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["decided_by"], body["decision_note"]) == (
        "approved",
        billing_staff.email,
        "ok for Q2",
    )
    assert body["decided_at"]
    assert (
        api(client_admin).get(f"/api/v1/message-limits/{client_company.pk}/").json()["limit"]
        == 90_000
    )
    assert any("raised" in m.subject for m in mail.outbox)


def test_request_refuse_needs_a_note(api, client_admin, billing_staff):
    pk = (
        api(client_admin)
        .post(
            "/api/v1/limit-increase-requests/",
            {"requested_limit": 90_000, "reason": "x"},
            format="json",
        )
        .json()["id"]
    )

    missing = api(billing_staff).post(
        f"/api/v1/limit-increase-requests/{pk}/refuse/", {"note": ""}, format="json"
    )
    assert missing.status_code == 400
    assert errors(missing)[0]["field"] == "note"

    refused = api(billing_staff).post(
        f"/api/v1/limit-increase-requests/{pk}/refuse/", {"note": "not now"}, format="json"
    )
    assert refused.json()["status"] == "refused"


def test_a_second_pending_request_is_409(api, client_admin):
    api(client_admin).post(
        "/api/v1/limit-increase-requests/",
        {"requested_limit": 60_000, "reason": "x"},
        format="json",
    )

    response = api(client_admin).post(
        "/api/v1/limit-increase-requests/",
        {"requested_limit": 70_000, "reason": "y"},
        format="json",
    )

    assert response.status_code == 409


def test_a_request_below_the_current_limit_is_400(api, client_admin):
    response = api(client_admin).post(
        "/api/v1/limit-increase-requests/",
        {"requested_limit": 40_000, "reason": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "requested_limit"
    assert errors(response)[0]["article"] == "26.2"


def test_a_viewer_cannot_request_and_a_client_admin_cannot_approve(
    api, client_viewer, client_admin
):
    assert (
        api(client_viewer)
        .post(
            "/api/v1/limit-increase-requests/",
            {"requested_limit": 60_000, "reason": "x"},
            format="json",
        )
        .status_code
        == 403
    )
    pk = (
        api(client_admin)
        .post(
            "/api/v1/limit-increase-requests/",
            {"requested_limit": 60_000, "reason": "x"},
            format="json",
        )
        .json()["id"]
    )
    assert (
        api(client_admin)
        .post(f"/api/v1/limit-increase-requests/{pk}/approve/", {}, format="json")
        .status_code
        == 403
    )
    assert LimitIncreaseRequest.objects.get(pk=pk).status == "pending"


# --- Message payments and Idempotency-Key --------------------------------------------------
@pytest.fixture
def unpaid(client_company, platform):
    usage_ingest(records=[record(client_company, 1, messages=100)], platform_user=platform)
    return client_company


def test_staff_record_a_message_payment_with_an_idempotency_key(api, billing_staff, unpaid):
    c = api(billing_staff)
    body = {"client": unpaid.pk, "messages": 40, "reference": "INV-7"}

    first = c.post("/api/v1/message-payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = c.post("/api/v1/message-payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = c.post(
        "/api/v1/message-payments/",
        {**body, "messages": 41},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert errors(other)[0]["field"] == "Idempotency-Key"
    assert MessagePayment.objects.count() == 1
    assert MessageAccount.objects.get(client=unpaid).unpaid_count == 60


def test_a_message_payment_without_any_idempotency_key_is_400(api, billing_staff, unpaid):
    response = api(billing_staff).post(
        "/api/v1/message-payments/", {"client": unpaid.pk, "messages": 1}, format="json"
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "idempotency_key"


def test_a_client_sees_its_message_payments_but_cannot_record_one(
    api, client_admin, billing_staff, unpaid
):
    api(billing_staff).post(
        "/api/v1/message-payments/",
        {"client": unpaid.pk, "messages": 5},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert len(api(client_admin).get("/api/v1/message-payments/").json()["results"]) == 1
    denied = api(client_admin).post(
        "/api/v1/message-payments/",
        {"client": unpaid.pk, "messages": 5},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert denied.status_code == 403


# --- Tenant isolation ----------------------------------------------------------------------
def test_another_clients_ids_answer_404_on_every_endpoint(
    api, client_admin, other_admin, other_company, billing_staff, platform
):
    usage_ingest(records=[record(other_company, 1)], platform_user=platform)
    request = limits.limit_increase_request(
        client=other_company, requested_limit=60_000, reason="x", acting_user=other_admin
    )
    c = api(client_admin)

    for method, url, body in [
        ("get", f"/api/v1/message-limits/{other_company.pk}/", None),
        ("get", f"/api/v1/limit-increase-requests/{request.pk}/", None),
    ]:
        response = getattr(c, method)(url, body, format="json")
        assert response.status_code == 404, url
        assert errors(response)[0]["code"] == "not_found"
    assert c.get("/api/v1/limit-increase-requests/").json()["results"] == []
    assert c.get("/api/v1/message-payments/").json()["results"] == []
    assert c.get("/api/v1/usage/").json()["results"] == []
    assert c.get("/api/v1/message-limits/").json()["results"] == []


def test_staff_ids_of_a_client_that_does_not_exist_answer_404(api, billing_staff):
    c = api(billing_staff)

    assert c.get("/api/v1/message-limits/999999/").status_code == 404
    assert (
        c.patch(
            "/api/v1/message-limits/999999/", {"limit": 5, "reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        c.post("/api/v1/limit-increase-requests/999999/approve/", {}, format="json").status_code
        == 404
    )
    assert (
        c.post(
            "/api/v1/message-payments/",
            {"client": 999999, "messages": 1},
            format="json",
            HTTP_IDEMPOTENCY_KEY="z",
        ).status_code
        == 404
    )


# --- Schema --------------------------------------------------------------------------------
def test_the_usage_and_limit_endpoints_are_in_the_schema(api, billing_staff):
    response = api(billing_staff).get("/api/schema/?format=json")

    paths = response.json()["paths"]
    for path in [
        "/api/v1/usage/",
        "/api/v1/message-limits/",
        "/api/v1/message-limits/{client_id}/",
        "/api/v1/limit-increase-requests/",
        "/api/v1/limit-increase-requests/{id}/approve/",
        "/api/v1/limit-increase-requests/{id}/refuse/",
        "/api/v1/message-payments/",
    ]:
        assert path in paths, path
    assert "post" in paths["/api/v1/usage/"]

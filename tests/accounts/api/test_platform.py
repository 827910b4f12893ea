"""API plumbing: token auth issued by `manage.py issue_token`, the one error shape, the schema,
and a walk proving that every accounts API route answers 404 for another client's objects."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.models import ApiToken, TermsAcceptance
from accounts.services import change_requests, data_requests, terms
from tests.accounts.factories import BOTH_TEXTS, ClientViewerFactory

pytestmark = pytest.mark.django_db


def _issue(email: str, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", email, *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_issue_token_prints_a_key_that_authenticates_and_stores_only_its_hash(client_admin):
    key = _issue(client_admin.email.upper())

    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.data["email"] == client_admin.email
    token = ApiToken.objects.get(user=client_admin)
    assert key not in (token.key_hash, token.prefix) and token.key_hash


def test_a_staff_token_issued_after_the_totp_check_needs_no_session_second_factor(
    billing_staff, client_company
):
    # Issue 10, section 5: a staff token is issued only after a TOTP check (this test used to
    # issue one without any second factor); tests/accounts/test_tokens.py covers the refusals.
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=billing_staff, name="phone", confirmed=True)
    key = _issue(billing_staff.email, "--totp", f"{totp(device.bin_key):06d}")

    response = APIClient().get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200


def test_issue_token_for_an_unknown_user_fails_plainly(db):
    with pytest.raises(CommandError, match="No user"):
        call_command("issue_token", "nobody@example.test")


def test_a_wrong_token_answers_401_in_the_error_shape(db):
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-key")

    assert response.status_code == 401
    assert response.data == {
        "errors": [
            {
                "code": "authentication_failed",
                "message": "Invalid or revoked API token.",
                "field": None,
            }
        ]
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_no_longer_authenticates(client_admin):
    key = _issue(client_admin.email)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")

    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_a_staff_session_without_its_second_factor_is_refused(billing_staff):
    c = APIClient()
    c.force_login(billing_staff)  # signed in, TOTP not verified

    response = c.get("/api/v1/clients/")

    assert response.status_code == 403
    assert response.data["errors"][0]["code"] == "permission_denied"


def test_malformed_json_answers_400_in_the_error_shape(api, client_admin):
    response = api(client_admin).generic(
        "POST", "/api/v1/change-requests/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["code"] == "parse_error"


def test_missing_required_fields_are_each_named(api, billing_staff, client_company):
    response = api(billing_staff).post("/api/v1/data-requests/", {}, format="json")

    assert response.status_code == 400
    # requested_by is needed for registration data only (art. 5.6): the service names it then
    assert {(e["field"], e["code"]) for e in response.data["errors"]} == {
        ("client", "required"),
        ("description", "required"),
    }
    assert all(set(e) == {"code", "message", "field"} for e in response.data["errors"])
    without_requester = api(billing_staff).post(
        "/api/v1/data-requests/",
        {"client": client_company.pk, "description": "Directors"},
        format="json",
    )
    assert without_requester.status_code == 400
    assert [e["field"] for e in without_requester.data["errors"]] == ["requested_by"]


def test_a_method_not_allowed_is_in_the_error_shape(api, client_admin):
    response = api(client_admin).delete("/api/v1/me/")

    assert response.status_code == 405
    assert response.data["errors"][0]["code"] == "method_not_allowed"


def test_the_messaging_platform_key_sees_no_client(api, db):
    from tests.accounts.factories import PlatformUserFactory

    platform = PlatformUserFactory()

    response = api(platform).get("/api/v1/clients/")

    assert response.status_code == 403


# --- Schema --------------------------------------------------------------------------------
ACCOUNTS_PATHS = [
    "/api/v1/me/",
    "/api/v1/sign-up/",
    "/api/v1/clients/",
    "/api/v1/clients/{id}/",
    "/api/v1/clients/{id}/history/",
    "/api/v1/clients/{id}/approve/",
    "/api/v1/clients/{id}/reject/",
    "/api/v1/clients/{id}/suspend/",
    "/api/v1/clients/{id}/resume/",
    "/api/v1/change-requests/",
    "/api/v1/change-requests/{id}/accept/",
    "/api/v1/change-requests/{id}/reject/",
    "/api/v1/data-requests/",
    "/api/v1/data-requests/{id}/answer/",
    "/api/v1/users/",
    "/api/v1/users/{id}/",
    "/api/v1/invitations/",
    "/api/v1/invitations/accept/",
    "/api/v1/agreements/",
    "/api/v1/agreements/{id}/give-notice/",
    "/api/v1/agreements/{id}/notice-of-default/",
    "/api/v1/agreements/{id}/terminate/",
    "/api/v1/terms-versions/",
    "/api/v1/terms-acceptances/",
    "/api/v1/terms-acceptances/{id}/accept/",
    "/api/v1/terms-acceptances/{id}/object/",
]


def test_the_schema_is_served_and_names_the_accounts_paths(api, client_admin):
    response = api(client_admin).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    missing = [p for p in ACCOUNTS_PATHS if p not in paths]
    assert not missing


def test_the_accounts_api_schema_is_valid_and_generates_without_warnings(db):
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("accounts.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, dict(
        GENERATOR_STATS._warn_cache
    )
    list_response = schema["paths"]["/api/v1/clients/"]["get"]["responses"]["200"]
    assert list_response["content"]["application/json"]["schema"]["$ref"].endswith(
        "PaginatedClientList"
    )
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_api_docs_page_renders(client):
    assert client.get("/api/docs/").status_code == 200


# --- Tenant isolation: every accounts route with an id answers 404 for another client's ---
@pytest.fixture
def other_clients_objects(other_company, other_admin, billing_staff, cm, with_directors):
    """One object of every kind the accounts API exposes, all belonging to `other_company`."""
    change = change_requests.change_request_submit(
        client=other_company, acting_user=other_admin, changes={"address": "2 Road"}
    )
    data = data_requests.data_request_log(
        client=other_company, acting_user=billing_staff, requested_by="MIIT", description="x"
    )
    terms.terms_publish(
        texts=BOTH_TEXTS, provider=cm, version="2099.1", summary="x", acting_user=billing_staff
    )
    from tests.test_tenant_isolation import _force_majeure

    situation = _force_majeure(other_company)
    return {
        "pk": other_company.pk,
        "clients": other_company.pk,
        "force-majeure": situation["pk"],
        "force-majeure-notices": situation["notice_pk"],
        "change-requests": change.pk,
        "data-requests": data.pk,
        "users": ClientViewerFactory(client=other_company).pk,
        "agreements": other_company.agreement.pk,
        "terms-acceptances": TermsAcceptance.objects.get(client=other_company).pk,
    }


def _id_routes():
    from accounts.api.urls import urlpatterns

    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if "<int:pk>" in route and not route.startswith("terms-versions"):
            yield route


@pytest.mark.parametrize("route", list(_id_routes()))
def test_every_accounts_route_answers_404_for_another_clients_object(
    api, client_admin, other_clients_objects, route
):
    """Another client's id answers exactly as an id that does not exist: 404 where the role may
    call the route at all (403 or 405 otherwise, whatever the id), never the object."""
    resource = route.split("/")[0]
    theirs = "/api/v1/" + route.replace("<int:pk>", str(other_clients_objects[resource]))
    missing = "/api/v1/" + route.replace("<int:pk>", "987654321")
    c = api(client_admin)

    for method in ("get", "post", "patch", "delete"):
        response = getattr(c, method)(theirs, {}, format="json")
        assert response.status_code in (403, 404, 405), (method, theirs, response.status_code)
        assert response.status_code == getattr(c, method)(missing, {}, format="json").status_code
        assert "legal_name" not in str(response.data)
    # a detail route: a client admin may read its own kind (force-majeure situations are
    # staff's; a client reads its notices)
    if route.count("/") == 2 and resource != "force-majeure":
        assert c.get(theirs).status_code == 404


@pytest.mark.parametrize("route", [r for r in _id_routes() if r.count("/") == 2])
def test_staff_find_the_objects_the_isolation_walk_uses(
    api, billing_staff, other_clients_objects, route
):
    """The walk above proves something: the same ids exist and staff are answered with them."""
    resource = route.split("/")[0]
    url = "/api/v1/" + route.replace("<int:pk>", str(other_clients_objects[resource]))

    assert api(billing_staff).get(url).status_code == 200

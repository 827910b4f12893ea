"""The API documentation (issue 15, section 3): served from the portal's own assets (works
offline), every operation described for the API's users (no developer notes), the examples
shown are what the API really answers, and the integrator guide is linked from the docs."""

import copy
import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.api.examples import ERROR_EXAMPLES
from billing.prepaid.api.views.usage import USAGE_EXAMPLE_REQUEST, USAGE_EXAMPLE_RESPONSE
from billing.prepaid.api.views.wallet import TOP_UP_EXAMPLE_REQUEST, TOP_UP_EXAMPLE_RESPONSE
from tests.accounts.factories import ClientViewerFactory
from tests.billing.factories import prepaid_client
from tests.portal.test_operations import _platform

# Words of a note for developers, not for the API's users.
DEVELOPER_NOTE = re.compile(
    r"queryset|selectors?\b|serializer|docstring|component name|`\w+\.\w+\(", re.IGNORECASE
)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("spectacular", "--format", "openapi-json", stdout=out)
    import json

    return json.loads(out.getvalue())


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_description_for_the_apis_users(schema):
    missing = [name for name, op in _operations(schema) if not op.get("description", "").strip()]
    notes = [
        name for name, op in _operations(schema) if DEVELOPER_NOTE.search(op.get("description", ""))
    ]
    assert missing == []
    assert notes == []
    components = {
        name: c["description"]
        for name, c in schema["components"]["schemas"].items()
        if DEVELOPER_NOTE.search(c.get("description", ""))
    }
    assert components == {}


def test_the_docs_link_the_integrator_guide(schema, client):
    assert "(/api/guide/)" in schema["info"]["description"]
    response = client.get("/api/guide/")
    assert response.status_code == 200
    text = response.content.decode()
    for heading in ("Keys", "Batching usage", "Retries", "Idempotency", "Errors"):
        assert f">{heading}</h2>" in text, heading


def test_the_main_operations_carry_examples(schema):
    usage = schema["paths"]["/api/v1/usage/"]["post"]
    assert usage["requestBody"]["content"]["application/json"]["examples"]
    assert usage["responses"]["200"]["content"]["application/json"]["examples"]
    top_up = schema["paths"]["/api/v1/top-ups/"]["post"]
    key = next(p for p in top_up["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] and key["examples"]
    assert top_up["requestBody"]["content"]["application/json"]["examples"]
    for code in ("201", "400", "409"):
        assert top_up["responses"][code]["content"]["application/json"]["examples"], code
    # every error answer of every operation shows the one error shape
    for name, op in _operations(schema):
        for code, response in op["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            if (
                media.get("schema", {}).get("$ref") == "#/components/schemas/Errors"
                and code in ERROR_EXAMPLES
            ):
                assert media.get("examples"), (name, code)


# --- The examples are what the API answers ---------------------------------------------------
def _with_client(value, client_id):
    """The example with its placeholder client id (1042) replaced by a real one."""
    value = copy.deepcopy(value)
    items = value["records"] if "records" in value else [value]
    for item in items:
        if item.get("client") == 1042:
            item["client"] = client_id
    return value


@pytest.mark.django_db
def test_the_usage_example_is_what_the_api_answers(client_company):
    # given: the example's second record was sent in an earlier batch
    api = _platform()
    request = _with_client(USAGE_EXAMPLE_REQUEST, client_company.pk)
    assert api.post("/api/v1/usage/", [request["records"][1]], format="json").status_code == 200
    # when
    response = api.post("/api/v1/usage/", request, format="json")
    # then
    assert response.status_code == 200
    assert response.json() == USAGE_EXAMPLE_RESPONSE


@pytest.mark.django_db
def test_the_top_up_examples_are_what_the_api_answers(cm, api, billing_staff):
    company = prepaid_client(cm)
    staff = api(billing_staff)
    body = _with_client(TOP_UP_EXAMPLE_REQUEST, company.pk)
    key = {"HTTP_IDEMPOTENCY_KEY": "bank-2026-12-03-88231"}

    first = staff.post("/api/v1/top-ups/", body, format="json", **key)
    assert first.status_code == 201, first.json()
    expected = {**TOP_UP_EXAMPLE_RESPONSE, "id": first.json()["id"], "client": company.pk}
    assert first.json() == expected

    again = staff.post("/api/v1/top-ups/", body, format="json", **key)
    assert again.status_code == 201 and again.json() == expected
    assert again["Idempotent-Replayed"] == "true"

    other = staff.post("/api/v1/top-ups/", {**body, "amount": "600.00"}, format="json", **key)
    assert other.status_code == 409 and other.json() == ERROR_EXAMPLES["409"]

    float_amount = staff.post(
        "/api/v1/top-ups/", {**body, "amount": 500.0}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert float_amount.status_code == 400 and float_amount.json() == ERROR_EXAMPLES["400"]


@pytest.mark.django_db
def test_the_error_examples_are_what_the_api_answers(api, client_company):
    assert api().get("/api/v1/me/").json() == ERROR_EXAMPLES["401"]
    viewer = api(ClientViewerFactory(client=client_company))
    forbidden = viewer.post("/api/v1/top-ups/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert forbidden.status_code == 403 and forbidden.json() == ERROR_EXAMPLES["403"]
    missing = viewer.get("/api/v1/invoices/999999/")
    assert missing.status_code == 404 and missing.json() == ERROR_EXAMPLES["404"]


# --- Offline -------------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.refs.append(attrs[name])
        if tag == "script" and not attrs.get("src"):
            self.inline_scripts += 1


def _external(url: str) -> bool:
    return bool(re.match(r"^(https?:)?//", url)) and not re.match(
        r"^(https?:)?//(localhost|127\.0\.0\.1|testserver)([:/]|$)", url
    )


@pytest.mark.django_db
def test_the_docs_page_references_only_the_portals_own_assets(client):
    assert settings.SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"] == "SIDECAR"
    response = client.get("/api/docs/")
    assert response.status_code == 200
    parser = _Refs()
    parser.feed(response.content.decode())
    assert parser.refs, "the page loads its assets"
    assert [ref for ref in parser.refs if _external(ref)] == []
    assert parser.inline_scripts == 0, "the policy forbids inline scripts"
    # the sidecar's assets and the start-up script are served by the portal itself, under the
    # policy's 'self'
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    for ref in parser.refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        if ref.endswith(".js") or "script" in ref:
            assert body, ref
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in ref for ref in parser.refs)
    script = next(ref for ref in parser.refs if "script" in ref and "static" not in ref)
    text = client.get(script).content.decode()
    assert re.findall(r"https?://[^\s'\"]+", text) == []

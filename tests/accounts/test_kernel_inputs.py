"""Inputs the API refuses with a 400 naming the field, never a 500 (issue 10, section 4):
bodies nested too deep, and Idempotency-Keys that are too long or not printable."""

import pytest
from rest_framework.test import APIClient

from accounts.kernel.parsers import MAX_DEPTH, _too_deep

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/sign-up/", "/api/v1/invitations/accept/"])
def test_a_body_nested_5000_deep_is_refused_before_it_is_parsed(path):
    body = "[" * 5000 + "]" * 5000
    response = APIClient().post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper" in response.json()["errors"][0]["message"]


def test_nesting_is_counted_outside_strings_only():
    assert not _too_deep(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', MAX_DEPTH)
    assert not _too_deep(b'{"a": "\\"[[["}', 3)
    assert _too_deep(b"[[[[", 3)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(value):
    response = APIClient().post(
        "/api/v1/sign-up/", '{"legal_name": ' + value + "}", content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("k" * 129, "At most 128 characters"),
        ("k" * 197, "At most 128"),
        ("café-1", "printable ASCII"),
    ],
)
def test_an_idempotency_key_that_is_too_long_or_not_ascii_is_refused_naming_the_header(
    billing_staff, client_company, key, message
):
    api = APIClient()
    api.force_authenticate(billing_staff)
    response = api.post(
        "/api/v1/top-ups/",
        {
            "client": client_company.pk,
            "amount": "10.00",
            "received_at": "2026-03-01T10:00:00Z",
            "reference": "",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
    )
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == "Idempotency-Key" and message in error["message"]

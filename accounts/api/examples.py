"""Examples shown in the API docs (`/api/docs/`) for the error shape and the Idempotency-Key.

The tests post these very examples and check the portal answers as they show
(tests/portal/test_api_docs.py), so the docs cannot drift from the API."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

# One per error status: what an integrator's code should expect to parse.
ERROR_EXAMPLES: dict[str, dict] = {
    "400": {
        "errors": [
            {
                "code": "invalid",
                "message": "Give amounts as decimal strings, never floating point numbers.",
                "field": "amount",
            }
        ]
    },
    "401": {
        "errors": [
            {
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
                "field": None,
            }
        ]
    },
    "403": {
        "errors": [
            {
                "code": "permission_denied",
                "message": "Only billing staff may do this.",
                "field": None,
            }
        ]
    },
    "404": {"errors": [{"code": "not_found", "message": "Not found.", "field": None}]},
    "409": {
        "errors": [
            {
                "code": "conflict",
                "message": "This Idempotency-Key was used with a different request; use a new key.",
                "field": "Idempotency-Key",
            }
        ]
    },
}

KEY_HEADER_WITH_EXAMPLE = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Your own unique key for this operation (e.g. the bank transfer's reference). Retrying "
        "with the same key and the same body answers the first result again (header "
        "`Idempotent-Replayed: true`) and moves no money twice; the same key with another body "
        "answers 409."
    ),
    examples=[OpenApiExample("A bank transfer's reference", value="bank-2026-12-03-88231")],
)

"""drf-spectacular extensions: how the API's own authentication classes appear in the schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema  # noqa: F401  (the schema class these extend)


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Scripts: "Token <key>" (manage.py issue_token EMAIL); the platform: "Api-Key <key>".',
        }


class OTPSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.OTPSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The browser's session; staff must have completed two-factor sign-in.",
        }


# Answers any operation can give besides its own: a bad query parameter or body (400), no or
# a bad credential (401), a role that may not (403), an id that is not the caller's (404), an
# unsupported format (406) or body type (415). Each in the one error shape.
_ALWAYS = {
    "400": "invalid input: the errors name each field and the rule",
    "401": "no credentials, or credentials that are not valid",
    "403": "the caller's role may not do this",
    "404": "no such object for this caller (another client's or provider's id answers the same)",
    "406": "the requested format is not offered",
}
_WITH_BODY = {"415": "the body's media type is not accepted"}


_ERRORS_REF = "#/components/schemas/Errors"


def error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error answers of every operation, each
    error answer with an example of the one error shape."""
    from .examples import ERROR_EXAMPLES

    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            extra = {**_ALWAYS, **(_WITH_BODY if "requestBody" in operation else {})}
            for code, description in extra.items():
                responses.setdefault(
                    code,
                    {
                        "content": {"application/json": {"schema": {"$ref": _ERRORS_REF}}},
                        "description": description,
                    },
                )
            for code, response in responses.items():
                media = response.get("content", {}).get("application/json")
                if (
                    code in ERROR_EXAMPLES
                    and media is not None
                    and media.get("schema", {}).get("$ref") == _ERRORS_REF
                    and "examples" not in media
                ):
                    media["examples"] = {
                        "error": {"summary": "the error shape", "value": ERROR_EXAMPLES[code]}
                    }
    return result

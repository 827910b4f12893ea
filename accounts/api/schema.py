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

"""API authentication: hashed tokens for scripts and the platform, sessions for the browser."""

from django.conf import settings
from rest_framework import authentication, exceptions

from accounts.tokens import api_token_authenticate


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` (people's scripts) or `Api-Key <key>` (the messaging platform)."""

    keywords = ("token", "api-key")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected '<keyword> <key>'."
            )
        user = api_token_authenticate(header[1])
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return (user, None)

    def authenticate_header(self, request):
        return "Token"


class OTPSessionAuthentication(authentication.SessionAuthentication):
    """Session auth that refuses a staff session not verified with its second factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if settings.PORTAL_STAFF_OTP_REQUIRED and (user.is_provider_staff or user.is_staff):
            django_request = request._request
            if not getattr(django_request.user, "is_verified", lambda: False)():
                raise exceptions.PermissionDenied("Staff must complete two-factor sign-in first.")
        return result

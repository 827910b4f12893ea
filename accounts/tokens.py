"""Hashed API tokens: only a SHA-256 of the key is stored; the key is shown once.

Staff sign in to pages with a second factor, so a staff token is one too: it is issued only
after the user's current TOTP code is checked, and it expires after
`PORTAL_STAFF_TOKEN_HOURS` (12 by default). Client users' tokens and the platform's key do
not expire; every token can be revoked.
"""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from .kernel.errors import NotAllowed
from .models import ApiToken, User

PREFIX_LEN = 8


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _second_factor_checked(user: User, otp_code: str | None) -> bool:
    code = (otp_code or "").strip()
    if not code:
        return False
    return any(
        device.verify_token(code)
        for device in TOTPDevice.objects.devices_for_user(user, confirmed=True)
    )


def api_token_issue(
    *, user: User, name: str = "", otp_code: str | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns the row and the raw key, which is never stored.

    A staff token needs the user's current TOTP code and expires (see the module docstring)."""
    expires_at = None
    if user.is_provider_staff or user.is_staff:
        if settings.PORTAL_STAFF_OTP_REQUIRED and not _second_factor_checked(user, otp_code):
            raise NotAllowed(
                "A staff token is issued only after a second-factor check: give the current "
                "code of your authenticator app.",
                field="otp_code",
            )
        expires_at = timezone.now() + dt.timedelta(hours=settings.PORTAL_STAFF_TOKEN_HOURS)
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:PREFIX_LEN], key_hash=hash_key(raw), expires_at=expires_at
    )
    return token, raw


def api_token_authenticate(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_key(raw), revoked_at=None, user__is_active=True)
        .filter(Q(expires_at=None) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute, so a busy platform key does not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now())

"""Users and invitations (art. 5.2: access only for the client's authorised employees), and the
staff's second factor (TOTP).

A client admin invites, changes and removes its own users; a removed user is deactivated and
kept for the record; a client keeps at least one active admin.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _

from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.notifications import notify
from accounts.models import Client, Invitation, Provider, User
from accounts.tokens import hash_key

INVITATION_DAYS = 7


# --- Invitations ---------------------------------------------------------------------------
def normalised_email(email: str) -> str:
    """The address an invitation goes to: stripped, lower-cased, and a valid email address."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed({"email": [gettext("Enter a valid email address.")]}) from exc
    return email


def refuse_existing_user(email: str) -> None:
    """One user per email address: an address already signed up cannot be invited again."""
    if User.objects.filter(email=email).exists():
        raise ValidationFailed(
            {"email": [gettext("A user with this email address already exists.")]}
        )


def password_problems(password: str, *, email: str, full_name: str) -> list[str]:
    """Why `password` is too weak for this person (Django's validators), or an empty list."""
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


def invitation_url(raw: str) -> str:
    return f"{settings.PORTAL_BASE_URL}/accounts/invitation/{raw}/"


def invitation_create(
    *, email: str, client: Client | None, provider: Provider, role: str, acting_user: User
) -> tuple[Invitation, str]:
    """An invitation valid for INVITATION_DAYS; only a hash of its one-time token is stored."""
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        client=client,
        provider=provider,
        role=role,
        token_hash=hash_key(raw),
        invited_by=acting_user,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    return invitation, raw


@transaction.atomic
def user_invite(
    *, client: Client, email: str, role: str, acting_user: User
) -> tuple[Invitation, str]:
    """A client admin invites an authorised employee (art. 5.2: access only for authorised employees)."""
    roles.require_client_admin(acting_user, client, staff_may=True)
    email = normalised_email(email)
    if role not in User.CLIENT_ROLES:
        raise ValidationFailed({"role": [gettext("Role must be client admin or client viewer.")]})
    refuse_existing_user(email)
    invitation, raw = invitation_create(
        email=email, client=client, provider=client.provider, role=role, acting_user=acting_user
    )
    notify(
        key=f"invitation:{invitation.pk}",
        client=client,
        recipients=[email],
        subject=lambda: (
            gettext("You are invited to %(client)s on the Agreement Portal")
            % {"client": client.legal_name}
        ),
        body=lambda: (
            ngettext(
                "Accept within %(days)s day: %(url)s",
                "Accept within %(days)s days: %(url)s",
                INVITATION_DAYS,
            )
            % {"days": INVITATION_DAYS, "url": invitation_url(raw)}
        ),
    )
    return invitation, raw


def invitation_for_token(raw: str) -> Invitation:
    """The open invitation of a token; a used, expired or unknown one is refused."""
    invitation = (
        Invitation.objects.select_related("client", "provider")
        .filter(token_hash=hash_key(raw or ""))
        .first()
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at < timezone.now()
    ):
        raise ApplicationError(
            gettext("This invitation is invalid, used or expired."),
            field="token",
            code="invalid_invitation",
        )
    return invitation


@transaction.atomic
def invitation_accept(*, raw_token: str, full_name: str, password: str, language: str = "") -> User:
    """The invited employee sets a password and joins its client with the invited role; the
    language they accept in becomes theirs where their provider offers it."""
    invitation = invitation_for_token(raw_token)
    if invitation.client is None:
        raise ApplicationError(
            gettext("This invitation is for registering a company; use the sign-up form."),
            field="token",
        )
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ApplicationError(gettext("This invitation has already been used."), field="token")
    problems = password_problems(password, email=invitation.email, full_name=full_name)
    if problems:
        raise ValidationFailed({"password": problems})
    refuse_existing_user(invitation.email)
    user = User.objects.create_user(
        invitation.email,
        password,
        full_name=(full_name or "").strip(),
        role=invitation.role,
        client=invitation.client,
        language=language if language in invitation.client.provider.languages else "",
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


# --- Roles and removal ---------------------------------------------------------------------
@transaction.atomic
def user_change_role(*, user: User, role: str, acting_user: User) -> User:
    """A client admin changes one of its users between admin and viewer."""
    roles.require_client_admin(acting_user, user.client, staff_may=True)
    if role not in User.CLIENT_ROLES:
        raise ValidationFailed({"role": [gettext("Role must be client admin or client viewer.")]})
    user = _lock_for_user_change(user, acting_user)
    if user.role == User.Role.CLIENT_ADMIN and role != User.Role.CLIENT_ADMIN:
        _ensure_another_admin(user)
    user.role = role
    with_history_user(user, acting_user).save()
    return user


@transaction.atomic
def user_remove(*, user: User, acting_user: User) -> User:
    """A client admin removes a user: deactivated (kept for the record), never deleted."""
    roles.require_client_admin(acting_user, user.client, staff_may=True)
    user = _lock_for_user_change(user, acting_user)
    if user.role == User.Role.CLIENT_ADMIN:
        _ensure_another_admin(user)
    user.is_active = False
    with_history_user(user, acting_user).save()
    return user


def _lock_for_user_change(user: User, acting_user: User) -> User:
    """Lock the target, the actor and the client's admins, in pk order, and re-check the actor.

    Two admins removing (or demoting) each other at once would otherwise each lock itself and
    then wait for the other: a deadlock. In pk order the second waits, then sees the first's
    change (the last admin stays; a removed admin may no longer act).
    """
    rows = {
        row.pk: row
        for row in User.objects.select_for_update()
        .filter(
            Q(pk__in=[user.pk, acting_user.pk])
            | Q(client_id=user.client_id, role=User.Role.CLIENT_ADMIN)
        )
        .order_by("pk")
    }
    roles.require_client_admin(rows.get(acting_user.pk, acting_user), user.client, staff_may=True)
    return rows[user.pk]


def _ensure_another_admin(user: User) -> None:
    """A client keeps at least one active admin, who can manage its users (art. 5.2)."""
    others = (
        User.objects.select_for_update()
        .filter(client_id=user.client_id, role=User.Role.CLIENT_ADMIN, is_active=True)
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise ApplicationError(gettext("A client keeps at least one active admin."), field="role")


# --- Two-factor sign-in for staff (django-otp) ---------------------------------------------
def totp_device_for_enrolment(*, user: User):
    """The staff user's unconfirmed TOTP device, made on first use; shown as a QR code to enrol."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_verify(*, user: User, token: str):
    """Check a TOTP code against the user's confirmed device, or confirm the enrolling one.

    Returns the device that accepted the code, or None. A code is accepted once (django-otp
    remembers the last time step), so a replayed code fails.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    confirmed = list(
        TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
    )
    if confirmed:
        return next((d for d in confirmed if d.verify_token(token)), None)
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def user_set_language(*, user: User, language: str, acting_user: User) -> User:
    """A user chooses the portal's language, among those their provider offers ("" for the
    default); their emails go out in it too."""
    from accounts.kernel.languages import LANGUAGE_NAMES, offered_languages

    roles.require_active(acting_user)
    if acting_user.pk != user.pk:
        raise NotAllowed(_("Only the user may choose their own language."))
    language = (language or "").strip()
    offered = offered_languages(user)
    if language and language not in offered:
        names = ", ".join(LANGUAGE_NAMES[code] for code in offered)
        raise ValidationFailed(
            {"language": [_("Choose one of the languages offered: %(names)s.") % {"names": names}]}
        )
    user.language = language
    with_history_user(user, acting_user).save(update_fields=["language"])
    return user

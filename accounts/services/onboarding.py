"""Onboarding: the company details art. 5.5 asks for, sign-up, the staff's invitation to register,
approval and rejection (art. 29.7: one registration per legal entity).

Each function runs in one transaction, checks its rule, and raises an `ApplicationError` naming
the field and the article when it refuses (a refused call changes nothing).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import validators
from accounts.kernel import roles
from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.models import Client, Director, Invitation, Provider, User

from . import agreements, terms, users

# The registration details a client gives and keeps current (art. 5.5).
COMPANY_FIELDS = (
    "legal_name",
    "address",
    "country",
    "registration_number",
    "vat_number",
    "billing_email",
)
DUPLICATE_REGISTRATION = (
    "This company is already registered with this provider; registration is allowed once per "
    "legal entity (art. 29.7)."
)


# --- Company details (art. 5.5) ------------------------------------------------------------
def company_details_validate(
    *, provider: Provider, data: dict[str, Any], exclude_client_id: int | None = None
) -> dict[str, Any]:
    """Validate and normalise the company details art. 5.5 asks for; raise naming every bad field."""
    errors: dict[str, list[str]] = {}
    cleaned = {
        k: (data.get(k) or "").strip() if isinstance(data.get(k, ""), str) else data.get(k)
        for k in COMPANY_FIELDS
    }
    cleaned["country"] = (cleaned.get("country") or "").upper()
    for field in ("legal_name", "address", "country", "billing_email"):
        if not cleaned.get(field):
            errors.setdefault(field, []).append(
                f"{field.replace('_', ' ').capitalize()} is required (art. 5.5)."
            )
    if cleaned["country"] and len(cleaned["country"]) != 2:
        errors.setdefault("country", []).append("Country must be a two-letter ISO 3166 code.")
    if cleaned.get("billing_email"):
        try:
            validate_email(cleaned["billing_email"])
        except DjangoValidationError:
            errors.setdefault("billing_email", []).append("Enter a valid email address.")
    _check_numbers(cleaned, errors)
    if data.get("directors") is not None:
        cleaned["directors"] = _clean_directors(data["directors"], errors)
    if not errors:
        cleaned["registration_number_normalised"] = validators.normalise_registration_number(
            cleaned["country"], cleaned["registration_number"]
        )
        cleaned["vat_number"] = validators.normalise_vat_number(
            cleaned["country"], cleaned["vat_number"]
        )
        if _registered_already(provider, cleaned, exclude_client_id):
            errors["registration_number"] = [DUPLICATE_REGISTRATION]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _check_numbers(cleaned: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The registration and VAT numbers, checked for the company's country (art. 5.5)."""
    reg_error = validators.registration_number_error(
        cleaned["country"], cleaned.get("registration_number") or ""
    )
    if reg_error:
        errors.setdefault("registration_number", []).append(reg_error)
    vat_error = validators.vat_number_error(
        cleaned["country"],
        cleaned.get("vat_number") or "",
        cleaned.get("registration_number") or "",
    )
    if vat_error:
        errors.setdefault("vat_number", []).append(vat_error)


def _clean_directors(directors, errors: dict[str, list[str]]) -> list[dict]:
    """At least one director authorised to sign, each with a name and a title (art. 5.5)."""
    cleaned = []
    for index, director in enumerate(directors):
        name = (director.get("name") or "").strip()
        title = (director.get("title") or "").strip()
        if not name or not title:
            errors.setdefault("directors", []).append(
                f"Director {index + 1}: name and title are both required (art. 5.5)."
            )
        cleaned.append({"name": name, "title": title})
    if not cleaned:
        errors.setdefault("directors", []).append(
            "Name at least one director authorised to sign the agreement (art. 5.5)."
        )
    return cleaned


def _registered_already(
    provider: Provider, cleaned: dict[str, Any], exclude_client_id: int | None
) -> bool:
    """A legal entity registers once per provider; a rejected registration does not count (art. 29.7)."""
    duplicate = Client.objects.filter(
        provider=provider,
        registration_number_normalised=cleaned["registration_number_normalised"],
    ).exclude(status=Client.Status.REJECTED)
    if exclude_client_id:
        duplicate = duplicate.exclude(pk=exclude_client_id)
    return duplicate.exists()


@contextmanager
def registered_once_per_entity():
    """Write a registration in a savepoint: when a concurrent registration of the same entity won
    the race, the unique index refuses it and the caller gets the art. 29.7 refusal."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise ValidationFailed({"registration_number": [DUPLICATE_REGISTRATION]}) from exc


# --- Sign-up -------------------------------------------------------------------------------
@transaction.atomic
def client_sign_up(
    *,
    provider: Provider,
    email: str,
    password: str,
    full_name: str,
    company: dict[str, Any],
    billing_mode: str = Client.BillingMode.POSTPAID,
    invitation: Invitation | None = None,
    language: str = "",
) -> User:
    """A person signs up and registers its company; the client is pending until staff approve it.

    Art. 5.5 lists the details; art. 29.7: one registration per legal entity. The language the
    person registers in becomes theirs where the provider offers it.
    """
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = [gettext("Enter a valid email address.")]
    if email and User.objects.filter(email=email).exists():
        errors["email"] = [gettext("An account with this email address already exists.")]
    password_errors = users.password_problems(password, email=email, full_name=full_name)
    if password_errors:
        errors["password"] = password_errors
    if billing_mode not in Client.BillingMode.values:
        errors["billing_mode"] = [
            gettext("Billing mode must be one of %(choices)s.")
            % {"choices": ", ".join(Client.BillingMode.values)}
        ]
    # A new registration names at least one director (art. 5.5), even when the key is missing.
    company = {**company, "directors": company.get("directors") or []}
    try:
        cleaned = company_details_validate(provider=provider, data=company)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        cleaned = None
    if errors:
        raise ValidationFailed(errors)
    directors = cleaned.pop("directors", [])
    with registered_once_per_entity():
        client = Client.objects.create(provider=provider, billing_mode=billing_mode, **cleaned)
    Director.objects.bulk_create([Director(client=client, **d) for d in directors])
    user = User.objects.create_user(
        email,
        password,
        full_name=full_name.strip(),
        role=User.Role.CLIENT_ADMIN,
        client=client,
        language=language if language in provider.languages else "",
    )
    if invitation is not None:
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    terms.terms_accept_current_on_sign_up(client=client, user=user)
    notify(
        key=f"client-signed-up:{client.pk}",
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=provider),
        subject=lambda: (
            gettext("New client awaiting approval: %(client)s") % {"client": client.legal_name}
        ),
        body=(
            lambda: (
                gettext(
                    "%(client)s (%(country)s, %(registration)s) signed up and waits for approval."
                )
                % {
                    "client": client.legal_name,
                    "country": client.country,
                    "registration": client.registration_number,
                }
            )
        ),
    )
    return user


@transaction.atomic
def onboarding_invite(
    *, provider: Provider, email: str, acting_user: User
) -> tuple[Invitation, str]:
    """Staff invite a person to sign up and register its company."""
    roles.require_billing_staff(acting_user)
    roles.require_serves_provider(acting_user, provider)
    email = users.normalised_email(email)
    users.refuse_existing_user(email)
    invitation, raw = users.invitation_create(
        email=email,
        client=None,
        provider=provider,
        role=User.Role.CLIENT_ADMIN,
        acting_user=acting_user,
    )
    notify(
        key=f"invitation:{invitation.pk}",
        recipients=[email],
        subject=lambda: (
            gettext("Register your company with %(provider)s") % {"provider": provider.name}
        ),
        body=lambda: (
            ngettext(
                "Sign up within %(days)s day: %(url)s",
                "Sign up within %(days)s days: %(url)s",
                users.INVITATION_DAYS,
            )
            % {"days": users.INVITATION_DAYS, "url": users.invitation_url(raw)}
        ),
    )
    return invitation, raw


# --- Approval and rejection ----------------------------------------------------------------
@transaction.atomic
def client_approve(*, client: Client, acting_user: User) -> Client:
    """Billing staff approve a pending client: it becomes active and its agreement starts (art. 3.1, 15.1)."""
    roles.require_billing_staff(acting_user)
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.PENDING:
        raise ApplicationError(
            gettext("Only a pending client can be approved; this one is %(status)s.")
            % {"status": client.get_status_display().lower()},
            field="status",
        )
    client.status = Client.Status.ACTIVE
    client.approved_at = timezone.now()
    client.decided_by = acting_user
    with_history_user(client, acting_user).save()
    agreements.agreement_create(client=client, start_date=local_date(client.provider))
    terms.terms_offer_on_approval(client=client)
    notify(
        key=f"client-approved:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your company has been approved"),
        body=lambda: (
            gettext("%(client)s is now active on the %(provider)s portal.")
            % {"client": client.legal_name, "provider": client.provider.name}
        ),
    )
    return client


@transaction.atomic
def client_reject(*, client: Client, acting_user: User, reason: str) -> Client:
    """Staff may refuse a registration (art. 29.7); the portal still records a reason for the applicant."""
    roles.require_billing_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [gettext("Give a reason for the rejection.")]})
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.PENDING:
        raise ApplicationError(gettext("Only a pending client can be rejected."), field="status")
    client.status = Client.Status.REJECTED
    client.rejection_reason = reason.strip()
    client.decided_by = acting_user
    with_history_user(client, acting_user).save()
    notify(
        key=f"client-rejected:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your registration was not accepted"),
        body=lambda: (
            gettext("The registration of %(client)s was not accepted: %(reason)s")
            % {"client": client.legal_name, "reason": client.rejection_reason}
        ),
    )
    return client

"""Every state change of accounts: onboarding, registration details, users, agreements, terms.

Each function runs in one transaction, checks its rule, and raises an `ApplicationError` naming
the field and the article when it refuses (a refused call changes nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import validators, workdays
from .kernel import roles
from .kernel.dates import add_months, local_date
from .kernel.errors import (
    ApplicationError,
    Conflict,
    ValidationFailed,
    from_django_validation_error,
)
from .kernel.notifications import client_admin_emails, client_recipients, notify, staff_emails
from .models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    Director,
    Invitation,
    Notification,
    Provider,
    Suspension,
    TermsAcceptance,
    TermsVersion,
    User,
)

COMPANY_FIELDS = (
    "legal_name",
    "address",
    "country",
    "registration_number",
    "vat_number",
    "billing_email",
)
INVITATION_DAYS = 7


def _with_history_user(obj, user):
    """simple-history records who made the change (art. 5.5, 18.1: changes in writing)."""
    obj._history_user = user
    return obj


# --- Company details -----------------------------------------------------------------------
def company_details_validate(
    *, provider: Provider, data: dict, exclude_client_id: int | None = None
) -> dict:
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
    directors = data.get("directors")
    if directors is not None:
        cleaned_directors = []
        for index, director in enumerate(directors):
            name = (director.get("name") or "").strip()
            title = (director.get("title") or "").strip()
            if not name or not title:
                errors.setdefault("directors", []).append(
                    f"Director {index + 1}: name and title are both required (art. 5.5)."
                )
            cleaned_directors.append({"name": name, "title": title})
        if not cleaned_directors:
            errors.setdefault("directors", []).append(
                "Name at least one director authorised to sign the agreement (art. 5.5)."
            )
        cleaned["directors"] = cleaned_directors
    if not errors:
        cleaned["registration_number_normalised"] = validators.normalise_registration_number(
            cleaned["country"], cleaned["registration_number"]
        )
        cleaned["vat_number"] = validators.normalise_vat_number(
            cleaned["country"], cleaned["vat_number"]
        )
        duplicate = Client.objects.filter(
            provider=provider,
            registration_number_normalised=cleaned["registration_number_normalised"],
        ).exclude(status=Client.Status.REJECTED)
        if exclude_client_id:
            duplicate = duplicate.exclude(pk=exclude_client_id)
        if duplicate.exists():
            errors["registration_number"] = [
                "This company is already registered with this provider; registration is allowed once per legal entity (art. 29.7)."
            ]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _duplicate_registration_error() -> ValidationFailed:
    return ValidationFailed(
        {
            "registration_number": [
                "This company is already registered with this provider; registration is allowed once per legal entity (art. 29.7)."
            ]
        }
    )


# --- Onboarding ----------------------------------------------------------------------------
@transaction.atomic
def client_sign_up(
    *,
    provider: Provider,
    email: str,
    password: str,
    full_name: str,
    company: dict,
    billing_mode: str = Client.BillingMode.POSTPAID,
    invitation: Invitation | None = None,
) -> User:
    """A person signs up and registers its company; the client is pending until staff approve it.

    Art. 5.5 lists the details; art. 29.7: one registration per legal entity.
    """
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = ["Enter a valid email address."]
    if email and User.objects.filter(email=email).exists():
        errors["email"] = ["An account with this email address already exists."]
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if billing_mode not in Client.BillingMode.values:
        errors["billing_mode"] = [
            f"Billing mode must be one of {', '.join(Client.BillingMode.values)}."
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
    try:
        with transaction.atomic():
            client = Client.objects.create(provider=provider, billing_mode=billing_mode, **cleaned)
    except IntegrityError as exc:  # a concurrent registration of the same entity won the race
        raise _duplicate_registration_error() from exc
    Director.objects.bulk_create([Director(client=client, **d) for d in directors])
    user = User.objects.create_user(
        email, password, full_name=full_name.strip(), role=User.Role.CLIENT_ADMIN, client=client
    )
    if invitation is not None:
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    _terms_accept_current_on_sign_up(client=client, user=user)
    notify(
        key=f"client-signed-up:{client.pk}",
        recipients=staff_emails(User.Role.BILLING_STAFF),
        subject=f"New client awaiting approval: {client.legal_name}",
        body=f"{client.legal_name} ({client.country}, {client.registration_number}) signed up and waits for approval.",
    )
    return user


def _terms_accept_current_on_sign_up(*, client: Client, user: User) -> None:
    current = (
        TermsVersion.objects.filter(provider=client.provider, published_at__isnull=False)
        .order_by("-published_at")
        .first()
    )
    if current is None:
        return
    now = timezone.now()
    TermsAcceptance.objects.create(
        client=client,
        terms=current,
        status=TermsAcceptance.Status.ACCEPTED,
        notified_at=now,
        objection_deadline=now,
        decided_at=now,
        decided_by=user,
    )


def _terms_offer_latest_on_approval(*, client: Client) -> None:
    """Terms published while the client was pending reach it on approval, with the month to object (art. 18.3)."""
    latest = (
        TermsVersion.objects.filter(provider=client.provider, published_at__isnull=False)
        .order_by("-published_at", "-pk")
        .first()
    )
    if latest is None or TermsAcceptance.objects.filter(client=client, terms=latest).exists():
        return
    now = timezone.now()
    TermsAcceptance.objects.create(
        client=client,
        terms=latest,
        notified_at=now,
        objection_deadline=add_months(now, client.provider.terms_objection_months),
    )
    notify(
        key=f"terms-published:{latest.pk}:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=f"{client.provider.name} terms and conditions {latest.version}",
        body=(
            f"{latest.summary}\n\nIf you do not object in writing within "
            f"{client.provider.terms_objection_months} month(s), these terms are deemed accepted (art. 18.3)."
        ),
    )


@transaction.atomic
def client_approve(*, client: Client, acting_user: User) -> Client:
    """Billing staff approve a pending client: it becomes active and its agreement starts (art. 3.1, 15.1)."""
    _require_billing_staff(acting_user)
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.PENDING:
        raise ApplicationError(
            f"Only a pending client can be approved; this one is {client.get_status_display().lower()}.",
            field="status",
        )
    client.status = Client.Status.ACTIVE
    client.approved_at = timezone.now()
    client.decided_by = acting_user
    _with_history_user(client, acting_user).save()
    agreement_create(client=client, start_date=local_date(client.provider))
    _terms_offer_latest_on_approval(client=client)
    notify(
        key=f"client-approved:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="Your company has been approved",
        body=f"{client.legal_name} is now active on the {client.provider.name} portal.",
    )
    return client


@transaction.atomic
def client_reject(*, client: Client, acting_user: User, reason: str) -> Client:
    """Staff may refuse a registration (art. 29.7); the portal still records a reason for the applicant."""
    _require_billing_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Give a reason for the rejection."]})
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status != Client.Status.PENDING:
        raise ApplicationError("Only a pending client can be rejected.", field="status")
    client.status = Client.Status.REJECTED
    client.rejection_reason = reason.strip()
    client.decided_by = acting_user
    _with_history_user(client, acting_user).save()
    notify(
        key=f"client-rejected:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="Your registration was not accepted",
        body=f"The registration of {client.legal_name} was not accepted: {client.rejection_reason}",
    )
    return client


# --- Change requests (art. 5.5) ------------------------------------------------------------
def _current_details(client: Client) -> dict:
    details = {field: getattr(client, field) for field in COMPANY_FIELDS}
    details["directors"] = [{"name": d.name, "title": d.title} for d in client.directors.all()]
    return details


@transaction.atomic
def change_request_submit(*, client: Client, acting_user: User, changes: dict) -> ChangeRequest:
    """A client admin passes changes of its registration details on in writing (art. 5.5)."""
    _require_client_admin(acting_user, client)
    unknown = set(changes) - set(COMPANY_FIELDS) - {"directors"}
    if unknown:
        raise ValidationFailed(
            {sorted(unknown)[0]: ["This field cannot be changed by a change request."]}
        )
    current = _current_details(client)
    proposed = {**current, **changes}
    cleaned = company_details_validate(
        provider=client.provider, data=proposed, exclude_client_id=client.pk
    )
    diff = {}
    for field in changes:
        new_value = cleaned[field]
        if new_value != current[field]:
            diff[field] = {"old": current[field], "new": new_value}
    if not diff:
        raise ValidationFailed("The request changes nothing: every value is the same as now.")
    request = ChangeRequest(client=client, changes=diff, submitted_by=acting_user)
    _with_history_user(request, acting_user).save()
    notify(
        key=f"change-request:{request.pk}",
        recipients=staff_emails(User.Role.BILLING_STAFF),
        subject=f"Change of registration details: {client.legal_name}",
        body="Fields: " + ", ".join(sorted(diff)),
    )
    return request


@transaction.atomic
def change_request_accept(
    *, change_request: ChangeRequest, acting_user: User, note: str = ""
) -> Client:
    """Staff accept a change request; the new values apply and the history records who and when (art. 5.5)."""
    _require_billing_staff(acting_user)
    change_request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if change_request.status != ChangeRequest.Status.PENDING:
        raise ApplicationError("This change request has already been decided.", field="status")
    client = Client.objects.select_for_update().get(pk=change_request.client_id)
    new_values = {field: change["new"] for field, change in change_request.changes.items()}
    cleaned = company_details_validate(
        provider=client.provider,
        data={**_current_details(client), **new_values},
        exclude_client_id=client.pk,
    )
    for field in COMPANY_FIELDS:
        if field in new_values:
            setattr(client, field, cleaned[field])
    client.registration_number_normalised = cleaned["registration_number_normalised"]
    try:
        with transaction.atomic():
            _with_history_user(client, acting_user).save()
    except IntegrityError as exc:
        raise _duplicate_registration_error() from exc
    if "directors" in new_values:
        for director in client.directors.all():
            _with_history_user(director, acting_user).delete()
        for d in cleaned["directors"]:
            _with_history_user(Director(client=client, **d), acting_user).save()
    change_request.status = ChangeRequest.Status.ACCEPTED
    change_request.decided_by = acting_user
    change_request.decided_at = timezone.now()
    change_request.decision_note = note
    _with_history_user(change_request, acting_user).save()
    notify(
        key=f"change-request-decided:{change_request.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject="Your change of registration details was accepted",
        body="Applied: " + ", ".join(sorted(new_values)),
    )
    return client


@transaction.atomic
def change_request_reject(
    *, change_request: ChangeRequest, acting_user: User, note: str
) -> ChangeRequest:
    _require_billing_staff(acting_user)
    if not (note or "").strip():
        raise ValidationFailed({"note": ["Give a reason for the rejection."]})
    change_request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if change_request.status != ChangeRequest.Status.PENDING:
        raise ApplicationError("This change request has already been decided.", field="status")
    change_request.status = ChangeRequest.Status.REJECTED
    change_request.decided_by = acting_user
    change_request.decided_at = timezone.now()
    change_request.decision_note = note.strip()
    _with_history_user(change_request, acting_user).save()
    notify(
        key=f"change-request-decided:{change_request.pk}",
        client=change_request.client,
        recipients=client_admin_emails(change_request.client),
        subject="Your change of registration details was not accepted",
        body=note.strip(),
    )
    return change_request


# --- Data requests (art. 5.6) --------------------------------------------------------------
@transaction.atomic
def data_request_log(
    *,
    client: Client,
    acting_user: User,
    requested_by: str,
    description: str,
    now: dt.datetime | None = None,
) -> DataRequest:
    """Staff log an operator's or authority's request; the client must answer within 3 working days (art. 5.6).

    `now` (the moment it is logged) defaults to the current time.
    """
    _require_staff(acting_user)
    errors = {}
    if not (requested_by or "").strip():
        errors["requested_by"] = ["Name the operator or authority asking for the data (art. 5.6)."]
    if not (description or "").strip():
        errors["description"] = ["Describe the data requested (art. 5.6)."]
    if errors:
        raise ValidationFailed(errors)
    now = now or timezone.now()
    provider = client.provider
    request = DataRequest(
        client=client,
        requested_by=requested_by.strip(),
        description=description.strip(),
        logged_by=acting_user,
        logged_at=now,
        due_at=workdays.add_working_days(now, provider.registration_data_working_days, provider),
    )
    _with_history_user(request, acting_user).save()
    notify(
        key=f"data-request:{request.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject=f"Registration data requested (answer within {provider.registration_data_working_days} working days)",
        body=f"{request.requested_by} asks for: {request.description}\nDue: {request.due_at:%Y-%m-%d %H:%M %Z}",
    )
    return request


@transaction.atomic
def data_request_answer(
    *, data_request: DataRequest, acting_user: User, answer: str
) -> DataRequest:
    """The client answers a data request in the portal (art. 5.6)."""
    _require_client_admin(acting_user, data_request.client)
    if not (answer or "").strip():
        raise ValidationFailed({"answer": ["The answer cannot be empty."]})
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.status != DataRequest.Status.OPEN:
        raise ApplicationError("This data request has already been answered.", field="status")
    data_request.answer = answer.strip()
    data_request.answered_by = acting_user
    data_request.answered_at = timezone.now()
    data_request.status = DataRequest.Status.ANSWERED
    _with_history_user(data_request, acting_user).save()
    return data_request


def data_requests_flag_overdue(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Flag open data requests past their 3-working-day deadline to staff, once each (art. 5.6)."""
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataRequest.objects.select_for_update(skip_locked=True)
                .filter(status=DataRequest.Status.OPEN, due_at__lt=now, overdue_flagged_at=None)
                .select_related("client")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return flagged
            DataRequest.objects.filter(pk__in=[r.pk for r in batch]).update(overdue_flagged_at=now)
            for request in batch:
                notify(
                    key=f"data-request-overdue:{request.pk}",
                    client=request.client,
                    recipients=staff_emails(),
                    subject=f"Overdue data request: {request.client.legal_name}",
                    body=f"{request.requested_by} asked on {request.logged_at:%Y-%m-%d}; due {request.due_at:%Y-%m-%d %H:%M %Z}.",
                )
            flagged += len(batch)


# --- Users and invitations (art. 5.2) ------------------------------------------------------
def _new_invitation_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def user_invite(
    *, client: Client, email: str, role: str, acting_user: User
) -> tuple[Invitation, str]:
    """A client admin invites an authorised employee (art. 5.2: access only for authorised employees)."""
    _require_client_admin(acting_user, client)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed({"email": ["Enter a valid email address."]}) from exc
    if role not in User.CLIENT_ROLES:
        raise ValidationFailed({"role": ["Role must be client admin or client viewer."]})
    if User.objects.filter(email=email).exists():
        raise ValidationFailed({"email": ["A user with this email address already exists."]})
    raw, token_hash = _new_invitation_token()
    invitation = Invitation.objects.create(
        email=email,
        client=client,
        provider=client.provider,
        role=role,
        token_hash=token_hash,
        invited_by=acting_user,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    notify(
        key=f"invitation:{invitation.pk}",
        client=client,
        recipients=[email],
        subject=f"You are invited to {client.legal_name} on the Agreement Portal",
        body=f"Accept within {INVITATION_DAYS} days: {settings.PORTAL_BASE_URL}/accounts/invitation/{raw}/",
    )
    return invitation, raw


@transaction.atomic
def onboarding_invite(
    *, provider: Provider, email: str, acting_user: User
) -> tuple[Invitation, str]:
    """Staff invite a person to sign up and register its company."""
    _require_billing_staff(acting_user)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed({"email": ["Enter a valid email address."]}) from exc
    if User.objects.filter(email=email).exists():
        raise ValidationFailed({"email": ["A user with this email address already exists."]})
    raw, token_hash = _new_invitation_token()
    invitation = Invitation.objects.create(
        email=email,
        client=None,
        provider=provider,
        role=User.Role.CLIENT_ADMIN,
        token_hash=token_hash,
        invited_by=acting_user,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    notify(
        key=f"invitation:{invitation.pk}",
        recipients=[email],
        subject=f"Register your company with {provider.name}",
        body=f"Sign up within {INVITATION_DAYS} days: {settings.PORTAL_BASE_URL}/accounts/invitation/{raw}/",
    )
    return invitation, raw


def invitation_for_token(raw: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("client", "provider")
        .filter(token_hash=hashlib.sha256((raw or "").encode()).hexdigest())
        .first()
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at < timezone.now()
    ):
        raise ApplicationError(
            "This invitation is invalid, used or expired.", field="token", code="invalid_invitation"
        )
    return invitation


@transaction.atomic
def invitation_accept(*, raw_token: str, full_name: str, password: str) -> User:
    """The invited employee sets a password and joins its client with the invited role."""
    invitation = invitation_for_token(raw_token)
    if invitation.client is None:
        raise ApplicationError(
            "This invitation is for registering a company; use the sign-up form.", field="token"
        )
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ApplicationError("This invitation has already been used.", field="token")
    try:
        validate_password(password, User(email=invitation.email, full_name=full_name))
    except DjangoValidationError as exc:
        raise ValidationFailed({"password": list(exc.messages)}) from exc
    if User.objects.filter(email=invitation.email).exists():
        raise ValidationFailed({"email": ["A user with this email address already exists."]})
    user = User.objects.create_user(
        invitation.email,
        password,
        full_name=(full_name or "").strip(),
        role=invitation.role,
        client=invitation.client,
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


@transaction.atomic
def user_change_role(*, user: User, role: str, acting_user: User) -> User:
    """A client admin changes one of its users between admin and viewer."""
    _require_client_admin(acting_user, user.client)
    if role not in User.CLIENT_ROLES:
        raise ValidationFailed({"role": ["Role must be client admin or client viewer."]})
    user = _lock_for_user_change(user, acting_user)
    if user.role == User.Role.CLIENT_ADMIN and role != User.Role.CLIENT_ADMIN:
        _ensure_another_admin(user)
    user.role = role
    _with_history_user(user, acting_user).save()
    return user


@transaction.atomic
def user_remove(*, user: User, acting_user: User) -> User:
    """A client admin removes a user: deactivated (kept for the record), never deleted."""
    _require_client_admin(acting_user, user.client)
    user = _lock_for_user_change(user, acting_user)
    if user.role == User.Role.CLIENT_ADMIN:
        _ensure_another_admin(user)
    user.is_active = False
    _with_history_user(user, acting_user).save()
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
    _require_client_admin(rows.get(acting_user.pk, acting_user), user.client)
    return rows[user.pk]


def _ensure_another_admin(user: User) -> None:
    others = (
        User.objects.select_for_update()
        .filter(client_id=user.client_id, role=User.Role.CLIENT_ADMIN, is_active=True)
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise ApplicationError("A client keeps at least one active admin.", field="role")


# --- Agreements (art. 15) and suspension (art. 7) ------------------------------------------
def agreement_create(*, client: Client, start_date: dt.date) -> Agreement:
    """The agreement starts with the profile's initial term (art. 15.1: one year failing agreement)."""
    provider = client.provider
    agreement = Agreement(
        client=client,
        start_date=start_date,
        initial_term_months=provider.initial_term_months,
        renewal_term_months=provider.renewal_term_months,
        notice_period_months=provider.notice_period_months,
        current_term_end=add_months(start_date, provider.initial_term_months) - timedelta(days=1),
    )
    try:
        agreement.full_clean()
    except DjangoValidationError as exc:
        raise from_django_validation_error(exc) from exc
    agreement.save()
    return agreement


def agreement_end_date_for_notice(agreement: Agreement, notice_day: dt.date) -> dt.date:
    """Art. 15.1–15.2: not before the initial term ends, and after it on three months' notice."""
    initial_end = add_months(agreement.start_date, agreement.initial_term_months) - timedelta(
        days=1
    )
    return max(initial_end, add_months(notice_day, agreement.notice_period_months))


@transaction.atomic
def agreement_give_notice(
    *,
    agreement: Agreement,
    party: str,
    acting_user: User,
    reason: str = "",
    at: dt.datetime | None = None,
) -> Agreement:
    """Either party terminates in writing on notice; the end date follows art. 15.2."""
    agreement = (
        Agreement.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=agreement.pk)
    )
    if party == Agreement.Party.CLIENT:
        _require_client_admin(acting_user, agreement.client)
    elif party == Agreement.Party.PROVIDER:
        _require_billing_staff(acting_user)
    else:
        raise ValidationFailed({"party": ["Party must be client or provider."]})
    if agreement.status == Agreement.Status.TERMINATED:
        raise ApplicationError("The agreement has already ended.", field="status")
    if agreement.notice_given_at:
        raise ApplicationError(
            f"Notice was already given; the agreement ends on {agreement.end_date}.", field="status"
        )
    at = at or timezone.now()
    agreement.notice_given_at = at
    agreement.notice_given_by = party
    agreement.notice_reason = (reason or "").strip()
    agreement.end_date = agreement_end_date_for_notice(
        agreement, local_date(agreement.client.provider, at)
    )
    if agreement.status == Agreement.Status.ACTIVE:
        agreement.status = Agreement.Status.NOTICE_GIVEN
    _with_history_user(agreement, acting_user).save()
    client = agreement.client
    notify(
        key=f"agreement-notice:{agreement.pk}",
        client=client,
        recipients=client_recipients(client) + staff_emails(User.Role.BILLING_STAFF),
        subject=f"Notice of termination: the agreement ends on {agreement.end_date}",
        body=f"Notice given by the {party} on {at:%Y-%m-%d}. The agreement ends on {agreement.end_date} (art. 15.2).",
    )
    return agreement


@transaction.atomic
def agreement_notice_of_default(
    *, agreement: Agreement, acting_user: User, text: str, now: dt.datetime | None = None
) -> Agreement:
    """Art. 15.4: a detailed written notice of default, with ten working days to remedy it."""
    _require_billing_staff(acting_user)
    if not (text or "").strip():
        raise ValidationFailed(
            {"text": ["Describe the failure in as much detail as possible (art. 15.4)."]}
        )
    agreement = (
        Agreement.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=agreement.pk)
    )
    if agreement.status == Agreement.Status.TERMINATED:
        raise ApplicationError("The agreement has already ended.", field="status")
    provider = agreement.client.provider
    now = now or timezone.now()
    agreement.default_notice_at = now
    agreement.default_notice_text = text.strip()
    agreement.cure_deadline = workdays.add_working_days(
        now, provider.cure_period_working_days, provider
    )
    _with_history_user(agreement, acting_user).save()
    notify(
        key=f"notice-of-default:{agreement.pk}:{now.timestamp()}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject="Notice of default",
        body=f"{agreement.default_notice_text}\n\nRemedy by {agreement.cure_deadline:%Y-%m-%d %H:%M %Z} (art. 15.4).",
    )
    return agreement


@transaction.atomic
def agreement_terminate_for_cause(
    *,
    agreement: Agreement,
    acting_user: User,
    reason: str,
    immediate: bool = False,
    now: dt.datetime | None = None,
) -> Agreement:
    """Art. 15.4: for cause once the cure period has run out; art. 15.5: immediately (insolvency, ...)."""
    _require_billing_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Give the cause of termination."]})
    agreement = (
        Agreement.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=agreement.pk)
    )
    if agreement.status == Agreement.Status.TERMINATED:
        raise ApplicationError("The agreement has already ended.", field="status")
    now = now or timezone.now()
    if not immediate:
        if agreement.cure_deadline is None:
            raise ApplicationError(
                "Send a notice of default first; termination for cause needs it (art. 15.4).",
                field="cure_deadline",
                article="15.4",
            )
        if now <= agreement.cure_deadline:
            raise ApplicationError(
                f"The cure period runs until {agreement.cure_deadline:%Y-%m-%d %H:%M %Z} (art. 15.4).",
                field="cure_deadline",
                article="15.4",
            )
    agreement.status = Agreement.Status.TERMINATED
    agreement.terminated_at = now
    agreement.end_date = local_date(agreement.client.provider, now)
    agreement.termination_reason = reason.strip()
    _with_history_user(agreement, acting_user).save()
    notify(
        key=f"agreement-terminated:{agreement.pk}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject="Your agreement has been terminated",
        body=f"{reason.strip()} (art. {'15.5' if immediate else '15.4'}). Amounts invoiced remain due (art. 15.6).",
    )
    return agreement


def agreements_roll(*, today: dt.date | None = None, batch_size: int = 500) -> dict:
    """The beat job: renew agreements at the end of their term unless they end (art. 15.2), end those due.

    Runs in provider-local dates; running it twice on the same day changes nothing the second time.
    """
    renewed = terminated = 0
    for provider in Provider.objects.all():
        day = today or local_date(provider)
        while True:
            with transaction.atomic():
                due = list(
                    Agreement.objects.select_for_update(skip_locked=True)
                    .filter(client__provider=provider, end_date__lt=day)
                    .exclude(status=Agreement.Status.TERMINATED)
                    .order_by("pk")[:batch_size]
                )
                for agreement in due:
                    agreement.status = Agreement.Status.TERMINATED
                    agreement.terminated_at = timezone.now()
                    agreement.termination_reason = (
                        agreement.termination_reason or "Ended on notice (art. 15.2)."
                    )
                    agreement.save()
                terminated += len(due)
                to_renew = list(
                    Agreement.objects.select_for_update(skip_locked=True)
                    .filter(client__provider=provider, current_term_end__lt=day)
                    .exclude(status=Agreement.Status.TERMINATED)
                    .order_by("pk")[:batch_size]
                )
                for agreement in to_renew:
                    while agreement.current_term_end < day:
                        agreement.current_term_end = add_months(
                            agreement.current_term_end + timedelta(days=1),
                            agreement.renewal_term_months,
                        ) - timedelta(days=1)
                        agreement.renewals += 1
                    agreement.save()
                renewed += len(to_renew)
            if not due and not to_renew:
                break
    return {"renewed": renewed, "terminated": terminated}


@transaction.atomic
def client_suspend(
    *, client: Client, cause: str, reason: str, acting_user: User | None
) -> Suspension:
    """Suspend the service (art. 7.1); the client remains liable for payment meanwhile (art. 7.2)."""
    if acting_user is not None:
        _require_staff(acting_user)
    if cause not in Suspension.Cause.values:
        raise ValidationFailed(
            {"cause": [f"Cause must be one of {', '.join(Suspension.Cause.values)}."]}
        )
    if not (reason or "").strip():
        raise ValidationFailed(
            {"reason": ["Give the reason for the suspension; the client sees it (art. 7.1)."]}
        )
    Client.objects.select_for_update().get(pk=client.pk)
    if Suspension.objects.filter(client=client, cause=cause, ended_at=None).exists():
        raise Conflict("The client is already suspended for this cause.", field="cause")
    suspension = Suspension(
        client=client, cause=cause, reason=reason.strip(), started_by=acting_user
    )
    _with_history_user(suspension, acting_user).save()
    Agreement.objects.filter(
        client=client, status__in=[Agreement.Status.ACTIVE, Agreement.Status.NOTICE_GIVEN]
    ).update(status=Agreement.Status.SUSPENDED)
    notify(
        key=f"suspension:{suspension.pk}",
        client=client,
        recipients=client_recipients(client, include_viewers=True),
        subject="Your service has been suspended",
        body=f"Reason: {suspension.reason}\nYou remain liable for payment while the service is suspended (art. 7.2).",
    )
    return suspension


@transaction.atomic
def client_resume(
    *, client: Client, acting_user: User | None, reason: str, cause: str | None = None
) -> int:
    """Resume once the reason is removed (art. 7.3); ends the open suspension(s) of `cause` (all if None)."""
    if acting_user is not None:
        _require_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Say why the service resumes (art. 7.3)."]})
    Client.objects.select_for_update().get(pk=client.pk)
    open_ = Suspension.objects.filter(client=client, ended_at=None)
    if cause:
        open_ = open_.filter(cause=cause)
    suspensions = list(open_)
    if not suspensions:
        raise ApplicationError("The client is not suspended.", field="status")
    now = timezone.now()
    for suspension in suspensions:
        suspension.ended_at = now
        suspension.ended_by = acting_user
        suspension.end_reason = reason.strip()
        _with_history_user(suspension, acting_user).save()
    if not Suspension.objects.filter(client=client, ended_at=None).exists():
        agreement = Agreement.objects.filter(
            client=client, status=Agreement.Status.SUSPENDED
        ).first()
        if agreement is not None:
            agreement.status = (
                Agreement.Status.NOTICE_GIVEN
                if agreement.notice_given_at
                else Agreement.Status.ACTIVE
            )
            _with_history_user(agreement, acting_user).save()
        notify(
            key=f"resumed:{client.pk}:{now.timestamp()}",
            client=client,
            recipients=client_recipients(client, include_viewers=True),
            subject="Your service has resumed",
            body=reason.strip(),
        )
    return len(suspensions)


# --- Terms versions (art. 18.3) ------------------------------------------------------------
@transaction.atomic
def terms_publish(
    *,
    provider: Provider,
    version: str,
    summary: str,
    acting_user: User,
    document_url: str = "",
    now: dt.datetime | None = None,
) -> TermsVersion:
    """Publish new terms; every active client is told and may object within one month (art. 18.3)."""
    _require_staff(acting_user)
    errors = {}
    if not (version or "").strip():
        errors["version"] = ["Give the version number."]
    if not (summary or "").strip():
        errors["summary"] = ["Summarise what changed; clients are told (art. 18.3)."]
    if TermsVersion.objects.filter(provider=provider, version=(version or "").strip()).exists():
        errors["version"] = ["This provider already has a terms version with this number."]
    if errors:
        raise ValidationFailed(errors)
    now = now or timezone.now()
    terms = TermsVersion(
        provider=provider,
        version=version.strip(),
        summary=summary.strip(),
        document_url=document_url,
        published_at=now,
        published_by=acting_user,
    )
    _with_history_user(terms, acting_user).save()
    deadline = add_months(now, provider.terms_objection_months)
    clients = list(
        Client.objects.filter(provider=provider, status=Client.Status.ACTIVE).order_by("pk")
    )
    TermsAcceptance.objects.bulk_create(
        [
            TermsAcceptance(client=c, terms=terms, notified_at=now, objection_deadline=deadline)
            for c in clients
        ]
    )
    for client in clients:
        notify(
            key=f"terms-published:{terms.pk}:{client.pk}",
            client=client,
            recipients=client_recipients(client),
            subject=f"{provider.name} terms and conditions {terms.version}",
            body=(
                f"{terms.summary}\n\nIf you do not object in writing by {deadline:%Y-%m-%d}, the new terms are "
                "deemed accepted (art. 18.3). You can object in the portal."
            ),
        )
    return terms


@transaction.atomic
def terms_object(
    *, acceptance: TermsAcceptance, acting_user: User, reason: str, now: dt.datetime | None = None
) -> TermsAcceptance:
    """A client admin objects in writing within the month; the previous terms still apply (art. 18.3)."""
    _require_client_admin(acting_user, acceptance.client)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Say why you object (art. 18.3: in writing)."]})
    acceptance = TermsAcceptance.objects.select_for_update().get(pk=acceptance.pk)
    if acceptance.status != TermsAcceptance.Status.PENDING:
        raise ApplicationError(
            f"These terms are already {acceptance.get_status_display().lower()}.", field="status"
        )
    now = now or timezone.now()
    if now > acceptance.objection_deadline:
        raise ApplicationError(
            f"The objection period ended on {acceptance.objection_deadline:%Y-%m-%d}; the terms are deemed accepted (art. 18.3).",
            field="status",
            article="18.3",
        )
    acceptance.status = TermsAcceptance.Status.OBJECTED
    acceptance.objection_reason = reason.strip()
    acceptance.decided_at = now
    acceptance.decided_by = acting_user
    _with_history_user(acceptance, acting_user).save()
    notify(
        key=f"terms-objection:{acceptance.pk}",
        client=acceptance.client,
        recipients=staff_emails(User.Role.BILLING_STAFF),
        subject=f"{acceptance.client.legal_name} objects to terms {acceptance.terms.version}",
        body=acceptance.objection_reason,
    )
    return acceptance


@transaction.atomic
def terms_accept(*, acceptance: TermsAcceptance, acting_user: User) -> TermsAcceptance:
    _require_client_admin(acting_user, acceptance.client)
    acceptance = TermsAcceptance.objects.select_for_update().get(pk=acceptance.pk)
    if acceptance.status != TermsAcceptance.Status.PENDING:
        raise ApplicationError(
            f"These terms are already {acceptance.get_status_display().lower()}.", field="status"
        )
    acceptance.status = TermsAcceptance.Status.ACCEPTED
    acceptance.decided_at = timezone.now()
    acceptance.decided_by = acting_user
    _with_history_user(acceptance, acting_user).save()
    return acceptance


def terms_deem_accepted(*, now: dt.datetime | None = None) -> int:
    """The beat job: without objection within the month, the new terms are deemed accepted (art. 18.3)."""
    now = now or timezone.now()
    # A set-based update: the decided_at stamp on each row is the record (DESIGN.md, History).
    return TermsAcceptance.objects.filter(
        status=TermsAcceptance.Status.PENDING, objection_deadline__lt=now
    ).update(status=TermsAcceptance.Status.DEEMED_ACCEPTED, decided_at=now)


@transaction.atomic
def agreement_cancel_after_objection(
    *, acceptance: TermsAcceptance, acting_user: User, now: dt.datetime | None = None
) -> Agreement:
    """After an objection the provider may cancel the agreement on one month's written notice (art. 18.3)."""
    _require_billing_staff(acting_user)
    acceptance = TermsAcceptance.objects.select_related("terms").get(pk=acceptance.pk)
    if acceptance.status != TermsAcceptance.Status.OBJECTED:
        raise ApplicationError(
            "Only a client that objected to new terms can be cancelled this way (art. 18.3).",
            field="status",
        )
    agreement = (
        Agreement.objects.select_for_update()
        .select_related("client__provider")
        .get(client=acceptance.client)
    )
    if agreement.status == Agreement.Status.TERMINATED:
        raise ApplicationError("The agreement has already ended.", field="status")
    provider = agreement.client.provider
    now = now or timezone.now()
    end_date = add_months(local_date(provider, now), provider.terms_cancel_notice_months)
    if agreement.end_date is not None and agreement.end_date <= end_date:
        # Notice already given ends it sooner; one month's notice must not extend the agreement.
        raise ApplicationError(
            f"The agreement already ends on {agreement.end_date}.", field="status"
        )
    agreement.notice_given_at = now
    agreement.notice_given_by = Agreement.Party.PROVIDER
    agreement.notice_reason = f"Objection to terms {acceptance.terms.version} (art. 18.3)."
    agreement.end_date = end_date
    if agreement.status == Agreement.Status.ACTIVE:
        agreement.status = Agreement.Status.NOTICE_GIVEN
    _with_history_user(agreement, acting_user).save()
    notify(
        key=f"agreement-cancel-objection:{agreement.pk}:{acceptance.pk}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject=f"Your agreement ends on {agreement.end_date}",
        body=f"Following your objection to terms {acceptance.terms.version}, the agreement is cancelled on one month's notice (art. 18.3).",
    )
    return agreement


# --- Role checks ---------------------------------------------------------------------------
_require_active = roles.require_active
_require_billing_staff = roles.require_billing_staff
_require_staff = roles.require_staff


def _require_client_admin(user: User, client: Client | None) -> None:
    roles.require_client_admin(user, client, staff_may=True)


# --- Deletion of an account (art. 29.7) ----------------------------------------------------
@transaction.atomic
def client_delete_account(
    *, client: Client, reason: str, acting_user: User | None = None
) -> Client:
    """Delete an account (art. 29.7): personal data anonymised, users deactivated.

    Company and financial records stay for the legal retention period; only what identifies
    people goes: users' names and emails, directors' names, the billing email.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == Client.Status.DELETED:
        return client
    for user in User.objects.select_for_update().filter(client=client).order_by("pk"):
        user.email = f"deleted-user-{user.pk}@anonymised.invalid"
        user.full_name = ""
        user.is_active = False
        user.set_unusable_password()
        _with_history_user(user, acting_user).save()
    for director in client.directors.all():
        director.name = f"(anonymised director {director.pk})"
        _with_history_user(director, acting_user).save()
    client.billing_email = f"deleted-client-{client.pk}@anonymised.invalid"
    # The history keeps who changed what, but not the personal data itself.
    User.history.filter(client_id=client.pk).update(
        email="anonymised@anonymised.invalid", full_name=""
    )
    Director.history.filter(client_id=client.pk).update(name="(anonymised)")
    Client.history.filter(id=client.pk).update(billing_email=client.billing_email)
    client.status = Client.Status.DELETED
    client.deleted_at = timezone.now()
    client.rejection_reason = reason
    _with_history_user(client, acting_user).save()
    return client


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


def deleted_accounts_contacts_anonymise(*, provider: Provider, before: dt.datetime) -> dict:
    """Art. 23: contact details that outlive a deleted account (the recipients of its notices,
    its invitations) are anonymised once the retention period after deletion has passed.
    Set-based; running it twice changes nothing the second time."""
    clients = Client.objects.filter(provider=provider, status=Client.Status.DELETED, deleted_at__lt=before)
    notices = (
        Notification.objects.filter(client__in=clients)
        .exclude(recipients=["anonymised@anonymised.invalid"])
        .update(recipients=["anonymised@anonymised.invalid"])
    )
    invitations = (
        Invitation.objects.filter(client__in=clients)
        .exclude(email="anonymised@anonymised.invalid")
        .update(email="anonymised@anonymised.invalid")
    )
    return {"notifications": notices, "invitations": invitations}

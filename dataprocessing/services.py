"""Every state change of data processing (Part II, art. 19–24): sub-processors, audits, DSRs,
breaches, records of processing, retention, assistance requests.

Each function is keyword-only, runs in one transaction, checks its rule and raises an
`ApplicationError` naming the field and the article when it refuses; a refused call changes
nothing. Who acted is recorded by simple-history (`_history_user`), emails go out on commit
through `accounts.kernel.notifications.notify` (recorded once under a key).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import (
    ApplicationError,
    Conflict,
    NotAllowed,
    ValidationFailed,
    from_django_validation_error,
)
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.models import Client, Provider, User

from .models import (
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    BreachUpdate,
    DataSubjectRequest,
    DsrCallback,
    ProcessingRecord,
    RetentionPolicy,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
)

log = logging.getLogger(__name__)

# EU member states plus Iceland, Liechtenstein and Norway (art. 21.10: transfers outside need safeguards).
EEA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()
)
ANONYMISED = "[anonymised]"
DSR_CALLBACK_TIMEOUT_SECONDS = 5
DSR_CALLBACK_MAX_ATTEMPTS = 8
BREACH_NEAR_HOURS = 12


# --- helpers -------------------------------------------------------------------------------
def _with_history_user(obj, user):
    """simple-history records who made the change."""
    obj._history_user = user
    return obj


def _save(obj, user, *, clean: bool = False):
    if clean:
        try:
            obj.full_clean()
        except DjangoValidationError as exc:
            raise from_django_validation_error(exc) from exc
    _with_history_user(obj, user).save()
    return obj


def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) else ""


_require_active = roles.require_active
# Compliance officers keep the processor's records (DESIGN.md, roles).
_require_compliance = roles.require_compliance_officer
# Only the client's own admin (art. 5.2).
_require_client_admin = roles.require_client_admin


def _require_client_admin_or_compliance(user: User, client: Client) -> None:
    _require_active(user)
    if user.is_compliance_officer:
        return
    _require_client_admin(user, client)


def _is_client_side(user: User, client: Client) -> bool:
    return user.is_client_admin and user.client_id == client.pk


def _money(value, field: str, article: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationFailed({field: [f"Enter an amount (art. {article})."]}) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed({field: [f"The amount cannot be negative (art. {article})."]})
    return amount.quantize(Decimal("0.01"))


def _compliance_emails() -> list[str]:
    return staff_emails(User.Role.COMPLIANCE_OFFICER)


def _fmt(moment: dt.datetime, provider: Provider) -> str:
    return f"{moment.astimezone(workdays.local_tz(provider)):%Y-%m-%d %H:%M %Z}"


# =========================================================================================
# Sub-processors and affiliates (art. 21.9, 21.10; GDPR 28(2))
# =========================================================================================
SUB_PROCESSOR_FIELDS = (
    "name",
    "kind",
    "country",
    "services",
    "agreement_date",
    "agreement_document",
    "in_eea",
    "safeguard",
    "active_from",
    "active_to",
)


def _sub_processor_validate(sp: SubProcessor) -> None:
    """Check the register entry; refuse a transfer outside the EEA without a safeguard (21.10)."""
    errors: dict[str, list[str]] = {}
    sp.name = _text(sp.name)
    sp.services = _text(sp.services)
    sp.country = _text(sp.country).upper()
    if not sp.name:
        errors["name"] = ["Name the sub-processor (art. 21.9)."]
    if sp.kind not in SubProcessor.Kind.values:
        errors["kind"] = [
            f"Kind must be one of {', '.join(SubProcessor.Kind.values)} (art. 21.9.1)."
        ]
    if len(sp.country) != 2 or not sp.country.isalpha():
        errors["country"] = ["Country must be a two-letter ISO 3166 code."]
    if not sp.services:
        errors["services"] = ["Describe the services the sub-processor performs (art. 21.9.2)."]
    if sp.agreement_date is None:
        errors["agreement_date"] = [
            "Give the date of the written agreement with the sub-processor (art. 21.9.2)."
        ]
    if sp.safeguard not in SubProcessor.Safeguard.values:
        errors["safeguard"] = ["Unknown transfer safeguard."]
    if sp.in_eea is None:
        sp.in_eea = sp.country in EEA_COUNTRIES
    elif "country" not in errors and bool(sp.in_eea) != (sp.country in EEA_COUNTRIES):
        errors["in_eea"] = [
            f"{sp.country} is {'in' if sp.country in EEA_COUNTRIES else 'outside'} the EEA (art. 21.10)."
        ]
    if not sp.in_eea and not sp.safeguard and "safeguard" not in errors:
        errors["safeguard"] = [
            "A sub-processor outside the EEA needs a transfer safeguard: standard contractual "
            "clauses, an adequacy decision or binding corporate rules (art. 21.10, GDPR art. 46)."
        ]
    if sp.active_from and sp.active_to and sp.active_to < sp.active_from:
        errors["active_to"] = ["Active to cannot be before active from."]
    if errors:
        raise ValidationFailed(errors, article="21.10" if "safeguard" in errors else "21.9")


@transaction.atomic
def sub_processor_register(
    *,
    provider: Provider,
    acting_user: User,
    name: str,
    kind: str,
    country: str,
    services: str,
    agreement_date: dt.date,
    in_eea: bool | None = None,
    safeguard: str = "",
    agreement_document=None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
) -> SubProcessor:
    """Enter a sub-processor or affiliate in the register (art. 21.9, 21.10).

    "Any transfer of Personal Data outside the EEA requires appropriate safeguards" (21.10): an
    entry outside the EEA without one is refused. `in_eea` is derived from the country when not
    given. Without `active_from` the entry is not yet in use: announce it with
    `sub_processor_change_announce` and the change job makes it active when the notice ends.
    """
    _require_compliance(acting_user)
    sp = SubProcessor(
        provider=provider,
        name=name,
        kind=kind,
        country=country,
        services=services,
        agreement_date=agreement_date,
        in_eea=in_eea,
        safeguard=safeguard or "",
        active_from=active_from,
        active_to=active_to,
    )
    if agreement_document is not None:
        sp.agreement_document = agreement_document
    _sub_processor_validate(sp)
    return _save(sp, acting_user, clean=True)


@transaction.atomic
def sub_processor_update(
    *, sub_processor: SubProcessor, acting_user: User, **changes
) -> SubProcessor:
    """Correct a register entry (art. 21.9); the safeguard rule of 21.10 still holds. History keeps the old values."""
    _require_compliance(acting_user)
    unknown = set(changes) - set(SUB_PROCESSOR_FIELDS)
    if unknown:
        raise ValidationFailed({sorted(unknown)[0]: ["This field cannot be changed."]})
    sp = SubProcessor.objects.select_for_update().get(pk=sub_processor.pk)
    for field, value in changes.items():
        if field == "safeguard":
            value = value or ""
        setattr(sp, field, value)
    _sub_processor_validate(sp)
    return _save(sp, acting_user, clean=True)


@transaction.atomic
def sub_processor_change_announce(
    *,
    provider: Provider,
    sub_processor: SubProcessor,
    kind: str,
    acting_user: User,
    description: str = "",
    replaces: SubProcessor | None = None,
) -> SubProcessorChange:
    """Announce an intended addition or replacement of a sub-processor (GDPR art. 28(2), art. 21.9).

    It takes effect `profile.subprocessor_notice_days` days (30) after the announcement; every
    active client's admins are told now, and may object until then.
    """
    _require_compliance(acting_user)
    errors: dict[str, list[str]] = {}
    sub_processor = SubProcessor.objects.select_for_update().get(pk=sub_processor.pk)
    if sub_processor.provider_id != provider.pk:
        errors["sub_processor"] = ["This sub-processor is not in this provider's register."]
    if kind not in SubProcessorChange.Kind.values:
        errors["kind"] = [f"Kind must be one of {', '.join(SubProcessorChange.Kind.values)}."]
    today = local_date(provider)
    if (
        sub_processor.active_from
        and sub_processor.active_from <= today
        and not sub_processor.active_to
    ):
        errors["sub_processor"] = [
            "This sub-processor is already in use; nothing to announce (art. 21.9)."
        ]
    if SubProcessorChange.objects.filter(
        sub_processor=sub_processor, status=SubProcessorChange.Status.ANNOUNCED
    ).exists():
        errors["sub_processor"] = ["A change for this sub-processor is already announced."]
    if kind == SubProcessorChange.Kind.REPLACEMENT:
        if replaces is None:
            errors["replaces"] = ["Name the sub-processor being replaced."]
        elif replaces.provider_id != provider.pk or replaces.pk == sub_processor.pk:
            errors["replaces"] = [
                "The replaced sub-processor must be another entry of this provider's register."
            ]
    elif replaces is not None:
        errors["replaces"] = ["Only a replacement names a replaced sub-processor."]
    if errors:
        raise ValidationFailed(errors, article="21.9")
    now = timezone.now()
    change = SubProcessorChange(
        provider=provider,
        kind=kind,
        sub_processor=sub_processor,
        replaces=replaces,
        description=_text(description),
        announced_at=now,
        announced_by=acting_user,
        effective_at=now + dt.timedelta(days=provider.subprocessor_notice_days),
    )
    _save(change, acting_user, clean=True)
    what = (
        f"{sub_processor.name} ({sub_processor.country}) will replace {replaces.name}"
        if replaces
        else f"{sub_processor.name} ({sub_processor.country}) will be added"
    )
    for client in Client.objects.filter(provider=provider, status=Client.Status.ACTIVE).order_by(
        "pk"
    ):
        notify(
            key=f"subprocessor-change:{change.pk}:{client.pk}",
            client=client,
            recipients=client_admin_emails(client),
            subject=f"Intended sub-processor change: {sub_processor.name}",
            body=(
                f"{provider.name} intends a change of sub-processors (art. 21.9, GDPR art. 28(2)): {what}.\n"
                f"Services: {sub_processor.services}\n{change.description}\n"
                f"It takes effect on {_fmt(change.effective_at, provider)}. "
                "You may object in the portal until then."
            ),
        )
    return change


@transaction.atomic
def sub_processor_change_withdraw(
    *, change: SubProcessorChange, acting_user: User
) -> SubProcessorChange:
    """Withdraw an announced change before it takes effect (e.g. after an objection, GDPR 28(2))."""
    _require_compliance(acting_user)
    change = SubProcessorChange.objects.select_for_update().get(pk=change.pk)
    if change.status != SubProcessorChange.Status.ANNOUNCED:
        raise ApplicationError("Only an announced change can be withdrawn.", field="status")
    change.status = SubProcessorChange.Status.WITHDRAWN
    return _save(change, acting_user)


@transaction.atomic
def sub_processor_object(
    *, change: SubProcessorChange, client: Client, acting_user: User, reason: str
) -> SubProcessorObjection:
    """A client objects to an intended sub-processor change before it takes effect (GDPR art. 28(2), art. 21.9).

    The objection is recorded for staff to resolve; one per client and change.
    """
    _require_client_admin(acting_user, client)
    if not _text(reason):
        raise ValidationFailed({"reason": ["Give the reason for the objection (art. 21.9)."]})
    change = SubProcessorChange.objects.select_for_update().get(pk=change.pk)
    if change.provider_id != client.provider_id:
        raise NotAllowed("This change concerns another provider's sub-processors.")
    if (
        change.status != SubProcessorChange.Status.ANNOUNCED
        or timezone.now() >= change.effective_at
    ):
        raise ApplicationError(
            "This change has already taken effect or was withdrawn; an objection must come before "
            "it takes effect (GDPR art. 28(2), art. 21.9).",
            field="change",
            code="too_late",
            article="21.9",
        )
    if SubProcessorObjection.objects.filter(change=change, client=client).exists():
        raise Conflict("This client has already objected to this change.", field="change")
    objection = SubProcessorObjection(
        change=change, client=client, objected_by=acting_user, reason=_text(reason)
    )
    try:
        with transaction.atomic():
            _save(objection, acting_user)
    except IntegrityError as exc:  # a concurrent objection of the same client won
        raise Conflict("This client has already objected to this change.", field="change") from exc
    notify(
        key=f"subprocessor-objection:{objection.pk}",
        client=client,
        recipients=_compliance_emails(),
        subject=f"Objection to sub-processor change: {client.legal_name}",
        body=f"{client.legal_name} objects to {change.sub_processor.name} ({change.get_kind_display()}): {objection.reason}",
    )
    return objection


@transaction.atomic
def sub_processor_objection_resolve(
    *, objection: SubProcessorObjection, acting_user: User, resolution: str
) -> SubProcessorObjection:
    """Staff record how a client's objection was resolved (art. 21.9); the client is told."""
    _require_compliance(acting_user)
    if not _text(resolution):
        raise ValidationFailed({"resolution": ["Describe how the objection was resolved."]})
    objection = SubProcessorObjection.objects.select_for_update().get(pk=objection.pk)
    if objection.status != SubProcessorObjection.Status.OPEN:
        raise ApplicationError("This objection is already resolved.", field="status")
    objection.status = SubProcessorObjection.Status.RESOLVED
    objection.resolution = _text(resolution)
    objection.resolved_by = acting_user
    objection.resolved_at = timezone.now()
    _save(objection, acting_user)
    notify(
        key=f"subprocessor-objection-resolved:{objection.pk}",
        client=objection.client,
        recipients=client_admin_emails(objection.client),
        subject="Your objection to a sub-processor change was resolved",
        body=objection.resolution,
    )
    return objection


def sub_processor_changes_apply(*, now: dt.datetime | None = None, batch_size: int = 200) -> dict:
    """Job: announced changes whose notice has run become effective (GDPR art. 28(2), art. 21.9).

    The new sub-processor is active from the effective day (provider's time zone); a replaced
    one is active until the day before. Idempotent: only announced, due changes are touched.
    """
    now = now or timezone.now()
    applied = 0
    while True:
        with transaction.atomic():
            batch = list(
                SubProcessorChange.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=SubProcessorChange.Status.ANNOUNCED, effective_at__lte=now)
                .select_related("provider")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return {"applied": applied}
            for change in batch:
                day = local_date(change.provider, change.effective_at)
                sp = SubProcessor.objects.select_for_update().get(pk=change.sub_processor_id)
                if sp.active_from is None or sp.active_from > day:
                    sp.active_from = day
                sp.active_to = None
                _save(sp, None)
                if change.replaces_id:
                    old = SubProcessor.objects.select_for_update().get(pk=change.replaces_id)
                    if old.active_to is None or old.active_to >= day:
                        old.active_to = day - dt.timedelta(days=1)
                        _save(old, None)
                change.status = SubProcessorChange.Status.EFFECTIVE
                _save(change, None)
            applied += len(batch)
            if len(batch) < batch_size:
                return {"applied": applied}


# =========================================================================================
# Audits (art. 21.7)
# =========================================================================================
def _audit_first_start_day(audit: AuditRequest) -> dt.date:
    """The first day an audit may start: the day after the notice period ends (art. 21.7.2).

    `earliest_start` is the close of business of the 10th working day after the request (the
    day of the request does not count), so ten full working days of notice lie before this day.
    """
    return local_date(audit.client.provider, audit.earliest_start) + dt.timedelta(days=1)


def _audit_set_status(audit: AuditRequest, status: str, user: User | None) -> AuditRequest:
    audit.status = status
    audit.status_changed_at = timezone.now()
    audit.status_changed_by = user
    return _save(audit, user)


def _audit_locked(audit: AuditRequest) -> AuditRequest:
    return (
        AuditRequest.objects.select_for_update().select_related("client__provider").get(pk=audit.pk)
    )


@transaction.atomic
def audit_request(
    *,
    client: Client,
    kind: str,
    acting_user: User,
    proposed_start: dt.date | None = None,
    auditor_name: str = "",
    auditor_firm: str = "",
    auditor_accredited: bool = False,
    auditor_not_competitor: bool = False,
    scope: str = "",
    requested_at: dt.datetime | None = None,
) -> AuditRequest:
    """A client admin, or a compliance officer on its behalf, asks for an audit (art. 21.7.2) or,
    lighter, a copy of the certifications and security information (art. 21.7.1).

    For an audit: "at most once per year" (profile.audit_interval_months, counting the requests
    of the last 12 months that were not refused or cancelled); "prior written notice of no less
    than ten working days" (profile.audit_notice_working_days, provider calendar: the proposed
    start must come after ten full working days); "an accredited external expert" who is not a
    competitor (declared). Each broken rule is named with its article. `requested_at` lets a
    compliance officer log a written request received earlier; it defaults to now.
    """
    _require_client_admin_or_compliance(acting_user, client)
    client = Client.objects.select_for_update().select_related("provider").get(pk=client.pk)
    provider = client.provider
    now = timezone.now()
    requested_at = requested_at or now
    errors: dict[str, list[str]] = {}
    if requested_at > now + dt.timedelta(minutes=5):
        errors["requested_at"] = ["A request cannot be dated in the future."]
    if requested_at < now - dt.timedelta(minutes=5) and not acting_user.is_compliance_officer:
        errors["requested_at"] = ["Only a compliance officer may log a request received earlier."]
    if kind not in AuditRequest.Kind.values:
        raise ValidationFailed(
            {"kind": [f"Kind must be one of {', '.join(AuditRequest.Kind.values)} (art. 21.7)."]}
        )
    earliest = None
    if kind == AuditRequest.Kind.AUDIT:
        since = add_months(requested_at, -provider.audit_interval_months)
        previous = (
            AuditRequest.objects.filter(
                client=client, kind=AuditRequest.Kind.AUDIT, requested_at__gt=since
            )
            .exclude(status__in=[AuditRequest.Status.REFUSED, AuditRequest.Status.CANCELLED])
            .order_by("-requested_at")
            .first()
        )
        if previous is not None:
            next_allowed = add_months(previous.requested_at, provider.audit_interval_months)
            errors["kind"] = [
                f"An audit may be requested at most once per {provider.audit_interval_months} months "
                f"(art. 21.7.2); the last was requested on {local_date(provider, previous.requested_at)}, "
                f"the next may be requested from {local_date(provider, next_allowed)}."
            ]
        earliest = workdays.add_working_days(
            requested_at, provider.audit_notice_working_days, provider
        )
        first_day = local_date(provider, earliest) + dt.timedelta(days=1)
        if proposed_start is None:
            errors["proposed_start"] = ["Propose a start date for the audit (art. 21.7.2)."]
        elif proposed_start < first_day:
            errors["proposed_start"] = [
                f"An audit needs prior written notice of at least {provider.audit_notice_working_days} "
                f"working days (art. 21.7.2): the earliest start is {first_day}."
            ]
        if not _text(auditor_name):
            errors["auditor_name"] = ["Name the external expert who will audit (art. 21.7.2)."]
        if not auditor_accredited:
            errors["auditor_accredited"] = [
                "The auditor must be an accredited external expert; declare it (art. 21.7.2)."
            ]
        if not auditor_not_competitor:
            errors["auditor_not_competitor"] = [
                f"The auditor must not be a competitor of {provider.name}; declare it (art. 21.7.1)."
            ]
    if errors:
        raise ValidationFailed(errors, article="21.7.2")
    audit = AuditRequest(
        client=client,
        kind=kind,
        requested_by=acting_user,
        requested_at=requested_at,
        on_behalf_of_client=not _is_client_side(acting_user, client),
        proposed_start=proposed_start if kind == AuditRequest.Kind.AUDIT else None,
        earliest_start=earliest,
        auditor_name=_text(auditor_name),
        auditor_firm=_text(auditor_firm),
        auditor_accredited=bool(auditor_accredited),
        auditor_not_competitor=bool(auditor_not_competitor),
        scope=_text(scope),
        reimbursement_currency=provider.currency,
        status=AuditRequest.Status.REQUESTED,
        status_changed_at=now,
        status_changed_by=acting_user,
    )
    _save(audit, acting_user)
    notify(
        key=f"audit-requested:{audit.pk}",
        client=client,
        recipients=_compliance_emails(),
        subject=f"{audit.get_kind_display()} requested: {client.legal_name}",
        body=(
            f"{client.legal_name} requests: {audit.get_kind_display()} (art. 21.7)."
            + (
                f"\nProposed start: {proposed_start}; auditor: {audit.auditor_name} {audit.auditor_firm}"
                if earliest
                else ""
            )
        ),
    )
    return audit


@transaction.atomic
def audit_agree(
    *,
    audit: AuditRequest,
    acting_user: User,
    scope: str,
    timing: str,
    duration_days: int,
    reimbursement_rate,
) -> AuditRequest:
    """One side records its agreement on scope, timing, duration and reimbursement rate (art. 21.7.2).

    "Before the commencement of any such audit, the Parties shall mutually agree upon the scope,
    timing, and duration of the audit in addition to the reimbursement rate." A client admin
    agrees for the client, a compliance officer for the provider. Agreeing to different terms
    than the other side withdraws the other side's agreement; when both agree on the same
    terms the audit is agreed.
    """
    audit = _audit_locked(audit)
    client = audit.client
    if _is_client_side(acting_user, client):
        _require_active(acting_user)
        side = "client"
    else:
        _require_compliance(acting_user)
        side = "provider"
    if audit.kind != AuditRequest.Kind.AUDIT:
        raise ApplicationError(
            "Only an audit has terms to agree (art. 21.7.2).", field="kind", article="21.7.2"
        )
    if audit.status not in (AuditRequest.Status.REQUESTED, AuditRequest.Status.AGREED):
        raise ApplicationError(
            f"The terms can no longer be agreed: the audit is {audit.get_status_display().lower()}.",
            field="status",
        )
    errors: dict[str, list[str]] = {}
    if not _text(scope):
        errors["scope"] = ["Agree the scope of the audit (art. 21.7.2)."]
    if not _text(timing):
        errors["timing"] = ["Agree the timing of the audit (art. 21.7.2)."]
    try:
        duration_days = int(duration_days)
    except (TypeError, ValueError):
        duration_days = 0
    if duration_days < 1:
        errors["duration_days"] = ["Agree the duration of the audit in days (art. 21.7.2)."]
    try:
        rate = _money(reimbursement_rate, "reimbursement_rate", "21.7.2")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors, article="21.7.2")
    terms = (_text(scope), _text(timing), duration_days, rate)
    current = (audit.scope, audit.timing, audit.duration_days, audit.reimbursement_rate)
    if terms != current:
        audit.scope, audit.timing, audit.duration_days, audit.reimbursement_rate = terms
        audit.client_agreed_at = audit.client_agreed_by = None
        audit.provider_agreed_at = audit.provider_agreed_by = None
    now = timezone.now()
    if side == "client":
        audit.client_agreed_at, audit.client_agreed_by = now, acting_user
    else:
        audit.provider_agreed_at, audit.provider_agreed_by = now, acting_user
    both = bool(audit.client_agreed_at and audit.provider_agreed_at)
    new_status = AuditRequest.Status.AGREED if both else AuditRequest.Status.REQUESTED
    if new_status != audit.status:
        _audit_set_status(audit, new_status, acting_user)
    else:
        _save(audit, acting_user)
    other = _compliance_emails() if side == "client" else client_admin_emails(client)
    notify(
        key=f"audit-agree:{audit.pk}:{side}:{now.timestamp()}",
        client=client,
        recipients=other,
        subject=f"Audit terms {'agreed' if both else 'proposed'}: {client.legal_name}",
        body=(
            f"Scope: {audit.scope}\nTiming: {audit.timing}\nDuration: {audit.duration_days} days\n"
            f"Reimbursement rate: {audit.reimbursement_rate} {audit.reimbursement_currency} (art. 21.7.2)."
            + ("" if both else "\nPlease record your agreement in the portal.")
        ),
    )
    return audit


@transaction.atomic
def audit_upload_confidentiality(*, audit: AuditRequest, file, acting_user: User) -> AuditRequest:
    """Upload the external expert's signed confidentiality declaration (art. 21.7.3), before the start."""
    audit = _audit_locked(audit)
    _require_client_admin_or_compliance(acting_user, audit.client)
    if audit.kind != AuditRequest.Kind.AUDIT:
        raise ApplicationError(
            "Only an audit needs a confidentiality declaration (art. 21.7.3).", field="kind"
        )
    if audit.status not in (AuditRequest.Status.REQUESTED, AuditRequest.Status.AGREED):
        raise ApplicationError(
            "The declaration is uploaded before the audit starts (art. 21.7.3).", field="status"
        )
    if not file:
        raise ValidationFailed(
            {"file": ["Upload the signed confidentiality declaration (art. 21.7.3)."]}
        )
    audit.confidentiality_declaration.save(
        getattr(file, "name", "declaration.pdf"), file, save=False
    )
    return _save(audit, acting_user)


@transaction.atomic
def audit_start(
    *, audit: AuditRequest, acting_user: User, now: dt.datetime | None = None
) -> AuditRequest:
    """The audit starts (art. 21.7.2, 21.7.3): only once both sides agreed its terms, the
    confidentiality declaration is uploaded and the ten working days of notice have run."""
    _require_compliance(acting_user)
    audit = _audit_locked(audit)
    now = now or timezone.now()
    if audit.kind != AuditRequest.Kind.AUDIT:
        raise ApplicationError("Only an audit starts (art. 21.7.2).", field="kind")
    if audit.status != AuditRequest.Status.AGREED or not (
        audit.client_agreed_at and audit.provider_agreed_at
    ):
        raise ApplicationError(
            "Before the audit starts both parties must agree its scope, timing, duration and "
            "reimbursement rate (art. 21.7.2).",
            field="status",
            article="21.7.2",
        )
    if not audit.confidentiality_declaration:
        raise ApplicationError(
            "Upload the auditor's signed confidentiality declaration before the audit starts (art. 21.7.3).",
            field="confidentiality_declaration",
            article="21.7.3",
        )
    first_day = _audit_first_start_day(audit)
    if local_date(audit.client.provider, now) < first_day:
        raise ApplicationError(
            f"The audit may not start before {first_day}: ten working days' prior notice (art. 21.7.2).",
            field="earliest_start",
            article="21.7.2",
        )
    return _audit_set_status(audit, AuditRequest.Status.IN_PROGRESS, acting_user)


@transaction.atomic
def audit_share_report(*, audit: AuditRequest, file, acting_user: User) -> AuditRequest:
    """The external expert's report is made available to the provider (art. 21.7.3)."""
    audit = _audit_locked(audit)
    _require_client_admin_or_compliance(acting_user, audit.client)
    if audit.status != AuditRequest.Status.IN_PROGRESS:
        raise ApplicationError(
            "A report is shared for an audit in progress (art. 21.7.3).", field="status"
        )
    if not file:
        raise ValidationFailed({"file": ["Upload the auditor's report (art. 21.7.3)."]})
    audit.report.save(getattr(file, "name", "report.pdf"), file, save=False)
    audit.report_shared_at = timezone.now()
    _audit_set_status(audit, AuditRequest.Status.REPORT_SHARED, acting_user)
    notify(
        key=f"audit-report:{audit.pk}",
        client=audit.client,
        recipients=_compliance_emails(),
        subject=f"Audit report shared: {audit.client.legal_name}",
        body="The auditor's report is available in the portal (art. 21.7.3).",
    )
    return audit


@transaction.atomic
def audit_complete(*, audit: AuditRequest, acting_user: User) -> AuditRequest:
    """Close an audit once its report is shared (art. 21.7.3), or an information request once
    the certifications and security information were provided (art. 21.7.1)."""
    _require_compliance(acting_user)
    audit = _audit_locked(audit)
    needed = (
        AuditRequest.Status.REPORT_SHARED
        if audit.kind == AuditRequest.Kind.AUDIT
        else AuditRequest.Status.REQUESTED
    )
    if audit.status != needed:
        message = (
            "An audit is completed after its report is shared with the provider (art. 21.7.3)."
            if audit.kind == AuditRequest.Kind.AUDIT
            else "Only an open information request can be completed."
        )
        raise ApplicationError(
            message,
            field="status",
            article="21.7.3" if audit.kind == AuditRequest.Kind.AUDIT else "21.7.1",
        )
    _audit_set_status(audit, AuditRequest.Status.COMPLETED, acting_user)
    notify(
        key=f"audit-completed:{audit.pk}",
        client=audit.client,
        recipients=client_admin_emails(audit.client),
        subject=f"{audit.get_kind_display()} completed",
        body=f"Your request of {local_date(audit.client.provider, audit.requested_at)} is completed.",
    )
    return audit


@transaction.atomic
def audit_refuse(*, audit: AuditRequest, acting_user: User, reason: str) -> AuditRequest:
    """The provider refuses a request that does not meet art. 21.7, with its reason."""
    _require_compliance(acting_user)
    if not _text(reason):
        raise ValidationFailed({"reason": ["Give the reason for the refusal (art. 21.7)."]})
    audit = _audit_locked(audit)
    if audit.status not in (AuditRequest.Status.REQUESTED, AuditRequest.Status.AGREED):
        raise ApplicationError("Only a request not yet started can be refused.", field="status")
    audit.refusal_reason = _text(reason)
    _audit_set_status(audit, AuditRequest.Status.REFUSED, acting_user)
    notify(
        key=f"audit-refused:{audit.pk}",
        client=audit.client,
        recipients=client_admin_emails(audit.client),
        subject=f"{audit.get_kind_display()} request refused",
        body=audit.refusal_reason,
    )
    return audit


@transaction.atomic
def audit_cancel(*, audit: AuditRequest, acting_user: User) -> AuditRequest:
    """The client (or a compliance officer for it) withdraws a request not yet started."""
    audit = _audit_locked(audit)
    _require_client_admin_or_compliance(acting_user, audit.client)
    if audit.status not in (AuditRequest.Status.REQUESTED, AuditRequest.Status.AGREED):
        raise ApplicationError("Only a request not yet started can be cancelled.", field="status")
    return _audit_set_status(audit, AuditRequest.Status.CANCELLED, acting_user)


# =========================================================================================
# Data-subject requests (art. 21.5; GDPR art. 12(3); OpenDSR status callbacks)
# =========================================================================================
DSR_OPEN = (DataSubjectRequest.Status.PENDING, DataSubjectRequest.Status.IN_PROGRESS)
DSR_EXTENSION_MONTHS = 2


def _dsr_due(dsr: DataSubjectRequest) -> dt.datetime:
    """One month from receipt (GDPR 12(3)), two more when extended, shifted by identity-check pauses."""
    months = 1 + (DSR_EXTENSION_MONTHS if dsr.extended else 0)
    # months are counted on the provider's wall clock, so a DST change does not move the hour
    received = dsr.received_at.astimezone(workdays.local_tz(dsr.client.provider))
    return add_months(received, months).astimezone(dt.UTC) + dt.timedelta(
        seconds=dsr.paused_seconds
    )


def _dsr_locked(dsr: DataSubjectRequest) -> DataSubjectRequest:
    return (
        DataSubjectRequest.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=dsr.pk)
    )


def _dsr_require_open(dsr: DataSubjectRequest) -> None:
    if dsr.status not in DSR_OPEN:
        raise ApplicationError(
            f"This request is already {dsr.get_status_display().lower()}.", field="status"
        )


def dsr_callback_payload(dsr: DataSubjectRequest, status: str) -> dict:
    """The OpenDSR status callback body."""
    return {
        "controller_id": str(dsr.client_id),
        "request_id": str(dsr.request_id),
        "subject_request_id": str(dsr.request_id),
        "request_status": status,
        "received_time": dsr.received_at.astimezone(dt.UTC).isoformat(),
        "expected_completion_time": dsr.due_at.astimezone(dt.UTC).isoformat(),
        "status_callback_url": dsr.status_callback_url,
    }


def _dsr_status_changed(dsr: DataSubjectRequest) -> None:
    """Record the OpenDSR status callback in this transaction; it is posted once it commits."""
    if not dsr.status_callback_url:
        return
    callback = DsrCallback.objects.create(
        request=dsr, status=dsr.status, url=dsr.status_callback_url
    )
    transaction.on_commit(lambda: dsr_callback_deliver(callback_id=callback.pk))


def callback_url_error(url: str) -> str | None:
    """Why the portal will not call `url`, or None. Outside first-look/test settings a status
    callback must be https and reach a public address: a client-supplied URL must never make
    the portal post into the provider's own network (server-side request forgery)."""
    import ipaddress
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    allow_private = getattr(settings, "PORTAL_CALLBACKS_ALLOW_PRIVATE", False)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        return "The status callback URL must be an absolute http(s) URL."
    if parsed.scheme != "https" and not allow_private:
        return "The status callback URL must use https."
    if allow_private:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, parsed.port or 443)}
    except OSError:
        return "The status callback URL's host does not resolve."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return "The status callback URL must reach a public address."
    return None


def dsr_callback_deliver(*, callback_id: int) -> bool:
    """POST one status callback (JSON) with a short timeout; a failure is kept for the retry job.

    The row is claimed with a conditional UPDATE so two workers never post the same callback.
    """
    callback = DsrCallback.objects.select_related("request").filter(pk=callback_id).first()
    if callback is None or callback.delivered:
        return False
    claimed = DsrCallback.objects.filter(
        pk=callback.pk, delivered=False, attempts=callback.attempts
    ).update(attempts=callback.attempts + 1, attempted_at=timezone.now())
    if not claimed:
        return False
    refusal = callback_url_error(callback.url)  # checked again: DNS may have changed since
    if refusal:
        DsrCallback.objects.filter(pk=callback.pk).update(error=refusal)
        log.warning("DSR status callback %s to %s refused: %s", callback.pk, callback.url, refusal)
        return False
    body = json.dumps(dsr_callback_payload(callback.request, callback.status)).encode()
    req = urllib.request.Request(
        callback.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "agreement-portal-dsr/1"},
    )
    timeout = getattr(settings, "DSR_CALLBACK_TIMEOUT_SECONDS", DSR_CALLBACK_TIMEOUT_SECONDS)
    code, error = None, ""
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (http(s) URL validated by URLField)
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except Exception as exc:  # network errors, timeouts: kept for the retry job
        error = f"{type(exc).__name__}: {exc}"[:1000]
    delivered = code is not None and 200 <= code < 300
    DsrCallback.objects.filter(pk=callback.pk).update(
        response_code=code, error=error, delivered=delivered
    )
    if not delivered:
        log.warning("DSR status callback %s to %s failed: %s", callback.pk, callback.url, error)
    return delivered


def dsr_callbacks_retry(*, now: dt.datetime | None = None, batch_size: int = 100) -> dict:
    """Job: post again the status callbacks that failed, with back-off (2^attempts minutes).

    A callback older than one already delivered for the same request is superseded and dropped,
    so the receiver never goes back to an old status.
    """
    now = (now or timezone.now()).astimezone(dt.UTC)
    candidates = list(
        DsrCallback.objects.filter(delivered=False, attempts__lt=DSR_CALLBACK_MAX_ATTEMPTS)
        .order_by("pk")
        .values_list("pk", "request_id", "attempts", "attempted_at")[:batch_size]
    )
    delivered = failed = superseded = 0
    for pk, request_id, attempts, attempted_at in candidates:
        if DsrCallback.objects.filter(request_id=request_id, delivered=True, pk__gt=pk).exists():
            DsrCallback.objects.filter(pk=pk, delivered=False).update(
                attempts=DSR_CALLBACK_MAX_ATTEMPTS, error="superseded by a later status"
            )
            superseded += 1
            continue
        if attempted_at and attempted_at > now - dt.timedelta(minutes=2**attempts):
            continue
        if dsr_callback_deliver(callback_id=pk):
            delivered += 1
        else:
            failed += 1
    return {"delivered": delivered, "failed": failed, "superseded": superseded}


@transaction.atomic
def dsr_receive(
    *,
    client: Client,
    type: str,  # noqa: A002 (the OpenDSR field name)
    received_by: str,
    subject_reference: str,
    received_at: dt.datetime | None = None,
    acting_user: User | None = None,
    status_callback_url: str = "",
) -> DataSubjectRequest:
    """Log a data-subject request (art. 21.5.1); due one month after receipt (GDPR art. 12(3)).

    "CM shall promptly notify Client if CM receives a Data Subject Request" (21.5.2): one
    received by the provider notifies the client's admins at once. The subject is referenced
    minimally (e.g. a phone number), never with more personal data than needed to find it.
    A client admin files its own requests (received by the client); a compliance officer
    logs either kind. Without `acting_user` the call comes from the system.
    """
    if acting_user is not None:
        _require_client_admin_or_compliance(acting_user, client)
    errors: dict[str, list[str]] = {}
    if type not in DataSubjectRequest.Type.values:
        errors["type"] = [
            f"Type must be one of {', '.join(DataSubjectRequest.Type.values)} (art. 21.5.1)."
        ]
    if received_by not in DataSubjectRequest.ReceivedBy.values:
        errors["received_by"] = ["Say who received the request: provider or client (art. 21.5.2)."]
    elif (
        acting_user is not None
        and not acting_user.is_compliance_officer
        and received_by != DataSubjectRequest.ReceivedBy.CLIENT
    ):
        errors["received_by"] = ["A client files the requests it received itself (art. 21.5.1)."]
    reference = _text(subject_reference)
    if not reference:
        errors["subject_reference"] = [
            "Give a reference to find the subject's data (e.g. a phone number)."
        ]
    elif len(reference) > 200:
        errors["subject_reference"] = [
            "Keep the subject reference minimal (at most 200 characters): no more personal data than needed."
        ]
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        errors["received_at"] = ["The receipt cannot be in the future."]
    if client.status != Client.Status.ACTIVE and client.status != Client.Status.PENDING:
        errors["client"] = ["This client's account is closed."]
    if _text(status_callback_url):
        refusal = callback_url_error(_text(status_callback_url))
        if refusal:
            errors["status_callback_url"] = [refusal]
    if errors:
        raise ValidationFailed(errors, article="21.5")
    dsr = DataSubjectRequest(
        client=client,
        type=type,
        received_by=received_by,
        subject_reference=reference,
        received_at=received_at,
        logged_by=acting_user,
        status_callback_url=_text(status_callback_url),
        due_at=received_at,  # set below
    )
    dsr.due_at = _dsr_due(dsr)
    _save(dsr, acting_user, clean=True)
    if received_by == DataSubjectRequest.ReceivedBy.PROVIDER:
        notify(
            key=f"dsr-received:{dsr.pk}",
            client=client,
            recipients=client_admin_emails(client),
            subject=f"Data-subject request received: {dsr.get_type_display()}",
            body=(
                f"{client.provider.name} received a data-subject request ({dsr.get_type_display()}) "
                f"concerning your data (art. 21.5.2). Reference {dsr.request_id}; it must be answered by "
                f"{_fmt(dsr.due_at, client.provider)} (GDPR art. 12(3)). "
                "Please instruct us in the portal: transfer, correct, delete or block."
            ),
        )
    else:
        notify(
            key=f"dsr-filed:{dsr.pk}",
            client=client,
            recipients=_compliance_emails(),
            subject=f"Data-subject request filed by {client.legal_name}",
            body=f"{dsr.get_type_display()}, due {_fmt(dsr.due_at, client.provider)} (art. 21.5).",
        )
    return dsr


@transaction.atomic
def dsr_instruct(
    *, dsr: DataSubjectRequest, instruction: str, note: str = "", acting_user: User
) -> DataSubjectRequest:
    """The client instructs the provider to transfer, correct, delete or block the data (art. 21.5.1)."""
    dsr = _dsr_locked(dsr)
    _require_client_admin(acting_user, dsr.client)
    if instruction not in DataSubjectRequest.Instruction.values:
        raise ValidationFailed(
            {
                "instruction": [
                    f"Instruct one of {', '.join(DataSubjectRequest.Instruction.values)} (art. 21.5.1)."
                ]
            },
            article="21.5.1",
        )
    if dsr.status != DataSubjectRequest.Status.PENDING:
        raise ApplicationError(
            f"This request is already {dsr.get_status_display().lower()}; it was instructed before.",
            field="status",
        )
    dsr.instruction = instruction
    dsr.instruction_note = _text(note)
    dsr.instructed_at = timezone.now()
    dsr.instructed_by = acting_user
    dsr.status = DataSubjectRequest.Status.IN_PROGRESS
    _save(dsr, acting_user)
    _dsr_status_changed(dsr)
    notify(
        key=f"dsr-instructed:{dsr.pk}",
        client=dsr.client,
        recipients=_compliance_emails(),
        subject=f"DSR instructed: {dsr.get_instruction_display()} ({dsr.client.legal_name})",
        body=f"{dsr.get_type_display()} request {dsr.request_id}: {dsr.instruction_note}",
    )
    return dsr


@transaction.atomic
def dsr_record_action(
    *, dsr: DataSubjectRequest, action_taken: str, acting_user: User, assistance_cost=None
) -> DataSubjectRequest:
    """The provider records what it did on the client's instruction (art. 21.5.1) and the cost of
    its assistance, charged to the client in the provider's currency (art. 21.5.2)."""
    _require_compliance(acting_user)
    dsr = _dsr_locked(dsr)
    if dsr.status != DataSubjectRequest.Status.IN_PROGRESS:
        raise ApplicationError(
            "The provider acts on the client's instruction: instruct the request first (art. 21.5.1)."
            if dsr.status == DataSubjectRequest.Status.PENDING
            else f"This request is already {dsr.get_status_display().lower()}.",
            field="status",
            article="21.5.1",
        )
    if dsr.identity_check_since:
        raise ApplicationError(
            "The request waits on the subject's identity check; resume it first.", field="status"
        )
    if not _text(action_taken):
        raise ValidationFailed({"action_taken": ["Record what was done (art. 21.5.1)."]})
    if assistance_cost is not None:
        dsr.assistance_cost = _money(assistance_cost, "assistance_cost", "21.5.2")
        dsr.assistance_cost_currency = dsr.client.provider.currency
    dsr.action_taken = _text(action_taken)
    dsr.completed_at = timezone.now()
    dsr.completed_by = acting_user
    dsr.status = DataSubjectRequest.Status.COMPLETED
    _save(dsr, acting_user)
    _dsr_status_changed(dsr)
    notify(
        key=f"dsr-completed:{dsr.pk}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject=f"Data-subject request completed: {dsr.get_type_display()}",
        body=f"Request {dsr.request_id}: {dsr.action_taken}"
        + (
            f"\nAssistance cost: {dsr.assistance_cost} {dsr.assistance_cost_currency} (art. 21.5.2)."
            if dsr.assistance_cost
            else ""
        ),
    )
    return dsr


@transaction.atomic
def dsr_extend(*, dsr: DataSubjectRequest, reason: str, acting_user: User) -> DataSubjectRequest:
    """Extend the deadline by two further months (GDPR art. 12(3)): once, with a reason, and only
    within the first month; the reason is told to the client at once."""
    _require_compliance(acting_user)
    dsr = _dsr_locked(dsr)
    _dsr_require_open(dsr)
    if not _text(reason):
        raise ValidationFailed({"reason": ["Give the reason for the extension (GDPR art. 12(3))."]})
    if dsr.extended:
        raise ApplicationError(
            "The deadline can be extended only once (GDPR art. 12(3)).",
            field="extended",
            article="GDPR 12(3)",
        )
    now = timezone.now()
    if now > dsr.due_at:
        raise ApplicationError(
            "An extension must be decided and told within the first month (GDPR art. 12(3)).",
            field="due_at",
            article="GDPR 12(3)",
        )
    dsr.extended = True
    dsr.extension_reason = _text(reason)
    dsr.extension_told_at = now
    dsr.due_at = _dsr_due(dsr)
    _save(dsr, acting_user)
    notify(
        key=f"dsr-extended:{dsr.pk}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject=f"Data-subject request extended by {DSR_EXTENSION_MONTHS} months",
        body=(
            f"Request {dsr.request_id} ({dsr.get_type_display()}) is now due {_fmt(dsr.due_at, dsr.client.provider)} "
            f"(GDPR art. 12(3)). Reason: {dsr.extension_reason}"
        ),
    )
    return dsr


@transaction.atomic
def dsr_pause_for_identity(
    *, dsr: DataSubjectRequest, acting_user: User, now: dt.datetime | None = None
) -> DataSubjectRequest:
    """Pause the clock while the subject's identity is checked (GDPR art. 12(6)); the deadline
    shifts by the pause when it is resumed."""
    _require_client_admin_or_compliance(acting_user, dsr.client)
    dsr = _dsr_locked(dsr)
    _dsr_require_open(dsr)
    if dsr.identity_check_since:
        raise ApplicationError(
            "This request already waits on the identity check.", field="identity_check_since"
        )
    dsr.identity_check_since = now or timezone.now()
    return _save(dsr, acting_user)


@transaction.atomic
def dsr_resume_after_identity(
    *, dsr: DataSubjectRequest, acting_user: User, now: dt.datetime | None = None
) -> DataSubjectRequest:
    """Resume after the identity check; the deadline moves by the length of the pause."""
    _require_client_admin_or_compliance(acting_user, dsr.client)
    dsr = _dsr_locked(dsr)
    _dsr_require_open(dsr)
    if not dsr.identity_check_since:
        raise ApplicationError(
            "This request does not wait on an identity check.", field="identity_check_since"
        )
    now = now or timezone.now()
    paused = max(0, int((now - dsr.identity_check_since).total_seconds()))
    dsr.paused_seconds += paused
    dsr.identity_check_since = None
    dsr.due_at = _dsr_due(dsr)
    _save(dsr, acting_user)
    notify(
        key=f"dsr-resumed:{dsr.pk}:{dsr.paused_seconds}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject="Data-subject request resumed after the identity check",
        body=f"Request {dsr.request_id} is now due {_fmt(dsr.due_at, dsr.client.provider)}.",
    )
    return dsr


@transaction.atomic
def dsr_cancel(
    *, dsr: DataSubjectRequest, acting_user: User, reason: str = ""
) -> DataSubjectRequest:
    """Cancel an open request (OpenDSR state `cancelled`), by the client or a compliance officer."""
    dsr = _dsr_locked(dsr)
    _require_client_admin_or_compliance(acting_user, dsr.client)
    _dsr_require_open(dsr)
    now = timezone.now()
    if dsr.identity_check_since:
        dsr.paused_seconds += max(0, int((now - dsr.identity_check_since).total_seconds()))
        dsr.identity_check_since = None
    dsr.status = DataSubjectRequest.Status.CANCELLED
    dsr.action_taken = f"Cancelled. {_text(reason)}".strip()
    # completed_at marks when the request was closed; retention counts from it (art. 23)
    dsr.completed_at = now
    dsr.completed_by = acting_user
    _save(dsr, acting_user)
    _dsr_status_changed(dsr)
    return dsr


def dsr_overdue_flag(*, now: dt.datetime | None = None, batch_size: int = 500) -> dict:
    """Job: flag open requests past their deadline to the compliance officers, once each (GDPR 12(3)).

    A request paused for the identity check is not overdue: its deadline moves when it resumes.
    """
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataSubjectRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status__in=DSR_OPEN,
                    due_at__lt=now,
                    overdue_flagged_at=None,
                    identity_check_since=None,
                )
                .select_related("client__provider")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return {"flagged": flagged}
            DataSubjectRequest.objects.filter(pk__in=[d.pk for d in batch]).update(
                overdue_flagged_at=now
            )
            for dsr in batch:
                notify(
                    key=f"dsr-overdue:{dsr.pk}",
                    client=dsr.client,
                    recipients=_compliance_emails(),
                    subject=f"Overdue data-subject request: {dsr.client.legal_name}",
                    body=(
                        f"{dsr.get_type_display()} request {dsr.request_id} was due "
                        f"{_fmt(dsr.due_at, dsr.client.provider)} (GDPR art. 12(3))."
                    ),
                )
            flagged += len(batch)


# =========================================================================================
# Personal-data breaches (art. 21.11)
# =========================================================================================
@transaction.atomic
def breach_log(
    *,
    provider: Provider,
    detected_at: dt.datetime,
    description: str,
    data_types: str,
    approx_subjects: int,
    measures: str,
    affected_clients,
    acting_user: User,
    aware_at: dt.datetime | None = None,
) -> Breach:
    """Log a personal-data breach (art. 21.11): each affected client is due a notice within
    `profile.breach_notice_hours` (48) hours of awareness — clock hours, not working days."""
    _require_compliance(acting_user)
    aware_at = aware_at or detected_at
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    if detected_at is None:
        errors["detected_at"] = ["Give the moment the breach was detected (art. 21.11)."]
    elif detected_at > now + dt.timedelta(minutes=5):
        errors["detected_at"] = ["The detection cannot be in the future."]
    if aware_at is not None and detected_at is not None and aware_at < detected_at:
        errors["aware_at"] = ["Awareness cannot come before detection."]
    if aware_at is not None and aware_at > now + dt.timedelta(minutes=5):
        errors["aware_at"] = ["Awareness cannot be in the future."]
    for field, value in (
        ("description", description),
        ("data_types", data_types),
        ("measures", measures),
    ):
        if not _text(value):
            errors[field] = [f"Describe the {field.replace('_', ' ')} (art. 21.11)."]
    try:
        approx_subjects = int(approx_subjects)
        if approx_subjects < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["approx_subjects"] = ["Give the approximate number of data subjects (art. 21.11)."]
    clients = list(dict.fromkeys(affected_clients or []))
    if not clients:
        errors["affected_clients"] = [
            "Name the affected clients: each must be notified (art. 21.11)."
        ]
    elif any(c.provider_id != provider.pk for c in clients):
        errors["affected_clients"] = ["Every affected client must be a client of this provider."]
    if errors:
        raise ValidationFailed(errors, article="21.11")
    breach = Breach(
        provider=provider,
        detected_at=detected_at,
        aware_at=aware_at,
        description=_text(description),
        data_types=_text(data_types),
        approx_subjects=approx_subjects,
        measures=_text(measures),
        logged_by=acting_user,
        logged_at=now,
    )
    _save(breach, acting_user)
    # clock hours: added in UTC, as Python adds a timedelta to a zoned datetime on its wall clock
    deadline = aware_at.astimezone(dt.UTC) + dt.timedelta(hours=provider.breach_notice_hours)
    for client in sorted(clients, key=lambda c: c.pk):
        _save(BreachNotification(breach=breach, client=client, deadline=deadline), acting_user)
    return breach


@transaction.atomic
def breach_notify_client(
    *, notification: BreachNotification, message: str, acting_user: User
) -> BreachNotification:
    """Send an affected client its breach notice from the portal and record it (art. 21.11(a))."""
    _require_compliance(acting_user)
    if not _text(message):
        raise ValidationFailed(
            {
                "message": [
                    "Write the notice: what happened, the data concerned, the measures (art. 21.11)."
                ]
            }
        )
    notification = (
        BreachNotification.objects.select_for_update()
        .select_related("breach__provider", "client")
        .get(pk=notification.pk)
    )
    if notification.notified_at:
        raise Conflict("This client has already been notified of this breach.", field="notified_at")
    notification.message = _text(message)
    notification.notified_at = timezone.now()
    notification.notified_by = acting_user
    _save(notification, acting_user)
    breach = notification.breach
    notify(
        key=f"breach-notice:{notification.pk}",
        client=notification.client,
        recipients=client_admin_emails(notification.client),
        subject=f"Personal-data breach notification from {breach.provider.name}",
        body=(
            f"{notification.message}\n\nDetected: {_fmt(breach.detected_at, breach.provider)}\n"
            f"Types of personal data: {breach.data_types}\nApproximate number of data subjects: "
            f"{breach.approx_subjects}\nMeasures: {breach.measures}\n(art. 21.11)"
        ),
    )
    return notification


@transaction.atomic
def breach_add_update(*, breach: Breach, text: str, acting_user: User) -> BreachUpdate:
    """Add a follow-up as information becomes available (art. 21.11); notified clients receive it."""
    _require_compliance(acting_user)
    if not _text(text):
        raise ValidationFailed({"text": ["The update cannot be empty."]})
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    update = BreachUpdate.objects.create(breach=breach, text=_text(text), created_by=acting_user)
    for notification in breach.notifications.filter(notified_at__isnull=False).select_related(
        "client"
    ):
        notify(
            key=f"breach-update:{update.pk}:{notification.client_id}",
            client=notification.client,
            recipients=client_admin_emails(notification.client),
            subject=f"Update on the personal-data breach of {local_date(breach.provider, breach.detected_at)}",
            body=f"{update.text}\n(art. 21.11)",
        )
    return update


@transaction.atomic
def breach_set_root_cause(*, breach: Breach, root_cause: str, acting_user: User) -> Breach:
    """Record the root cause found by the investigation (art. 21.11: identify it, prevent a recurrence)."""
    _require_compliance(acting_user)
    if not _text(root_cause):
        raise ValidationFailed({"root_cause": ["Describe the root cause (art. 21.11)."]})
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    breach.root_cause = _text(root_cause)
    return _save(breach, acting_user)


@transaction.atomic
def breach_close(*, breach: Breach, acting_user: User) -> Breach:
    """Close a breach once every affected client was notified and its root cause is recorded (art. 21.11)."""
    _require_compliance(acting_user)
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.closed_at:
        raise ApplicationError("This breach is already closed.", field="closed_at")
    if breach.notifications.filter(notified_at=None).exists():
        raise ApplicationError(
            "Notify every affected client before closing (art. 21.11).",
            field="notifications",
            article="21.11",
        )
    if not breach.root_cause:
        raise ApplicationError(
            "Record the root cause before closing (art. 21.11).",
            field="root_cause",
            article="21.11",
        )
    breach.closed_at = timezone.now()
    return _save(breach, acting_user)


def breach_deadlines_escalate(
    *, now: dt.datetime | None = None, near_hours: int = BREACH_NEAR_HOURS, batch_size: int = 500
) -> dict:
    """Job: tell the compliance officers, once each, when a client's breach notice is due within
    `near_hours` hours and not sent, and once more when its 48-hour deadline is missed (art. 21.11)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    near = missed = 0
    pending = BreachNotification.objects.filter(notified_at=None).select_related(
        "breach__provider", "client"
    )
    for notification in pending.filter(escalated_missed_at=None, deadline__lte=now).order_by(
        "deadline", "pk"
    )[:batch_size]:
        with transaction.atomic():
            # claim: if no row changed, another run got there first
            if BreachNotification.objects.filter(
                pk=notification.pk, escalated_missed_at=None, notified_at=None
            ).update(escalated_missed_at=now):
                missed += 1
                notify(
                    key=f"breach-missed:{notification.pk}",
                    client=notification.client,
                    recipients=_compliance_emails(),
                    subject=f"MISSED breach notice deadline: {notification.client.legal_name}",
                    body=(
                        f"The notice of the breach detected {_fmt(notification.breach.detected_at, notification.breach.provider)} "
                        f"was due {_fmt(notification.deadline, notification.breach.provider)} and has not been sent (art. 21.11)."
                    ),
                )
    for notification in pending.filter(
        escalated_near_at=None,
        escalated_missed_at=None,
        deadline__gt=now,
        deadline__lte=now + dt.timedelta(hours=near_hours),
    ).order_by("deadline", "pk")[:batch_size]:
        with transaction.atomic():
            if BreachNotification.objects.filter(
                pk=notification.pk, escalated_near_at=None, notified_at=None
            ).update(escalated_near_at=now):
                near += 1
                hours_left = (notification.deadline - now).total_seconds() / 3600
                notify(
                    key=f"breach-near:{notification.pk}",
                    client=notification.client,
                    recipients=_compliance_emails(),
                    subject=f"Breach notice due in {hours_left:.0f} hours: {notification.client.legal_name}",
                    body=f"Notify {notification.client.legal_name} by {_fmt(notification.deadline, notification.breach.provider)} (art. 21.11).",
                )
    return {"near": near, "missed": missed}


# =========================================================================================
# Records of processing (art. 21.8, 24)
# =========================================================================================
RECORD_DEFAULTS = {
    "subject_categories": (
        "(Potential) customers of the client or its clients; employees, contractors and hired persons; "
        "contact persons of prospects, customers and business partners; the client's authorised users (art. 24.2)"
    ),
    "data_types": "First and last name; contact information (company, address, email, phone); IP address (art. 24.3)",
    "purposes": (
        "Provision of the services under the agreement; handling complaints and disputes; information "
        "to emergency services; preventing fraud and criminal activities (art. 24.4)"
    ),
}


def processing_record_defaults(*, client: Client) -> dict:
    """The contract's own description (art. 24.2–24.4) as a starting point for a client's record."""
    retention = ", ".join(
        f"{p.get_category_display()}: {p.period_days} days"
        for p in RetentionPolicy.objects.filter(provider_id=client.provider_id)
    )
    return {
        **RECORD_DEFAULTS,
        "transfers": "",
        "retention": retention,
        "toms_reference": "art. 21.2",
    }


@transaction.atomic
def processing_record_save(
    *,
    client: Client,
    acting_user: User,
    subject_categories: str,
    data_types: str,
    purposes: str,
    retention: str,
    toms_reference: str,
    transfers: str = "",
) -> ProcessingRecord:
    """Keep the record of processing carried out for a client complete and up to date (art. 21.8, 24)."""
    _require_compliance(acting_user)
    values = {
        "subject_categories": _text(subject_categories),
        "data_types": _text(data_types),
        "purposes": _text(purposes),
        "transfers": _text(transfers),
        "retention": _text(retention),
        "toms_reference": _text(toms_reference),
    }
    articles = {
        "subject_categories": "24.2",
        "data_types": "24.3",
        "purposes": "24.4",
        "retention": "23",
        "toms_reference": "21.2",
    }
    errors = {
        f: [f"This part of the record is required (art. {a})."]
        for f, a in articles.items()
        if not values[f]
    }
    if errors:
        raise ValidationFailed(errors, article="21.8")
    Client.objects.select_for_update().filter(pk=client.pk).first()
    record = ProcessingRecord.objects.filter(client=client).first() or ProcessingRecord(
        client=client
    )
    for field, value in values.items():
        setattr(record, field, value)
    return _save(record, acting_user, clean=True)


# =========================================================================================
# Retention and anonymisation (art. 23)
# =========================================================================================
def retention_cutoff(
    *, provider: Provider, category: str, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Data of `category` from before this moment is past its retention period and must be
    anonymised (art. 23). None when the provider has no period for the category (keep)."""
    if category not in RetentionPolicy.Category.values:
        raise ValueError(f"unknown retention category {category!r}")
    period = (
        RetentionPolicy.objects.filter(provider=provider, category=category)
        .values_list("period_days", flat=True)
        .first()
    )
    if period is None:
        return None
    return (now or timezone.now()).astimezone(dt.UTC) - dt.timedelta(days=period)


def dsr_references_anonymise(*, now: dt.datetime | None = None, batch_size: int = 1000) -> dict:
    """Job: irreversibly replace the subject reference of DSRs closed longer ago than their
    provider's retention period, in the rows and in their history (art. 23: "de-identify ...
    into anonymized data ... no unique identifiers"). Set-based; running it twice changes nothing
    the second time. The request itself (type, dates, costs) stays for the record."""
    now = now or timezone.now()
    history = DataSubjectRequest.history.model
    anonymised = 0
    for provider in Provider.objects.order_by("pk"):
        cutoff = retention_cutoff(
            provider=provider, category=RetentionPolicy.Category.DSR_SUBJECT_REFERENCES, now=now
        )
        if cutoff is None:
            continue
        while True:
            with transaction.atomic():
                ids = list(
                    DataSubjectRequest.objects.filter(
                        client__provider=provider,
                        status__in=[
                            DataSubjectRequest.Status.COMPLETED,
                            DataSubjectRequest.Status.CANCELLED,
                        ],
                        completed_at__lt=cutoff,
                        anonymised_at=None,
                    )
                    .order_by("pk")
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not ids:
                    break
                DataSubjectRequest.objects.filter(pk__in=ids, anonymised_at=None).update(
                    subject_reference=ANONYMISED, anonymised_at=now
                )
                history.objects.filter(id__in=ids).update(subject_reference=ANONYMISED)
                anonymised += len(ids)
    return {"anonymised": anonymised}


# =========================================================================================
# Assistance with the client's compliance (art. 21.6)
# =========================================================================================
ASSISTANCE_TRANSITIONS = {
    AssistanceRequest.Status.OPEN: {
        AssistanceRequest.Status.IN_PROGRESS,
        AssistanceRequest.Status.COMPLETED,
        AssistanceRequest.Status.CANCELLED,
    },
    AssistanceRequest.Status.IN_PROGRESS: {
        AssistanceRequest.Status.COMPLETED,
        AssistanceRequest.Status.CANCELLED,
    },
}


@transaction.atomic
def assistance_request_log(
    *,
    client: Client,
    kind: str,
    description: str,
    acting_user: User,
    due_at: dt.datetime | None = None,
) -> AssistanceRequest:
    """Log a request for help with a data-protection impact assessment or a prior consultation (art. 21.6)."""
    _require_client_admin_or_compliance(acting_user, client)
    errors: dict[str, list[str]] = {}
    if kind not in AssistanceRequest.Kind.values:
        errors["kind"] = [
            f"Kind must be one of {', '.join(AssistanceRequest.Kind.values)} (art. 21.6)."
        ]
    if not _text(description):
        errors["description"] = ["Describe the assistance needed (art. 21.6)."]
    if due_at is not None and due_at < timezone.now():
        errors["due_at"] = ["The due date cannot be in the past."]
    if errors:
        raise ValidationFailed(errors, article="21.6")
    request = AssistanceRequest(
        client=client,
        kind=kind,
        description=_text(description),
        requested_by=acting_user,
        due_at=due_at,
        assistance_cost_currency=client.provider.currency,
    )
    _save(request, acting_user)
    notify(
        key=f"assistance-requested:{request.pk}",
        client=client,
        recipients=_compliance_emails()
        if _is_client_side(acting_user, client)
        else client_admin_emails(client),
        subject=f"Assistance request ({request.get_kind_display()}): {client.legal_name}",
        body=f"{request.description}\n(art. 21.6)",
    )
    return request


@transaction.atomic
def assistance_request_update(
    *,
    assistance_request: AssistanceRequest,
    acting_user: User,
    status: str | None = None,
    outcome: str | None = None,
    cost=None,
) -> AssistanceRequest:
    """Track an assistance request: its status, outcome and cost, charged to the client in the
    provider's currency (art. 21.6, 21.5.2)."""
    _require_compliance(acting_user)
    request = (
        AssistanceRequest.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=assistance_request.pk)
    )
    if request.status not in ASSISTANCE_TRANSITIONS:
        raise ApplicationError(
            f"This request is already {request.get_status_display().lower()}.", field="status"
        )
    if status is not None and status != request.status:
        if status not in ASSISTANCE_TRANSITIONS[request.status]:
            raise ValidationFailed({"status": [f"Cannot move from {request.status} to {status}."]})
        request.status = status
    if outcome is not None:
        request.outcome = _text(outcome)
    if cost is not None:
        request.assistance_cost = _money(cost, "cost", "21.6")
        request.assistance_cost_currency = request.client.provider.currency
    if request.status == AssistanceRequest.Status.COMPLETED and not request.outcome:
        raise ValidationFailed({"outcome": ["Record the outcome before completing (art. 21.6)."]})
    return _save(request, acting_user)

"""Audits (art. 21.7): a client asks for an audit at most once a year with ten working days'
notice (21.7.2), or for the certifications and security information (21.7.1); both sides agree
the terms, the auditor's confidentiality declaration is uploaded and the report shared (21.7.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import workdays
from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.kernel.signals import client_cost_incurred
from accounts.kernel.uploads import document_check
from accounts.models import Client, Provider, User
from dataprocessing.models import AuditRequest
from dataprocessing.selectors import is_client_side

from ._common import (
    CLOCK_SKEW,
    compliance_emails,
    in_the_future,
    money,
    require_active,
    require_client_admin_or_compliance,
    require_compliance,
)


def audit_first_start_day(provider: Provider, earliest_start: dt.datetime) -> dt.date:
    """The first day an audit may start: the day after the notice period ends (art. 21.7.2).

    `earliest_start` is the close of business of the 10th working day after the request (the
    day of the request does not count), so ten full working days of notice lie before this day.
    """
    return local_date(provider, earliest_start) + dt.timedelta(days=1)


def _set_status(audit: AuditRequest, status: str, user: User | None) -> AuditRequest:
    audit.status = status
    audit.status_changed_at = timezone.now()
    audit.status_changed_by = user
    return save_with_history(audit, user)


def _locked(audit: AuditRequest) -> AuditRequest:
    return (
        AuditRequest.objects.select_for_update().select_related("client__provider").get(pk=audit.pk)
    )


def _require_not_started(audit: AuditRequest, message: str) -> None:
    if not audit.is_not_started:
        raise ApplicationError(message, field="status")


def _once_per_interval_error(client: Client, requested_at: dt.datetime) -> str | None:
    """ "At most once per year" (art. 21.7.2, profile.audit_interval_months): the requests of
    the last interval that were not refused or cancelled count."""
    provider = client.provider
    since = add_months(requested_at, -provider.audit_interval_months)
    previous = (
        AuditRequest.objects.filter(
            client=client, kind=AuditRequest.Kind.AUDIT, requested_at__gt=since
        )
        .exclude(status__in=[AuditRequest.Status.REFUSED, AuditRequest.Status.CANCELLED])
        .order_by("-requested_at")
        .first()
    )
    if previous is None:
        return None
    next_allowed = add_months(previous.requested_at, provider.audit_interval_months)
    return ngettext(
        "An audit may be requested at most once per %(months)s month (art. 21.7.2); the last "
        "was requested on %(last)s, the next may be requested from %(next)s.",
        "An audit may be requested at most once per %(months)s months (art. 21.7.2); the last "
        "was requested on %(last)s, the next may be requested from %(next)s.",
        provider.audit_interval_months,
    ) % {
        "months": provider.audit_interval_months,
        "last": local_date(provider, previous.requested_at),
        "next": local_date(provider, next_allowed),
    }


def _audit_errors(
    *, provider: Provider, proposed_start, earliest, auditor_name, accredited, not_competitor
) -> dict[str, list[str]]:
    """The notice (art. 21.7.2) and the auditor (art. 21.7.1, 21.7.2) of an audit request."""
    errors: dict[str, list[str]] = {}
    first_day = audit_first_start_day(provider, earliest)
    if proposed_start is None:
        errors["proposed_start"] = [gettext("Propose a start date for the audit (art. 21.7.2).")]
    elif proposed_start < first_day:
        errors["proposed_start"] = [
            gettext(
                "An audit needs prior written notice of at least %(audit_notice_working_days)s working days (art. 21.7.2): the earliest start is %(first_day)s."
            )
            % {
                "audit_notice_working_days": provider.audit_notice_working_days,
                "first_day": first_day,
            }
        ]
    if not optional_text(auditor_name):
        errors["auditor_name"] = [gettext("Name the external expert who will audit (art. 21.7.2).")]
    if not accredited:
        errors["auditor_accredited"] = [
            gettext("The auditor must be an accredited external expert; declare it (art. 21.7.2).")
        ]
    if not not_competitor:
        errors["auditor_not_competitor"] = [
            gettext("The auditor must not be a competitor of %(name)s; declare it (art. 21.7.1).")
            % {"name": provider.name}
        ]
    return errors


def requester_not_competitor_error(provider: Provider) -> dict[str, list[str]]:
    """Art. 21.7.1: the certifications and security information are made available "to Client,
    that is not a competitor of CM (or Client's independent, third-party auditor that is not a
    competitor of CM)": without the requester's declaration nothing is released."""
    return {
        "requester_not_competitor": [
            gettext(
                "Certifications and security information are made available only to a client "
                "that is not a competitor of %(provider)s: declare that you are not one "
                "(art. 21.7.1)."
            )
            % {"provider": provider.name}
        ]
    }


def _requested_at_errors(requested_at, now, acting_user: User) -> dict[str, list[str]]:
    """A request is dated now; only a compliance officer logs a written one received earlier."""
    errors: dict[str, list[str]] = {}
    if in_the_future(requested_at, now):
        errors["requested_at"] = [gettext("A request cannot be dated in the future.")]
    if requested_at < now - CLOCK_SKEW and not acting_user.is_compliance_officer:
        errors["requested_at"] = [
            gettext("Only a compliance officer may log a request received earlier.")
        ]
    return errors


def _tell_requested(audit: AuditRequest) -> None:
    """The provider's compliance officers are told of a new request (art. 21.7)."""
    client = audit.client

    def details() -> str:
        if not audit.earliest_start:
            return ""
        return "\n" + gettext("Proposed start: %(start)s; auditor: %(auditor)s %(firm)s") % {
            "start": audit.proposed_start,
            "auditor": audit.auditor_name,
            "firm": audit.auditor_firm,
        }

    notify(
        key=f"audit-requested:{audit.pk}",
        client=client,
        recipients=compliance_emails(provider=client.provider_id),
        subject=lambda: (
            gettext("%(kind)s requested: %(client)s")
            % {"kind": audit.get_kind_display(), "client": client.legal_name}
        ),
        body=lambda: (
            gettext("%(client)s requests: %(kind)s (art. 21.7).")
            % {"client": client.legal_name, "kind": audit.get_kind_display()}
            + details()
        ),
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
    requester_not_competitor: bool = False,
    scope: str = "",
    requested_at: dt.datetime | None = None,
) -> AuditRequest:
    """A client admin, or a compliance officer on its behalf, asks for an audit (art. 21.7.2) or,
    lighter, a copy of the certifications and security information (art. 21.7.1).

    For an audit: "at most once per year" (profile.audit_interval_months, counting the requests
    of the last 12 months that were not refused or cancelled); "prior written notice of no less
    than ten working days" (profile.audit_notice_working_days, provider calendar: the proposed
    start must come after ten full working days); "an accredited external expert" who is not a
    competitor (declared). For the certifications and security information: the requester's
    declaration that it is not a competitor of the provider (art. 21.7.1,
    `requester_not_competitor`), recorded with who declared it and when. Each broken rule is
    named with its article. `requested_at` lets a compliance officer log a written request
    received earlier; it defaults to now.
    """
    require_client_admin_or_compliance(acting_user, client)
    client = Client.objects.select_for_update().select_related("provider").get(pk=client.pk)
    provider = client.provider
    now = timezone.now()
    requested_at = requested_at or now
    errors = _requested_at_errors(requested_at, now, acting_user)
    if kind not in AuditRequest.Kind.values:
        raise ValidationFailed(
            {
                "kind": [
                    gettext("Kind must be one of %(choices)s (art. 21.7).")
                    % {"choices": ", ".join(AuditRequest.Kind.values)}
                ]
            }
        )
    earliest = None
    if kind == AuditRequest.Kind.AUDIT:
        interval_error = _once_per_interval_error(client, requested_at)
        if interval_error:
            errors["kind"] = [interval_error]
        earliest = workdays.add_working_days(
            requested_at, provider.audit_notice_working_days, provider
        )
        errors.update(
            _audit_errors(
                provider=provider,
                proposed_start=proposed_start,
                earliest=earliest,
                auditor_name=auditor_name,
                accredited=auditor_accredited,
                not_competitor=auditor_not_competitor,
            )
        )
    if kind == AuditRequest.Kind.INFORMATION and not requester_not_competitor:
        errors.update(requester_not_competitor_error(provider))
    if errors:
        raise ValidationFailed(
            errors, article="21.7.2" if kind == AuditRequest.Kind.AUDIT else "21.7.1"
        )
    declared = bool(requester_not_competitor)
    audit = AuditRequest(
        client=client,
        kind=kind,
        requested_by=acting_user,
        requested_at=requested_at,
        on_behalf_of_client=not is_client_side(acting_user, client.pk),
        proposed_start=proposed_start if kind == AuditRequest.Kind.AUDIT else None,
        earliest_start=earliest,
        auditor_name=optional_text(auditor_name),
        auditor_firm=optional_text(auditor_firm),
        auditor_accredited=bool(auditor_accredited),
        auditor_not_competitor=bool(auditor_not_competitor),
        requester_not_competitor=declared,
        requester_declared_at=requested_at if declared else None,
        requester_declared_by=acting_user if declared else None,
        scope=optional_text(scope),
        reimbursement_currency=provider.currency,
        status=AuditRequest.Status.REQUESTED,
        status_changed_at=now,
        status_changed_by=acting_user,
    )
    save_with_history(audit, acting_user)
    _tell_requested(audit)
    return audit


def _agreed_terms(scope, timing, duration_days, reimbursement_rate) -> tuple:
    """Scope, timing, duration and reimbursement rate, each required (art. 21.7.2)."""
    errors: dict[str, list[str]] = {}
    if not optional_text(scope):
        errors["scope"] = [gettext("Agree the scope of the audit (art. 21.7.2).")]
    if not optional_text(timing):
        errors["timing"] = [gettext("Agree the timing of the audit (art. 21.7.2).")]
    try:
        duration_days = int(duration_days)
    except (TypeError, ValueError):
        duration_days = 0
    if duration_days < 1:
        errors["duration_days"] = [
            gettext("Agree the duration of the audit in days (art. 21.7.2).")
        ]
    rate = None
    try:
        rate = money(reimbursement_rate, "reimbursement_rate", "21.7.2")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors, article="21.7.2")
    return (optional_text(scope), optional_text(timing), duration_days, rate)


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
    audit = _locked(audit)
    client = audit.client
    if is_client_side(acting_user, client.pk):
        require_active(acting_user)
        side = "client"
    else:
        require_compliance(acting_user)
        side = "provider"
    if not audit.is_audit:
        raise ApplicationError(
            gettext("Only an audit has terms to agree (art. 21.7.2)."),
            field="kind",
            article="21.7.2",
        )
    _require_not_started(
        audit,
        f"The terms can no longer be agreed: the audit is {audit.get_status_display().lower()}.",
    )
    terms = _agreed_terms(scope, timing, duration_days, reimbursement_rate)
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
        _set_status(audit, new_status, acting_user)
    else:
        save_with_history(audit, acting_user)
    notify(
        key=f"audit-agree:{audit.pk}:{side}:{now.timestamp()}",
        client=client,
        recipients=compliance_emails(provider=client.provider_id)
        if side == "client"
        else client_admin_emails(client),
        subject=lambda: (
            (
                gettext("Audit terms agreed: %(client)s")
                if both
                else gettext("Audit terms proposed: %(client)s")
            )
            % {"client": client.legal_name}
        ),
        body=(
            lambda: (
                ngettext(
                    "Scope: %(scope)s\nTiming: %(timing)s\nDuration: %(days)s day\nReimbursement rate: "
                    "%(rate)s %(currency)s (art. 21.7.2).",
                    "Scope: %(scope)s\nTiming: %(timing)s\nDuration: %(days)s days\nReimbursement rate: "
                    "%(rate)s %(currency)s (art. 21.7.2).",
                    audit.duration_days or 0,
                )
                % {
                    "scope": audit.scope,
                    "timing": audit.timing,
                    "days": audit.duration_days,
                    "rate": audit.reimbursement_rate,
                    "currency": audit.reimbursement_currency,
                }
                + ("" if both else "\n" + gettext("Please record your agreement in the portal."))
            )
        ),
    )
    return audit


@transaction.atomic
def audit_upload_confidentiality(*, audit: AuditRequest, file, acting_user: User) -> AuditRequest:
    """Upload the external expert's signed confidentiality declaration (art. 21.7.3), before the
    start."""
    audit = _locked(audit)
    require_client_admin_or_compliance(acting_user, audit.client)
    if not audit.is_audit:
        raise ApplicationError(
            gettext("Only an audit needs a confidentiality declaration (art. 21.7.3)."),
            field="kind",
        )
    _require_not_started(
        audit, "The declaration is uploaded before the audit starts (art. 21.7.3)."
    )
    if not file:
        raise ValidationFailed(
            {"file": [gettext("Upload the signed confidentiality declaration (art. 21.7.3).")]}
        )
    document_check(file, field="file", what="The confidentiality declaration")
    audit.confidentiality_declaration.save(
        getattr(file, "name", "declaration.pdf"), file, save=False
    )
    return save_with_history(audit, acting_user)


@transaction.atomic
def audit_start(
    *, audit: AuditRequest, acting_user: User, now: dt.datetime | None = None
) -> AuditRequest:
    """The audit starts (art. 21.7.2, 21.7.3): only once both sides agreed its terms, the
    confidentiality declaration is uploaded and the ten working days of notice have run."""
    require_compliance(acting_user)
    audit = _locked(audit)
    now = now or timezone.now()
    if not audit.is_audit:
        raise ApplicationError(gettext("Only an audit starts (art. 21.7.2)."), field="kind")
    if audit.status != AuditRequest.Status.AGREED or not (
        audit.client_agreed_at and audit.provider_agreed_at
    ):
        raise ApplicationError(
            gettext(
                "Before the audit starts both parties must agree its scope, timing, duration and "
                "reimbursement rate (art. 21.7.2)."
            ),
            field="status",
            article="21.7.2",
        )
    if not audit.confidentiality_declaration:
        raise ApplicationError(
            gettext(
                "Upload the auditor's signed confidentiality declaration before the audit starts "
                "(art. 21.7.3)."
            ),
            field="confidentiality_declaration",
            article="21.7.3",
        )
    provider = audit.client.provider
    first_day = audit_first_start_day(provider, audit.earliest_start)
    if local_date(provider, now) < first_day:
        raise ApplicationError(
            gettext(
                "The audit may not start before %(first_day)s: ten working days' prior notice (art. 21.7.2)."
            )
            % {"first_day": first_day},
            field="earliest_start",
            article="21.7.2",
        )
    return _set_status(audit, AuditRequest.Status.IN_PROGRESS, acting_user)


@transaction.atomic
def audit_share_report(*, audit: AuditRequest, file, acting_user: User) -> AuditRequest:
    """The external expert's report is made available to the provider (art. 21.7.3)."""
    audit = _locked(audit)
    require_client_admin_or_compliance(acting_user, audit.client)
    if audit.status != AuditRequest.Status.IN_PROGRESS:
        raise ApplicationError(
            gettext("A report is shared for an audit in progress (art. 21.7.3)."), field="status"
        )
    if not file:
        raise ValidationFailed({"file": [gettext("Upload the auditor's report (art. 21.7.3).")]})
    document_check(file, field="file", what="The report")
    audit.report.save(getattr(file, "name", "report.pdf"), file, save=False)
    audit.report_shared_at = timezone.now()
    _set_status(audit, AuditRequest.Status.REPORT_SHARED, acting_user)
    notify(
        key=f"audit-report:{audit.pk}",
        client=audit.client,
        recipients=compliance_emails(provider=audit.client.provider_id),
        subject=lambda: (
            gettext("Audit report shared: %(client)s") % {"client": audit.client.legal_name}
        ),
        body=lambda: gettext("The auditor's report is available in the portal (art. 21.7.3)."),
    )
    return audit


def _hours(value: object) -> Decimal:
    """Hours expended, at least zero, to the hundredth (art. 21.7.2)."""
    try:
        hours = to_decimal(value, field="hours_spent")
    except ValidationFailed as exc:
        raise ValidationFailed(
            {"hours_spent": [gettext("Enter the hours spent on the audit (art. 21.7.2).")]},
            article="21.7.2",
        ) from exc
    if hours < 0 or hours != hours.quantize(Decimal("0.01")) or hours >= Decimal("1000000"):
        raise ValidationFailed(
            {
                "hours_spent": [
                    gettext("Hours are zero or more, to the hundredth of an hour (art. 21.7.2).")
                ]
            },
            article="21.7.2",
        )
    return hours


def _recharge_audit_time(audit: AuditRequest, acting_user: User) -> None:
    """art. 21.7.2: the provider's time at the reimbursement rate agreed before the audit."""
    rate = audit.reimbursement_rate
    if not audit.hours_spent or not rate:
        return
    client_cost_incurred.send(
        sender=AuditRequest,
        client=audit.client,
        kind="audit_time",
        amount=round_money(audit.hours_spent * rate),
        currency=audit.reimbursement_currency or audit.client.provider.currency,
        source_kind="dataprocessing.audit",
        source_id=audit.pk,
        description=(
            f"audit #{audit.pk}: {audit.hours_spent} hours at {rate} "
            f"{audit.reimbursement_currency} an hour"
        ),
        acting_user=acting_user,
    )


@transaction.atomic
def audit_complete(
    *, audit: AuditRequest, acting_user: User, hours_spent: object = None
) -> AuditRequest:
    """Close an audit once its report is shared (art. 21.7.3), or an information request once
    the certifications and security information were provided (art. 21.7.1).

    Completing an information request releases the certifications and security information:
    it is checked first that the requester declared it is not a competitor of the provider
    (art. 21.7.1; a request logged before the declaration existed is refused until declared).

    "Client shall reimburse CM for any time expended by CM for any such audit at CM's
    then-current professional services rates" (art. 21.7.2): the hours the provider spent,
    at the reimbursement rate the parties agreed before the audit, are sent as
    `client_cost_incurred`, which billing recharges (portal/recharges.py). An information
    request costs nothing."""
    require_compliance(acting_user)
    audit = _locked(audit)
    if not audit.is_audit and not audit.requester_not_competitor:
        raise ValidationFailed(
            requester_not_competitor_error(audit.client.provider), article="21.7.1"
        )
    if audit.status != audit.completion_status:
        message = (
            "An audit is completed after its report is shared with the provider (art. 21.7.3)."
            if audit.is_audit
            else "Only an open information request can be completed."
        )
        raise ApplicationError(
            message, field="status", article="21.7.3" if audit.is_audit else "21.7.1"
        )
    if hours_spent not in (None, ""):
        if not audit.is_audit:
            raise ValidationFailed(
                {"hours_spent": [gettext("Only an audit's time is reimbursed (art. 21.7.2).")]},
                article="21.7.2",
            )
        audit.hours_spent = _hours(hours_spent)
    _set_status(audit, AuditRequest.Status.COMPLETED, acting_user)
    if audit.is_audit:
        _recharge_audit_time(audit, acting_user)
    notify(
        key=f"audit-completed:{audit.pk}",
        client=audit.client,
        recipients=client_admin_emails(audit.client),
        subject=lambda: gettext("%(kind)s completed") % {"kind": audit.get_kind_display()},
        body=(
            lambda: (
                gettext("Your request of %(date)s is completed.")
                % {"date": local_date(audit.client.provider, audit.requested_at)}
            )
        ),
    )
    return audit


@transaction.atomic
def audit_refuse(*, audit: AuditRequest, acting_user: User, reason: str) -> AuditRequest:
    """The provider refuses a request that does not meet art. 21.7, with its reason."""
    require_compliance(acting_user)
    reason = clean_text(
        reason, field="reason", message=gettext("Give the reason for the refusal (art. 21.7).")
    )
    audit = _locked(audit)
    _require_not_started(audit, "Only a request not yet started can be refused.")
    audit.refusal_reason = reason
    _set_status(audit, AuditRequest.Status.REFUSED, acting_user)
    notify(
        key=f"audit-refused:{audit.pk}",
        client=audit.client,
        recipients=client_admin_emails(audit.client),
        subject=lambda: gettext("%(kind)s request refused") % {"kind": audit.get_kind_display()},
        body=audit.refusal_reason,
    )
    return audit


@transaction.atomic
def audit_declare_not_competitor(*, audit: AuditRequest, acting_user: User) -> AuditRequest:
    """The requester declares it is not a competitor of the provider (art. 21.7.1), for a request
    of certifications and security information that was logged without the declaration."""
    with transaction.atomic():
        audit = _locked(audit)
        require_client_admin_or_compliance(acting_user, audit.client)
        if audit.is_audit:
            raise ApplicationError(
                gettext(
                    "An audit names its auditor's declaration (art. 21.7.2); this declaration is "
                    "for certifications and security information (art. 21.7.1)."
                ),
                field="kind",
                article="21.7.1",
            )
        _require_not_started(audit, gettext("Only an open request can be declared for."))
        if audit.requester_not_competitor:
            return audit
        audit.requester_not_competitor = True
        audit.requester_declared_at = timezone.now()
        audit.requester_declared_by = acting_user
        return save_with_history(audit, acting_user)


@transaction.atomic
def audit_cancel(*, audit: AuditRequest, acting_user: User) -> AuditRequest:
    """The client (or a compliance officer for it) withdraws a request not yet started."""
    audit = _locked(audit)
    require_client_admin_or_compliance(acting_user, audit.client)
    _require_not_started(audit, "Only a request not yet started can be cancelled.")
    return _set_status(audit, AuditRequest.Status.CANCELLED, acting_user)

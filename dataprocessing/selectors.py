"""Reads of data processing, scoped: every query of client-owned rows takes the user or the client,
so another client's objects never appear (a page or endpoint answers 404 for them)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import workdays
from accounts.kernel.dates import local_date
from accounts.models import Client, Provider, User
from accounts.selectors import scoped

from .models import (
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    DataSubjectRequest,
    ProcessingRecord,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
)

DSR_OPEN = (DataSubjectRequest.Status.PENDING, DataSubjectRequest.Status.IN_PROGRESS)
AUDIT_OPEN = (
    AuditRequest.Status.REQUESTED,
    AuditRequest.Status.AGREED,
    AuditRequest.Status.IN_PROGRESS,
    AuditRequest.Status.REPORT_SHARED,
)


def _scope(
    qs: QuerySet, *, user: User | None, client: Client | None, field: str = "client"
) -> QuerySet:
    """Narrow to one client, to what a user may see, or both."""
    if user is None and client is None:
        raise ValueError("a scoped read takes the user or the client")
    if user is not None:
        qs = scoped(qs, user=user, client_field=field)
    if client is not None:
        qs = qs.filter(**{f"{field}_id": client.pk})
    return qs


def _get(qs: QuerySet, pk):
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _provider_of(user: User) -> int | None:
    if user.client_id:
        return (
            Client.objects.filter(pk=user.client_id).values_list("provider_id", flat=True).first()
        )
    return None


# --- Sub-processors (art. 21.9, 21.10) ------------------------------------------------------
def sub_processors_current(
    *, provider: Provider, on: dt.date | None = None
) -> QuerySet[SubProcessor]:
    """The provider's sub-processors in use on `on` (today in its time zone by default)."""
    on = on or local_date(provider)
    return (
        SubProcessor.objects.filter(provider=provider, active_from__lte=on)
        .filter(Q(active_to__isnull=True) | Q(active_to__gte=on))
        .order_by("name", "pk")
    )


def sub_processor_list(*, user: User, current_only: bool = False) -> QuerySet[SubProcessor]:
    """Staff see the whole register (every provider); a client's users their provider's current list."""
    if not user.is_authenticated:
        return SubProcessor.objects.none()
    if user.is_provider_staff:
        qs = SubProcessor.objects.select_related("provider")
        if current_only:
            today = timezone.localdate()
            qs = qs.filter(active_from__lte=today).filter(
                Q(active_to__isnull=True) | Q(active_to__gte=today)
            )
        return qs.order_by("provider__code", "name", "pk")
    provider_id = _provider_of(user)
    if provider_id is None:
        return SubProcessor.objects.none()
    return sub_processors_current(provider=Provider.objects.get(pk=provider_id)).select_related(
        "provider"
    )


def sub_processor_change_list(
    *, user: User, status: str | None = None
) -> QuerySet[SubProcessorChange]:
    """Announced changes: staff see all, a client's users those of their provider."""
    qs = SubProcessorChange.objects.select_related("provider", "sub_processor", "replaces")
    if not user.is_authenticated:
        return qs.none()
    if not user.is_provider_staff:
        provider_id = _provider_of(user)
        if provider_id is None:
            return qs.none()
        qs = qs.filter(provider_id=provider_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-announced_at", "-pk")


def sub_processor_change_get(*, user: User, pk) -> SubProcessorChange:
    return _get(sub_processor_change_list(user=user), pk)


def sub_processor_objection_list(
    *, user: User | None = None, client: Client | None = None, status: str | None = None
) -> QuerySet[SubProcessorObjection]:
    qs = _scope(
        SubProcessorObjection.objects.select_related(
            "change__sub_processor", "client", "objected_by"
        ),
        user=user,
        client=client,
    )
    return qs.filter(status=status) if status else qs


# --- Audits (art. 21.7) ---------------------------------------------------------------------
def audit_request_list(
    *,
    user: User | None = None,
    client: Client | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> QuerySet[AuditRequest]:
    qs = _scope(
        AuditRequest.objects.select_related("client__provider", "requested_by"),
        user=user,
        client=client,
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def audit_request_get(*, user: User, pk) -> AuditRequest:
    return _get(audit_request_list(user=user), pk)


# --- Data-subject requests (art. 21.5) ------------------------------------------------------
def dsr_list(
    *,
    user: User | None = None,
    client: Client | None = None,
    status: str | None = None,
    type: str | None = None,  # noqa: A002
    overdue: bool | None = None,
) -> QuerySet[DataSubjectRequest]:
    qs = _scope(
        DataSubjectRequest.objects.select_related("client__provider"), user=user, client=client
    )
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if overdue:
        qs = qs.filter(status__in=DSR_OPEN, identity_check_since=None, due_at__lt=timezone.now())
    return qs


def dsr_get(*, user: User, pk) -> DataSubjectRequest:
    return _get(dsr_list(user=user), pk)


def dsr_get_by_request_id(*, user: User, request_id) -> DataSubjectRequest:
    """The OpenDSR lookup by `request_id` (a UUID), scoped like every other read."""
    obj = dsr_list(user=user).filter(request_id=request_id).first()
    if obj is None:
        raise Http404
    return obj


def dsr_due_soon(
    *,
    days: int = 5,
    user: User | None = None,
    client: Client | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[DataSubjectRequest]:
    """Open requests due within `days` days and not yet overdue: the dashboard's warning (GDPR 12(3)).

    Without user or client it covers every client (for the compliance officer's jobs)."""
    now = now or timezone.now()
    qs = DataSubjectRequest.objects.select_related("client__provider")
    if user is not None or client is not None:
        qs = _scope(qs, user=user, client=client)
    return qs.filter(
        status__in=DSR_OPEN,
        identity_check_since=None,
        due_at__gte=now,
        due_at__lte=now + dt.timedelta(days=days),
    ).order_by("due_at", "pk")


# --- Breaches (art. 21.11) ------------------------------------------------------------------
def breach_list(*, user: User) -> QuerySet[Breach]:
    """Staff see every breach; a client's users only breaches they were notified of.

    A client must not learn which other clients a breach affected: show it
    `breach_notification_list`, never `breach.notifications`."""
    if not user.is_authenticated:
        return Breach.objects.none()
    if user.is_provider_staff:
        return Breach.objects.select_related("provider", "logged_by")
    if not user.client_id:
        return Breach.objects.none()
    return Breach.objects.filter(
        notifications__client_id=user.client_id, notifications__notified_at__isnull=False
    ).distinct()


def breach_get(*, user: User, pk) -> Breach:
    return _get(breach_list(user=user), pk)


def breach_notification_list(
    *, user: User | None = None, client: Client | None = None, pending: bool | None = None
) -> QuerySet[BreachNotification]:
    """Breach notices: a client sees its own once sent; staff see all, with their countdown."""
    qs = _scope(
        BreachNotification.objects.select_related("breach__provider", "client"),
        user=user,
        client=client,
    )
    if user is not None and not user.is_provider_staff:
        qs = qs.filter(notified_at__isnull=False)
    if pending:
        qs = qs.filter(notified_at=None)
    return qs


def breach_notification_hours_left(
    notification: BreachNotification, now: dt.datetime | None = None
) -> float:
    """The visible countdown: hours to the 48-hour deadline, negative once missed (art. 21.11)."""
    now = now or timezone.now()
    return (notification.deadline - now).total_seconds() / 3600


# --- Assistance (art. 21.6) ----------------------------------------------------------------
def assistance_request_list(
    *, user: User | None = None, client: Client | None = None, status: str | None = None
) -> QuerySet[AssistanceRequest]:
    qs = _scope(
        AssistanceRequest.objects.select_related("client__provider", "requested_by"),
        user=user,
        client=client,
    )
    return qs.filter(status=status) if status else qs


def assistance_request_get(*, user: User, pk) -> AssistanceRequest:
    return _get(assistance_request_list(user=user), pk)


# --- The compliance officer's open items ----------------------------------------------------
def compliance_open_items(
    *, now: dt.datetime | None = None, provider: Provider | None = None
) -> list[dict]:
    """Every open item with its deadline, soonest first: audits counted in working days (art.
    21.7.2), breach notices in hours (art. 21.11), DSRs and assistance requests in days.

    Each item: kind, object, client, deadline, remaining (number), unit, overdue.
    """
    now = now or timezone.now()
    items: list[dict] = []

    def keep(qs, field="client__provider"):
        return qs.filter(**{field: provider}) if provider is not None else qs

    for audit in keep(
        AuditRequest.objects.filter(status__in=AUDIT_OPEN).select_related("client__provider")
    ):
        profile = audit.client.provider
        deadline = audit.earliest_start
        remaining = workdays.working_days_between(now, deadline, profile) if deadline else None
        items.append(
            {
                "kind": "audit",
                "object": audit,
                "client": audit.client,
                "deadline": deadline,
                "remaining": remaining,
                "unit": "working days",
                "overdue": False,
            }
        )
    for notice in keep(
        BreachNotification.objects.filter(notified_at=None).select_related(
            "breach__provider", "client"
        ),
        "breach__provider",
    ):
        hours = breach_notification_hours_left(notice, now)
        items.append(
            {
                "kind": "breach_notice",
                "object": notice,
                "client": notice.client,
                "deadline": notice.deadline,
                "remaining": math.floor(hours),
                "unit": "hours",
                "overdue": hours < 0,
            }
        )
    for dsr in keep(
        DataSubjectRequest.objects.filter(status__in=DSR_OPEN).select_related("client__provider")
    ):
        days = (dsr.due_at - now).days
        items.append(
            {
                "kind": "dsr",
                "object": dsr,
                "client": dsr.client,
                "deadline": dsr.due_at,
                "remaining": days,
                "unit": "days",
                "overdue": dsr.identity_check_since is None and dsr.due_at < now,
                "paused": dsr.identity_check_since is not None,
            }
        )
    for request in keep(
        AssistanceRequest.objects.filter(
            status__in=[AssistanceRequest.Status.OPEN, AssistanceRequest.Status.IN_PROGRESS]
        ).select_related("client__provider")
    ):
        items.append(
            {
                "kind": "assistance",
                "object": request,
                "client": request.client,
                "deadline": request.due_at,
                "remaining": (request.due_at - now).days if request.due_at else None,
                "unit": "days",
                "overdue": bool(request.due_at and request.due_at < now),
            }
        )
    for objection in keep(
        SubProcessorObjection.objects.filter(
            status=SubProcessorObjection.Status.OPEN
        ).select_related("client__provider", "change")
    ):
        deadline = objection.change.effective_at
        items.append(
            {
                "kind": "sub_processor_objection",
                "object": objection,
                "client": objection.client,
                "deadline": deadline,
                "remaining": (deadline - now).days,
                "unit": "days",
                "overdue": False,
            }
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda item: (item["deadline"] or far, item["kind"]))
    return items


# --- Records of processing (art. 21.8, 24) ---------------------------------------------------
RECORD_EXPORT_HEADER = ["section", "item", "detail"]


def processing_record_get(
    *, user: User | None = None, client: Client | None = None
) -> ProcessingRecord | None:
    qs = _scope(
        ProcessingRecord.objects.select_related("client__provider"), user=user, client=client
    )
    return qs.first()


def processing_record_export_rows(*, client: Client) -> list[list[str]]:
    """The rows of a client's record of processing (art. 21.8, 24), shared by the CSV and PDF exports:
    [section, item, detail], with the provider's current sub-processors, transfers and safeguards."""
    provider = client.provider
    record = ProcessingRecord.objects.filter(client=client).first()
    rows: list[list[str]] = [
        ["Controller", "Client", client.legal_name],
        ["Controller", "Country", client.country],
        ["Processor", "Provider", provider.legal_name],
        ["Processor", "Country", provider.country],
    ]
    if record is not None:
        rows += [
            ["Categories of data subjects (24.2)", "", record.subject_categories],
            ["Types of personal data (24.3)", "", record.data_types],
            ["Purposes of processing (24.4)", "", record.purposes],
            ["Transfers outside the EEA (21.10)", "", record.transfers],
            ["Retention (23)", "", record.retention],
            ["Technical and organisational measures (21.2)", "", record.toms_reference],
            [
                "Record",
                "Last updated",
                record.updated_at.astimezone(workdays.local_tz(provider)).isoformat(),
            ],
        ]
    for sp in sub_processors_current(provider=provider):
        transfer = (
            "inside the EEA"
            if sp.in_eea
            else f"outside the EEA; safeguard: {sp.get_safeguard_display()}"
        )
        rows.append(
            [
                "Sub-processor (21.9)",
                sp.name,
                f"{sp.get_kind_display()}; {sp.country}; {sp.services}; {transfer}; "
                f"written agreement {sp.agreement_date}; active from {sp.active_from}",
            ]
        )
    return [[str(cell or "") for cell in row] for row in rows]


def processing_record_csv(*, client: Client) -> str:
    """The record of processing as CSV text (art. 21.8); formula-like cells are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RECORD_EXPORT_HEADER)
    for row in processing_record_export_rows(client=client):
        # a leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection)
        writer.writerow(["'" + cell if cell[:1] in ("=", "+", "-", "@") else cell for cell in row])
    return out.getvalue()

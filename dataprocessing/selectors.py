"""Reads of data processing, scoped: every query of client-owned rows takes the user or the client,
so another client's objects never appear. A read of one object raises the domain `NotFound`
(a page or endpoint answers 404), exactly as for an id that does not exist."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, pgettext

from accounts import workdays
from accounts.kernel.csv_export import csv_text
from accounts.kernel.dates import local_date
from accounts.kernel.errors import NotFound
from accounts.models import Client, Provider, User
from accounts.selectors import clients_visible_to, provider_scoped, providers_visible_to, scoped

from .models import (
    DSR_DUE_SOON_DAYS,
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    DataSubjectRequest,
    MandatoryProcessing,
    ProcessingRecord,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
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


def _get(qs: QuerySet, **lookup):
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise NotFound
    return obj


def _provider_of(user: User) -> int | None:
    if user.client_id:
        return (
            Client.objects.filter(pk=user.client_id).values_list("provider_id", flat=True).first()
        )
    return None


def is_client_side(user: User, client_id: int) -> bool:
    """The user acts as the client's own admin (art. 5.2), not as the provider for it."""
    return user.is_client_admin and user.client_id == client_id


def files_for_clients(user: User) -> bool:
    """A client admin files requests for its own client (art. 5.2), a compliance officer for any
    client: audits, data-subject and assistance requests. The services check the client again."""
    return user.is_client_admin or user.is_compliance_officer


def providers(*, user: User) -> QuerySet[Provider]:
    """The providers whose registers the user may see (staff: those they serve)."""
    return providers_visible_to(user).order_by("code")


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


def sub_processor_list(*, user: User, provider_code: str | None = None) -> QuerySet[SubProcessor]:
    """Staff see the whole register of the providers they serve (or the one named by
    `provider_code`); a client's users their provider's current list."""
    if not user.is_authenticated:
        return SubProcessor.objects.none()
    if user.is_provider_staff:
        qs = provider_scoped(SubProcessor.objects.select_related("provider"), user=user)
        if provider_code:
            qs = qs.filter(provider__code=provider_code)
        return qs.order_by("provider__code", "name", "pk")
    provider_id = _provider_of(user)
    if provider_id is None:
        return SubProcessor.objects.none()
    return sub_processors_current(provider=Provider.objects.get(pk=provider_id)).select_related(
        "provider"
    )


def sub_processor_get(*, user: User, pk) -> SubProcessor:
    """A register entry the user may see; another provider's (or, for a client, one not yet
    current) is not found."""
    return _get(sub_processor_list(user=user), pk=pk)


def sub_processor_change_list(
    *, user: User, status: str | None = None
) -> QuerySet[SubProcessorChange]:
    """Announced changes: staff those of the providers they serve, a client's users those of
    their provider."""
    qs = provider_scoped(
        SubProcessorChange.objects.select_related("provider", "sub_processor", "replaces"),
        user=user,
    )
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
    return _get(sub_processor_change_list(user=user), pk=pk)


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


def sub_processor_objection_get(*, user: User, pk) -> SubProcessorObjection:
    return _get(sub_processor_objection_list(user=user), pk=pk)


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
    return _get(audit_request_list(user=user), pk=pk)


# The documents of an audit by their name in a URL (art. 21.7.3).
AUDIT_DOCUMENTS = {
    "confidentiality-declaration": "confidentiality_declaration",
    "report": "report",
}


def audit_document_get(*, user: User, pk, document: str):
    """An audit's uploaded document, for the parties only: the client's users and the
    provider's staff who may see the audit (art. 21.7.3); anyone else, or a document not
    uploaded, is not found."""
    if document not in AUDIT_DOCUMENTS:
        raise NotFound
    file = getattr(audit_request_get(user=user, pk=pk), AUDIT_DOCUMENTS[document])
    if not file:
        raise NotFound
    return file


def sub_processor_document_get(*, user: User, pk):
    """A sub-processor's written agreement (art. 21.9.2) is between the provider and its
    sub-processor: its staff download it; a client's user is not found, like any other user."""
    if not user.is_provider_staff:
        raise NotFound
    file = sub_processor_get(user=user, pk=pk).agreement_document
    if not file:
        raise NotFound
    return file


def audit_actions(*, user: User, audit: AuditRequest) -> dict[str, bool]:
    """Which steps of art. 21.7 the page offers this user now (the services check them again)."""
    own_admin = is_client_side(user, audit.client_id)
    compliance = user.is_compliance_officer
    either = own_admin or compliance
    not_started = audit.is_not_started
    return {
        "agree": audit.is_audit and not_started and either,
        "confidentiality": audit.is_audit and not_started and either,
        "start": audit.is_audit and audit.status == AuditRequest.Status.AGREED and compliance,
        "report": audit.status == AuditRequest.Status.IN_PROGRESS and either,
        "complete": compliance and audit.status == audit.completion_status,
        "refuse": compliance and not_started,
        "cancel": either and not_started,
        # art. 21.7.1: the requester's declaration, for a request logged without it
        "declare": (
            not audit.is_audit and not_started and either and not audit.requester_not_competitor
        ),
    }


# --- Data-subject requests (art. 21.5) ------------------------------------------------------
def dsr_list(
    *,
    user: User | None = None,
    client: Client | None = None,
    status: str | None = None,
    type: str | None = None,  # noqa: A002
    open_only: bool = False,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    days: int = DSR_DUE_SOON_DAYS,
    now: dt.datetime | None = None,
) -> QuerySet[DataSubjectRequest]:
    """Requests, soonest due first, each with `is_overdue` and `is_due_soon` as of `now` (GDPR
    12(3), `DataSubjectRequestQuerySet`); `overdue` and `due_soon` keep only those."""
    now = now or timezone.now()
    qs = _scope(
        DataSubjectRequest.objects.select_related("client__provider"), user=user, client=client
    ).with_deadline_flags(now, days)
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if open_only:
        qs = qs.open()
    if overdue:
        qs = qs.overdue(now)
    if due_soon:
        qs = qs.due_soon(now, days)
    return qs.order_by("due_at", "pk")


def dsr_get(*, user: User, pk) -> DataSubjectRequest:
    return _get(dsr_list(user=user), pk=pk)


def dsr_get_by_request_id(*, user: User, request_id) -> DataSubjectRequest:
    """The OpenDSR lookup by `request_id` (a UUID), scoped like every other read."""
    return _get(dsr_list(user=user), request_id=request_id)


def dsr_actions(*, user: User, dsr: DataSubjectRequest) -> dict[str, bool]:
    """Which steps of art. 21.5 and GDPR 12(3), 12(6) the page offers this user now (the
    services check them again)."""
    own_admin = is_client_side(user, dsr.client_id)
    compliance = user.is_compliance_officer
    either = own_admin or compliance
    return {
        "instruct": own_admin and dsr.status == DataSubjectRequest.Status.PENDING,
        "record_action": compliance
        and dsr.status == DataSubjectRequest.Status.IN_PROGRESS
        and not dsr.is_paused,
        "extend": compliance and dsr.is_open and not dsr.extended,
        "pause": either and dsr.is_open and not dsr.is_paused,
        "resume": either and dsr.is_open and dsr.is_paused,
        "cancel": either and dsr.is_open,
    }


def days_left(deadline: dt.datetime, now: dt.datetime) -> int:
    """Whole days to a deadline (negative once passed), as the queues show them."""
    return (deadline - now).days


# --- Breaches (art. 21.11) ------------------------------------------------------------------
def breach_list(*, user: User) -> QuerySet[Breach]:
    """Staff see the breaches of the providers they serve; a client's users only breaches they
    were notified of.

    A client must not learn which other clients a breach affected: show it
    `breach_notification_list`, never `breach.notifications`."""
    if not user.is_authenticated:
        return Breach.objects.none()
    if user.is_provider_staff:
        return provider_scoped(Breach.objects.select_related("provider", "logged_by"), user=user)
    if not user.client_id:
        return Breach.objects.none()
    return Breach.objects.filter(
        notifications__client_id=user.client_id, notifications__notified_at__isnull=False
    ).distinct()


def breach_get(*, user: User, pk) -> Breach:
    return _get(breach_list(user=user), pk=pk)


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


def breach_notification_get(*, user: User, **lookup) -> BreachNotification:
    """One notice the user may see, by id or by breach and client."""
    return _get(breach_notification_list(user=user), **lookup)


# The countdown's wording, shared with the page's script that ticks it (static/js/countdown.js).
COUNTDOWN_TIME = gettext_noop("%(hours)s h %(minutes)02d min")
COUNTDOWN_LEFT = gettext_noop("%(time)s left")
COUNTDOWN_OVERDUE = gettext_noop("overdue by %(time)s")


def breach_notice_countdown(
    notification: BreachNotification, now: dt.datetime | None = None
) -> dict | None:
    """The time left to a client's 48-hour notice deadline as the pages show it (art. 21.11):
    "31 h 05 min left" or "overdue by …"; None once the client is notified."""
    left = notification.seconds_left(now)
    if left is None:
        return None
    seconds = int(left)
    hours, minutes = divmod(abs(seconds) // 60, 60)
    time = _(COUNTDOWN_TIME) % {"hours": hours, "minutes": minutes}
    text = _(COUNTDOWN_LEFT) if seconds >= 0 else _(COUNTDOWN_OVERDUE)
    return {
        "seconds": seconds,
        "hours": seconds / 3600,
        "text": text % {"time": time},
        "overdue": seconds < 0,
        "deadline": notification.deadline,
        # the wording, for the page's script that ticks it
        "wording": {
            "time": _(COUNTDOWN_TIME),
            "left": _(COUNTDOWN_LEFT),
            "overdue": _(COUNTDOWN_OVERDUE),
        },
    }


def breach_next_countdown(breach: Breach, now: dt.datetime | None = None) -> dict | None:
    """The countdown of the breach's notice due first and not yet sent (notifications prefetched)."""
    pending = [n for n in breach.notifications.all() if n.notified_at is None]
    if not pending:
        return None
    return breach_notice_countdown(min(pending, key=lambda n: n.deadline), now)


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
    return _get(assistance_request_list(user=user), pk=pk)


# --- The compliance officer's open items ----------------------------------------------------
def _item(kind, obj, client, deadline, remaining, unit, overdue=False, **extra) -> dict:
    return {
        "kind": kind,
        "object": obj,
        "client": client,
        "deadline": deadline,
        "remaining": remaining,
        "unit": unit,
        "overdue": overdue,
        "due_soon": False,
        **extra,
    }


def _audit_items(keep, now):
    audits = list(
        keep(
            AuditRequest.objects.filter(status__in=AuditRequest.OPEN_STATUSES).select_related(
                "client__provider"
            )
        )
    )
    # the calendar corrections of each provider over the whole window, in one query each
    # (not one per audit: the dashboard's query count does not grow with the audits)
    window: dict[int, tuple[Provider, dt.date, dt.date]] = {}
    for audit in audits:
        if audit.earliest_start:
            provider = audit.client.provider
            days = sorted([now.date(), audit.earliest_start.date()])
            seen = window.get(provider.pk)
            first, last = days[0] - dt.timedelta(days=1), days[1] + dt.timedelta(days=1)
            if seen:
                first, last = min(first, seen[1]), max(last, seen[2])
            window[provider.pk] = (provider, first, last)
    overrides = {
        pk: workdays.overrides_between(provider, first, last)
        for pk, (provider, first, last) in window.items()
    }
    for audit in audits:
        deadline = audit.earliest_start
        remaining = (
            workdays.working_days_between(
                now,
                deadline,
                audit.client.provider,
                overrides=overrides[audit.client.provider_id],
            )
            if deadline
            else None
        )
        yield _item("audit", audit, audit.client, deadline, remaining, "working days")


def _breach_notice_items(keep, now):
    notices = BreachNotification.objects.filter(notified_at=None).select_related(
        "breach__provider", "client__provider"
    )
    for notice in keep(notices, "breach__provider"):
        hours = notice.seconds_left(now) / 3600
        yield _item(
            "breach_notice",
            notice,
            notice.client,
            notice.deadline,
            math.floor(hours),
            "hours",
            overdue=hours < 0,
            countdown=breach_notice_countdown(notice, now),
        )


def _dsr_items(keep, now):
    dsrs = DataSubjectRequest.objects.open().with_deadline_flags(now)
    for dsr in keep(dsrs.select_related("client__provider")):
        item = _item(
            "dsr",
            dsr,
            dsr.client,
            dsr.due_at,
            days_left(dsr.due_at, now),
            "days",
            overdue=dsr.is_overdue,
            paused=dsr.is_paused,
        )
        item["due_soon"] = dsr.is_due_soon
        yield item


def _assistance_items(keep, now):
    requests = AssistanceRequest.objects.filter(status__in=AssistanceRequest.OPEN_STATUSES)
    for request in keep(requests.select_related("client__provider")):
        due = request.due_at
        yield _item(
            "assistance",
            request,
            request.client,
            due,
            days_left(due, now) if due else None,
            "days",
            overdue=bool(due and due < now),
        )


def _objection_items(keep, now):
    objections = SubProcessorObjection.objects.filter(status=SubProcessorObjection.Status.OPEN)
    for objection in keep(objections.select_related("client__provider", "change")):
        deadline = objection.change.effective_at
        yield _item(
            "sub_processor_objection",
            objection,
            objection.client,
            deadline,
            days_left(deadline, now),
            "days",
        )


def compliance_open_items(
    *, user: User, now: dt.datetime | None = None, provider: Provider | None = None
) -> list[dict]:
    """Every open item with its deadline, soonest first: audits counted in working days (art.
    21.7.2), breach notices in hours (art. 21.11), DSRs and assistance requests in days.

    Each item: kind, object, client, deadline, remaining (number), unit, overdue, due_soon
    (DSRs), paused (DSRs), countdown (breach notices).
    """
    now = now or timezone.now()

    def keep(qs, field="client__provider"):
        qs = provider_scoped(qs, user=user, provider_field=field)
        return qs.filter(**{field: provider}) if provider is not None else qs

    items = [
        *_audit_items(keep, now),
        *_breach_notice_items(keep, now),
        *_dsr_items(keep, now),
        *_assistance_items(keep, now),
        *_objection_items(keep, now),
    ]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda item: (item["deadline"] or far, item["kind"]))
    return items


# --- Records of processing (art. 21.8, 24) ---------------------------------------------------
# The CSV header, in the language of whoever exports it.
RECORD_EXPORT_HEADER = [gettext_lazy("section"), gettext_lazy("item"), gettext_lazy("detail")]


def processing_record_list(
    *, user: User | None = None, client: Client | None = None
) -> QuerySet[ProcessingRecord]:
    return _scope(
        ProcessingRecord.objects.select_related("client__provider"), user=user, client=client
    )


def processing_record_get(*, user: User, pk) -> ProcessingRecord:
    return _get(processing_record_list(user=user), pk=pk)


def processing_record_of(*, user: User, client: Client) -> ProcessingRecord | None:
    """The client's record, or None while it has none (one per client, art. 21.8)."""
    return processing_record_list(user=user, client=client).first()


def processing_record_clients(*, user: User, q: str = "") -> QuerySet[Client]:
    """The clients whose records the user may see (staff: every client not deleted), each with
    its record, by name."""
    clients = (
        clients_visible_to(user)
        .exclude(status=Client.Status.DELETED)
        .select_related("provider", "processing_record")
    )
    if q:
        clients = clients.filter(legal_name__icontains=q)
    return clients.order_by("legal_name", "pk")


def _record_rows(record: ProcessingRecord, provider: Provider) -> list[list[str]]:
    updated = record.updated_at.astimezone(workdays.local_tz(provider)).isoformat()
    return [
        [_("Categories of data subjects (24.2)"), "", record.subject_categories],
        [_("Types of personal data (24.3)"), "", record.data_types],
        [_("Purposes of processing (24.4)"), "", record.purposes],
        [_("Transfers outside the EEA (21.10)"), "", record.transfers],
        [_("Retention (23)"), "", record.retention],
        [_("Technical and organisational measures (21.2)"), "", record.toms_reference],
        [pgettext("record of processing", "Record"), _("Last updated"), updated],
    ]


def processing_record_export_rows(*, client: Client) -> list[list[str]]:
    """The rows of a client's record of processing (art. 21.8, 24), shared by the CSV and PDF
    exports: [section, item, detail], with the provider's current sub-processors, transfers and
    safeguards."""
    provider = client.provider
    record = processing_record_list(client=client).first()
    rows: list[list[str]] = [
        [_("Controller"), _("Client"), client.legal_name],
        [_("Controller"), _("Country"), client.country],
        [_("Processor"), _("Provider"), provider.legal_name],
        [_("Processor"), _("Country"), provider.country],
    ]
    if record is not None:
        rows += _record_rows(record, provider)
    for sp in sub_processors_current(provider=provider):
        transfer = (
            _("inside the EEA")
            if sp.in_eea
            else _("outside the EEA; safeguard: %(safeguard)s")
            % {"safeguard": sp.get_safeguard_display()}
        )
        rows.append(
            [
                _("Sub-processor (21.9)"),
                sp.name,
                _(
                    "%(kind)s; %(country)s; %(services)s; %(transfer)s; written agreement "
                    "%(agreement_date)s; active from %(active_from)s"
                )
                % {
                    "kind": sp.get_kind_display(),
                    "country": sp.country,
                    "services": sp.services,
                    "transfer": transfer,
                    "agreement_date": sp.agreement_date,
                    "active_from": sp.active_from,
                },
            ]
        )
    return [[str(cell or "") for cell in row] for row in rows]


def processing_record_csv(*, client: Client) -> str:
    """The record of processing as CSV text (art. 21.8), through the kernel's one CSV writer:
    formula-like cells are neutralised."""
    return csv_text(
        [str(h) for h in RECORD_EXPORT_HEADER], processing_record_export_rows(client=client)
    )


def dsr_callbacks_failing() -> dict[str, int]:
    """Operations (the `/metrics` gauge): DSR status callbacks tried and not delivered, those the
    retry job still retries and those it gave up on (superseded ones, dropped on purpose because
    a later status was delivered, are not failures)."""
    from .models import DsrCallback
    from .services.dsrs import DSR_CALLBACK_MAX_ATTEMPTS, SUPERSEDED_ERROR

    failing = DsrCallback.objects.filter(delivered=False, attempts__gt=0)
    return {
        "retrying": failing.filter(attempts__lt=DSR_CALLBACK_MAX_ATTEMPTS).count(),
        "abandoned": failing.filter(attempts__gte=DSR_CALLBACK_MAX_ATTEMPTS)
        .exclude(error=SUPERSEDED_ERROR)
        .count(),
    }


def mandatory_processing_list(*, user: User) -> QuerySet[MandatoryProcessing]:
    """Processing under mandatory law (art. 21.1.2), newest first: staff see their providers'
    clients'; a client sees only what it was informed of, never a record the law kept from it."""
    qs = _scope(
        MandatoryProcessing.objects.select_related("client__provider", "logged_by"),
        user=user,
        client=None,
    )
    if not user.is_provider_staff:
        qs = qs.filter(informing_prohibited=False)
    return qs.order_by("-logged_at", "-id")


def mandatory_processing_get(*, user: User, pk) -> MandatoryProcessing:
    return _get(mandatory_processing_list(user=user), pk=pk)

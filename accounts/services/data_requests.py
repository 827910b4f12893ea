"""Data requests: what the client answers in the portal by a deadline.

- art. 5.6: an operator or authority asks for a client's registration data; the client
  provides it within 3 working days.
- art. 5.4, 20.1.2: the provider asks for the records of end users' consent or proof of lawful
  basis; the client provides them by the deadline the request sets, in working days.
- art. 5.7 (CXENGAGE: "support audits and share required compliance data upon request"): the
  provider audits the client's compliance with Applicable Law: the notice gives the scope and
  the documents asked and a deadline; the client answers with documents; staff close it with
  their findings.

Staff, and for the provider's own requests the client too, are told once of each one overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import optional_text
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.kernel.uploads import document_check
from accounts.models import Client, DataRequest, DataRequestDocument, User

# The provider's own requests (art. 5.4, 5.7, 20.1.2), answered by the deadline they set.
PROVIDER_KINDS = (DataRequest.Kind.CONSENT_RECORDS, DataRequest.Kind.COMPLIANCE_AUDIT)
# "upon reasonable written notice" (art. 20.1.2): the request sets the working days, within these.
MIN_RESPONSE_WORKING_DAYS = 1
MAX_RESPONSE_WORKING_DAYS = 60
# Documents one answer may carry.
MAX_DOCUMENTS = 10
ARTICLES: dict[str, str] = {
    DataRequest.Kind.REGISTRATION_DATA: "5.6",
    DataRequest.Kind.CONSENT_RECORDS: "5.4",
    DataRequest.Kind.COMPLIANCE_AUDIT: "5.7",
}


def data_request_due(client: Client, logged_at: dt.datetime) -> dt.datetime:
    """The client provides the data within the profile's working days (3) of the request (art. 5.6)."""
    provider = client.provider
    return workdays.add_working_days(logged_at, provider.registration_data_working_days, provider)


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
    roles.require_staff(acting_user)
    errors = {}
    if not (requested_by or "").strip():
        errors["requested_by"] = [
            gettext("Name the operator or authority asking for the data (art. 5.6).")
        ]
    if not (description or "").strip():
        errors["description"] = [gettext("Describe the data requested (art. 5.6).")]
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
        due_at=data_request_due(client, now),
    )
    with_history_user(request, acting_user).save()
    notify(
        key=f"data-request:{request.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject=(
            lambda: (
                ngettext(
                    "Registration data requested (answer within %(days)s working day)",
                    "Registration data requested (answer within %(days)s working days)",
                    provider.registration_data_working_days,
                )
                % {"days": provider.registration_data_working_days}
            )
        ),
        body=(
            lambda: (
                gettext("%(who)s asks for: %(what)s\nDue: %(due)s")
                % {
                    "who": request.requested_by,
                    "what": request.description,
                    "due": f"{request.due_at:%Y-%m-%d %H:%M %Z}",
                }
            )
        ),
    )
    return request


def provider_request_due(client: Client, logged_at: dt.datetime, working_days: int) -> dt.datetime:
    """The deadline a provider's request sets: `working_days` working days of the provider's
    calendar after it is sent (art. 20.1.2: "upon reasonable written notice"; art. 5.4, 5.7)."""
    provider = client.provider
    return workdays.add_working_days(logged_at, working_days, provider)


def _working_days_error(working_days: Any) -> str | None:
    try:
        days = int(working_days)
    except (TypeError, ValueError):
        days = 0
    if MIN_RESPONSE_WORKING_DAYS <= days <= MAX_RESPONSE_WORKING_DAYS:
        return None
    return gettext(
        "Give the client between %(low)s and %(high)s working days to answer (reasonable "
        "written notice, art. 20.1.2)."
    ) % {"low": MIN_RESPONSE_WORKING_DAYS, "high": MAX_RESPONSE_WORKING_DAYS}


@transaction.atomic
def provider_request_send(
    *,
    client: Client,
    acting_user: User,
    kind: str,
    description: str,
    working_days: int,
    scope: str = "",
    documents_requested: str = "",
    now: dt.datetime | None = None,
) -> DataRequest:
    """The provider asks the client, in writing, for compliance data it must provide on request.

    - `consent_records`: "The Client will maintain up to date records of end user consent or
      proof of lawful basis and provide these to CM upon request" (art. 5.4); "Upon reasonable
      written notice, Client shall provide information as requested" (art. 20.1.2).
    - `compliance_audit`: "Client shall cooperate with any audit which investigates whether the
      Client is acting in accordance with Applicable Law" (art. 5.7); the notice states the
      scope and the documents asked.

    The request sets the deadline: `working_days` (1 to 60) working days of the provider's
    calendar after it is sent (`now`, by default the current time); the client's admins are
    told. Only the provider's staff send it, for a client of a provider they serve.
    """
    roles.require_staff(acting_user)
    roles.require_serves_provider(acting_user, client.provider, field="client")
    errors: dict[str, list[str]] = {}
    if kind not in PROVIDER_KINDS:
        errors["kind"] = [
            gettext("Kind must be one of %(kinds)s.") % {"kinds": ", ".join(PROVIDER_KINDS)}
        ]
    description, scope = optional_text(description), optional_text(scope)
    documents_requested = optional_text(documents_requested)
    if not description:
        errors["description"] = [
            gettext("Describe what the client is asked to provide (art. 5.4, 5.7, 20.1.2).")
        ]
    if kind == DataRequest.Kind.COMPLIANCE_AUDIT:
        if not scope:
            errors["scope"] = [gettext("State the scope of the compliance audit (art. 5.7).")]
        if not documents_requested:
            errors["documents_requested"] = [
                gettext("List the documents the client is asked for (art. 5.7).")
            ]
    days_error = _working_days_error(working_days)
    if days_error:
        errors["working_days"] = [days_error]
    if errors:
        raise ValidationFailed(errors, article=ARTICLES.get(kind, "20.1.2"))
    now = now or timezone.now()
    client = Client.objects.select_related("provider").get(pk=client.pk)
    provider = client.provider
    request = DataRequest(
        client=client,
        kind=kind,
        requested_by=provider.name,
        description=description,
        scope=scope,
        documents_requested=documents_requested,
        response_working_days=int(working_days),
        logged_by=acting_user,
        logged_at=now,
        due_at=provider_request_due(client, now, int(working_days)),
    )
    with_history_user(request, acting_user).save()
    notify(
        key=f"provider-request:{request.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject=lambda: (
            ngettext(
                "%(kind)s: answer within %(days)s working day",
                "%(kind)s: answer within %(days)s working days",
                int(working_days),
            )
            % {"kind": request.get_kind_display(), "days": int(working_days)}
        ),
        body=lambda: (
            gettext("%(provider)s asks (art. %(article)s): %(description)s")
            % {
                "provider": provider.name,
                "article": ARTICLES[kind],
                "description": request.description,
            }
            + "\n"
            + (
                gettext("Scope: %(scope)s") % {"scope": request.scope} + "\n"
                if request.scope
                else ""
            )
            + (
                gettext("Documents: %(documents)s") % {"documents": request.documents_requested}
                + "\n"
                if request.documents_requested
                else ""
            )
            + gettext("Due: %(due)s. Answer in the portal.")
            % {"due": f"{request.due_at:%Y-%m-%d %H:%M %Z}"}
        ),
    )
    return request


@transaction.atomic
def data_request_answer(
    *,
    data_request: DataRequest,
    acting_user: User,
    answer: str,
    documents: Iterable[File[bytes]] = (),
) -> DataRequest:
    """The client answers a data request in the portal (art. 5.6), or the provider's request
    for consent records or its compliance audit with the documents asked (art. 5.4, 5.7,
    20.1.2; PDF, PNG or JPEG, checked by content). An answer after the deadline is still
    taken, and stays flagged as late."""
    roles.require_client_admin(acting_user, data_request.client, staff_may=True)
    errors: dict[str, list[str]] = {}
    if not (answer or "").strip():
        errors["answer"] = [gettext("The answer cannot be empty.")]
    documents = [d for d in documents or () if d]
    if documents and data_request.kind not in PROVIDER_KINDS:
        errors["documents"] = [
            gettext("Registration data is answered in text (art. 5.6); attach no documents.")
        ]
    elif len(documents) > MAX_DOCUMENTS:
        errors["documents"] = [
            gettext("At most %(n)s documents per answer.") % {"n": MAX_DOCUMENTS}
        ]
    if errors:
        raise ValidationFailed(errors)
    for document in documents:
        document_check(document, field="documents", what=gettext("The document"))
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.status != DataRequest.Status.OPEN:
        raise ApplicationError(
            gettext("This data request has already been answered."), field="status"
        )
    now = timezone.now()
    data_request.answer = answer.strip()
    data_request.answered_by = acting_user
    data_request.answered_at = now
    data_request.status = DataRequest.Status.ANSWERED
    with_history_user(data_request, acting_user).save()
    for document in documents:
        with_history_user(
            DataRequestDocument(
                data_request=data_request, file=document, uploaded_by=acting_user, uploaded_at=now
            ),
            acting_user,
        ).save()
    if data_request.kind in PROVIDER_KINDS:
        notify(
            key=f"provider-request-answered:{data_request.pk}",
            client=data_request.client,
            recipients=staff_emails(provider=data_request.client.provider_id),
            subject=lambda: (
                gettext("%(kind)s answered: %(client)s")
                % {
                    "kind": data_request.get_kind_display(),
                    "client": data_request.client.legal_name,
                }
            ),
            body=lambda: (
                (
                    gettext("Answered %(at)s (after the deadline) with %(count)s document(s).")
                    if now > data_request.due_at
                    else gettext("Answered %(at)s with %(count)s document(s).")
                )
                % {"at": f"{now:%Y-%m-%d %H:%M %Z}", "count": len(documents)}
            ),
        )
    return data_request


@transaction.atomic
def data_request_close(
    *, data_request: DataRequest, acting_user: User, findings: str
) -> DataRequest:
    """Staff close the provider's answered request with their findings (art. 5.4, 5.7): what
    the records or the audit showed. The client's admins are told."""
    roles.require_staff(acting_user)
    findings = optional_text(findings)
    if not findings:
        raise ValidationFailed(
            {"findings": [gettext("Record the findings before closing (art. 5.4, 5.7).")]}
        )
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.kind not in PROVIDER_KINDS:
        raise ApplicationError(
            gettext("A registration data request ends with the client's answer (art. 5.6)."),
            field="kind",
        )
    if data_request.status != DataRequest.Status.ANSWERED:
        raise ApplicationError(gettext("Only an answered request can be closed."), field="status")
    data_request.status = DataRequest.Status.CLOSED
    data_request.findings = findings
    data_request.closed_by = acting_user
    data_request.closed_at = timezone.now()
    with_history_user(data_request, acting_user).save()
    notify(
        key=f"provider-request-closed:{data_request.pk}",
        client=data_request.client,
        recipients=client_admin_emails(data_request.client),
        subject=lambda: gettext("%(kind)s closed") % {"kind": data_request.get_kind_display()},
        body=lambda: gettext("Findings: %(findings)s") % {"findings": data_request.findings},
    )
    return data_request


def _overdue_subject(request: DataRequest) -> str:
    return gettext("Overdue: %(kind)s") % {"kind": request.get_kind_display()}


def _overdue_body(request: DataRequest) -> str:
    return gettext(
        "%(who)s asked on %(asked)s; the answer was due %(due)s (art. %(article)s). Answer in "
        "the portal."
    ) % {
        "who": request.requested_by,
        "asked": f"{request.logged_at:%Y-%m-%d}",
        "due": f"{request.due_at:%Y-%m-%d %H:%M %Z}",
        "article": ARTICLES[request.kind],
    }


def data_requests_flag_overdue(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Flag open data requests past their deadline to staff, once each: 3 working days for
    registration data (art. 5.6), the request's own for consent records and compliance audits
    (art. 5.4, 5.7, 20.1.2), whose clients are told as well."""
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataRequest.objects.select_for_update(skip_locked=True)
                .filter(DataRequest.overdue_q(now), overdue_flagged_at=None)
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
                    recipients=staff_emails(provider=request.client.provider_id),
                    subject=lambda: (
                        gettext("Overdue data request: %(client)s")
                        % {"client": request.client.legal_name}
                    ),
                    body=(
                        lambda: (
                            gettext("%(who)s asked on %(asked)s; due %(due)s.")
                            % {
                                "who": request.requested_by,
                                "asked": f"{request.logged_at:%Y-%m-%d}",
                                "due": f"{request.due_at:%Y-%m-%d %H:%M %Z}",
                            }
                        )
                    ),
                )
                if request.kind in PROVIDER_KINDS:
                    # the provider's own request: the client is reminded it is overdue too
                    notify(
                        key=f"provider-request-overdue-client:{request.pk}",
                        client=request.client,
                        recipients=client_admin_emails(request.client),
                        # bound to this request, not the loop variable
                        subject=partial(_overdue_subject, request),
                        body=partial(_overdue_body, request),
                    )
            flagged += len(batch)

"""Data requests (art. 5.6): an operator or authority asks for a client's registration data; the
client provides it within 3 working days, and staff are told once of each request overdue.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.models import Client, DataRequest, User


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


@transaction.atomic
def data_request_answer(
    *, data_request: DataRequest, acting_user: User, answer: str
) -> DataRequest:
    """The client answers a data request in the portal (art. 5.6)."""
    roles.require_client_admin(acting_user, data_request.client, staff_may=True)
    if not (answer or "").strip():
        raise ValidationFailed({"answer": [gettext("The answer cannot be empty.")]})
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.status != DataRequest.Status.OPEN:
        raise ApplicationError(
            gettext("This data request has already been answered."), field="status"
        )
    data_request.answer = answer.strip()
    data_request.answered_by = acting_user
    data_request.answered_at = timezone.now()
    data_request.status = DataRequest.Status.ANSWERED
    with_history_user(data_request, acting_user).save()
    return data_request


def data_requests_flag_overdue(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Flag open data requests past their 3-working-day deadline to staff, once each (art. 5.6)."""
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
            flagged += len(batch)

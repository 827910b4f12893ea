"""Change requests in writing: of the registration details (art. 5.5), which a client admin
passes on and billing staff accept (the new values apply) or reject, and of the service itself
(art. 5.3: "Any change to the Service is to be requested in writing"), which staff agree, with
the date it applies from, or refuse. The history records who asked and decided what, and when.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel import roles
from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import optional_text
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.models import ChangeRequest, Client, Director, User

from .onboarding import COMPANY_FIELDS, company_details_validate, registered_once_per_entity


def _current_details(client: Client) -> dict[str, Any]:
    details = {field: getattr(client, field) for field in COMPANY_FIELDS}
    details["directors"] = [{"name": d.name, "title": d.title} for d in client.directors.all()]
    return details


@transaction.atomic
def change_request_submit(
    *, client: Client, acting_user: User, changes: dict[str, Any]
) -> ChangeRequest:
    """A client admin passes changes of its registration details on in writing (art. 5.5)."""
    roles.require_client_admin(acting_user, client, staff_may=True)
    unknown = set(changes) - set(COMPANY_FIELDS) - {"directors"}
    if unknown:
        raise ValidationFailed(
            {sorted(unknown)[0]: [gettext("This field cannot be changed by a change request.")]}
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
        raise ValidationFailed(
            gettext("The request changes nothing: every value is the same as now.")
        )
    request = ChangeRequest(client=client, changes=diff, submitted_by=acting_user)
    with_history_user(request, acting_user).save()
    notify(
        key=f"change-request:{request.pk}",
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        subject=lambda: (
            gettext("Change of registration details: %(client)s") % {"client": client.legal_name}
        ),
        body=lambda: gettext("Fields: %(fields)s") % {"fields": ", ".join(sorted(diff))},
    )
    return request


@transaction.atomic
def service_change_request_submit(
    *,
    client: Client,
    acting_user: User,
    service: str,
    description: str,
    wanted_from: dt.date | None = None,
) -> ChangeRequest:
    """A client admin requests a change to the service in writing (art. 5.3: "Client shall only
    use the Services for its intended and normal purpose and/or purposes as agreed ... Any
    change to the Service is to be requested in writing").

    It names the service, describes the change, and may say from when it is wanted (not in
    the past, provider's calendar day). Billing staff of the provider are told.
    """
    roles.require_client_admin(acting_user, client, staff_may=True)
    errors: dict[str, list[str]] = {}
    if service not in ChangeRequest.Service.values:
        errors["service"] = [
            gettext("Service must be one of %(services)s (art. 5.3).")
            % {"services": ", ".join(ChangeRequest.Service.values)}
        ]
    description = optional_text(description)
    if not description:
        errors["description"] = [gettext("Describe the change to the service (art. 5.3).")]
    if wanted_from is not None and wanted_from < local_date(client.provider):
        errors["wanted_from"] = [
            gettext("The date the change is wanted from cannot be in the past.")
        ]
    if errors:
        raise ValidationFailed(errors, article="5.3")
    request = ChangeRequest(
        client=client,
        kind=ChangeRequest.Kind.SERVICE,
        changes={},
        service=service,
        description=description,
        wanted_from=wanted_from,
        submitted_by=acting_user,
    )
    with_history_user(request, acting_user).save()
    notify(
        key=f"change-request:{request.pk}",
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        provider=client.provider,
        subject=lambda: (
            gettext("Change to the service requested: %(client)s") % {"client": client.legal_name}
        ),
        body=lambda: (
            f"{request.get_service_display()}: {request.description}"
            + (
                "\n" + gettext("Wanted from %(date)s") % {"date": request.wanted_from}
                if request.wanted_from
                else ""
            )
            + "\n(art. 5.3)"
        ),
    )
    return request


def _locked_pending(change_request: ChangeRequest) -> ChangeRequest:
    """The change request, locked; it is decided once."""
    change_request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if change_request.status != ChangeRequest.Status.PENDING:
        raise ApplicationError(
            gettext("This change request has already been decided."), field="status"
        )
    return change_request


def _decide(change_request: ChangeRequest, status: str, acting_user: User, note: str) -> None:
    change_request.status = status
    change_request.decided_by = acting_user
    change_request.decided_at = timezone.now()
    change_request.decision_note = note
    with_history_user(change_request, acting_user).save()


@transaction.atomic
def service_change_request_accept(
    *,
    change_request: ChangeRequest,
    acting_user: User,
    note: str,
    agreed_from: dt.date | None = None,
) -> ChangeRequest:
    """Staff agree a change to the service requested in writing (art. 5.3), saying what is agreed
    (`note`, required) and from when (`agreed_from`, by default the date wanted, else today in
    the provider's calendar). The client's admins are told in writing."""
    roles.require_billing_staff(acting_user)
    errors: dict[str, list[str]] = {}
    note = optional_text(note)
    if not note:
        errors["note"] = [gettext("Say what is agreed for the service (art. 5.3).")]
    change_request = _locked_pending(change_request)
    if change_request.kind != ChangeRequest.Kind.SERVICE:
        raise ApplicationError(
            gettext("This is a change of registration details (art. 5.5), not of the service."),
            field="kind",
        )
    provider = change_request.client.provider
    agreed_from = agreed_from or change_request.wanted_from or local_date(provider)
    if agreed_from < local_date(provider):
        errors["agreed_from"] = [gettext("The agreed date cannot be in the past.")]
    if errors:
        raise ValidationFailed(errors, article="5.3")
    change_request.agreed_from = agreed_from
    _decide(change_request, ChangeRequest.Status.ACCEPTED, acting_user, note)
    notify(
        key=f"change-request-decided:{change_request.pk}",
        client=change_request.client,
        recipients=client_admin_emails(change_request.client),
        subject=lambda: gettext("Your change to the service was agreed"),
        body=lambda: f"{note}\n" + gettext("From %(date)s (art. 5.3).") % {"date": agreed_from},
    )
    return change_request


@transaction.atomic
def change_request_accept(
    *,
    change_request: ChangeRequest,
    acting_user: User,
    note: str = "",
    agreed_from: dt.date | None = None,
) -> Client | ChangeRequest:
    """Staff accept a change request; the new values apply and the history records who and when (art. 5.5).

    A change to the service (art. 5.3) is agreed by `service_change_request_accept`, with its
    note and `agreed_from`."""
    roles.require_billing_staff(acting_user)
    if change_request.kind == ChangeRequest.Kind.SERVICE:
        return service_change_request_accept(
            change_request=change_request,
            acting_user=acting_user,
            note=note,
            agreed_from=agreed_from,
        )
    change_request = _locked_pending(change_request)
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
    with registered_once_per_entity():
        with_history_user(client, acting_user).save()
    if "directors" in new_values:
        for director in client.directors.all():
            with_history_user(director, acting_user).delete()
        for d in cleaned["directors"]:
            with_history_user(Director(client=client, **d), acting_user).save()
    _decide(change_request, ChangeRequest.Status.ACCEPTED, acting_user, note)
    notify(
        key=f"change-request-decided:{change_request.pk}",
        client=client,
        recipients=client_admin_emails(client),
        subject=lambda: gettext("Your change of registration details was accepted"),
        body=lambda: gettext("Applied: %(fields)s") % {"fields": ", ".join(sorted(new_values))},
    )
    return client


@transaction.atomic
def change_request_reject(
    *, change_request: ChangeRequest, acting_user: User, note: str
) -> ChangeRequest:
    """Staff reject a change request with a reason; the registration details stay as they are."""
    roles.require_billing_staff(acting_user)
    if not (note or "").strip():
        raise ValidationFailed({"note": [gettext("Give a reason for the rejection.")]})
    change_request = _locked_pending(change_request)
    _decide(change_request, ChangeRequest.Status.REJECTED, acting_user, note.strip())
    notify(
        key=f"change-request-decided:{change_request.pk}",
        client=change_request.client,
        recipients=client_admin_emails(change_request.client),
        subject=lambda: (
            gettext("Your change to the service was not agreed")
            if change_request.kind == ChangeRequest.Kind.SERVICE
            else gettext("Your change of registration details was not accepted")
        ),
        body=note.strip(),
    )
    return change_request

"""Assistance with the client's compliance (art. 21.6): data-protection impact assessments and
prior consultations, tracked to their outcome and cost."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import optional_text
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.kernel.signals import client_cost_incurred
from accounts.models import Client, User
from dataprocessing.models import AssistanceRequest
from dataprocessing.selectors import is_client_side

from ._common import (
    compliance_emails,
    money,
    require_client_admin_or_compliance,
    require_compliance,
)

# From each open status, where a request may go.
ASSISTANCE_TRANSITIONS: dict[str, set[str]] = {
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
    """Log a request for help with a data-protection impact assessment or a prior consultation
    (art. 21.6)."""
    require_client_admin_or_compliance(acting_user, client)
    errors: dict[str, list[str]] = {}
    if kind not in AssistanceRequest.Kind.values:
        errors["kind"] = [
            gettext("Kind must be one of %(choices)s (art. 21.6).")
            % {"choices": ", ".join(AssistanceRequest.Kind.values)}
        ]
    if not optional_text(description):
        errors["description"] = [gettext("Describe the assistance needed (art. 21.6).")]
    if due_at is not None and due_at < timezone.now():
        errors["due_at"] = [gettext("The due date cannot be in the past.")]
    if errors:
        raise ValidationFailed(errors, article="21.6")
    request = AssistanceRequest(
        client=client,
        kind=kind,
        description=optional_text(description),
        requested_by=acting_user,
        due_at=due_at,
        assistance_cost_currency=client.provider.currency,
    )
    save_with_history(request, acting_user)
    notify(
        key=f"assistance-requested:{request.pk}",
        client=client,
        recipients=compliance_emails(provider=client.provider_id)
        if is_client_side(acting_user, client.pk)
        else client_admin_emails(client),
        subject=lambda: (
            gettext("Assistance request (%(kind)s): %(client)s")
            % {"kind": request.get_kind_display(), "client": client.legal_name}
        ),
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
    cost: object = None,
) -> AssistanceRequest:
    """Track an assistance request: its status, outcome and cost, charged to the client in the
    provider's currency (art. 21.6, 21.5.2). On completion a cost above zero is sent as
    `client_cost_incurred`, which billing recharges (portal/recharges.py)."""
    require_compliance(acting_user)
    request = (
        AssistanceRequest.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=assistance_request.pk)
    )
    if request.status not in AssistanceRequest.OPEN_STATUSES:
        raise ApplicationError(
            gettext("This request is already %(status)s.")
            % {"status": request.get_status_display().lower()},
            field="status",
        )
    if status is not None and status != request.status:
        if status not in ASSISTANCE_TRANSITIONS[request.status]:
            raise ValidationFailed(
                {
                    "status": [
                        gettext("Cannot move from %(status)s to %(status2)s.")
                        % {"status": request.status, "status2": status}
                    ]
                }
            )
        request.status = status
    if outcome is not None:
        request.outcome = optional_text(outcome)
    if cost is not None:
        request.assistance_cost = money(cost, "cost", "21.6")
        request.assistance_cost_currency = request.client.provider.currency
    if request.status == AssistanceRequest.Status.COMPLETED and not request.outcome:
        raise ValidationFailed(
            {"outcome": [gettext("Record the outcome before completing (art. 21.6).")]}
        )
    save_with_history(request, acting_user)
    if request.status == AssistanceRequest.Status.COMPLETED and request.assistance_cost > 0:
        # the client bears the cost of the assistance; billing recharges it (wired in portal/)
        client_cost_incurred.send(
            sender=AssistanceRequest,
            client=request.client,
            kind="compliance_assistance",
            amount=request.assistance_cost,
            currency=request.assistance_cost_currency,
            source_kind="dataprocessing.assistance",
            source_id=request.pk,
            description=f"{request.get_kind_display()} (assistance request #{request.pk})",
            acting_user=acting_user,
        )
    return request

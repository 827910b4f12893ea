"""Personal-data breaches (art. 21.11): each affected client is due a notice within 48 clock
hours of awareness; follow-ups as information becomes available; the root cause closes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.kernel.roles import require_serves_provider
from accounts.models import Client, Provider, User
from dataprocessing.models import Breach, BreachNotification, BreachUpdate

from ._common import compliance_emails, fmt, in_the_future, require_compliance

BREACH_NEAR_HOURS = 12


def _log_errors(
    *,
    provider: Provider,
    detected_at: dt.datetime | None,
    aware_at: dt.datetime | None,
    texts: dict[str, str],
    approx_subjects: int | None,
    clients: list[Client],
    now: dt.datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if detected_at is None:
        errors["detected_at"] = [gettext("Give the moment the breach was detected (art. 21.11).")]
    elif in_the_future(detected_at, now):
        errors["detected_at"] = [gettext("The detection cannot be in the future.")]
    if aware_at is not None and detected_at is not None and aware_at < detected_at:
        errors["aware_at"] = [gettext("Awareness cannot come before detection.")]
    if aware_at is not None and in_the_future(aware_at, now):
        errors["aware_at"] = [gettext("Awareness cannot be in the future.")]
    for field, value in texts.items():
        if not optional_text(value):
            errors[field] = [
                gettext("Describe the %(field)s (art. 21.11).") % {"field": field.replace("_", " ")}
            ]
    if approx_subjects is None:
        errors["approx_subjects"] = [
            gettext("Give the approximate number of data subjects (art. 21.11).")
        ]
    if not clients:
        errors["affected_clients"] = [
            gettext("Name the affected clients: each must be notified (art. 21.11).")
        ]
    elif any(c.provider_id != provider.pk for c in clients):
        errors["affected_clients"] = [
            gettext("Every affected client must be a client of this provider.")
        ]
    return errors


def _count(value: object) -> int | None:
    try:
        count = int(value)  # type: ignore[call-overload]  # any input; int() refuses the rest
    except (TypeError, ValueError):
        return None
    return count if count >= 0 else None


def notice_deadline(provider: Provider, aware_at: dt.datetime) -> dt.datetime:
    """Each affected client's notice is due `profile.breach_notice_hours` (48) clock hours after
    awareness (art. 21.11): added in UTC, as Python adds a timedelta to a zoned datetime on its
    wall clock."""
    return aware_at.astimezone(dt.UTC) + dt.timedelta(hours=provider.breach_notice_hours)


@transaction.atomic
def breach_log(
    *,
    provider: Provider,
    detected_at: dt.datetime,
    description: str,
    data_types: str,
    approx_subjects: int,
    measures: str,
    affected_clients: Iterable[Client] | None,
    acting_user: User,
    aware_at: dt.datetime | None = None,
) -> Breach:
    """Log a personal-data breach (art. 21.11): each affected client is due a notice within
    `profile.breach_notice_hours` (48) hours of awareness — clock hours, not working days."""
    require_compliance(acting_user)
    require_serves_provider(acting_user, provider)
    aware_at = aware_at or detected_at
    now = timezone.now()
    approx = _count(approx_subjects)
    clients = list(dict.fromkeys(affected_clients or []))
    errors = _log_errors(
        provider=provider,
        detected_at=detected_at,
        aware_at=aware_at,
        texts={"description": description, "data_types": data_types, "measures": measures},
        approx_subjects=approx,
        clients=clients,
        now=now,
    )
    if errors:
        raise ValidationFailed(errors, article="21.11")
    assert approx is not None and detected_at is not None  # refused above when missing
    breach = Breach(
        provider=provider,
        detected_at=detected_at,
        aware_at=aware_at,
        description=optional_text(description),
        data_types=optional_text(data_types),
        approx_subjects=approx,
        measures=optional_text(measures),
        logged_by=acting_user,
        logged_at=now,
    )
    save_with_history(breach, acting_user)
    deadline = notice_deadline(provider, aware_at)
    for client in sorted(clients, key=lambda c: c.pk):
        save_with_history(
            BreachNotification(breach=breach, client=client, deadline=deadline), acting_user
        )
    return breach


@transaction.atomic
def breach_notify_client(
    *, notification: BreachNotification, message: str, acting_user: User
) -> BreachNotification:
    """Send an affected client its breach notice from the portal and record it (art. 21.11(a))."""
    require_compliance(acting_user)
    message = clean_text(
        message,
        field="message",
        message=gettext(
            "Write the notice: what happened, the data concerned, the measures (art. 21.11)."
        ),
    )
    notification = (
        BreachNotification.objects.select_for_update()
        .select_related("breach__provider", "client")
        .get(pk=notification.pk)
    )
    if notification.notified_at:
        raise Conflict(
            gettext("This client has already been notified of this breach."), field="notified_at"
        )
    notification.message = message
    notification.notified_at = timezone.now()
    notification.notified_by = acting_user
    save_with_history(notification, acting_user)
    breach = notification.breach
    notify(
        key=f"breach-notice:{notification.pk}",
        client=notification.client,
        recipients=client_admin_emails(notification.client),
        subject=lambda: (
            gettext("Personal-data breach notification from %(provider)s")
            % {"provider": breach.provider.name}
        ),
        body=(
            lambda: (
                notification.message
                + "\n\n"
                + gettext(
                    "Detected: %(detected)s\nTypes of personal data: %(types)s\nApproximate number of "
                    "data subjects: %(subjects)s\nMeasures: %(measures)s\n(art. 21.11)"
                )
                % {
                    "detected": fmt(breach.detected_at, breach.provider),
                    "types": breach.data_types,
                    "subjects": breach.approx_subjects,
                    "measures": breach.measures,
                }
            )
        ),
    )
    return notification


@transaction.atomic
def breach_add_update(*, breach: Breach, text: str, acting_user: User) -> BreachUpdate:
    """Add a follow-up as information becomes available (art. 21.11); notified clients receive it."""
    require_compliance(acting_user)
    text = clean_text(text, field="text", message=gettext("The update cannot be empty."))
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    update = BreachUpdate.objects.create(breach=breach, text=text, created_by=acting_user)
    detected = local_date(breach.provider, breach.detected_at)
    notified = breach.notifications.filter(notified_at__isnull=False).select_related("client")
    for notification in notified:
        notify(
            key=f"breach-update:{update.pk}:{notification.client_id}",
            client=notification.client,
            recipients=client_admin_emails(notification.client),
            subject=lambda: (
                gettext("Update on the personal-data breach of %(detected)s")
                % {"detected": detected}
            ),
            body=f"{update.text}\n(art. 21.11)",
        )
    return update


@transaction.atomic
def breach_set_root_cause(*, breach: Breach, root_cause: str, acting_user: User) -> Breach:
    """Record the root cause found by the investigation (art. 21.11: identify it, prevent a
    recurrence)."""
    require_compliance(acting_user)
    root_cause = clean_text(
        root_cause, field="root_cause", message=gettext("Describe the root cause (art. 21.11).")
    )
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    breach.root_cause = root_cause
    return save_with_history(breach, acting_user)


@transaction.atomic
def breach_close(*, breach: Breach, acting_user: User) -> Breach:
    """Close a breach once every affected client was notified and its root cause is recorded
    (art. 21.11)."""
    require_compliance(acting_user)
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.closed_at:
        raise ApplicationError(gettext("This breach is already closed."), field="closed_at")
    if breach.notifications.filter(notified_at=None).exists():
        raise ApplicationError(
            gettext("Notify every affected client before closing (art. 21.11)."),
            field="notifications",
            article="21.11",
        )
    if not breach.root_cause:
        raise ApplicationError(
            gettext("Record the root cause before closing (art. 21.11)."),
            field="root_cause",
            article="21.11",
        )
    breach.closed_at = timezone.now()
    return save_with_history(breach, acting_user)


def _escalate_missed(
    pending: QuerySet[BreachNotification], now: dt.datetime, batch_size: int
) -> int:
    missed = 0
    due = pending.filter(escalated_missed_at=None, deadline__lte=now).order_by("deadline", "pk")
    for notification in due[:batch_size]:
        with transaction.atomic():
            # claim: if no row changed, another run got there first
            if not BreachNotification.objects.filter(
                pk=notification.pk, escalated_missed_at=None, notified_at=None
            ).update(escalated_missed_at=now):
                continue
            missed += 1
            provider = notification.breach.provider
            notify(
                key=f"breach-missed:{notification.pk}",
                client=notification.client,
                recipients=compliance_emails(provider=notification.client.provider_id),
                subject=lambda: (
                    gettext("MISSED breach notice deadline: %(client)s")
                    % {"client": notification.client.legal_name}
                ),
                body=(
                    lambda: (
                        gettext(
                            "The notice of the breach detected %(detected)s was due %(due)s and has not "
                            "been sent (art. 21.11)."
                        )
                        % {
                            "detected": fmt(notification.breach.detected_at, provider),
                            "due": fmt(notification.deadline, provider),
                        }
                    )
                ),
            )
    return missed


def _escalate_near(
    pending: QuerySet[BreachNotification], now: dt.datetime, near_hours: int, batch_size: int
) -> int:
    near = 0
    soon = pending.filter(
        escalated_near_at=None,
        escalated_missed_at=None,
        deadline__gt=now,
        deadline__lte=now + dt.timedelta(hours=near_hours),
    ).order_by("deadline", "pk")
    for notification in soon[:batch_size]:
        with transaction.atomic():
            if not BreachNotification.objects.filter(
                pk=notification.pk, escalated_near_at=None, notified_at=None
            ).update(escalated_near_at=now):
                continue
            near += 1
            # claimed above with notified_at=None, so there is time left to count
            seconds_left = notification.seconds_left(now)
            assert seconds_left is not None
            hours_left = seconds_left / 3600
            client = notification.client
            notify(
                key=f"breach-near:{notification.pk}",
                client=client,
                recipients=compliance_emails(provider=client.provider_id),
                subject=lambda: (
                    ngettext(
                        "Breach notice due in %(hours)s hour: %(client)s",
                        "Breach notice due in %(hours)s hours: %(client)s",
                        round(hours_left),
                    )
                    % {"hours": f"{hours_left:.0f}", "client": client.legal_name}
                ),
                body=(
                    lambda: (
                        gettext("Notify %(client)s by %(due)s (art. 21.11).")
                        % {
                            "client": client.legal_name,
                            "due": fmt(notification.deadline, notification.breach.provider),
                        }
                    )
                ),
            )
    return near


def breach_deadlines_escalate(
    *, now: dt.datetime | None = None, near_hours: int = BREACH_NEAR_HOURS, batch_size: int = 500
) -> dict[str, Any]:
    """Job: tell the compliance officers, once each, when a client's breach notice is due within
    `near_hours` hours and not sent, and once more when its 48-hour deadline is missed (art.
    21.11)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    pending = BreachNotification.objects.filter(notified_at=None).select_related(
        "breach__provider", "client"
    )
    missed = _escalate_missed(pending, now, batch_size)
    near = _escalate_near(pending, now, near_hours, batch_size)
    return {"near": near, "missed": missed}

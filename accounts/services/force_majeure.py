"""Force majeure (art. 14; CX 14): staff log the situation, each affected client is notified
within 10 working days following the day it arose (art. 14.2), and once it lasts longer than
20 working days either party may terminate with immediate effect (art. 15.5(b)).

Termination itself is not done here: the right and its date are shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts import workdays
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.kernel.roles import require_serves_provider, require_staff
from accounts.models import Client, ForceMajeure, ForceMajeureNotice, Provider, User

CLOCK_SKEW = dt.timedelta(minutes=5)
# The job warns staff when a notice is due within this many working days (art. 14.2).
NEAR_WORKING_DAYS = 2


def _fmt(moment: dt.datetime, provider: Provider) -> str:
    return f"{moment.astimezone(workdays.local_tz(provider)):%Y-%m-%d %H:%M %Z}"


def force_majeure_notice_deadline(provider: Provider, started_at: dt.datetime) -> dt.datetime:
    """Art. 14.2: "it shall make this known to the Client within ten (10) Working Days following
    the day on which the situation of force majeure arose" — the close of business of the 10th
    working day after that day, on the provider's calendar."""
    return workdays.add_working_days(
        started_at, provider.force_majeure_notice_working_days, provider
    )


def force_majeure_termination_from(provider: Provider, started_at: dt.datetime) -> dt.datetime:
    """Art. 15.5(b): either party may terminate "if the situation of force majeure as referred to
    in Article 14 lasts longer than twenty (20) Working Days" — the right opens at the close of
    business of the 20th working day after the day it arose."""
    return workdays.add_working_days(
        started_at, provider.force_majeure_termination_working_days, provider
    )


@transaction.atomic
def force_majeure_log(
    *,
    provider: Provider,
    started_at: dt.datetime | None,
    description: str,
    services_affected: str,
    affected_clients: Iterable[Client] | None,
    acting_user: User,
) -> ForceMajeure:
    """Log a situation of force majeure (art. 14.1: "CM is not bound to meet any obligation under
    the Agreement if it is prevented from doing so as a consequence of force majeure"); each
    affected client is due its notice "within ten (10) Working Days following the day on which the
    situation of force majeure arose" (art. 14.2)."""
    require_staff(acting_user, message=gettext("Only provider staff may log force majeure."))
    require_serves_provider(acting_user, provider)
    now = timezone.now()
    clients = list(dict.fromkeys(affected_clients or []))
    errors: dict[str, list[str]] = {}
    if started_at is None:
        errors["started_at"] = [
            gettext("Give the moment the situation of force majeure arose (art. 14.2).")
        ]
    elif started_at > now + CLOCK_SKEW:
        errors["started_at"] = [gettext("The start cannot be in the future.")]
    if not optional_text(description):
        errors["description"] = [gettext("Describe the situation of force majeure (art. 14.1).")]
    if not optional_text(services_affected):
        errors["services_affected"] = [gettext("Name the services affected (art. 14.1).")]
    if not clients:
        errors["affected_clients"] = [
            gettext("Name the affected clients: each must be notified (art. 14.2).")
        ]
    elif any(c.provider_id != provider.pk for c in clients):
        errors["affected_clients"] = [
            gettext("Every affected client must be a client of this provider.")
        ]
    if errors:
        raise ValidationFailed(errors, article="14.2")
    assert started_at is not None
    situation = ForceMajeure(
        provider=provider,
        started_at=started_at,
        description=optional_text(description),
        services_affected=optional_text(services_affected),
        termination_right_from=force_majeure_termination_from(provider, started_at),
        logged_by=acting_user,
        logged_at=now,
    )
    save_with_history(situation, acting_user)
    deadline = force_majeure_notice_deadline(provider, started_at)
    for client in sorted(clients, key=lambda c: c.pk):
        save_with_history(
            ForceMajeureNotice(situation=situation, client=client, deadline=deadline), acting_user
        )
    return situation


@transaction.atomic
def force_majeure_notify_client(
    *, notice: ForceMajeureNotice, message: str, acting_user: User
) -> ForceMajeureNotice:
    """Make the force majeure known to the client in writing and record it (art. 14.2: "it shall
    make this known to the Client within ten (10) Working Days")."""
    require_staff(
        acting_user, message=gettext("Only provider staff may send a force-majeure notice.")
    )
    message = clean_text(
        message,
        field="message",
        message="Write the notice: the situation and the services affected (art. 14.2).",
    )
    notice = (
        ForceMajeureNotice.objects.select_for_update(of=("self",))
        .select_related("situation__provider", "client")
        .get(pk=notice.pk)
    )
    require_serves_provider(acting_user, notice.situation.provider)
    if notice.notified_at:
        raise Conflict(gettext("This client has already been notified."), field="notified_at")
    now = timezone.now()
    notice.message = message
    notice.notified_at = now
    notice.notified_by = acting_user
    save_with_history(notice, acting_user)
    situation = notice.situation
    notify(
        key=f"force-majeure-notice:{notice.pk}",
        client=notice.client,
        recipients=client_admin_emails(notice.client),
        subject=lambda: (
            gettext("Force majeure: %(provider)s") % {"provider": situation.provider.name}
        ),
        body=(
            lambda: (
                message
                + "\n\n"
                + gettext(
                    "Arose: %(arose)s\nServices affected: %(services)s\nIf it lasts longer than 20 "
                    "working days, either party may terminate the agreement with immediate effect from "
                    "%(from)s (art. 15.5(b)).\n(art. 14.2)"
                )
                % {
                    "arose": _fmt(situation.started_at, situation.provider),
                    "services": situation.services_affected,
                    "from": _fmt(situation.termination_right_from, situation.provider),
                }
            )
        ),
    )
    return notice


@transaction.atomic
def force_majeure_end(
    *, situation: ForceMajeure, ended_at: dt.datetime | None, acting_user: User
) -> ForceMajeure:
    """Record the end of the situation; once it ended within 20 working days, no right to
    terminate under art. 15.5(b) opens ("lasts longer than twenty (20) Working Days")."""
    require_staff(acting_user, message=gettext("Only provider staff may end force majeure."))
    situation = ForceMajeure.objects.select_for_update().get(pk=situation.pk)
    require_serves_provider(acting_user, situation.provider)
    now = timezone.now()
    ended_at = ended_at or now
    if situation.ended_at:
        raise ApplicationError(gettext("This situation has already ended."), field="ended_at")
    if ended_at < situation.started_at:
        raise ValidationFailed({"ended_at": [gettext("The end cannot come before the start.")]})
    if ended_at > now + CLOCK_SKEW:
        raise ValidationFailed({"ended_at": [gettext("The end cannot be in the future.")]})
    situation.ended_at = ended_at
    return save_with_history(situation, acting_user)


def _staff_of(provider_id: int) -> list[str]:
    # billing staff and compliance officers of that provider only (art. 11.1, 21.4)
    return sorted(
        set(staff_emails(User.Role.BILLING_STAFF, provider=provider_id))
        | set(staff_emails(User.Role.COMPLIANCE_OFFICER, provider=provider_id))
    )


def _escalate(notice: ForceMajeureNotice, *, missed: bool) -> None:
    situation = notice.situation
    provider = situation.provider
    client = notice.client
    names = {"client": client.legal_name, "due": _fmt(notice.deadline, provider)}

    def subject() -> str:
        if missed:
            return gettext("MISSED force-majeure notice deadline: %(client)s") % names
        return gettext("Force-majeure notice due soon: %(client)s") % names

    def body() -> str:
        if missed:
            return (
                gettext(
                    "The force-majeure notice to %(client)s was due %(due)s and has not been "
                    "sent (art. 14.2)."
                )
                % names
            )
        return gettext("Notify %(client)s by %(due)s (art. 14.2).") % names

    notify(
        key=f"force-majeure-{'missed' if missed else 'near'}:{notice.pk}",
        client=client,
        recipients=_staff_of(provider.pk),
        subject=subject,
        body=body,
    )


def force_majeure_deadlines_flag(
    *, now: dt.datetime | None = None, batch_size: int = 500
) -> dict[str, Any]:
    """Job: tell the provider's staff, once each, when a client's force-majeure notice is due
    within `NEAR_WORKING_DAYS` working days and not sent, and once more when the 10-working-day
    deadline of art. 14.2 is missed."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    pending: QuerySet[ForceMajeureNotice] = ForceMajeureNotice.objects.filter(
        notified_at=None
    ).select_related("situation__provider", "client")
    missed = 0
    for notice in pending.filter(escalated_missed_at=None, deadline__lte=now).order_by(
        "deadline", "pk"
    )[:batch_size]:
        with transaction.atomic():
            # claim: if no row changed, another run got there first
            if ForceMajeureNotice.objects.filter(
                pk=notice.pk, escalated_missed_at=None, notified_at=None
            ).update(escalated_missed_at=now):
                missed += 1
                _escalate(notice, missed=True)
    near = 0
    for notice in pending.filter(
        escalated_near_at=None,
        escalated_missed_at=None,
        deadline__gt=now,
        # a bound for the query; the working-day count below decides
        deadline__lte=now + dt.timedelta(days=NEAR_WORKING_DAYS + 14),
    ).order_by("deadline", "pk")[:batch_size]:
        provider = notice.situation.provider
        if workdays.working_days_between(now, notice.deadline, provider) > NEAR_WORKING_DAYS:
            continue
        with transaction.atomic():
            if ForceMajeureNotice.objects.filter(
                pk=notice.pk, escalated_near_at=None, notified_at=None
            ).update(escalated_near_at=now):
                near += 1
                _escalate(notice, missed=False)
    return {"near": near, "missed": missed}

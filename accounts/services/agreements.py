"""Agreements: term, renewal, notice and termination (art. 15), cancellation after an objection
to new terms (art. 18.3), and the suspension of the service (art. 7).

Dates of a term are the provider's local calendar dates.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import (
    ApplicationError,
    Conflict,
    ValidationFailed,
    from_django_validation_error,
)
from accounts.kernel.history import with_history_user
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.models import Agreement, Client, Provider, Suspension, TermsAcceptance, User

# The statuses of an agreement whose service runs (a suspension stops it, art. 7.1).
RUNNING = (Agreement.Status.ACTIVE, Agreement.Status.NOTICE_GIVEN)


# --- Term (art. 15.1-15.2) -----------------------------------------------------------------
def term_end(start: dt.date, months: int) -> dt.date:
    """A term of `months` that starts on `start` ends the day before the same calendar day
    `months` later (art. 15.1: the initial term; art. 15.2: each renewal term)."""
    return add_months(start, months) - timedelta(days=1)


def agreement_create(*, client: Client, start_date: dt.date) -> Agreement:
    """The agreement starts with the profile's initial term (art. 15.1: one year failing agreement)."""
    provider = client.provider
    agreement = Agreement(
        client=client,
        start_date=start_date,
        initial_term_months=provider.initial_term_months,
        renewal_term_months=provider.renewal_term_months,
        notice_period_months=provider.notice_period_months,
        current_term_end=term_end(start_date, provider.initial_term_months),
    )
    try:
        agreement.full_clean()
    except DjangoValidationError as exc:
        raise from_django_validation_error(exc) from exc
    agreement.save()
    return agreement


def agreement_end_date_for_notice(agreement: Agreement, notice_day: dt.date) -> dt.date:
    """Art. 15.1–15.2: not before the initial term ends, and after it on three months' notice."""
    initial_end = term_end(agreement.start_date, agreement.initial_term_months)
    return max(initial_end, add_months(notice_day, agreement.notice_period_months))


def _locked_agreement(**lookup) -> Agreement:
    """The agreement, locked for the change, with its client and provider."""
    return Agreement.objects.select_for_update().select_related("client__provider").get(**lookup)


def _refuse_if_ended(agreement: Agreement) -> None:
    """An agreement that has ended takes no more notices or terminations."""
    if agreement.status == Agreement.Status.TERMINATED:
        raise ApplicationError(gettext("The agreement has already ended."), field="status")


@transaction.atomic
def agreement_give_notice(
    *,
    agreement: Agreement,
    party: str,
    acting_user: User,
    reason: str = "",
    at: dt.datetime | None = None,
) -> Agreement:
    """Either party terminates in writing on notice; the end date follows art. 15.2."""
    agreement = _locked_agreement(pk=agreement.pk)
    if party == Agreement.Party.CLIENT:
        roles.require_client_admin(acting_user, agreement.client, staff_may=True)
    elif party == Agreement.Party.PROVIDER:
        roles.require_billing_staff(acting_user)
    else:
        raise ValidationFailed({"party": [gettext("Party must be client or provider.")]})
    _refuse_if_ended(agreement)
    if agreement.notice_given_at:
        raise ApplicationError(
            gettext("Notice was already given; the agreement ends on %(end_date)s.")
            % {"end_date": agreement.end_date},
            field="status",
        )
    at = at or timezone.now()
    agreement.notice_given_at = at
    agreement.notice_given_by = party
    agreement.notice_reason = (reason or "").strip()
    agreement.end_date = agreement_end_date_for_notice(
        agreement, local_date(agreement.client.provider, at)
    )
    if agreement.status == Agreement.Status.ACTIVE:
        agreement.status = Agreement.Status.NOTICE_GIVEN
    with_history_user(agreement, acting_user).save()
    client = agreement.client
    notify(
        key=f"agreement-notice:{agreement.pk}",
        client=client,
        recipients=client_recipients(client)
        + staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        subject=lambda: (
            gettext("Notice of termination: the agreement ends on %(date)s")
            % {"date": agreement.end_date}
        ),
        body=(
            lambda: (
                (
                    gettext(
                        "Notice given by the client on %(date)s. The agreement ends on %(end)s "
                        "(art. 15.2)."
                    )
                    if party == Agreement.Party.CLIENT
                    else gettext(
                        "Notice given by the provider on %(date)s. The agreement ends on %(end)s "
                        "(art. 15.2)."
                    )
                )
                % {"date": f"{at:%Y-%m-%d}", "end": agreement.end_date}
            )
        ),
    )
    return agreement


# --- Default and termination for cause (art. 15.4-15.6) ------------------------------------
@transaction.atomic
def agreement_notice_of_default(
    *, agreement: Agreement, acting_user: User, text: str, now: dt.datetime | None = None
) -> Agreement:
    """Art. 15.4: a detailed written notice of default, with ten working days to remedy it."""
    roles.require_billing_staff(acting_user)
    if not (text or "").strip():
        raise ValidationFailed(
            {"text": [gettext("Describe the failure in as much detail as possible (art. 15.4).")]}
        )
    agreement = _locked_agreement(pk=agreement.pk)
    _refuse_if_ended(agreement)
    provider = agreement.client.provider
    now = now or timezone.now()
    agreement.default_notice_at = now
    agreement.default_notice_text = text.strip()
    agreement.cure_deadline = workdays.add_working_days(
        now, provider.cure_period_working_days, provider
    )
    with_history_user(agreement, acting_user).save()
    notify(
        key=f"notice-of-default:{agreement.pk}:{now.timestamp()}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject=lambda: gettext("Notice of default"),
        body=(
            lambda: (
                agreement.default_notice_text
                + "\n\n"
                + gettext("Remedy by %(deadline)s (art. 15.4).")
                % {"deadline": f"{agreement.cure_deadline:%Y-%m-%d %H:%M %Z}"}
            )
        ),
    )
    return agreement


def _refuse_during_cure_period(agreement: Agreement, now: dt.datetime) -> None:
    """Art. 15.4: termination for cause needs a notice of default whose cure period has run out."""
    if agreement.cure_deadline is None:
        raise ApplicationError(
            gettext("Send a notice of default first; termination for cause needs it (art. 15.4)."),
            field="cure_deadline",
            article="15.4",
        )
    if now <= agreement.cure_deadline:
        raise ApplicationError(
            gettext("The cure period runs until %(cure_deadline)s (art. 15.4).")
            % {"cure_deadline": f"{agreement.cure_deadline:%Y-%m-%d %H:%M %Z}"},
            field="cure_deadline",
            article="15.4",
        )


@transaction.atomic
def agreement_terminate_for_cause(
    *,
    agreement: Agreement,
    acting_user: User,
    reason: str,
    immediate: bool = False,
    now: dt.datetime | None = None,
) -> Agreement:
    """Art. 15.4: for cause once the cure period has run out; art. 15.5: immediately (insolvency, ...)."""
    roles.require_billing_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [gettext("Give the cause of termination.")]})
    agreement = _locked_agreement(pk=agreement.pk)
    _refuse_if_ended(agreement)
    now = now or timezone.now()
    if not immediate:
        _refuse_during_cure_period(agreement, now)
    agreement.status = Agreement.Status.TERMINATED
    agreement.terminated_at = now
    agreement.end_date = local_date(agreement.client.provider, now)
    agreement.termination_reason = reason.strip()
    with_history_user(agreement, acting_user).save()
    notify(
        key=f"agreement-terminated:{agreement.pk}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject=lambda: gettext("Your agreement has been terminated"),
        body=(
            lambda: (
                f"{reason.strip()} (art. {'15.5' if immediate else '15.4'}). "
                + gettext("Amounts invoiced remain due (art. 15.6).")
            )
        ),
    )
    return agreement


@transaction.atomic
def agreement_cancel_after_objection(
    *, acceptance: TermsAcceptance, acting_user: User, now: dt.datetime | None = None
) -> Agreement:
    """After an objection the provider may cancel the agreement on one month's written notice (art. 18.3)."""
    roles.require_billing_staff(acting_user)
    acceptance = TermsAcceptance.objects.select_related("terms").get(pk=acceptance.pk)
    if acceptance.status != TermsAcceptance.Status.OBJECTED:
        raise ApplicationError(
            gettext(
                "Only a client that objected to new terms can be cancelled this way (art. 18.3)."
            ),
            field="status",
        )
    agreement = _locked_agreement(client=acceptance.client)
    _refuse_if_ended(agreement)
    provider = agreement.client.provider
    now = now or timezone.now()
    end_date = add_months(local_date(provider, now), provider.terms_cancel_notice_months)
    if agreement.end_date is not None and agreement.end_date <= end_date:
        # Notice already given ends it sooner; one month's notice must not extend the agreement.
        raise ApplicationError(
            gettext("The agreement already ends on %(end_date)s.")
            % {"end_date": agreement.end_date},
            field="status",
        )
    agreement.notice_given_at = now
    agreement.notice_given_by = Agreement.Party.PROVIDER
    agreement.notice_reason = f"Objection to terms {acceptance.terms.version} (art. 18.3)."
    agreement.end_date = end_date
    if agreement.status == Agreement.Status.ACTIVE:
        agreement.status = Agreement.Status.NOTICE_GIVEN
    with_history_user(agreement, acting_user).save()
    notify(
        key=f"agreement-cancel-objection:{agreement.pk}:{acceptance.pk}",
        client=agreement.client,
        recipients=client_recipients(agreement.client),
        subject=lambda: gettext("Your agreement ends on %(date)s") % {"date": agreement.end_date},
        body=(
            lambda: (
                gettext(
                    "Following your objection to terms %(version)s, the agreement is cancelled on one "
                    "month's notice (art. 18.3)."
                )
                % {"version": acceptance.terms.version}
            )
        ),
    )
    return agreement


# --- The renewal job (art. 15.2) -----------------------------------------------------------
def agreements_roll(*, today: dt.date | None = None, batch_size: int = 500) -> dict[str, Any]:
    """The beat job: renew agreements at the end of their term unless they end (art. 15.2), end those due.

    Runs in provider-local dates; running it twice on the same day changes nothing the second time.
    """
    renewed = terminated = 0
    for provider in Provider.objects.all():
        day = today or local_date(provider)
        while True:
            with transaction.atomic():
                ended = _end_due(provider, day, batch_size)
                renewals = _renew_due(provider, day, batch_size)
            terminated += ended
            renewed += renewals
            if not ended and not renewals:
                break
    return {"renewed": renewed, "terminated": terminated}


def _end_due(provider: Provider, day: dt.date, batch_size: int) -> int:
    """Agreements whose end date has passed end (art. 15.2: on notice)."""
    due = list(
        Agreement.objects.select_for_update(skip_locked=True)
        .filter(client__provider=provider, end_date__lt=day)
        .exclude(status=Agreement.Status.TERMINATED)
        .order_by("pk")[:batch_size]
    )
    for agreement in due:
        agreement.status = Agreement.Status.TERMINATED
        agreement.terminated_at = timezone.now()
        agreement.termination_reason = (
            agreement.termination_reason or "Ended on notice (art. 15.2)."
        )
        agreement.save()
    return len(due)


def _renew_due(provider: Provider, day: dt.date, batch_size: int) -> int:
    """Agreements past the end of their term renew for the renewal term, catching up missed runs
    (art. 15.2: tacitly renewed unless notice was given)."""
    to_renew = list(
        Agreement.objects.select_for_update(skip_locked=True)
        .filter(client__provider=provider, current_term_end__lt=day)
        .exclude(status=Agreement.Status.TERMINATED)
        .order_by("pk")[:batch_size]
    )
    for agreement in to_renew:
        while agreement.current_term_end < day:
            agreement.current_term_end = term_end(
                agreement.current_term_end + timedelta(days=1), agreement.renewal_term_months
            )
            agreement.renewals += 1
        agreement.save()
    return len(to_renew)


# --- Suspension (art. 7) -------------------------------------------------------------------
@transaction.atomic
def client_suspend(
    *, client: Client, cause: str, reason: str, acting_user: User | None
) -> Suspension:
    """Suspend the service (art. 7.1); the client remains liable for payment meanwhile (art. 7.2)."""
    if acting_user is not None:
        roles.require_staff(acting_user)
    if cause not in Suspension.Cause.values:
        raise ValidationFailed(
            {
                "cause": [
                    gettext("Cause must be one of %(choices)s.")
                    % {"choices": ", ".join(Suspension.Cause.values)}
                ]
            }
        )
    if not (reason or "").strip():
        raise ValidationFailed(
            {
                "reason": [
                    gettext("Give the reason for the suspension; the client sees it (art. 7.1).")
                ]
            }
        )
    Client.objects.select_for_update().get(pk=client.pk)
    if Suspension.objects.filter(client=client, cause=cause, ended_at=None).exists():
        raise Conflict(gettext("The client is already suspended for this cause."), field="cause")
    suspension = Suspension(
        client=client, cause=cause, reason=reason.strip(), started_by=acting_user
    )
    with_history_user(suspension, acting_user).save()
    Agreement.objects.filter(client=client, status__in=RUNNING).update(
        status=Agreement.Status.SUSPENDED
    )
    notify(
        key=f"suspension:{suspension.pk}",
        client=client,
        recipients=client_recipients(client, include_viewers=True),
        subject=lambda: gettext("Your service has been suspended"),
        body=(
            lambda: (
                gettext(
                    "Reason: %(reason)s\nYou remain liable for payment while the service is suspended "
                    "(art. 7.2)."
                )
                % {"reason": suspension.reason}
            )
        ),
    )
    return suspension


@transaction.atomic
def client_resume(
    *, client: Client, acting_user: User | None, reason: str, cause: str | None = None
) -> int:
    """Resume once the reason is removed (art. 7.3); ends the open suspension(s) of `cause` (all if None)."""
    if acting_user is not None:
        roles.require_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [gettext("Say why the service resumes (art. 7.3).")]})
    Client.objects.select_for_update().get(pk=client.pk)
    open_ = Suspension.objects.filter(client=client, ended_at=None)
    if cause:
        open_ = open_.filter(cause=cause)
    suspensions = list(open_)
    if not suspensions:
        raise ApplicationError(gettext("The client is not suspended."), field="status")
    now = timezone.now()
    for suspension in suspensions:
        suspension.ended_at = now
        suspension.ended_by = acting_user
        suspension.end_reason = reason.strip()
        with_history_user(suspension, acting_user).save()
    if not Suspension.objects.filter(client=client, ended_at=None).exists():
        agreement = Agreement.objects.filter(
            client=client, status=Agreement.Status.SUSPENDED
        ).first()
        if agreement is not None:
            agreement.status = (
                Agreement.Status.NOTICE_GIVEN
                if agreement.notice_given_at
                else Agreement.Status.ACTIVE
            )
            with_history_user(agreement, acting_user).save()
        notify(
            key=f"resumed:{client.pk}:{now.timestamp()}",
            client=client,
            recipients=client_recipients(client, include_viewers=True),
            subject=lambda: gettext("Your service has resumed"),
            body=reason.strip(),
        )
    return len(suspensions)

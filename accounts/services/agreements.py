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
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.kernel.signals import client_cost_incurred
from accounts.kernel.uploads import document_check
from accounts.models import (
    Agreement,
    Client,
    ForceMajeure,
    Provider,
    Suspension,
    TermsAcceptance,
    User,
)
from accounts.signals import agreement_termination_given

# The statuses of an agreement whose service runs (a suspension stops it, art. 7.1).
RUNNING = (Agreement.Status.ACTIVE, Agreement.Status.NOTICE_GIVEN)


# --- Term (art. 15.1-15.2) -----------------------------------------------------------------
def term_end(start: dt.date, months: int) -> dt.date:
    """A term of `months` that starts on `start` ends the day before the same calendar day
    `months` later (art. 15.1: the initial term; art. 15.2: each renewal term)."""
    return add_months(start, months) - timedelta(days=1)


def agreement_create(*, client: Client, start_date: dt.date) -> Agreement:
    """The agreement starts with the profile's initial term (art. 15.1: one year failing
    agreement), in the profile's currency and payment term until staff record others (art. 4.1,
    4.5; CX 3 "the agreed currency (default: USD)")."""
    provider = client.provider
    agreement = Agreement(
        client=client,
        start_date=start_date,
        currency=provider.currency,
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


def _party_of(acting_user: User, agreement: Agreement) -> str:
    """The party a user acts for: a client admin for the client, billing staff of the client's
    provider for the provider (art. 11.1); anyone else is refused."""
    if acting_user.is_provider_staff:
        roles.require_billing_staff(acting_user)
        roles.require_serves_provider(acting_user, agreement.client.provider, field="agreement")
        return Agreement.Party.PROVIDER
    roles.require_client_admin(acting_user, agreement.client)
    return Agreement.Party.CLIENT


def _other(party: str) -> str:
    return Agreement.Party.PROVIDER if party == Agreement.Party.CLIENT else Agreement.Party.CLIENT


def _both_sides(client: Client) -> list[str]:
    """The client's admins and billing mailbox, and its provider's billing staff: a notice about
    the end of the agreement is shown to both parties."""
    return sorted(
        set(client_recipients(client))
        | set(staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id))
    )


def _is_prepaid(agreement: Agreement) -> bool:
    return agreement.client.billing_mode == Client.BillingMode.PREPAID


@transaction.atomic
def agreement_give_notice(
    *,
    agreement: Agreement,
    party: str,
    acting_user: User,
    reason: str = "",
    at: dt.datetime | None = None,
    end_date: dt.date | None = None,
    request_restitution: bool = False,
) -> Agreement:
    """Either party terminates in writing on notice; the end date follows art. 15.2 ("After the
    initial period, the Parties may terminate the Agreement in writing by giving three (3)
    months' notice").

    A prepaid client's own notice follows art. 29.6 instead ("Pre-Paid Clients can terminate the
    Agreement at any time in writing"): see `agreement_terminate_prepaid`.
    """
    if party == Agreement.Party.CLIENT and _is_prepaid(agreement):
        return agreement_terminate_prepaid(
            agreement=agreement,
            acting_user=acting_user,
            reason=reason,
            end_date=end_date,
            request_restitution=request_restitution,
            now=at,
        )
    agreement = _locked_agreement(pk=agreement.pk)
    if party == Agreement.Party.CLIENT:
        roles.require_client_admin(acting_user, agreement.client, staff_may=True)
    elif party == Agreement.Party.PROVIDER:
        roles.require_billing_staff(acting_user)
    else:
        raise ValidationFailed({"party": [gettext("Party must be client or provider.")]})
    if end_date is not None:
        raise ValidationFailed(
            {
                "end_date": [
                    gettext(
                        "Only a prepaid client chooses the end date of its termination (art. "
                        "29.6); on notice the agreement ends as art. 15.2 says."
                    )
                ]
            },
            article="15.2",
        )
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
    agreement.termination_ground = Agreement.Ground.NOTICE
    agreement.terminated_by = party
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


def _end(
    agreement: Agreement,
    *,
    ground: str,
    party: str,
    reason: str,
    now: dt.datetime,
    ends_on: dt.date,
) -> bool:
    """Set the end of the agreement: at once when `ends_on` is today (terminated now), else on
    notice until `ends_on` (the renewal job ends it the day after, art. 15.2). True if at once."""
    today = local_date(agreement.client.provider, now)
    agreement.termination_ground = ground
    agreement.terminated_by = party
    agreement.termination_reason = reason
    agreement.end_date = ends_on
    if ends_on <= today:
        agreement.status = Agreement.Status.TERMINATED
        agreement.terminated_at = now
        return True
    agreement.notice_given_at = now
    agreement.notice_given_by = party
    agreement.notice_reason = reason
    if agreement.status == Agreement.Status.ACTIVE:
        agreement.status = Agreement.Status.NOTICE_GIVEN
    return False


def _refuse_end_date_in_the_past(
    agreement: Agreement, ends_on: dt.date | None, now: dt.datetime, article: str
) -> dt.date:
    today = local_date(agreement.client.provider, now)
    if ends_on is None:
        return today
    if ends_on < today:
        raise ValidationFailed(
            {"end_date": [gettext("The end date cannot be in the past.")]}, article=article
        )
    return ends_on


# --- A prepaid client's termination (art. 29.6) --------------------------------------------
@transaction.atomic
def agreement_terminate_prepaid(
    *,
    agreement: Agreement,
    acting_user: User,
    reason: str = "",
    end_date: dt.date | None = None,
    request_restitution: bool = False,
    now: dt.datetime | None = None,
) -> Agreement:
    """Art. 29.6: "Pre-Paid Clients can terminate the Agreement at any time in writing. If at the
    time of such termination the Pre-Paid Client has any credit left, the Pre-Paid Client can
    submit a written request for restitution of this remaining credit."

    No initial term and no three months' notice (art. 15.2) hold a prepaid client: the agreement
    ends on the date it gives (not in the past), or at once without one. With
    `request_restitution` the written request for the remaining credit goes with it (the
    composing layer files it in billing, `accounts.signals.agreement_termination_given`).
    """
    agreement = _locked_agreement(pk=agreement.pk)
    if acting_user.is_provider_staff:  # billing staff record the client's letter
        roles.require_billing_staff(acting_user)
    roles.require_client_admin(
        acting_user,
        agreement.client,
        staff_may=True,
        message=gettext("Only an admin of this client may terminate its agreement (art. 5.2)."),
    )
    if not _is_prepaid(agreement):
        raise ApplicationError(
            gettext(
                "Only a prepaid client may terminate at any time (art. 29.6); give notice "
                "under art. 15.2 instead."
            ),
            field="client",
            article="29.6",
        )
    _refuse_if_ended(agreement)
    now = now or timezone.now()
    ends_on = _refuse_end_date_in_the_past(agreement, end_date, now, "29.6")
    if agreement.end_date is not None and agreement.end_date <= ends_on:
        raise ApplicationError(
            f"The agreement already ends on {agreement.end_date}; a termination can only "
            "bring that forward.",
            field="end_date",
            article="29.6",
        )
    reason = (reason or "").strip()
    immediate = _end(
        agreement,
        ground=Agreement.Ground.PREPAID,
        party=Agreement.Party.CLIENT,
        reason=reason,
        now=now,
        ends_on=ends_on,
    )
    with_history_user(agreement, acting_user).save()
    agreement_termination_given.send(
        sender=Agreement,
        agreement=agreement,
        ground=Agreement.Ground.PREPAID,
        ends_on=ends_on,
        immediate=immediate,
        acting_user=acting_user,
        request_restitution=request_restitution,
    )
    client = agreement.client
    notify(
        key=f"agreement-prepaid-termination:{agreement.pk}",
        client=client,
        recipients=_both_sides(client),
        subject=lambda: (
            gettext("Termination in writing: the agreement ends on %(date)s") % {"date": ends_on}
        ),
        body=lambda: (
            gettext(
                "%(client)s terminated the prepaid agreement on %(given)s; it ends on %(end)s "
                "(art. 29.6).\n%(reason)s\nRemaining unexpired credit can be restituted on "
                "written request (art. 29.6)."
            )
            % {
                "client": client.legal_name,
                "given": f"{now:%Y-%m-%d}",
                "end": ends_on,
                "reason": reason,
            }
        ),
    )
    return agreement


# --- Economic grounds (art. 15.3) ----------------------------------------------------------
@transaction.atomic
def agreement_terminate_economic(
    *,
    agreement: Agreement,
    acting_user: User,
    substantiation: str,
    end_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Agreement:
    """Art. 15.3: "CM may unilaterally terminate the Agreement or the provision of a Service
    prematurely if it considers that further execution of the Service cannot reasonably be
    expected on economic grounds. This is to be announced and substantiated in writing to
    Client."

    The provider only, with a written substantiation the client is sent; the article sets no
    notice period, so the end date is the provider's (not in the past; none: at once). No
    immediate payability follows (art. 15.6 names 15.4 and 15.5 only).
    """
    roles.require_billing_staff(acting_user)
    substantiation = (substantiation or "").strip()
    if not substantiation:
        raise ValidationFailed(
            {
                "substantiation": [
                    gettext(
                        "Substantiate in writing why further execution cannot reasonably be "
                        "expected on economic grounds (art. 15.3)."
                    )
                ]
            },
            article="15.3",
        )
    agreement = _locked_agreement(pk=agreement.pk)
    roles.require_serves_provider(acting_user, agreement.client.provider, field="agreement")
    _refuse_if_ended(agreement)
    now = now or timezone.now()
    ends_on = _refuse_end_date_in_the_past(agreement, end_date, now, "15.3")
    if agreement.end_date is not None and agreement.end_date <= ends_on:
        raise ApplicationError(
            f"The agreement already ends on {agreement.end_date}.", field="end_date"
        )
    immediate = _end(
        agreement,
        ground=Agreement.Ground.ECONOMIC,
        party=Agreement.Party.PROVIDER,
        reason=substantiation,
        now=now,
        ends_on=ends_on,
    )
    with_history_user(agreement, acting_user).save()
    agreement_termination_given.send(
        sender=Agreement,
        agreement=agreement,
        ground=Agreement.Ground.ECONOMIC,
        ends_on=ends_on,
        immediate=immediate,
        acting_user=acting_user,
        request_restitution=False,
    )
    client = agreement.client
    notify(
        key=f"agreement-economic-termination:{agreement.pk}",
        client=client,
        recipients=_both_sides(client),
        subject=lambda: (
            gettext("Termination on economic grounds: the agreement ends on %(date)s")
            % {"date": ends_on}
        ),
        body=lambda: (
            gettext(
                "%(provider)s terminates the agreement on economic grounds (art. 15.3). It ends "
                "on %(end)s.\n\nSubstantiation:\n%(substantiation)s"
            )
            % {
                "provider": client.provider.legal_name,
                "end": ends_on,
                "substantiation": substantiation,
            }
        ),
    )
    return agreement


# --- Default and termination for cause (art. 15.4-15.6) ------------------------------------
@transaction.atomic
def agreement_notice_of_default(
    *, agreement: Agreement, acting_user: User, text: str, now: dt.datetime | None = None
) -> Agreement:
    """Art. 15.4: "Either Party may terminate the Agreement for cause ... if, after sending the
    most detailed possible written notice of default while allowing a term of ten (10) Working
    Days to remedy the failure, the other party continues to fail to comply."

    Either party sends it: a client admin for the client (the provider is in default), billing
    staff for the provider. The cure deadline is the close of business of the 10th working day
    after the day it is sent, on the provider's calendar, and both sides are told it.
    """
    if not (text or "").strip():
        raise ValidationFailed(
            {"text": [gettext("Describe the failure in as much detail as possible (art. 15.4).")]}
        )
    agreement = _locked_agreement(pk=agreement.pk)
    party = _party_of(acting_user, agreement)
    _refuse_if_ended(agreement)
    provider = agreement.client.provider
    now = now or timezone.now()
    agreement.default_notice_at = now
    agreement.default_remedied_at = None
    agreement.default_notice_by = party
    agreement.default_notice_text = text.strip()
    agreement.cure_deadline = workdays.add_working_days(
        now, provider.cure_period_working_days, provider
    )
    with_history_user(agreement, acting_user).save()
    deadline = (
        f"{agreement.cure_deadline.astimezone(workdays.local_tz(provider)):%Y-%m-%d %H:%M %Z}"
    )
    notify(
        key=f"notice-of-default:{agreement.pk}:{now.timestamp()}",
        client=agreement.client,
        recipients=_both_sides(agreement.client),
        subject=lambda: (
            gettext("Notice of default from the client")
            if party == Agreement.Party.CLIENT
            else gettext("Notice of default from the provider")
        ),
        body=lambda: (
            agreement.default_notice_text
            + "\n\n"
            + (
                gettext(
                    "The provider is to remedy the failure by %(deadline)s (art. 15.4); after "
                    "that the client may terminate the agreement for cause."
                )
                if party == Agreement.Party.CLIENT
                else gettext(
                    "The client is to remedy the failure by %(deadline)s (art. 15.4); after "
                    "that the provider may terminate the agreement for cause."
                )
            )
            % {"deadline": deadline}
        ),
    )
    return agreement


@transaction.atomic
def agreement_default_remedied(
    *, agreement: Agreement, acting_user: User, now: dt.datetime | None = None
) -> Agreement:
    """The party that sent the notice of default records the failure as remedied (art. 15.4:
    termination for cause needs that "the other party continues to fail to comply"): no
    termination for cause follows from that notice any more."""
    agreement = _locked_agreement(pk=agreement.pk)
    party = _party_of(acting_user, agreement)
    _refuse_if_ended(agreement)
    if agreement.default_notice_at is None or agreement.default_notice_by != party:
        raise ApplicationError(
            gettext("Only the party that sent the notice of default records it remedied."),
            field="default_notice_at",
            article="15.4",
        )
    if agreement.default_remedied_at is not None:
        raise ApplicationError(
            gettext("The failure is already recorded as remedied."), field="default_remedied_at"
        )
    agreement.default_remedied_at = now or timezone.now()
    with_history_user(agreement, acting_user).save()
    noticed_on = f"{agreement.default_notice_at:%Y-%m-%d}"
    notify(
        key=f"default-remedied:{agreement.pk}:{agreement.default_remedied_at.timestamp()}",
        client=agreement.client,
        recipients=_both_sides(agreement.client),
        subject=lambda: gettext("Notice of default: the failure is remedied"),
        body=lambda: (
            (
                gettext(
                    "The client recorded the failure named in its notice of default of "
                    "%(date)s as remedied (art. 15.4)."
                )
                if party == Agreement.Party.CLIENT
                else gettext(
                    "The provider recorded the failure named in its notice of default of "
                    "%(date)s as remedied (art. 15.4)."
                )
            )
            % {"date": noticed_on}
        ),
    )
    return agreement


def _refuse_during_cure_period(agreement: Agreement, party: str, now: dt.datetime) -> None:
    """Art. 15.4: termination for cause needs the terminating party's own notice of default,
    whose cure period has run out."""
    if agreement.cure_deadline is None or agreement.default_notice_by != party:
        raise ApplicationError(
            gettext("Send a notice of default first; termination for cause needs it (art. 15.4)."),
            field="cure_deadline",
            article="15.4",
        )
    if agreement.default_remedied_at is not None:
        raise ApplicationError(
            gettext("The failure named in the notice of default was remedied (art. 15.4)."),
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


# The grounds of art. 15.4 and 15.5, after which amounts invoiced become payable (art. 15.6).
FOR_CAUSE = (
    Agreement.Ground.DEFAULT,
    Agreement.Ground.INSOLVENCY,
    Agreement.Ground.FORCE_MAJEURE,
    Agreement.Ground.AUTHORITIES,
)
IMMEDIATE = FOR_CAUSE[1:]


def _force_majeure_relied_on(
    agreement: Agreement, force_majeure: ForceMajeure | None, now: dt.datetime
) -> ForceMajeure:
    """Art. 15.5(b): a situation of force majeure that affects this client and has lasted longer
    than twenty working days (its right is open now)."""
    if force_majeure is None:
        raise ValidationFailed(
            {
                "force_majeure": [
                    gettext("Name the situation of force majeure relied on (art. 15.5(b)).")
                ]
            },
            article="15.5",
        )
    situation = ForceMajeure.objects.filter(
        pk=force_majeure.pk, notices__client=agreement.client
    ).first()
    if situation is None:
        raise ValidationFailed(
            {
                "force_majeure": [
                    gettext("This situation of force majeure does not affect the client.")
                ]
            },
            article="15.5",
        )
    if not situation.termination_right_open(now):
        raise ApplicationError(
            gettext(
                "The situation of force majeure has not lasted longer than 20 working days; "
                "the right to terminate is not open (art. 15.5(b))."
            ),
            field="force_majeure",
            article="15.5",
        )
    return situation


@transaction.atomic
def agreement_terminate_for_cause(
    *,
    agreement: Agreement,
    acting_user: User,
    reason: str = "",
    ground: str = Agreement.Ground.DEFAULT,
    evidence: Any = None,
    force_majeure: ForceMajeure | None = None,
    now: dt.datetime | None = None,
) -> Agreement:
    """Termination for cause by either party (art. 15.4, 15.5), with immediate effect.

    Art. 15.4: after the terminating party's notice of default, once its ten working days to
    remedy have run out. Art. 15.5, "with immediate effect, by registered letter without need for
    notice of default": (a) the other party's suspension of payments, bankruptcy, seizure or
    liquidation; (b) "if the situation of force majeure as referred to in Article 14 lasts longer
    than twenty (20) Working Days"; (c) "if such termination is required by the authorities or
    because of changes to the terms and conditions of Operator(s)". Each is recorded with its
    evidence: a text (`reason`) and/or a document (`evidence`, PDF, PNG or JPEG), the situation
    of force majeure for (b). Then art. 15.6: the amounts invoiced become immediately payable
    (billing does this on `agreement_termination_given`).
    """
    if ground not in FOR_CAUSE:
        raise ValidationFailed(
            {"ground": [gettext("Choose a ground of art. 15.4 or 15.5.")]}, article="15"
        )
    agreement = _locked_agreement(pk=agreement.pk)
    party = _party_of(acting_user, agreement)
    reason = (reason or "").strip()
    if ground == Agreement.Ground.DEFAULT and not reason:
        raise ValidationFailed({"reason": [gettext("Give the cause of termination.")]})
    if ground in (Agreement.Ground.INSOLVENCY, Agreement.Ground.AUTHORITIES) and not (
        reason or evidence
    ):
        raise ValidationFailed(
            {
                "reason": [
                    gettext(
                        "Record the evidence of the ground: describe it, upload a document, "
                        "or both (art. 15.5)."
                    )
                ]
            },
            article="15.5",
        )
    if evidence:
        document_check(evidence, field="evidence", what="The evidence")
    _refuse_if_ended(agreement)
    now = now or timezone.now()
    situation = None
    if ground == Agreement.Ground.DEFAULT:
        _refuse_during_cure_period(agreement, party, now)
    elif ground == Agreement.Ground.FORCE_MAJEURE:
        situation = _force_majeure_relied_on(agreement, force_majeure, now)
    ends_on = local_date(agreement.client.provider, now)
    _end(agreement, ground=ground, party=party, reason=reason, now=now, ends_on=ends_on)
    agreement.termination_force_majeure = situation
    if evidence:
        agreement.termination_evidence.save(
            getattr(evidence, "name", "evidence.pdf"), evidence, save=False
        )
    with_history_user(agreement, acting_user).save()
    agreement_termination_given.send(
        sender=Agreement,
        agreement=agreement,
        ground=ground,
        ends_on=ends_on,
        immediate=True,
        acting_user=acting_user,
        request_restitution=False,
    )
    article = "15.4" if ground == Agreement.Ground.DEFAULT else "15.5"
    notify(
        key=f"agreement-terminated:{agreement.pk}",
        client=agreement.client,
        recipients=_both_sides(agreement.client),
        subject=lambda: gettext("The agreement has been terminated for cause"),
        body=lambda: (
            (
                gettext("The client terminated the agreement for cause on %(date)s (%(ground)s).")
                if party == Agreement.Party.CLIENT
                else gettext(
                    "The provider terminated the agreement for cause on %(date)s (%(ground)s)."
                )
            )
            % {"date": ends_on, "ground": agreement.get_termination_ground_display()}
            + f"\n{reason}\n"
            + gettext(
                "Amounts invoiced for performance already received remain due and are payable "
                "at once (art. 15.6)."
            )
            + "\n"
            + gettext("(art. %(article)s)") % {"article": article}
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
    agreement.termination_ground = Agreement.Ground.OBJECTION
    agreement.terminated_by = Agreement.Party.PROVIDER
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
    *,
    client: Client,
    acting_user: User | None,
    reason: str,
    cause: str | None = None,
    activation_cost: object = None,
) -> int:
    """Resume once the reason is removed (art. 7.3); ends the open suspension(s) of `cause` (all if None).

    "If applicable, the activation costs which CM incurs in this respect will be charged to the
    Client" (art. 7.3): an `activation_cost` above zero (excluding VAT, in the provider's
    currency) is kept on the suspension that ends and sent as `client_cost_incurred`, which
    billing recharges (portal/recharges.py)."""
    if acting_user is not None:
        roles.require_staff(acting_user)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [gettext("Say why the service resumes (art. 7.3).")]})
    cost = None
    if activation_cost not in (None, ""):
        cost = round_money(to_decimal(activation_cost, field="activation_cost"))
        if cost < 0:
            raise ValidationFailed(
                {"activation_cost": [gettext("Activation costs are zero or more (art. 7.3).")]},
                article="7.3",
            )
    Client.objects.select_for_update().get(pk=client.pk)
    open_ = Suspension.objects.filter(client=client, ended_at=None)
    if cause:
        open_ = open_.filter(cause=cause)
    suspensions = list(open_)
    if not suspensions:
        raise ApplicationError(gettext("The client is not suspended."), field="status")
    now = timezone.now()
    for i, suspension in enumerate(sorted(suspensions, key=lambda x: x.pk)):
        suspension.ended_at = now
        suspension.ended_by = acting_user
        suspension.end_reason = reason.strip()
        if i == 0 and cost:
            suspension.activation_cost = cost
            suspension.activation_cost_currency = client.provider.currency
        with_history_user(suspension, acting_user).save()
        if i == 0 and cost:
            client_cost_incurred.send(
                sender=Suspension,
                client=client,
                kind="activation",
                amount=cost,
                currency=suspension.activation_cost_currency,
                source_kind="accounts.suspension",
                source_id=suspension.pk,
                description=f"resumption after the suspension of {suspension.started_at:%Y-%m-%d} "
                f"(cause: {suspension.cause})",
                acting_user=acting_user,
            )
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


# --- Agreed currency and payment term (art. 4.1, 4.5; CX 3) --------------------------------
MAX_PAYMENT_TERM_DAYS = 365


def _clean_agreed_currency(value) -> str:
    """An ISO 4217 code Babel knows (art. 4.1: the agreed currency)."""
    from babel.numbers import list_currencies

    code = str(value or "").strip().upper()
    if len(code) != 3 or code not in list_currencies():
        raise ValidationFailed(
            {
                "currency": [
                    gettext(
                        "The agreed currency is an ISO 4217 code, e.g. EUR, USD or CNY (art. 4.1)."
                    )
                ]
            },
            article="4.1",
        )
    return code


def _clean_payment_term(value) -> int | None:
    """Whole days from 1 to 365, or None (empty) for the profile's term (art. 4.5)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_PAYMENT_TERM_DAYS:
        raise ValidationFailed(
            {
                "payment_term_days": [
                    gettext(
                        "The payment term is a whole number of days from 1 to 365, or empty for "
                        "the profile's term (art. 4.5)."
                    )
                ]
            },
            article="4.5",
        )
    return int(text)


@transaction.atomic
def agreement_commercial_terms_set(
    *, agreement: Agreement, currency, payment_term_days, acting_user: User
) -> Agreement:
    """Billing staff record the agreed currency and payment term of an agreement.

    CX 3: prices are "in the agreed currency (default: USD)"; art. 4.1 (cm-cn): "All prices
    stated are in RMB or RMB equivalents to Euros": the agreement names its currency, and the
    invoices, the wallet and the prices follow it. Art. 4.5: invoices are paid "within
    fourteen (14) days of the invoice date, unless the Agreement explicitly contains different
    payment terms": `payment_term_days` is that different term, None for the profile's.
    Applies to invoices issued from now on; an issued invoice keeps its due date.
    """
    roles.require_billing_staff(acting_user)
    code = _clean_agreed_currency(currency)
    days = _clean_payment_term(payment_term_days)
    agreement = _locked_agreement(pk=agreement.pk)
    roles.require_serves_provider(acting_user, agreement.client.provider, field="agreement")
    _refuse_if_ended(agreement)
    if agreement.currency == code and agreement.payment_term_days == days:
        return agreement
    agreement.currency, agreement.payment_term_days = code, days
    with_history_user(agreement, acting_user).save()
    return agreement

"""Agreements: notice, renewal, termination for cause (art. 15), suspension (art. 7) and
cancellation after an objection to new terms (art. 18.3)."""

import datetime as dt

import pytest

from accounts import selectors
from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Agreement, Client, Notification, Suspension, TermsAcceptance
from accounts.services import agreements, terms
from tests.accounts.clock import PUBLISHED, SHANGHAI, D, noon
from tests.accounts.factories import AgreementFactory, ClientAdminFactory, ClientFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def agreement_for(provider, start: dt.date, **kwargs) -> Agreement:
    client = ClientFactory(provider=provider)
    ClientAdminFactory(client=client)
    return AgreementFactory(client=client, start_date=start, **kwargs)


# --- Notice (art. 15.1-15.2) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "notice_day", "end"),
    [
        # within the initial term: the agreement runs to the end of the initial term
        (D(2026, 1, 15), D(2026, 1, 15), D(2027, 1, 14)),
        (D(2026, 1, 15), D(2026, 10, 14), D(2027, 1, 14)),  # exactly three months before its end
        # within the initial term but less than three months before its end: three months' notice
        (D(2026, 1, 15), D(2026, 10, 15), D(2027, 1, 15)),
        (D(2026, 1, 15), D(2026, 12, 1), D(2027, 3, 1)),
        # after the initial term: three months' notice
        (D(2024, 1, 15), D(2026, 3, 10), D(2026, 6, 10)),
        (D(2024, 1, 15), D(2026, 11, 30), D(2027, 2, 28)),  # month end falls back
    ],
)
@pytest.mark.parametrize("party", ["client", "provider"])
def test_notice_computes_the_end_date(cm, billing_staff, start, notice_day, end, party):
    agreement = agreement_for(cm, start)
    actor = agreement.client.users.get() if party == "client" else billing_staff
    agreements.agreement_give_notice(
        agreement=agreement, party=party, acting_user=actor, reason="Moving on", at=noon(notice_day)
    )
    agreement.refresh_from_db()
    assert agreement.end_date == end
    assert agreement.status == Agreement.Status.NOTICE_GIVEN
    assert agreement.notice_given_by == party
    assert agreement.notice_given_at == noon(notice_day)
    assert agreement.notice_reason == "Moving on"
    assert agreement.history.first().history_user == actor


def test_the_notice_day_is_the_provider_local_day(cm, billing_staff):
    agreement = agreement_for(cm, D(2024, 1, 15))
    # 20:00 UTC on Mar 9 is already Mar 10 in Shenzhen
    agreements.agreement_give_notice(
        agreement=agreement,
        party="provider",
        acting_user=billing_staff,
        at=dt.datetime(2026, 3, 9, 20, 0, tzinfo=dt.UTC),
    )
    agreement.refresh_from_db()
    assert agreement.end_date == D(2026, 6, 10)


def test_notice_tells_both_sides_once(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    agreement = agreement_for(cm, D(2024, 1, 15))
    admin = agreement.client.users.get()
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_give_notice(
            agreement=agreement, party="client", acting_user=admin, at=noon(D(2026, 3, 10))
        )
    assert Notification.objects.filter(key=f"agreement-notice:{agreement.pk}").count() == 1
    assert len(mailoutbox) == 1
    assert {admin.email, agreement.client.billing_email, billing_staff.email} == set(
        mailoutbox[0].to
    )
    assert "2026-06-10" in mailoutbox[0].subject
    with pytest.raises(ApplicationError):
        agreements.agreement_give_notice(
            agreement=agreement, party="client", acting_user=admin, at=noon(D(2026, 4, 1))
        )
    agreement.refresh_from_db()
    assert agreement.end_date == D(2026, 6, 10)


@pytest.mark.parametrize(
    ("party", "role_fixture"),
    [
        ("client", "client_viewer"),
        ("client", "other_admin"),
        ("provider", "client_admin"),
        ("provider", "compliance_officer"),
    ],
)
def test_who_may_give_notice(request, client_company, party, role_fixture):
    user = request.getfixturevalue(role_fixture)
    agreement = client_company.agreement
    with pytest.raises(NotAllowed):
        agreements.agreement_give_notice(agreement=agreement, party=party, acting_user=user)
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.ACTIVE
    assert agreement.end_date is None


def test_an_unknown_party_is_refused(client_company, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_give_notice(
            agreement=client_company.agreement, party="court", acting_user=billing_staff
        )
    assert "party" in exc.value.errors


# --- Renewal job (art. 15.2) -------------------------------------------------------------------------
def test_agreement_renews_at_the_end_of_its_term_and_a_second_run_changes_nothing(cm):
    agreement = agreement_for(cm, D(2025, 1, 15))
    assert agreement.current_term_end == D(2026, 1, 14)
    # on its last day nothing happens
    assert agreements.agreements_roll(today=D(2026, 1, 14)) == {"renewed": 0, "terminated": 0}
    agreement.refresh_from_db()
    assert agreement.current_term_end == D(2026, 1, 14)
    # the day after, it renews for the renewal term
    assert agreements.agreements_roll(today=D(2026, 1, 15)) == {"renewed": 1, "terminated": 0}
    agreement.refresh_from_db()
    assert agreement.current_term_end == D(2027, 1, 14)
    assert agreement.renewals == 1
    assert agreement.status == Agreement.Status.ACTIVE
    # running it again changes nothing
    assert agreements.agreements_roll(today=D(2026, 1, 15)) == {"renewed": 0, "terminated": 0}
    agreement.refresh_from_db()
    assert (agreement.current_term_end, agreement.renewals) == (D(2027, 1, 14), 1)


def test_renewal_uses_the_renewal_term_and_catches_up_missed_runs(cm):
    agreement = agreement_for(
        cm, D(2024, 3, 1), renewal_term_months=6, current_term_end=D(2025, 2, 28)
    )
    agreements.agreements_roll(today=D(2026, 3, 1))
    agreement.refresh_from_db()
    # 2025-08-31, 2026-02-28, 2026-08-31
    assert agreement.current_term_end == D(2026, 8, 31)
    assert agreement.renewals == 3


def test_notice_given_in_time_ends_the_agreement_instead_of_renewing(cm, billing_staff):
    agreement = agreement_for(cm, D(2025, 1, 15))
    agreements.agreement_give_notice(
        agreement=agreement, party="provider", acting_user=billing_staff, at=noon(D(2025, 6, 1))
    )
    agreement.refresh_from_db()
    assert agreement.end_date == D(2026, 1, 14)
    assert agreements.agreements_roll(today=D(2026, 1, 14)) == {"renewed": 0, "terminated": 0}
    assert agreements.agreements_roll(today=D(2026, 1, 15)) == {"renewed": 0, "terminated": 1}
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.terminated_at is not None
    assert agreement.current_term_end == D(2026, 1, 14)
    assert agreement.renewals == 0
    assert agreements.agreements_roll(today=D(2026, 1, 16)) == {"renewed": 0, "terminated": 0}
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert not selectors.messaging_allowed(client=agreement.client)


def test_notice_after_the_initial_term_ends_mid_term(cm, billing_staff):
    agreement = agreement_for(cm, D(2024, 1, 15), current_term_end=D(2027, 1, 14), renewals=2)
    agreements.agreement_give_notice(
        agreement=agreement, party="provider", acting_user=billing_staff, at=noon(D(2026, 3, 10))
    )
    assert agreements.agreements_roll(today=D(2026, 6, 10))["terminated"] == 0
    assert agreements.agreements_roll(today=D(2026, 6, 11))["terminated"] == 1
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED


def test_the_renewal_job_is_registered(client_company):
    from accounts.jobs import JOBS

    result = JOBS["agreements_roll"]()
    assert set(result) == {"renewed", "terminated"}


# --- Termination for cause (art. 15.4, 15.5) ------------------------------------------------------------
def test_termination_for_cause_waits_for_the_ten_working_day_cure_period(
    client_company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    agreement = client_company.agreement
    sent = noon(D(2026, 9, 29))
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_notice_of_default(
            agreement=agreement, acting_user=billing_staff, text="Unpaid invoices", now=sent
        )
    agreement.refresh_from_db()
    # Sep 30, (National Day), Oct 8, 9, Sat 10 (make-up), 12, 13, 14, 15, 16, 19
    deadline = dt.datetime(2026, 10, 19, 17, 30, tzinfo=SHANGHAI)
    assert agreement.default_notice_at == sent
    assert agreement.default_notice_text == "Unpaid invoices"
    assert agreement.cure_deadline == deadline
    assert len(mailoutbox) == 1
    assert client_admin.email in mailoutbox[0].to
    assert "2026-10-19 17:30" in mailoutbox[0].body

    for moment in (sent, deadline - dt.timedelta(days=1), deadline):
        with pytest.raises(ApplicationError) as exc:
            agreements.agreement_terminate_for_cause(
                agreement=agreement, acting_user=billing_staff, reason="Still unpaid", now=moment
            )
        assert exc.value.field == "cure_deadline"
        agreement.refresh_from_db()
        assert agreement.status == Agreement.Status.ACTIVE
        assert agreement.terminated_at is None

    after = deadline + dt.timedelta(seconds=1)
    agreements.agreement_terminate_for_cause(
        agreement=agreement, acting_user=billing_staff, reason="Still unpaid", now=after
    )
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.terminated_at == after
    assert agreement.end_date == D(2026, 10, 19)
    assert agreement.termination_reason == "Still unpaid"
    assert Notification.objects.filter(key=f"agreement-terminated:{agreement.pk}").count() == 1
    assert not selectors.messaging_allowed(client=client_company)


def test_termination_for_cause_needs_a_notice_of_default(client_company, billing_staff):
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client_company.agreement, acting_user=billing_staff, reason="Breach"
        )
    assert exc.value.field == "cure_deadline"
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE


def test_immediate_termination_needs_no_notice_of_default(client_company, billing_staff):
    # art. 15.5: e.g. bankruptcy, force majeure beyond 20 working days
    agreements.agreement_terminate_for_cause(
        agreement=client_company.agreement,
        acting_user=billing_staff,
        reason="Bankruptcy declared",
        ground=Agreement.Ground.INSOLVENCY,
    )
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.status == Agreement.Status.TERMINATED
    assert "15.5" in Notification.objects.get(key=f"agreement-terminated:{agreement.pk}").body
    with pytest.raises(ApplicationError):
        agreements.agreement_terminate_for_cause(
            agreement=agreement,
            acting_user=billing_staff,
            reason="Again",
            ground="insolvency_15_5a",
        )


# Either party may send a notice of default and terminate for cause (art. 15.4, 15.5): a client
# admin for the client, billing staff for the provider; no one else.
@pytest.mark.parametrize("role_fixture", ["client_viewer", "other_admin", "compliance_officer"])
def test_who_may_terminate_or_send_notices_of_default(request, client_company, role_fixture):
    user = request.getfixturevalue(role_fixture)
    with pytest.raises(NotAllowed):
        agreements.agreement_notice_of_default(
            agreement=client_company.agreement, acting_user=user, text="x"
        )
    with pytest.raises(NotAllowed):
        agreements.agreement_terminate_for_cause(
            agreement=client_company.agreement,
            acting_user=user,
            reason="x",
            ground="insolvency_15_5a",
        )
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE
    assert client_company.agreement.default_notice_at is None


def test_notice_of_default_and_termination_need_text(client_company, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_notice_of_default(
            agreement=client_company.agreement, acting_user=billing_staff, text=" "
        )
    assert "text" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client_company.agreement,
            acting_user=billing_staff,
            reason="",
            ground="insolvency_15_5a",
        )
    assert "reason" in exc.value.errors
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.cure_deadline is None
    assert client_company.agreement.status == Agreement.Status.ACTIVE


# --- Suspension and resumption (art. 7) ------------------------------------------------------------------
def test_suspension_and_resumption_with_reasons_told_to_the_client(
    client_company,
    client_admin,
    client_viewer,
    billing_staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    assert selectors.messaging_allowed(client=client_company)
    with django_capture_on_commit_callbacks(execute=True):
        suspension = agreements.client_suspend(
            client=client_company,
            cause=Suspension.Cause.BREACH,
            reason="Unsolicited traffic",
            acting_user=billing_staff,
        )
    suspension.refresh_from_db()
    assert suspension.started_by == billing_staff
    assert suspension.reason == "Unsolicited traffic"
    assert suspension.ended_at is None
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.SUSPENDED
    assert selectors.client_is_suspended(client=client_company)
    assert not selectors.messaging_allowed(client=client_company)
    assert len(mailoutbox) == 1
    assert {client_admin.email, client_viewer.email} <= set(mailoutbox[0].to)
    assert "Unsolicited traffic" in mailoutbox[0].body
    assert "liable" in mailoutbox[0].body  # art. 7.2

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            agreements.client_resume(
                client=client_company, acting_user=billing_staff, reason="Traffic cleaned up"
            )
            == 1
        )
    suspension.refresh_from_db()
    assert suspension.ended_at is not None
    assert suspension.ended_by == billing_staff
    assert suspension.end_reason == "Traffic cleaned up"
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE
    assert selectors.messaging_allowed(client=client_company)
    assert len(mailoutbox) == 2
    assert "resumed" in mailoutbox[1].subject
    assert "Traffic cleaned up" in mailoutbox[1].body


def test_resumption_keeps_a_notice_already_given(client_company, client_admin, billing_staff):
    agreements.agreement_give_notice(
        agreement=client_company.agreement, party="client", acting_user=client_admin
    )
    agreements.client_suspend(
        client=client_company,
        cause="non_payment",
        reason="Invoice overdue",
        acting_user=billing_staff,
    )
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.SUSPENDED
    agreements.client_resume(client=client_company, acting_user=billing_staff, reason="Paid")
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.NOTICE_GIVEN


def test_the_service_stays_suspended_while_another_cause_remains(client_company, billing_staff):
    agreements.client_suspend(
        client=client_company,
        cause="non_payment",
        reason="Invoice overdue",
        acting_user=billing_staff,
    )
    agreements.client_suspend(
        client=client_company, cause="breach", reason="Spam", acting_user=billing_staff
    )
    agreements.client_resume(
        client=client_company, acting_user=billing_staff, reason="Paid", cause="non_payment"
    )
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.SUSPENDED
    assert not selectors.messaging_allowed(client=client_company)
    assert list(
        selectors.client_open_suspensions(client=client_company).values_list("cause", flat=True)
    ) == ["breach"]
    agreements.client_resume(
        client=client_company, acting_user=billing_staff, reason="Stopped", cause="breach"
    )
    assert selectors.messaging_allowed(client=client_company)


def test_suspension_rules(client_company, client_admin, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        agreements.client_suspend(
            client=client_company, cause="breach", reason=" ", acting_user=billing_staff
        )
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        agreements.client_suspend(
            client=client_company, cause="whim", reason="x", acting_user=billing_staff
        )
    assert "cause" in exc.value.errors
    with pytest.raises(NotAllowed):
        agreements.client_suspend(
            client=client_company, cause="breach", reason="x", acting_user=client_admin
        )
    assert not Suspension.objects.exists()
    agreements.client_suspend(
        client=client_company, cause="breach", reason="x", acting_user=billing_staff
    )
    with pytest.raises(Conflict):
        agreements.client_suspend(
            client=client_company, cause="breach", reason="again", acting_user=billing_staff
        )
    assert Suspension.objects.count() == 1
    with pytest.raises(ValidationFailed):
        agreements.client_resume(client=client_company, acting_user=billing_staff, reason="")
    with pytest.raises(NotAllowed):
        agreements.client_resume(
            client=client_company, acting_user=client_admin, reason="We fixed it"
        )
    assert selectors.client_is_suspended(client=client_company)


def test_resuming_a_client_that_is_not_suspended_is_refused(client_company, billing_staff):
    with pytest.raises(ApplicationError):
        agreements.client_resume(client=client_company, acting_user=billing_staff, reason="x")


def test_messaging_is_not_allowed_for_a_pending_client(cm):
    client = ClientFactory(provider=cm, status=Client.Status.PENDING)
    assert not selectors.messaging_allowed(client=client)


# --- Cancellation after objection (art. 18.3) -------------------------------------------------------------
def test_staff_may_cancel_on_one_months_notice_after_an_objection(
    published,
    client_company,
    client_admin,
    billing_staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    terms.terms_object(acceptance=acceptance, acting_user=client_admin, reason="No", now=PUBLISHED)
    mailoutbox.clear()
    cancelled_at = noon(D(2026, 4, 20))
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_cancel_after_objection(
            acceptance=acceptance, acting_user=billing_staff, now=cancelled_at
        )
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.status == Agreement.Status.NOTICE_GIVEN
    assert agreement.notice_given_by == Agreement.Party.PROVIDER
    assert agreement.notice_given_at == cancelled_at
    assert agreement.end_date == D(2026, 5, 20)
    assert "2026.1" in agreement.notice_reason
    assert len(mailoutbox) == 1
    assert client_admin.email in mailoutbox[0].to
    assert "2026-05-20" in mailoutbox[0].subject
    # the roll job ends it after its last day
    assert agreements.agreements_roll(today=D(2026, 5, 21))["terminated"] >= 1
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED


def test_cancellation_needs_an_objection(published, client_company, billing_staff):
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    with pytest.raises(ApplicationError):
        agreements.agreement_cancel_after_objection(
            acceptance=acceptance, acting_user=billing_staff
        )
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.status == Agreement.Status.ACTIVE
    assert agreement.end_date is None


def test_cancellation_never_extends_an_earlier_notice(
    published, client_company, client_admin, billing_staff
):
    agreement = Agreement.objects.get(client=client_company)
    agreement.start_date = D(2024, 1, 15)
    agreement.save()
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    terms.terms_object(acceptance=acceptance, acting_user=client_admin, reason="No", now=PUBLISHED)
    agreements.agreement_give_notice(
        agreement=agreement, party="client", acting_user=client_admin, at=noon(D(2026, 3, 11))
    )
    agreement.refresh_from_db()
    assert agreement.end_date == D(2026, 6, 11)
    # one month's notice from May 20 would end it on Jun 20: later than the client's own notice
    with pytest.raises(ApplicationError):
        agreements.agreement_cancel_after_objection(
            acceptance=acceptance, acting_user=billing_staff, now=noon(D(2026, 5, 20))
        )
    agreement.refresh_from_db()
    assert agreement.end_date == D(2026, 6, 11)
    assert agreement.notice_given_by == Agreement.Party.CLIENT


def test_only_billing_staff_cancel_after_an_objection(
    published, client_company, client_admin, compliance_officer
):
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    terms.terms_object(acceptance=acceptance, acting_user=client_admin, reason="No", now=PUBLISHED)
    for user in (client_admin, compliance_officer):
        with pytest.raises(NotAllowed):
            agreements.agreement_cancel_after_objection(acceptance=acceptance, acting_user=user)
    assert Agreement.objects.get(client=client_company).end_date is None

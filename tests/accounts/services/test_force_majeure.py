"""Force majeure (art. 14.2, 15.5(b)): the 10-working-day notice and the 20-working-day
termination right at their edges, on both calendars, and the job that flags notices."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.models import ForceMajeureNotice, Notification, WorkdayOverride
from accounts.selectors import force_majeure_countdown, force_majeure_termination_rights
from accounts.services import force_majeure as fm
from tests.accounts.clock import AMSTERDAM, SHANGHAI
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ComplianceOfficerFactory,
)


@pytest.fixture
def now(monkeypatch):
    """Move the clock: `now.set(moment)`."""

    class Clock:
        moment = dt.datetime(2027, 6, 1, 9, tzinfo=dt.UTC)

        def set(self, moment):
            self.moment = moment

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.moment)
    return clock


def _client(provider):
    client = ClientFactory(provider=provider)
    AgreementFactory(client=client)
    ClientAdminFactory(client=client)
    return client


def _log(provider, started_at, clients, user=None):
    return fm.force_majeure_log(
        provider=provider,
        started_at=started_at,
        description="Operator network outage",
        services_affected="SMS",
        affected_clients=clients,
        acting_user=user or BillingStaffFactory(),
    )


# --- art. 14.2 on the Chinese calendar: a start just before the Spring Festival 2027 ----------
@pytest.mark.django_db
def test_notice_deadline_skips_the_spring_festival_2027_as_the_holidays_package_knows_it(cm, now):
    # given a situation that arose on Thu 4 Feb 2027; the package has 5-10 Feb off (Eve, the
    # festival and its observed days) and no make-up working weekend in 2027
    client = _client(cm)
    situation = _log(cm, dt.datetime(2027, 2, 4, 16, tzinfo=SHANGHAI), [client])
    notice = situation.notices.get()
    # then the 10th working day after it is Wed 24 Feb (11, 12, 15-19, 22-24), close of business
    assert notice.deadline == dt.datetime(2027, 2, 24, 17, 30, tzinfo=SHANGHAI)


@pytest.mark.django_db
def test_staffs_calendar_correction_for_feb_11_12_moves_the_notice_deadline(cm, now):
    # given staff's correction: 11-12 Feb 2027 off too (the festival as announced, 6-14 Feb),
    # and a make-up working Saturday 20 Feb
    for day in (dt.date(2027, 2, 11), dt.date(2027, 2, 12)):
        WorkdayOverride.objects.create(provider=cm, day=day, kind=WorkdayOverride.Kind.DAY_OFF)
    WorkdayOverride.objects.create(
        provider=cm, day=dt.date(2027, 2, 20), kind=WorkdayOverride.Kind.WORKING_DAY
    )
    situation = _log(cm, dt.datetime(2027, 2, 4, 9, tzinfo=SHANGHAI), [_client(cm)])
    # then: 15-19 (5), Sat 20 (6), 22-25 (10)
    assert situation.notices.get().deadline == dt.datetime(2027, 2, 25, 17, 30, tzinfo=SHANGHAI)


@pytest.mark.django_db
def test_notice_deadline_on_the_dutch_calendar_skips_kings_day(cx, now):
    # given a CXENGAGE situation that arose on Mon 26 Apr 2027 (King's Day Tue 27, Ascension 6 May)
    situation = _log(cx, dt.datetime(2027, 4, 26, 8, tzinfo=AMSTERDAM), [_client(cx)])
    # then 28, 29, 30, 3, 4, 5, 7, 10, 11, 12 May: Wed 12 May at 17:00 Amsterdam
    assert situation.notices.get().deadline == dt.datetime(2027, 5, 12, 17, tzinfo=AMSTERDAM)


@pytest.mark.django_db
def test_the_countdown_counts_working_days_and_turns_overdue_after_the_deadline(cm, now):
    situation = _log(cm, dt.datetime(2027, 2, 4, 16, tzinfo=SHANGHAI), [_client(cm)])
    notice = situation.notices.select_related("situation__provider").get()
    # on Tue 23 Feb 10:00 one working day (24 Feb) remains
    assert force_majeure_countdown(notice, dt.datetime(2027, 2, 23, 10, tzinfo=SHANGHAI))[
        "text"
    ] == ("1 working day left")
    # on the last day before close of business: due today, not overdue
    last = force_majeure_countdown(notice, dt.datetime(2027, 2, 24, 17, 29, tzinfo=SHANGHAI))
    assert (last["text"], last["overdue"]) == ("due today", False)
    # a minute after close of business it is overdue
    assert force_majeure_countdown(notice, dt.datetime(2027, 2, 24, 17, 31, tzinfo=SHANGHAI))[
        "overdue"
    ]
    notice.notified_at = timezone.now()
    assert force_majeure_countdown(notice) is None


# --- art. 15.5(b): longer than 20 working days ----------------------------------------------
@pytest.mark.django_db
def test_the_termination_right_opens_after_20_working_days_past_the_spring_festival(cm, now):
    client = _client(cm)
    situation = _log(cm, dt.datetime(2027, 2, 4, 16, tzinfo=SHANGHAI), [client])
    # 20 working days after Thu 4 Feb: 11, 12, 15-19, 22-26, 1-5, 8-10 March -> Wed 10 March
    opens = dt.datetime(2027, 3, 10, 17, 30, tzinfo=SHANGHAI)
    assert situation.termination_right_from == opens
    assert not situation.termination_right_open(opens - dt.timedelta(minutes=1))
    assert situation.termination_right_open(opens)
    rights = force_majeure_termination_rights(client=client, now=opens + dt.timedelta(hours=1))
    assert [(r["open"], r["from"]) for r in rights] == [(True, opens)]


@pytest.mark.django_db
def test_a_situation_that_ended_within_20_working_days_gives_no_termination_right(cx, now):
    client = _client(cx)
    now.set(dt.datetime(2027, 4, 26, 8, tzinfo=AMSTERDAM))
    situation = _log(cx, dt.datetime(2027, 4, 26, 8, tzinfo=AMSTERDAM), [client])
    # 20 working days after Mon 26 Apr on the Dutch calendar (King's Day 27 Apr, Ascension 6 May
    # and Pentecost Monday 17 May off): Thu 27 May, close of business
    assert situation.termination_right_from == dt.datetime(2027, 5, 27, 17, tzinfo=AMSTERDAM)
    # ended a minute before: it never lasted longer than 20 working days
    now.set(dt.datetime(2027, 5, 27, 16, 59, tzinfo=AMSTERDAM))
    fm.force_majeure_end(situation=situation, ended_at=None, acting_user=BillingStaffFactory())
    situation.refresh_from_db()
    assert not situation.termination_right_open(dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
    assert force_majeure_termination_rights(client=client) == []


# --- logging and notifying ------------------------------------------------------------------
@pytest.mark.django_db
def test_logging_refuses_a_future_start_no_clients_and_another_providers_client(cm, cx, now):
    staff = BillingStaffFactory(providers=[cm])
    with pytest.raises(ValidationFailed) as exc:
        fm.force_majeure_log(
            provider=cm,
            started_at=now.moment + dt.timedelta(days=1),
            description="",
            services_affected="SMS",
            affected_clients=[],
            acting_user=staff,
        )
    assert set(exc.value.errors) == {"started_at", "description", "affected_clients"}
    with pytest.raises(ValidationFailed) as exc:
        _log(cm, now.moment, [_client(cx)], user=staff)
    assert "affected_clients" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        _log(cx, now.moment, [_client(cx)], user=staff)
    assert "provider" in exc.value.errors
    with pytest.raises(NotAllowed):
        _log(cm, now.moment, [_client(cm)], user=ClientAdminFactory(client=_client(cm)))


@pytest.mark.django_db(transaction=False)
def test_notifying_a_client_sends_its_admins_the_notice_once(
    cm, now, django_capture_on_commit_callbacks
):
    client = _client(cm)
    officer = ComplianceOfficerFactory()
    notice = _log(cm, now.moment, [client], user=officer).notices.get()
    with django_capture_on_commit_callbacks(execute=True):
        fm.force_majeure_notify_client(
            notice=notice, message="Outage at the operator", acting_user=officer
        )
    notice.refresh_from_db()
    assert notice.notified_at == now.moment and notice.notified_by == officer
    assert len(mail.outbox) == 1 and "art. 15.5(b)" in mail.outbox[0].body
    with pytest.raises(Exception, match="already been notified"):
        fm.force_majeure_notify_client(notice=notice, message="Again", acting_user=officer)


@pytest.mark.django_db
def test_the_job_flags_notices_near_and_past_the_deadline_once_each(cm, cx, now):
    cm_client = _client(cm)
    BillingStaffFactory(providers=[cm], email="cm-billing@example.test")
    BillingStaffFactory(providers=[cx], email="cx-billing@example.test")
    situation = _log(cm, dt.datetime(2027, 2, 4, 16, tzinfo=SHANGHAI), [cm_client])
    notice = situation.notices.get()
    # Fri 19 Feb: 3 working days left (22, 23, 24): not near yet
    assert fm.force_majeure_deadlines_flag(now=dt.datetime(2027, 2, 19, 10, tzinfo=SHANGHAI)) == {
        "near": 0,
        "missed": 0,
    }
    # Mon 22 Feb: 2 left -> near, once
    monday = dt.datetime(2027, 2, 22, 10, tzinfo=SHANGHAI)
    assert fm.force_majeure_deadlines_flag(now=monday) == {"near": 1, "missed": 0}
    assert fm.force_majeure_deadlines_flag(now=monday) == {"near": 0, "missed": 0}
    # after close of business on 24 Feb -> missed, once
    late = dt.datetime(2027, 2, 24, 17, 31, tzinfo=SHANGHAI)
    assert fm.force_majeure_deadlines_flag(now=late) == {"near": 0, "missed": 1}
    assert fm.force_majeure_deadlines_flag(now=late) == {"near": 0, "missed": 0}
    notice.refresh_from_db()
    assert notice.escalated_near_at and notice.escalated_missed_at
    rows = Notification.objects.filter(key__startswith="force-majeure-")
    # the CM staff are told; the other provider's staff never (one row per language read:
    # the staff member's English, the team mailbox's profile default)
    assert all("cx-billing@example.test" not in r.recipients for r in rows)
    for kind in ("near", "missed"):
        told = {
            e for r in rows.filter(key__startswith=f"force-majeure-{kind}:") for e in r.recipients
        }
        assert "cm-billing@example.test" in told
    assert {r.key.split("#")[0] for r in rows} == {
        f"force-majeure-near:{notice.pk}",
        f"force-majeure-missed:{notice.pk}",
    }


@pytest.mark.django_db
def test_a_sent_notice_is_not_flagged(cm, now):
    situation = _log(cm, dt.datetime(2027, 2, 4, 16, tzinfo=SHANGHAI), [_client(cm)])
    ForceMajeureNotice.objects.filter(situation=situation).update(notified_at=now.moment)
    late = dt.datetime(2027, 3, 1, tzinfo=SHANGHAI)
    assert fm.force_majeure_deadlines_flag(now=late) == {"near": 0, "missed": 0}


@pytest.mark.django_db
def test_staff_of_the_other_provider_may_not_notify_or_end(cm, cx, now):
    situation = _log(cm, now.moment, [_client(cm)])
    outsider = BillingStaffFactory(providers=[cx])
    with pytest.raises(ValidationFailed):
        fm.force_majeure_notify_client(
            notice=situation.notices.get(), message="Hello", acting_user=outsider
        )
    with pytest.raises(ValidationFailed):
        fm.force_majeure_end(situation=situation, ended_at=None, acting_user=outsider)
    situation.refresh_from_db()
    assert situation.ended_at is None and situation.notices.get().notified_at is None

"""Personal-data breaches (art. 21.11): 48 clock hours from awareness, notice sent and recorded,
escalation once near and once missed, updates and root cause."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Notification
from dataprocessing import selectors
from dataprocessing.models import Breach
from dataprocessing.services import breaches

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


FRIDAY_EVENING = dt.datetime(2026, 11, 20, 19, 0, tzinfo=AMSTERDAM)


def log(provider, user, clients, **kw):
    data = {
        "detected_at": FRIDAY_EVENING,
        "description": "An API key leaked",
        "data_types": "phone numbers, message content",
        "approx_subjects": 1200,
        "measures": "Key revoked",
        "affected_clients": clients,
    }
    data.update(kw)
    return breaches.breach_log(provider=provider, acting_user=user, **data)


def test_a_breach_detected_on_friday_evening_is_due_on_sunday_evening(
    cx, nl_company, compliance_officer
):
    breach = log(cx, compliance_officer, [nl_company])
    notice = breach.notifications.get()
    assert notice.deadline == dt.datetime(2026, 11, 22, 19, 0, tzinfo=AMSTERDAM)
    assert breach.aware_at == FRIDAY_EVENING


def test_the_clock_starts_at_awareness_and_counts_hours_from_the_profile(
    cm, client_company, other_company, compliance_officer
):
    cm.breach_notice_hours = 24
    cm.save()
    aware = FRIDAY_EVENING + dt.timedelta(hours=3)
    breach = log(cm, compliance_officer, [client_company, other_company], aware_at=aware)
    assert [n.deadline for n in breach.notifications.all()] == [aware + dt.timedelta(hours=24)] * 2


def test_the_48_hours_are_clock_hours_across_the_end_of_summer_time(
    cx, nl_company, compliance_officer
):
    # Saturday 24 Oct 2026 12:00 CEST; the clocks go back on Sunday: due Monday 11:00 CET
    aware = dt.datetime(2026, 10, 24, 12, 0, tzinfo=AMSTERDAM)
    notice = log(cx, compliance_officer, [nl_company], detected_at=aware).notifications.get()
    assert notice.deadline.astimezone(AMSTERDAM).replace(tzinfo=None) == dt.datetime(
        2026, 10, 26, 11, 0
    )


def test_a_breach_needs_its_facts_and_affected_clients_of_the_same_provider(
    cm, nl_company, compliance_officer
):
    with pytest.raises(ValidationFailed) as exc:
        log(cm, compliance_officer, [], description="", approx_subjects=-1)
    assert set(exc.value.errors) == {"description", "approx_subjects", "affected_clients"}
    with pytest.raises(ValidationFailed) as exc:
        log(cm, compliance_officer, [nl_company])
    assert exc.value.field == "affected_clients"
    with pytest.raises(ValidationFailed) as exc:
        log(cm, compliance_officer, [nl_company], aware_at=FRIDAY_EVENING - dt.timedelta(hours=1))
    assert "aware_at" in exc.value.errors
    assert not Breach.objects.exists()


def test_only_a_compliance_officer_logs_a_breach(cm, client_company, client_admin, billing_staff):
    for user in (client_admin, billing_staff):
        with pytest.raises(NotAllowed):
            log(cm, user, [client_company])


def test_the_notice_is_sent_from_the_portal_to_the_clients_admins_and_recorded(
    cm,
    client_company,
    client_admin,
    other_admin,
    other_company,
    compliance_officer,
    django_capture_on_commit_callbacks,
):
    breach = log(cm, compliance_officer, [client_company, other_company])
    notice = breach.notifications.get(client=client_company)
    with django_capture_on_commit_callbacks(execute=True):
        breaches.breach_notify_client(
            notification=notice, message="We detected a leak.", acting_user=compliance_officer
        )
    notice.refresh_from_db()
    assert notice.notified_by == compliance_officer and notice.message == "We detected a leak."
    assert [m.to for m in mail.outbox] == [[client_admin.email]]
    assert "1200" in mail.outbox[0].body and "21.11" in mail.outbox[0].body
    assert Notification.objects.filter(
        key=f"breach-notice:{notice.pk}", client=client_company
    ).exists()
    with pytest.raises(Conflict):
        breaches.breach_notify_client(
            notification=notice, message="again", acting_user=compliance_officer
        )


def test_an_empty_notice_is_refused(cm, client_company, compliance_officer):
    notice = log(cm, compliance_officer, [client_company]).notifications.get()
    with pytest.raises(ValidationFailed):
        breaches.breach_notify_client(
            notification=notice, message=" ", acting_user=compliance_officer
        )
    notice.refresh_from_db()
    assert notice.notified_at is None


def test_escalation_once_when_near_and_once_when_missed(
    cx, nl_company, compliance_officer, django_capture_on_commit_callbacks
):
    notice = log(cx, compliance_officer, [nl_company]).notifications.get()
    deadline = notice.deadline
    with django_capture_on_commit_callbacks(execute=True):
        assert breaches.breach_deadlines_escalate(
            now=deadline - dt.timedelta(hours=12, minutes=1)
        ) == {"near": 0, "missed": 0}
        assert breaches.breach_deadlines_escalate(now=deadline - dt.timedelta(hours=11)) == {
            "near": 1,
            "missed": 0,
        }
        assert breaches.breach_deadlines_escalate(now=deadline - dt.timedelta(hours=2)) == {
            "near": 0,
            "missed": 0,
        }
        assert breaches.breach_deadlines_escalate(now=deadline) == {"near": 0, "missed": 1}
        assert breaches.breach_deadlines_escalate(now=deadline + dt.timedelta(hours=5)) == {
            "near": 0,
            "missed": 0,
        }
    assert len(mail.outbox) == 2
    assert all(m.to == [compliance_officer.email] for m in mail.outbox)
    assert "MISSED" in mail.outbox[1].subject
    notice.refresh_from_db()
    assert notice.escalated_near_at and notice.escalated_missed_at


def test_a_notified_client_is_not_escalated(cx, nl_company, compliance_officer):
    notice = log(cx, compliance_officer, [nl_company]).notifications.get()
    breaches.breach_notify_client(
        notification=notice, message="Notice", acting_user=compliance_officer
    )
    assert breaches.breach_deadlines_escalate(now=notice.deadline + dt.timedelta(hours=1)) == {
        "near": 0,
        "missed": 0,
    }


def test_updates_reach_notified_clients_and_the_root_cause_closes_the_breach(
    cm,
    client_company,
    client_admin,
    other_company,
    compliance_officer,
    django_capture_on_commit_callbacks,
):
    breach = log(cm, compliance_officer, [client_company, other_company])
    breaches.breach_notify_client(
        notification=breach.notifications.get(client=client_company),
        message="Notice",
        acting_user=compliance_officer,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        breaches.breach_add_update(
            breach=breach, text="Logs show 300 subjects", acting_user=compliance_officer
        )
    assert [m.to for m in mail.outbox] == [[client_admin.email]]
    with pytest.raises(ApplicationError) as exc:
        breaches.breach_close(breach=breach, acting_user=compliance_officer)
    assert exc.value.field == "notifications"
    breaches.breach_notify_client(
        notification=breach.notifications.get(client=other_company),
        message="Notice",
        acting_user=compliance_officer,
    )
    with pytest.raises(ApplicationError) as exc:
        breaches.breach_close(breach=breach, acting_user=compliance_officer)
    assert exc.value.field == "root_cause"
    breaches.breach_set_root_cause(
        breach=breach, root_cause="Key in a public repo", acting_user=compliance_officer
    )
    breach = breaches.breach_close(breach=breach, acting_user=compliance_officer)
    assert breach.closed_at and breach.root_cause == "Key in a public repo"
    assert breach.updates.count() == 1


def test_a_client_sees_only_breaches_it_was_notified_of_and_only_its_own_notice(
    cm, client_company, other_company, client_admin, other_admin, compliance_officer
):
    breach = log(cm, compliance_officer, [client_company, other_company])
    assert list(selectors.breach_list(user=client_admin)) == []
    breaches.breach_notify_client(
        notification=breach.notifications.get(client=client_company),
        message="Notice",
        acting_user=compliance_officer,
    )
    assert list(selectors.breach_list(user=client_admin)) == [breach]
    assert list(selectors.breach_list(user=other_admin)) == []
    assert [n.client for n in selectors.breach_notification_list(user=client_admin)] == [
        client_company
    ]
    assert selectors.breach_notification_list(user=other_admin).count() == 0
    assert selectors.breach_notification_list(user=compliance_officer, pending=True).count() == 1


def test_the_countdown_shows_the_hours_left(cx, nl_company, compliance_officer):
    notice = log(cx, compliance_officer, [nl_company]).notifications.get()
    countdown = selectors.breach_notice_countdown(
        notice, now=FRIDAY_EVENING + dt.timedelta(hours=36)
    )
    assert countdown["hours"] == 12
    assert countdown["text"] == "12 h 00 min left" and not countdown["overdue"]
    # past the 48 hours the countdown turns negative and says so
    missed = selectors.breach_notice_countdown(
        notice, now=notice.deadline + dt.timedelta(hours=3, minutes=5)
    )
    assert missed["overdue"] and missed["text"] == "overdue by 3 h 05 min"
    # once the client is notified there is nothing left to count
    notice = breaches.breach_notify_client(
        notification=notice, message="Notice", acting_user=compliance_officer
    )
    assert selectors.breach_notice_countdown(notice) is None

"""Data requests (art. 5.6): the client provides its registration data within 3 working days."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import DataRequest, Notification, WorkdayOverride
from accounts.services import data_requests
from tests.accounts.clock import AMSTERDAM, SHANGHAI
from tests.accounts.factories import ClientAdminFactory, ClientFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def log(client, staff, now, **kwargs):
    return data_requests.data_request_log(
        client=client,
        acting_user=staff,
        requested_by=kwargs.pop("requested_by", "China Mobile Guangdong"),
        description=kwargs.pop("description", "Business licence and directors of the sender"),
        now=now,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("logged", "due"),
    [
        # Friday Sep 18: the make-up Sunday Sep 20 counts, then Mon 21 and Tue 22
        (
            dt.datetime(2026, 9, 18, 16, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 9, 22, 17, 30, tzinfo=SHANGHAI),
        ),
        # Friday Sep 25 (Mid-Autumn Festival, the Friday before National Day): Mon 28 - Wed 30
        (
            dt.datetime(2026, 9, 25, 9, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 9, 30, 17, 30, tzinfo=SHANGHAI),
        ),
        # Tuesday Sep 29: Wed 30, then after the break Thu Oct 8 and Fri Oct 9
        (
            dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 10, 9, 17, 30, tzinfo=SHANGHAI),
        ),
        # Wednesday Sep 30, the last day before National Day: Oct 8, Oct 9 and the make-up Saturday Oct 10
        (
            dt.datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 10, 10, 17, 30, tzinfo=SHANGHAI),
        ),
        # Late on Tuesday Sep 29 in UTC is already Wednesday Sep 30 in Shenzhen
        (
            dt.datetime(2026, 9, 29, 20, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 10, 17, 30, tzinfo=SHANGHAI),
        ),
    ],
)
def test_due_three_working_days_later_in_the_chinese_calendar(
    client_company, billing_staff, logged, due
):
    request = log(client_company, billing_staff, logged)
    request.refresh_from_db()
    assert request.logged_at == logged
    assert request.due_at == due
    assert request.status == DataRequest.Status.OPEN
    assert request.logged_by == billing_staff


def test_due_three_working_days_later_in_the_dutch_calendar(cx, compliance_officer):
    client = ClientFactory(provider=cx)
    # Thursday Apr 23 2026: Fri 24, (King's Day Mon 27), Tue 28, Wed 29 at 17:00 Amsterdam
    request = log(client, compliance_officer, dt.datetime(2026, 4, 23, 10, 0, tzinfo=AMSTERDAM))
    request.refresh_from_db()
    assert request.due_at == dt.datetime(2026, 4, 29, 17, 0, tzinfo=AMSTERDAM)


def test_the_deadline_follows_the_profile_numbers_and_overrides(cm, client_company, billing_staff):
    WorkdayOverride.objects.create(
        provider=cm, day=dt.date(2026, 10, 9), kind=WorkdayOverride.Kind.DAY_OFF
    )
    request = log(client_company, billing_staff, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI))
    assert request.due_at == dt.datetime(2026, 10, 10, 17, 30, tzinfo=SHANGHAI)
    cm.registration_data_working_days = 1
    cm.save()
    client_company.refresh_from_db()
    request = log(client_company, billing_staff, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI))
    assert request.due_at == dt.datetime(2026, 9, 30, 17, 30, tzinfo=SHANGHAI)


def test_logging_tells_the_client_admins_once(
    client_company,
    client_admin,
    client_viewer,
    billing_staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        request = log(
            client_company, billing_staff, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
        )
    notification = Notification.objects.get(key=f"data-request:{request.pk}")
    assert notification.client == client_company
    assert notification.recipients == [client_admin.email]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [client_admin.email]
    assert "3 working days" in mailoutbox[0].subject
    assert "2026-10-09 17:30" in mailoutbox[0].body


@pytest.mark.parametrize("role_fixture", ["client_admin", "client_viewer"])
def test_only_staff_log_data_requests(request, client_company, role_fixture):
    user = request.getfixturevalue(role_fixture)
    with pytest.raises(NotAllowed):
        log(client_company, user, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI))
    assert not DataRequest.objects.exists()


@pytest.mark.parametrize("field", ["requested_by", "description"])
def test_a_data_request_names_who_asks_and_what(client_company, billing_staff, field):
    with pytest.raises(ValidationFailed) as exc:
        log(
            client_company,
            billing_staff,
            dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            **{field: "  "},
        )
    assert field in exc.value.errors
    assert not DataRequest.objects.exists()
    assert not Notification.objects.exists()


# --- Answering ---------------------------------------------------------------------------------
@pytest.fixture
def open_request(client_company, billing_staff):
    return log(client_company, billing_staff, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI))


def test_client_admin_answers_in_the_portal(open_request, client_admin):
    data_requests.data_request_answer(
        data_request=open_request, acting_user=client_admin, answer=" Licence attached "
    )
    open_request.refresh_from_db()
    assert open_request.status == DataRequest.Status.ANSWERED
    assert open_request.answer == "Licence attached"
    assert open_request.answered_by == client_admin
    assert open_request.answered_at is not None
    assert open_request.history.first().history_user == client_admin


def test_an_answer_cannot_be_empty_or_given_twice(open_request, client_admin):
    with pytest.raises(ValidationFailed) as exc:
        data_requests.data_request_answer(
            data_request=open_request, acting_user=client_admin, answer="   "
        )
    assert "answer" in exc.value.errors
    open_request.refresh_from_db()
    assert open_request.status == DataRequest.Status.OPEN
    data_requests.data_request_answer(
        data_request=open_request, acting_user=client_admin, answer="First"
    )
    with pytest.raises(ApplicationError):
        data_requests.data_request_answer(
            data_request=open_request, acting_user=client_admin, answer="Second"
        )
    open_request.refresh_from_db()
    assert open_request.answer == "First"


@pytest.mark.parametrize("role_fixture", ["client_viewer", "other_admin"])
def test_viewers_and_other_clients_cannot_answer(request, open_request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    with pytest.raises(NotAllowed):
        data_requests.data_request_answer(
            data_request=open_request, acting_user=user, answer="Here"
        )
    open_request.refresh_from_db()
    assert open_request.status == DataRequest.Status.OPEN
    assert open_request.answer == ""


def test_the_client_sees_its_requests_with_the_deadline_and_no_one_elses(
    open_request, client_viewer, other_admin, billing_staff
):
    assert [(r.pk, r.due_at) for r in selectors.data_request_list(user=client_viewer)] == [
        (open_request.pk, open_request.due_at)
    ]
    assert list(selectors.data_request_list(user=other_admin)) == []
    assert list(selectors.data_request_list(user=billing_staff)) == [open_request]


def test_the_list_splits_open_requests_by_the_overdue_rule(client_company, billing_staff):
    """`overdue=True` and `overdue=False` are the two sides of `DataRequest.overdue_q` (art.
    5.6); the staff dashboard's "open, not yet overdue" queue reads the second."""
    late = log(client_company, billing_staff, dt.datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI))
    current = log(client_company, billing_staff, timezone.now())
    answered = log(client_company, billing_staff, dt.datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI))
    DataRequest.objects.filter(pk=answered.pk).update(status=DataRequest.Status.ANSWERED)
    assert list(selectors.data_request_list(user=billing_staff, overdue=True)) == [late]
    assert set(selectors.data_request_list(user=billing_staff, overdue=False)) == {
        current,
        answered,
    }
    assert list(
        selectors.data_request_list(
            user=billing_staff, status=DataRequest.Status.OPEN, overdue=False
        )
    ) == [current]
    assert len(selectors.data_request_list(user=billing_staff)) == 3


# --- Overdue flagging (beat job) -------------------------------------------------------------
def test_overdue_requests_are_flagged_to_staff_once(
    open_request, billing_staff, compliance_officer, mailoutbox, django_capture_on_commit_callbacks
):
    due = open_request.due_at
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # at the deadline itself it is not yet overdue
        assert data_requests.data_requests_flag_overdue(now=due) == 0
        assert data_requests.data_requests_flag_overdue(now=due + dt.timedelta(minutes=1)) == 1
        # the second run flags nothing and sends nothing
        assert data_requests.data_requests_flag_overdue(now=due + dt.timedelta(hours=2)) == 0
    open_request.refresh_from_db()
    assert open_request.overdue_flagged_at == due + dt.timedelta(minutes=1)
    assert open_request.status == DataRequest.Status.OPEN
    assert Notification.objects.filter(key=f"data-request-overdue:{open_request.pk}").count() == 1
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {billing_staff.email, compliance_officer.email}
    assert open_request.client.legal_name in mailoutbox[0].subject


def test_answered_requests_are_never_flagged(open_request, client_admin):
    data_requests.data_request_answer(
        data_request=open_request, acting_user=client_admin, answer="Done"
    )
    assert (
        data_requests.data_requests_flag_overdue(now=open_request.due_at + dt.timedelta(days=5))
        == 0
    )
    open_request.refresh_from_db()
    assert open_request.overdue_flagged_at is None
    assert not Notification.objects.filter(key__startswith="data-request-overdue").exists()


def test_overdue_flagging_works_in_batches(cm, billing_staff):
    logged = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    clients = [ClientFactory(provider=cm) for _ in range(5)]
    for client in clients:
        ClientAdminFactory(client=client)
        log(client, billing_staff, logged)
    later = dt.datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
    assert data_requests.data_requests_flag_overdue(now=later, batch_size=2) == 5
    assert DataRequest.objects.filter(overdue_flagged_at=later).count() == 5
    assert data_requests.data_requests_flag_overdue(now=later, batch_size=2) == 0
    assert Notification.objects.filter(key__startswith="data-request-overdue").count() == 5


def test_the_overdue_job_is_registered(client_company, billing_staff):
    from accounts.jobs import JOBS

    log(
        client_company, billing_staff, dt.datetime(2024, 9, 27, 11, 0, tzinfo=SHANGHAI)
    )  # long overdue
    assert JOBS["data_requests_flag_overdue"]() == {"flagged": 1}
    assert JOBS["data_requests_flag_overdue"]() == {"flagged": 0}

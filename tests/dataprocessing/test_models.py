"""The deadline rules written once on the models (GDPR art. 12(3), 12(6); art. 21.11) and read
by the job, the selectors, the API, the dashboard and the pages alike."""

import datetime as dt

import pytest
from django.utils import timezone

from dataprocessing import selectors
from dataprocessing.models import DataSubjectRequest
from dataprocessing.services import dsrs
from tests.dataprocessing.factories import BreachNotificationFactory, DataSubjectRequestFactory
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def deadlines(client_company):
    """One request of each kind the deadline rules tell apart, as of `now`."""
    now = timezone.now()

    def due(delta, **kw):
        return DataSubjectRequestFactory(client=client_company, due_at=now + delta, **kw)

    return {
        "now": now,
        "overdue": due(-dt.timedelta(hours=1)),
        "paused": due(-dt.timedelta(hours=1), identity_check_since=now - dt.timedelta(days=2)),
        "closed": due(-dt.timedelta(hours=1), status="completed"),
        "soon": due(dt.timedelta(days=2)),
        "later": due(dt.timedelta(days=20)),
    }


def test_overdue_is_one_rule_read_by_the_job_the_lists_the_api_and_the_pages(
    api, as_user, compliance_officer, deadlines
):
    now = deadlines["now"]
    expected = {deadlines["overdue"].pk}

    assert {d.pk for d in DataSubjectRequest.objects.overdue(now)} == expected
    assert {d.pk for d in selectors.dsr_list(user=compliance_officer, overdue=True)} == expected
    listed = selectors.dsr_list(user=compliance_officer)
    assert {d.pk for d in listed if d.is_overdue} == expected
    results = api(compliance_officer).get("/api/v1/data-subject-requests/").data["results"]
    assert {r["id"] for r in results if r["is_overdue"]} == expected
    items = [
        i
        for i in selectors.compliance_open_items(user=compliance_officer, now=now)
        if i["kind"] == "dsr"
    ]
    assert {i["object"].pk for i in items if i["overdue"]} == expected
    queue = as_user(compliance_officer).get(url("dsrs"), {"status": "all"}).content.decode()
    assert queue.count('<span class="badge bad">Overdue</span>') == 1
    for name, dsr in deadlines.items():
        if name != "now":
            page = as_user(compliance_officer).get(url("dsr_detail", dsr.pk)).content.decode()
            assert ('class="badge bad">Overdue' in page) is (dsr.pk in expected), name
    assert dsrs.dsr_overdue_flag(now=now) == {"flagged": 1}


def test_due_soon_is_one_rule_read_by_the_lists_the_dashboard_and_the_pages(
    as_user, compliance_officer, deadlines
):
    now = deadlines["now"]
    expected = {deadlines["soon"].pk}

    assert {d.pk for d in DataSubjectRequest.objects.due_soon(now)} == expected
    listed = selectors.dsr_list(user=compliance_officer, now=now)
    assert {d.pk for d in listed if d.is_due_soon} == expected
    items = [
        i
        for i in selectors.compliance_open_items(user=compliance_officer, now=now)
        if i["kind"] == "dsr"
    ]
    assert {i["object"].pk for i in items if i["due_soon"]} == expected
    dashboard = as_user(compliance_officer).get(url("home"))
    assert dashboard.context["due_soon"] == 1
    queue = as_user(compliance_officer).get(url("dsrs"), {"status": "all"}).content.decode()
    assert queue.count("flagged due-soon") == 1


def test_the_time_left_to_a_breach_notice_is_one_rule(api, compliance_officer, client_company):
    now = timezone.now()
    notice = BreachNotificationFactory(
        client=client_company, deadline=now + dt.timedelta(hours=10, minutes=30)
    )

    assert 10 * 3600 < notice.seconds_left(now) <= 10.5 * 3600
    assert selectors.breach_notice_countdown(notice, now)["text"] == "10 h 30 min left"
    item = next(
        i
        for i in selectors.compliance_open_items(user=compliance_officer, now=now)
        if i["kind"] == "breach_notice"
    )
    assert (item["remaining"], item["unit"], item["overdue"]) == (10, "hours", False)
    breach = api(compliance_officer).get(f"/api/v1/breaches/{notice.breach_id}/").data
    assert 10 * 3600 - 60 < breach["notifications"][0]["seconds_left"] <= 10.5 * 3600
    notice.notified_at = now
    assert notice.seconds_left(now) is None

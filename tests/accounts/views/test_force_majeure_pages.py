"""Force majeure pages and API: staff log a situation and see the working-day countdown; the
client sees its notice once sent and the right to terminate of art. 15.5(b) on its dashboard."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import ForceMajeure, ForceMajeureNotice
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ClientViewerFactory,
)


@pytest.fixture
def now(monkeypatch):
    class Clock:
        moment = dt.datetime(2027, 2, 8, 2, tzinfo=dt.UTC)

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.moment)
    return clock


def _client(provider):
    client = ClientFactory(provider=provider)
    AgreementFactory(client=client)
    return client


@pytest.mark.django_db
def test_staff_log_force_majeure_by_client_name_and_see_the_countdown(cm, as_user, now):
    client = _client(cm)
    c = as_user(BillingStaffFactory(providers=[cm]))
    answer = c.post(
        "/accounts/force-majeure/",
        {
            "fm-provider": str(cm.pk),
            "fm-started_at": "2027-02-04T16:00",
            "fm-description": "Operator outage",
            "fm-services_affected": "SMS",
            "fm-clients": str(client.pk),
        },
    )
    assert answer.status_code == 302
    situation = ForceMajeure.objects.get()
    page = c.get(f"/accounts/force-majeure/{situation.pk}/").content.decode()
    # on Mon 8 Feb (in the festival) all ten working days remain; due 24 Feb
    assert "10 working days left" in page and "24 Feb 2027, 17:30 CST" in page
    assert "Opens 10 Mar 2027, 17:30 CST" in page


@pytest.mark.django_db
def test_a_client_sees_its_sent_notice_and_the_open_termination_right(cm, as_user, now):
    client = _client(cm)
    staff = BillingStaffFactory()
    situation = ForceMajeure.objects.create(
        provider=cm,
        started_at=now.moment - dt.timedelta(days=40),
        description="Operator outage",
        services_affected="SMS",
        termination_right_from=now.moment - dt.timedelta(days=1),
        logged_by=staff,
    )
    notice = ForceMajeureNotice.objects.create(
        situation=situation, client=client, deadline=now.moment - dt.timedelta(days=20)
    )
    viewer = as_user(ClientViewerFactory(client=client))
    # unsent: not on the client's notice list
    assert "Operator outage</td>" not in viewer.get("/accounts/force-majeure/").content.decode()
    ForceMajeureNotice.objects.filter(pk=notice.pk).update(
        notified_at=now.moment, message="We are affected by an outage"
    )
    assert "We are affected by an outage" in viewer.get("/accounts/force-majeure/").content.decode()
    dashboard = as_user(ClientAdminFactory(client=client)).get("/").content.decode()
    assert 'data-testid="force-majeure-rights"' in dashboard
    assert "either party may terminate the agreement with immediate effect" in dashboard


@pytest.mark.django_db
def test_the_api_logs_and_notifies_and_a_client_reads_its_notices(cm, api, now):
    client = _client(cm)
    ClientAdminFactory(client=client)
    staff = api(BillingStaffFactory(providers=[cm]))
    answer = staff.post(
        "/api/v1/force-majeure/",
        {
            "provider": "cm-cn",
            "started_at": "2027-02-04T16:00:00+08:00",
            "description": "Outage",
            "services_affected": "SMS",
            "affected_clients": [client.pk],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["notices"][0]["countdown"]["working_days"] == 10
    assert body["termination_right_open"] is False
    notify = staff.post(
        f"/api/v1/force-majeure/{body['id']}/notify/",
        {"client": client.pk, "message": "We are affected"},
        format="json",
    )
    assert notify.status_code == 200 and notify.json()["notices"][0]["notified_at"]
    own = api(ClientViewerFactory(client=client)).get("/api/v1/force-majeure-notices/").json()
    assert [n["message"] for n in own["results"]] == ["We are affected"]
    assert api(ClientViewerFactory(client=client)).get("/api/v1/force-majeure/").status_code == 403


@pytest.mark.django_db
def test_staff_see_the_termination_right_on_the_client_page(cm, as_user, now):
    client = _client(cm)
    staff = BillingStaffFactory(providers=[cm])
    situation = ForceMajeure.objects.create(
        provider=cm,
        started_at=now.moment - dt.timedelta(days=10),
        description="Grid failure",
        services_affected="Voice",
        termination_right_from=now.moment + dt.timedelta(days=20),
        logged_by=staff,
    )
    ForceMajeureNotice.objects.create(situation=situation, client=client, deadline=now.moment)
    page = as_user(staff).get(f"/accounts/clients/{client.pk}/").content.decode()
    assert 'data-testid="force-majeure-rights"' in page
    assert "if it lasts longer than 20 working days, either party may terminate from" in page

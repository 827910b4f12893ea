"""The data-processing API (issue 5, section 8): breaches and a client's breach notices."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from dataprocessing.models import BreachNotification
from dataprocessing.services import breaches
from tests.dataprocessing.factories import log_breach

pytestmark = pytest.mark.django_db


def test_staff_log_a_breach_and_notify_each_client(
    api, compliance_officer, client_company, other_company
):
    c = api(compliance_officer)
    logged = c.post(
        "/api/v1/breaches/",
        {
            "provider": "cm-cn",
            "detected_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "description": "Leaked log file",
            "data_types": "phone numbers",
            "approx_subjects": 10,
            "measures": "Rotated keys",
            "affected_clients": [client_company.pk, other_company.pk],
        },
        format="json",
    )
    assert logged.status_code == 201, logged.data
    assert len(logged.data["notifications"]) == 2
    assert 46 * 3600 < logged.data["notifications"][0]["seconds_left"] <= 47 * 3600

    notified = c.post(
        f"/api/v1/breaches/{logged.data['id']}/notify/",
        {"client": client_company.pk, "message": "We lost a log file."},
        format="json",
    )

    assert notified.status_code == 200, notified.data
    notice = BreachNotification.objects.get(client=client_company)
    assert notice.notified_at and notice.notified_by == compliance_officer


def test_breaches_are_staff_only_and_clients_see_only_their_sent_notices(
    api, client_admin, compliance_officer, cm, client_company, other_company
):
    b = log_breach(cm, compliance_officer, client_company, other_company)
    mine = b.notifications.get(client=client_company)
    c = api(client_admin)

    assert c.get("/api/v1/breaches/").status_code == 403
    assert c.get(f"/api/v1/breaches/{b.pk}/").status_code == 403
    assert c.get("/api/v1/breach-notices/").data["results"] == []  # not sent yet

    breaches.breach_notify_client(
        notification=mine, message="Notice", acting_user=compliance_officer
    )
    listed = c.get("/api/v1/breach-notices/")

    assert [n["id"] for n in listed.data["results"]] == [mine.pk]
    assert "client_name" not in listed.data["results"][0]
    assert other_company.legal_name not in json.dumps(listed.data, default=str)


def test_a_breach_is_closed_after_notices_and_root_cause(
    api, compliance_officer, cm, client_company
):
    b = log_breach(cm, compliance_officer, client_company)
    c = api(compliance_officer)

    early = c.post(f"/api/v1/breaches/{b.pk}/close/")
    c.post(
        f"/api/v1/breaches/{b.pk}/notify/",
        {"client": client_company.pk, "message": "x"},
        format="json",
    )
    c.post(
        f"/api/v1/breaches/{b.pk}/root-cause/",
        {"root_cause": "Misconfigured bucket"},
        format="json",
    )
    update = c.post(f"/api/v1/breaches/{b.pk}/updates/", {"text": "Bucket fixed"}, format="json")
    closed = c.post(f"/api/v1/breaches/{b.pk}/close/")

    assert early.status_code == 400 and early.data["errors"][0]["article"] == "21.11"
    assert update.status_code == 201
    assert closed.status_code == 200 and closed.data["closed_at"]

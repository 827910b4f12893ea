"""The data-processing pages (issue 5, section 8): breaches with their 48-hour countdown, and a
client's notices."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dataprocessing.models import BreachNotification
from dataprocessing.services import breaches
from tests.accounts.factories import ClientFactory
from tests.dataprocessing.factories import log_breach
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_the_breach_page_counts_down_each_clients_48_hours_and_notifies(
    as_user, compliance_officer, cm, client_company, other_company
):
    b = log_breach(cm, compliance_officer, client_company, other_company)  # detected two hours ago
    c = as_user(compliance_officer)

    page = c.get(url("breach_detail", b.pk))
    html = page.content.decode()
    notice = b.notifications.get(client=client_company)
    sent = c.post(
        url("breach_notify", b.pk, notice.pk), {f"notify_{notice.pk}-message": "We lost a log."}
    )

    assert page.status_code == 200
    assert html.count("45 h ") == 2 or html.count("46 h ") == 2
    assert "Send notice to the client" in html
    assert sent.status_code == 302
    notice.refresh_from_db()
    assert notice.notified_at and notice.message == "We lost a log."


def test_a_missed_breach_deadline_shows_overdue(as_user, compliance_officer, cm, client_company):
    b = log_breach(cm, compliance_officer, client_company)
    BreachNotification.objects.filter(breach=b).update(
        deadline=timezone.now() - dt.timedelta(hours=3)
    )

    html = as_user(compliance_officer).get(url("breach_detail", b.pk)).content.decode()

    assert "overdue by 3 h" in html or "overdue by 2 h" in html
    assert "Missed" in html


def test_clients_see_breach_notices_not_the_staff_breach_pages(
    as_user, client_admin, compliance_officer, cm, client_company, other_company
):
    b = log_breach(cm, compliance_officer, client_company, other_company)
    mine = b.notifications.get(client=client_company)
    breaches.breach_notify_client(
        notification=mine, message="Notice to you", acting_user=compliance_officer
    )
    c = as_user(client_admin)

    listing = c.get(url("breaches"))
    detail = c.get(url("breach_notice_detail", mine.pk))

    assert c.get(url("breach_detail", b.pk)).status_code == 403
    assert listing.status_code == 200 and [n.pk for n in listing.context["notices"]] == [mine.pk]
    assert "Notice to you" in detail.content.decode()
    assert other_company.legal_name not in listing.content.decode() + detail.content.decode()


def test_a_compliance_officer_logs_a_breach_from_the_page(
    as_user, compliance_officer, cm, client_company
):
    detected = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = as_user(compliance_officer).post(
        url("breaches"),
        {
            "breach-provider": cm.pk,
            "breach-detected_at": detected,
            "breach-description": "Leak",
            "breach-data_types": "numbers",
            "breach-approx_subjects": "5",
            "breach-measures": "Fixed",
            "breach-clients": [client_company.pk],
        },
    )

    assert response.status_code == 302
    assert BreachNotification.objects.get().client == client_company


def test_breach_times_on_the_page_are_the_providers_local_time(as_user, compliance_officer, cx):
    """A Friday-evening detection in Amsterdam is entered as 19:00, not converted by hand to UTC."""

    affected = ClientFactory(provider=cx)
    response = as_user(compliance_officer).post(
        url("breaches"),
        {
            "breach-provider": cx.pk,
            "breach-detected_at": "2026-11-20T19:00",
            "breach-description": "Leak",
            "breach-data_types": "numbers",
            "breach-approx_subjects": "5",
            "breach-measures": "Fixed",
            "breach-clients": [affected.pk],
        },
    )

    assert response.status_code == 302
    notice = BreachNotification.objects.get(client=affected)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    assert notice.breach.detected_at == dt.datetime(2026, 11, 20, 19, 0, tzinfo=amsterdam)
    assert notice.deadline == dt.datetime(2026, 11, 22, 19, 0, tzinfo=amsterdam)

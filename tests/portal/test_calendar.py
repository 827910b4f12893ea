"""The contract's calendar (issue 15 §7): the deadlines the services computed, on one timeline and
as an iCalendar feed; parsed back, every event matches the deadline its service stored, for the
user's own clients only; the secret URL is revocable."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.models import Agreement, CalendarFeed, DataRequest
from accounts.services.agreements import agreement_end_date_for_notice
from billing.prepaid.services.wallets import wallet_for_client
from portal import calendar
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.invoicing.factories import company, issued, line
from tests.dataprocessing.factories import log_breach, receive_dsr


@pytest.fixture
def postpaid(cm):
    return company(cm)


@pytest.fixture
def admin(postpaid):
    return ClientAdminFactory(client=postpaid)


def _s(moment):
    """iCalendar times carry whole seconds."""
    return moment.replace(microsecond=0)


def _feed(web, user):
    web.force_login(user)
    web.post(reverse("calendar_feed_reset"))
    token = CalendarFeed.objects.get(user=user).token
    web.logout()
    response = web.get(reverse("calendar_feed", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}, token


def test_the_feed_holds_each_deadline_as_its_service_computed_it(
    client, cm, postpaid, admin, billing_staff, compliance_officer
):
    invoice = issued(postpaid, billing_staff, [line("100.00")], invoice_date=timezone.localdate())
    dsr = receive_dsr(postpaid, compliance_officer)
    breach = log_breach(cm, compliance_officer, postpaid)
    notice = breach.notifications.get(client=postpaid)
    request = DataRequest.objects.create(
        client=postpaid,
        requested_by="China Mobile",
        description="Registration data",
        logged_by=billing_staff,
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    events, _token = _feed(client, admin)

    inv = events[f"invoice-{invoice.pk}@agreement-portal"]
    assert inv["dtstart"].dt == invoice.due_date
    assert "4.5" in str(inv["description"])
    assert str(inv["url"]).endswith(reverse("billing:invoice_detail", args=[invoice.pk]))

    assert events[f"dsr-{dsr.pk}@agreement-portal"]["dtstart"].dt == _s(dsr.due_at)
    breach_event = events[f"breach-{notice.pk}@agreement-portal"]
    assert breach_event["dtstart"].dt == _s(notice.deadline)
    assert "21.11" in str(breach_event["description"])
    assert events[f"data-request-{request.pk}@agreement-portal"]["dtstart"].dt == _s(request.due_at)


def test_credit_expiry_is_in_the_prepaid_clients_feed(client, cm):
    prepaid = prepaid_client(cm)
    admin = ClientAdminFactory(client=prepaid)
    lot = top_up(wallet_for_client(client=prepaid), "50.00", timezone.now())
    events, _ = _feed(client, admin)
    event = events[f"credit-{lot.pk}@agreement-portal"]
    assert event["dtstart"].dt == _s(lot.expires_at)
    assert "29.3" in str(event["description"])


def test_the_renewal_and_its_last_notice_day_follow_the_agreements_rule(client, postpaid, admin):
    agreement = Agreement.objects.get(client=postpaid)
    agreement.current_term_end = timezone.localdate() + dt.timedelta(days=200)
    agreement.save()
    events, _ = _feed(client, admin)
    end = events[f"renewal-{agreement.pk}-{agreement.current_term_end}@agreement-portal"]
    assert end["dtstart"].dt == agreement.current_term_end
    last = events[f"renewal-notice-{agreement.pk}-{agreement.current_term_end}@agreement-portal"][
        "dtstart"
    ].dt
    # notice on the last day still ends the agreement at the term's end; a day later does not
    assert agreement_end_date_for_notice(agreement, last) <= agreement.current_term_end
    assert agreement_end_date_for_notice(agreement, last + dt.timedelta(days=1)) > (
        agreement.current_term_end
    )


def test_another_clients_deadlines_never_appear(client, cm, postpaid, admin, billing_staff):
    other = company(cm)
    theirs = issued(other, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    mine = issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    events, _ = _feed(client, admin)
    assert f"invoice-{mine.pk}@agreement-portal" in events
    assert f"invoice-{theirs.pk}@agreement-portal" not in events


def test_staff_see_their_providers_clients_only(client, cm, cx, postpaid, billing_staff):
    mine = issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    cx_staff = BillingStaffFactory(providers=[cx])
    items = calendar.deadlines(user=billing_staff)
    assert any(d.uid == f"invoice-{mine.pk}" for d in items)
    assert not any(d.uid == f"invoice-{mine.pk}" for d in calendar.deadlines(user=cx_staff))


def test_a_reset_address_stops_the_old_one_and_revoking_stops_the_feed(client, admin):
    _, old = _feed(client, admin)
    client.force_login(admin)
    client.post(reverse("calendar_feed_reset"))
    new = CalendarFeed.objects.get(user=admin).token
    assert new != old
    assert client.get(reverse("calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("calendar_feed", args=[new])).status_code == 200
    client.post(reverse("calendar_feed_revoke"))
    assert client.get(reverse("calendar_feed", args=[new])).status_code == 404


def test_a_deactivated_users_feed_stops(client, admin):
    _, token = _feed(client, admin)
    type(admin).objects.filter(pk=admin.pk).update(is_active=False)
    assert client.get(reverse("calendar_feed", args=[token])).status_code == 404


def test_the_timeline_page_shows_the_deadlines_with_their_article(
    client, postpaid, admin, billing_staff
):
    invoice = issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    client.force_login(admin)
    page = client.get(reverse("calendar")).content.decode()
    assert invoice.number in page
    assert "art. 4.5" in page


def test_staff_filter_the_timeline_by_client_and_kind(as_user, cm, postpaid, billing_staff):
    other = company(cm)
    a = issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    b = issued(other, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    page = as_user(billing_staff).get(
        reverse("calendar"), {"client": postpaid.pk, "kind": "invoice"}
    )
    text = page.content.decode()
    assert a.number in text and b.number not in text


def test_the_timeline_query_count_does_not_grow_with_its_rows(
    client, postpaid, admin, billing_staff
):
    issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    client.force_login(admin)
    client.get(reverse("calendar"))  # the session and caches warmed
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("calendar"))
    for _ in range(6):
        issued(postpaid, billing_staff, [line("9.00")], invoice_date=timezone.localdate())
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("calendar"))
    assert len(many) == len(few)

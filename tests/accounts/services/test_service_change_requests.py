"""Changes to the service, requested in writing (art. 5.3), agreed with a date or refused."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import ChangeRequest
from accounts.services import change_requests
from tests.accounts.clock import SHANGHAI

pytestmark = pytest.mark.usefixtures("fast_password_hashing")
# Noon in Shenzhen on Wednesday 30 September 2026 (already the 30th there, the 30th in UTC too)
NOW = dt.datetime(2026, 9, 30, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def submit(client, user, **kwargs):
    kwargs.setdefault("service", ChangeRequest.Service.WHATSAPP)
    kwargs.setdefault("description", "Add a second WhatsApp Business number")
    return change_requests.service_change_request_submit(client=client, acting_user=user, **kwargs)


def test_a_client_admin_requests_a_change_to_the_service_in_writing(
    client_company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(client_company, client_admin, wanted_from=dt.date(2026, 10, 8))
    request.refresh_from_db()
    assert (request.kind, request.status, request.changes) == ("service", "pending", {})
    assert request.wanted_from == dt.date(2026, 10, 8)
    assert request.submitted_by == client_admin
    assert [m.to for m in mailoutbox] == [[billing_staff.email]]
    assert "art. 5.3" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("wanted_from", "accepted"),
    # the provider's calendar day: Sep 30 in Shenzhen is today, Sep 29 is the past
    [(dt.date(2026, 9, 29), False), (dt.date(2026, 9, 30), True), (None, True)],
)
def test_the_date_wanted_is_not_in_the_past(client_company, client_admin, wanted_from, accepted):
    if accepted:
        assert submit(client_company, client_admin, wanted_from=wanted_from).pk
        return
    with pytest.raises(ValidationFailed) as exc:
        submit(client_company, client_admin, wanted_from=wanted_from)
    assert list(exc.value.errors) == ["wanted_from"]
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("service", "fax"), ("description", "  ")], ids=["service", "description"]
)
def test_a_service_change_names_the_service_and_the_change(
    client_company, client_admin, field, value
):
    with pytest.raises(ValidationFailed) as exc:
        submit(client_company, client_admin, **{field: value})
    assert list(exc.value.errors) == [field]
    assert exc.value.article == "5.3"
    assert not ChangeRequest.objects.exists()


def test_a_viewer_cannot_request_a_change(client_company, client_viewer):
    with pytest.raises(NotAllowed):
        submit(client_company, client_viewer)
    assert not ChangeRequest.objects.exists()


def test_staff_agree_it_from_the_date_wanted_and_the_client_is_told(
    client_company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    request = submit(client_company, client_admin, wanted_from=dt.date(2026, 10, 8))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_requests.change_request_accept(
            change_request=request, acting_user=billing_staff, note="Second number from Oct 8"
        )
    request.refresh_from_db()
    assert (request.status, request.agreed_from) == ("accepted", dt.date(2026, 10, 8))
    assert (request.decided_by, request.decision_note) == (
        billing_staff,
        "Second number from Oct 8",
    )
    assert [m.to for m in mailoutbox] == [[client_admin.email]]
    # the registration details are untouched
    address = client_company.address
    client_company.refresh_from_db()
    assert client_company.address == address


def test_agreeing_needs_a_note_and_a_date_not_in_the_past(
    client_company, client_admin, billing_staff
):
    request = submit(client_company, client_admin)
    with pytest.raises(ValidationFailed) as no_note:
        change_requests.change_request_accept(
            change_request=request, acting_user=billing_staff, note=""
        )
    assert list(no_note.value.errors) == ["note"]
    with pytest.raises(ValidationFailed) as past:
        change_requests.change_request_accept(
            change_request=request,
            acting_user=billing_staff,
            note="ok",
            agreed_from=dt.date(2026, 9, 29),
        )
    assert list(past.value.errors) == ["agreed_from"]
    request.refresh_from_db()
    assert request.status == "pending" and request.agreed_from is None
    change_requests.change_request_accept(
        change_request=request, acting_user=billing_staff, note="ok"
    )
    request.refresh_from_db()
    assert request.agreed_from == dt.date(2026, 9, 30)  # today in the provider's calendar


def test_staff_refuse_it_with_a_reason_once(client_company, client_admin, billing_staff):
    request = submit(client_company, client_admin)
    change_requests.change_request_reject(
        change_request=request, acting_user=billing_staff, note="Not offered"
    )
    request.refresh_from_db()
    assert request.status == "rejected"
    with pytest.raises(ApplicationError) as again:
        change_requests.change_request_accept(
            change_request=request, acting_user=billing_staff, note="ok"
        )
    assert again.value.field == "status"


def test_only_billing_staff_decide(client_company, client_admin):
    request = submit(client_company, client_admin)
    with pytest.raises(NotAllowed):
        change_requests.change_request_accept(
            change_request=request, acting_user=client_admin, note="ok"
        )
    request.refresh_from_db()
    assert request.status == "pending"

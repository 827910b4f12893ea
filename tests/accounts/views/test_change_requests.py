"""Pages: the company page and its change requests (art. 5.5), and the staff's decision."""

import pytest
from django.urls import reverse

from accounts.models import (
    ChangeRequest,
)
from accounts.services import change_requests
from tests.accounts.factories import DirectorFactory

pytestmark = pytest.mark.django_db


# --- Company details and change requests ---------------------------------------------------
def test_client_admin_submits_a_change_request(as_user, client_admin):
    DirectorFactory(client=client_admin.client, name="Old Director", title="CEO")
    c = as_user(client_admin)
    page = c.get(reverse("company"))
    assert page.status_code == 200 and "Request a change" in page.content.decode()
    company = client_admin.client
    data = {
        "legal_name": company.legal_name,
        "address": "88 New Street, Shenzhen",
        "country": company.country,
        "registration_number": company.registration_number,
        "vat_number": company.vat_number,
        "billing_email": company.billing_email,
        "directors-TOTAL_FORMS": "4",
        "directors-INITIAL_FORMS": "1",
        "directors-MIN_NUM_FORMS": "0",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-name": "Old Director",
        "directors-0-title": "CEO",
    }
    response = c.post(reverse("company"), data)
    assert response.status_code == 302
    request = ChangeRequest.objects.get(client=company)
    assert set(request.changes) == {"address"}
    assert "88 New Street" in c.get(reverse("company")).content.decode()


def test_a_change_that_changes_nothing_is_refused_on_the_page(as_user, client_admin):
    DirectorFactory(client=client_admin.client, name="D", title="CEO")
    company = client_admin.client
    data = {
        "legal_name": company.legal_name,
        "address": company.address,
        "country": company.country,
        "registration_number": company.registration_number,
        "vat_number": company.vat_number,
        "billing_email": company.billing_email,
        "directors-TOTAL_FORMS": "1",
        "directors-INITIAL_FORMS": "1",
        "directors-MIN_NUM_FORMS": "0",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-name": "D",
        "directors-0-title": "CEO",
    }
    response = as_user(client_admin).post(reverse("company"), data)
    assert response.status_code == 200
    assert "changes nothing" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_viewer_sees_company_read_only_and_cannot_post(as_user, client_viewer):
    c = as_user(client_viewer)
    page = c.get(reverse("company"))
    assert page.status_code == 200 and "Request a change" not in page.content.decode()
    assert c.post(reverse("company"), {"legal_name": "x"}).status_code == 403


def test_company_page_shows_field_history(as_user, client_admin, billing_staff, with_directors):
    company = client_admin.client
    request = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"billing_email": "new@billing.example"}
    )
    change_requests.change_request_accept(change_request=request, acting_user=billing_staff)
    body = as_user(client_admin).get(reverse("company")).content.decode()
    assert "new@billing.example" in body and billing_staff.email in body


def test_staff_accept_and_reject_change_requests(
    as_user, billing_staff, client_admin, with_directors
):
    first = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "New 1"}
    )
    second = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "New 2"}
    )
    c = as_user(billing_staff)
    assert "New 1" in c.get(reverse("change_requests")).content.decode()
    c.post(reverse("change_request_accept", args=[first.pk]))
    c.post(reverse("change_request_reject", args=[second.pk]), {"note": "Not documented"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (
        first.status == ChangeRequest.Status.ACCEPTED
        and second.status == ChangeRequest.Status.REJECTED
    )
    client_admin.client.refresh_from_db()
    assert client_admin.client.address == "New 1"


def test_client_admin_cannot_decide_own_change_request(as_user, client_admin, with_directors):
    request = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "N"}
    )
    assert (
        as_user(client_admin).post(reverse("change_request_accept", args=[request.pk])).status_code
        == 403
    )

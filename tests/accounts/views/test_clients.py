"""Pages: the staff's client list and client detail, and who may see them."""

import pytest
from django.urls import reverse

from accounts.models import (
    Client,
)
from tests.accounts.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_client_list_filters_searches_and_paginates(as_user, billing_staff, cm, cx):
    for i in range(30):
        ClientFactory(provider=cm, legal_name=f"Bulk {i:02d} Ltd")
    ClientFactory(
        provider=cx,
        legal_name="Needle B.V.",
        status=Client.Status.PENDING,
        country="NL",
        registration_number="87654321",
        vat_number="",
    )
    c = as_user(billing_staff)
    first = c.get(reverse("client_list"))
    assert len(first.context["clients"]) == 25 and first.context["clients"].has_next()
    assert "First page" not in first.content.decode()
    second = c.get(reverse("client_list"), {"page": first.context["clients"].next_cursor})
    assert len(second.context["clients"]) == 6 and not second.context["clients"].has_next()
    assert "First page" in second.content.decode() and 'rel="next"' not in second.content.decode()
    found = c.get(
        reverse("client_list") + "?q=needle&status=pending&provider=cxengage-nl"
    ).content.decode()
    assert "Needle B.V." in found and "Bulk 00" not in found


def test_client_users_cannot_see_staff_pages(as_user, client_admin, other_company):
    c = as_user(client_admin)
    assert c.get(reverse("client_list")).status_code == 403
    assert c.get(reverse("terms_publish")).status_code == 403
    assert c.get(reverse("change_requests")).status_code == 403
    assert c.get(reverse("client_detail", args=[other_company.pk])).status_code == 404
    assert c.post(reverse("client_approve", args=[other_company.pk])).status_code == 404
    assert c.post(reverse("client_approve", args=[client_admin.client_id])).status_code == 403


def test_client_detail_for_own_client_user_redirects_to_company(as_user, client_admin):
    response = as_user(client_admin).get(reverse("client_detail", args=[client_admin.client_id]))
    assert response.status_code == 302 and response.url == reverse("company")

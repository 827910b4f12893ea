"""Pages: the client's and the staff's dashboards (portal.views) as accounts fills them."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import (
    Client,
    DataRequest,
    Suspension,
)
from accounts.services import agreements, terms
from tests.accounts.factories import BOTH_TEXTS, ClientFactory

pytestmark = pytest.mark.django_db


def _row(body: str, text: str) -> str:
    """The one table row of the page that shows `text`."""
    rows = [row for row in re.findall(r"<tr\b.*?</tr>", body, flags=re.S) if text in row]
    assert len(rows) == 1, rows
    return rows[0]


# --- Client dashboard ----------------------------------------------------------------------
@pytest.mark.parametrize("who", ["client_admin", "client_viewer"])
def test_client_dashboard_shows_company_agreement_and_terms(
    request, as_user, billing_staff, cm, who
):
    user = request.getfixturevalue(who)
    terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2026.5",
        summary="Annex",
        acting_user=billing_staff,
        now=timezone.now() - timedelta(days=62),
    )
    terms.terms_deem_accepted()
    response = as_user(user).get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert user.client.legal_name in body
    assert "Notice period" in body and "Current term ends" in body
    # the terms the client is on (art. 18.3), not the label printed on every dashboard
    assert 'data-testid="current-terms">version 2026.5' in body


def test_client_dashboard_shows_the_suspension_reason(as_user, client_viewer, billing_staff):
    agreements.client_suspend(
        client=client_viewer.client,
        cause=Suspension.Cause.NON_PAYMENT,
        reason="Invoice 2026-001 unpaid",
        acting_user=billing_staff,
    )
    body = as_user(client_viewer).get("/").content.decode()
    assert "Service suspended" in body and "Invoice 2026-001 unpaid" in body


# --- Staff ---------------------------------------------------------------------------------
def test_staff_dashboard_shows_queues_and_flags_overdue(as_user, billing_staff, client_company, cm):
    ClientFactory(provider=cm, status=Client.Status.PENDING, legal_name="Waiting Co")
    late = DataRequest.objects.create(
        client=client_company,
        requested_by="Late Authority",
        description="x",
        logged_by=billing_staff,
        due_at=timezone.now() - timedelta(days=1),
    )
    on_time = DataRequest.objects.create(
        client=client_company,
        requested_by="Timely Authority",
        description="y",
        logged_by=billing_staff,
        due_at=timezone.now() + timedelta(days=1),
    )
    response = as_user(billing_staff).get("/")
    body = response.content.decode()
    assert "Waiting Co" in body
    # "Overdue" is in the page's headings whatever the data: check the rows and the count
    late_row = _row(body, "Late Authority")
    assert 'class="flagged"' in late_row and "Overdue" in late_row
    on_time_row = _row(body, "Timely Authority")
    assert "flagged" not in on_time_row and "Overdue" not in on_time_row
    assert list(response.context["overdue_requests"]) == [late]
    assert list(response.context["open_requests"]) == [on_time]
    assert response.context["counts"]["overdue"] == 1
    assert re.search(r"Overdue data requests</div><div class=\"value\">1<", body)


def test_compliance_officer_sees_the_staff_dashboard(as_user, compliance_officer):
    assert "Work queues" in as_user(compliance_officer).get("/").content.decode()

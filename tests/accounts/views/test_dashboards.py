"""Pages: the client's and the staff's dashboards (portal.views) as accounts fills them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import (
    Client,
    DataRequest,
    Suspension,
)
from accounts.services import agreements
from tests.accounts.factories import ClientFactory

pytestmark = pytest.mark.django_db


# --- Client dashboard ----------------------------------------------------------------------
@pytest.mark.parametrize("who", ["client_admin", "client_viewer"])
def test_client_dashboard_shows_company_agreement_and_terms(request, as_user, who):
    user = request.getfixturevalue(who)
    response = as_user(user).get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert user.client.legal_name in body
    assert "Notice period" in body and "Current term ends" in body


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
    DataRequest.objects.create(
        client=client_company,
        requested_by="Late Authority",
        description="x",
        logged_by=billing_staff,
        due_at=timezone.now() - timedelta(days=1),
    )
    body = as_user(billing_staff).get("/").content.decode()
    assert "Waiting Co" in body
    assert "Late Authority" in body and "Overdue" in body


def test_compliance_officer_sees_the_staff_dashboard(as_user, compliance_officer):
    assert "Work queues" in as_user(compliance_officer).get("/").content.decode()

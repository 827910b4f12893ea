"""The data-processing pages (issue 5, section 8): audit requests."""

import datetime as dt

import pytest
from django.utils import timezone

from dataprocessing.models import AuditRequest
from tests.dataprocessing.factories import information_request
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_a_client_admin_requests_an_audit_from_the_page(as_user, client_admin):
    start = timezone.localdate() + dt.timedelta(days=40)
    response = as_user(client_admin).post(
        url("audits"),
        {
            "kind": "audit",
            "proposed_start": start.isoformat(),
            "auditor_name": "Jan Jansen",
            "auditor_firm": "Audit BV",
            "auditor_accredited": "on",
            "auditor_not_competitor": "on",
        },
    )

    assert response.status_code == 302
    audit = AuditRequest.objects.get()
    assert audit.client == client_admin.client and audit.proposed_start == start


def test_an_audit_without_the_declarations_is_refused_on_the_fields(as_user, client_admin):
    response = as_user(client_admin).post(
        url("audits"),
        {
            "kind": "audit",
            "proposed_start": (timezone.localdate() + dt.timedelta(days=40)).isoformat(),
            "auditor_name": "Jan",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert "auditor_accredited" in form.errors and "auditor_not_competitor" in form.errors
    assert not AuditRequest.objects.exists()


def test_a_compliance_officer_refuses_an_audit_from_its_page(
    as_user, compliance_officer, client_admin, client_company
):
    audit = information_request(client_company, client_admin)

    response = as_user(compliance_officer).post(
        url("audit_action", audit.pk, "refuse"), {"refuse-reason": "Competitor"}
    )

    assert response.status_code == 302
    audit.refresh_from_db()
    assert audit.status == "refused" and audit.refusal_reason == "Competitor"


def test_a_client_admin_may_not_start_or_refuse_an_audit(as_user, client_admin, client_company):
    audit = information_request(client_company, client_admin)
    c = as_user(client_admin)

    assert c.post(url("audit_action", audit.pk, "complete")).status_code == 403
    assert (
        c.post(url("audit_action", audit.pk, "refuse"), {"refuse-reason": "x"}).status_code == 403
    )
    audit.refresh_from_db()
    assert audit.status == "requested"


def test_audit_detail_shows_the_history(as_user, client_admin, client_company):
    audit = information_request(client_company, client_admin)

    page = as_user(client_admin).get(url("audit_detail", audit.pk))

    assert page.status_code == 200
    assert client_admin.email in page.content.decode()

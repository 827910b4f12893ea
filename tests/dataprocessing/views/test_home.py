"""The data-processing pages (issue 5, section 8): the compliance dashboard and the client's
overview."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from dataprocessing.models import DataSubjectRequest
from dataprocessing.services import assistance, audits
from tests.dataprocessing.factories import information_request, log_breach, receive_dsr
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_the_staff_dashboard_links_the_compliance_dashboard(as_user, compliance_officer):
    page = as_user(compliance_officer).get("/")

    assert url("home") in page.content.decode()


def test_the_compliance_dashboard_lists_every_open_item_with_its_deadline_unit(
    as_user, compliance_officer, client_admin, client_company, cm
):
    information_request(client_company, client_admin)
    receive_dsr(client_company, compliance_officer)
    log_breach(cm, compliance_officer, client_company)
    assistance.assistance_request_log(
        client=client_company, kind="dpia", description="x", acting_user=client_admin
    )

    page = as_user(compliance_officer).get(url("home"))

    html = page.content.decode()
    assert page.status_code == 200
    for label in ("Audit request", "Data-subject request", "Breach notice", "Assistance request"):
        assert label in html
    # the heading names the units too: the DSR's own row carries its number of days
    dsr_row = re.search(r'data-kind="dsr".*?</tr>', html, flags=re.S).group(0)
    assert re.search(r"\b\d+ days\b", dsr_row)
    assert "h " in html and "min left" in html  # the breach countdown, in hours


def test_dsrs_due_within_five_days_are_highlighted(as_user, compliance_officer, client_company):
    soon = receive_dsr(client_company, compliance_officer)
    DataSubjectRequest.objects.filter(pk=soon.pk).update(
        due_at=timezone.now() + dt.timedelta(days=3)
    )
    receive_dsr(client_company, compliance_officer)  # due in a month

    page = as_user(compliance_officer).get(url("home"))
    queue = as_user(compliance_officer).get(url("dsrs"), {"due_soon": "on"})

    assert page.context["due_soon"] == 1
    assert "Due within 5 days" in page.content.decode()
    assert [d.pk for d in queue.context["dsrs"]] == [soon.pk]
    assert "due-soon" in queue.content.decode()


def test_audits_show_working_days_left_on_the_dashboard(
    as_user, compliance_officer, client_admin, client_company
):
    audits.audit_request(
        client=client_company,
        kind="audit",
        acting_user=client_admin,
        proposed_start=timezone.localdate() + dt.timedelta(days=40),
        auditor_name="Jan",
        auditor_accredited=True,
        auditor_not_competitor=True,
    )

    page = as_user(compliance_officer).get(url("home"), {"kind": "audit"})

    audit_row = re.search(r'data-kind="audit".*?</tr>', page.content.decode(), flags=re.S)
    assert re.search(r"\b\d+ working days\b", audit_row.group(0))
    assert [i["kind"] for i in page.context["items"]] == ["audit"]


def test_a_client_user_gets_its_own_overview_not_the_compliance_dashboard(as_user, client_viewer):
    page = as_user(client_viewer).get(url("home"))

    assert page.status_code == 200
    assert "Compliance dashboard" not in page.content.decode()


def _open_items(client_company, client_admin, compliance_officer, cm, n):
    from tests.accounts.factories import ClientAdminFactory, ClientFactory

    for _ in range(n):
        company = ClientFactory(provider=cm)
        admin = ClientAdminFactory(client=company)
        audits.audit_request(
            client=company,
            kind="audit",
            acting_user=admin,
            proposed_start=timezone.localdate() + dt.timedelta(days=40),
            auditor_name="Jan",
            auditor_accredited=True,
            auditor_not_competitor=True,
        )
        receive_dsr(company, compliance_officer)
        assistance.assistance_request_log(
            client=company, kind="dpia", description="x", acting_user=admin
        )
        log_breach(cm, compliance_officer, company)


def test_the_compliance_dashboards_query_count_does_not_grow_with_its_items(
    as_user, compliance_officer, client_admin, client_company, cm
):
    """Issue 16: it ran one query per open audit (508 on a provider-sized database)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = as_user(compliance_officer)
    browser.get(url("home"))  # the session's first request reads a few things once
    counts = []
    for n in (2, 6):
        _open_items(client_company, client_admin, compliance_officer, cm, n)
        with CaptureQueriesContext(connection) as queries:
            page = browser.get(url("home"))
        assert page.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1], counts

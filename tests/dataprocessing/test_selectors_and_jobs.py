"""Tenant isolation of the reads, the compliance officer's open items, and the job registry."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from dataprocessing import jobs, selectors, services
from portal import jobs as portal_jobs

from .factories import AuditRequestFactory, BreachNotificationFactory, DataSubjectRequestFactory


def test_a_client_sees_only_its_own_audits_dsrs_and_assistance_requests(
    client_company, other_company, client_admin, client_viewer, other_admin, compliance_officer
):
    mine = AuditRequestFactory(client=client_company)
    theirs = AuditRequestFactory(client=other_company)
    my_dsr = DataSubjectRequestFactory(client=client_company)
    their_dsr = DataSubjectRequestFactory(client=other_company)
    assert list(selectors.audit_request_list(user=client_admin)) == [mine]
    assert list(selectors.audit_request_list(user=client_viewer)) == [mine]
    assert set(selectors.audit_request_list(user=compliance_officer)) == {mine, theirs}
    assert list(selectors.audit_request_list(client=other_company)) == [theirs]
    assert list(selectors.dsr_list(user=other_admin)) == [their_dsr]
    with pytest.raises(Http404):
        selectors.audit_request_get(user=client_admin, pk=theirs.pk)
    with pytest.raises(Http404):
        selectors.dsr_get(user=client_admin, pk=their_dsr.pk)
    with pytest.raises(Http404):
        selectors.dsr_get_by_request_id(user=client_admin, request_id=their_dsr.request_id)
    assert (
        selectors.dsr_get_by_request_id(user=client_admin, request_id=my_dsr.request_id) == my_dsr
    )


def test_a_scoped_read_needs_the_user_or_the_client():
    with pytest.raises(ValueError):
        selectors.dsr_list()


def test_the_compliance_officers_open_items_carry_deadlines_in_their_units(
    client_company, compliance_officer
):
    now = timezone.now()
    AuditRequestFactory(client=client_company, earliest_start=now + dt.timedelta(days=14))
    AuditRequestFactory(client=client_company, status="completed")
    DataSubjectRequestFactory(client=client_company, due_at=now + dt.timedelta(days=10, hours=1))
    DataSubjectRequestFactory(client=client_company, due_at=now - dt.timedelta(days=1))
    BreachNotificationFactory(
        client=client_company, deadline=now + dt.timedelta(hours=30, minutes=5)
    )
    BreachNotificationFactory(
        client=client_company, deadline=now + dt.timedelta(hours=5), notified_at=now
    )
    services.assistance_request_log(
        client=client_company, kind="dpia", description="x", acting_user=compliance_officer
    )
    items = selectors.compliance_open_items(now=now)
    by_kind = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    assert [(i["remaining"], i["unit"]) for i in by_kind["breach_notice"]] == [(30, "hours")]
    assert sorted((i["remaining"], i["overdue"]) for i in by_kind["dsr"]) == [
        (-1, True),
        (10, False),
    ]
    assert by_kind["audit"][0]["unit"] == "working days" and by_kind["audit"][0]["remaining"] > 0
    assert len(by_kind["audit"]) == 1 and len(by_kind["assistance"]) == 1
    # soonest first, undated last
    assert items[0]["kind"] == "dsr" and items[-1]["kind"] == "assistance"


def test_every_data_processing_job_is_registered_and_does_nothing_on_an_empty_database(db):
    expected = {
        "sub_processor_changes_apply",
        "dsr_overdue_flag",
        "dsr_callbacks_retry",
        "breach_deadlines_escalate",
        "dsr_references_anonymise",
    }
    assert expected <= set(portal_jobs.registry())
    for name in expected:
        summary = jobs.JOBS[name]()
        assert isinstance(summary, dict) and not any(summary.values()), name

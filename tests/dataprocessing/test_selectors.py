"""Reads: tenant isolation, the due-soon warning, the compliance officer's open items."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.kernel.errors import NotFound
from dataprocessing import selectors
from dataprocessing.services import assistance
from tests.dataprocessing.factories import (
    AuditRequestFactory,
    BreachNotificationFactory,
    DataSubjectRequestFactory,
)


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
    with pytest.raises(NotFound):
        selectors.audit_request_get(user=client_admin, pk=theirs.pk)
    with pytest.raises(NotFound):
        selectors.dsr_get(user=client_admin, pk=their_dsr.pk)
    with pytest.raises(NotFound):
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
    assistance.assistance_request_log(
        client=client_company, kind="dpia", description="x", acting_user=compliance_officer
    )
    items = selectors.compliance_open_items(user=compliance_officer, now=now)
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


def test_the_dashboard_warns_five_days_ahead(
    client_company, other_company, client_admin, compliance_officer
):
    """Due soon (ahead of GDPR 12(3)) is one read, `dsr_list(due_soon=True)`, scoped like the rest:
    staff see every client's, a client's users only their own."""
    now = timezone.now()

    def due_in(client, delta, **kw):
        return DataSubjectRequestFactory(client=client, due_at=now + delta, **kw)

    soon = due_in(client_company, dt.timedelta(days=4))
    edge = due_in(client_company, dt.timedelta(days=5))
    due_in(client_company, dt.timedelta(days=5, minutes=1))  # later
    due_in(client_company, dt.timedelta(minutes=-1))  # already overdue
    due_in(client_company, dt.timedelta(days=1), status="completed")
    due_in(client_company, dt.timedelta(days=1), identity_check_since=now)  # paused
    other = due_in(other_company, dt.timedelta(days=3))
    staff = selectors.dsr_list(user=compliance_officer, due_soon=True, days=5, now=now)
    assert list(staff) == [other, soon, edge]
    assert all(d.is_due_soon and not d.is_overdue for d in staff)
    mine = selectors.dsr_list(user=client_admin, due_soon=True, days=5, now=now)
    assert list(mine) == [soon, edge]

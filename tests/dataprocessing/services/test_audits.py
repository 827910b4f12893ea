"""Audit requests (art. 21.7): once per 12 months, ten working days' notice on the provider's
calendar, an accredited non-competitor auditor, mutual agreement, declaration, report."""

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.kernel.dates import add_months
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Provider
from dataprocessing.models import AuditRequest
from dataprocessing.services import audits
from tests.accounts.factories import (
    AgreementFactory,
    ClientAdminFactory,
    ClientFactory,
    ComplianceOfficerFactory,
)
from tests.dataprocessing.factories import AuditRequestFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


AUDITOR = {
    "auditor_name": "Jane Auditor",
    "auditor_firm": "Audit & Co",
    "auditor_accredited": True,
    "auditor_not_competitor": True,
}


def request_audit(client, user, proposed_start, **kw):
    data = {**AUDITOR, **kw}
    return audits.audit_request(
        client=client, kind="audit", proposed_start=proposed_start, acting_user=user, **data
    )


# --- ten working days' notice on the provider's calendar ----------------------------------
@pytest.mark.parametrize(
    ("proposed_start", "accepted"),
    [
        (
            dt.date(2026, 3, 4),
            False,
        ),  # the 10th working day itself: only 9 full days of notice before it
        (dt.date(2026, 3, 5), True),
    ],
)
def test_an_audit_requested_just_before_the_spring_festival_starts_after_it(
    client_company, compliance_officer, proposed_start, accepted
):
    # Thursday 12 Feb 2026: working days are 13 Feb, the make-up Saturday 14 Feb, then the
    # festival (15-23 Feb) is skipped: 24, 25, 26, 27, Saturday 28 Feb (make-up), 2, 3, 4 March.
    requested_at = dt.datetime(2026, 2, 12, 10, 0, tzinfo=SHANGHAI)
    if accepted:
        audit = request_audit(
            client_company, compliance_officer, proposed_start, requested_at=requested_at
        )
        assert audit.earliest_start == dt.datetime(2026, 3, 4, 17, 30, tzinfo=SHANGHAI)
        assert audit.on_behalf_of_client is True
    else:
        with pytest.raises(ValidationFailed) as exc:
            request_audit(
                client_company, compliance_officer, proposed_start, requested_at=requested_at
            )
        assert exc.value.errors == {
            "proposed_start": [
                "An audit needs prior written notice of at least 10 working days (art. 21.7.2): "
                "the earliest start is 2026-03-05."
            ]
        }
        assert not AuditRequest.objects.exists()


@pytest.mark.parametrize(
    ("proposed_start", "accepted"),
    [(dt.date(2026, 4, 29), False), (dt.date(2026, 4, 30), True)],
)
def test_kings_day_is_not_a_working_day_for_the_dutch_provider(
    nl_company, compliance_officer, proposed_start, accepted
):
    # Tuesday 14 April 2026: 15, 16, 17, 20, 21, 22, 23, 24, (27 King's Day skipped), 28, 29 April.
    requested_at = dt.datetime(2026, 4, 14, 9, 0, tzinfo=AMSTERDAM)
    if accepted:
        audit = request_audit(
            nl_company, compliance_officer, proposed_start, requested_at=requested_at
        )
        assert audit.earliest_start == dt.datetime(2026, 4, 29, 17, 0, tzinfo=AMSTERDAM)
        assert audit.reimbursement_currency == "USD"
    else:
        with pytest.raises(ValidationFailed) as exc:
            request_audit(nl_company, compliance_officer, proposed_start, requested_at=requested_at)
        assert exc.value.field == "proposed_start"


def test_the_notice_follows_the_profiles_number_of_working_days(nl_company, compliance_officer, cx):
    cx.audit_notice_working_days = 5
    cx.save()
    requested_at = dt.datetime(2026, 4, 14, 9, 0, tzinfo=AMSTERDAM)
    audit = request_audit(
        nl_company, compliance_officer, dt.date(2026, 4, 22), requested_at=requested_at
    )
    assert audit.earliest_start == dt.datetime(2026, 4, 21, 17, 0, tzinfo=AMSTERDAM)


# --- once per 12 months ---------------------------------------------------------------------
def test_a_second_audit_within_twelve_months_is_refused(client_company, client_admin):
    AuditRequestFactory(client=client_company, requested_at=timezone.now() - dt.timedelta(days=300))
    with pytest.raises(ValidationFailed) as exc:
        request_audit(client_company, client_admin, timezone.localdate() + dt.timedelta(days=40))
    assert exc.value.field == "kind"
    assert "art. 21.7.2" in exc.value.message
    assert AuditRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("shift", "accepted"), [(dt.timedelta(minutes=-1), True), (dt.timedelta(minutes=1), False)]
)
def test_twelve_months_after_the_last_audit_a_new_one_may_be_requested(
    client_company, compliance_officer, shift, accepted
):
    requested_at = timezone.now() - dt.timedelta(days=1)
    AuditRequestFactory(client=client_company, requested_at=add_months(requested_at, -12) + shift)
    start = timezone.localdate() + dt.timedelta(days=60)
    if accepted:
        assert request_audit(client_company, compliance_officer, start, requested_at=requested_at)
    else:
        with pytest.raises(ValidationFailed):
            request_audit(client_company, compliance_officer, start, requested_at=requested_at)


@pytest.mark.parametrize("status", [AuditRequest.Status.REFUSED, AuditRequest.Status.CANCELLED])
def test_a_refused_or_cancelled_audit_does_not_count(client_company, client_admin, status):
    AuditRequestFactory(
        client=client_company, requested_at=timezone.now() - dt.timedelta(days=10), status=status
    )
    assert request_audit(client_company, client_admin, timezone.localdate() + dt.timedelta(days=40))


def test_another_clients_audit_does_not_count(client_company, other_company, client_admin):
    AuditRequestFactory(client=other_company, requested_at=timezone.now() - dt.timedelta(days=10))
    assert request_audit(client_company, client_admin, timezone.localdate() + dt.timedelta(days=40))


def test_the_interval_comes_from_the_profile(client_company, client_admin, cm):
    cm.audit_interval_months = 6
    cm.save()
    AuditRequestFactory(client=client_company, requested_at=timezone.now() - dt.timedelta(days=200))
    assert request_audit(client_company, client_admin, timezone.localdate() + dt.timedelta(days=40))


def test_an_information_request_has_none_of_the_audit_limits(client_company, client_admin):
    AuditRequestFactory(client=client_company, requested_at=timezone.now() - dt.timedelta(days=10))
    info = audits.audit_request(
        client=client_company,
        kind="information",
        acting_user=client_admin,
        requester_not_competitor=True,
    )
    again = audits.audit_request(
        client=client_company,
        kind="information",
        acting_user=client_admin,
        requester_not_competitor=True,
    )
    assert info.earliest_start is None and info.on_behalf_of_client is False
    assert again.pk != info.pk


# --- the auditor ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "article"), [("auditor_accredited", "21.7.2"), ("auditor_not_competitor", "21.7.1")]
)
def test_the_auditor_must_be_declared_accredited_and_not_a_competitor(
    client_company, client_admin, field, article
):
    with pytest.raises(ValidationFailed) as exc:
        request_audit(
            client_company,
            client_admin,
            timezone.localdate() + dt.timedelta(days=40),
            **{field: False},
        )
    assert list(exc.value.errors) == [field]
    assert f"art. {article}" in exc.value.errors[field][0]
    assert not AuditRequest.objects.exists()


def test_every_broken_rule_is_named_at_once(client_company, client_admin):
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_request(
            client=client_company,
            kind="audit",
            acting_user=client_admin,
            proposed_start=timezone.localdate(),
        )
    assert set(exc.value.errors) == {
        "proposed_start",
        "auditor_name",
        "auditor_accredited",
        "auditor_not_competitor",
    }


def test_only_the_clients_admin_or_a_compliance_officer_may_request(
    client_company, other_admin, client_viewer, billing_staff
):
    for user in (other_admin, client_viewer, billing_staff):
        with pytest.raises(NotAllowed):
            request_audit(client_company, user, timezone.localdate() + dt.timedelta(days=40))


def test_a_client_admin_cannot_backdate_a_request(client_company, client_admin):
    with pytest.raises(ValidationFailed) as exc:
        request_audit(
            client_company,
            client_admin,
            timezone.localdate() + dt.timedelta(days=40),
            requested_at=timezone.now() - dt.timedelta(days=30),
        )
    assert exc.value.field == "requested_at"


# --- agreement, declaration, start, report -------------------------------------------------
TERMS = {
    "scope": "SMS processing",
    "timing": "two mornings",
    "duration_days": 2,
    "reimbursement_rate": "150.00",
}


@pytest.fixture
def due_audit(client_company, compliance_officer):
    """An audit requested long enough ago that its notice has run."""
    requested_at = timezone.now() - dt.timedelta(days=40)
    return request_audit(
        client_company, compliance_officer, timezone.localdate(), requested_at=requested_at
    )


def test_the_audit_starts_only_after_both_sides_agree_and_the_declaration_is_uploaded(
    due_audit, client_admin, compliance_officer, pdf
):
    with pytest.raises(ApplicationError) as exc:
        audits.audit_start(audit=due_audit, acting_user=compliance_officer)
    assert exc.value.article == "21.7.2"
    audits.audit_agree(audit=due_audit, acting_user=client_admin, **TERMS)
    due_audit.refresh_from_db()
    assert (
        due_audit.status == AuditRequest.Status.REQUESTED
        and due_audit.client_agreed_by == client_admin
    )
    with pytest.raises(ApplicationError) as one_side:
        audits.audit_start(audit=due_audit, acting_user=compliance_officer)
    assert one_side.value.field == "status" and one_side.value.article == "21.7.2"
    audits.audit_agree(audit=due_audit, acting_user=compliance_officer, **TERMS)
    due_audit.refresh_from_db()
    assert due_audit.status == AuditRequest.Status.AGREED
    assert (
        due_audit.reimbursement_rate == Decimal("150.00")
        and due_audit.reimbursement_currency == "CNY"
    )
    assert due_audit.status_changed_by == compliance_officer
    with pytest.raises(ApplicationError) as exc:
        audits.audit_start(audit=due_audit, acting_user=compliance_officer)
    assert exc.value.field == "confidentiality_declaration" and exc.value.article == "21.7.3"
    audits.audit_upload_confidentiality(
        audit=due_audit, file=pdf("nda.pdf"), acting_user=client_admin
    )
    audit = audits.audit_start(audit=due_audit, acting_user=compliance_officer)
    audit.refresh_from_db()
    assert audit.status == AuditRequest.Status.IN_PROGRESS
    assert audit.confidentiality_declaration.name.startswith("audits/confidentiality/")


def test_agreeing_to_other_terms_withdraws_the_other_sides_agreement(
    due_audit, client_admin, compliance_officer
):
    audits.audit_agree(audit=due_audit, acting_user=client_admin, **TERMS)
    audits.audit_agree(
        audit=due_audit, acting_user=compliance_officer, **{**TERMS, "duration_days": 3}
    )
    due_audit.refresh_from_db()
    assert due_audit.client_agreed_at is None and due_audit.provider_agreed_at is not None
    assert due_audit.status == AuditRequest.Status.REQUESTED
    audits.audit_agree(audit=due_audit, acting_user=client_admin, **{**TERMS, "duration_days": 3})
    due_audit.refresh_from_db()
    assert due_audit.status == AuditRequest.Status.AGREED and due_audit.duration_days == 3


def test_incomplete_terms_are_refused(due_audit, client_admin):
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_agree(
            audit=due_audit,
            acting_user=client_admin,
            scope="",
            timing="x",
            duration_days=0,
            reimbursement_rate="-1",
        )
    assert set(exc.value.errors) == {"scope", "duration_days", "reimbursement_rate"}
    due_audit.refresh_from_db()
    assert due_audit.client_agreed_at is None


def test_the_audit_may_not_start_before_the_notice_has_run(
    client_company, client_admin, compliance_officer, pdf
):
    audit = request_audit(
        client_company, client_admin, timezone.localdate() + dt.timedelta(days=40)
    )
    audits.audit_agree(audit=audit, acting_user=client_admin, **TERMS)
    audits.audit_agree(audit=audit, acting_user=compliance_officer, **TERMS)
    audits.audit_upload_confidentiality(audit=audit, file=pdf(), acting_user=client_admin)
    with pytest.raises(ApplicationError) as exc:
        audits.audit_start(audit=audit, acting_user=compliance_officer)
    assert exc.value.field == "earliest_start"
    audit.refresh_from_db()
    assert audit.status == AuditRequest.Status.AGREED


def test_the_report_is_shared_with_the_provider_before_completion(
    due_audit, client_admin, compliance_officer, pdf
):
    audits.audit_agree(audit=due_audit, acting_user=client_admin, **TERMS)
    audits.audit_agree(audit=due_audit, acting_user=compliance_officer, **TERMS)
    audits.audit_upload_confidentiality(audit=due_audit, file=pdf(), acting_user=compliance_officer)
    audits.audit_start(audit=due_audit, acting_user=compliance_officer)
    with pytest.raises(ApplicationError) as exc:
        audits.audit_complete(audit=due_audit, acting_user=compliance_officer)
    assert exc.value.article == "21.7.3"
    audits.audit_share_report(audit=due_audit, file=pdf("report.pdf"), acting_user=client_admin)
    audit = audits.audit_complete(audit=due_audit, acting_user=compliance_officer)
    audit.refresh_from_db()
    assert audit.status == AuditRequest.Status.COMPLETED and audit.report_shared_at
    statuses = [h.status for h in audit.history.order_by("history_date", "history_id")]
    assert statuses[0] == "requested" and statuses[-1] == "completed"
    assert {"agreed", "in_progress", "report_shared"} <= set(statuses)
    assert audit.history.first().history_user == compliance_officer


def test_refusal_needs_a_reason_and_stamps_who_and_when(
    due_audit, compliance_officer, client_admin
):
    with pytest.raises(ValidationFailed):
        audits.audit_refuse(audit=due_audit, acting_user=compliance_officer, reason=" ")
    with pytest.raises(NotAllowed):
        audits.audit_refuse(audit=due_audit, acting_user=client_admin, reason="no")
    audit = audits.audit_refuse(
        audit=due_audit, acting_user=compliance_officer, reason="Auditor is a competitor"
    )
    audit.refresh_from_db()
    assert (audit.status, audit.status_changed_by, audit.refusal_reason) == (
        "refused",
        compliance_officer,
        "Auditor is a competitor",
    )
    with pytest.raises(ApplicationError) as refused:
        audits.audit_cancel(audit=audit, acting_user=client_admin)
    assert refused.value.field == "status"
    audit.refresh_from_db()
    assert audit.status == "refused"


def test_the_client_may_cancel_and_then_request_again(due_audit, client_admin, client_company):
    audits.audit_cancel(audit=due_audit, acting_user=client_admin)
    assert request_audit(client_company, client_admin, timezone.localdate() + dt.timedelta(days=40))


def test_an_information_request_is_completed_directly(
    client_company, client_admin, compliance_officer
):
    info = audits.audit_request(
        client=client_company,
        kind="information",
        acting_user=client_admin,
        requester_not_competitor=True,
    )
    with pytest.raises(ApplicationError) as not_an_audit:
        audits.audit_start(audit=info, acting_user=compliance_officer)
    assert not_an_audit.value.field == "kind"
    info = audits.audit_complete(audit=info, acting_user=compliance_officer)
    assert info.status == AuditRequest.Status.COMPLETED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_audit_requests_of_one_client_give_one_audit():
    cm = Provider.objects.get(code="cm-cn")
    client = ClientFactory(provider=cm)
    AgreementFactory(client=client)
    users = [ClientAdminFactory(client=client), ComplianceOfficerFactory()]
    barrier = threading.Barrier(2)
    results = []

    def run(user):
        try:
            barrier.wait()
            request_audit(client, user, timezone.localdate() + dt.timedelta(days=60))
            results.append("ok")
        except ValidationFailed as exc:
            results.append(exc.field)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["kind", "ok"]
    assert AuditRequest.objects.filter(client=client).count() == 1

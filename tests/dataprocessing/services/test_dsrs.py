"""Data-subject requests (art. 21.5; GDPR art. 12(3)): one month, one extension of two months
within the first month, identity-check pauses, instructions, costs, overdue flags."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from accounts.kernel.dates import add_months
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from dataprocessing.models import DataSubjectRequest
from dataprocessing.services import dsrs
from tests.dataprocessing.factories import receive_dsr

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# --- receipt and deadline -------------------------------------------------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("company", "received", "due"),
    [
        # across the switch to summer time: the same wall-clock hour a month later
        (
            "nl_company",
            dt.datetime(2026, 3, 10, 9, 0, tzinfo=AMSTERDAM),
            dt.datetime(2026, 4, 10, 9, 0, tzinfo=AMSTERDAM),
        ),
        # the month has no 31st: the last day of the month
        (
            "nl_company",
            dt.datetime(2026, 1, 31, 16, 0, tzinfo=AMSTERDAM),
            dt.datetime(2026, 2, 28, 16, 0, tzinfo=AMSTERDAM),
        ),
        # on the provider's own day: 31 January 01:00 in Shanghai is still 30 January in UTC
        (
            "client_company",
            dt.datetime(2026, 1, 31, 1, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 2, 28, 1, 0, tzinfo=SHANGHAI),
        ),
    ],
)
def test_a_request_is_due_one_month_after_receipt(
    request, compliance_officer, company, received, due
):
    client = request.getfixturevalue(company)
    dsr = receive_dsr(client, compliance_officer, received_at=received)
    dsr.refresh_from_db()
    assert dsr.due_at == due
    assert dsr.status == DataSubjectRequest.Status.PENDING and dsr.logged_by == compliance_officer


def test_a_request_received_by_the_provider_notifies_the_clients_admins_at_once(
    client_company,
    client_admin,
    other_admin,
    compliance_officer,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        dsr = receive_dsr(client_company, compliance_officer)
    assert [m.to for m in mail.outbox] == [[client_admin.email]]
    assert "21.5.2" in mail.outbox[0].body and str(dsr.request_id) in mail.outbox[0].body
    # the subject's reference is not spread by email (minimal data)
    assert "+31612345678" not in mail.outbox[0].body


def test_a_client_files_its_own_requests_only_as_received_by_the_client(
    client_company, client_admin, other_admin
):
    with pytest.raises(ValidationFailed) as exc:
        receive_dsr(client_company, client_admin, received_by="provider")
    assert exc.value.field == "received_by"
    dsr = receive_dsr(client_company, client_admin, received_by="client")
    assert dsr.received_by == "client"
    with pytest.raises(NotAllowed):
        receive_dsr(client_company, other_admin, received_by="client")


def test_a_request_needs_a_known_type_and_a_minimal_reference(client_company, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        receive_dsr(client_company, compliance_officer, type="gossip", subject_reference="x" * 201)
    assert set(exc.value.errors) == {"type", "subject_reference"}
    assert not DataSubjectRequest.objects.exists()


# --- instruction, action, cost ---------------------------------------------------------------
def test_the_client_instructs_and_the_provider_records_what_it_did_with_its_cost(
    client_company, client_admin, compliance_officer
):
    dsr = receive_dsr(client_company, compliance_officer)
    with pytest.raises(ApplicationError) as exc:
        dsrs.dsr_record_action(dsr=dsr, action_taken="deleted", acting_user=compliance_officer)
    assert exc.value.article == "21.5.1"
    with pytest.raises(NotAllowed):
        dsrs.dsr_instruct(dsr=dsr, instruction="delete", acting_user=compliance_officer)
    dsrs.dsr_instruct(dsr=dsr, instruction="delete", note="all messages", acting_user=client_admin)
    dsr.refresh_from_db()
    assert (dsr.status, dsr.instruction, dsr.instructed_by) == (
        "in_progress",
        "delete",
        client_admin,
    )
    dsrs.dsr_record_action(
        dsr=dsr,
        action_taken="Deleted 12 messages",
        acting_user=compliance_officer,
        assistance_cost="75.5",
    )
    dsr.refresh_from_db()
    assert dsr.status == "completed" and dsr.completed_by == compliance_officer
    assert (dsr.assistance_cost, dsr.assistance_cost_currency) == (Decimal("75.50"), "CNY")
    assert dsr.history.first().history_user == compliance_officer


def test_an_unknown_instruction_is_refused(client_company, client_admin, compliance_officer):
    dsr = receive_dsr(client_company, compliance_officer)
    with pytest.raises(ValidationFailed) as exc:
        dsrs.dsr_instruct(dsr=dsr, instruction="sell", acting_user=client_admin)
    assert exc.value.field == "instruction"
    dsr.refresh_from_db()
    assert dsr.status == "pending"


def test_the_cost_is_recorded_in_the_providers_currency(nl_company, nl_admin, compliance_officer):
    dsr = receive_dsr(nl_company, compliance_officer)
    dsrs.dsr_instruct(dsr=dsr, instruction="transfer", acting_user=nl_admin)
    dsrs.dsr_record_action(
        dsr=dsr, action_taken="exported", acting_user=compliance_officer, assistance_cost=10
    )
    dsr.refresh_from_db()
    assert dsr.assistance_cost_currency == "USD"


# --- extension ---------------------------------------------------------------------------------
def test_an_extension_adds_two_months_once_and_the_reason_is_told_to_the_client(
    client_company, client_admin, compliance_officer, django_capture_on_commit_callbacks
):
    received = timezone.now() - dt.timedelta(days=20)
    dsr = receive_dsr(client_company, compliance_officer, received_at=received)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_extend(dsr=dsr, reason="Large volume of archives", acting_user=compliance_officer)
    dsr.refresh_from_db()
    assert dsr.due_at == add_months(received.astimezone(SHANGHAI), 3)
    assert dsr.extended and dsr.extension_told_at is not None
    assert [m.to for m in mail.outbox] == [[client_admin.email]]
    assert "Large volume of archives" in mail.outbox[0].body
    with pytest.raises(ApplicationError) as exc:
        dsrs.dsr_extend(dsr=dsr, reason="again", acting_user=compliance_officer)
    assert exc.value.field == "extended"


@pytest.mark.parametrize(
    ("margin", "allowed"), [(dt.timedelta(minutes=5), True), (dt.timedelta(minutes=-5), False)]
)
def test_an_extension_is_allowed_only_within_the_first_month(
    client_company, compliance_officer, margin, allowed
):
    dsr = receive_dsr(
        client_company, compliance_officer, received_at=timezone.now() - dt.timedelta(days=20)
    )
    # the first month ends `margin` from now
    first_month_end = timezone.now() + margin
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(due_at=first_month_end)
    if allowed:
        dsrs.dsr_extend(dsr=dsr, reason="complex", acting_user=compliance_officer)
    else:
        with pytest.raises(ApplicationError) as exc:
            dsrs.dsr_extend(dsr=dsr, reason="complex", acting_user=compliance_officer)
        assert exc.value.field == "due_at"
        dsr.refresh_from_db()
        assert not dsr.extended and dsr.due_at == first_month_end


def test_an_extension_needs_a_reason(client_company, compliance_officer):
    dsr = receive_dsr(client_company, compliance_officer)
    with pytest.raises(ValidationFailed) as exc:
        dsrs.dsr_extend(dsr=dsr, reason="", acting_user=compliance_officer)
    assert exc.value.field == "reason"


# --- pause for the identity check ---------------------------------------------------------------
def test_a_pause_for_the_identity_check_shifts_the_deadline_by_its_length(
    nl_company, compliance_officer
):
    # received in summer time, due in winter time: 1 Nov 09:00 plus the pause of 3 days 6 hours
    received = dt.datetime(2026, 10, 1, 9, 0, tzinfo=AMSTERDAM)
    dsr = receive_dsr(nl_company, compliance_officer, received_at=received)
    dsrs.dsr_pause_for_identity(
        dsr=dsr, acting_user=compliance_officer, now=received + dt.timedelta(days=2)
    )
    dsrs.dsr_resume_after_identity(
        dsr=dsr, acting_user=compliance_officer, now=received + dt.timedelta(days=5, hours=6)
    )
    dsr.refresh_from_db()
    assert dsr.paused_seconds == int(dt.timedelta(days=3, hours=6).total_seconds())
    assert dsr.due_at == dt.datetime(2026, 11, 4, 15, 0, tzinfo=AMSTERDAM)
    assert dsr.identity_check_since is None


def test_pauses_add_up_and_survive_an_extension(client_company, compliance_officer):
    received = timezone.now() - dt.timedelta(days=10)
    dsr = receive_dsr(client_company, compliance_officer, received_at=received)
    for start, end in ((1, 2), (3, 5)):
        dsrs.dsr_pause_for_identity(
            dsr=dsr, acting_user=compliance_officer, now=received + dt.timedelta(days=start)
        )
        dsrs.dsr_resume_after_identity(
            dsr=dsr, acting_user=compliance_officer, now=received + dt.timedelta(days=end)
        )
    dsrs.dsr_extend(dsr=dsr, reason="complex", acting_user=compliance_officer)
    dsr.refresh_from_db()
    assert dsr.due_at == add_months(received.astimezone(SHANGHAI), 3) + dt.timedelta(days=3)


def test_a_paused_request_is_neither_paused_twice_nor_completed(
    client_company, client_admin, compliance_officer
):
    dsr = receive_dsr(client_company, compliance_officer)
    dsrs.dsr_instruct(dsr=dsr, instruction="delete", acting_user=client_admin)
    dsrs.dsr_pause_for_identity(dsr=dsr, acting_user=client_admin)
    with pytest.raises(ApplicationError) as twice:
        dsrs.dsr_pause_for_identity(dsr=dsr, acting_user=compliance_officer)
    assert twice.value.field == "identity_check_since"
    with pytest.raises(ApplicationError) as completed:
        dsrs.dsr_record_action(dsr=dsr, action_taken="deleted", acting_user=compliance_officer)
    assert completed.value.field == "status" and "identity check" in completed.value.message
    dsr.refresh_from_db()
    assert dsr.status == "in_progress" and dsr.identity_check_since is not None


def test_a_request_not_paused_cannot_be_resumed(client_company, compliance_officer):
    dsr = receive_dsr(client_company, compliance_officer)
    with pytest.raises(ApplicationError) as exc:
        dsrs.dsr_resume_after_identity(dsr=dsr, acting_user=compliance_officer)
    assert exc.value.field == "identity_check_since"


# --- cancel ---------------------------------------------------------------------------------------
def test_a_cancelled_request_is_closed_and_can_no_longer_change(
    client_company, client_admin, compliance_officer
):
    dsr = receive_dsr(client_company, compliance_officer)
    dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin, reason="subject withdrew")
    dsr.refresh_from_db()
    assert dsr.status == "cancelled" and dsr.completed_at is not None
    for call in (
        lambda: dsrs.dsr_instruct(dsr=dsr, instruction="delete", acting_user=client_admin),
        lambda: dsrs.dsr_extend(dsr=dsr, reason="x", acting_user=compliance_officer),
        lambda: dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin),
    ):
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.field == "status" and "cancelled" in refused.value.message
    dsr.refresh_from_db()
    assert dsr.status == "cancelled" and not dsr.extended


# --- overdue and due soon ------------------------------------------------------------------------
def test_an_overdue_request_is_flagged_to_compliance_once(
    client_company, compliance_officer, django_capture_on_commit_callbacks
):
    received = dt.datetime(2026, 9, 1, 9, 0, tzinfo=AMSTERDAM)
    dsr = receive_dsr(client_company, compliance_officer, received_at=received)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert dsrs.dsr_overdue_flag(now=dsr.due_at) == {"flagged": 0}
        assert dsrs.dsr_overdue_flag(now=dsr.due_at + dt.timedelta(minutes=1)) == {"flagged": 1}
        assert dsrs.dsr_overdue_flag(now=dsr.due_at + dt.timedelta(days=1)) == {"flagged": 0}
    assert [m.to for m in mail.outbox] == [[compliance_officer.email]]
    dsr.refresh_from_db()
    assert dsr.overdue_flagged_at is not None


def test_a_paused_request_is_not_flagged_overdue(client_company, compliance_officer):
    received = dt.datetime(2026, 9, 1, tzinfo=AMSTERDAM)
    paused = receive_dsr(client_company, compliance_officer, received_at=received)
    running = receive_dsr(client_company, compliance_officer, received_at=received)
    dsrs.dsr_pause_for_identity(dsr=paused, acting_user=compliance_officer)
    # a day past both deadlines (not "now", so the test holds whatever the date): only the
    # request whose clock runs is overdue
    assert dsrs.dsr_overdue_flag(now=paused.due_at + dt.timedelta(days=1)) == {"flagged": 1}
    paused.refresh_from_db()
    running.refresh_from_db()
    assert paused.overdue_flagged_at is None and running.overdue_flagged_at is not None

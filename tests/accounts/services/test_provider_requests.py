"""The provider's own requests to the client: records of end-user consent or lawful basis (art.
5.4, 20.1.2) and its audit of the client's compliance (art. 5.7), answered by the deadline each
request sets in working days, flagged once overdue, and closed with findings."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import DataRequest, DataRequestDocument, Notification
from accounts.services import data_requests
from tests.accounts.clock import AMSTERDAM, SHANGHAI
from tests.accounts.factories import ClientAdminFactory, ClientFactory, StaffFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")
CONSENT = DataRequest.Kind.CONSENT_RECORDS
AUDIT = DataRequest.Kind.COMPLIANCE_AUDIT


def send(client, staff, now, kind=CONSENT, working_days=5, **kwargs):
    kwargs.setdefault("description", "Opt-in records of the numbers in campaign 42")
    if kind == AUDIT:
        kwargs.setdefault("scope", "Traffic of 2026")
        kwargs.setdefault("documents_requested", "Opt-in logs; privacy notice")
    return data_requests.provider_request_send(
        client=client,
        acting_user=staff,
        kind=kind,
        working_days=working_days,
        now=now,
        **kwargs,
    )


@pytest.fixture
def clock(monkeypatch):
    """Move the clock: `clock.set(moment)`."""

    class Clock:
        moment = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)

        def set(self, moment):
            self.moment = moment

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.moment)
    return clock


def pdf(name="records.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 consent records", content_type="application/pdf")


# --- The deadline the request sets, in working days of each calendar ------------------------
@pytest.mark.parametrize(
    ("sent", "days", "due"),
    [
        # Friday Feb 13 2026, before the Spring Festival: the make-up Saturday Feb 14 counts
        (
            dt.datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI),
            1,
            dt.datetime(2026, 2, 14, 17, 30, tzinfo=SHANGHAI),
        ),
        # ... and the second working day is only after the holiday (Feb 15-23): Tue Feb 24
        (
            dt.datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI),
            2,
            dt.datetime(2026, 2, 24, 17, 30, tzinfo=SHANGHAI),
        ),
        # Tuesday Sep 29: Sep 30, Oct 8, Oct 9, the make-up Saturday Oct 10, Monday Oct 12
        (
            dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            5,
            dt.datetime(2026, 10, 12, 17, 30, tzinfo=SHANGHAI),
        ),
    ],
)
@pytest.mark.parametrize("kind", [CONSENT, AUDIT])
def test_the_deadline_is_the_requests_working_days_in_the_chinese_calendar(
    client_company, compliance_officer, sent, days, due, kind
):
    request = send(client_company, compliance_officer, sent, kind=kind, working_days=days)
    request.refresh_from_db()
    assert (request.kind, request.logged_at, request.due_at) == (kind, sent, due)
    assert request.response_working_days == days
    assert request.requested_by == client_company.provider.name


@pytest.mark.parametrize(
    ("sent", "days", "due"),
    [
        # Friday Apr 24 2026: King's Day (Mon Apr 27) does not count, Tue Apr 28 17:00
        (
            dt.datetime(2026, 4, 24, 10, 0, tzinfo=AMSTERDAM),
            1,
            dt.datetime(2026, 4, 28, 17, 0, tzinfo=AMSTERDAM),
        ),
        (
            dt.datetime(2026, 4, 24, 10, 0, tzinfo=AMSTERDAM),
            2,
            dt.datetime(2026, 4, 29, 17, 0, tzinfo=AMSTERDAM),
        ),
    ],
)
def test_the_deadline_is_the_requests_working_days_in_the_dutch_calendar(
    cx, compliance_officer, sent, days, due
):
    client = ClientFactory(provider=cx)
    request = send(client, compliance_officer, sent, working_days=days)
    assert request.due_at == due


@pytest.mark.parametrize(("days", "accepted"), [(0, False), (1, True), (60, True), (61, False)])
def test_the_client_gets_between_one_and_sixty_working_days(
    client_company, compliance_officer, days, accepted
):
    sent = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    if accepted:
        assert send(client_company, compliance_officer, sent, working_days=days).pk
        return
    with pytest.raises(ValidationFailed) as exc:
        send(client_company, compliance_officer, sent, working_days=days)
    assert list(exc.value.errors) == ["working_days"]
    assert "20.1.2" in exc.value.errors["working_days"][0]
    assert not DataRequest.objects.exists()


@pytest.mark.parametrize("field", ["scope", "documents_requested"])
def test_a_compliance_audit_states_its_scope_and_the_documents_asked(
    client_company, compliance_officer, field
):
    with pytest.raises(ValidationFailed) as exc:
        send(
            client_company,
            compliance_officer,
            dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            kind=AUDIT,
            **{field: " "},
        )
    assert list(exc.value.errors) == [field]
    assert exc.value.article == "5.7"
    assert not DataRequest.objects.exists()


def test_a_consent_request_needs_no_scope_but_says_what_is_asked(
    client_company, compliance_officer
):
    sent = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    assert send(client_company, compliance_officer, sent, scope="").scope == ""
    with pytest.raises(ValidationFailed) as exc:
        send(client_company, compliance_officer, sent, description="")
    assert list(exc.value.errors) == ["description"]


def test_registration_data_is_not_a_providers_request(client_company, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        send(
            client_company,
            compliance_officer,
            dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            kind=DataRequest.Kind.REGISTRATION_DATA,
        )
    assert list(exc.value.errors) == ["kind"]


def test_only_staff_of_the_clients_provider_send_it(client_company, client_admin, cx):
    sent = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    with pytest.raises(NotAllowed):
        send(client_company, client_admin, sent)
    with pytest.raises(ApplicationError) as exc:
        send(client_company, StaffFactory(role="compliance_officer", providers=[cx]), sent)
    assert exc.value.field == "client"
    assert not DataRequest.objects.exists()


def test_the_client_admins_are_told_with_the_deadline(
    client_company, client_admin, client_viewer, compliance_officer, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            client_company, compliance_officer, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
            kind=AUDIT,
        )  # fmt: skip
    assert [m.to for m in mailoutbox] == [[client_admin.email]]
    assert "5 working days" in mailoutbox[0].subject
    assert "2026-10-12 17:30" in mailoutbox[0].body
    assert "Opt-in logs" in mailoutbox[0].body
    assert Notification.objects.filter(key=f"provider-request:{request.pk}").count() == 1


# --- Overdue --------------------------------------------------------------------------------
def test_overdue_only_after_the_deadline_and_flagged_once_to_staff_and_client(
    client_company, client_admin, compliance_officer, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    request = send(
        client_company, compliance_officer, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    )
    due = request.due_at
    mailoutbox.clear()
    # at the deadline itself it is not overdue
    assert data_requests.data_requests_flag_overdue(now=due) == 0
    assert not DataRequest.objects.filter(DataRequest.overdue_q(due)).exists()
    # a moment later it is, once
    later = due + dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert data_requests.data_requests_flag_overdue(now=later) == 1
        assert data_requests.data_requests_flag_overdue(now=later + dt.timedelta(hours=1)) == 0
    request.refresh_from_db()
    assert request.overdue_flagged_at == later
    recipients = sorted(addr for m in mailoutbox for addr in m.to)
    assert client_admin.email in recipients
    assert (
        Notification.objects.filter(key=f"provider-request-overdue-client:{request.pk}").count()
        == 1
    )


def test_a_registration_data_request_overdue_is_not_sent_to_the_client(
    client_company, client_admin, billing_staff
):
    request = data_requests.data_request_log(
        client=client_company,
        acting_user=billing_staff,
        requested_by="China Mobile",
        description="Licence",
        now=dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
    )
    assert data_requests.data_requests_flag_overdue(now=request.due_at + dt.timedelta(seconds=1))
    assert not Notification.objects.filter(key__startswith="provider-request-overdue").exists()


# --- Answering with documents, and closing --------------------------------------------------
@pytest.fixture
def audit_request(client_company, compliance_officer):
    return send(
        client_company, compliance_officer, dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI),
        kind=AUDIT,
    )  # fmt: skip


def test_the_client_answers_with_the_documents_asked(audit_request, client_admin):
    data_requests.data_request_answer(
        data_request=audit_request,
        acting_user=client_admin,
        answer="Logs attached",
        documents=[pdf(), pdf("notice.pdf")],
    )
    audit_request.refresh_from_db()
    assert audit_request.status == DataRequest.Status.ANSWERED
    assert audit_request.answered_by == client_admin
    docs = list(audit_request.documents.all())
    assert len(docs) == 2 and all(d.uploaded_by == client_admin for d in docs)
    assert docs[0].file.read().startswith(b"%PDF-")


def test_a_document_of_another_type_is_refused_and_nothing_is_answered(audit_request, client_admin):
    fake = SimpleUploadedFile("records.pdf", b"PK\x03\x04 a zip", content_type="application/pdf")
    with pytest.raises(ValidationFailed) as exc:
        data_requests.data_request_answer(
            data_request=audit_request,
            acting_user=client_admin,
            answer="Logs",
            documents=[pdf(), fake],
        )
    assert exc.value.field == "documents"
    audit_request.refresh_from_db()
    assert audit_request.status == DataRequest.Status.OPEN and audit_request.answer == ""
    assert not DataRequestDocument.objects.exists()


def test_registration_data_is_answered_without_documents(
    client_company, client_admin, billing_staff
):
    request = data_requests.data_request_log(
        client=client_company, acting_user=billing_staff, requested_by="CMCC", description="x"
    )
    with pytest.raises(ValidationFailed) as exc:
        data_requests.data_request_answer(
            data_request=request, acting_user=client_admin, answer="y", documents=[pdf()]
        )
    assert exc.value.field == "documents"


def test_an_answer_after_the_deadline_is_taken_and_shown_late(
    client_company, client_admin, compliance_officer, clock
):
    sent = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    request = send(client_company, compliance_officer, sent, working_days=1)
    clock.set(request.due_at)
    data_requests.data_request_answer(data_request=request, acting_user=client_admin, answer="ok")
    request.refresh_from_db()
    assert not request.answered_late

    late = send(client_company, compliance_officer, sent, working_days=1)
    clock.set(late.due_at + dt.timedelta(seconds=1))
    data_requests.data_request_answer(data_request=late, acting_user=client_admin, answer="ok")
    late.refresh_from_db()
    assert late.answered_late and late.status == DataRequest.Status.ANSWERED


def test_staff_close_an_answered_request_with_findings(
    audit_request, client_admin, compliance_officer, mailoutbox, django_capture_on_commit_callbacks
):
    with pytest.raises(ApplicationError) as early:
        data_requests.data_request_close(
            data_request=audit_request, acting_user=compliance_officer, findings="Fine"
        )
    assert early.value.field == "status"
    data_requests.data_request_answer(
        data_request=audit_request, acting_user=client_admin, answer="Logs", documents=[pdf()]
    )
    with pytest.raises(ValidationFailed) as empty:
        data_requests.data_request_close(
            data_request=audit_request, acting_user=compliance_officer, findings=" "
        )
    assert empty.value.field == "findings"
    with pytest.raises(NotAllowed):
        data_requests.data_request_close(
            data_request=audit_request, acting_user=client_admin, findings="Fine"
        )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        data_requests.data_request_close(
            data_request=audit_request, acting_user=compliance_officer, findings="Compliant"
        )
    audit_request.refresh_from_db()
    assert (audit_request.status, audit_request.findings) == ("closed", "Compliant")
    assert audit_request.closed_by == compliance_officer
    assert [m.to for m in mailoutbox] == [[client_admin.email]]


def test_another_clients_admin_cannot_answer(audit_request, cm):
    stranger = ClientAdminFactory(client=ClientFactory(provider=cm))
    with pytest.raises(NotAllowed):
        data_requests.data_request_answer(
            data_request=audit_request, acting_user=stranger, answer="x"
        )
    audit_request.refresh_from_db()
    assert audit_request.status == DataRequest.Status.OPEN

"""Message limits (art. 26): the unpaid count, the 75 % notice once per crossing, payments,
limit increase requests and staff limit changes."""

import datetime as dt

import pytest
from django.core import mail

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Notification
from billing.jobs import JOBS
from billing.models import LimitChange, LimitIncreaseRequest, MessageAccount
from billing.prepaid.services import limits
from billing.prepaid.services.usage import usage_ingest
from tests.billing.prepaid.helpers import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(client_company):
    account = limits.message_account_for_client(client=client_company)
    account.limit = 100
    account.save()
    return account


def notices(client):
    return list(
        Notification.objects.filter(client=client, key__startswith="limit-notice:").order_by("pk")
    )


def test_a_new_account_gets_the_profile_standard_limit_of_50000(client_company):
    account = limits.message_account_for_client(client=client_company)

    assert account.limit == 50_000
    assert account.unpaid_count == 0
    assert account.notice_armed is True
    assert limits.message_account_for_client(client=client_company).pk == account.pk


def test_the_limit_follows_the_provider_profile(client_company):
    provider = client_company.provider
    provider.message_limit_default = 1234
    provider.save()

    assert limits.message_account_for_client(client=client_company).limit == 1234


def test_postpaid_usage_raises_the_unpaid_count(client_company, platform):
    usage_ingest(
        records=[record(client_company, 1, messages=3), record(client_company, 2, messages=4)],
        platform_user=platform,
    )

    assert MessageAccount.objects.get(client=client_company).unpaid_count == 7


@pytest.mark.parametrize(("messages", "status"), [(100, "accepted"), (101, "refused")])
def test_usage_up_to_exactly_the_limit_is_accepted_and_one_over_is_refused(
    client_company, platform, small_limit, messages, status
):
    [result] = usage_ingest(
        records=[record(client_company, 1, messages=messages)], platform_user=platform
    )

    assert result["status"] == status
    small_limit.refresh_from_db()
    assert small_limit.unpaid_count == (100 if status == "accepted" else 0)


def test_at_the_limit_further_usage_is_refused_until_payment(
    client_company, platform, small_limit, billing_staff
):
    usage_ingest(records=[record(client_company, 1, messages=100)], platform_user=platform)

    [refused] = usage_ingest(records=[record(client_company, 2)], platform_user=platform)
    assert refused["status"] == "refused"
    assert refused["field"] == "message_count"
    assert refused["code"] == "message_limit_reached"
    assert refused["article"] == "26.2"

    limits.messages_paid_record(
        client=client_company,
        messages=10,
        reference="INV-1",
        idempotency_key="pay-1",
        acting_user=billing_staff,
    )
    [accepted] = usage_ingest(records=[record(client_company, 2)], platform_user=platform)
    assert accepted["status"] == "accepted"
    small_limit.refresh_from_db()
    assert small_limit.unpaid_count == 91


def test_a_refused_record_does_not_block_a_smaller_one_that_still_fits(
    client_company, platform, small_limit
):
    results = usage_ingest(
        records=[
            record(client_company, 1, messages=95),
            record(client_company, 2, messages=10),
            record(client_company, 3, messages=5),
        ],
        platform_user=platform,
    )

    assert [r["status"] for r in results] == ["accepted", "refused", "accepted"]
    small_limit.refresh_from_db()
    assert small_limit.unpaid_count == 100


def test_a_higher_limit_lets_usage_through_again(
    client_company, platform, small_limit, billing_staff
):
    usage_ingest(records=[record(client_company, 1, messages=100)], platform_user=platform)

    limits.limit_change(
        client=client_company, new_limit=200, reason="good payer", acting_user=billing_staff
    )

    [result] = usage_ingest(records=[record(client_company, 2)], platform_user=platform)
    assert result["status"] == "accepted"


# --- The notice (art. 26.1) ----------------------------------------------------------------
def test_the_notice_goes_to_admins_and_billing_email_once_when_75_percent_is_crossed(
    client_company,
    client_admin,
    client_viewer,
    platform,
    small_limit,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 1, messages=74)], platform_user=platform)
    assert notices(client_company) == []

    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 2, messages=1)], platform_user=platform)
    [notice] = notices(client_company)
    assert notice.key == f"limit-notice:{client_company.pk}:1"
    assert set(notice.recipients) == {client_admin.email, client_company.billing_email}
    assert client_viewer.email not in notice.recipients
    assert len(mail.outbox) == 1
    assert "75 %" in mail.outbox[0].subject

    # further usage above the threshold sends nothing more, neither does the job
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 3, messages=10)], platform_user=platform)
        assert JOBS["limit_notices_send"]() == {"sent": 0}
    assert len(notices(client_company)) == 1
    assert len(mail.outbox) == 1


def test_the_notice_is_sent_again_after_the_count_fell_below_75_percent(
    client_company,
    client_admin,
    platform,
    small_limit,
    billing_staff,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 1, messages=80)], platform_user=platform)
        # a payment that stays above the threshold does not re-arm it
        limits.messages_paid_record(
            client=client_company, messages=5, idempotency_key="p1", acting_user=billing_staff
        )
        usage_ingest(records=[record(client_company, 2, messages=1)], platform_user=platform)
    assert len(notices(client_company)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        limits.messages_paid_record(
            client=client_company, messages=50, idempotency_key="p2", acting_user=billing_staff
        )
    small_limit.refresh_from_db()
    assert small_limit.unpaid_count == 26
    assert small_limit.notice_armed is True

    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 3, messages=49)], platform_user=platform)
    assert [n.key for n in notices(client_company)] == [
        f"limit-notice:{client_company.pk}:1",
        f"limit-notice:{client_company.pk}:2",
    ]
    assert len([m for m in mail.outbox if "75 %" in m.subject]) == 2


def test_a_limit_change_re_arms_the_notice(
    client_company,
    client_admin,
    platform,
    small_limit,
    billing_staff,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 1, messages=80)], platform_user=platform)
    assert len(notices(client_company)) == 1

    # 80 of 104 is still above 75 %: the changed limit is a new crossing
    with django_capture_on_commit_callbacks(execute=True):
        limits.limit_change(
            client=client_company, new_limit=104, reason="slightly more", acting_user=billing_staff
        )
    assert len(notices(client_company)) == 2

    # 80 of 200 is below: armed, and the next crossing (150) sends the third
    with django_capture_on_commit_callbacks(execute=True):
        limits.limit_change(
            client=client_company, new_limit=200, reason="more", acting_user=billing_staff
        )
        usage_ingest(records=[record(client_company, 2, messages=69)], platform_user=platform)
    assert len(notices(client_company)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 3, messages=1)], platform_user=platform)
    assert [n.key.rsplit(":", 1)[1] for n in notices(client_company)] == ["1", "2", "3"]


def test_the_limit_notices_job_sends_a_due_notice_once(
    client_company, client_admin, small_limit, django_capture_on_commit_callbacks
):
    # an account left crossed (e.g. the on-commit send was lost with its process)
    MessageAccount.objects.filter(pk=small_limit.pk).update(unpaid_count=90)

    with django_capture_on_commit_callbacks(execute=True):
        assert JOBS["limit_notices_send"]() == {"sent": 1}
        assert JOBS["limit_notices_send"]() == {"sent": 0}

    assert len(notices(client_company)) == 1
    assert len(mail.outbox) == 1
    small_limit.refresh_from_db()
    assert small_limit.notice_armed is False
    assert small_limit.notices_sent == 1


def test_the_notice_threshold_follows_the_profile_percentage(
    client_company, client_admin, platform, small_limit, django_capture_on_commit_callbacks
):
    provider = client_company.provider
    provider.limit_notice_pct = 90
    provider.save()

    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 1, messages=89)], platform_user=platform)
    assert notices(client_company) == []
    with django_capture_on_commit_callbacks(execute=True):
        usage_ingest(records=[record(client_company, 2, messages=1)], platform_user=platform)
    assert len(notices(client_company)) == 1


# --- Payments ------------------------------------------------------------------------------
def test_a_payment_is_recorded_once_per_idempotency_key(client_company, platform, billing_staff):
    usage_ingest(records=[record(client_company, 1, messages=30)], platform_user=platform)

    first = limits.messages_paid_record(
        client=client_company, messages=10, idempotency_key="pay", acting_user=billing_staff
    )
    again = limits.messages_paid_record(
        client=client_company, messages=10, idempotency_key="pay", acting_user=billing_staff
    )

    assert first.pk == again.pk
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 20
    with pytest.raises(Conflict):
        limits.messages_paid_record(
            client=client_company, messages=11, idempotency_key="pay", acting_user=billing_staff
        )


def test_more_messages_than_are_unpaid_cannot_be_paid(client_company, platform, billing_staff):
    usage_ingest(records=[record(client_company, 1, messages=5)], platform_user=platform)

    with pytest.raises(ValidationFailed) as exc:
        limits.messages_paid_record(
            client=client_company, messages=6, idempotency_key="k", acting_user=billing_staff
        )

    assert exc.value.field == "messages"
    assert MessageAccount.objects.get(client=client_company).unpaid_count == 5


def test_only_billing_staff_record_message_payments(client_company, client_admin):
    with pytest.raises(NotAllowed):
        limits.messages_paid_record(
            client=client_company, messages=1, idempotency_key="k", acting_user=client_admin
        )


# --- Limit increase requests (art. 26.2) ---------------------------------------------------
def test_a_client_admin_requests_and_billing_staff_approve_in_writing(
    client_company, client_admin, billing_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = limits.limit_increase_request(
            client=client_company,
            requested_limit=80_000,
            reason="campaign in May",
            acting_user=client_admin,
        )
    assert request.status == "pending"
    assert request.current_limit == 50_000

    with django_capture_on_commit_callbacks(execute=True):
        limits.limit_increase_approve(
            request=request, acting_user=billing_staff, note="approved for the campaign"
        )

    request.refresh_from_db()
    assert request.status == "approved"
    assert request.decided_by == billing_staff
    assert request.decided_at is not None
    assert request.decision_note == "approved for the campaign"
    account = MessageAccount.objects.get(client=client_company)
    assert account.limit == 80_000
    change = LimitChange.objects.get(client=client_company)
    assert (change.old_limit, change.new_limit, change.source, change.changed_by) == (
        50_000,
        80_000,
        "request",
        billing_staff,
    )
    # history: who asked and who decided
    assert [h.history_user for h in request.history.order_by("history_date")] == [
        client_admin,
        billing_staff,
    ]
    assert account.history.order_by("-history_date").first().history_user == billing_staff
    subjects = [m.subject for m in mail.outbox]
    assert "Your message limit has been raised" in subjects
    approval = next(m for m in mail.outbox if m.subject == "Your message limit has been raised")
    assert client_admin.email in approval.to
    assert "approved for the campaign" in approval.body


def test_billing_staff_refuse_with_a_reason_and_the_client_is_told(
    client_company, client_admin, billing_staff, django_capture_on_commit_callbacks
):
    request = limits.limit_increase_request(
        client=client_company, requested_limit=60_000, reason="growth", acting_user=client_admin
    )

    with pytest.raises(ValidationFailed) as missing:
        limits.limit_increase_refuse(request=request, acting_user=billing_staff, note=" ")
    assert missing.value.field == "note"
    with django_capture_on_commit_callbacks(execute=True):
        limits.limit_increase_refuse(
            request=request, acting_user=billing_staff, note="payment history too short"
        )

    request.refresh_from_db()
    assert request.status == "refused"
    assert request.decided_by == billing_staff
    assert MessageAccount.objects.get(client=client_company).limit == 50_000
    refusal = next(m for m in mail.outbox if "refused" in m.subject)
    assert "payment history too short" in refusal.body
    # a decided request cannot be decided again
    with pytest.raises(Conflict):
        limits.limit_increase_approve(request=request, acting_user=billing_staff, note="")


@pytest.mark.parametrize("requested", [50_000, 49_999])
def test_a_request_must_ask_for_more_than_the_current_limit(
    client_company, client_admin, requested
):
    with pytest.raises(ValidationFailed) as exc:
        limits.limit_increase_request(
            client=client_company, requested_limit=requested, reason="x", acting_user=client_admin
        )

    assert exc.value.field == "requested_limit"


def test_only_one_request_is_pending_at_a_time(client_company, client_admin):
    limits.limit_increase_request(
        client=client_company, requested_limit=60_000, reason="a", acting_user=client_admin
    )

    with pytest.raises(Conflict):
        limits.limit_increase_request(
            client=client_company, requested_limit=70_000, reason="b", acting_user=client_admin
        )
    assert LimitIncreaseRequest.objects.filter(client=client_company).count() == 1


def test_a_viewer_or_another_clients_admin_cannot_request(
    client_company, client_viewer, other_admin
):
    for user in (client_viewer, other_admin):
        with pytest.raises(NotAllowed):
            limits.limit_increase_request(
                client=client_company, requested_limit=60_000, reason="x", acting_user=user
            )


def test_a_client_admin_cannot_approve(client_company, client_admin):
    request = limits.limit_increase_request(
        client=client_company, requested_limit=60_000, reason="x", acting_user=client_admin
    )

    with pytest.raises(NotAllowed):
        limits.limit_increase_approve(request=request, acting_user=client_admin, note="")


def test_approval_of_a_request_overtaken_by_a_higher_limit_is_refused(
    client_company, client_admin, billing_staff
):
    request = limits.limit_increase_request(
        client=client_company, requested_limit=60_000, reason="x", acting_user=client_admin
    )
    limits.limit_change(
        client=client_company, new_limit=70_000, reason="own initiative", acting_user=billing_staff
    )

    with pytest.raises(ApplicationError) as refused:
        limits.limit_increase_approve(request=request, acting_user=billing_staff, note="")
    assert (refused.value.code, refused.value.article) == ("not_an_increase", "26.2")
    assert MessageAccount.objects.get(client=client_company).limit == 70_000
    request.refresh_from_db()
    assert request.status == LimitIncreaseRequest.Status.PENDING


def test_staff_change_a_limit_with_immediate_effect_and_the_client_is_emailed(
    client_company, client_admin, billing_staff, django_capture_on_commit_callbacks
):
    before = dt.datetime.now(dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        change = limits.limit_change(
            client=client_company,
            new_limit=20_000,
            reason="late payments",
            acting_user=billing_staff,
        )

    account = MessageAccount.objects.get(client=client_company)
    assert account.limit == 20_000
    assert account.limit_changed_at >= before
    assert (change.old_limit, change.new_limit, change.source, change.reason) == (
        50_000,
        20_000,
        "staff",
        "late payments",
    )
    [email] = [m for m in mail.outbox if m.subject == "Your message limit has changed"]
    assert set(email.to) == {client_admin.email, client_company.billing_email}
    assert "immediate effect" in email.body and "late payments" in email.body


def test_a_staff_limit_change_needs_a_reason(client_company, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        limits.limit_change(
            client=client_company, new_limit=20_000, reason="", acting_user=billing_staff
        )
    assert exc.value.field == "reason"

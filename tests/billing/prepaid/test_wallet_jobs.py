"""The prepaid jobs: expire_credit, credit_expiry_reminders, inactive_accounts_delete (art. 29.3, 29.7)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from accounts.kernel.dates import add_months
from accounts.models import Client, Notification, User
from billing.jobs import JOBS
from billing.models import CreditLot, LedgerEntry, Wallet
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.expiry import credit_expire, credit_expiry_reminders_send
from billing.prepaid.services.inactivity import inactive_accounts_delete
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory, DirectorFactory
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import SH

AMS = ZoneInfo("Europe/Amsterdam")


def test_the_three_prepaid_jobs_are_registered():
    assert {"credit_expire", "credit_expiry_reminders_send", "inactive_accounts_delete"} <= set(
        JOBS
    )


# --- credit_expire -----------------------------------------------------------------------------
@pytest.mark.parametrize("code, tz", [("cm-cn", SH), ("cxengage-nl", AMS)])
def test_expiry_writes_an_entry_for_what_is_left_from_00_00_of_the_expiry_day(db, code, tz):
    from accounts.models import Provider

    wallet = wallet_for_client(client=prepaid_client(Provider.objects.get(code=code)))
    lot = top_up(wallet, "80.00", dt.datetime(2028, 2, 29, 15, tzinfo=tz))
    wallet_debit(
        wallet=wallet,
        amount="30.00",
        idempotency_key="d",
        cause="sms",
        at=dt.datetime(2028, 6, 1, tzinfo=tz),
    )
    # a moment before local midnight of 28 Feb 2029: nothing expires
    assert credit_expire(now=dt.datetime(2029, 2, 27, 23, 59, 59, tzinfo=tz))["lots_expired"] == 0
    # at local midnight it does
    summary = credit_expire(now=dt.datetime(2029, 2, 28, 0, 0, tzinfo=tz))
    assert summary["lots_expired"] == 1 and summary["entries"] == 1 and summary["amount"] == "50.00"
    lot.refresh_from_db()
    assert lot.remaining == 0 and lot.status == CreditLot.Status.EXPIRED
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.EXPIRY)
    assert entry.amount == Decimal("-50.00") and entry.idempotency_key == f"expiry:{lot.pk}"
    assert (
        entry.lot == lot
        and entry.balance_after == Decimal("0.00")
        and entry.currency == wallet.currency
    )
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.00")
    check(wallet)


def test_expiry_run_twice_changes_nothing_the_second_time(cm):
    now = timezone.now()
    wallets = [wallet_for_client(client=prepaid_client(cm)) for _ in range(3)]
    for i, w in enumerate(wallets):
        top_up(w, "10.00", now - dt.timedelta(days=400 + i))
        top_up(w, "20.00", now - dt.timedelta(days=380))
        top_up(w, "5.00", now - dt.timedelta(days=10))  # not expired
    first = credit_expire(now=now, batch_size=2)  # small batches: several rounds
    assert first["lots_expired"] == 6 and first["entries"] == 6 and first["amount"] == "90.00"
    assert first["batches"] >= 3
    entries = LedgerEntry.objects.count()
    second = credit_expire(now=now, batch_size=2)
    assert second["lots_expired"] == 0 and second["entries"] == 0
    assert LedgerEntry.objects.count() == entries
    for w in wallets:
        w.refresh_from_db()
        assert w.balance == Decimal("5.00")
        check(w)


def test_expiry_entries_carry_the_running_balance_of_each_wallet(cm):
    now = timezone.now()
    wallet = wallet_for_client(client=prepaid_client(cm))
    top_up(wallet, "10.00", now - dt.timedelta(days=400))
    top_up(wallet, "20.00", now - dt.timedelta(days=390))
    top_up(wallet, "7.00", now - dt.timedelta(days=1))
    credit_expire(now=now)
    entries = list(
        LedgerEntry.objects.filter(kind="expiry")
        .order_by("pk")
        .values_list("amount", "balance_after")
    )
    assert entries == [(Decimal("-10.00"), Decimal("27.00")), (Decimal("-20.00"), Decimal("7.00"))]


def test_a_used_up_lot_expires_without_an_entry(cm):
    now = timezone.now()
    wallet = wallet_for_client(client=prepaid_client(cm))
    lot = top_up(wallet, "10.00", now - dt.timedelta(days=400))
    CreditLot.objects.filter(pk=lot.pk).update(remaining=0)  # as if used, status left active
    Wallet.objects.filter(pk=wallet.pk).update(balance=0)
    summary = credit_expire(now=now)
    assert summary["lots_expired"] == 1 and summary["entries"] == 0
    assert CreditLot.objects.get(pk=lot.pk).status == CreditLot.Status.EXPIRED


def test_expire_credit_runs_through_the_job_registry(cm):
    wallet = wallet_for_client(client=prepaid_client(cm))
    top_up(wallet, "10.00", timezone.now() - dt.timedelta(days=400))
    assert JOBS["credit_expire"]()["lots_expired"] == 1
    assert JOBS["credit_expire"]()["lots_expired"] == 0


# --- credit_expiry_reminders_send -----------------------------------------------------------------------
def test_a_reminder_goes_30_days_before_a_lot_with_credit_expires_once(
    cm, django_capture_on_commit_callbacks
):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    wallet = wallet_for_client(client=client)
    lot = top_up(wallet, "10.00", dt.datetime(2026, 3, 15, 12, tzinfo=SH), reference="PAY-77")
    used = top_up(wallet, "5.00", dt.datetime(2026, 3, 15, 12, tzinfo=SH))
    CreditLot.objects.filter(pk=used.pk).update(remaining=0, status=CreditLot.Status.EXHAUSTED)
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("10.00"))
    # 31 days before: nothing
    assert credit_expiry_reminders_send(now=lot.expires_at - dt.timedelta(days=31))["reminded"] == 0
    # 30 days before: one email for the lot with credit
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            credit_expiry_reminders_send(now=lot.expires_at - dt.timedelta(days=30))["reminded"]
            == 1
        )
    assert len(mail.outbox) == 1
    assert admin.email in mail.outbox[0].to and client.billing_email in mail.outbox[0].to
    assert "2027-03-15" in mail.outbox[0].subject and "2027-03-14" in mail.outbox[0].body
    # again: nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            credit_expiry_reminders_send(now=lot.expires_at - dt.timedelta(days=29))["reminded"]
            == 0
        )
    assert len(mail.outbox) == 1
    lot.refresh_from_db()
    assert lot.expiry_reminded_at is not None


# --- inactive_accounts_delete (art. 29.7) ------------------------------------------------------------
def _registered(cm, at):
    client = prepaid_client(cm, approved_at=at, created_at=at)
    ClientAdminFactory(client=client, email=f"admin{client.pk}@client.test", full_name="Ada Admin")
    DirectorFactory(client=client, name="Dora Director")
    return client


def test_an_account_never_charged_is_warned_14_days_ahead_then_deleted_and_anonymised(
    cm, django_capture_on_commit_callbacks
):
    registered = dt.datetime(2026, 1, 10, 9, tzinfo=SH)
    client = _registered(cm, registered)
    deadline = dt.datetime(2026, 4, 10, 9, tzinfo=SH)
    wallet = wallet_for_client(client=client)  # never topped up: never charged (art. 29.7)
    # 15 days before: nothing
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=15)) == {
        "warned": 0,
        "deleted": 0,
        "cleared": 0,
    }
    # 14 days before: the warning
    with django_capture_on_commit_callbacks(execute=True):
        assert inactive_accounts_delete(now=deadline - dt.timedelta(days=14))["warned"] == 1
    assert len(mail.outbox) == 1 and f"admin{client.pk}@client.test" in mail.outbox[0].to
    assert "29.7" in mail.outbox[0].body
    # the warning is sent once
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=7)) == {
        "warned": 0,
        "deleted": 0,
        "cleared": 0,
    }
    assert Notification.objects.filter(key__startswith="inactive-warning").count() == 1
    # at the deadline: deleted
    assert inactive_accounts_delete(now=deadline)["deleted"] == 1
    client.refresh_from_db()
    assert client.status == Client.Status.DELETED
    user = User.objects.get(client=client)
    assert (
        not user.is_active and user.email.endswith("@anonymised.invalid") and user.full_name == ""
    )
    assert client.directors.get().name.startswith("(anonymised")
    # the wallet is kept
    assert Wallet.objects.filter(pk=wallet.pk).exists()
    check(wallet)
    # run again: nothing more
    assert inactive_accounts_delete(now=deadline + dt.timedelta(days=1)) == {
        "warned": 0,
        "deleted": 0,
        "cleared": 0,
    }


def test_an_account_holding_unused_credit_is_never_deleted(cm):
    """A top-up charges the account (art. 29.7); credit it has not used yet keeps it."""
    registered = dt.datetime(2026, 1, 10, 9, tzinfo=SH)
    client = _registered(cm, registered)
    wallet = wallet_for_client(client=client)
    top_up(wallet, "10.00", registered + dt.timedelta(days=1))
    for months_later in (3, 6, 11):
        moment = registered + dt.timedelta(days=31 * months_later)
        assert inactive_accounts_delete(now=moment) == {"warned": 0, "deleted": 0, "cleared": 0}
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE


def test_a_top_up_after_the_warning_cancels_the_deletion(cm):
    registered = dt.datetime(2026, 1, 10, 9, tzinfo=SH)
    client = _registered(cm, registered)
    deadline = dt.datetime(2026, 4, 10, 9, tzinfo=SH)
    wallet = wallet_for_client(client=client)
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=14))["warned"] == 1
    top_up(wallet, "10.00", deadline - dt.timedelta(days=3))
    wallet.refresh_from_db()
    assert wallet.inactivity_warned_at is None
    assert inactive_accounts_delete(now=deadline + dt.timedelta(days=1)) == {
        "warned": 0,
        "deleted": 0,
        "cleared": 0,
    }
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE


def test_credit_that_expires_unused_starts_the_all_credit_used_clock(cm):
    client = _registered(cm, dt.datetime(2026, 1, 10, 9, tzinfo=SH))
    wallet = wallet_for_client(client=client)
    lot = top_up(wallet, "10.00", dt.datetime(2026, 1, 11, 10, tzinfo=SH))
    credit_expire(now=lot.expires_at)
    wallet.refresh_from_db()
    assert wallet.balance == 0 and wallet.credit_exhausted_at == lot.expires_at
    deadline = add_months(lot.expires_at, 3)
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=15))["warned"] == 0
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=14))["warned"] == 1
    assert inactive_accounts_delete(now=deadline)["deleted"] == 1


def test_an_account_whose_credit_was_all_used_is_deleted_3_months_later(
    cm, django_capture_on_commit_callbacks
):
    client = _registered(cm, dt.datetime(2026, 1, 10, 9, tzinfo=SH))
    wallet = wallet_for_client(client=client)
    top_up(wallet, "10.00", dt.datetime(2026, 1, 11, tzinfo=SH))
    used_up = dt.datetime(2026, 2, 20, 15, tzinfo=SH)
    wallet_debit(wallet=wallet, amount="10.00", idempotency_key="all", cause="sms", at=used_up)
    deadline = dt.datetime(2026, 5, 20, 15, tzinfo=SH)
    assert inactive_accounts_delete(now=deadline - dt.timedelta(days=15))["warned"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert inactive_accounts_delete(now=deadline - dt.timedelta(days=14))["warned"] == 1
    assert "after all credit was used" in mail.outbox[0].body
    assert inactive_accounts_delete(now=deadline - dt.timedelta(seconds=1))["deleted"] == 0
    assert inactive_accounts_delete(now=deadline)["deleted"] == 1


def test_a_top_up_after_the_credit_ran_out_clears_the_warning(cm):
    client = _registered(cm, dt.datetime(2026, 1, 10, 9, tzinfo=SH))
    wallet = wallet_for_client(client=client)
    top_up(wallet, "10.00", dt.datetime(2026, 1, 11, tzinfo=SH))
    wallet_debit(
        wallet=wallet,
        amount="10.00",
        idempotency_key="all",
        cause="sms",
        at=dt.datetime(2026, 2, 20, tzinfo=SH),
    )
    assert inactive_accounts_delete(now=dt.datetime(2026, 5, 7, tzinfo=SH))["warned"] == 1
    top_up(wallet, "50.00", dt.datetime(2026, 5, 10, tzinfo=SH))
    wallet.refresh_from_db()
    assert wallet.inactivity_warned_at is None  # the top-up itself withdraws the warning
    assert inactive_accounts_delete(now=dt.datetime(2026, 5, 25, tzinfo=SH)) == {
        "warned": 0,
        "deleted": 0,
        "cleared": 0,
    }
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE


def test_a_late_warning_still_gives_14_days(cm):
    # the job did not run for a while: warned at the deadline, deleted 14 days after the warning
    client = _registered(cm, dt.datetime(2026, 1, 10, 9, tzinfo=SH))
    deadline = dt.datetime(2026, 4, 10, 9, tzinfo=SH)
    assert inactive_accounts_delete(now=deadline + dt.timedelta(days=2))["warned"] == 1
    assert inactive_accounts_delete(now=deadline + dt.timedelta(days=15))["deleted"] == 0
    assert inactive_accounts_delete(now=deadline + dt.timedelta(days=16))["deleted"] == 1
    client.refresh_from_db()
    assert client.status == Client.Status.DELETED


def test_postpaid_and_recent_accounts_are_left_alone(cm):
    from tests.accounts.factories import ClientFactory

    old = dt.datetime(2025, 1, 1, tzinfo=SH)
    postpaid = ClientFactory(provider=cm, approved_at=old, created_at=old)
    recent = prepaid_client(cm)
    assert inactive_accounts_delete(now=timezone.now()) == {"warned": 0, "deleted": 0, "cleared": 0}
    postpaid.refresh_from_db()
    recent.refresh_from_db()
    assert postpaid.status == recent.status == Client.Status.ACTIVE

"""The composed retention job (art. 23): usage recipients and deleted accounts' contacts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Invitation, Notification
from billing.models import UsageRecord
from portal.retention import retention_anonymise

pytestmark = pytest.mark.django_db


def _usage(client, record_id, occurred_at, recipient="+8613800000000"):
    return UsageRecord.objects.create(
        record_id=record_id,
        client=client,
        channel="sms",
        message_count=1,
        amount=Decimal("0.05"),
        currency=client.provider.currency,
        prepaid=False,
        occurred_at=occurred_at,
        recipient=recipient,
    )


def test_usage_recipients_past_the_retention_period_are_blanked_once(client_company):
    now = timezone.now()
    old = _usage(client_company, "old", now - dt.timedelta(days=181))
    recent = _usage(client_company, "recent", now - dt.timedelta(days=179))

    first = retention_anonymise(now=now)
    second = retention_anonymise(now=now)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.recipient == "" and old.amount == Decimal("0.05")
    assert recent.recipient == "+8613800000000"
    assert first["usage_recipients"] == 1
    assert second["usage_recipients"] == 0


def test_contacts_of_an_account_deleted_longer_ago_than_the_period_are_anonymised(
    client_company, client_admin, billing_staff
):
    Notification.objects.create(
        key="k1",
        client=client_company,
        recipients=["someone@client.example"],
        subject="s",
        body="b",
    )
    Invitation.objects.create(
        email="invitee@client.example",
        client=client_company,
        provider=client_company.provider,
        role="client_viewer",
        token_hash="x" * 64,
        invited_by=client_admin,
        expires_at=timezone.now(),
    )
    accounts_services.client_delete_account(client=client_company, reason="inactive (art. 29.7)")

    soon = retention_anonymise(now=timezone.now() + dt.timedelta(days=29))
    assert soon["deleted_account_contacts"] == 0
    later = retention_anonymise(now=timezone.now() + dt.timedelta(days=31))

    assert later["deleted_account_contacts"] == 2
    assert Notification.objects.get(key="k1").recipients == ["anonymised@anonymised.invalid"]
    assert Invitation.objects.get().email == "anonymised@anonymised.invalid"
    assert (
        retention_anonymise(now=timezone.now() + dt.timedelta(days=31))["deleted_account_contacts"]
        == 0
    )

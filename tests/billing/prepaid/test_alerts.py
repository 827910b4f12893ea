"""The client's own alerts (issue 15 §2): low usable balance, usage above a share of the limit,
credit expiring within N days; each fires once per crossing, by email and/or webhook, and
re-arms when the measure is back on the safe side. The 75 % notice (art. 26.1) is not one of
them and stays as it is."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.models import Notification, WebhookDelivery, WebhookEndpoint
from billing.models import ClientAlert, MessageAccount
from billing.prepaid.services import alerts
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientViewerFactory
from tests.billing.factories import prepaid_client, top_up

NOW = timezone.now()


@pytest.fixture
def funded(wallet):
    """100.00 of credit received two days ago, usable now."""
    top_up(wallet, "100.00", NOW - dt.timedelta(days=2))
    return wallet


def _balance_alert(client, admin, amount="50.00", **kw):
    return alerts.alert_create(
        client=client, acting_user=admin, kind=ClientAlert.Kind.BALANCE_BELOW, amount=amount, **kw
    )


def _debit(wallet, amount, n):
    wallet_debit(wallet=wallet, amount=Decimal(amount), idempotency_key=f"d-{n}", cause="usage")


def test_a_balance_alert_fires_once_per_crossing_and_rearms(prepaid, prepaid_admin, funded):
    alert = _balance_alert(prepaid, prepaid_admin)
    assert alerts.client_alerts_check(now=NOW) == {"fired": 0, "rearmed": 0}
    _debit(funded, "50.01", 1)  # 49.99 usable: below 50.00
    assert alerts.client_alerts_check(now=NOW)["fired"] == 1
    assert alerts.client_alerts_check(now=NOW)["fired"] == 0  # still below: no second alert
    mails = Notification.objects.filter(key__startswith=f"alert:{alert.pk}:")
    assert mails.count() == 1
    assert "49.99" in mails.get().body
    # back above the line: re-armed, and the next crossing fires again
    top_up(funded, "10.00", NOW - dt.timedelta(days=1))
    assert alerts.client_alerts_check(now=NOW) == {"fired": 0, "rearmed": 1}
    _debit(funded, "20.00", 2)
    assert alerts.client_alerts_check(now=NOW)["fired"] == 1
    assert mails.count() == 2


def test_exactly_at_the_amount_is_not_below(prepaid, prepaid_admin, funded):
    _balance_alert(prepaid, prepaid_admin)
    _debit(funded, "50.00", 1)  # 50.00 usable: not below 50.00
    assert alerts.client_alerts_check(now=NOW)["fired"] == 0


def test_credit_not_yet_usable_does_not_count(prepaid, prepaid_admin, wallet):
    """A top-up received today is usable tomorrow (art. 29.3): the usable balance is 0 now."""
    top_up(wallet, "500.00", NOW)
    _balance_alert(prepaid, prepaid_admin, "10.00")
    assert alerts.client_alerts_check(now=NOW)["fired"] == 1


def test_a_usage_alert_fires_at_its_share(prepaid, prepaid_admin):
    account = MessageAccount.objects.create(client=prepaid, limit=1000, unpaid_count=499)
    alerts.alert_create(
        client=prepaid, acting_user=prepaid_admin, kind=ClientAlert.Kind.USAGE_ABOVE, share_pct="50"
    )
    assert alerts.client_alerts_check(now=NOW)["fired"] == 0
    MessageAccount.objects.filter(pk=account.pk).update(unpaid_count=500)
    assert alerts.client_alerts_check(now=NOW)["fired"] == 1


def test_an_expiry_alert_fires_within_its_days(prepaid, prepaid_admin, funded):
    lot = funded.lots.get()
    alerts.alert_create(
        client=prepaid,
        acting_user=prepaid_admin,
        kind=ClientAlert.Kind.CREDIT_EXPIRING,
        within_days="30",
    )
    before = lot.expires_at - dt.timedelta(days=30, seconds=1)
    assert alerts.client_alerts_check(now=before)["fired"] == 0
    assert alerts.client_alerts_check(now=lot.expires_at - dt.timedelta(days=30))["fired"] == 1


def test_an_alert_by_webhook_emits_the_event(prepaid, prepaid_admin, funded):
    WebhookEndpoint.objects.create(
        client=prepaid, url="https://hooks.example.com/x", events=["balance.low"]
    )
    alert = _balance_alert(prepaid, prepaid_admin, by_email=False, by_webhook=True)
    _debit(funded, "60.00", 1)
    alerts.client_alerts_check(now=NOW)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "balance.low"
    assert delivery.event_id == f"evt-alert:{alert.pk}:1"
    assert delivery.payload["data"]["usable_balance"] == "40.00"
    assert not Notification.objects.filter(key__startswith="alert:").exists()


@pytest.mark.parametrize(
    "kind, values, field",
    [
        (ClientAlert.Kind.BALANCE_BELOW, {"amount": "-1"}, "amount"),
        (ClientAlert.Kind.BALANCE_BELOW, {"amount": "1.001"}, "amount"),
        (ClientAlert.Kind.BALANCE_BELOW, {"amount": "abc"}, "amount"),
        (ClientAlert.Kind.USAGE_ABOVE, {"share_pct": "0"}, "share_pct"),
        (ClientAlert.Kind.USAGE_ABOVE, {"share_pct": "101"}, "share_pct"),
        (ClientAlert.Kind.CREDIT_EXPIRING, {"within_days": "0"}, "within_days"),
        ("nonsense", {}, "kind"),
        (ClientAlert.Kind.USAGE_ABOVE, {"share_pct": "50", "by_email": False}, "by_email"),
    ],
)
def test_a_bad_alert_is_refused_naming_the_field(prepaid, prepaid_admin, kind, values, field):
    with pytest.raises(ValidationFailed) as err:
        alerts.alert_create(client=prepaid, acting_user=prepaid_admin, kind=kind, **values)
    assert field in err.value.errors
    assert not ClientAlert.objects.exists()


def test_only_the_clients_admin_sets_an_alert(prepaid, other_admin):
    viewer = ClientViewerFactory(client=prepaid)
    for user in (viewer, other_admin):
        with pytest.raises(NotAllowed):
            _balance_alert(prepaid, user)
    assert not ClientAlert.objects.exists()


def test_the_check_reads_a_constant_number_of_queries_per_batch(cm, prepaid, prepaid_admin, funded):
    _balance_alert(prepaid, prepaid_admin)
    with CaptureQueriesContext(connection) as one:
        alerts.client_alerts_check(now=NOW)
    for _ in range(5):
        other = prepaid_client(cm)
        wallet = wallet_for_client(client=other)
        top_up(wallet, "100.00", NOW - dt.timedelta(days=2))
        from tests.accounts.factories import ClientAdminFactory

        _balance_alert(other, ClientAdminFactory(client=other))
    with CaptureQueriesContext(connection) as six:
        alerts.client_alerts_check(now=NOW)
    assert len(six) == len(one)


def test_the_page_sets_and_removes_an_alert(as_user, prepaid, prepaid_admin, other_admin):
    web = as_user(prepaid_admin)
    response = web.post(
        reverse("billing:alerts"),
        {"kind": "usage_above", "share_pct": "80", "by_email": "on"},
    )
    assert response.status_code == 302
    alert = ClientAlert.objects.get()
    assert alert.share_pct == 80
    assert (
        as_user(other_admin).post(reverse("billing:alert_remove", args=[alert.pk])).status_code
        == 404
    )
    web = as_user(prepaid_admin)
    web.post(reverse("billing:alert_remove", args=[alert.pk]))
    alert.refresh_from_db()
    assert not alert.is_active


def test_the_page_shows_a_refusal_on_its_field(as_user, prepaid_admin):
    response = as_user(prepaid_admin).post(
        reverse("billing:alerts"), {"kind": "balance_below", "amount": "-5", "by_email": "on"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]

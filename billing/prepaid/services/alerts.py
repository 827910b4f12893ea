"""The client's own alerts: usable balance below an amount, usage above a share of the message
limit, credit expiring within N days. Beyond the contract's 75 % notice (art. 26.1), which stays
as it is.

A beat job checks the active alerts in bounded batches, a constant number of queries a batch
(the measures of a batch's clients are read grouped, not one client at a time). An alert fires
once per crossing (`crossed` is set when it fires and cleared when the measure is back on the
safe side), by email through the notice outbox and/or as a webhook event, both under a key
made of the alert and its firing count, so a job that runs twice sends once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.kernel.errors import ValidationFailed
from accounts.kernel.notifications import client_recipients, notify
from accounts.kernel.roles import require_client_admin
from accounts.kernel.webhooks import webhook_emit
from accounts.models import Client, User, WebhookEvent
from billing.models import ClientAlert, CreditLot, MessageAccount, Wallet

BATCH = 500
MAX_ALERTS_PER_CLIENT = 20


def alert_create(
    *,
    client: Client,
    acting_user: User,
    kind: str,
    amount: Any = None,
    share_pct: Any = None,
    within_days: Any = None,
    by_email: bool = True,
    by_webhook: bool = False,
) -> ClientAlert:
    """A client admin sets an alert; the measure it watches is named by `kind`."""
    require_client_admin(acting_user, client)
    errors: dict[str, list[str]] = {}
    alert = ClientAlert(
        client=client, kind=kind, by_email=bool(by_email), by_webhook=bool(by_webhook)
    )
    if kind == ClientAlert.Kind.BALANCE_BELOW:
        try:
            value = Decimal(str(amount).strip())
        except Exception:  # noqa: BLE001 - any unreadable amount is the same refusal
            value = None
        if value is None or not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
            errors["amount"] = [_("Give a positive amount with at most two decimals.")]
        else:
            alert.amount = value
            wallet = Wallet.objects.filter(client=client).first()
            alert.currency = wallet.currency if wallet else client.provider.currency
    elif kind == ClientAlert.Kind.USAGE_ABOVE:
        try:
            pct = int(str(share_pct).strip())
        except ValueError:
            pct = 0
        if not 1 <= pct <= 100:
            errors["share_pct"] = [_("Give a share between 1 and 100 per cent.")]
        else:
            alert.share_pct = pct
    elif kind == ClientAlert.Kind.CREDIT_EXPIRING:
        try:
            days = int(str(within_days).strip())
        except ValueError:
            days = 0
        if not 1 <= days <= 365:
            errors["within_days"] = [_("Give a number of days between 1 and 365.")]
        else:
            alert.within_days = days
    else:
        errors["kind"] = [_("Pick what the alert watches.")]
    if not (alert.by_email or alert.by_webhook):
        errors["by_email"] = [_("Send the alert by email, by webhook or both.")]
    if ClientAlert.objects.filter(client=client, is_active=True).count() >= MAX_ALERTS_PER_CLIENT:
        errors["kind"] = [
            _("A client may set at most %(n)d alerts.") % {"n": MAX_ALERTS_PER_CLIENT}
        ]
    if errors:
        raise ValidationFailed(errors)
    alert.created_by = acting_user
    alert.save()
    return alert


def alert_remove(*, alert: ClientAlert, acting_user: User) -> None:
    """The alert stops; its record stays."""
    require_client_admin(acting_user, alert.client)
    ClientAlert.objects.filter(pk=alert.pk).update(is_active=False)


def _measures(client_ids: list[int], now: dt.datetime) -> dict[str, dict[int, Any]]:
    """The batch's measures in three grouped queries: usable balance, usage share, the earliest
    expiry of credit that is still there."""
    live = Q(
        status=CreditLot.Status.ACTIVE, remaining__gt=0, usable_from__lte=now, expires_at__gt=now
    )
    usable = dict(
        CreditLot.objects.filter(live, wallet__client_id__in=client_ids)
        .values_list("wallet__client_id")
        .annotate(s=Sum("remaining"))
        .values_list("wallet__client_id", "s")
    )
    expiring = dict(
        CreditLot.objects.filter(live, wallet__client_id__in=client_ids)
        .values_list("wallet__client_id")
        .annotate(m=Min("expires_at"))
        .values_list("wallet__client_id", "m")
    )
    usage = {
        cid: (count * 100 / limit if limit else 100.0)
        for cid, count, limit in MessageAccount.objects.filter(
            client_id__in=client_ids
        ).values_list("client_id", "unpaid_count", "limit")
    }
    return {"usable": usable, "expiring": expiring, "usage": usage}


def alert_is_crossed(
    alert: ClientAlert, measures: dict[str, dict[int, Any]], now: dt.datetime
) -> bool:
    """Whether the alert's measure is on the alerting side now."""
    cid = alert.client_id
    if alert.kind == ClientAlert.Kind.BALANCE_BELOW:
        usable: Decimal = measures["usable"].get(cid, Decimal("0"))
        return usable < (alert.amount or Decimal("0"))
    if alert.kind == ClientAlert.Kind.USAGE_ABOVE:
        share: float = measures["usage"].get(cid, 0.0)
        return share >= (alert.share_pct or 100)
    first: dt.datetime | None = measures["expiring"].get(cid)
    return first is not None and first <= now + dt.timedelta(days=alert.within_days or 0)


_EVENT = {
    ClientAlert.Kind.BALANCE_BELOW: WebhookEvent.BALANCE_LOW,
    ClientAlert.Kind.USAGE_ABOVE: WebhookEvent.LIMIT_THRESHOLD,
    ClientAlert.Kind.CREDIT_EXPIRING: WebhookEvent.CREDIT_EXPIRING,
}


def _describe(
    alert: ClientAlert, measures: dict[str, dict[int, Any]]
) -> tuple[str, dict[str, Any]]:
    cid = alert.client_id
    if alert.kind == ClientAlert.Kind.BALANCE_BELOW:
        usable = measures["usable"].get(cid, Decimal("0"))
        text = _(
            "Your usable balance is %(usable)s %(currency)s, below your alert of %(amount)s."
        ) % {
            "usable": usable,
            "currency": alert.currency,
            "amount": alert.amount,
        }
        return text, {
            "usable_balance": str(usable),
            "currency": alert.currency,
            "threshold": str(alert.amount),
        }
    if alert.kind == ClientAlert.Kind.USAGE_ABOVE:
        share = measures["usage"].get(cid, 0.0)
        text = _(
            "Your unpaid messages are at %(share).1f %% of your message limit (alert at %(pct)d %%)."
        ) % {
            "share": share,
            "pct": alert.share_pct,
        }
        return text, {"share_of_limit": round(share, 1), "threshold_pct": alert.share_pct}
    first = measures["expiring"][cid]
    text = _(
        "Some of your prepaid credit expires on %(when)s, within your alert of %(days)d days."
    ) % {
        "when": f"{first:%Y-%m-%d %H:%M %Z}",
        "days": alert.within_days,
    }
    return text, {"first_expiry": first.isoformat(), "within_days": alert.within_days}


def _fire(alert: ClientAlert, measures: dict[str, dict[int, Any]], now: dt.datetime) -> None:
    n = alert.times_fired + 1
    text, data = _describe(alert, measures)
    if alert.by_email:
        notify(
            key=f"alert:{alert.pk}:{n}",
            client=alert.client,
            recipients=client_recipients(alert.client),
            # rendered per recipient's language (issue 11 §2), not once in the job's
            subject=lambda: str(alert.get_kind_display()),
            body=lambda: _describe(alert, measures)[0],
        )
    if alert.by_webhook:
        webhook_emit(
            client=alert.client_id,
            event_type=_EVENT[ClientAlert.Kind(alert.kind)],
            event_id=f"evt-alert:{alert.pk}:{n}",
            data={"alert": alert.pk, "kind": alert.kind, **data},
        )
    ClientAlert.objects.filter(pk=alert.pk).update(crossed=True, times_fired=n, last_fired_at=now)


def client_alerts_check(*, now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Job: every active alert, by key in bounded batches; fire the newly crossed, re-arm the
    ones back on the safe side."""
    now = now or timezone.now()
    fired = rearmed = 0
    last = 0
    while True:
        with transaction.atomic():
            alerts = list(
                ClientAlert.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("client")
                .filter(is_active=True, pk__gt=last)
                .order_by("pk")[:batch]
            )
            if not alerts:
                break
            last = alerts[-1].pk
            measures = _measures(sorted({a.client_id for a in alerts}), now)
            back = []
            for alert in alerts:
                crossed = alert_is_crossed(alert, measures, now)
                if crossed and not alert.crossed:
                    _fire(alert, measures, now)
                    fired += 1
                elif not crossed and alert.crossed:
                    back.append(alert.pk)
            if back:
                rearmed += ClientAlert.objects.filter(pk__in=back).update(crossed=False)
    return {"fired": fired, "rearmed": rearmed}

"""The monthly usage invoice (art. 4.2): each postpaid client's usage of a calendar month in the
billing time zone, priced from its price list, invoiced once."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext

from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.money import round_money
from accounts.models import Client, Provider
from billing.models import Invoice, Price, Recharge, UsageRecord

from . import _common
from ._common import ZERO
from .invoices import invoice_draft, invoice_issue
from .prices import price_in_force
from .recharges import recharge_lines_for, recharges_link, recharges_pending

log = logging.getLogger(__name__)


def billing_period(
    provider: Provider, *, period: str | None = None, now: dt.datetime | None = None
):
    """(first day, first day of the next month, start, end) of a calendar-month billing period.

    "The billing period is based on CE(S)T time zone" (4.2): the month's boundaries are local
    midnights in the profile's billing time zone (Europe/Amsterdam). Without `period` it is
    the month before the current one there.
    """
    tz = ZoneInfo(provider.billing_timezone)
    if period:
        if not re.fullmatch(r"\d{4}-\d{2}", period) or not 1 <= int(period[5:]) <= 12:
            raise ValidationFailed({"period": [gettext("Give the period as YYYY-MM.")]})
        first = dt.date(int(period[:4]), int(period[5:]), 1)
    else:
        local = (now or _common.now()).astimezone(tz).date()
        first = add_months(local.replace(day=1), -1)
    following = add_months(first, 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(following, dt.time.min, tzinfo=tz)
    return first, following, start, end


def _usage_line(
    label: str, channel: str, period_label: str, group: dict[str, Any]
) -> dict[str, Any]:
    price = group["price"]
    if price is not None:
        return {
            "description": f"{label} messages, {period_label}",
            "channel": channel,
            "quantity": Decimal(group["messages"]),
            "unit_price": price.unit_price,
            "messages": group["messages"],
        }
    # no price on the list: the platform's rating of each message is billed
    return {
        "description": f"{label}: {group['messages']:,} messages, {period_label}, as rated by the platform",
        "channel": channel,
        "quantity": Decimal(1),
        "unit_price": round_money(group["amount"]),
        "messages": group["messages"],
    }


def _usage_lines(period_label: str, rows, prices_by_channel) -> list[dict]:
    """Lines per channel (and per price in force, when it changes mid-month) (art. 4.2)."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        channel = row["channel"]
        price = price_in_force(prices_by_channel.get(channel, []), row["day"])
        key = (channel, price.pk if price else None)
        group = groups.setdefault(key, {"price": price, "messages": 0, "amount": ZERO})
        group["messages"] += row["messages"]
        group["amount"] += row["amount"] or ZERO
    labels = dict(UsageRecord.Channel.choices)
    return [
        _usage_line(labels.get(channel, channel), channel, period_label, group)
        for (channel, _), group in sorted(
            groups.items(),
            key=lambda kv: (kv[0][0], kv[1]["price"].valid_from if kv[1]["price"] else dt.date.min),
        )
    ]


def _invoice_client(provider: Provider, client_id: int, key: str, lines, first, following, now):
    """Draft and issue one client's usage invoice, with the recharges waiting for it (costs the
    client bears, art. 7.3, 21.5.2, 21.6, 21.7.2) recorded before the period ended; False when
    it was invoiced concurrently, or when there is nothing to invoice."""
    label = f"{first:%Y-%m}"
    end = dt.datetime.combine(following, dt.time.min, tzinfo=ZoneInfo(provider.billing_timezone))
    try:
        with transaction.atomic():
            client = (
                Client.objects.select_for_update(of=("self",))
                .select_related("provider")
                .get(pk=client_id)
            )
            recharges = recharges_pending(client=client, currency=provider.currency, before=end)
            if not lines and not recharges:
                return False
            draft = invoice_draft(
                client=client,
                lines=[*lines, *recharge_lines_for(recharges)],
                acting_user=None,
                notes=f"Usage of {label} (billing period in {provider.billing_timezone}, art. 4.2)",
                period_start=first,
                period_end=following - dt.timedelta(days=1),
                source_key=key,
            )
            recharges_link(draft, recharges, len(lines) + 1)
            invoice_issue(invoice=draft, acting_user=None, invoice_date=local_date(provider, now))
    except IntegrityError:  # invoiced concurrently
        return False
    return True


def _invoice_batch(provider: Provider, ids: list[int], period, now, result: dict[str, Any]) -> None:
    first, following, start, end = period
    tz = ZoneInfo(provider.billing_timezone)
    label = f"{first:%Y-%m}"
    rows = (
        UsageRecord.objects.filter(
            client_id__in=ids, prepaid=False, occurred_at__gte=start, occurred_at__lt=end
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("client_id", "channel", "day")
        .annotate(messages=Sum("message_count"), amount=Sum("amount"))
        .order_by()
    )
    by_client = defaultdict(list)
    for row in rows:
        by_client[row["client_id"]].append(row)
    # a client without usage in the month is invoiced for what waits to be recharged
    for client_id in Recharge.objects.filter(
        client_id__in=ids, status=Recharge.Status.PENDING, recorded_at__lt=end
    ).values_list("client_id", flat=True):
        by_client.setdefault(client_id, [])
    if not by_client:
        return
    done = set(
        Invoice.objects.filter(
            source_key__in=[f"usage:{cid}:{label}" for cid in by_client]
        ).values_list("source_key", flat=True)
    )
    prices = defaultdict(lambda: defaultdict(list))
    for price in Price.objects.filter(
        client_id__in=list(by_client), valid_from__lt=following
    ).order_by("valid_from", "pk"):
        prices[price.client_id][price.channel].append(price)
    for client_id in sorted(by_client):
        key = f"usage:{client_id}:{label}"
        if key in done:
            result["already_invoiced"] += 1
            continue
        lines = _usage_lines(label, by_client[client_id], prices[client_id])
        if _invoice_client(provider, client_id, key, lines, first, following, now):
            result["invoiced"] += 1
        elif lines:
            result["already_invoiced"] += 1


def invoice_usage(
    *, period: str | None = None, now: dt.datetime | None = None, batch_size: int = 200
) -> dict[str, Any]:
    """Monthly job: invoice each postpaid client's usage of the past calendar month (art. 4.2).

    Usage recorded as postpaid (`UsageRecord.prepaid` false) with `occurred_at` inside the
    month in the billing time zone is grouped by channel; each line is priced from the
    client's price list in force on the local day of the usage (or, for a channel without a
    price, billed at the platform's rating). The client's pending recharges recorded before the
    month ended are added as lines (`recharges`). The invoice is issued at once and covers the
    messages it bills (art. 26.2). Idempotent: `Invoice.source_key` is
    `usage:<client id>:<YYYY-MM>`, so a second run (or a concurrent one) invoices nothing.
    """
    now = now or _common.now()
    result = {"invoiced": 0, "already_invoiced": 0}
    for provider in Provider.objects.order_by("pk"):
        period_bounds = billing_period(provider, period=period, now=now)
        if now < period_bounds[3]:
            raise ValidationFailed(
                {"period": [gettext("A billing period is invoiced once it has ended (art. 4.2).")]}
            )
        for ids in _common.client_id_batches(provider, batch_size):
            _invoice_batch(provider, ids, period_bounds, now, result)
    log.info("invoice_usage: %s", result)
    return result

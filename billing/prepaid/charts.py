"""The pictures of the wallet and the dashboard (issue 15 §1): usage per day and per month against
the message limit, the balance over time with its top-ups, debits and expiries, the coming lot
expiries, and invoices by state over twelve months.

Each reads grouped rows for a bounded window of one client through an index of that client's
rows (`usage_client_time_idx`, `ledger_wallet_time_idx`, the invoice list's), a constant number
of queries whatever the client's volume; days and months are the provider's local ones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.kernel import charts
from accounts.kernel.dates import add_months
from accounts.kernel.l10n import money
from accounts.models import Client
from billing.models import CreditLot, Invoice, LedgerEntry, MessageAccount, UsageRecord, Wallet

DAYS = 30
BALANCE_DAYS = 90
MONTHS = 12
EXPIRIES = 12


def _tz(client: Client) -> ZoneInfo:
    return ZoneInfo(client.provider.timezone)


def _day_label(day: dt.date) -> str:
    return formats.date_format(day, "MONTH_DAY_FORMAT")


def _month_label(day: dt.date) -> str:
    return formats.date_format(day, "YEAR_MONTH_FORMAT")


def _count(n: Any) -> str:
    return formats.number_format(int(n), force_grouping=True)


def _months(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    return [add_months(first, -i) for i in range(MONTHS - 1, -1, -1)]


def usage_per_day(client: Client, *, now: dt.datetime | None = None) -> charts.Chart:
    """Messages per local day over the last 30 days, by channel."""
    now = now or timezone.now()
    tz = _tz(client)
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    rows = (
        UsageRecord.objects.filter(client=client, occurred_at__gte=start, occurred_at__lte=now)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day", "channel")
        .annotate(n=Sum("message_count"))
        .order_by()
    )
    by_day: dict[dt.date, dict[str, int]] = defaultdict(dict)
    channels: set[str] = set()
    for row in rows:
        by_day[row["day"]][row["channel"]] = int(row["n"])
        channels.add(row["channel"])
    series = [(c, str(label)) for c, label in UsageRecord.Channel.choices if c in channels]
    days = [first + dt.timedelta(days=i) for i in range(DAYS)]
    return charts.bars(
        id="usage-days",
        title=_("Messages per day, last 30 days"),
        points=[charts.Point(_day_label(d), list(by_day.get(d, {}).items())) for d in days],
        series=series or [("sms", str(UsageRecord.Channel.SMS.label))],
        fmt=_count,
        label_heading=_("Day"),
    )


def usage_per_month(client: Client, *, now: dt.datetime | None = None) -> charts.Chart:
    """Messages per local month over twelve months, with the message limit (art. 26.1) as a
    line: the limit caps the unpaid messages, so a month near it is worth a look."""
    now = now or timezone.now()
    tz = _tz(client)
    months = _months(now.astimezone(tz).date())
    start = dt.datetime.combine(months[0], dt.time(), tzinfo=tz)
    rows = (
        UsageRecord.objects.filter(client=client, occurred_at__gte=start, occurred_at__lte=now)
        .annotate(month=TruncMonth("occurred_at", tzinfo=tz))
        .values("month")
        .annotate(n=Sum("message_count"))
        .order_by()
    )
    by_month = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: int(
            row["n"]
        )
        for row in rows
    }
    account = MessageAccount.objects.filter(client=client).only("limit").first()
    limit = account.limit if account else client.provider.message_limit_default
    return charts.bars(
        id="usage-months",
        title=_("Messages per month, last 12 months"),
        points=[charts.Point(_month_label(m), [("messages", by_month.get(m, 0))]) for m in months],
        series=[("messages", _("Messages"))],
        fmt=_count,
        label_heading=_("Month"),
        limit=limit,
        limit_label=_("Message limit"),
    )


def balance_over_time(client: Client, *, now: dt.datetime | None = None) -> charts.Chart | None:
    """The balance at the end of each local day over 90 days, with each day's top-ups, debits
    and expiries beside it in the table, and a dot on the days credit came in or expired."""
    wallet = Wallet.objects.filter(client=client).first()
    if wallet is None:
        return None
    now = now or timezone.now()
    tz = _tz(client)
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=BALANCE_DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    before = (
        LedgerEntry.objects.filter(wallet=wallet, created_at__lt=start)
        .order_by("-created_at", "-pk")
        .values_list("balance_after", flat=True)
        .first()
    )
    rows = (
        LedgerEntry.objects.filter(wallet=wallet, created_at__gte=start, created_at__lte=now)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "kind")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    moves: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        moves[row["day"]][row["kind"]] = row["s"]
    balance = before or Decimal("0")
    points: list[tuple[str, Decimal]] = []
    cells: list[list[str]] = []
    marks: dict[int, str] = {}
    cur = wallet.currency
    zero = Decimal("0")
    for i in range(BALANCE_DAYS):
        day = first + dt.timedelta(days=i)
        day_moves = moves.get(day, {})
        balance += sum(day_moves.values(), zero)
        top_ups = day_moves.get(LedgerEntry.Kind.TOP_UP, zero)
        expiries = day_moves.get(LedgerEntry.Kind.EXPIRY, zero)
        debits = day_moves.get(LedgerEntry.Kind.DEBIT, zero)
        points.append((_day_label(day), balance))
        cells.append([money(top_ups, cur), money(-debits, cur), money(-expiries, cur)])
        happened = []
        if top_ups:
            happened.append(_("top-up %(amount)s") % {"amount": money(top_ups, cur)})
        if expiries:
            happened.append(_("expired %(amount)s") % {"amount": money(-expiries, cur)})
        if happened:
            marks[i] = ", ".join(happened)
    return charts.line(
        id="balance",
        title=_("Balance at the end of each day, last 90 days"),
        points=points,
        fmt=lambda v: money(Decimal(str(v)), cur),
        label_heading=_("Day"),
        value_heading=_("Balance"),
        extra_columns=[_("Top-ups"), _("Debits"), _("Expired")],
        extra_cells=cells,
        marks=marks,
    )


def lot_expiries(client: Client, *, now: dt.datetime | None = None) -> charts.Chart | None:
    """The credit still there, by the local day it expires (art. 29.3: 12 months after
    purchase), the next twelve lots."""
    wallet = Wallet.objects.filter(client=client).first()
    if wallet is None:
        return None
    now = now or timezone.now()
    tz = _tz(client)
    lots = list(
        CreditLot.objects.filter(
            wallet=wallet, status=CreditLot.Status.ACTIVE, remaining__gt=0, expires_at__gt=now
        )
        .order_by("expires_at", "pk")
        .values_list("expires_at", "remaining")[:EXPIRIES]
    )
    cur = wallet.currency
    return charts.bars(
        id="expiries",
        title=_("Credit by the day it expires"),
        points=[
            charts.Point(
                formats.date_format(at.astimezone(tz).date(), "SHORT_DATE_FORMAT"),
                [("remaining", remaining)],
            )
            for at, remaining in lots
        ],
        series=[("remaining", _("Credit left"))],
        fmt=lambda v: money(Decimal(str(v)), cur),
        label_heading=_("Expires"),
    )


INVOICE_STATES = [
    Invoice.Status.PAID,
    Invoice.Status.ISSUED,
    Invoice.Status.PARTLY_PAID,
    Invoice.Status.OVERDUE,
    Invoice.Status.DISPUTED,
]


def invoices_by_state(client: Client, *, now: dt.datetime | None = None) -> charts.Chart:
    """How many invoices of each month (by invoice date) are in each state now, over twelve
    months."""
    now = now or timezone.now()
    months = _months(now.astimezone(_tz(client)).date())
    rows = (
        Invoice.objects.filter(
            client=client,
            kind=Invoice.Kind.INVOICE,
            invoice_date__gte=months[0],
            status__in=INVOICE_STATES,
        )
        .annotate(month=TruncMonth("invoice_date"))
        .values("month", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_month: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        by_month[month][row["status"]] = int(row["n"])
    return charts.bars(
        id="invoices",
        title=_("Invoices by state, last 12 months"),
        points=[charts.Point(_month_label(m), list(by_month.get(m, {}).items())) for m in months],
        series=[(s.value, str(s.label)) for s in INVOICE_STATES],
        fmt=_count,
        label_heading=_("Month"),
    )

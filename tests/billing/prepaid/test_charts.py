"""The wallet's and the dashboard's pictures (issue 15 §1): server-rendered SVG with the same
numbers as a table, days and months in the provider's time zone, a constant number of queries
whatever the client's volume."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing.models import MessageAccount, UsageRecord
from billing.prepaid import charts
from billing.prepaid.services.debits import wallet_debit
from tests.billing.factories import top_up
from tests.billing.invoicing.factories import company, issued, line

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


def _usage(client, n, at, messages=1, channel="sms"):
    UsageRecord.objects.create(
        record_id=f"rec-{client.pk}-{n}",
        client=client,
        channel=channel,
        message_count=messages,
        amount=Decimal("0.05"),
        currency="CNY",
        prepaid=True,
        occurred_at=at,
    )


def _row(chart, label):
    return next(r for r in chart.rows if r[0] == label)


def test_usage_per_day_is_counted_by_the_providers_local_day(prepaid):
    late = dt.datetime(2026, 11, 18, 23, 30, tzinfo=SHANGHAI)
    early = dt.datetime(2026, 11, 19, 0, 30, tzinfo=SHANGHAI)
    _usage(prepaid, 1, late, messages=7)
    _usage(prepaid, 2, early, messages=5)
    _usage(prepaid, 3, early, messages=2, channel="whatsapp")
    with translation.override("en"):
        chart = charts.usage_per_day(prepaid, now=NOW)
    assert chart.columns == ["Day", "SMS", "WhatsApp Business"]
    assert _row(chart, "18 Nov") == ["18 Nov", "7", "0"]
    assert _row(chart, "19 Nov") == ["19 Nov", "5", "2"]
    assert len(chart.rows) == 30
    # one bar per channel part, stacked: the 19th has two
    assert len([b for b in chart.bars if b["title"].startswith("19 Nov")]) == 2


def test_usage_per_month_shows_the_message_limit(prepaid):
    MessageAccount.objects.create(client=prepaid, limit=5000)
    _usage(prepaid, 1, dt.datetime(2026, 10, 31, 23, 0, tzinfo=SHANGHAI), messages=40)
    _usage(prepaid, 2, dt.datetime(2026, 11, 1, 1, 0, tzinfo=SHANGHAI), messages=60)
    with translation.override("en"):
        chart = charts.usage_per_month(prepaid, now=NOW)
    assert chart.rows[-2] == ["October 2026", "40"]
    assert chart.rows[-1] == ["November 2026", "60"]
    assert len(chart.rows) == 12
    assert chart.limit is not None and "5,000" in chart.limit["text"]


def test_the_balance_line_ends_each_day_where_the_ledger_does(prepaid, wallet):
    received = dt.datetime(2026, 9, 1, 10, 0, tzinfo=SHANGHAI)
    top_up(wallet, "100.00", received)
    wallet_debit(
        wallet=wallet,
        amount=Decimal("30.00"),
        idempotency_key="d1",
        cause="usage",
        at=dt.datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI),
    )
    with translation.override("en"):
        chart = charts.balance_over_time(prepaid, now=NOW)
    assert chart.kind == "line" and chart.polyline
    assert chart.columns == ["Day", "Balance", "Top-ups", "Debits", "Expired"]
    ninth = _row(chart, "9 Nov")
    tenth = _row(chart, "10 Nov")
    assert ninth[1].replace("\xa0", " ").endswith("100.00")
    assert tenth[1].replace("\xa0", " ").endswith("70.00")
    assert tenth[3].replace("\xa0", " ").endswith("30.00")
    # the last point is the wallet's balance now
    wallet.refresh_from_db()
    assert chart.rows[-1][1].replace("\xa0", " ").endswith(f"{wallet.balance:.2f}")


def test_a_top_up_day_carries_a_dot(prepaid, wallet):
    top_up(wallet, "25.00", dt.datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI))
    with translation.override("en"):
        chart = charts.balance_over_time(prepaid, now=NOW)
    assert [d["title"].split(":")[0] for d in chart.dots] == ["15 Nov"]
    assert "top-up" in chart.dots[0]["title"]


def test_the_expiry_timeline_lists_credit_by_its_expiry_day(prepaid, wallet):
    first = top_up(wallet, "10.00", dt.datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI))
    second = top_up(wallet, "20.00", dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    chart = charts.lot_expiries(prepaid, now=NOW)
    assert [float(b["h"]) > 0 for b in chart.bars] == [True, True]
    assert len(chart.rows) == 2
    assert first.expires_at < second.expires_at
    assert chart.rows[0][1].replace("\xa0", " ").endswith("10.00")


def test_invoices_by_state_count_each_month(cm, billing_staff):
    client = company(cm)
    issued(client, billing_staff, [line("10.00")], invoice_date=timezone.localdate())
    issued(client, billing_staff, [line("20.00")], invoice_date=timezone.localdate())
    chart = charts.invoices_by_state(client)
    issued_column = chart.columns.index("Issued")
    assert chart.rows[-1][issued_column] == "2"


def test_the_wallet_page_draws_the_charts_with_their_tables(
    as_user, prepaid, prepaid_admin, wallet
):
    top_up(wallet, "100.00", timezone.now() - dt.timedelta(days=3))
    page = as_user(prepaid_admin).get(reverse("billing:wallet")).content.decode()
    assert page.count("<svg") >= 3
    assert 'role="img"' in page
    assert "Show the numbers" in page and '<th scope="row">' in page


def test_the_charts_speak_chinese(as_user, prepaid, prepaid_admin, wallet):
    top_up(wallet, "100.00", timezone.now() - dt.timedelta(days=3))
    type(prepaid_admin).objects.filter(pk=prepaid_admin.pk).update(language="zh-hans")
    page = as_user(prepaid_admin).get(reverse("billing:wallet")).content.decode()
    assert "余额" in page


def test_the_wallet_pages_queries_do_not_grow_with_usage(as_user, prepaid, prepaid_admin, wallet):
    top_up(wallet, "100.00", timezone.now() - dt.timedelta(days=3))
    web = as_user(prepaid_admin)
    web.get(reverse("billing:wallet"))
    _usage(prepaid, 0, timezone.now() - dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as few:
        web.get(reverse("billing:wallet"))
    for n in range(1, 40):
        _usage(prepaid, n, timezone.now() - dt.timedelta(days=n % 25, hours=1))
    with CaptureQueriesContext(connection) as many:
        web.get(reverse("billing:wallet"))
    assert len(many) == len(few)


@pytest.mark.parametrize("top", [0, 1, 7, 99, 1234, 50_000])
def test_the_axis_bound_covers_the_highest_bar(top):
    from accounts.kernel import charts as kernel

    bound, ticks = kernel._scale(top)
    assert bound >= top and ticks[0] == 0 and ticks[-1] == bound

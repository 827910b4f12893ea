"""Helpers for the invoicing tests: clients of each profile, invoices through the services, the
clock (its fixture, `clock`, is in this folder's conftest)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from accounts.models import Client, Provider
from billing.invoicing.services import _common
from billing.invoicing.services import invoices as invoice_services
from billing.models import InterestRate, Invoice, UsageRecord
from tests.accounts.factories import AgreementFactory, ClientAdminFactory, ClientFactory

_n = itertools.count(1)
UTC = dt.UTC
CHINESE_NAME = "深圳市蓝海信息技术有限公司"
D = dt.date
Dec = Decimal


class Clock:
    """Moves invoicing's one clock (`billing.invoicing.services._common.now`: every "now" and
    "today" of the services, selectors and pages)."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self.moment = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        monkeypatch.setattr(_common, "now", lambda: self.moment)

    def set(self, value: dt.datetime | dt.date, hour: int = 10) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time(hour), tzinfo=UTC)
        self.moment = value
        return value


def company(provider: Provider, **kwargs) -> Client:
    """A postpaid client of `provider` with an agreement."""
    client = ClientFactory(provider=provider, **kwargs)
    AgreementFactory(client=client, start_date=D(2026, 1, 1), current_term_end=D(2026, 12, 31))
    return client


def admin_of(client: Client):
    return ClientAdminFactory(client=client)


def line(
    amount="1000.00", *, quantity="1", vat_rate=None, messages=0, description="Messaging services"
):
    """One line; `amount` is the unit price (quantity 1 by default)."""
    row = {
        "description": description,
        "quantity": quantity,
        "unit_price": amount,
        "messages": messages,
    }
    if vat_rate is not None:
        row["vat_rate"] = vat_rate
    return row


def issued(
    client: Client, staff, lines=None, *, invoice_date: dt.date, clock: Clock | None = None
) -> Invoice:
    """A draft made and issued through the services, dated `invoice_date`."""
    if clock is not None and clock.moment.date() < invoice_date:
        clock.set(invoice_date)
    draft = invoice_services.invoice_draft(
        client=client, lines=lines or [line()], acting_user=staff
    )
    return invoice_services.invoice_issue(
        invoice=draft, acting_user=staff, invoice_date=invoice_date
    )


def interest_rate(provider: Provider, valid_from: dt.date, pct: str) -> InterestRate:
    return InterestRate.objects.create(
        provider=provider, valid_from=valid_from, annual_rate_pct=Decimal(pct)
    )


def usage(
    client: Client,
    occurred_at: dt.datetime,
    *,
    messages=1,
    amount="0.05",
    channel="sms",
    prepaid=False,
):
    n = next(_n)
    return UsageRecord.objects.create(
        record_id=f"inv-usage-{n}",
        client=client,
        channel=channel,
        message_count=messages,
        amount=Decimal(amount),
        currency=client.provider.currency,
        prepaid=prepaid,
        occurred_at=occurred_at,
    )


def amsterdam(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Europe/Amsterdam"))


def key() -> str:
    return f"test-key-{next(_n)}"

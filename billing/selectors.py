"""Reads of the prepaid side, each scoped by client (a wallet, its lots and its ledger)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.kernel.dates import local_date, local_midnight
from accounts.models import Client

from .models import CreditLot, LedgerEntry, Wallet

ZERO = Decimal("0")


def wallet_of(*, client: Client) -> Wallet | None:
    return Wallet.objects.filter(client=client).first()


def wallet_check(*, wallet: Wallet) -> dict:
    """The ledger invariant: balance = sum of the ledger = sum of the lots' remaining amounts."""
    balance = Wallet.objects.values_list("balance", flat=True).get(pk=wallet.pk)
    ledger = LedgerEntry.objects.filter(wallet_id=wallet.pk).aggregate(s=Sum("amount"))["s"] or ZERO
    lots = CreditLot.objects.filter(wallet_id=wallet.pk).aggregate(s=Sum("remaining"))["s"] or ZERO
    return {"balance": balance, "ledger": ledger, "lots": lots, "ok": balance == ledger == lots}


def wallet_summary(*, client: Client, at: dt.datetime | None = None) -> dict:
    """What the client sees (art. 29.3): balance, usable now, pending (usable from tomorrow), lots.

    Pending credit is received but not yet usable ("the day following the day the amount is
    received"). Lots are listed earliest expiry first, the order in which debits consume them.
    """
    at = at or timezone.now()
    provider = client.provider
    wallet = wallet_of(client=client)
    currency = wallet.currency if wallet else provider.currency
    if wallet is None:
        return {
            "currency": currency,
            "balance": ZERO,
            "usable_now": ZERO,
            "pending": ZERO,
            "expired_unprocessed": ZERO,
            "lots": [],
        }
    lots = list(CreditLot.objects.filter(wallet=wallet).order_by("expires_at", "received_at", "pk"))
    usable = pending = stale = ZERO
    rows = []
    for lot in lots:
        live = lot.status == CreditLot.Status.ACTIVE and lot.remaining > 0
        if live and lot.usable_from <= at < lot.expires_at:
            usable += lot.remaining
            state = "usable"
        elif live and at < lot.usable_from:
            pending += lot.remaining
            state = "pending"
        elif live:
            stale += lot.remaining  # past expiry; the expiry job has not run yet
            state = "expired"
        else:
            state = lot.status
        rows.append(
            {
                "id": lot.pk,
                "reference": lot.reference,
                "amount": lot.amount,
                "remaining": lot.remaining,
                "currency": lot.currency,
                "purchase_date": lot.purchase_date,
                "usable_from": lot.usable_from,
                "expires_on": lot.expires_on,
                "last_usable_day": lot.expires_on - dt.timedelta(days=1),
                "expires_at": lot.expires_at,
                "status": lot.status,
                "state": state,
            }
        )
    return {
        "currency": currency,
        "balance": wallet.balance,
        "usable_now": usable,
        "pending": pending,
        "expired_unprocessed": stale,
        "lots": rows,
        "local_date": local_date(provider, at),
    }


def lot_list(*, client: Client):
    return CreditLot.objects.filter(wallet__client=client).order_by(
        "expires_at", "received_at", "pk"
    )


def ledger_list(*, client: Client, filters: dict | None = None):
    """The client's ledger, newest first; filters: kind, date_from, date_to (local dates, inclusive)."""
    filters = filters or {}
    qs = (
        LedgerEntry.objects.filter(wallet__client=client)
        .select_related("lot")
        .order_by("-created_at", "-pk")
    )
    kind = filters.get("kind")
    if kind:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        qs = qs.filter(kind__in=kinds)
    provider = client.provider
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=local_midnight(provider, _date(filters["date_from"])))
    if filters.get("date_to"):
        qs = qs.filter(
            created_at__lt=local_midnight(
                provider, _date(filters["date_to"]) + dt.timedelta(days=1)
            )
        )
    return qs


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


CSV_COLUMNS = [
    "created_at",
    "kind",
    "amount",
    "currency",
    "balance_after",
    "lot",
    "cause",
    "idempotency_key",
]


def ledger_csv(*, client: Client, filters: dict | None = None) -> str:
    """The filtered ledger as CSV, times in the provider's time zone."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(client.provider.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in ledger_list(client=client, filters=filters).iterator(chunk_size=2000):
        writer.writerow(
            [
                e.created_at.astimezone(tz).isoformat(),
                e.kind,
                f"{e.amount:.2f}",
                e.currency,
                f"{e.balance_after:.2f}",
                e.lot.reference if e.lot_id else "",
                _csv_safe(e.cause),
                _csv_safe(e.idempotency_key),
            ]
        )
    return out.getvalue()


def _csv_safe(value: str) -> str:
    """No spreadsheet formula injection from free text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value

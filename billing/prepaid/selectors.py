"""Every read of the prepaid side: the wallet, its lots and ledger (art. 29), the message limit
(art. 26), the requests in the staff queues and what the pages and the dashboard show.

One function per read, scoped the same way everywhere: a read of rows of many clients takes
the user (`accounts.selectors.scoped`: staff see every client's, a client user only its own)
and may be narrowed to one `client`; a single row is found by the user and its pk, and another
client's row is answered exactly as a missing one, with the domain `NotFound` (404 in the API
and on pages). Reads of one client take the client the caller already holds (the page or the
API found it through `accounts.selectors.client_get`, scoped by user).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts.kernel.csv_export import csv_text
from accounts.kernel.dates import local_date, local_midnight
from accounts.kernel.db import keyset_iter
from accounts.kernel.errors import NotFound
from accounts.models import Client, Suspension, User
from accounts.selectors import agreed_currency, scoped
from billing.models import (
    CreditLot,
    LedgerEntry,
    LimitChange,
    LimitIncreaseRequest,
    MessageAccount,
    MessagePayment,
    RestitutionRequest,
    UsageRecord,
    Wallet,
)
from billing.payment_references import client_payment_reference, primary_account

from .services.limits import notice_threshold_reached
from .services.restitution import restitution_request_refusal

ZERO = Decimal("0")


def _one(queryset: QuerySet, *, pk):
    """The row with this pk among those the caller may see, or NotFound (never 403)."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


# --- The wallet, its lots and its ledger (art. 29) -----------------------------------------
def wallet_of(*, client: Client) -> Wallet | None:
    """The client's wallet, or None before its first top-up or debit (nothing is created)."""
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
    currency = wallet.currency if wallet else agreed_currency(client=client)
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


def lot_list(*, client: Client) -> QuerySet[CreditLot]:
    """The client's lots, earliest expiry first (the order debits consume them, art. 29.2)."""
    return (
        CreditLot.objects.filter(wallet__client=client)
        .select_related("wallet")
        .order_by("expires_at", "received_at", "pk")
    )


def lot_get(*, user: User, pk, client: Client | None = None) -> CreditLot:
    """One credit lot the user may see (of `client`, when given), or NotFound."""
    qs = scoped(
        CreditLot.objects.select_related("wallet__client"), user=user, client_field="wallet__client"
    )
    if client is not None:
        qs = qs.filter(wallet__client=client)
    return _one(qs, pk=pk)


def charged_back_lot_ids(*, client: Client) -> set[int]:
    """The client's lots that were charged back (art. 29.4)."""
    return set(
        CreditLot.objects.filter(wallet__client=client, chargeback__isnull=False).values_list(
            "pk", flat=True
        )
    )


def ledger_list(*, client: Client, filters: dict | None = None) -> QuerySet[LedgerEntry]:
    """The client's ledger as a statement, newest first; filters: kind, date_from, date_to
    (local dates of `created_at`, inclusive).

    The order is the entries' ids: drawn under the wallet lock in the order their running
    balances were computed, so each `balance_after` is the previous one plus its amount.
    `created_at` is when the money moved (a payment's receipt, a usage batch's moment) and may
    be earlier than the booking (a payment received last week, recorded today)."""
    filters = filters or {}
    qs = (
        # The wallet's id, not a join on its client: the (wallet, id) index then walks the
        # statement from either end, at any depth (issue 16 §2).
        LedgerEntry.objects.filter(
            wallet_id=Subquery(Wallet.objects.filter(client=client).values("pk")[:1])
        )
        .select_related("lot", "wallet")
        .order_by("-pk")
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


# The header in the requesting user's language (English keeps the field names).
CSV_COLUMNS = [
    pgettext_lazy("CSV column", "created_at"),
    pgettext_lazy("CSV column", "kind"),
    pgettext_lazy("CSV column", "amount"),
    pgettext_lazy("CSV column", "currency"),
    pgettext_lazy("CSV column", "balance_after"),
    pgettext_lazy("CSV column", "lot"),
    pgettext_lazy("CSV column", "cause"),
    pgettext_lazy("CSV column", "idempotency_key"),
]


def ledger_csv_rows(*, client: Client, filters: dict | None = None) -> Iterator[list[object]]:
    """The filtered ledger's CSV rows (`CSV_COLUMNS`), newest first, times in the provider's
    time zone, read by keyset in chunks (an export of any length stays flat in memory). Amounts
    are Decimals, so the kernel's `csv_safe` writes a negative amount as the number it is;
    every text cell (the lot's payment reference, the cause, the key) is neutralised there."""
    tz = ZoneInfo(client.provider.timezone)
    cent = Decimal("0.01")
    for e in keyset_iter(ledger_list(client=client, filters=filters), descending=True):
        yield [
            e.created_at.astimezone(tz).isoformat(),
            e.kind,
            e.amount.quantize(cent),
            e.currency,
            e.balance_after.quantize(cent),
            e.lot.reference if e.lot_id else "",
            e.cause,
            e.idempotency_key,
        ]


def ledger_csv(*, client: Client, filters: dict | None = None) -> str:
    """The filtered ledger as CSV text (the kernel's one CSV writer; tests and small reads)."""
    return csv_text([str(c) for c in CSV_COLUMNS], ledger_csv_rows(client=client, filters=filters))


# --- Chargebacks and restitution (art. 29.4, 29.6) -----------------------------------------
def closed_after_chargeback(*, client: Client) -> bool:
    """An open chargeback suspension: the account is closed until staff reopen it (art. 29.4)."""
    return Suspension.objects.filter(
        client=client, cause=Suspension.Cause.CHARGEBACK, ended_at=None
    ).exists()


def restitution_possible(*, client: Client) -> bool:
    """Whether the client may ask for restitution now (art. 29.6), for the page to offer the
    form; the rule is `restitution_request_refusal`, which `restitution_request` enforces."""
    return restitution_request_refusal(client=client) is None


def restitution_request_list(
    *, user: User, client: Client | None = None, status: str | None = None
) -> QuerySet[RestitutionRequest]:
    """Restitution requests the user may see (of `client`, in `status`, when given)."""
    qs = scoped(
        RestitutionRequest.objects.select_related("client__provider", "requested_by", "decided_by"),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    if status:
        qs = qs.filter(status=status)
    return qs


def restitution_request_get(*, user: User, pk) -> RestitutionRequest:
    """One restitution request the user may see, or NotFound."""
    return _one(restitution_request_list(user=user), pk=pk)


# --- Message limits (art. 26) --------------------------------------------------------------
def message_limit_summary(*, account: MessageAccount) -> dict:
    """Where a client stands against its limit (art. 26): the gauge of the wallet page and the API."""
    pct = account.client.provider.limit_notice_pct
    used = (account.unpaid_count * 1000 // account.limit) / 10 if account.limit else 100.0
    return {
        "client_id": account.client_id,
        "limit": account.limit,
        "unpaid_count": account.unpaid_count,
        "remaining": max(0, account.limit - account.unpaid_count),
        "used_pct": used,
        "notice_pct": pct,
        "limit_reached": account.unpaid_count >= account.limit,
        "notices_sent": account.notices_sent,
        "limit_changed_at": account.limit_changed_at,
    }


def message_limit_get(*, client: Client) -> dict:
    """The client's limit with its history of changes; a client that never sent has the
    profile's standard limit (art. 26.1), shown without creating the account."""
    account = (
        MessageAccount.objects.filter(client_id=client.pk)
        .select_related("client__provider")
        .first()
    )
    if account is None:
        account = MessageAccount(client=client, limit=client.provider.message_limit_default)
    summary = message_limit_summary(account=account)
    summary["changes"] = list(
        LimitChange.objects.filter(client_id=client.pk).select_related("changed_by")
    )
    return summary


def message_account_list(*, user: User) -> QuerySet[MessageAccount]:
    """The messaging accounts the user may see (staff: every client that has sent), by client."""
    return scoped(MessageAccount.objects.select_related("client__provider"), user=user).order_by(
        "client_id"
    )


def limit_gauge(limit: dict) -> dict:
    """The usage gauge: how full the bar is and its tone, with the notice mark (art. 26.1)."""
    cap = limit["limit"] or 1
    if limit["limit_reached"]:
        tone = "bad"
    elif notice_threshold_reached(
        unpaid_count=limit["unpaid_count"], limit=cap, pct=limit["notice_pct"]
    ):
        tone = "warn"
    else:
        tone = "ok"
    return {
        "width": min(100, limit["unpaid_count"] * 100 // cap),
        "tone": tone,
        "notice_pct": limit["notice_pct"],
    }


def limit_request_list(
    *, user: User, client: Client | None = None, status: str | None = None
) -> QuerySet[LimitIncreaseRequest]:
    """Limit increase requests the user may see (of `client`, in `status`, when given)."""
    qs = scoped(
        LimitIncreaseRequest.objects.select_related(
            "client__provider", "requested_by", "decided_by"
        ),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    if status:
        qs = qs.filter(status=status)
    return qs


def limit_request_get(*, user: User, pk) -> LimitIncreaseRequest:
    """One limit increase request the user may see, or NotFound."""
    return _one(limit_request_list(user=user), pk=pk)


def message_payment_list(*, user: User) -> QuerySet[MessagePayment]:
    """Recorded payments of messages (art. 26.2) the user may see, newest first."""
    return scoped(MessagePayment.objects.select_related("recorded_by"), user=user).order_by(
        "-recorded_at", "-pk"
    )


# --- Usage ---------------------------------------------------------------------------------
def usage_record_list(*, user: User) -> QuerySet[UsageRecord]:
    """The usage records the user may see, newest first."""
    return scoped(UsageRecord.objects.all(), user=user).order_by("-occurred_at", "-pk")


# --- The dashboards ------------------------------------------------------------------------
def pending_counts(*, user: User) -> dict:
    """Staff queue sizes for the dashboard (the clients of their providers only, art. 11.1)."""
    return {
        "limit_requests": scoped(
            LimitIncreaseRequest.objects.filter(status=LimitIncreaseRequest.Status.PENDING),
            user=user,
        ).count(),
        "restitutions": scoped(
            RestitutionRequest.objects.filter(status=RestitutionRequest.Status.PENDING),
            user=user,
        ).count(),
    }


def client_billing_summary(*, client: Client) -> dict:
    """The wallet and the limit in brief, for the client's dashboard."""
    limit = message_limit_get(client=client)
    return {
        "prepaid": client.billing_mode == Client.BillingMode.PREPAID,
        "wallet": wallet_summary(client=client),
        "limit": limit,
        "gauge": limit_gauge(limit),
        "pending_limit_request": LimitIncreaseRequest.objects.filter(
            client=client, status=LimitIncreaseRequest.Status.PENDING
        ).first(),
    }


def top_up_instructions(*, client: Client) -> dict:
    """How a prepaid client tops up (art. 29.1, 29.3): the provider's account in the wallet's
    currency and the client's own reference to quote (its RF reference for euro, else its
    client reference), which the bank-statement import turns into a top-up."""
    wallet = wallet_of(client=client)
    currency = wallet.currency if wallet is not None else client.provider.currency
    return {
        "reference": client_payment_reference(
            country=client.provider.country, client_id=client.pk, currency=currency
        ),
        "account": primary_account(provider=client.provider, currency=currency),
        "currency": currency,
    }

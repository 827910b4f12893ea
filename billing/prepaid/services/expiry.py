"""Credit expiry (art. 29.3): what is left on a lot twelve months after its purchase expires,
and the client is reminded 30 days before. Both are jobs (billing.prepaid.jobs), idempotent and
in bounded batches.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.db import require_postgresql
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify
from billing.models import CreditLot, LedgerEntry, Wallet

log = logging.getLogger(__name__)

CREDIT_EXPIRY_REMINDER_DAYS = 30

# --- Job: credit expiry (art. 29.3) --------------------------------------------------------
_LOT = CreditLot._meta.db_table
_WALLET = Wallet._meta.db_table
_ENTRY = LedgerEntry._meta.db_table

# The candidates of one batch, by keyset on the partial index (expires_at, id) WHERE active:
# each batch starts where the last one ended, so no batch rescans rows already expired.
_EXPIRY_CANDIDATES = f"""
    SELECT id, wallet_id, expires_at FROM {_LOT}
    WHERE status = 'active' AND expires_at <= %(now)s {{after}}
    ORDER BY expires_at, id
    LIMIT %(limit)s
"""
# Lock order as everywhere: the wallets (in pk order) before their lots.
_EXPIRY_LOCK_WALLETS = (
    f"SELECT id FROM {_WALLET} WHERE id = ANY(%(wallet_ids)s) ORDER BY id FOR UPDATE"
)
# All writes of a batch in one statement: expiry entries (with the running balance after each),
# lots emptied and marked expired, wallet balances lowered. `{lots}` selects the lots to expire
# and `{wallets}` their wallets (the batch's ids for the job, so the planner probes the wallets'
# primary key instead of scanning the table once per batch; TRUE for the plain-SQL benchmark).
EXPIRY_WRITE_SQL = f"""
    WITH due AS MATERIALIZED (
        SELECT l.id, l.wallet_id, l.remaining, l.currency, l.expires_at
        FROM {_LOT} l
        WHERE {{lots}} AND l.status = 'active' AND l.expires_at <= %(now)s
    ),
    lots AS (
        UPDATE {_LOT} l SET remaining = 0, status = 'expired'
        FROM due WHERE l.id = due.id
        RETURNING l.id
    ),
    totals AS (
        SELECT wallet_id, SUM(remaining) AS total FROM due WHERE remaining > 0 GROUP BY wallet_id
    ),
    wallets AS (
        UPDATE {_WALLET} w SET balance = w.balance - totals.total,
            credit_exhausted_at = CASE WHEN w.balance - totals.total = 0
                                       THEN coalesce(w.credit_exhausted_at, %(now)s)
                                       ELSE w.credit_exhausted_at END
        FROM totals WHERE w.id = totals.wallet_id AND {{wallets}}
        RETURNING w.id
    ),
    entries AS (
        INSERT INTO {_ENTRY}
            (wallet_id, kind, amount, currency, balance_after, idempotency_key, created_at,
             created_by_id, cause, lot_id, memo)
        SELECT due.wallet_id, 'expiry', -due.remaining, due.currency,
               w.balance - SUM(due.remaining) OVER (
                   PARTITION BY due.wallet_id ORDER BY due.expires_at, due.id
               ),
               'expiry:' || due.id, %(now)s, NULL, 'job credit_expire (art. 29.3)', due.id, ''
        FROM due JOIN {_WALLET} w ON w.id = due.wallet_id AND {{wallets}}
        WHERE due.remaining > 0
        ORDER BY due.wallet_id, due.expires_at, due.id
        RETURNING amount
    )
    SELECT (SELECT count(*) FROM lots), (SELECT count(*) FROM entries),
           (SELECT coalesce(-sum(amount), 0) FROM entries), (SELECT count(*) FROM wallets)
"""


def credit_expire(*, now: dt.datetime | None = None, batch_size: int = 5000) -> dict[str, Any]:
    """Expire what is left on lots past their expiry (art. 29.3).

    "Pre-paid credit is non-refundable and will expire twelve (12) months after the date on
    which the Pre-Paid Client purchased the prepaid balance." For each active lot whose
    expires_at has passed: an EXPIRY entry for its remaining amount (key `expiry:<lot id>`),
    the lot emptied and marked expired, the wallet's balance lowered. Set-wise, in batches of
    `batch_size` lots, each its own transaction of three statements; a second run finds
    nothing to do (it filters on the state it changes).
    """
    require_postgresql("The credit expiry job")
    now = now or timezone.now()
    summary = {"lots_expired": 0, "entries": 0, "amount": Decimal("0"), "wallets": 0, "batches": 0}
    after = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # The job is idempotent and each batch is consistent on its own: a crash can lose
            # the last batches' commits, never half of one, and the next run redoes them. So
            # a batch need not wait for its WAL flush.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            params = {"now": now, "limit": batch_size}
            if after is None:
                cursor.execute(_EXPIRY_CANDIDATES.format(after=""), params)
            else:
                params.update(after_at=after[0], after_id=after[1])
                cursor.execute(
                    _EXPIRY_CANDIDATES.format(
                        after="AND (expires_at, id) > (%(after_at)s, %(after_id)s)"
                    ),
                    params,
                )
            rows = cursor.fetchall()
            if not rows:
                break
            after = (rows[-1][2], rows[-1][0])
            wallet_ids = sorted({r[1] for r in rows})
            cursor.execute(_EXPIRY_LOCK_WALLETS, {"wallet_ids": wallet_ids})
            cursor.execute(
                EXPIRY_WRITE_SQL.format(
                    lots="l.id = ANY(%(lot_ids)s)", wallets="w.id = ANY(%(wallet_ids)s)"
                ),
                {"now": now, "lot_ids": [r[0] for r in rows], "wallet_ids": wallet_ids},
            )
            lots, entries, amount, wallets = cursor.fetchone()
        summary["lots_expired"] += lots
        summary["entries"] += entries
        summary["amount"] += amount
        summary["wallets"] += wallets
        summary["batches"] += 1
        if len(rows) < batch_size:
            break
    log.info("expire_credit: %s", summary)
    summary["amount"] = str(summary["amount"])
    return summary


# --- Job: reminders before credit expires --------------------------------------------------
def credit_expiry_reminders_send(
    *, now: dt.datetime | None = None, batch_size: int = 500
) -> dict[str, Any]:
    """Email the client 30 days before a lot with remaining credit expires (art. 29.3), once per lot."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=CREDIT_EXPIRY_REMINDER_DAYS)
    sent = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            # skip_locked: a lot in the middle of a debit is reminded on the next run.
            lots = list(
                CreditLot.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("wallet__client__provider")
                .filter(
                    status=CreditLot.Status.ACTIVE,
                    remaining__gt=0,
                    expiry_reminded_at=None,
                    expires_at__gt=now,
                    expires_at__lte=horizon,
                    pk__gt=last_pk,
                )
                .order_by("pk")[:batch_size]
            )
            if not lots:
                break
            for lot in lots:
                client = lot.wallet.client
                last_usable_day = lot.expires_on - dt.timedelta(days=1)
                if notify(
                    key=f"credit-expiry-reminder:{lot.pk}",
                    client=client,
                    recipients=client_recipients(client),
                    subject=lambda: (
                        gettext("%(amount)s of prepaid credit expires on %(date)s")
                        % {"amount": money(lot.remaining, lot.currency), "date": lot.expires_on}
                    ),
                    body=(
                        lambda: (
                            gettext(
                                "Your top-up %(reference)s of %(purchased)s has %(amount)s left. It can be "
                                "used until the end of %(last_day)s (%(timezone)s); prepaid credit expires "
                                "twelve months after purchase and is non-refundable (art. 29.3)."
                            )
                            % {
                                "reference": lot.reference,
                                "purchased": lot.purchase_date,
                                "amount": money(lot.remaining, lot.currency),
                                "last_day": last_usable_day,
                                "timezone": client.provider.timezone,
                            }
                        )
                    ),
                ):
                    sent += 1
            CreditLot.objects.filter(
                pk__in=[lot.pk for lot in lots], expiry_reminded_at=None
            ).update(expiry_reminded_at=now)
            last_pk = lots[-1].pk
    return {"reminded": sent}

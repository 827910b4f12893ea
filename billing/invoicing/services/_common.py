"""What every invoicing service shares: the one clock, the open states, the invoice lock and the
keyset walk over a provider's clients. Nothing here decides a rule of the contract.

Modules call `_common.now()` and `_common.today(provider)` through this module (never a copy
imported by name), so a test that moves `_common.now` moves every "now" of invoicing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.models import Client, Provider
from billing.models import Dispute, Invoice

ZERO = Decimal("0")
HUNDRED = Decimal("100")
BATCH = 500

# Invoices the client still has to settle (or has settled in part).
OPEN_STATUSES = (
    Invoice.Status.ISSUED,
    Invoice.Status.PARTLY_PAID,
    Invoice.Status.OVERDUE,
    Invoice.Status.DISPUTED,
)
OPEN_DISPUTE_STATUSES = (Dispute.Status.OPEN, Dispute.Status.ESCALATED)
# Disputes not yet resolved, including one whose admissibility awaits an exchange rate (CX 10):
# one per invoice, in the staff's queue; only an admitted (open) one withholds.
UNRESOLVED_DISPUTE_STATUSES = (Dispute.Status.PENDING_CHECK, *OPEN_DISPUTE_STATUSES)

# Money moves once per idempotency key (a retried request records nothing twice).
KEY_REQUIRED = "An idempotency key is required."


def now() -> dt.datetime:
    """The current moment; one place, so tests can move the clock."""
    return timezone.now()


def today(provider: Provider) -> dt.date:
    """The calendar date now in the profile's time zone."""
    return local_date(provider, now())


def lock_invoice(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("provider", "client")
        .get(pk=invoice.pk)
    )


def client_id_batches(provider: Provider, batch_size: int):
    """The provider's client ids in pk order, `batch_size` at a time (a keyset walk)."""
    last_pk = 0
    while True:
        ids = list(
            Client.objects.filter(provider=provider, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        last_pk = ids[-1]
        yield ids

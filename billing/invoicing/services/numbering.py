"""Invoice numbers: one gapless sequence per provider and year (art. 4.1)."""

from __future__ import annotations

from accounts.models import Provider
from billing.models import InvoiceCounter


def invoice_number_next(*, provider: Provider, year: int) -> str:
    """The next number of the provider's gapless yearly sequence, e.g. CN-2026-000123 (art. 4.1).

    Invoices and credit notes share it. The counter row is created once (ON CONFLICT DO
    NOTHING) and then locked: concurrent issuers queue on that row lock, and a rolled-back
    issue rolls its number back with it, so the sequence has neither gaps nor duplicates (no
    max()+1 race). Call it inside the issuing transaction.
    """
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(provider=provider, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(provider=provider, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{provider.country}-{year}-{counter.last_number:06d}"

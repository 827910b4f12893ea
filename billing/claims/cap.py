"""The provider's liability cap (art. 13.4), computed from the invoices and exchange rates.

Art. 13.4 (CM): "CM's liability shall be limited in aggregate to an amount equal to the average
monthly invoice of Client with a maximum of fifty thousand euro (€ 50.000) for the total duration
of the Agreement. In no event shall the total compensation by CM for any and all claims under this
Agreement exceed fifty thousand euro (€ 50,000.00)." CX 13.4: "CXENGAGE's total liability is
capped at the average monthly invoice (max €50,000)."
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from accounts.kernel.dates import local_date
from accounts.kernel.money import round_money
from accounts.models import Agreement, Client
from billing.invoicing.services.exchange_rates import convert, rate_in_force
from billing.models import ClaimPayout, Invoice, LossClaim

ZERO = Decimal("0")


@dataclass
class LiabilityCap:
    """What the cap is on `on`, in the provider's currency, and how it was found. When a figure
    cannot be computed (no agreement, no exchange rate), `stated` is False and `reason` says why:
    the cap is then unknown, never zero."""

    currency: str
    on: dt.date
    stated: bool = True
    reason: str = ""
    months: int = 0
    invoiced: Decimal | None = None
    average_monthly: Decimal | None = None
    ceiling_eur: Decimal = ZERO
    ceiling: Decimal | None = None
    rate: str = ""
    cap: Decimal | None = None
    paid_out: Decimal | None = None
    remaining: Decimal | None = None
    notes: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> LiabilityCap:
        self.stated = False
        self.reason = reason
        return self


def months_begun(start: dt.date, on: dt.date) -> int:
    """The months of the agreement begun by `on` (its first day counts as the first month)."""
    months = (on.year - start.year) * 12 + on.month - start.month
    if on.day >= start.day:
        months += 1
    return max(months, 1)


def _invoiced(client: Client, start: dt.date, on: dt.date, currency: str) -> Decimal | None:
    """Invoices less credit notes, excluding VAT (art. 4.1: prices exclude VAT), issued from the
    agreement's start up to `on`, in `currency`; None when an invoice's currency has no rate."""
    rows = (
        Invoice.objects.filter(client=client, invoice_date__range=(start, on))
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .values("currency", "kind")
        .annotate(total=Sum("subtotal"))
    )
    total = ZERO
    for row in rows:
        amount = row["total"] or ZERO
        if row["currency"] != currency:
            converted = convert(
                amount=amount, from_currency=row["currency"], to_currency=currency, on=on
            )
            if converted is None:
                return None
            amount = converted
        total += -amount if row["kind"] == Invoice.Kind.CREDIT_NOTE else amount
    return total


def _paid_out(client: Client, currency: str) -> tuple[Decimal | None, str]:
    """What was already paid out on the client's claims against the provider, in `currency`,
    each payout at the rate in force on its day."""
    total = ZERO
    for payout in ClaimPayout.objects.filter(
        claim__client=client, claim__against=LossClaim.Against.PROVIDER
    ).order_by("paid_on", "pk"):
        amount = convert(
            amount=payout.amount,
            from_currency=payout.currency,
            to_currency=currency,
            on=payout.paid_on,
        )
        if amount is None:
            return None, (
                f"No {payout.currency}→{currency} exchange rate on file for {payout.paid_on}: "
                f"the payout of {payout.amount} {payout.currency} cannot be counted (art. 13.4)."
            )
        total += amount
    return total, ""


def liability_cap(*, client: Client, on: dt.date | None = None) -> LiabilityCap:
    """The provider's liability cap for `client` on `on` (art. 13.4): the client's average monthly
    invoice over the agreement so far, at most `provider.liability_cap_eur` (€50,000) converted at
    the exchange rate in force that day, for the total duration, less what was already paid out
    on earlier claims. Stated as unknown, with the reason, when a rate is missing."""
    provider = client.provider
    on = on or local_date(provider)
    currency = provider.currency
    result = LiabilityCap(currency=currency, on=on, ceiling_eur=provider.liability_cap_eur)
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None:
        return result.refuse("The client has no agreement yet: there is no invoice to average.")
    ceiling = convert(
        amount=provider.liability_cap_eur, from_currency="EUR", to_currency=currency, on=on
    )
    if ceiling is None:
        return result.refuse(
            f"No EUR→{currency} exchange rate on file on or before {on}: the cap of "
            f"€{provider.liability_cap_eur} cannot be stated in {currency} (art. 13.4)."
        )
    result.ceiling = ceiling
    if currency != "EUR":
        rate = rate_in_force(from_currency="EUR", to_currency=currency, on=on)
        result.rate = str(rate)
    result.months = months_begun(agreement.start_date, on)
    invoiced = _invoiced(client, agreement.start_date, on, currency)
    if invoiced is None:
        return result.refuse(
            f"An invoice in another currency has no exchange rate to {currency} on {on} (art. 13.4)."
        )
    result.invoiced = round_money(max(invoiced, ZERO))
    result.average_monthly = round_money(result.invoiced / result.months)
    result.cap = min(result.average_monthly, ceiling)
    paid, reason = _paid_out(client, currency)
    if paid is None:
        return result.refuse(reason)
    result.paid_out = round_money(paid)
    result.remaining = max(result.cap - paid, ZERO)
    return result

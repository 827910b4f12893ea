"""Recharges: sums the contract lets the provider charge to the client besides its usage, billed
like any invoice (payments, statement matching, overdue, interest, suspension).

* art. 29.4: credit already used from a top-up that is charged back, and the chargeback fee the
  profile names (`Provider.chargeback_fee`): owed at once, an invoice of its own;
* art. 21.5.2: "Client shall be responsible for any costs arising from CM's provision of such
  assistance" (data-subject requests), and the further assistance of 21.6 (impact assessments,
  prior consultations);
* art. 21.7.2: "Client shall reimburse CM for any time expended by CM for any such audit at CM's
  then-current professional services rates", at the rate agreed before the audit;
* art. 7.3: "the activation costs which CM incurs in this respect will be charged to the Client".

A postpaid client's recharge waits, pending, for its next monthly invoice (`usage_invoices`); a
prepaid client has no monthly invoice, so its recharge is an invoice of its own, issued at once
and due after the payment term (art. 4.5). Each source is recharged once per kind
(`Recharge.source_kind` + `source_id`): recording it again returns the first record.

billing and dataprocessing never import each other: data processing and accounts send
`accounts.kernel.signals.client_cost_incurred`, and portal/recharges.py passes it to
`record_recharge`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from accounts.kernel.dates import local_date
from accounts.kernel.errors import Conflict, ValidationFailed
from accounts.kernel.money import MAX_AMOUNT, round_money, to_decimal
from accounts.models import Client, User
from billing.models import Chargeback, Invoice, Recharge

from . import _common
from .exchange_rates import convert
from .invoices import invoice_draft, invoice_issue

log = logging.getLogger(__name__)

ARTICLE = {
    Recharge.Kind.CHARGEBACK_DEBT: "29.4",
    Recharge.Kind.CHARGEBACK_FEE: "29.4",
    Recharge.Kind.DSR_ASSISTANCE: "21.5.2",
    Recharge.Kind.COMPLIANCE_ASSISTANCE: "21.6",
    Recharge.Kind.AUDIT_TIME: "21.7.2",
    Recharge.Kind.ACTIVATION: "7.3",
}


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a recharged sum comes from: e.g. `SourceRef("dataprocessing.audit", 12)`."""

    kind: str
    id: str | int


def recharge_line(recharge: Recharge) -> dict[str, Any]:
    """The invoice line of a recharge: its kind, source and article; VAT at the client's rate
    for a supply (assistance, audit time, activation), 0 % for a sum owed (art. 29.4)."""
    label = Recharge.Kind(recharge.kind).label
    article = ARTICLE[Recharge.Kind(recharge.kind)]
    line: dict[str, Any] = {
        "description": f"{label}: {recharge.description} (art. {article})"[:300],
        "quantity": Decimal(1),
        "unit_price": recharge.amount,
    }
    if not recharge.vat_applies:
        line["vat_rate"] = "0"
    return line


def recharges_link(invoice: Invoice, recharges: Iterable[Recharge], first_position: int) -> None:
    """Point each recharge at its line (positions from `first_position`, in order) and mark it invoiced."""
    lines = {line.position: line for line in invoice.lines.filter(position__gte=first_position)}
    for i, recharge in enumerate(recharges):
        recharge.invoice = invoice
        recharge.invoice_line = lines[first_position + i]
        recharge.status = Recharge.Status.INVOICED
        recharge.save(update_fields=["invoice", "invoice_line", "status"])


def recharges_pending(
    *, client: Client, currency: str, before: dt.datetime | None = None
) -> list[Recharge]:
    """The client's recharges waiting for an invoice in `currency`, locked, oldest first (recorded
    before `before` when given: the end of the billing period)."""
    qs = Recharge.objects.select_for_update().filter(
        client=client, status=Recharge.Status.PENDING, currency=currency
    )
    if before is not None:
        qs = qs.filter(recorded_at__lt=before)
    return list(qs.order_by("recorded_at", "pk"))


def recharges_invoice(
    *, client: Client, recharges: list[Recharge], notes: str, acting_user: User | None = None
) -> Invoice:
    """An invoice of its own for `recharges`, issued at once: due after the payment term (art.
    4.5), then collected like any invoice. `source_key` `recharge:<first id>` keeps it single."""
    invoice = invoice_draft(
        client=client,
        lines=[recharge_line(r) for r in recharges],
        acting_user=None,
        notes=notes,
        source_key=f"recharge:{recharges[0].pk}",
        currency=recharges[0].currency,
    )
    recharges_link(invoice, recharges, 1)
    invoice = invoice_issue(invoice=invoice, acting_user=None)
    log.info("recharges invoiced on %s for %s by %s", invoice.number, client.pk, acting_user)
    return invoice


def _clean_amount(amount: object, article: str) -> Decimal:
    value = to_decimal(amount, field="amount")
    if value < 0 or value > MAX_AMOUNT:
        raise ValidationFailed(
            {"amount": [gettext("A recharged amount is zero or more.") + f" (art. {article})"]},
            article=article,
        )
    return round_money(value)


def _existing(kind: str, source_kind: str, source_id: str, client: Client) -> Recharge | None:
    existing = Recharge.objects.filter(
        kind=kind, source_kind=source_kind, source_id=source_id
    ).first()
    if existing is not None and existing.client_id != client.pk:
        raise Conflict(
            gettext("This source has already been recharged to another client."), field="source"
        )
    return existing


@transaction.atomic
def record_recharge(
    client: Client,
    kind: str,
    amount: object,
    source_ref: SourceRef,
    *,
    description: str,
    currency: str | None = None,
    acting_user: User | None = None,
    vat_applies: bool = True,
    bill_now: bool | None = None,
) -> Recharge | None:
    """Record a sum the client owes for `source_ref` and bill it (art. 7.3, 21.5.2, 21.6,
    21.7.2, 29.4; see the module's docstring).

    Nothing is recorded for a zero amount (nothing is owed). Idempotent per source: the same
    kind and source recorded again returns the first recharge unchanged. `bill_now` (default:
    the client is prepaid) issues an invoice of its own at once; otherwise the recharge waits
    for the client's next monthly invoice. In the client's provider's currency unless given.
    """
    if kind not in Recharge.Kind.values:
        raise ValidationFailed(
            {"kind": [f"Kind must be one of {', '.join(Recharge.Kind.values)}."]}
        )
    article = ARTICLE[Recharge.Kind(kind)]
    value = _clean_amount(amount, article)
    source_kind, source_id = str(source_ref.kind).strip(), str(source_ref.id).strip()
    if not source_kind or not source_id:
        raise ValidationFailed({"source": [gettext("Name the source of the recharge.")]})
    # the client's row first: recharges and its monthly invoice run one at a time
    client = (
        Client.objects.select_for_update(of=("self",)).select_related("provider").get(pk=client.pk)
    )
    existing = _existing(kind, source_kind, source_id, client)
    if existing is not None or value == 0:
        return existing
    recharge = Recharge(
        client=client,
        kind=kind,
        amount=value,
        currency=(currency or client.provider.currency).strip().upper(),
        vat_applies=vat_applies,
        source_kind=source_kind[:40],
        source_id=source_id[:64],
        description=(description or "").strip()[:300] or str(Recharge.Kind(kind).label),
        recorded_by=acting_user,
        recorded_at=_common.now(),
    )
    try:
        with transaction.atomic():
            recharge.save()
    except IntegrityError:  # recorded concurrently: the first one stands
        return _existing(kind, source_kind, source_id, client)
    if bill_now is None:
        bill_now = client.billing_mode == Client.BillingMode.PREPAID
    if bill_now:
        recharges_invoice(
            client=client,
            recharges=[recharge],
            notes=f"{Recharge.Kind(kind).label} (art. {article})",
            acting_user=acting_user,
        )
    return recharge


def recharge_lines_for(recharges: list[Recharge]) -> list[dict[str, Any]]:
    """The monthly invoice's lines for a postpaid client's pending recharges (art. 4.2)."""
    return [recharge_line(r) for r in recharges]


def _fee_in(chargeback: Chargeback, currency: str, day: dt.date) -> Decimal | None:
    """The profile's chargeback fee in `currency` (converted at the rate in force), or None."""
    provider = chargeback.lot.wallet.client.provider
    if provider.chargeback_fee is None:
        return None
    fee_currency = provider.chargeback_fee_currency or currency
    fee = convert(
        amount=provider.chargeback_fee, from_currency=fee_currency, to_currency=currency, on=day
    )
    if fee is None:
        raise Conflict(
            f"No exchange rate from {fee_currency} to {currency} is in force on {day:%Y-%m-%d} "
            "to bill the chargeback fee; enter one first (art. 29.4).",
            field="chargeback_fee",
            article="29.4",
        )
    return fee


@transaction.atomic
def chargeback_debt_record(
    *, chargeback: Chargeback, acting_user: User | None = None
) -> Invoice | None:
    """What a charged-back top-up leaves the client owing, as an amount due (art. 29.4).

    "The Pre-Paid Client is in default when the credit card payment is being charged back": the
    credit already used from the top-up (`Chargeback.used_amount`) was never paid for, and the
    profile's chargeback fee (`Provider.chargeback_fee`, if any) is charged with it. Both go on
    one invoice of its own, issued at once, due after the payment term (art. 4.5) and collected
    like any invoice. A sum owed, not a supply: 0 % VAT. Nothing is owed when nothing was used
    and the profile charges no fee: no invoice. Idempotent: a second call finds the recharges of
    this chargeback and issues nothing more.
    """
    chargeback = Chargeback.objects.select_related("lot__wallet__client__provider").get(
        pk=chargeback.pk
    )
    lot = chargeback.lot
    client = lot.wallet.client
    source = SourceRef("billing.chargeback", chargeback.pk)
    label = f"top-up {lot.reference or lot.pk} of {lot.purchase_date:%Y-%m-%d}, chargeback {chargeback.reference}"
    fee = _fee_in(chargeback, lot.currency, local_date(client.provider, chargeback.recorded_at))
    recorded = [
        record_recharge(
            client,
            Recharge.Kind.CHARGEBACK_DEBT,
            chargeback.used_amount,
            source,
            description=f"{lot.currency} {chargeback.used_amount} of {lot.currency} {lot.amount} used, {label}",
            currency=lot.currency,
            acting_user=acting_user,
            vat_applies=False,
            bill_now=False,
        ),
        record_recharge(
            client,
            Recharge.Kind.CHARGEBACK_FEE,
            fee or 0,
            source,
            description=label,
            currency=lot.currency,
            acting_user=acting_user,
            vat_applies=False,
            bill_now=False,
        ),
    ]
    due = [r for r in recorded if r is not None and r.status == Recharge.Status.PENDING]
    if not due:
        return None
    return recharges_invoice(
        client=client,
        recharges=due,
        notes=f"Amount due after the chargeback of {label} (art. 29.4)",
        acting_user=acting_user,
    )


def chargeback_recorded_receiver(
    sender: object, *, chargeback: Chargeback, acting_user: User | None, **_: object
) -> None:
    """billing/apps.py connects prepaid's `chargeback_recorded` here."""
    chargeback_debt_record(chargeback=chargeback, acting_user=acting_user)

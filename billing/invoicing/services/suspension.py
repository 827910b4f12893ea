"""Suspension for non-payment and its end (art. 7.1-7.3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext

from accounts import services as account_services
from accounts.kernel.notifications import notify, staff_emails
from accounts.models import Client, Provider, Suspension, User
from billing.models import Invoice

from . import _common
from ._common import BATCH, OPEN_STATUSES
from .invoices import invoice_due_now


def suspendable_overdue(client: Client, *, today: dt.date | None = None) -> list[Invoice]:
    """The client's invoices overdue by the profile's grace period with something due (art. 7.1)."""
    provider = client.provider
    today = today or _common.today(provider)
    cutoff = today - dt.timedelta(days=provider.overdue_suspension_grace_days)
    candidates = (
        Invoice.objects.filter(
            client=client, kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES, due_date__lte=cutoff
        )
        .select_related("provider", "client")
        .order_by("due_date", "pk")
    )
    return [inv for inv in candidates if invoice_due_now(inv) > 0]


def resume_if_cleared(client: Client, *, acting_user: User | None) -> bool:
    """Paying the overdue invoices removes the reason for a non-payment suspension (art. 7.3)."""
    if not Suspension.objects.filter(
        client=client, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
    ).exists():
        return False
    if suspendable_overdue(client):
        return False
    account_services.client_resume(
        client=client,
        acting_user=acting_user
        if acting_user is not None and acting_user.is_provider_staff
        else None,
        reason="The overdue invoices have been paid; the service resumes (art. 7.3).",
        cause=Suspension.Cause.NON_PAYMENT,
    )
    return True


def _candidate_client_ids(provider: Provider, cutoff: dt.date, batch_size: int) -> list[int]:
    """Clients with an open invoice due on or before `cutoff` and no open non-payment
    suspension, walked by client id in bounded batches."""
    open_suspension = Suspension.objects.filter(
        client_id=OuterRef("client_id"), cause=Suspension.Cause.NON_PAYMENT, ended_at=None
    )
    candidates = (
        Invoice.objects.filter(
            provider=provider,
            kind=Invoice.Kind.INVOICE,
            status__in=OPEN_STATUSES,
            due_date__lte=cutoff,
        )
        .exclude(Exists(open_suspension))
        .values_list("client_id", flat=True)
        .distinct()
        .order_by("client_id")
    )
    client_ids, last_id = [], 0
    while True:
        batch = list(candidates.filter(client_id__gt=last_id)[:batch_size])
        client_ids += batch
        if len(batch) < batch_size:
            return client_ids
        last_id = batch[-1]


@transaction.atomic
def _suspend_if_overdue(client_id: int, day: dt.date) -> bool:
    client = (
        Client.objects.select_for_update(of=("self",)).select_related("provider").get(pk=client_id)
    )
    if Suspension.objects.filter(
        client=client, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
    ).exists():
        return False
    overdue = suspendable_overdue(client, today=day)
    if not overdue:
        return False
    newest = overdue[-1]
    claimed = notify(
        key=f"non-payment-suspension:{client.pk}:{newest.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        subject=lambda: (
            gettext("Suspended for non-payment: %(client)s") % {"client": client.legal_name}
        ),
        body=lambda: (
            gettext("%(invoices)s overdue beyond the grace period (art. 7.1).")
            % {"invoices": ", ".join(inv.number for inv in overdue)}
        ),
    )
    if not claimed:
        return False
    account_services.client_suspend(
        client=client,
        cause=Suspension.Cause.NON_PAYMENT,
        acting_user=None,
        reason=(
            f"Invoice {newest.number}, due on {newest.due_date:%Y-%m-%d}, is unpaid "
            f"{(day - newest.due_date).days} days after its due date (art. 7.1). You remain liable "
            "for payment (art. 7.2); paying it resumes the service (art. 7.3)."
        ),
    )
    return True


def suspend_for_non_payment(
    *, today: dt.date | None = None, batch_size: int = BATCH
) -> dict[str, Any]:
    """Job: suspend a client with an invoice overdue by the profile's grace period (art. 7.1).

    "If the Client acts contrary to ... the obligation to pay the amounts due to CM within the
    agreed payment term, CM is entitled to suspend provision of the Service"; the client
    stays liable meanwhile (7.2) and is told (client_suspend). Idempotent: a client already
    suspended for non-payment is left alone, and each crossing of the grace line (keyed by the
    newest invoice to cross it) suspends once, so a client that staff resumed by hand is not
    suspended again for the same invoices. Payment resumes it (payment_record, art. 7.3).
    """
    suspended = 0
    for provider in Provider.objects.order_by("pk"):
        day = today or _common.today(provider)
        cutoff = day - dt.timedelta(days=provider.overdue_suspension_grace_days)
        for client_id in _candidate_client_ids(provider, cutoff, batch_size):
            if _suspend_if_overdue(client_id, day):
                suspended += 1
    return {"suspended": suspended}

"""Which portal events a client's webhook endpoints receive, and what each carries.

The composing layer: the apps do not know about webhooks. Most events are the notices the
contract already makes the portal send (an invoice issued, credit expiring, the 75 % limit
notice, a limit request decided, a DSR's status, a breach notified, new terms): each is written
once to the notice outbox under a key, and that key is the webhook's event id, so an event is
posted once however often the job that caused it runs. A payment recorded and an invoice
turning overdue send no notice and are read from their own rows. The client's own alerts
(`billing.prepaid.services.alerts`: low balance, usage share, credit expiring within N days)
emit their events directly.

Every receiver runs in the causing transaction; a delivery that is never committed is never
posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models.signals import post_save

from accounts.kernel.webhooks import webhook_emit
from accounts.models import Notification, WebhookEvent

Builder = Callable[[int], dict[str, Any]]


def _invoice(pk: int) -> dict[str, Any]:
    from billing.models import Invoice

    inv = Invoice.objects.filter(pk=pk).first()
    if inv is None:
        return {"id": pk}
    return {
        "id": inv.pk,
        "number": inv.number,
        "kind": inv.kind,
        "status": inv.status,
        "currency": inv.currency,
        "total": str(inv.total),
        "amount_paid": str(inv.amount_paid),
        "invoice_date": inv.invoice_date.isoformat() if inv.invoice_date else None,
        "due_date": inv.due_date.isoformat() if inv.due_date else None,
    }


def _lot(pk: int) -> dict[str, Any]:
    from billing.models import CreditLot

    lot = CreditLot.objects.filter(pk=pk).first()
    if lot is None:
        return {"id": pk}
    return {
        "credit_lot": lot.pk,
        "currency": lot.currency,
        "remaining": str(lot.remaining),
        "expires_at": lot.expires_at.isoformat(),
    }


def _limit_request(pk: int) -> dict[str, Any]:
    from billing.models import LimitIncreaseRequest

    req = LimitIncreaseRequest.objects.filter(pk=pk).first()
    if req is None:
        return {"id": pk}
    return {
        "id": req.pk,
        "status": req.status,
        "current_limit": req.current_limit,
        "requested_limit": req.requested_limit,
    }


def _dsr(pk: int) -> dict[str, Any]:
    from dataprocessing.models import DataSubjectRequest

    dsr = DataSubjectRequest.objects.filter(pk=pk).first()
    if dsr is None:
        return {"id": pk}
    return {
        "id": dsr.pk,
        "request_id": str(dsr.request_id),
        "type": dsr.type,
        "status": dsr.status,
        "due_at": dsr.due_at.isoformat() if dsr.due_at else None,
    }


def _breach_notice(pk: int) -> dict[str, Any]:
    from dataprocessing.models import BreachNotification

    note = BreachNotification.objects.filter(pk=pk).first()
    if note is None:
        return {"id": pk}
    return {"breach": note.breach_id, "notification": note.pk}


def _terms(pk: int) -> dict[str, Any]:
    from accounts.models import TermsVersion

    terms = TermsVersion.objects.filter(pk=pk).first()
    if terms is None:
        return {"id": pk}
    return {"terms_version": terms.version, "summary": terms.summary}


def _limit_notice(client_id: int) -> dict[str, Any]:
    return {"client": client_id, "share_of_limit": 75}


# Outbox key prefix → (event, builder of its data from the key's first id).
BY_NOTICE: dict[str, tuple[str, Builder]] = {
    "invoice-issued": (WebhookEvent.INVOICE_ISSUED, _invoice),
    "credit-note-issued": (WebhookEvent.INVOICE_ISSUED, _invoice),
    "credit-expiry-reminder": (WebhookEvent.CREDIT_EXPIRING, _lot),
    "limit-notice": (WebhookEvent.LIMIT_THRESHOLD, _limit_notice),
    "limit-request": (WebhookEvent.LIMIT_REQUEST_DECIDED, _limit_request),
    "dsr-received": (WebhookEvent.DSR_STATUS_CHANGED, _dsr),
    "dsr-instructed": (WebhookEvent.DSR_STATUS_CHANGED, _dsr),
    "dsr-extended": (WebhookEvent.DSR_STATUS_CHANGED, _dsr),
    "dsr-resumed": (WebhookEvent.DSR_STATUS_CHANGED, _dsr),
    "dsr-completed": (WebhookEvent.DSR_STATUS_CHANGED, _dsr),
    "breach-notice": (WebhookEvent.BREACH_NOTIFIED, _breach_notice),
    "terms-published": (WebhookEvent.TERMS_PUBLISHED, _terms),
}


def event_for_notice(key: str) -> tuple[str, int] | None:
    """The webhook event a notice key stands for, and the id it names; None for notices that
    are no webhook event (e.g. a limit request only submitted)."""
    prefix, _, rest = key.partition(":")
    if prefix not in BY_NOTICE or not rest:
        return None
    if prefix == "limit-request" and not rest.endswith((":approved", ":refused")):
        return None
    first = rest.split(":", 1)[0]
    if not first.isdigit():
        return None
    return BY_NOTICE[prefix][0], int(first)


def _on_notice(sender: type, instance: Notification, created: bool, **kwargs: Any) -> None:
    if not created or instance.client_id is None:
        return
    found = event_for_notice(instance.key)
    if found is None:
        return
    event_type, pk = found
    builder = BY_NOTICE[instance.key.partition(":")[0]][1]
    webhook_emit(
        client=instance.client_id,
        event_type=event_type,
        event_id=f"evt-{instance.key}",
        data={**builder(pk), "notice": instance.subject},
    )


def _on_payment(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    invoice = instance.invoice
    webhook_emit(
        client=invoice.client_id,
        event_type=WebhookEvent.PAYMENT_RECORDED,
        event_id=f"evt-payment:{instance.pk}",
        data={
            "payment": instance.pk,
            "invoice": invoice.number,
            "amount": str(instance.amount),
            "currency": instance.currency,
            "received_on": instance.received_on.isoformat(),
        },
    )


def _on_invoice(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    from billing.models import Invoice

    if instance.status != Invoice.Status.OVERDUE or instance.overdue_since is None:
        return
    webhook_emit(
        client=instance.client_id,
        event_type=WebhookEvent.INVOICE_OVERDUE,
        event_id=f"evt-invoice-overdue:{instance.pk}:{instance.overdue_since.isoformat()}",
        data=_invoice(instance.pk),
    )


def connect() -> None:
    """Called once from `PortalConfig.ready()`."""
    from billing.models import Invoice, Payment

    post_save.connect(_on_notice, sender=Notification, dispatch_uid="webhooks-notice")
    post_save.connect(_on_payment, sender=Payment, dispatch_uid="webhooks-payment")
    post_save.connect(_on_invoice, sender=Invoice, dispatch_uid="webhooks-invoice-overdue")

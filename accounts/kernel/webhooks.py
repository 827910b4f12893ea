"""Webhook deliveries: recorded in the transaction that causes the event, posted after commit.

Each event becomes one `WebhookDelivery` per active endpoint of the client subscribed to it,
written in the causing transaction (like the notice outbox), so a job that runs twice posts
once: the event id is the delivery's key and the Standard Webhooks `webhook-id`. After commit
a Celery task posts it, signed with the endpoint's secret (`webhook-id`, `webhook-timestamp`,
`webhook-signature` headers). A failure is retried with exponential back-off (1, 2, 4 …
minutes) for a day after the event, then marked failed; "send again" puts a delivery back in
the queue under the same id. The address rules are the DSR callbacks' (`outbound`): https to a
public address only (outside first-look mode), checked again at delivery, no redirects.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from accounts.models import Client, WebhookDelivery, WebhookEndpoint

from . import outbound

log = logging.getLogger(__name__)

RETRY_FOR = dt.timedelta(days=1)
CLAIM_LEASE = dt.timedelta(minutes=2)
TIMEOUT_SECONDS = 10
RETRY_BATCH = 500


def endpoint_url_error(url: str) -> str | None:
    """Why the portal will not post to `url`, or None (the DSR callbacks' rules)."""
    try:
        outbound.resolve(url, label=_("The endpoint URL"))
    except outbound.Refused as exc:
        return str(exc)
    return None


def _deliveries_for(
    endpoints: list[WebhookEndpoint], *, event_type: str, event_id: str, data: dict[str, Any]
) -> list[int]:
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.astimezone(dt.UTC).isoformat(), "data": data}
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        WebhookDelivery.objects.filter(
            endpoint__in=[e.pk for e in endpoints],
            event_id=event_id,
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: [webhook_enqueue(pk) for pk in ids])
    return ids


def webhook_emit(
    *, client: Client | int, event_type: str, event_id: str, data: dict[str, Any]
) -> int:
    """Record `event_type` for every active endpoint of `client` subscribed to it; posted after
    commit. The same `event_id` twice records nothing the second time. Returns how many
    deliveries were recorded."""
    client_id = client if isinstance(client, int) else client.pk
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(client_id=client_id, is_active=True)
        if event_type in e.events
    ]
    if not endpoints:
        return 0
    return len(_deliveries_for(endpoints, event_type=event_type, event_id=event_id, data=data))


def webhook_emit_to_provider(
    *, provider_id: int, event_type: str, event_id: str, data: dict[str, Any]
) -> int:
    """The same event for every client of a provider (terms published): read through the
    endpoints, never the clients, so 100,000 clients without endpoints cost one query."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(
            client__provider_id=provider_id, is_active=True
        ).iterator()
        if event_type in e.events
    ]
    if not endpoints:
        return 0
    return len(_deliveries_for(endpoints, event_type=event_type, event_id=event_id, data=data))


def webhook_enqueue(delivery_id: int) -> bool:
    """Hand the delivery to Celery; a broker that is down costs the request nothing (the row is
    committed and the retry job posts it)."""
    from accounts.tasks import webhook_send

    try:
        webhook_send.apply_async((delivery_id,), retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the row is the record
        log.warning("webhook delivery %s not queued (broker unavailable)", delivery_id)
        return False
    return True


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The bytes posted and signed: the stored payload as compact JSON, the same every time."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(*, delivery: WebhookDelivery, body: bytes, now: dt.datetime) -> dict[str, str]:
    """Standard Webhooks headers: the id (the same on every attempt), the attempt's time, and
    one `v1,` signature per signing secret, separated by spaces (two during a rotation)."""
    signatures = " ".join(
        Webhook(secret).sign(msg_id=delivery.event_id, timestamp=now, data=body)
        for secret in delivery.endpoint.signing_secrets(now)
    )
    return {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


def backoff(attempts: int) -> dt.timedelta:
    """Exponential back-off after the `attempts`-th failure: 1, 2, 4, 8 … minutes."""
    return dt.timedelta(minutes=2 ** max(attempts - 1, 0))


def webhook_deliver(delivery_id: int, *, now: dt.datetime | None = None) -> bool:
    """Post one delivery once. True when the endpoint answered 2xx now; False when there was
    nothing to do or the attempt failed (then the next attempt is scheduled, or, a day after
    the event, the delivery is marked failed)."""
    now = now or timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED,
            claimed_until=None,
            last_error=str(_("The endpoint is disabled.")),
        )
        return False
    body = webhook_body(delivery)
    headers = webhook_headers(delivery=delivery, body=body, now=now.astimezone(dt.UTC))
    code, error = outbound.post_json(delivery.endpoint.url, body, headers, timeout=TIMEOUT_SECONDS)
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=timezone.now(),
            claimed_until=None,
            last_response_code=code,
            last_error="",
        )
        return True
    next_at = now + backoff(delivery.attempts)
    gives_up = next_at > delivery.created_at + RETRY_FOR
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.FAILED if gives_up else WebhookDelivery.Status.PENDING,
        next_attempt_at=next_at,
        claimed_until=None,
        last_response_code=code,
        last_error=error[:1000],
    )
    log.warning("webhook delivery %s to %s failed: %s", delivery_id, delivery.endpoint.url, error)
    return False


def webhooks_retry(*, now: dt.datetime | None = None, batch: int = RETRY_BATCH) -> dict[str, int]:
    """Job: queue the pending deliveries whose next attempt is due, oldest first, in a bounded
    batch (through the partial index of pending rows)."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    queued = sum(1 for pk in ids if webhook_enqueue(pk))
    return {"due": len(ids), "queued": queued}


def webhooks_failing() -> dict[str, int]:
    """Operations (`/metrics`): deliveries that failed their last attempt and are still
    retried, and those given up after a day."""
    return {
        "retrying": WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, attempts__gt=0
        ).count(),
        "abandoned": WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count(),
    }

"""Webhook endpoints: a client admin registers, changes, rotates and disables them, and sends a
delivery again. Posting itself is the kernel's (`accounts.kernel.webhooks`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.kernel.errors import ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import optional_text
from accounts.kernel.roles import require_client_admin
from accounts.kernel.webhooks import endpoint_url_error, webhook_enqueue
from accounts.models import Client, User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from accounts.models.clients import callback_secret_new

# The previous secret keeps signing this long after a rotation, so the receiver can switch.
ROTATION_GRACE = dt.timedelta(days=1)
MAX_ENDPOINTS_PER_CLIENT = 20


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(e) for e in events))
    known = set(WebhookEvent.values)
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise ValidationFailed(
            {"events": [_("Unknown event: %(event)s.") % {"event": ", ".join(unknown)}]}
        )
    if not chosen:
        raise ValidationFailed({"events": [_("Pick at least one event.")]})
    return [e for e in WebhookEvent.values if e in chosen]


def _clean_description(text: str) -> str:
    text = optional_text(text)
    if len(text) > 200:
        raise ValidationFailed({"description": [_("At most 200 characters.")]})
    return text


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    error = endpoint_url_error(url)
    if error:
        raise ValidationFailed({"url": [error]})
    return url


def webhook_endpoint_create(
    *,
    client: Client,
    acting_user: User,
    url: str,
    events: Iterable[str],
    description: str = "",
) -> WebhookEndpoint:
    """Register an endpoint of the client's: https to a public address, at least one event."""
    require_client_admin(acting_user, client)
    url = _clean_url(url)
    chosen = _clean_events(events)
    if WebhookEndpoint.objects.filter(client=client).count() >= MAX_ENDPOINTS_PER_CLIENT:
        raise ValidationFailed(
            {
                "url": [
                    _("A client may register at most %(n)d endpoints.")
                    % {"n": MAX_ENDPOINTS_PER_CLIENT}
                ]
            }
        )
    endpoint = WebhookEndpoint(
        client=client,
        url=url,
        events=chosen,
        description=_clean_description(description),
        created_by=acting_user,
    )
    save_with_history(endpoint, acting_user)
    return endpoint


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    acting_user: User,
    url: str,
    events: Iterable[str],
    description: str = "",
    is_active: bool = True,
) -> WebhookEndpoint:
    """Change an endpoint's address, events or state; its secret stays."""
    require_client_admin(acting_user, endpoint.client)
    endpoint.url = _clean_url(url)
    endpoint.events = _clean_events(events)
    endpoint.description = _clean_description(description)
    endpoint.is_active = bool(is_active)
    save_with_history(endpoint, acting_user)
    return endpoint


def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, acting_user: User, now: dt.datetime | None = None
) -> str:
    """A new signing secret; the previous one keeps signing for a day beside it (two
    signatures in `webhook-signature`), so the receiver switches without losing a delivery."""
    require_client_admin(acting_user, endpoint.client)
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_GRACE
    endpoint.secret = callback_secret_new()
    save_with_history(endpoint, acting_user)
    return endpoint.secret


def webhook_delivery_resend(*, delivery: WebhookDelivery, acting_user: User) -> WebhookDelivery:
    """ "Send again": the delivery goes back to the queue under the same id (the receiver can
    drop a repeat), with a fresh day of retries."""
    require_client_admin(acting_user, delivery.endpoint.client)
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=now,
            created_at=now,
            claimed_until=None,
        )
        transaction.on_commit(lambda: webhook_enqueue(delivery.pk))
    delivery.refresh_from_db()
    return delivery

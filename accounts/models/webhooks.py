"""Webhook endpoints a client admin registers, and the deliveries the portal makes to them.

Beyond the contract: the events the portal already tells the client about by email (an invoice
issued, credit expiring, a limit request decided, a DSR's status, a breach notified…) are also
posted, signed as the Standard Webhooks specification says, to the HTTPS endpoints the client
chose for them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .clients import Client, callback_secret_new


class WebhookEvent(models.TextChoices):
    """The events a client may subscribe an endpoint to (issue 15 §2)."""

    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_OVERDUE = "invoice.overdue", _("Invoice overdue")
    PAYMENT_RECORDED = "payment.recorded", _("Payment recorded")
    BALANCE_LOW = "balance.low", _("Low balance")
    CREDIT_EXPIRING = "credit.expiring", _("Credit expiring")
    LIMIT_THRESHOLD = "limit.threshold", _("Message-limit threshold reached")
    LIMIT_REQUEST_DECIDED = "limit_request.decided", _("Limit-increase request decided")
    DSR_STATUS_CHANGED = "dsr.status_changed", _("Data-subject request status changed")
    BREACH_NOTIFIED = "breach.notified", _("Breach notified")
    TERMS_PUBLISHED = "terms.published", _("Terms published")


class WebhookEndpoint(models.Model):
    """An HTTPS address of the client's, the events posted to it and the secret that signs them.

    Rotating the secret keeps the previous one for a day (`previous_secret_until`): deliveries
    carry both signatures meanwhile, so the receiver can switch without losing a message.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("endpoint URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(max_length=64, default=callback_secret_new, editable=False)
    previous_secret = models.CharField(max_length=64, blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["secret", "previous_secret"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [
            models.Index(fields=["client", "-created_at", "-id"], name="webhook_ep_client_keyset")
        ]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: dt.datetime | None = None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one
        while its day of grace after a rotation lasts."""
        moment = now or timezone.now()
        secrets = [self.secret]
        grace = self.previous_secret_until
        if self.previous_secret and grace is not None and grace > moment:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One event posted to one endpoint: sent after commit by Celery, retried with exponential
    back-off for a day, logged for the client with each attempt's answer."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The Standard Webhooks `webhook-id`: the same on every attempt and on "send again", so the
    # receiver can drop a repeat.
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint"
            )
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_dl_ep_keyset"),
            # the retry job's scan: what is pending and due, oldest first
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_dl_pending_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

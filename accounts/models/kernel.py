"""The kernel's tables: the notification outbox and stored idempotent requests."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .clients import Client


class Notification(models.Model):
    """Every email the portal sends, recorded once under a key, so a job that runs twice sends once."""

    key = models.CharField(max_length=200, unique=True)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    recipients = models.JSONField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The outbox's bookkeeping (accounts.kernel.notifications): a send claims the row until
    # `claimed_until`, counts its attempt, and records the last failure.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # the resend job's scan: unsent rows, oldest first
            models.Index(
                fields=["created_at", "id"],
                name="notification_unsent_idx",
                condition=models.Q(sent_at=None),
            )
        ]

    def __str__(self) -> str:
        return self.key


# --- Agreements and terms ------------------------------------------------------------------
class IdempotentRequest(models.Model):
    """The first answer to a money-moving API call, replayed for the same `Idempotency-Key` (DESIGN.md)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="one_answer_per_idempotency_key",
                violation_error_message="This Idempotency-Key was already used.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

"""The kernel's tables: the notification outbox and stored idempotent requests."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .clients import Client


class Notification(models.Model):
    """Every email the portal sends, recorded once under a key, so a job that runs twice sends once."""

    key = models.CharField(verbose_name=_("key"), max_length=200, unique=True)
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    recipients = models.JSONField(verbose_name=_("recipients"))
    subject = models.CharField(verbose_name=_("subject"), max_length=300)
    body = models.TextField(verbose_name=_("body"))
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(verbose_name=_("sent at"), null=True, blank=True)
    # The outbox's bookkeeping (accounts.kernel.notifications): a send claims the row until
    # `claimed_until`, counts its attempt, and records the last failure.
    claimed_until = models.DateTimeField(verbose_name=_("claimed until"), null=True, blank=True)
    attempts = models.PositiveIntegerField(verbose_name=_("attempts"), default=0)
    last_error = models.CharField(
        verbose_name=_("last error"), max_length=500, blank=True, default=""
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(verbose_name=_("key"), max_length=200)
    method = models.CharField(verbose_name=_("method"), max_length=8)
    path = models.CharField(verbose_name=_("path"), max_length=300)
    body_hash = models.CharField(verbose_name=_("body hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(verbose_name=_("status code"), null=True)
    response_body = models.JSONField(verbose_name=_("response body"), null=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="one_answer_per_idempotency_key",
                violation_error_message=_("This Idempotency-Key was already used."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

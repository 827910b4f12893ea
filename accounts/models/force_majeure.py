"""Force majeure (art. 14; CX 14) and the termination right it opens (art. 15.5(b))."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .clients import Client
from .providers import Provider


class ForceMajeure(models.Model):
    """A situation of force majeure that prevents the provider from meeting its obligations
    (art. 14.1). Each affected client is due a notice within 10 working days following the day
    it arose (art. 14.2); lasting longer than 20 working days, either party may terminate with
    immediate effect (art. 15.5(b))."""

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="force_majeure_situations",
    )
    started_at = models.DateTimeField(
        verbose_name=_("started at"), help_text=_("when the situation of force majeure arose")
    )
    description = models.TextField(verbose_name=_("description"))
    services_affected = models.TextField(verbose_name=_("services affected"))
    ended_at = models.DateTimeField(verbose_name=_("ended at"), null=True, blank=True)
    termination_right_from = models.DateTimeField(
        verbose_name=_("termination right from"),
        help_text=_("the moment it has lasted longer than 20 working days (art. 15.5(b))"),
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    logged_at = models.DateTimeField(verbose_name=_("logged at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = _("force majeure situations")
        ordering = ["-started_at", "-pk"]
        verbose_name = "force-majeure situation"
        indexes = [
            models.Index(fields=["provider", "-started_at", "-id"], name="fm_provider_keyset")
        ]

    def __str__(self) -> str:
        return f"Force majeure #{self.pk}"

    def termination_right_open(self, now: dt.datetime | None = None) -> bool:
        """Art. 15.5(b): the situation has lasted longer than 20 working days (and had not ended
        before)."""
        now = now or timezone.now()
        if now < self.termination_right_from:
            return False
        return self.ended_at is None or self.ended_at > self.termination_right_from


class ForceMajeureNotice(models.Model):
    """One affected client's notice, due within 10 working days following the day the situation
    arose (art. 14.2)."""

    situation = models.ForeignKey(
        ForceMajeure, verbose_name=_("situation"), on_delete=models.PROTECT, related_name="notices"
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="force_majeure_notices",
    )
    deadline = models.DateTimeField(verbose_name=_("deadline"))
    notified_at = models.DateTimeField(verbose_name=_("notified at"), null=True, blank=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("notified by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    message = models.TextField(verbose_name=_("message"), blank=True)
    escalated_near_at = models.DateTimeField(
        verbose_name=_("escalated near at"), null=True, blank=True
    )
    escalated_missed_at = models.DateTimeField(
        verbose_name=_("escalated missed at"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("force majeure notice")
        verbose_name_plural = _("force majeure notices")
        ordering = ["deadline", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["situation", "client"],
                name="one_force_majeure_notice_per_client",
                violation_error_message=_("This client is already listed as affected."),
            )
        ]
        indexes = [
            models.Index(fields=["client", "-id"], name="fm_notice_client_keyset"),
            models.Index(
                fields=["deadline"],
                name="fm_notice_pending",
                condition=models.Q(notified_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"Force-majeure notice #{self.pk}"

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        """Time left to notify the client (art. 14.2), negative once missed, None once sent."""
        if self.notified_at:
            return None
        return (self.deadline - (now or timezone.now())).total_seconds()

"""Alerts a client admin sets for itself, beyond the contract's 75 % notice (art. 26.1).

Each alert fires once per crossing (by email, webhook or both) and re-arms when the measure is
back on the safe side, like the 75 % notice does.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Client

from .prepaid import money_field


class ClientAlert(models.Model):
    class Kind(models.TextChoices):
        BALANCE_BELOW = "balance_below", _("Usable balance below an amount")
        USAGE_ABOVE = "usage_above", _("Usage above a share of the message limit")
        CREDIT_EXPIRING = "credit_expiring", _("Credit expiring within some days")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("alert"), max_length=20, choices=Kind.choices)
    amount = money_field(verbose_name=_("amount"), null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    share_pct = models.PositiveSmallIntegerField(_("share of the limit (%)"), null=True, blank=True)
    within_days = models.PositiveSmallIntegerField(_("within days"), null=True, blank=True)
    by_email = models.BooleanField(_("by email"), default=True)
    by_webhook = models.BooleanField(_("by webhook"), default=False)
    is_active = models.BooleanField(default=True)
    # True from the crossing that fired until the measure is back on the safe side.
    crossed = models.BooleanField(default=False)
    times_fired = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["client", "-created_at", "-id"], name="alert_client_keyset"),
            models.Index(
                fields=["id"], name="alert_active_idx", condition=models.Q(is_active=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.client})"

"""A user's secret, revocable iCalendar feed URL (issue 15 §7)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def feed_token_new() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """The token in a user's feed URL. Resetting it makes a new one; the old URL stops at once.
    The feed shows what the user may see in the portal, no more."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=feed_token_new, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"

"""Retention of the personal data billing holds (art. 23): recipients in usage records."""

import datetime as dt

from django.db import transaction

from accounts.models import Provider
from billing.models import UsageRecord


def usage_recipients_anonymise(
    *, provider: Provider, before: dt.datetime, batch_size: int = 10_000
) -> int:
    """Blank the recipient number of usage records older than `before` (art. 23), irreversibly.

    The financial content of each record (count, amount, channel, time) stays. Set-based in
    bounded batches; running it twice changes nothing the second time.
    """
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                UsageRecord.objects.filter(client__provider=provider, occurred_at__lt=before)
                .exclude(recipient="")
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return done
            done += UsageRecord.objects.filter(pk__in=ids).update(recipient="")

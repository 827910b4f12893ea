"""Retention and anonymisation (art. 23): each provider keeps a period per category of personal
data; past it the data is irreversibly de-identified. Categories held by other apps (usage
records' recipient numbers, deleted accounts' contacts) are anonymised by the composing layer
with `retention_cutoff` (portal/retention.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Provider
from dataprocessing.models import DataSubjectRequest, RetentionPolicy

ANONYMISED = "[anonymised]"


def retention_cutoff(
    *, provider: Provider, category: str, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Data of `category` from before this moment is past its retention period and must be
    anonymised (art. 23). None when the provider has no period for the category (keep)."""
    if category not in RetentionPolicy.Category.values:
        raise ValueError(f"unknown retention category {category!r}")
    period = (
        RetentionPolicy.objects.filter(provider=provider, category=category)
        .values_list("period_days", flat=True)
        .first()
    )
    if period is None:
        return None
    return (now or timezone.now()).astimezone(dt.UTC) - dt.timedelta(days=period)


def _anonymise_closed_before(
    provider: Provider, cutoff: dt.datetime, now: dt.datetime, batch_size: int
) -> int:
    history = DataSubjectRequest.history.model
    anonymised = 0
    while True:
        with transaction.atomic():
            ids = list(
                DataSubjectRequest.objects.filter(
                    client__provider=provider,
                    status__in=DataSubjectRequest.CLOSED_STATUSES,
                    completed_at__lt=cutoff,
                    anonymised_at=None,
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return anonymised
            DataSubjectRequest.objects.filter(pk__in=ids, anonymised_at=None).update(
                subject_reference=ANONYMISED, anonymised_at=now
            )
            history.objects.filter(id__in=ids).update(subject_reference=ANONYMISED)
            anonymised += len(ids)


def dsr_references_anonymise(
    *, now: dt.datetime | None = None, batch_size: int = 1000
) -> dict[str, Any]:
    """Job: irreversibly replace the subject reference of DSRs closed longer ago than their
    provider's retention period, in the rows and in their history (art. 23: "de-identify ...
    into anonymized data ... no unique identifiers"). Set-based; running it twice changes nothing
    the second time. The request itself (type, dates, costs) stays for the record."""
    now = now or timezone.now()
    anonymised = 0
    for provider in Provider.objects.order_by("pk"):
        cutoff = retention_cutoff(
            provider=provider, category=RetentionPolicy.Category.DSR_SUBJECT_REFERENCES, now=now
        )
        if cutoff is not None:
            anonymised += _anonymise_closed_before(provider, cutoff, now, batch_size)
    return {"anonymised": anonymised}

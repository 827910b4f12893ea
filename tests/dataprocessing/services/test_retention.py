"""Retention and anonymisation (art. 23): a period per category, references anonymised irreversibly."""

import datetime as dt

import pytest
from django.utils import timezone

from dataprocessing.models import DataSubjectRequest, RetentionPolicy
from dataprocessing.services import dsrs, retention
from tests.dataprocessing.factories import DataSubjectRequestFactory


def test_every_provider_has_a_seeded_retention_period_per_category(cm, cx):
    for provider in (cm, cx):
        periods = dict(
            RetentionPolicy.objects.filter(provider=provider).values_list("category", "period_days")
        )
        assert periods == {
            "usage_recipients": 180,
            "dsr_subject_references": 1095,
            "deleted_account_contacts": 30,
        }


def test_the_retention_cutoff_is_the_period_before_now(cm):
    now = timezone.now()
    assert retention.retention_cutoff(
        provider=cm, category="usage_recipients", now=now
    ) == now - dt.timedelta(days=180)
    RetentionPolicy.objects.filter(provider=cm, category="usage_recipients").delete()
    assert retention.retention_cutoff(provider=cm, category="usage_recipients", now=now) is None
    with pytest.raises(ValueError):
        retention.retention_cutoff(provider=cm, category="nope")


def test_subject_references_past_retention_are_anonymised_irreversibly_in_rows_and_history(
    client_company, client_admin, compliance_officer
):
    old = dsrs.dsr_receive(
        client=client_company,
        type="erasure",
        received_by="client",
        subject_reference="+8613800000001",
        acting_user=client_admin,
    )
    dsrs.dsr_cancel(dsr=old, acting_user=client_admin)
    recent = DataSubjectRequestFactory(
        client=client_company, status="completed", completed_at=timezone.now()
    )
    open_one = DataSubjectRequestFactory(
        client=client_company, received_at=timezone.now() - dt.timedelta(days=2000)
    )
    now = timezone.now()
    DataSubjectRequest.objects.filter(pk=old.pk).update(completed_at=now - dt.timedelta(days=1096))
    assert retention.dsr_references_anonymise(now=now) == {"anonymised": 1}
    old.refresh_from_db()
    assert old.subject_reference == retention.ANONYMISED and old.anonymised_at == now
    assert set(old.history.values_list("subject_reference", flat=True)) == {retention.ANONYMISED}
    assert not DataSubjectRequest.history.filter(subject_reference="+8613800000001").exists()
    # the rest of the request stays for the record
    assert (old.type, old.status) == ("erasure", "cancelled")
    for other in (recent, open_one):
        other.refresh_from_db()
        assert other.subject_reference != retention.ANONYMISED
    # running it again changes nothing
    assert retention.dsr_references_anonymise(now=now + dt.timedelta(hours=1)) == {"anonymised": 0}
    old.refresh_from_db()
    assert old.anonymised_at == now


def test_a_request_closed_just_within_the_period_is_kept(client_company):
    now = timezone.now()
    dsr = DataSubjectRequestFactory(
        client=client_company,
        status="completed",
        completed_at=now - dt.timedelta(days=1095) + dt.timedelta(seconds=1),
    )
    assert retention.dsr_references_anonymise(now=now) == {"anonymised": 0}
    dsr.refresh_from_db()
    assert dsr.anonymised_at is None


def test_anonymisation_works_in_bounded_batches(client_company):
    now = timezone.now()
    for _ in range(5):
        DataSubjectRequestFactory(
            client=client_company, status="completed", completed_at=now - dt.timedelta(days=2000)
        )
    assert retention.dsr_references_anonymise(now=now, batch_size=2) == {"anonymised": 5}
    assert not DataSubjectRequest.objects.exclude(subject_reference=retention.ANONYMISED).exists()

"""Records of processing (art. 21.8, 24), retention and anonymisation (art. 23), assistance (art. 21.6)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from dataprocessing import selectors, services
from dataprocessing.models import (
    AssistanceRequest,
    DataSubjectRequest,
    ProcessingRecord,
    RetentionPolicy,
)

from .factories import DataSubjectRequestFactory, SubProcessorFactory


# --- records of processing ---------------------------------------------------------------------
def save_record(client, user, **kw):
    data = services.processing_record_defaults(client=client) | {
        "transfers": "SMS routes via US carrier (SCC)"
    }
    data.update(kw)
    return services.processing_record_save(client=client, acting_user=user, **data)


def test_the_record_is_kept_per_client_with_history(client_company, compliance_officer):
    record = save_record(client_company, compliance_officer)
    save_record(client_company, compliance_officer, purposes="Provision of the services")
    assert (
        ProcessingRecord.objects.get(client=client_company).purposes == "Provision of the services"
    )
    assert record.history.count() == 2
    assert record.history.first().history_user == compliance_officer


def test_an_incomplete_record_is_refused_naming_the_article(client_company, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        save_record(client_company, compliance_officer, subject_categories="", data_types=" ")
    assert exc.value.errors["subject_categories"] == [
        "This part of the record is required (art. 24.2)."
    ]
    assert "data_types" in exc.value.errors
    assert not ProcessingRecord.objects.exists()


def test_only_a_compliance_officer_keeps_the_record(client_company, client_admin):
    with pytest.raises(NotAllowed):
        save_record(client_company, client_admin)


def test_the_export_rows_carry_the_record_and_the_providers_current_sub_processors(
    cm, cx, client_company, compliance_officer
):
    save_record(client_company, compliance_officer)
    SubProcessorFactory(provider=cm, name="US Carrier", country="US", in_eea=False, safeguard="scc")
    SubProcessorFactory(provider=cm, name="Ended Carrier", active_to=dt.date(2025, 3, 1))
    SubProcessorFactory(provider=cx, name="Dutch Carrier", country="NL")
    rows = selectors.processing_record_export_rows(client=client_company)
    sections = {row[0] for row in rows}
    assert {
        "Categories of data subjects (24.2)",
        "Types of personal data (24.3)",
        "Purposes of processing (24.4)",
        "Transfers outside the EEA (21.10)",
        "Retention (23)",
    } <= sections
    sub_rows = [row for row in rows if row[0] == "Sub-processor (21.9)"]
    assert [row[1] for row in sub_rows] == ["US Carrier"]
    assert "safeguard: Standard contractual clauses" in sub_rows[0][2]
    assert all(isinstance(cell, str) for row in rows for cell in row)


def test_the_csv_export_has_a_header_and_neutralises_formulas(client_company, compliance_officer):
    save_record(client_company, compliance_officer, purposes='=HYPERLINK("http://evil")')
    text = selectors.processing_record_csv(client=client_company)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "item", "detail"]
    purposes = next(row for row in rows if row[0].startswith("Purposes"))
    assert purposes[2].startswith("'=")


# --- retention -------------------------------------------------------------------------------------
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
    assert services.retention_cutoff(
        provider=cm, category="usage_recipients", now=now
    ) == now - dt.timedelta(days=180)
    RetentionPolicy.objects.filter(provider=cm, category="usage_recipients").delete()
    assert services.retention_cutoff(provider=cm, category="usage_recipients", now=now) is None
    with pytest.raises(ValueError):
        services.retention_cutoff(provider=cm, category="nope")


def test_subject_references_past_retention_are_anonymised_irreversibly_in_rows_and_history(
    client_company, client_admin, compliance_officer
):
    old = services.dsr_receive(
        client=client_company,
        type="erasure",
        received_by="client",
        subject_reference="+8613800000001",
        acting_user=client_admin,
    )
    services.dsr_cancel(dsr=old, acting_user=client_admin)
    recent = DataSubjectRequestFactory(
        client=client_company, status="completed", completed_at=timezone.now()
    )
    open_one = DataSubjectRequestFactory(
        client=client_company, received_at=timezone.now() - dt.timedelta(days=2000)
    )
    now = timezone.now()
    DataSubjectRequest.objects.filter(pk=old.pk).update(completed_at=now - dt.timedelta(days=1096))
    assert services.dsr_references_anonymise(now=now) == {"anonymised": 1}
    old.refresh_from_db()
    assert old.subject_reference == services.ANONYMISED and old.anonymised_at == now
    assert set(old.history.values_list("subject_reference", flat=True)) == {services.ANONYMISED}
    assert not DataSubjectRequest.history.filter(subject_reference="+8613800000001").exists()
    # the rest of the request stays for the record
    assert (old.type, old.status) == ("erasure", "cancelled")
    for other in (recent, open_one):
        other.refresh_from_db()
        assert other.subject_reference != services.ANONYMISED
    # running it again changes nothing
    assert services.dsr_references_anonymise(now=now + dt.timedelta(hours=1)) == {"anonymised": 0}
    old.refresh_from_db()
    assert old.anonymised_at == now


def test_a_request_closed_just_within_the_period_is_kept(client_company):
    now = timezone.now()
    dsr = DataSubjectRequestFactory(
        client=client_company,
        status="completed",
        completed_at=now - dt.timedelta(days=1095) + dt.timedelta(seconds=1),
    )
    assert services.dsr_references_anonymise(now=now) == {"anonymised": 0}
    dsr.refresh_from_db()
    assert dsr.anonymised_at is None


def test_anonymisation_works_in_bounded_batches(client_company):
    now = timezone.now()
    for _ in range(5):
        DataSubjectRequestFactory(
            client=client_company, status="completed", completed_at=now - dt.timedelta(days=2000)
        )
    assert services.dsr_references_anonymise(now=now, batch_size=2) == {"anonymised": 5}
    assert not DataSubjectRequest.objects.exclude(subject_reference=services.ANONYMISED).exists()


# --- assistance ---------------------------------------------------------------------------------
def test_an_assistance_request_is_logged_and_tracked_to_completion_with_its_cost(
    client_company, client_admin, compliance_officer
):
    request = services.assistance_request_log(
        client=client_company,
        kind="dpia",
        description="DPIA for a new campaign",
        acting_user=client_admin,
    )
    assert request.status == "open" and request.assistance_cost_currency == "CNY"
    services.assistance_request_update(
        assistance_request=request, acting_user=compliance_officer, status="in_progress"
    )
    with pytest.raises(ValidationFailed) as exc:
        services.assistance_request_update(
            assistance_request=request, acting_user=compliance_officer, status="completed"
        )
    assert exc.value.field == "outcome"
    services.assistance_request_update(
        assistance_request=request,
        acting_user=compliance_officer,
        status="completed",
        outcome="Questionnaire answered",
        cost="200",
    )
    request.refresh_from_db()
    assert (request.status, request.assistance_cost) == ("completed", Decimal("200.00"))
    with pytest.raises(ApplicationError):
        services.assistance_request_update(
            assistance_request=request, acting_user=compliance_officer, outcome="more"
        )
    assert request.history.count() == 3


def test_an_assistance_request_needs_a_known_kind_and_a_description(
    client_company, client_admin, other_admin
):
    with pytest.raises(ValidationFailed) as exc:
        services.assistance_request_log(
            client=client_company, kind="lunch", description="", acting_user=client_admin
        )
    assert set(exc.value.errors) == {"kind", "description"}
    with pytest.raises(NotAllowed):
        services.assistance_request_log(
            client=client_company,
            kind="prior_consultation",
            description="x",
            acting_user=other_admin,
        )
    assert not AssistanceRequest.objects.exists()


def test_a_client_cannot_update_its_assistance_request(client_company, client_admin):
    request = services.assistance_request_log(
        client=client_company, kind="prior_consultation", description="x", acting_user=client_admin
    )
    with pytest.raises(NotAllowed):
        services.assistance_request_update(
            assistance_request=request, acting_user=client_admin, status="completed"
        )

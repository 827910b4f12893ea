"""Records of processing (art. 21.8, 24): one per client with history, complete, exported."""

import csv
import datetime as dt
import io

import pytest

from accounts.kernel.errors import NotAllowed, ValidationFailed
from dataprocessing import selectors
from dataprocessing.models import ProcessingRecord
from dataprocessing.services import records
from tests.dataprocessing.factories import SubProcessorFactory


def save_record(client, user, **kw):
    data = records.processing_record_defaults(client=client) | {
        "transfers": "SMS routes via US carrier (SCC)"
    }
    data.update(kw)
    return records.processing_record_save(client=client, acting_user=user, **data)


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

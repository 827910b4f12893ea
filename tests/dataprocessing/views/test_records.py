"""The data-processing pages (issue 5, section 8): records of processing, with CSV and PDF."""

import pytest

from dataprocessing.models import ProcessingRecord
from tests.accounts.factories import ClientFactory, ComplianceOfficerFactory
from tests.dataprocessing.factories import keep_record, register_sub_processor
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_a_record_is_exported_as_csv_and_pdf(as_user, compliance_officer, client_company, cm):
    keep_record(client_company, compliance_officer)
    register_sub_processor(
        cm, compliance_officer, name="深圳云服务有限公司", country="CN", safeguard="scc"
    )
    c = as_user(compliance_officer)

    csv_response = c.get(url("record_csv", client_company.pk))
    pdf_response = c.get(url("record_pdf", client_company.pk))

    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert "深圳云服务有限公司" in csv_response.getvalue().decode()
    assert pdf_response.status_code == 200
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response.content.startswith(b"%PDF")


def test_a_compliance_officer_keeps_a_record_from_the_page(
    as_user, compliance_officer, client_company
):
    data = {
        "subject_categories": "Customers",
        "data_types": "Phone numbers",
        "purposes": "Messaging",
        "transfers": "",
        "retention": "",
        "toms_reference": "art. 21.2",
    }
    c = as_user(compliance_officer)

    refused = c.post(url("record_detail", client_company.pk), data)
    data["retention"] = "90 days"
    saved = c.post(url("record_detail", client_company.pk), data)

    assert refused.status_code == 400
    assert saved.status_code == 302
    assert client_company.processing_record.retention == "90 days"


def test_a_client_user_sees_its_own_record_but_may_not_edit(
    as_user, client_viewer, compliance_officer, client_company
):
    keep_record(client_company, compliance_officer)
    c = as_user(client_viewer)

    assert c.get(url("records")).url == url("record_detail", client_company.pk)
    assert c.get(url("record_detail", client_company.pk)).status_code == 200
    assert c.post(url("record_detail", client_company.pk), {}).status_code == 403


# --- Creating a missing record from the list (issue 15 §5) ----------------------------------
def test_the_officer_creates_a_missing_record_from_the_list(
    as_user, compliance_officer, client_company
):
    c = as_user(compliance_officer)
    page = c.get(url("records")).content.decode()
    assert 'data-testid="record-create"' in page and 'name="create-client"' in page

    response = c.post(url("records"), {"create-client": str(client_company.pk)})

    assert response.status_code == 302
    assert response.url == url("record_detail", client_company.pk)
    record = client_company.processing_record
    assert "art. 24.2" in record.subject_categories and record.retention
    assert record.toms_reference == "art. 21.2"


def test_a_client_with_a_record_is_refused_on_the_client_field(
    as_user, compliance_officer, client_company
):
    keep_record(client_company, compliance_officer)
    before = client_company.processing_record.history.count()
    response = as_user(compliance_officer).post(
        url("records"), {"create-client": str(client_company.pk)}
    )
    assert response.status_code == 400
    form = response.context["create_form"]
    assert "has a record of processing already" in " ".join(form.errors["client"])
    assert "has a record of processing already" in response.content.decode()
    assert ProcessingRecord.objects.get(client=client_company).history.count() == before


def test_only_a_compliance_officer_creates_a_record(
    as_user, billing_staff, client_viewer, client_company
):
    staff = as_user(billing_staff)
    assert 'data-testid="record-create"' not in staff.get(url("records")).content.decode()
    assert staff.post(url("records"), {"create-client": str(client_company.pk)}).status_code == 403
    as_user(client_viewer).post(url("records"), {"create-client": str(client_company.pk)})
    assert not ProcessingRecord.objects.filter(client=client_company).exists()


def test_another_providers_client_is_not_among_the_choices(as_user, cm, cx):
    officer = ComplianceOfficerFactory(providers=[cm])
    stranger = ClientFactory(provider=cx)
    response = as_user(officer).post(url("records"), {"create-client": str(stranger.pk)})
    assert response.status_code == 400
    assert "No client with this number or name" in " ".join(
        response.context["create_form"].errors["client"]
    )
    assert not ProcessingRecord.objects.filter(client=stranger).exists()

"""The data-processing pages (issue 5, section 8): records of processing, with CSV and PDF."""

import pytest

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

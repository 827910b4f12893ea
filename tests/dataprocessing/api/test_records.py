"""The data-processing API (issue 5, section 8): records of processing and their CSV export."""

import pytest

from tests.dataprocessing.factories import register_sub_processor

pytestmark = pytest.mark.django_db


def test_a_compliance_officer_keeps_a_record_and_exports_it_as_csv(
    api, compliance_officer, client_admin, client_company, cm
):
    register_sub_processor(
        cm, compliance_officer, name="深圳云服务有限公司", country="CN", safeguard="scc"
    )
    saved = api(compliance_officer).post(
        "/api/v1/processing-records/",
        {
            "client": client_company.pk,
            "subject_categories": "Customers",
            "data_types": "Phone numbers",
            "purposes": "Messaging",
            "retention": "90 days",
            "toms_reference": "art. 21.2",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.data

    csv_response = api(client_admin).get(f"/api/v1/processing-records/{saved.data['id']}/csv/")

    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    text = csv_response.getvalue().decode()
    assert text.splitlines()[0] == "section,item,detail"
    assert "Phone numbers" in text and "深圳云服务有限公司" in text


def test_clients_may_not_write_records(api, client_admin, client_company):
    response = api(client_admin).post(
        "/api/v1/processing-records/", {"client": client_company.pk}, format="json"
    )

    assert response.status_code == 403

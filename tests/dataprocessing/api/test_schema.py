"""The data-processing API (issue 5, section 8): the endpoints in the OpenAPI schema."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


DP_PATHS = [
    "/api/v1/sub-processors/",
    "/api/v1/sub-processor-changes/{id}/object/",
    "/api/v1/audit-requests/{id}/confidentiality/",
    "/api/v1/data-subject-requests/{id}/record-action/",
    "/api/v1/opendsr/requests/",
    "/api/v1/opendsr/requests/{subject_request_id}/",
    "/api/v1/breaches/{id}/notify/",
    "/api/v1/breach-notices/",
    "/api/v1/processing-records/{id}/csv/",
    "/api/v1/assistance-requests/",
]


def test_the_data_processing_endpoints_are_in_the_schema_and_it_is_valid(api, client_admin):
    response = api(client_admin).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert not [p for p in DP_PATHS if p not in paths]

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(
        patterns=[path("api/v1/", include("dataprocessing.api.urls"))]
    ).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._error_cache
    upload = schema["paths"]["/api/v1/audit-requests/{id}/confidentiality/"]["post"]["requestBody"][
        "content"
    ]
    assert "multipart/form-data" in upload

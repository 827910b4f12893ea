"""The OpenAPI schema is generated for every app and validates without a warning."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_validates_without_warnings_and_names_every_resource(tmp_path):
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=StringIO()
    )
    paths = yaml.safe_load(target.read_text())["paths"]
    for resource in (
        "clients",
        "usage",
        "limit-increase-requests",
        "credit-lots",
        "sub-processors",
        "audit-requests",
        "data-subject-requests",
        "breaches",
        "force-majeure",
        "force-majeure-notices",
        "loss-claims",
    ):
        assert any(path.startswith(f"/api/v1/{resource}/") for path in paths), resource

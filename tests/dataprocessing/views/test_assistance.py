"""The data-processing pages (issue 5, section 8): assistance requests."""

import pytest

from dataprocessing.models import AssistanceRequest
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_a_client_asks_for_assistance_and_staff_complete_it(
    as_user, client_admin, compliance_officer
):
    created = as_user(client_admin).post(
        url("assistance"), {"kind": "dpia", "description": "Help with a DPIA"}
    )
    assert created.status_code == 302

    request = AssistanceRequest.objects.get()
    done = as_user(compliance_officer).post(
        url("assistance_detail", request.pk),
        {"status": "completed", "outcome": "Sent our DPIA input", "cost": "50"},
    )

    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == "completed"

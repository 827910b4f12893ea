"""Assistance requests (art. 21.6): logged by the client, tracked to completion with their cost."""

from decimal import Decimal

import pytest

from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from dataprocessing.models import AssistanceRequest
from dataprocessing.services import assistance


def test_an_assistance_request_is_logged_and_tracked_to_completion_with_its_cost(
    client_company, client_admin, compliance_officer
):
    request = assistance.assistance_request_log(
        client=client_company,
        kind="dpia",
        description="DPIA for a new campaign",
        acting_user=client_admin,
    )
    assert request.status == "open" and request.assistance_cost_currency == "CNY"
    assistance.assistance_request_update(
        assistance_request=request, acting_user=compliance_officer, status="in_progress"
    )
    with pytest.raises(ValidationFailed) as exc:
        assistance.assistance_request_update(
            assistance_request=request, acting_user=compliance_officer, status="completed"
        )
    assert exc.value.field == "outcome"
    assistance.assistance_request_update(
        assistance_request=request,
        acting_user=compliance_officer,
        status="completed",
        outcome="Questionnaire answered",
        cost="200",
    )
    request.refresh_from_db()
    assert (request.status, request.assistance_cost) == ("completed", Decimal("200.00"))
    with pytest.raises(ApplicationError) as closed:
        assistance.assistance_request_update(
            assistance_request=request, acting_user=compliance_officer, outcome="more"
        )
    assert closed.value.field == "status" and "completed" in closed.value.message
    assert request.history.count() == 3


def test_an_assistance_request_needs_a_known_kind_and_a_description(
    client_company, client_admin, other_admin
):
    with pytest.raises(ValidationFailed) as exc:
        assistance.assistance_request_log(
            client=client_company, kind="lunch", description="", acting_user=client_admin
        )
    assert set(exc.value.errors) == {"kind", "description"}
    with pytest.raises(NotAllowed):
        assistance.assistance_request_log(
            client=client_company,
            kind="prior_consultation",
            description="x",
            acting_user=other_admin,
        )
    assert not AssistanceRequest.objects.exists()


def test_a_client_cannot_update_its_assistance_request(client_company, client_admin):
    request = assistance.assistance_request_log(
        client=client_company, kind="prior_consultation", description="x", acting_user=client_admin
    )
    with pytest.raises(NotAllowed):
        assistance.assistance_request_update(
            assistance_request=request, acting_user=client_admin, status="completed"
        )

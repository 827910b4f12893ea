"""The data-processing pages (issue 5, section 8): data-subject requests."""

import pytest

from dataprocessing.models import DataSubjectRequest
from tests.dataprocessing.factories import receive_dsr
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_a_compliance_officer_logs_a_dsr_and_the_client_instructs(
    as_user, compliance_officer, client_admin, client_company, mailoutbox
):
    response = as_user(compliance_officer).post(
        url("dsrs"),
        {"client": client_company.pk, "type": "erasure", "subject_reference": "+8613800000001"},
    )
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.received_by == "provider" and request.logged_by == compliance_officer

    instructed = as_user(client_admin).post(
        url("dsr_action", request.pk, "instruct"), {"instruct-instruction": "delete"}
    )

    assert instructed.status_code == 302
    request.refresh_from_db()
    assert request.status == "in_progress" and request.instruction == "delete"


def test_a_client_files_a_dsr_for_itself_only(as_user, client_admin):
    response = as_user(client_admin).post(
        url("dsrs"), {"type": "access", "subject_reference": "cust-7"}
    )

    assert response.status_code == 302
    assert DataSubjectRequest.objects.get().client == client_admin.client


def test_a_client_admin_may_not_record_the_providers_action(
    as_user, client_admin, compliance_officer, client_company
):
    request = receive_dsr(client_company, compliance_officer)

    response = as_user(client_admin).post(
        url("dsr_action", request.pk, "record-action"), {"record_action-action_taken": "x"}
    )

    assert response.status_code == 403


def test_an_unknown_action_is_404(as_user, compliance_officer, client_company):
    request = receive_dsr(client_company, compliance_officer)

    assert (
        as_user(compliance_officer).post(url("dsr_action", request.pk, "explode")).status_code
        == 404
    )

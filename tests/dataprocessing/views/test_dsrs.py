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


def test_the_client_admin_sees_its_callback_secret_and_rotates_it(
    as_user, client_admin, client_company, other_company
):
    page = as_user(client_admin).get(url("dsrs"))
    assert client_company.callback_secret in page.content.decode()
    assert other_company.callback_secret not in page.content.decode()
    old = client_company.callback_secret

    response = as_user(client_admin).post(url("dsr_callback_secret_rotate"))

    assert response.status_code == 302
    client_company.refresh_from_db()
    assert client_company.callback_secret != old
    assert client_company.callback_secret in as_user(client_admin).get(url("dsrs")).content.decode()


@pytest.mark.parametrize("who", ["client_viewer", "compliance_officer"])
def test_no_one_but_the_client_admin_sees_or_rotates_the_callback_secret(
    request, as_user, client_company, who
):
    user = request.getfixturevalue(who)
    before = client_company.callback_secret
    assert before not in as_user(user).get(url("dsrs")).content.decode()
    response = as_user(user).post(url("dsr_callback_secret_rotate"))
    assert response.status_code in (403, 404)
    client_company.refresh_from_db()
    assert client_company.callback_secret == before

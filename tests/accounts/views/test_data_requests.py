"""Pages: data requests (art. 5.6): the client answers; staff log them."""

import pytest
from django.urls import reverse

from accounts.models import (
    DataRequest,
)
from accounts.services import data_requests

pytestmark = pytest.mark.django_db


# --- Data requests -------------------------------------------------------------------------
def test_client_sees_data_request_deadline_in_provider_time_and_answers(
    as_user, client_admin, billing_staff
):
    dr = data_requests.data_request_log(
        client=client_admin.client,
        acting_user=billing_staff,
        requested_by="MIIT",
        description="Director ID copies",
    )
    c = as_user(client_admin)
    body = c.get(reverse("data_requests")).content.decode()
    assert "MIIT" in body and "CST" in body  # Asia/Shanghai
    response = c.post(
        reverse("data_request_detail", args=[dr.pk]), {"answer": "Sent by registered mail"}
    )
    assert response.status_code == 302
    dr.refresh_from_db()
    assert dr.status == DataRequest.Status.ANSWERED


def test_viewer_cannot_answer_a_data_request(as_user, client_viewer, billing_staff):
    dr = data_requests.data_request_log(
        client=client_viewer.client, acting_user=billing_staff, requested_by="MIIT", description="x"
    )
    c = as_user(client_viewer)
    assert "Your answer" not in c.get(reverse("data_request_detail", args=[dr.pk])).content.decode()
    assert c.post(reverse("data_request_detail", args=[dr.pk]), {"answer": "x"}).status_code == 403


def test_another_clients_data_request_answers_404(
    as_user, other_admin, client_admin, billing_staff
):
    dr = data_requests.data_request_log(
        client=client_admin.client, acting_user=billing_staff, requested_by="MIIT", description="x"
    )
    c = as_user(other_admin)
    assert c.get(reverse("data_request_detail", args=[dr.pk])).status_code == 404
    assert "MIIT" not in c.get(reverse("data_requests")).content.decode()


def test_staff_log_a_data_request(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(
        reverse("client_data_request_log", args=[client_company.pk]),
        {
            "data_request-requested_by": "Operator X",
            "data_request-description": "Registration copy",
        },
    )
    assert DataRequest.objects.get(client=client_company).requested_by == "Operator X"

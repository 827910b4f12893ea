"""Pages of issue 13 §4 in accounts: the provider's consent-record and compliance-audit
requests (art. 5.4, 5.7, 20.1.2) sent from the client page, answered with documents, closed with
findings, overdue flagged to both sides; changes to the service requested in writing (art. 5.3)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ChangeRequest, DataRequest
from accounts.services import change_requests, data_requests

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _pdf(name="optins.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 opt-ins", content_type="application/pdf")


def test_staff_send_an_audit_from_the_client_page_and_the_client_answers_with_documents(
    as_user, compliance_officer, client_admin, client_viewer, other_admin
):
    client = client_admin.client
    sent = as_user(compliance_officer).post(
        reverse("client_provider_request_send", args=[client.pk]),
        {
            "provider_request-kind": "compliance_audit",
            "provider_request-description": "Show how consent is collected",
            "provider_request-scope": "SMS traffic of 2026",
            "provider_request-documents_requested": "Opt-in logs",
            "provider_request-working_days": "5",
        },
    )
    assert sent.status_code == 302
    dr = DataRequest.objects.get()
    assert (dr.kind, dr.response_working_days) == ("compliance_audit", 5)

    c = as_user(client_admin)
    page = c.get(reverse("data_request_detail", args=[dr.pk])).content.decode()
    assert "SMS traffic of 2026" in page and "Opt-in logs" in page and 'type="file"' in page
    answered = c.post(
        reverse("data_request_detail", args=[dr.pk]),
        {"answer": "Logs attached", "documents": [_pdf(), _pdf("notice.pdf")]},
    )
    assert answered.status_code == 302
    dr.refresh_from_db()
    assert dr.status == "answered" and dr.documents.count() == 2

    document = dr.documents.first()
    download = reverse("data_request_document", args=[dr.pk, document.pk])
    for user in (client_viewer, compliance_officer):
        got = as_user(user).get(download)
        assert got.status_code == 200
        assert got["Content-Type"] == "application/pdf"
        assert got["X-Content-Type-Options"] == "nosniff"
    assert as_user(other_admin).get(download).status_code == 404

    closed = as_user(compliance_officer).post(
        reverse("data_request_close", args=[dr.pk]), {"findings": "Consent is collected well"}
    )
    assert closed.status_code == 302
    dr.refresh_from_db()
    assert dr.status == "closed"
    assert (
        "Consent is collected well"
        in as_user(client_admin).get(reverse("data_request_detail", args=[dr.pk])).content.decode()
    )


def test_a_refused_request_shows_the_field_and_sends_nothing(
    as_user, compliance_officer, client_admin
):
    refused = as_user(compliance_officer).post(
        reverse("client_provider_request_send", args=[client_admin.client.pk]),
        {
            "provider_request-kind": "compliance_audit",
            "provider_request-description": "Audit",
            "provider_request-working_days": "5",
        },
    )
    assert refused.status_code == 400
    assert "scope" in refused.context["provider_request_form"].errors
    assert not DataRequest.objects.exists()


def test_an_overdue_consent_request_is_flagged_to_the_client_and_staff(
    as_user, compliance_officer, client_admin
):
    dr = data_requests.provider_request_send(
        client=client_admin.client,
        acting_user=compliance_officer,
        kind="consent_records",
        description="Opt-ins of campaign 42",
        working_days=1,
        now=dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC),
    )
    assert dr.is_overdue
    for user in (client_admin, compliance_officer):
        listed = as_user(user).get(
            reverse("data_requests"), {"overdue": "1", "kind": "consent_records"}
        )
        assert [r.pk for r in listed.context["requests"]] == [dr.pk]
        assert "Overdue" in listed.content.decode()


def test_a_client_admin_requests_a_change_to_the_service_and_staff_agree_it(
    as_user, client_admin, client_viewer, billing_staff
):
    c = as_user(client_admin)
    assert c.get(reverse("service_changes")).status_code == 200
    sent = c.post(
        reverse("service_changes"),
        {"service": "voice", "description": "Add inbound numbers in NL", "wanted_from": ""},
    )
    assert sent.status_code == 302
    cr = ChangeRequest.objects.get()
    assert (cr.kind, cr.service) == ("service", "voice")

    queue = as_user(billing_staff).get(reverse("change_requests"), {"kind": "service"})
    assert "Add inbound numbers in NL" in queue.content.decode()
    agreed = as_user(billing_staff).post(
        reverse("change_request_accept", args=[cr.pk]),
        {"note": "Two inbound numbers", "agreed_from": "2099-01-04"},
    )
    assert agreed.status_code == 302
    cr.refresh_from_db()
    assert (cr.status, cr.agreed_from) == ("accepted", dt.date(2099, 1, 4))
    mine = as_user(client_viewer).get(reverse("service_changes")).content.decode()
    assert "Two inbound numbers" in mine
    assert as_user(client_viewer).post(reverse("service_changes"), {}).status_code == 403


def test_a_refused_service_change_shows_the_field(as_user, client_admin):
    refused = as_user(client_admin).post(
        reverse("service_changes"), {"service": "sms", "description": " ", "wanted_from": ""}
    )
    assert refused.status_code == 400
    assert "description" in refused.context["form"].errors
    assert not ChangeRequest.objects.exists()


def test_the_company_page_lists_registration_changes_only(as_user, client_admin):
    change_requests.service_change_request_submit(
        client=client_admin.client, acting_user=client_admin, service="sms", description="Sender ID"
    )
    page = as_user(client_admin).get(reverse("company"))
    assert list(page.context["change_requests"]) == []

"""Uploaded documents (art. 21.7.3, 21.9.2): PDF, PNG or JPEG by content within the size limit,
stored outside the web root, and downloaded only by the parties."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.kernel.errors import ValidationFailed
from dataprocessing.models import AuditRequest
from dataprocessing.services import audits, sub_processors
from tests.dataprocessing.factories import register_sub_processor
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db

SIGNED = b"%PDF-1.4 signed declaration"
TERMS = {"scope": "SMS", "timing": "May", "duration_days": 2, "reimbursement_rate": "150.00"}
AUDITOR = {"auditor_name": "Jane", "auditor_accredited": True, "auditor_not_competitor": True}


@pytest.fixture
def agreed_audit(client_company, client_admin, compliance_officer):
    audit = audits.audit_request(
        client=client_company,
        kind="audit",
        proposed_start=timezone.localdate() + dt.timedelta(days=40),
        acting_user=client_admin,
        **AUDITOR,
    )
    audits.audit_agree(audit=audit, acting_user=client_admin, **TERMS)
    audits.audit_agree(audit=audit, acting_user=compliance_officer, **TERMS)
    return audit


@pytest.fixture
def declared(agreed_audit, client_admin):
    audits.audit_upload_confidentiality(
        audit=agreed_audit, file=SimpleUploadedFile("nda.pdf", SIGNED), acting_user=client_admin
    )
    agreed_audit.refresh_from_db()
    return agreed_audit


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- what is accepted ----------------------------------------------------------------------
def test_html_named_pdf_is_refused_naming_the_field_and_nothing_is_stored(
    settings, as_user, agreed_audit, client_admin
):
    page = as_user(client_admin).post(
        url("audit_action", agreed_audit.pk, "confidentiality"),
        {"confidentiality-file": SimpleUploadedFile("nda.pdf", b"<html><script>x</script>")},
    )
    assert page.status_code == 400
    assert "must be a PDF, PNG, JPEG file" in page.content.decode()
    agreed_audit.refresh_from_db()
    assert not agreed_audit.confidentiality_declaration
    assert _stored_files(settings) == []


def test_the_api_refuses_wrong_content_naming_the_field(api, agreed_audit, client_admin):
    response = api(client_admin).post(
        f"/api/v1/audit-requests/{agreed_audit.pk}/confidentiality/",
        {"file": SimpleUploadedFile("nda.pdf", b"GIF89a not a pdf")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "file"
    agreed_audit.refresh_from_db()
    assert not agreed_audit.confidentiality_declaration


def test_an_oversize_declaration_is_refused(settings, agreed_audit, client_admin):
    settings.PORTAL_UPLOAD_MAX_BYTES = 2048
    with pytest.raises(ValidationFailed) as refused:
        audits.audit_upload_confidentiality(
            audit=agreed_audit,
            file=SimpleUploadedFile("nda.pdf", b"%PDF-" + b"0" * 4096),
            acting_user=client_admin,
        )
    assert "at most 2,048 bytes" in refused.value.errors["file"][0]
    agreed_audit.refresh_from_db()
    assert not agreed_audit.confidentiality_declaration


def test_a_report_of_the_wrong_type_is_refused(declared, client_admin, compliance_officer):
    AuditRequest.objects.filter(pk=declared.pk).update(
        earliest_start=timezone.now() - dt.timedelta(days=1)
    )
    audits.audit_start(audit=declared, acting_user=compliance_officer)
    with pytest.raises(ValidationFailed) as refused:
        audits.audit_share_report(
            audit=declared,
            file=SimpleUploadedFile("report.pdf", b"PK\x03\x04 docx"),
            acting_user=client_admin,
        )
    assert "The report must be" in refused.value.errors["file"][0]
    declared.refresh_from_db()
    assert not declared.report and declared.status == "in_progress"


def test_a_sub_processor_agreement_of_the_wrong_type_is_refused(cm, compliance_officer):
    with pytest.raises(ValidationFailed) as refused:
        register_sub_processor(
            cm,
            compliance_officer,
            agreement_document=SimpleUploadedFile("dpa.pdf", b"<svg onload=alert(1)>"),
        )
    assert "agreement_document" in refused.value.errors
    sp = register_sub_processor(cm, compliance_officer)
    with pytest.raises(ValidationFailed) as refused:
        sub_processors.sub_processor_update(
            sub_processor=sp,
            acting_user=compliance_officer,
            agreement_document=SimpleUploadedFile("dpa.pdf", b"not a pdf"),
        )
    assert "agreement_document" in refused.value.errors


# --- who downloads -------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["client_admin", "client_viewer", "compliance_officer"])
def test_the_parties_download_the_declaration_as_an_attachment(request, as_user, declared, who):
    response = as_user(request.getfixturevalue(who)).get(
        url("audit_document", declared.pk, "confidentiality-declaration")
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SIGNED
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="nda.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("who", ["other_admin", "nl_admin"])
def test_another_clients_user_gets_404_on_the_download(request, as_user, declared, who):
    user = request.getfixturevalue(who)
    response = as_user(user).get(url("audit_document", declared.pk, "confidentiality-declaration"))
    assert response.status_code == 404


def test_a_document_not_uploaded_or_unknown_is_404(as_user, declared, client_admin):
    c = as_user(client_admin)
    assert c.get(url("audit_document", declared.pk, "report")).status_code == 404
    assert c.get(url("audit_document", declared.pk, "passwd")).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, declared):
    response = client.get(url("audit_document", declared.pk, "confidentiality-declaration"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_sub_processor_agreement_is_for_the_providers_staff_only(
    as_user, cm, compliance_officer, client_admin
):
    sp = register_sub_processor(
        cm,
        compliance_officer,
        agreement_document=SimpleUploadedFile("dpa.pdf", b"%PDF-1.5 dpa"),
    )
    staff = as_user(compliance_officer).get(url("sub_processor_document", sp.pk))
    assert staff.status_code == 200 and staff["Content-Disposition"].startswith("attachment")
    # the client sees the entry, not the provider's contract with its sub-processor
    assert as_user(client_admin).get(url("sub_processor_detail", sp.pk)).status_code == 200
    assert as_user(client_admin).get(url("sub_processor_document", sp.pk)).status_code == 404


# --- no public way to the files ------------------------------------------------------------
def test_the_file_is_not_reachable_under_media_or_static(as_user, declared, client_admin):
    name = declared.confidentiality_declaration.name
    assert (Path(django_settings.MEDIA_ROOT) / name).read_bytes() == SIGNED
    c = as_user(client_admin)
    for path in (f"/media/{name}", f"/static/{name}", f"/{name}", "/media/"):
        response = c.get(path)
        assert response.status_code == 404, path
        assert SIGNED not in response.content


def test_the_media_root_lies_outside_every_static_folder():
    media = Path(django_settings.MEDIA_ROOT).resolve()
    for public in (django_settings.STATIC_ROOT, *django_settings.STATICFILES_DIRS):
        public = Path(public).resolve()
        assert media != public and public not in media.parents

"""Uploaded documents: PDF, PNG or JPEG by content, within the size limit (kernel uploads)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.kernel.errors import ValidationFailed
from accounts.kernel.uploads import document_check

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


@pytest.mark.parametrize(
    ("name", "content", "stored_as", "content_type"),
    [
        ("nda.pdf", b"%PDF-1.7 signed", "nda.pdf", "application/pdf"),
        ("scan.png", PNG, "scan.png", "image/png"),
        ("scan.jpeg", JPEG, "scan.jpg", "image/jpeg"),
        # the type is what the content says; the stored name follows it
        ("scan.pdf", PNG, "scan.png", "image/png"),
        ("../../etc/passwd.pdf", b"%PDF-1.4", "passwd.pdf", "application/pdf"),
    ],
)
def test_an_accepted_type_is_recognised_by_its_content(name, content, stored_as, content_type):
    file = SimpleUploadedFile(name, content)
    kind = document_check(file, field="file")
    assert kind.content_type == content_type and file.name == stored_as


@pytest.mark.parametrize(
    "content",
    [
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04 a docx or any zip",
        b"MZ\x90\x00 an executable",
        b" %PDF-1.4 (not at the start)",
    ],
)
def test_other_content_named_pdf_is_refused_naming_the_field(content):
    with pytest.raises(ValidationFailed) as refused:
        document_check(SimpleUploadedFile("nda.pdf", content), field="agreement_document")
    assert "PDF, PNG, JPEG" in refused.value.errors["agreement_document"][0]


def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_accepted(settings):
    settings.PORTAL_UPLOAD_MAX_BYTES = 1024
    at_limit = SimpleUploadedFile("a.pdf", b"%PDF-" + b"x" * 1019)
    document_check(at_limit, field="file")
    with pytest.raises(ValidationFailed) as refused:
        document_check(SimpleUploadedFile("b.pdf", b"%PDF-" + b"x" * 1020), field="file")
    assert "at most 1,024 bytes" in refused.value.errors["file"][0]


def test_the_default_limit_is_ten_megabytes(settings):
    assert settings.PORTAL_UPLOAD_MAX_BYTES == 10 * 1024 * 1024


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        document_check(SimpleUploadedFile("a.pdf", b""), field="file")
    assert "empty" in refused.value.errors["file"][0]

"""Uploaded documents: an allow-list of types checked by content, and a size limit.

Accepted are PDF (starts `%PDF-`), PNG (the 8-byte PNG signature) and JPEG (`FF D8 FF`): what a
signed declaration, a report or a written agreement is scanned or exported as. Nothing else is
accepted — no office documents, archives (a DOCX is a ZIP that may carry anything) or HTML — and
the name's extension does not count: a file is what its first bytes say. The stored name gets
the extension of the type found, and the file is served (by a view that checks who asks) with
that type only. The limit is `PORTAL_UPLOAD_MAX_BYTES` (10 MB by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.db.models.fields.files import FieldFile
from django.utils.text import get_valid_filename
from django.utils.translation import gettext

from accounts.kernel.errors import ValidationFailed

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    label: str
    extension: str
    content_type: str
    signature: bytes


KINDS = (
    Kind("PDF", "pdf", "application/pdf", b"%PDF-"),
    Kind("PNG", "png", "image/png", b"\x89PNG\r\n\x1a\n"),
    Kind("JPEG", "jpg", "image/jpeg", b"\xff\xd8\xff"),
)
ACCEPTED = ", ".join(k.label for k in KINDS)


def max_bytes() -> int:
    return int(getattr(settings, "PORTAL_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def _head(file: File[bytes], n: int = 16) -> bytes:
    position = file.tell() if hasattr(file, "tell") else None
    file.seek(0)
    head = file.read(n)
    file.seek(position or 0)
    return head if isinstance(head, bytes) else head.encode()


def kind_of(head: bytes) -> Kind | None:
    """The accepted type whose signature `head` starts with, or None."""
    return next((k for k in KINDS if head.startswith(k.signature)), None)


def document_check(file: File[bytes], *, field: str, what: str = "The document") -> Kind:
    """Refuse (naming `field`) a file over the size limit or not of an accepted type by content;
    on success the file's name carries the extension of the type found."""
    limit = max_bytes()
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
    if size > limit:
        raise ValidationFailed(
            {
                field: [
                    gettext("%(what)s is %(size)s bytes; at most %(limit)s bytes are accepted.")
                    % {"what": what, "size": f"{size:,}", "limit": f"{limit:,}"}
                ]
            }
        )
    if size == 0:
        raise ValidationFailed({field: [gettext("%(what)s is empty.") % {"what": what}]})
    kind = kind_of(_head(file))
    if kind is None:
        raise ValidationFailed(
            {
                field: [
                    gettext(
                        "%(what)s must be a %(accepted)s file; this one's content is none of them (the name's extension does not count)."
                    )
                    % {"what": what, "accepted": ACCEPTED}
                ]
            }
        )
    stem = os.path.splitext(os.path.basename(getattr(file, "name", "") or ""))[0]
    try:
        stem = get_valid_filename(stem)[:100]
    except SuspiciousFileOperation:
        stem = "document"
    file.name = f"{stem}.{kind.extension}"
    return kind


def stored_kind(field_file: FieldFile) -> Kind | None:
    """The accepted type of a stored file, read from its content (None when it is not one)."""
    with field_file.open("rb") as f:
        return kind_of(f.read(16))

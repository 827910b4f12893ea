"""Uploaded documents, served only to the parties (art. 21.7.3, 21.9.2).

Files live under MEDIA_ROOT, outside the web root: no URL serves that folder. These views are
the only way to a document: the selectors decide who may see it (anyone else gets 404, as for
any object of another client), and the answer is a download (`Content-Disposition:
attachment`) of the type found in the file's content, with `X-Content-Type-Options: nosniff`,
so a browser never renders an upload as a page of the portal.
"""

import os

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.views.decorators.http import require_GET

from accounts.kernel.uploads import stored_kind
from dataprocessing import selectors


def _download(field_file) -> FileResponse:
    kind = stored_kind(field_file)
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=True,
        filename=os.path.basename(field_file.name),
        # a file stored before the content check and of no accepted type is plain bytes
        content_type=kind.content_type if kind else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def audit_document(request, pk: int, document: str):
    return _download(selectors.audit_document_get(user=request.user, pk=pk, document=document))


@require_GET
@login_required
def sub_processor_document(request, pk: int):
    return _download(selectors.sub_processor_document_get(user=request.user, pk=pk))

"""Uploaded documents of accounts, served only to those a selector lets see them.

As in dataprocessing: files live under MEDIA_ROOT, outside the web root; the answer is a
download (`Content-Disposition: attachment`) of the type found in the file's content, with
`X-Content-Type-Options: nosniff`, so a browser never renders an upload as a page of the portal.
"""

import os

from django.http import FileResponse

from accounts.kernel.uploads import stored_kind


def download(field_file) -> FileResponse:
    kind = stored_kind(field_file)
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=True,
        filename=os.path.basename(field_file.name),
        content_type=kind.content_type if kind else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response

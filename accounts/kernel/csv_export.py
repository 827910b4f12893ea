"""CSV exports: one helper for every export, streamed, with no spreadsheet formula injection.

A text cell that a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a
tab or a carriage return) is written with a leading apostrophe, so `=HYPERLINK(...)` in a
reference a client typed shows as text. Numbers (int, Decimal) and dates are written as they
are: they are not free text and cannot carry a formula.
"""

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell's text, with a formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, Decimal, dt.date, dt.datetime)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what csv.writer writes (Django's streaming pattern)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text line by line: the header, then each row with every cell made safe."""
    writer = csv.writer(_Line())
    yield writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole CSV as one string (small exports and tests)."""
    return "".join(csv_lines(header, rows))


def csv_response(
    filename: str, header: Sequence[str | Promise], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A streamed CSV download: memory stays flat however many rows the iterable yields.

    The header (lazy translations) is written out now, in the requesting user's language: the
    rows stream after the view has returned, when no request language is active any more.
    """
    response = StreamingHttpResponse(
        csv_lines([str(h) for h in header], rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

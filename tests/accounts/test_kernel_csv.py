"""The one CSV helper every export uses (issue 10, section 5: no formula injection)."""

import csv
import io
from decimal import Decimal

import pytest

from accounts.kernel.csv_export import csv_response, csv_safe, csv_text


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_a_text_cell_that_a_spreadsheet_would_run_as_a_formula_is_neutralised(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ICBC-2026", "ICBC-2026"), ("", ""), (None, ""), (Decimal("-12.50"), "-12.50"), (-3, "-3")],
)
def test_plain_text_and_numbers_are_written_as_they_are(value, expected):
    assert csv_safe(value) == expected


def test_every_cell_of_every_row_goes_through_the_helper():
    text = csv_text(["reference", "amount"], [["=1+1", Decimal("5.00")], ["ok", Decimal("-1.00")]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["reference", "amount"],
        ["'=1+1", "5.00"],
        ["ok", "-1.00"],
    ]


def test_the_download_streams_rows_as_they_are_produced():
    produced = []

    def rows():
        for i in range(3):
            produced.append(i)
            yield [f"@{i}"]

    response = csv_response("x.csv", ["ref"], rows())
    assert response.streaming and produced == []
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"ref\r\n"
    assert next(chunks) == b"'@0\r\n" and produced == [0]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'

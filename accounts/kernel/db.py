"""The set-based paths (usage ingestion, batch debits, the expiry job) are written for
PostgreSQL, which the tests and production use. The embedded SQLite mode is a first look:
there they refuse with a clear message instead of failing on SQL syntax."""

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TypeVar

from django.db import connection, models
from django.db.models import QuerySet

from .errors import ApplicationError

_M = TypeVar("_M", bound=models.Model)


class NeedsPostgreSQL(ApplicationError):
    code = "needs_postgresql"


def require_postgresql(feature: str) -> None:
    if connection.vendor != "postgresql":
        raise NeedsPostgreSQL(
            f"{feature} needs PostgreSQL: set DATABASE_URL (the embedded SQLite mode is for a first look)."
        )


def pg_text_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of text, sent as one parameter. psycopg quotes a Python list
    element by element in Python, which cost more than the rest of a batch's Python work;
    PostgreSQL parses the literal in C. Every element is quoted, so any text (empty, "NULL",
    commas, braces, quotes, backslashes, spaces) arrives exactly."""
    return (
        "{"
        + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values])
        + "}"
    )


def pg_plain_array(values: Iterable[int | Decimal | str | None]) -> str:
    """An array literal of values that need no quoting: integers, finite Decimals (their own
    text, so money stays exact; never a float), validated codes, ISO timestamps; None is NULL."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def keyset_iter(
    queryset: QuerySet[_M], *, size: int = 2000, descending: bool = False
) -> Iterator[_M]:
    """Every row of `queryset` in pk order, read `size` rows at a time by keyset
    (`WHERE pk < last ORDER BY pk DESC LIMIT size`): memory stays flat however many rows there
    are, and no cursor stays open between chunks (a streamed export may take minutes)."""
    ordered = queryset.order_by("-pk" if descending else "pk")
    last = None
    while True:
        page = ordered
        if last is not None:
            page = ordered.filter(pk__lt=last) if descending else ordered.filter(pk__gt=last)
        rows = list(page[:size])
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1].pk

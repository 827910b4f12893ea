"""The set-based paths (usage ingestion, batch debits, the expiry job) are written for
PostgreSQL, which the tests and production use. The embedded SQLite mode is a first look:
there they refuse with a clear message instead of failing on SQL syntax."""

from django.db import connection

from .exceptions import ApplicationError


class NeedsPostgreSQL(ApplicationError):
    code = "needs_postgresql"


def require_postgresql(feature: str) -> None:
    if connection.vendor != "postgresql":
        raise NeedsPostgreSQL(
            f"{feature} needs PostgreSQL: set DATABASE_URL (the embedded SQLite mode is for a first look)."
        )

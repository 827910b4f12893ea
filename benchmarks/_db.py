"""The dedicated database each benchmark runs in, on the server of DATABASE_URL."""

import os
from urllib.parse import urlsplit, urlunsplit


def bench_database(name: str) -> str:
    """The URL of database `name` beside DATABASE_URL's, created if it does not exist."""
    import psycopg

    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/portal"
    parts = urlsplit(base)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))

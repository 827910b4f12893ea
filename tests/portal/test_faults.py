"""Faults the portal keeps working through (issue 10, section 3): PostgreSQL terminating
connections, and Redis being down."""

import io

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.client import RequestFactory

from accounts.tokens import api_token_issue


def _wsgi_get(app: WSGIHandler, path: str, token: str) -> int:
    """One request through the real WSGI handler, as gunicorn makes it: request_started runs
    close_old_connections, which the test Client switches off."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="GET",
        HTTP_AUTHORIZATION=f"Token {token}",
        SERVER_NAME="testserver",
        **{"wsgi.input": io.BytesIO(b"")},
    )
    status: list[str] = []
    body = app(environ, lambda s, headers, exc_info=None: status.append(s))
    b"".join(body)
    body.close()
    return int(status[0].split()[0])


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    dsn = {k: params[k] for k in ("host", "port", "user", "dbname") if params.get(k)}
    with psycopg.connect(**dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_database_connections_are_health_checked_before_reuse():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0


@pytest.mark.django_db(transaction=True)
def test_requests_after_postgresql_terminates_the_connection_succeed(client_admin):
    # given: a persistent connection that served requests (as in a gunicorn worker)
    _, token = api_token_issue(user=client_admin)
    app = WSGIHandler()
    path = "/api/v1/clients/"
    assert [_wsgi_get(app, path, token) for _ in range(3)] == [200] * 3
    # when: PostgreSQL terminates that backend (a restart, pg_terminate_backend, a failover)
    for _ in range(4):
        _terminate(connection.connection.info.backend_pid)
        # then: the next requests reconnect instead of answering 500 on the stale connection
        assert [_wsgi_get(app, path, token) for _ in range(4)] == [200] * 4

"""Operations endpoints for load balancers and Prometheus (issue 15, section 6).

- `/healthz`: the process is up and answers; touches nothing else (no database), so a
  database outage never makes a load balancer kill healthy web processes.
- `/readyz`: the process can serve: the database answers, every migration is applied, Redis
  and the Celery broker are reachable. 200 when all are; 503 otherwise, naming what failed.
  Without `REDIS_URL` (first-look mode) Redis is "not configured", which is not a failure.
- `/metrics`: Prometheus text format: django-prometheus's request, response and database
  metrics and the portal's own (portal/metrics.py). Only from `PORTAL_METRICS_ALLOWED_NETWORKS`
  or with `Authorization: Bearer <PORTAL_METRICS_TOKEN>`.

None needs a sign-in and none is rate limited (a probe every few seconds is their job); they
answer JSON or plain text, with no script or style, so the Content-Security-Policy holds.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

OK = "ok"
FAILED = "failed"
NOT_CONFIGURED = "not configured"
# A probe answers within a load balancer's timeout even when a server hangs.
PROBE_TIMEOUT_SECONDS = 2


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": OK})


# --- Readiness -------------------------------------------------------------------------------
def check_database() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK}


def unapplied_migrations() -> list[str]:
    """The migrations not applied to the database yet, as `app.name`."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations() -> dict[str, object]:
    missing = unapplied_migrations()
    if missing:
        return {"status": FAILED, "error": "unapplied migrations", "unapplied": missing}
    return {"status": OK}


def check_redis() -> dict[str, str]:
    if not settings.REDIS_URL:
        return {"status": NOT_CONFIGURED}
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {"status": OK}


def check_broker() -> dict[str, str]:
    """Connect to the Celery broker once (no retries): Redis in production, kombu's
    file-system transport in first-look mode."""
    from .celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=PROBE_TIMEOUT_SECONDS
        )
    return {"status": OK}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "migrations": check_migrations,
    "redis": check_redis,
    "broker": check_broker,
}


def readiness() -> tuple[bool, dict[str, dict]]:
    """Run every check; a check that raises is failed with the exception's type (the details,
    which may name hosts, go to the log, not to an unauthenticated answer)."""
    results: dict[str, dict] = {}
    for name, check in CHECKS.items():
        if name == "migrations" and results["database"]["status"] != OK:
            results[name] = {"status": FAILED, "error": "database unavailable"}
            continue
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency is "not ready"
            log.warning("readyz: %s failed: %s: %s", name, type(exc).__name__, exc)
            results[name] = {"status": FAILED, "error": type(exc).__name__}
    ready = all(r["status"] in (OK, NOT_CONFIGURED) for r in results.values())
    return ready, results


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    ready, checks = readiness()
    body = {
        "status": OK if ready else "unavailable",
        "checks": checks,
        "failed": [name for name, r in checks.items() if r["status"] == FAILED],
    }
    return JsonResponse(body, status=200 if ready else 503)


# --- Metrics ---------------------------------------------------------------------------------
def metrics_allowed(request: HttpRequest) -> bool:
    """From an allowed network (the connecting address, never a forwarded header, which anyone
    can write), or with the bearer token when one is set."""
    token = settings.PORTAL_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.PORTAL_METRICS_ALLOWED_NETWORKS
    )


def metrics_text() -> bytes:
    """The exposition: every process's counters (multiprocess mode) or this process's, then the
    gauges read from the database now."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    from .metrics import DatabaseGauges

    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseGauges())
    return counted + generate_latest(scraped)


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return JsonResponse(
            {
                "errors": [
                    {
                        "code": "not_allowed",
                        "message": "Metrics are served to the allowed networks or with the "
                        "metrics bearer token only.",
                        "field": None,
                    }
                ]
            },
            status=403,
        )
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)

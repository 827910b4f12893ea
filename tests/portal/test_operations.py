"""Operations (issue 15, section 6): /healthz, /readyz, /metrics and the portal's own metrics,
JSON log lines with the request id."""

import json
import logging
import socket
import subprocess
import sys

import pytest
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.test import RequestFactory
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import Notification
from accounts.tokens import api_token_issue
from dataprocessing.models import DsrCallback
from dataprocessing.services.dsrs import DSR_CALLBACK_MAX_ATTEMPTS, SUPERSEDED_ERROR
from portal import jobs
from portal.celery import app
from portal.logs import JsonFormatter, RequestIdFilter, RequestIdMiddleware
from tests.accounts.factories import BillingStaffFactory, PlatformUserFactory
from tests.dataprocessing.factories import DataSubjectRequestFactory

TOKEN = "metrics-token-for-the-tests-0123456789abcdef"


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- /healthz ------------------------------------------------------------------------------
def test_healthz_answers_without_touching_the_database(client):
    # no `db` fixture: pytest-django fails any query, so this proves /healthz needs no database
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert "content-security-policy" in response


# --- /readyz -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_readyz_is_ready_when_database_redis_and_broker_answer_and_migrations_are_applied(
    client, settings
):
    assert settings.REDIS_URL, "the tests run with REDIS_URL"
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "ok",
        "migrations": "ok",
        "redis": "ok",
        "broker": "ok",
    }


@pytest.mark.django_db
def test_readyz_answers_503_naming_redis_and_the_broker_when_redis_is_unreachable(
    client, settings, monkeypatch
):
    # given: Redis (cache and broker) pointed at a port nothing listens on
    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.REDIS_URL = closed
    monkeypatch.setitem(app.conf, "broker_url", closed)
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["redis", "broker"]
    assert body["checks"]["redis"]["status"] == "failed"
    assert body["checks"]["database"]["status"] == "ok"
    # the answer names what failed, not where it lives (no host or port to an anonymous caller)
    assert str(closed.rsplit(":", 1)[1].split("/")[0]) not in response.content.decode()


@pytest.mark.django_db
def test_readyz_answers_503_naming_an_unapplied_migration(client):
    # given: the latest billing migration recorded as not applied (rolled back after the test)
    recorder = MigrationRecorder(connection)
    latest = max(
        name for app_label, name in recorder.applied_migrations() if app_label == "billing"
    )
    recorder.record_unapplied("billing", latest)
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert f"billing.{latest}" in body["checks"]["migrations"]["unapplied"]


@pytest.mark.django_db
def test_readyz_reports_redis_as_not_configured_without_redis_url(client, settings):
    """`make run`'s defaults: no Redis is not a failure."""
    settings.REDIS_URL = None
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"status": "not configured"}


@pytest.mark.django_db
def test_probes_need_no_sign_in_no_second_factor_and_are_not_rate_limited(client, settings):
    # an unverified staff session is sent to the two-factor page everywhere else
    settings.PORTAL_STAFF_OTP_REQUIRED = True
    client.force_login(BillingStaffFactory())
    assert client.get("/").status_code == 302
    for _ in range(60):
        assert client.get("/healthz").status_code == 200
    for _ in range(10):
        assert client.get("/readyz").status_code == 200
    client.logout()
    assert client.get("/readyz").status_code == 200


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


# --- /metrics ------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "authorization", "allowed"),
    [
        ("203.0.113.9", None, False),
        ("203.0.113.9", f"Bearer {TOKEN}", True),
        ("203.0.113.9", "Bearer wrong-token", False),
        ("10.1.2.3", None, True),
        ("10.1.2.3", "Bearer wrong-token", False),
    ],
)
def test_metrics_are_served_to_allowed_networks_or_with_the_token_only(
    client, settings, remote, authorization, allowed
):
    settings.PORTAL_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.PORTAL_METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    # a forwarded header never makes an outsider an insider
    response = client.get(
        "/metrics", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="10.1.2.3", **headers
    )
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert response.json()["errors"][0]["code"] == "not_allowed"


@pytest.mark.django_db
def test_without_a_token_set_a_bearer_header_opens_nothing(client, settings):
    settings.PORTAL_METRICS_ALLOWED_NETWORKS = []
    settings.PORTAL_METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def _scrape(client, settings) -> str:
    settings.PORTAL_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def _value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in the metrics")


@pytest.mark.django_db
def test_metrics_include_django_prometheus_and_the_portals_own(client, settings):
    client.get("/healthz")
    text = _scrape(client, settings)
    for name in (
        "django_http_requests_total_by_method_total",
        "django_http_responses_total_by_status_total",
        "portal_usage_records_total",
        "portal_notices_pending",
        "portal_dsr_callbacks_failing",
        "portal_webhook_deliveries_failing",
    ):
        assert f"\n{name}" in text, name


@pytest.mark.django_db
def test_notices_pending_are_counted_from_the_outbox_at_scrape_time(client, settings):
    now = timezone.now()
    for n in range(3):
        Notification.objects.create(
            key=f"pending-{n}",
            recipients=["a@example.test"],
            subject="s",
            body="b",
            created_at=now - timezone.timedelta(minutes=10 * (n + 1)),
        )
    Notification.objects.create(
        key="sent", recipients=["a@example.test"], subject="s", body="b", sent_at=now
    )
    text = _scrape(client, settings)
    assert _value(text, "portal_notices_pending") == 3
    assert 1790 <= _value(text, "portal_notices_pending_oldest_age_seconds") <= 1900


@pytest.mark.django_db
def test_failing_dsr_callbacks_are_counted_at_scrape_time(client, settings):
    dsr = DataSubjectRequestFactory()

    def callback(**kw):
        return DsrCallback.objects.create(
            request=dsr, status="pending", url="https://x.test/cb", **kw
        )

    callback(attempts=0)  # not tried yet: not failing
    callback(attempts=1, delivered=True)  # delivered
    callback(attempts=2, error="timed out")  # retrying
    callback(attempts=3, error="503")  # retrying
    callback(attempts=DSR_CALLBACK_MAX_ATTEMPTS, error="refused")  # given up
    callback(attempts=DSR_CALLBACK_MAX_ATTEMPTS, error=SUPERSEDED_ERROR)  # dropped on purpose
    text = _scrape(client, settings)
    assert _value(text, 'portal_dsr_callbacks_failing{state="retrying"}') == 2
    assert _value(text, 'portal_dsr_callbacks_failing{state="abandoned"}') == 1


@pytest.mark.django_db
def test_failing_webhook_deliveries_are_counted_at_scrape_time(client, settings):
    from accounts.models import WebhookDelivery, WebhookEndpoint
    from tests.accounts.factories import ClientFactory

    endpoint = WebhookEndpoint.objects.create(
        client=ClientFactory(), url="https://x.test/hook", events=["balance.low"]
    )
    states = [("pending", 0), ("pending", 2), ("pending", 1), ("failed", 9), ("delivered", 1)]
    for n, (status, attempts) in enumerate(states):
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=f"e{n}",
            event_type="balance.low",
            payload={},
            status=status,
            attempts=attempts,
        )
    text = _scrape(client, settings)
    assert _value(text, 'portal_webhook_deliveries_failing{state="retrying"}') == 2
    assert _value(text, 'portal_webhook_deliveries_failing{state="abandoned"}') == 1


# --- Usage verdicts ------------------------------------------------------------------------
def _platform() -> APIClient:
    _, key = api_token_issue(user=PlatformUserFactory(), name="platform")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def _record(client_company, n, **extra):
    return {
        "id": f"ops-{client_company.pk}-{n}",
        "client": client_company.pk,
        "channel": "sms",
        "message_count": 1,
        "amount": "0.05",
        "occurred_at": "2026-03-01T10:00:00+08:00",
        **extra,
    }


@pytest.mark.django_db
def test_usage_verdicts_are_counted_once_the_batch_is_committed(
    client_company, django_capture_on_commit_callbacks
):
    api = _platform()
    before = {
        s: sample("portal_usage_records_total", status=s)
        for s in ("accepted", "duplicate", "refused")
    }
    float_before = sample("portal_usage_refusals_total", code="float")
    batch = [
        _record(client_company, 1),
        _record(client_company, 2),
        _record(client_company, 3, amount=0.05),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/usage/", batch, format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/usage/", batch[:1], format="json")  # a replay
    delta = {s: sample("portal_usage_records_total", status=s) - before[s] for s in before}
    assert delta == {"accepted": 2, "duplicate": 1, "refused": 1}
    assert sample("portal_usage_refusals_total", code="float") - float_before == 1


@pytest.mark.django_db
def test_a_batch_rolled_back_is_not_counted(client_company, django_capture_on_commit_callbacks):
    from billing.prepaid.services.usage import usage_ingest

    before = sample("portal_usage_records_total", status="accepted")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            usage_ingest(records=[_record(client_company, 9)])
            raise RuntimeError("the caller's transaction fails after the batch")
    assert sample("portal_usage_records_total", status="accepted") == before


# --- Job runs ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_job_runs_are_counted_by_outcome_and_timed(monkeypatch):
    runs_before = sample("portal_job_runs_total", job="terms_deem_accepted", outcome="ok")
    timed_before = sample("portal_job_duration_seconds_count", job="terms_deem_accepted")
    jobs.run("terms_deem_accepted")
    assert (
        sample("portal_job_runs_total", job="terms_deem_accepted", outcome="ok") == runs_before + 1
    )
    assert (
        sample("portal_job_duration_seconds_count", job="terms_deem_accepted") == timed_before + 1
    )
    assert sample("portal_job_last_success_timestamp_seconds", job="terms_deem_accepted") > 0

    def broken():
        raise ValueError("boom")

    registry = jobs.registry()
    monkeypatch.setattr(jobs, "registry", lambda: {**registry, "broken": broken})
    errors_before = sample("portal_job_runs_total", job="broken", outcome="error")
    with pytest.raises(ValueError):
        jobs.run("broken")
    assert sample("portal_job_runs_total", job="broken", outcome="error") == errors_before + 1
    assert sample("portal_job_last_success_timestamp_seconds", job="broken") == 0


def test_counters_of_several_processes_are_added_up_in_multiprocess_mode(tmp_path):
    """Gunicorn's workers and the Celery worker each count; /metrics shows the sum."""
    child = (
        "from accounts.kernel.metrics import usage_results_count;"
        "usage_results_count([{'status': 'accepted'}, {'status': 'refused', 'code': 'float'}])"
    )
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", child], check=True, env=env, cwd=str(_root()))
    reader = (
        "from prometheus_client import CollectorRegistry, generate_latest, multiprocess;"
        "r = CollectorRegistry(); multiprocess.MultiProcessCollector(r);"
        "print(generate_latest(r).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", reader], check=True, env=env, capture_output=True, text=True
    ).stdout
    assert _value(out, 'portal_usage_records_total{status="accepted"}') == 2
    assert _value(out, 'portal_usage_refusals_total{code="float"}') == 2


def _root():
    from django.conf import settings

    return settings.BASE_DIR


# --- Logs ----------------------------------------------------------------------------------
def test_a_log_line_in_json_has_time_level_logger_message_and_the_request_id():
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("portal.test_operations")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def view(request):
        from django.http import HttpResponse

        logger.info("charged %s", "once", extra={"client_id": 7})
        return HttpResponse("ok")

    try:
        response = RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="abc-123"))
        RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nforged"))
        logger.warning("outside a request")
    finally:
        logger.removeHandler(handler)

    first, second, outside = (json.loads(line) for line in lines)
    assert response["X-Request-ID"] == "abc-123"
    assert first["request_id"] == "abc-123"
    assert first["level"] == "INFO" and first["logger"] == "portal.test_operations"
    assert first["message"] == "charged once" and first["client_id"] == 7
    assert first["time"].endswith("+00:00")
    # a header that is not a plain token is replaced by an id of our own
    assert second["request_id"] != "bad id\nforged" and len(second["request_id"]) == 32
    assert "request_id" not in outside


def test_log_format_json_switches_the_portals_log_lines_to_json(tmp_path):
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('portal.check').warning('hello %s', 'json')"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "LOG_FORMAT": "json",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=str(_root()), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello json" and line["level"] == "WARNING"
    assert line["logger"] == "portal.check" and "time" in line

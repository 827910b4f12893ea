"""The portal's Prometheus metrics beside django-prometheus's (issue 15, section 6).

- Counted where they happen: usage verdicts (accounts.kernel.metrics, after the batch commits)
  and job runs with their durations (here, around the job registry's runner). Counters and
  histograms are multiprocess-safe: with `PROMETHEUS_MULTIPROC_DIR` set, every process (each
  gunicorn worker, the Celery worker that runs the jobs) writes its own file and `/metrics`
  adds them up.
- Read at scrape time from the database, so they are right whichever process answers and
  never drift: notices pending in the outbox and DSR status callbacks failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

JOB_RUNS = Counter(
    "portal_job_runs",
    "Scheduled job runs (portal.jobs), by job and outcome (ok, skipped, error).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "portal_job_duration_seconds",
    "How long a scheduled job run took, by job.",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900),
)
# "max" across processes: the latest success, whichever worker ran it.
JOB_LAST_SUCCESS = Gauge(
    "portal_job_last_success_timestamp_seconds",
    "When each scheduled job last finished without error (Unix time).",
    ["job"],
    multiprocess_mode="max",
)


def job_run_measured(name: str, runner: Callable[[], Any]) -> Any:
    """Run one job, counting the run by outcome and timing it. A job that needs PostgreSQL and
    is asked to run on SQLite (first-look mode) counts as skipped; any other exception as an
    error, raised again for the caller."""
    from accounts.kernel.db import NeedsPostgreSQL

    started = time.perf_counter()
    outcome = "error"
    try:
        result = runner()
        outcome = "ok"
        return result
    except NeedsPostgreSQL:
        outcome = "skipped"
        raise
    finally:
        JOB_DURATION.labels(job=name).observe(time.perf_counter() - started)
        JOB_RUNS.labels(job=name, outcome=outcome).inc()
        if outcome == "ok":
            JOB_LAST_SUCCESS.labels(job=name).set(time.time())


class DatabaseGauges(Collector):
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from accounts.kernel.notifications import notifications_pending_summary
        from accounts.kernel.webhooks import webhooks_failing
        from dataprocessing.selectors import dsr_callbacks_failing

        pending, oldest_age = notifications_pending_summary()
        yield GaugeMetricFamily(
            "portal_notices_pending",
            "Notices (emails) in the outbox not sent yet.",
            value=pending,
        )
        yield GaugeMetricFamily(
            "portal_notices_pending_oldest_age_seconds",
            "Age of the oldest unsent notice in the outbox (0 when none waits).",
            value=oldest_age or 0.0,
        )
        failing = GaugeMetricFamily(
            "portal_dsr_callbacks_failing",
            "DSR status callbacks tried and not delivered: still retried, or given up.",
            labels=["state"],
        )
        for state, n in dsr_callbacks_failing().items():
            failing.add_metric([state], n)
        yield failing
        hooks = GaugeMetricFamily(
            "portal_webhook_deliveries_failing",
            "Webhook deliveries tried and not delivered: still retried, or given up after a day.",
            labels=["state"],
        )
        for state, n in webhooks_failing().items():
            hooks.add_metric([state], n)
        yield hooks

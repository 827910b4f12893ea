"""The portal's own Prometheus counters that the apps increment (issue 15, section 6).

Counters live in the process that counts. With `PROMETHEUS_MULTIPROC_DIR` set (gunicorn's
workers, the Celery worker) prometheus_client writes each process's values to files there and
`/metrics` adds them up (portal/operations.py); without it each process counts for itself,
which is right for `make run`'s single web process. Values that the database already knows
(notices pending, callbacks failing) are not counted here but read at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter

USAGE_RECORDS = Counter(
    "portal_usage_records",
    "Usage records answered by the ingestion API, by verdict (accepted, duplicate, refused).",
    ["status"],
)
USAGE_REFUSALS = Counter(
    "portal_usage_refusals",
    "Usage records refused, by the refusal's code (e.g. message_limit_reached, insufficient_credit).",
    ["code"],
)
for _status in ("accepted", "duplicate", "refused"):
    USAGE_RECORDS.labels(status=_status)


def usage_results_count(results: Iterable[Mapping[str, Any]]) -> None:
    """Count one batch's verdicts. Called after the batch's transaction committed, so a batch
    rolled back (and retried) is never counted twice."""
    by_status: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for result in results:
        status = str(result.get("status"))
        by_status[status] = by_status.get(status, 0) + 1
        if status == "refused":
            code = str(result.get("code") or "unknown")
            by_code[code] = by_code.get(code, 0) + 1
    for status, n in by_status.items():
        USAGE_RECORDS.labels(status=status).inc(n)
    for code, n in by_code.items():
        USAGE_REFUSALS.labels(code=code).inc(n)

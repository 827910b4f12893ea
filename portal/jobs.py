"""Every scheduled job by name: Celery beat runs them (settings.CELERY_BEAT_SCHEDULE) and
`manage.py run_job NAME` runs one by hand. Each job is a service function that is idempotent,
works in bounded batches and returns a summary of what it did."""

from collections.abc import Callable


def registry() -> dict[str, Callable]:
    from accounts.jobs import JOBS as accounts_jobs
    from accounts.kernel.jobs import job
    from billing.jobs import JOBS as billing_jobs
    from dataprocessing.jobs import JOBS as dataprocessing_jobs

    from .retention import retention_anonymise

    # art. 23: every category of personal data past its retention period, across apps.
    composed = dict([job(retention_anonymise)])
    return {**accounts_jobs, **billing_jobs, **dataprocessing_jobs, **composed}


def run(name: str):
    """Run one job by name, counted and timed for `/metrics` (portal/metrics.py); Celery beat's
    task and `manage.py run_job` both come through here."""
    from .metrics import job_run_measured

    jobs = registry()
    if name not in jobs:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(jobs))}")
    return job_run_measured(name, jobs[name])

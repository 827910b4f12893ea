import logging

from celery import shared_task

from accounts.kernel.db import NeedsPostgreSQL

from . import jobs

log = logging.getLogger(__name__)


@shared_task(name="portal.run_job")
def run_job(name: str):
    """A thin task: run the named job (a service) and log what it did."""
    try:
        result = jobs.run(name)
    except NeedsPostgreSQL as exc:  # first-look mode on SQLite: say so once per run, no traceback
        log.warning("job %s skipped: %s", name, exc)
        return {"skipped": str(exc)}
    log.info("job %s: %s", name, result)
    return result

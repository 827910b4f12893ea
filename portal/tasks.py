import logging

from celery import shared_task

from . import jobs

log = logging.getLogger(__name__)


@shared_task(name="portal.run_job")
def run_job(name: str):
    """A thin task: run the named job (a service) and log what it did."""
    result = jobs.run(name)
    log.info("job %s: %s", name, result)
    return result

"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

from .invoicing.jobs import JOBS as INVOICING_JOBS
from .prepaid.jobs import JOBS as PREPAID_JOBS

JOBS: dict = {
    **PREPAID_JOBS,
    **INVOICING_JOBS,
}

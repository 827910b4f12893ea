"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

from . import limits

JOBS: dict = {
    # art. 26.1: the 75 % message-limit notice, once per crossing.
    "limit_notices": lambda: {"sent": limits.limit_notices_send()},
}

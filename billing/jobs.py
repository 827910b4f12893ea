"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

from . import limits, services
from .invoicing.jobs import JOBS as INVOICING_JOBS

JOBS: dict = {
    # art. 29.3: what is left on lots past their expiry, set-wise in batches.
    "expire_credit": lambda: services.credit_expire(),
    # art. 29.3: an email 30 days before a lot with remaining credit expires, once per lot.
    "credit_expiry_reminders": lambda: services.credit_expiry_reminders_send(),
    # art. 29.7: warn, then delete, prepaid accounts not charged in time.
    "delete_inactive_accounts": lambda: services.inactive_accounts_delete(),
    # art. 26.1: the 75 % message-limit notice, once per crossing.
    "limit_notices": lambda: {"sent": limits.limit_notices_send()},
    **INVOICING_JOBS,
}

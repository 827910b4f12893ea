"""Scheduled jobs of the prepaid side, by name (composed by billing.jobs, see portal/jobs.py)."""

from .services import expiry, inactivity, limits

JOBS: dict = {
    # art. 29.3: what is left on lots past their expiry, set-wise in batches.
    "expire_credit": lambda: expiry.credit_expire(),
    # art. 29.3: an email 30 days before a lot with remaining credit expires, once per lot.
    "credit_expiry_reminders": lambda: expiry.credit_expiry_reminders_send(),
    # art. 29.7: warn, then delete, prepaid accounts not charged in time.
    "delete_inactive_accounts": lambda: inactivity.inactive_accounts_delete(),
    # art. 26.1: the 75 % message-limit notice, once per crossing.
    "limit_notices": lambda: {"sent": limits.limit_notices_send()},
}

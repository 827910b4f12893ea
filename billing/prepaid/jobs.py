"""Scheduled jobs of the prepaid side, named after the functions they run (composed by
billing.jobs, see portal/jobs.py)."""

from accounts.kernel.jobs import job

from .services import alerts, expiry, inactivity, limits

JOBS = dict(
    [
        # art. 29.3: what is left on lots past their expiry, set-wise in batches.
        job(expiry.credit_expire),
        # art. 29.3: an email 30 days before a lot with remaining credit expires, once per lot.
        job(expiry.credit_expiry_reminders_send),
        # art. 29.7: warn, then delete, prepaid accounts not charged in time.
        job(inactivity.inactive_accounts_delete),
        # art. 26.1: the 75 % message-limit notice, once per crossing.
        job(limits.limit_notices_send, count_key="sent"),
        # The client's own alerts (balance, usage share, expiring credit), once per crossing.
        job(alerts.client_alerts_check),
    ]
)

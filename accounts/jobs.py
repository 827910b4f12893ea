"""Scheduled jobs of accounts, named after the functions they run; portal/jobs.py collects
every app's JOBS."""

from .kernel.jobs import job
from .kernel.notifications import notifications_resend
from .kernel.webhooks import webhooks_retry
from .services import agreements, data_requests, force_majeure, terms

JOBS = dict(
    [
        # Notices still unsent (a broker that was down, a mail server that failed): queued again.
        job(notifications_resend),
        # Webhook deliveries whose next attempt is due (exponential back-off for a day).
        job(webhooks_retry),
        # art. 15.2: renew at the end of the term unless notice was given; end agreements due.
        job(agreements.agreements_roll),
        # art. 18.3: deemed accepted after one month without objection.
        job(terms.terms_deem_accepted, count_key="deemed_accepted"),
        # art. 5.6: flag data requests past their 3-working-day deadline.
        job(data_requests.data_requests_flag_overdue, count_key="flagged"),
        # art. 14.2: flag force-majeure notices near or past their 10-working-day deadline.
        job(force_majeure.force_majeure_deadlines_flag),
    ]
)

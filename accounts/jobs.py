"""Scheduled jobs of accounts, by name; portal/jobs.py collects every app's JOBS."""

from . import services
from .kernel.notifications import notifications_resend

JOBS = {
    # Notices still unsent (a broker that was down, a mail server that failed): queued again.
    "notifications_resend": lambda: notifications_resend(),
    # art. 15.2: renew at the end of the term unless notice was given; end agreements due.
    "agreement_terms": lambda: services.agreements_roll(),
    # art. 18.3: deemed accepted after one month without objection.
    "terms_deemed_accepted": lambda: {"deemed_accepted": services.terms_deem_accepted()},
    # art. 5.6: flag data requests past their 3-working-day deadline.
    "data_requests_overdue": lambda: {"flagged": services.data_requests_flag_overdue()},
}

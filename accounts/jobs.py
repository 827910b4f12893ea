"""Scheduled jobs of accounts, by name; portal/jobs.py collects every app's JOBS."""

from .kernel.notifications import notifications_resend
from .services import agreements, data_requests, terms

JOBS = {
    # Notices still unsent (a broker that was down, a mail server that failed): queued again.
    "notifications_resend": lambda: notifications_resend(),
    # art. 15.2: renew at the end of the term unless notice was given; end agreements due.
    "agreement_terms": lambda: agreements.agreements_roll(),
    # art. 18.3: deemed accepted after one month without objection.
    "terms_deemed_accepted": lambda: {"deemed_accepted": terms.terms_deem_accepted()},
    # art. 5.6: flag data requests past their 3-working-day deadline.
    "data_requests_overdue": lambda: {"flagged": data_requests.data_requests_flag_overdue()},
}

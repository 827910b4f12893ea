"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

from . import invoicing
from .prepaid.jobs import JOBS as prepaid_jobs

JOBS: dict = {
    **prepaid_jobs,
    # art. 4.2: each postpaid client's usage of the past calendar month (Europe/Amsterdam), once.
    "invoice_usage": lambda: invoicing.invoice_usage(),
    # art. 4.5: invoices unpaid after their due date become overdue.
    "invoices_mark_overdue": lambda: invoicing.invoices_mark_overdue(),
    # art. 7.1: an invoice overdue by the profile's grace period suspends the client, once.
    "suspend_for_non_payment": lambda: invoicing.suspend_for_non_payment(),
    # art. 4.7: deposit refunds coming due (14 days ahead) and overdue, flagged once each.
    "deposit_refunds_flag": lambda: invoicing.deposit_refunds_flag(),
    # art. 4.8: fapiao requests past their 7-day deadline, flagged once each.
    "fapiao_overdue_flag": lambda: invoicing.fapiao_overdue_flag(),
    # art. 10.2: disputes unresolved 20 working days after the due date may be escalated.
    "disputes_escalation_flag": lambda: invoicing.disputes_escalation_flag(),
    # art. 4.11: in January, the year's CPI change on prices not fixed, once per provider-year.
    "cpi_adjust": lambda: invoicing.cpi_adjust(),
}

"""Scheduled jobs of billing, by name (see portal/jobs.py)."""

from . import invoicing, limits, services

JOBS: dict = {
    # art. 29.3: what is left on lots past their expiry, set-wise in batches.
    "expire_credit": lambda: services.credit_expire(),
    # art. 29.3: an email 30 days before a lot with remaining credit expires, once per lot.
    "credit_expiry_reminders": lambda: services.credit_expiry_reminders_send(),
    # art. 29.7: warn, then delete, prepaid accounts not charged in time.
    "delete_inactive_accounts": lambda: services.inactive_accounts_delete(),
    # art. 26.1: the 75 % message-limit notice, once per crossing.
    "limit_notices": lambda: {"sent": limits.limit_notices_send()},
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

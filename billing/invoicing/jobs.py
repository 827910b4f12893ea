"""Scheduled jobs of invoicing, named after the functions they run; billing.jobs composes
them (see portal/jobs.py)."""

from accounts.kernel.jobs import job

from .services import (
    deposits,
    disputes,
    ecb_rates,
    fapiao,
    interest,
    invoices,
    prices,
    suspension,
    usage_invoices,
)

JOBS = dict(
    [
        # art. 4.2: each postpaid client's usage of the past calendar month (Europe/Amsterdam), once.
        job(usage_invoices.invoice_usage),
        # art. 4.5: invoices unpaid after their due date become overdue.
        job(invoices.invoices_mark_overdue),
        # art. 4.6: the past month's late interest on an invoice of its own, once per client-month.
        job(interest.interest_charge_overdue),
        # art. 7.1: an invoice overdue by the profile's grace period suspends the client, once.
        job(suspension.suspend_for_non_payment),
        # art. 4.7: deposit refunds coming due (14 days ahead) and overdue, flagged once each.
        job(deposits.deposit_refunds_flag),
        # art. 4.8: fapiao requests past their 7-day deadline, flagged once each.
        job(fapiao.fapiao_overdue_flag),
        # art. 10.2: disputes unresolved 20 working days after the due date may be escalated.
        job(disputes.disputes_escalation_flag),
        # issue 12 §5: the ECB's euro reference rates of the day (staff entry is the fallback).
        job(ecb_rates.exchange_rates_import_ecb),
        # CX 10: disputes pending check for which an exchange rate is now known, decided.
        job(disputes.disputes_pending_decide),
        # art. 4.11: in January, the year's CPI change on prices not fixed, once per provider-year.
        job(prices.cpi_adjust),
    ]
)

"""Scheduled jobs of data processing, by name (see portal/jobs.py).

Each is a service that is idempotent, works in bounded batches and returns a summary dict.
Usage records' recipient numbers live in billing, which this app does not use (DESIGN.md): the
composing layer anonymises those with `services.retention.retention_cutoff`.
"""

from accounts.kernel.jobs import job

from .services import breaches, dsrs, retention, sub_processors

JOBS = dict(
    [
        # GDPR 28(2), art. 21.9: announced sub-processor changes take effect after the notice period.
        job(sub_processors.sub_processor_changes_apply),
        # GDPR 12(3): flag overdue data-subject requests to compliance, once each.
        job(dsrs.dsr_overdue_flag),
        # OpenDSR: post again the status callbacks that failed.
        job(dsrs.dsr_callbacks_retry),
        # art. 21.11: escalate breach notices near or past their 48-hour deadline.
        job(breaches.breach_deadlines_escalate),
        # art. 23: anonymise data-subject references past their retention period.
        job(retention.dsr_references_anonymise),
    ]
)

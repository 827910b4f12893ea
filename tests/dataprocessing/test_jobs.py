"""The job registry of data processing (names unchanged; see portal/jobs.py)."""

from dataprocessing import jobs
from portal import jobs as portal_jobs


def test_every_data_processing_job_is_registered_and_does_nothing_on_an_empty_database(db):
    expected = {
        "sub_processor_changes_apply",
        "dsr_overdue_flag",
        "dsr_callbacks_retry",
        "breach_deadlines_escalate",
        "dsr_references_anonymise",
    }
    assert expected <= set(portal_jobs.registry())
    for name in expected:
        summary = jobs.JOBS[name]()
        assert isinstance(summary, dict) and not any(summary.values()), name

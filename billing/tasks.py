"""Celery tasks of billing: thin, they take ids and call a service."""

from celery import shared_task

from billing.invoicing.services.statements import statement_import_run


@shared_task(name="billing.statement_import")
def statement_import(statement_id: int) -> dict:
    """Import and match one uploaded bank statement (issue 14 §2); running it twice books
    nothing twice (entries are keyed by the bank's reference)."""
    return statement_import_run(statement_id=statement_id)

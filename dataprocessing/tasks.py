"""Celery tasks of data processing: thin, they take ids and call a service."""

from celery import shared_task

from dataprocessing.services.dsrs import dsr_callback_deliver


@shared_task(name="dataprocessing.dsr_callback_send")
def dsr_callback_send(callback_id: int) -> bool:
    """Post one OpenDSR status callback. A failure is recorded on the row, not raised: the
    `dsr_callbacks_retry` job posts it again with its own back-off (2^attempts minutes)."""
    return dsr_callback_deliver(callback_id=callback_id)

"""Celery tasks of accounts: thin, they take ids and call the kernel or a service."""

from celery import shared_task

from accounts.kernel.notifications import notification_deliver
from accounts.kernel.webhooks import webhook_deliver


@shared_task(
    name="accounts.notification_send",
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=60 * 60,
    retry_jitter=True,
    max_retries=10,
)
def notification_send(notification_id: int) -> bool:
    """Send one outbox row; a failed send is retried with exponential backoff (30 s … 1 h),
    and what is still unsent after that is queued again by the `notifications_resend` job."""
    return notification_deliver(notification_id)


@shared_task(name="accounts.webhook_send")
def webhook_send(delivery_id: int) -> bool:
    """Post one webhook delivery; a failure schedules its next attempt (exponential back-off
    for a day), which the `webhooks_retry` job queues when due."""
    return webhook_deliver(delivery_id)

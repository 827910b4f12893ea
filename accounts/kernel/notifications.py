"""Email notices: each recorded once under a key, sent after the transaction commits.

DESIGN.md (Notifications): "each one recorded once in the database, so a job that runs twice
sends once". The unique key is the guard; sending happens in `transaction.on_commit`.
"""

import logging
from typing import cast

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Client, Notification, User

log = logging.getLogger(__name__)


def client_admin_emails(client: Client) -> list[str]:
    return list(
        User.objects.filter(client=client, role=User.Role.CLIENT_ADMIN, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )


def client_recipients(
    client: Client, *, include_billing: bool = True, include_viewers: bool = False
) -> list[str]:
    """The client's admins (and viewers), plus its billing email, without duplicates."""
    roles = [User.Role.CLIENT_ADMIN] + ([User.Role.CLIENT_VIEWER] if include_viewers else [])
    emails = list(
        User.objects.filter(client=client, role__in=roles, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )
    if include_billing and client.billing_email and client.billing_email not in emails:
        emails.append(client.billing_email)
    return emails


def staff_emails(role: str | None = None) -> list[str]:
    qs = User.objects.filter(is_active=True, role__in=role and [role] or list(User.STAFF_ROLES))
    emails = list(qs.order_by("email").values_list("email", flat=True))
    # env_str is typed `str | None`, but this setting has a default, so it is always text.
    return emails or [cast(str, settings.PORTAL_STAFF_EMAIL)]


def notify(
    *, key: str, recipients: list[str], subject: str, body: str, client: Client | None = None
) -> bool:
    """Record the notice under `key` and send it once the transaction commits.

    Returns False (and sends nothing) when a notice with this key was already recorded.
    """
    recipients = [r for r in dict.fromkeys(recipients) if r]
    if not recipients:
        return False
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key, client=client, recipients=recipients, subject=subject, body=body
            )
    except IntegrityError:
        return False
    transaction.on_commit(lambda: _send(notification.pk))
    return True


def _send(notification_id: int) -> None:
    notification = Notification.objects.get(pk=notification_id)
    if notification.sent_at:
        return
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            notification.recipients,
        )
    except Exception:  # the row stays unsent; an operator can resend it
        log.exception("sending notification %s failed", notification.key)
        return
    Notification.objects.filter(pk=notification_id, sent_at=None).update(sent_at=timezone.now())

"""Email notices through an outbox: each recorded once under a key, sent by Celery after commit.

DESIGN.md (Notifications): a notice is written to the outbox table (`Notification`) in the
transaction that causes it; after commit a Celery task sends it, with the mail server's timeout
(`EMAIL_TIMEOUT`) and retries with backoff; a beat job (`notifications_resend`) queues again what
is still unsent. A request never talks to the mail server, so a hung or refused SMTP server
neither holds nor fails it. "Sent once" holds under retries and redeliveries because a send
first claims the row (a conditional UPDATE with a lease) and marks it sent afterwards; a worker
that dies between the mail server's acceptance and that mark is the only way a notice can go
out twice (at-least-once delivery, as every outbox has).

Emails go out in the recipient's language, not the sender's (issue 11 §2): a notice's subject
and body are given as functions (`lambda: gettext("…%(number)s…") % {...}`) and rendered once
per language among its recipients, under `translation.override`; a Chinese and a Dutch
recipient of the same event each get one email in their own language (one outbox row per
language, the first under the notice's key, the others under `key#language`).
"""

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import cast

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.functional import Promise

from accounts.models import Client, Notification, Provider, User

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


def staff_emails(role: str | None = None, *, provider: Provider | int) -> list[str]:
    """Where a staff notice about `provider`'s client goes: that provider's staff only (art. 11.1,
    21.4: the providers are separate legal entities; a CXENGAGE dispute never reaches CM staff).

    The team mailbox the provider's profile names (`staff_email` for billing, `compliance_email`
    for data processing), then the active staff of `role` who serve the provider by their own
    addresses; `PORTAL_STAFF_EMAIL` only when the provider names no one at all. The group
    operator (`all_providers`) sees every provider but is not on every provider's mailing list.
    """
    provider_id = provider if isinstance(provider, int) else provider.pk
    profile = (
        Provider.objects.filter(pk=provider_id).values("staff_email", "compliance_email").get()
    )
    mailbox = (
        profile["compliance_email"]
        if role == User.Role.COMPLIANCE_OFFICER
        else profile["staff_email"]
    )
    roles = [role] if role else list(User.STAFF_ROLES)
    people = User.objects.filter(is_active=True, role__in=roles, providers=provider_id)
    emails = ([mailbox] if mailbox else []) + [
        e for e in people.order_by("email").values_list("email", flat=True) if e != mailbox
    ]
    # env_str is typed `str | None`, but this setting has a default, so it is always text.
    return emails or [cast(str, settings.PORTAL_STAFF_EMAIL)]


# A claimed row is left alone this long; after it a send that died (worker killed mid-send) is
# retried by the resend job. Longer than any send can take with EMAIL_TIMEOUT.
CLAIM_LEASE = dt.timedelta(minutes=5)
# The resend job leaves fresh rows to the task queued at commit.
RESEND_AFTER = dt.timedelta(minutes=2)
RESEND_BATCH = 500


# A notice's text: a function rendering it in the active language (or a fixed/lazy text).
Text = str | Promise | Callable[[], str]


def _render(text: Text) -> str:
    return text() if callable(text) else str(text)


def recipients_by_language(
    recipients: list[str], *, client: Client | None = None, provider: Provider | None = None
) -> dict[str, list[str]]:
    """The recipients grouped by the language each reads (`email_language`), in their order."""
    from accounts.kernel.languages import email_language

    groups: dict[str, list[str]] = {}
    for email in recipients:
        language = email_language(email, client=client, provider=provider)
        groups.setdefault(language, []).append(email)
    return groups


def notify(
    *,
    key: str,
    recipients: list[str],
    subject: Text,
    body: Text,
    client: Client | None = None,
    provider: Provider | None = None,
) -> bool:
    """Record the notice under `key` in the outbox; it is queued for sending after commit.

    Each recipient reads it in their own language (a staff mailbox: the provider profile's
    default, `provider` or the client's provider): one outbox row per language.
    Returns False (and records nothing) when a notice with this key was already recorded.
    """
    recipients = [r for r in dict.fromkeys(recipients) if r]
    if not recipients:
        return False
    groups = recipients_by_language(recipients, client=client, provider=provider)
    created: list[int] = []
    try:
        with transaction.atomic():
            for position, (language, emails) in enumerate(groups.items()):
                with translation.override(language):
                    text_subject, text_body = _render(subject), _render(body)
                notification = Notification.objects.create(
                    key=key if position == 0 else f"{key}#{language}",
                    client=client,
                    recipients=emails,
                    subject=text_subject[:300],
                    body=text_body,
                )
                created.append(notification.pk)
    except IntegrityError:
        return False
    for pk in created:
        transaction.on_commit(partial(notification_enqueue, pk))
    return True


def notification_enqueue(notification_id: int) -> bool:
    """Hand the notice to Celery. A broker that is down costs the request nothing: the row is
    committed and the resend job queues it once the broker is back."""
    from accounts.tasks import notification_send

    try:
        notification_send.apply_async((notification_id,), retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the outbox row is the record
        log.warning(
            "notification %s not queued (broker unavailable); resent later", notification_id
        )
        return False
    return True


def _claim(notification_id: int, now: dt.datetime) -> bool:
    """Take the row for one send attempt; False when it is sent or another attempt holds it."""
    return (
        Notification.objects.filter(pk=notification_id, sent_at=None)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1)
        == 1
    )


def notification_deliver(notification_id: int) -> bool:
    """Send one outbox row once. True when it went out now; False when there was nothing to do
    (already sent, or another attempt holds it). A failed send releases the claim, records the
    error and raises, so the task retries it with backoff."""
    now = timezone.now()
    if not _claim(notification_id, now):
        return False
    notification = Notification.objects.get(pk=notification_id)
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            notification.recipients,
        )
    except Exception as exc:
        Notification.objects.filter(pk=notification_id).update(
            claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        log.warning("sending notification %s failed: %s", notification.key, exc)
        raise
    Notification.objects.filter(pk=notification_id, sent_at=None).update(
        sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return True


def notifications_resend(
    *, now: dt.datetime | None = None, batch: int = RESEND_BATCH
) -> dict[str, int]:
    """Queue again the notices still unsent (a broker that was down, retries given up, a worker
    killed mid-send), oldest first, in a bounded batch; a claimed row is left to its attempt."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(sent_at=None, created_at__lte=now - RESEND_AFTER)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    queued = sum(1 for pk in ids if notification_enqueue(pk))
    return {"unsent": len(ids), "queued": queued}


def notifications_pending_summary(*, now: dt.datetime | None = None) -> tuple[int, float | None]:
    """Operations (the `/metrics` gauges): how many notices the outbox has not sent yet, and
    the age in seconds of the oldest of them (None when none waits). Read through the outbox's
    partial index of unsent rows."""
    from django.db.models import Count, Min

    now = now or timezone.now()
    row = Notification.objects.filter(sent_at=None).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    oldest = row["oldest"]
    return int(row["n"]), None if oldest is None else max((now - oldest).total_seconds(), 0.0)

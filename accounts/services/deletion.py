"""Deletion of an account (art. 29.7) and the anonymising of what outlives it (art. 23).

Company and financial records stay for the legal retention period; only what identifies people
goes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.kernel.history import with_history_user
from accounts.models import Client, Director, Invitation, Notification, Provider, User

ANONYMISED_EMAIL = "anonymised@anonymised.invalid"


@transaction.atomic
def client_delete_account(
    *, client: Client, reason: str, acting_user: User | None = None
) -> Client:
    """Delete an account (art. 29.7): personal data anonymised, users deactivated.

    Company and financial records stay for the legal retention period; only what identifies
    people goes: users' names and emails, directors' names, the billing email.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == Client.Status.DELETED:
        return client
    for user in User.objects.select_for_update().filter(client=client).order_by("pk"):
        user.email = f"deleted-user-{user.pk}@anonymised.invalid"
        user.full_name = ""
        user.is_active = False
        user.set_unusable_password()
        with_history_user(user, acting_user).save()
    for director in client.directors.all():
        director.name = f"(anonymised director {director.pk})"
        with_history_user(director, acting_user).save()
    client.billing_email = f"deleted-client-{client.pk}@anonymised.invalid"
    # The history keeps who changed what, but not the personal data itself.
    User.history.filter(client_id=client.pk).update(email=ANONYMISED_EMAIL, full_name="")
    Director.history.filter(client_id=client.pk).update(name="(anonymised)")
    Client.history.filter(id=client.pk).update(billing_email=client.billing_email)
    client.status = Client.Status.DELETED
    client.deleted_at = timezone.now()
    client.rejection_reason = reason
    with_history_user(client, acting_user).save()
    return client


def deleted_accounts_contacts_anonymise(
    *, provider: Provider, before: dt.datetime
) -> dict[str, Any]:
    """Art. 23: contact details that outlive a deleted account (the recipients of its notices,
    its invitations) are anonymised once the retention period after deletion has passed.
    Set-based; running it twice changes nothing the second time."""
    clients = Client.objects.filter(
        provider=provider, status=Client.Status.DELETED, deleted_at__lt=before
    )
    notices = (
        Notification.objects.filter(client__in=clients)
        .exclude(recipients=[ANONYMISED_EMAIL])
        .update(recipients=[ANONYMISED_EMAIL])
    )
    invitations = (
        Invitation.objects.filter(client__in=clients)
        .exclude(email=ANONYMISED_EMAIL)
        .update(email=ANONYMISED_EMAIL)
    )
    return {"notifications": notices, "invitations": invitations}

"""Processing under mandatory law (art. 21.1.2): "If CM is required to Process Personal Data
under mandatory law CM shall inform Client hereof in writing before Processing unless the law
prohibits providing such information." """

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import optional_text
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.models import Client, User
from dataprocessing.models import MandatoryProcessing

from ._common import CLOCK_SKEW, require_compliance


@transaction.atomic
def mandatory_processing_record(
    *,
    client: Client,
    acting_user: User,
    law: str,
    description: str,
    starts_at: dt.datetime | None,
    informing_prohibited: bool = False,
    prohibition_basis: str = "",
    now: dt.datetime | None = None,
) -> MandatoryProcessing:
    """A compliance officer of the client's provider records the processing. Unless the law
    prohibits it, the client's admins are told in writing now, so the processing must start
    later than now (art. 21.1.2: "before Processing"); where it prohibits it, the basis is
    recorded and the client is not told."""
    require_compliance(acting_user)
    if not acting_user.serves(client):
        raise NotAllowed(gettext("You act only for the clients of the providers you serve."))
    now = now or timezone.now()
    law, description = optional_text(law), optional_text(description)
    basis = optional_text(prohibition_basis)
    errors: dict[str, list[str]] = {}
    if not law:
        errors["law"] = [gettext("Name the mandatory law that requires the processing.")]
    if not description:
        errors["description"] = [gettext("Describe the processing and the personal data.")]
    if starts_at is None:
        errors["starts_at"] = [gettext("Give when the processing starts.")]
    elif not informing_prohibited and starts_at <= now - CLOCK_SKEW:
        errors["starts_at"] = [
            gettext(
                "The client must be informed in writing before the processing (art. 21.1.2): "
                "it cannot start in the past."
            )
        ]
    if informing_prohibited and not basis:
        errors["prohibition_basis"] = [
            gettext("Say where the law prohibits informing the client (art. 21.1.2).")
        ]
    if errors or starts_at is None:
        raise ValidationFailed(errors, article="21.1.2")
    record = MandatoryProcessing(
        client=client,
        law=law,
        description=description,
        starts_at=starts_at,
        informing_prohibited=bool(informing_prohibited),
        prohibition_basis=basis if informing_prohibited else "",
        logged_by=acting_user,
        logged_at=now,
        client_informed_at=None if informing_prohibited else now,
    )
    save_with_history(record, acting_user)
    if not informing_prohibited:
        start = f"{starts_at:%Y-%m-%d %H:%M %Z}"
        notify(
            key=f"mandatory-processing:{record.pk}",
            client=client,
            recipients=client_admin_emails(client),
            subject=lambda: gettext("Processing of personal data required by law"),
            body=lambda: (
                gettext(
                    "%(provider)s is required to process personal data under %(law)s and does so as "
                    "an independent controller from %(start)s (art. 21.1.2):\n%(description)s"
                )
                % {
                    "provider": client.provider.name,
                    "law": law,
                    "start": start,
                    "description": description,
                }
            ),
        )
    return record

"""Records of processing carried out for each client (art. 21.8, 24)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from accounts.kernel.errors import Conflict, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import optional_text
from accounts.models import Client, User
from dataprocessing.models import ProcessingRecord, RetentionPolicy

from ._common import require_compliance

RECORD_DEFAULTS = {
    "subject_categories": (
        "(Potential) customers of the client or its clients; employees, contractors and hired "
        "persons; contact persons of prospects, customers and business partners; the client's "
        "authorised users (art. 24.2)"
    ),
    "data_types": (
        "First and last name; contact information (company, address, email, phone); IP address "
        "(art. 24.3)"
    ),
    "purposes": (
        "Provision of the services under the agreement; handling complaints and disputes; "
        "information to emergency services; preventing fraud and criminal activities (art. 24.4)"
    ),
}
# The parts of the record that are required, with the article each comes from.
REQUIRED_PARTS = {
    "subject_categories": "24.2",
    "data_types": "24.3",
    "purposes": "24.4",
    "retention": "23",
    "toms_reference": "21.2",
}


def processing_record_defaults(*, client: Client) -> dict[str, Any]:
    """The contract's own description (art. 24.2–24.4) as a starting point for a client's record."""
    retention = ", ".join(
        f"{p.get_category_display()}: {p.period_days} days"
        for p in RetentionPolicy.objects.filter(provider_id=client.provider_id)
    )
    return {
        **RECORD_DEFAULTS,
        "transfers": "",
        "retention": retention,
        "toms_reference": "art. 21.2",
    }


@transaction.atomic
def processing_record_save(
    *,
    client: Client,
    acting_user: User,
    subject_categories: str,
    data_types: str,
    purposes: str,
    retention: str,
    toms_reference: str,
    transfers: str = "",
) -> ProcessingRecord:
    """Keep the record of processing carried out for a client complete and up to date (art.
    21.8, 24)."""
    require_compliance(acting_user)
    values = {
        "subject_categories": optional_text(subject_categories),
        "data_types": optional_text(data_types),
        "purposes": optional_text(purposes),
        "transfers": optional_text(transfers),
        "retention": optional_text(retention),
        "toms_reference": optional_text(toms_reference),
    }
    errors = {
        field: [f"This part of the record is required (art. {article})."]
        for field, article in REQUIRED_PARTS.items()
        if not values[field]
    }
    if errors:
        raise ValidationFailed(errors, article="21.8")
    Client.objects.select_for_update().filter(pk=client.pk).first()
    record = ProcessingRecord.objects.filter(client=client).first() or ProcessingRecord(
        client=client
    )
    for field, value in values.items():
        setattr(record, field, value)
    return save_with_history(record, acting_user, clean=True)


@transaction.atomic
def processing_record_create(*, client: Client, acting_user: User) -> ProcessingRecord:
    """Create the missing record of processing of a client that has none, from the contract's
    own description (`processing_record_defaults`), for the officer to complete (art. 21.8:
    "keep a record of the processing carried out for each client"). A client that has a
    record already is refused, naming the client field, and nothing changes."""
    require_compliance(acting_user)
    Client.objects.select_for_update().filter(pk=client.pk).first()
    if ProcessingRecord.objects.filter(client=client).exists():
        raise Conflict(
            gettext("%(client)s has a record of processing already; edit it instead (art. 21.8).")
            % {"client": client.legal_name},
            field="client",
            article="21.8",
        )
    return processing_record_save(
        client=client, acting_user=acting_user, **processing_record_defaults(client=client)
    )

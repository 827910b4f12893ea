"""Sub-processors and affiliates (art. 21.9, 21.10; GDPR art. 28(2)): the register, announced
changes, client objections, and the job that makes due changes effective."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.kernel.roles import require_serves_provider
from accounts.kernel.uploads import document_check
from accounts.models import Client, Provider, User
from dataprocessing.models import SubProcessor, SubProcessorChange, SubProcessorObjection

from ._common import compliance_emails, fmt, require_client_admin, require_compliance

# EU member states plus Iceland, Liechtenstein and Norway (art. 21.10: transfers outside need safeguards).
EEA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()
)
SUB_PROCESSOR_FIELDS = (
    "name",
    "kind",
    "country",
    "services",
    "agreement_date",
    "agreement_document",
    "in_eea",
    "safeguard",
    "active_to",
)
ALREADY_OBJECTED = "This client has already objected to this change."


def active_from_refused() -> ValidationFailed:
    """Nobody sets `active_from` by hand: a sub-processor is in use only from the day its
    announced change takes effect, after the notice (profile.subprocessor_notice_days, 30 days;
    GDPR art. 28(2), art. 21.9). The change job sets it; services, forms, API and admin refuse
    it with this error."""
    return ValidationFailed(
        {
            "active_from": [
                gettext(
                    "Active from cannot be set directly: announce the change, and the "
                    "sub-processor becomes active when its notice period has run (GDPR art. "
                    "28(2), art. 21.9)."
                )
            ]
        },
        article="21.9",
    )


def _validate(sp: SubProcessor) -> None:
    """Check the register entry; refuse a transfer outside the EEA without a safeguard (21.10)."""
    errors: dict[str, list[str]] = {}
    sp.name = optional_text(sp.name)
    sp.services = optional_text(sp.services)
    sp.country = optional_text(sp.country).upper()
    if not sp.name:
        errors["name"] = [gettext("Name the sub-processor (art. 21.9).")]
    if sp.kind not in SubProcessor.Kind.values:
        errors["kind"] = [
            gettext("Kind must be one of %(choices)s (art. 21.9.1).")
            % {"choices": ", ".join(SubProcessor.Kind.values)}
        ]
    if len(sp.country) != 2 or not sp.country.isalpha():
        errors["country"] = [gettext("Country must be a two-letter ISO 3166 code.")]
    if not sp.services:
        errors["services"] = [
            gettext("Describe the services the sub-processor performs (art. 21.9.2).")
        ]
    if sp.agreement_date is None:
        errors["agreement_date"] = [
            gettext("Give the date of the written agreement with the sub-processor (art. 21.9.2).")
        ]
    if sp.safeguard not in SubProcessor.Safeguard.values:
        errors["safeguard"] = [gettext("Unknown transfer safeguard.")]
    if sp.in_eea is None:
        sp.in_eea = sp.country in EEA_COUNTRIES
    elif "country" not in errors and bool(sp.in_eea) != (sp.country in EEA_COUNTRIES):
        errors["in_eea"] = [
            (
                gettext("%(country)s is in the EEA (art. 21.10).")
                if sp.country in EEA_COUNTRIES
                else gettext("%(country)s is outside the EEA (art. 21.10).")
            )
            % {"country": sp.country}
        ]
    if not sp.in_eea and not sp.safeguard and "safeguard" not in errors:
        errors["safeguard"] = [
            gettext(
                "A sub-processor outside the EEA needs a transfer safeguard: standard contractual "
                "clauses, an adequacy decision or binding corporate rules (art. 21.10, GDPR art. 46)."
            )
        ]
    if sp.active_from and sp.active_to and sp.active_to < sp.active_from:
        errors["active_to"] = [gettext("Active to cannot be before active from.")]
    if errors:
        raise ValidationFailed(errors, article="21.10" if "safeguard" in errors else "21.9")


@transaction.atomic
def sub_processor_register(
    *,
    provider: Provider,
    acting_user: User,
    name: str,
    kind: str,
    country: str,
    services: str,
    agreement_date: dt.date,
    in_eea: bool | None = None,
    safeguard: str = "",
    agreement_document=None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
) -> SubProcessor:
    """Enter a sub-processor or affiliate in the register (art. 21.9, 21.10).

    "Any transfer of Personal Data outside the EEA requires appropriate safeguards" (21.10): an
    entry outside the EEA without one is refused. `in_eea` is derived from the country when not
    given. A new entry is not yet in use: `active_from` is refused (`active_from_refused`);
    announce it with `sub_processor_change_announce` and the change job makes it active when
    the notice ends (GDPR art. 28(2), art. 21.9).
    """
    require_compliance(acting_user)
    require_serves_provider(acting_user, provider)
    if active_from is not None:
        raise active_from_refused()
    sp = SubProcessor(
        provider=provider,
        name=name,
        kind=kind,
        country=country,
        services=services,
        agreement_date=agreement_date,
        in_eea=in_eea,
        safeguard=safeguard or "",
        active_to=active_to,
    )
    if agreement_document:
        document_check(agreement_document, field="agreement_document", what="The agreement")
        sp.agreement_document = agreement_document
    _validate(sp)
    return save_with_history(sp, acting_user, clean=True)


@transaction.atomic
def sub_processor_update(
    *, sub_processor: SubProcessor, acting_user: User, **changes
) -> SubProcessor:
    """Correct a register entry (art. 21.9); the safeguard rule of 21.10 still holds. History
    keeps the old values. `active_from` is never changed here (`active_from_refused`): only the
    notice of an announced change makes an entry active (GDPR art. 28(2))."""
    require_compliance(acting_user)
    if "active_from" in changes:
        raise active_from_refused()
    unknown = set(changes) - set(SUB_PROCESSOR_FIELDS)
    if unknown:
        raise ValidationFailed({sorted(unknown)[0]: [gettext("This field cannot be changed.")]})
    if changes.get("agreement_document"):
        document_check(
            changes["agreement_document"], field="agreement_document", what="The agreement"
        )
    sp = SubProcessor.objects.select_for_update().get(pk=sub_processor.pk)
    for field, value in changes.items():
        if field == "safeguard":
            value = value or ""
        setattr(sp, field, value)
    _validate(sp)
    return save_with_history(sp, acting_user, clean=True)


def _announce_errors(
    provider: Provider, sub_processor: SubProcessor, kind: str, replaces: SubProcessor | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if sub_processor.provider_id != provider.pk:
        errors["sub_processor"] = [
            gettext("This sub-processor is not in this provider's register.")
        ]
    if kind not in SubProcessorChange.Kind.values:
        errors["kind"] = [
            gettext("Kind must be one of %(choices)s.")
            % {"choices": ", ".join(SubProcessorChange.Kind.values)}
        ]
    today = local_date(provider)
    if (
        sub_processor.active_from
        and sub_processor.active_from <= today
        and not sub_processor.active_to
    ):
        errors["sub_processor"] = [
            gettext("This sub-processor is already in use; nothing to announce (art. 21.9).")
        ]
    if SubProcessorChange.objects.filter(
        sub_processor=sub_processor, status=SubProcessorChange.Status.ANNOUNCED
    ).exists():
        errors["sub_processor"] = [gettext("A change for this sub-processor is already announced.")]
    if kind == SubProcessorChange.Kind.REPLACEMENT:
        if replaces is None:
            errors["replaces"] = [gettext("Name the sub-processor being replaced.")]
        elif replaces.provider_id != provider.pk or replaces.pk == sub_processor.pk:
            errors["replaces"] = [
                gettext(
                    "The replaced sub-processor must be another entry of this provider's register."
                )
            ]
    elif replaces is not None:
        errors["replaces"] = [gettext("Only a replacement names a replaced sub-processor.")]
    return errors


def _announce_to_clients(change: SubProcessorChange) -> None:
    """Every active client's admins are told of the intended change (GDPR art. 28(2))."""
    provider, sub_processor, replaces = change.provider, change.sub_processor, change.replaces

    def what_text() -> str:
        names = {
            "name": sub_processor.name,
            "country": sub_processor.country,
            "replaces": replaces.name if replaces else "",
        }
        if replaces:
            return gettext("%(name)s (%(country)s) will replace %(replaces)s") % names
        return gettext("%(name)s (%(country)s) will be added") % names

    clients = Client.objects.filter(provider=provider, status=Client.Status.ACTIVE).order_by("pk")
    for client in clients:
        notify(
            key=f"subprocessor-change:{change.pk}:{client.pk}",
            client=client,
            recipients=client_admin_emails(client),
            subject=lambda: (
                gettext("Intended sub-processor change: %(name)s") % {"name": sub_processor.name}
            ),
            body=(
                lambda: (
                    gettext(
                        "%(provider)s intends a change of sub-processors (art. 21.9, GDPR art. 28(2)): "
                        "%(what)s.\nServices: %(services)s\n%(description)s\nIt takes effect on "
                        "%(effective)s. You may object in the portal until then."
                    )
                    % {
                        "provider": provider.name,
                        "what": what_text(),
                        "services": sub_processor.services,
                        "description": change.description,
                        "effective": fmt(change.effective_at, provider),
                    }
                )
            ),
        )


@transaction.atomic
def sub_processor_change_announce(
    *,
    provider: Provider,
    sub_processor: SubProcessor,
    kind: str,
    acting_user: User,
    description: str = "",
    replaces: SubProcessor | None = None,
) -> SubProcessorChange:
    """Announce an intended addition or replacement of a sub-processor (GDPR art. 28(2), art. 21.9).

    It takes effect `profile.subprocessor_notice_days` days (30) after the announcement; every
    active client's admins are told now, and may object until then.
    """
    require_compliance(acting_user)
    require_serves_provider(acting_user, provider)
    sub_processor = SubProcessor.objects.select_for_update().get(pk=sub_processor.pk)
    errors = _announce_errors(provider, sub_processor, kind, replaces)
    if errors:
        raise ValidationFailed(errors, article="21.9")
    now = timezone.now()
    change = SubProcessorChange(
        provider=provider,
        kind=kind,
        sub_processor=sub_processor,
        replaces=replaces,
        description=optional_text(description),
        announced_at=now,
        announced_by=acting_user,
        effective_at=now + dt.timedelta(days=provider.subprocessor_notice_days),
    )
    save_with_history(change, acting_user, clean=True)
    _announce_to_clients(change)
    return change


@transaction.atomic
def sub_processor_change_withdraw(
    *, change: SubProcessorChange, acting_user: User
) -> SubProcessorChange:
    """Withdraw an announced change before it takes effect (e.g. after an objection, GDPR 28(2))."""
    require_compliance(acting_user)
    change = SubProcessorChange.objects.select_for_update().get(pk=change.pk)
    if change.status != SubProcessorChange.Status.ANNOUNCED:
        raise ApplicationError(
            gettext("Only an announced change can be withdrawn."), field="status"
        )
    change.status = SubProcessorChange.Status.WITHDRAWN
    return save_with_history(change, acting_user)


@transaction.atomic
def sub_processor_object(
    *, change: SubProcessorChange, client: Client, acting_user: User, reason: str
) -> SubProcessorObjection:
    """A client objects to an intended sub-processor change before it takes effect (GDPR art.
    28(2), art. 21.9).

    The objection is recorded for staff to resolve; one per client and change.
    """
    require_client_admin(acting_user, client)
    reason = clean_text(
        reason, field="reason", message=gettext("Give the reason for the objection (art. 21.9).")
    )
    change = SubProcessorChange.objects.select_for_update().get(pk=change.pk)
    if change.provider_id != client.provider_id:
        raise NotAllowed(gettext("This change concerns another provider's sub-processors."))
    if (
        change.status != SubProcessorChange.Status.ANNOUNCED
        or timezone.now() >= change.effective_at
    ):
        raise ApplicationError(
            gettext(
                "This change has already taken effect or was withdrawn; an objection must come before "
                "it takes effect (GDPR art. 28(2), art. 21.9)."
            ),
            field="change",
            code="too_late",
            article="21.9",
        )
    objection, _ = create_once(
        SubProcessorObjection,
        key_lookup={"change": change, "client": client},
        values={"objected_by": acting_user, "reason": reason},
        same=lambda existing: False,  # a second objection is refused, never replayed
        conflict_message=ALREADY_OBJECTED,
        field="change",
    )
    # the kernel inserts through the manager: record on the history row who objected
    objection.history.update(history_user=acting_user)
    notify(
        key=f"subprocessor-objection:{objection.pk}",
        client=client,
        recipients=compliance_emails(provider=client.provider_id),
        subject=lambda: (
            gettext("Objection to sub-processor change: %(client)s") % {"client": client.legal_name}
        ),
        body=(
            lambda: (
                gettext("%(client)s objects to %(sub_processor)s (%(kind)s): %(reason)s")
                % {
                    "client": client.legal_name,
                    "sub_processor": change.sub_processor.name,
                    "kind": change.get_kind_display(),
                    "reason": objection.reason,
                }
            )
        ),
    )
    return objection


@transaction.atomic
def sub_processor_objection_resolve(
    *,
    objection: SubProcessorObjection,
    acting_user: User,
    resolution: str,
    decision: str,
) -> SubProcessorObjection:
    """Staff decide a client's objection to an announced change (GDPR art. 28(2), art. 21.9):
    uphold it or reject it, with an answer the client reads in the portal and by email.

    Upholding records that the provider accepts the objection; what follows (withdrawing the
    change with `sub_processor_change_withdraw`, or another arrangement for this client) is said
    in the answer. Rejecting it lets the change take effect at the end of its notice.
    """
    require_compliance(acting_user)
    errors: dict[str, list[str]] = {}
    if decision not in SubProcessorObjection.Decision.values:
        errors["decision"] = [gettext("Decide the objection: upheld or rejected (art. 21.9).")]
    if not optional_text(resolution):
        errors["resolution"] = [gettext("Answer the client: say why, and what follows.")]
    if errors:
        raise ValidationFailed(errors, article="21.9")
    resolution = optional_text(resolution)
    objection = SubProcessorObjection.objects.select_for_update().get(pk=objection.pk)
    if objection.status != SubProcessorObjection.Status.OPEN:
        raise ApplicationError(gettext("This objection is already resolved."), field="status")
    objection.status = SubProcessorObjection.Status.RESOLVED
    objection.decision = decision
    objection.resolution = resolution
    objection.resolved_by = acting_user
    objection.resolved_at = timezone.now()
    save_with_history(objection, acting_user)
    notify(
        key=f"subprocessor-objection-resolved:{objection.pk}",
        client=objection.client,
        recipients=client_admin_emails(objection.client),
        subject=lambda: (
            gettext("Your objection to a sub-processor change: %(decision)s")
            % {"decision": objection.get_decision_display()}
        ),
        body=objection.resolution,
    )
    return objection


def _apply(change: SubProcessorChange) -> None:
    """The new sub-processor is active from the effective day (provider's time zone); a
    replaced one is active until the day before."""
    day = local_date(change.provider, change.effective_at)
    sp = SubProcessor.objects.select_for_update().get(pk=change.sub_processor_id)
    if sp.active_from is None or sp.active_from > day:
        sp.active_from = day
    sp.active_to = None
    save_with_history(sp, None)
    if change.replaces_id:
        old = SubProcessor.objects.select_for_update().get(pk=change.replaces_id)
        if old.active_to is None or old.active_to >= day:
            old.active_to = day - dt.timedelta(days=1)
            save_with_history(old, None)
    change.status = SubProcessorChange.Status.EFFECTIVE
    save_with_history(change, None)


def sub_processor_changes_apply(
    *, now: dt.datetime | None = None, batch_size: int = 200
) -> dict[str, Any]:
    """Job: announced changes whose notice has run become effective (GDPR art. 28(2), art. 21.9).

    Idempotent: only announced, due changes are touched.
    """
    now = now or timezone.now()
    applied = 0
    while True:
        with transaction.atomic():
            batch = list(
                SubProcessorChange.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=SubProcessorChange.Status.ANNOUNCED, effective_at__lte=now)
                .select_related("provider")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return {"applied": applied}
            for change in batch:
                _apply(change)
            applied += len(batch)
            if len(batch) < batch_size:
                return {"applied": applied}

"""factory_boy factories for data processing, built on the accounts factories."""

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import Provider
from dataprocessing.models import (
    AuditRequest,
    Breach,
    BreachNotification,
    DataSubjectRequest,
    SubProcessor,
)
from dataprocessing.services import audits, breaches, dsrs, records, sub_processors
from tests.accounts.factories import ClientFactory, ComplianceOfficerFactory


class SubProcessorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubProcessor

    provider = factory.LazyFunction(lambda: Provider.objects.get(code="cm-cn"))
    name = factory.Sequence(lambda n: f"Carrier {n} GmbH")
    kind = SubProcessor.Kind.THIRD_PARTY
    country = "DE"
    services = "SMS termination"
    agreement_date = dt.date(2025, 1, 15)
    in_eea = True
    safeguard = ""
    active_from = dt.date(2025, 2, 1)


class AuditRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditRequest

    client = factory.SubFactory(ClientFactory)
    kind = AuditRequest.Kind.AUDIT
    requested_by = factory.SubFactory(ComplianceOfficerFactory)
    requested_at = factory.LazyFunction(timezone.now)
    status = AuditRequest.Status.REQUESTED
    auditor_name = "A. Auditor"
    auditor_accredited = True
    auditor_not_competitor = True
    requester_not_competitor = True


class DataSubjectRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataSubjectRequest

    client = factory.SubFactory(ClientFactory)
    type = DataSubjectRequest.Type.ACCESS
    received_by = DataSubjectRequest.ReceivedBy.CLIENT
    subject_reference = factory.Sequence(lambda n: f"+3161234{n:04d}")
    received_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.received_at + dt.timedelta(days=30))


class BreachFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Breach

    provider = factory.LazyFunction(lambda: Provider.objects.get(code="cm-cn"))
    detected_at = factory.LazyFunction(timezone.now)
    aware_at = factory.LazyAttribute(lambda o: o.detected_at)
    description = "Misconfigured bucket"
    data_types = "phone numbers"
    approx_subjects = 100
    measures = "Bucket closed"
    logged_by = factory.SubFactory(ComplianceOfficerFactory)


class BreachNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BreachNotification

    breach = factory.SubFactory(BreachFactory)
    client = factory.SubFactory(ClientFactory)
    deadline = factory.LazyAttribute(lambda o: o.breach.aware_at + dt.timedelta(hours=48))


# --- Made through the services, as the portal makes them -----------------------------------
def register_sub_processor(
    provider, officer, name="Acme Cloud BV", country="NL", active=True, **extra
):
    """A register entry through the service; `active` makes it one in use since 2 Jan 2024, as
    if its announced change had taken effect then (the service never sets `active_from`)."""
    sp = sub_processors.sub_processor_register(
        provider=provider,
        acting_user=officer,
        name=name,
        kind="third_party",
        country=country,
        services="Hosting",
        agreement_date=dt.date(2024, 1, 1),
        **extra,
    )
    if active:
        SubProcessor.objects.filter(pk=sp.pk).update(active_from=dt.date(2024, 1, 2))
        sp.refresh_from_db()
    return sp


def information_request(client, admin):
    return audits.audit_request(
        client=client,
        kind=AuditRequest.Kind.INFORMATION,
        acting_user=admin,
        requester_not_competitor=True,
    )


def receive_dsr(client, user=None, **kw):
    """A data-subject request received by the provider (erasure), logged by `user`."""
    data = {"type": "erasure", "received_by": "provider", "subject_reference": "+31612345678"}
    data.update(kw)
    return dsrs.dsr_receive(client=client, acting_user=user, **data)


def log_breach(provider, officer, *clients):
    """A breach detected two hours ago affecting `clients`."""
    return breaches.breach_log(
        provider=provider,
        detected_at=timezone.now() - dt.timedelta(hours=2),
        description="Misdirected export",
        data_types="phone numbers",
        approx_subjects=120,
        measures="Export revoked",
        affected_clients=list(clients),
        acting_user=officer,
    )


def keep_record(client, officer):
    return records.processing_record_save(
        client=client,
        acting_user=officer,
        subject_categories="Customers",
        data_types="Phone numbers",
        purposes="Messaging",
        retention="90 days",
        toms_reference="art. 21.2",
    )

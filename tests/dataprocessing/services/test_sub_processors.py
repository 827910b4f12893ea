"""Sub-processors and affiliates (art. 21.9, 21.10; GDPR 28(2))."""

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Client
from dataprocessing import selectors
from dataprocessing.models import SubProcessor, SubProcessorChange, SubProcessorObjection
from dataprocessing.services import sub_processors
from tests.accounts.factories import ClientAdminFactory, ClientFactory
from tests.dataprocessing.factories import SubProcessorFactory


def register(provider, user, **kw):
    data = {
        "name": "Carrier Ltd",
        "kind": SubProcessor.Kind.THIRD_PARTY,
        "country": "DE",
        "services": "SMS termination",
        "agreement_date": dt.date(2026, 1, 5),
    }
    data.update(kw)
    return sub_processors.sub_processor_register(provider=provider, acting_user=user, **data)


def test_a_sub_processor_outside_the_eea_without_a_safeguard_is_refused(cm, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        register(cm, compliance_officer, country="US")
    assert exc.value.field == "safeguard"
    assert "21.10" in exc.value.message
    assert not SubProcessor.objects.exists()


def test_a_sub_processor_outside_the_eea_with_standard_contractual_clauses_is_registered(
    cm, compliance_officer
):
    sp = register(cm, compliance_officer, country="us", safeguard=SubProcessor.Safeguard.SCC)
    sp.refresh_from_db()
    assert (sp.country, sp.in_eea, sp.safeguard) == ("US", False, "scc")
    assert sp.history.first().history_user == compliance_officer


def test_the_database_refuses_a_transfer_outside_the_eea_without_safeguard_too(cm):
    with pytest.raises(IntegrityError), transaction.atomic():
        SubProcessorFactory(provider=cm, country="US", in_eea=False, safeguard="")


def test_in_eea_must_agree_with_the_country(cm, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        register(cm, compliance_officer, country="CN", in_eea=True)
    assert exc.value.field == "in_eea"


def test_only_a_compliance_officer_keeps_the_register(cm, client_admin, billing_staff):
    for user in (client_admin, billing_staff):
        with pytest.raises(NotAllowed):
            register(cm, user)


def test_an_update_that_moves_a_sub_processor_outside_the_eea_needs_a_safeguard(
    cm, compliance_officer
):
    sp = register(cm, compliance_officer)
    with pytest.raises(ValidationFailed) as exc:
        sub_processors.sub_processor_update(
            sub_processor=sp, acting_user=compliance_officer, country="IN", in_eea=False
        )
    assert exc.value.field == "safeguard"
    sp.refresh_from_db()
    assert sp.country == "DE"
    sub_processors.sub_processor_update(
        sub_processor=sp,
        acting_user=compliance_officer,
        country="IN",
        in_eea=False,
        safeguard="scc",
    )
    sp.refresh_from_db()
    assert (sp.country, sp.safeguard) == ("IN", "scc")
    assert sp.history.count() == 2


def test_an_announced_addition_takes_effect_after_the_notice_period_and_every_active_clients_admins_are_told(
    cm, compliance_officer, client_admin, other_admin, django_capture_on_commit_callbacks
):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING)
    pending_admin = ClientAdminFactory(client=pending)
    sp = register(cm, compliance_officer, name="New Carrier")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        change = sub_processors.sub_processor_change_announce(
            provider=cm,
            sub_processor=sp,
            kind="addition",
            acting_user=compliance_officer,
            description="More routes",
        )
    after = timezone.now()
    assert before + dt.timedelta(days=30) <= change.effective_at <= after + dt.timedelta(days=30)
    recipients = {r for m in mail.outbox for r in m.to}
    assert {client_admin.email, other_admin.email} <= recipients
    assert pending_admin.email not in recipients
    assert all("New Carrier" in m.subject for m in mail.outbox)


def test_the_notice_period_comes_from_the_provider_profile(cx, compliance_officer):
    cx.subprocessor_notice_days = 45
    cx.save()
    sp = register(cx, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cx, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    assert change.effective_at - change.announced_at == dt.timedelta(days=45)


def test_a_replacement_names_the_replaced_sub_processor(cm, compliance_officer):
    new = register(cm, compliance_officer, name="New")
    with pytest.raises(ValidationFailed) as exc:
        sub_processors.sub_processor_change_announce(
            provider=cm, sub_processor=new, kind="replacement", acting_user=compliance_officer
        )
    assert exc.value.field == "replaces"
    assert not SubProcessorChange.objects.exists()


def test_a_client_may_object_before_the_change_takes_effect(
    cm, compliance_officer, client_admin, client_company
):
    sp = register(cm, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    objection = sub_processors.sub_processor_object(
        change=change,
        client=client_company,
        acting_user=client_admin,
        reason="Not in our approved list",
    )
    assert objection.status == SubProcessorObjection.Status.OPEN
    assert objection.history.get().history_user == client_admin
    with pytest.raises(Conflict):
        sub_processors.sub_processor_object(
            change=change, client=client_company, acting_user=client_admin, reason="again"
        )


def test_an_objection_after_the_change_took_effect_is_refused(
    cm, compliance_officer, client_admin, client_company
):
    sp = register(cm, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    SubProcessorChange.objects.filter(pk=change.pk).update(
        effective_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(ApplicationError) as exc:
        sub_processors.sub_processor_object(
            change=change, client=client_company, acting_user=client_admin, reason="late"
        )
    assert exc.value.field == "change" and "28(2)" in exc.value.message
    assert not SubProcessorObjection.objects.exists()


def test_an_admin_of_another_client_cannot_object_for_this_client(
    cm, compliance_officer, other_admin, client_company
):
    sp = register(cm, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    with pytest.raises(NotAllowed):
        sub_processors.sub_processor_object(
            change=change, client=client_company, acting_user=other_admin, reason="x"
        )


def test_a_client_of_another_provider_cannot_object(cm, compliance_officer, nl_admin, nl_company):
    sp = register(cm, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    with pytest.raises(NotAllowed):
        sub_processors.sub_processor_object(
            change=change, client=nl_company, acting_user=nl_admin, reason="x"
        )


def test_staff_resolve_an_objection_and_the_client_is_told(
    cm, compliance_officer, client_admin, client_company, django_capture_on_commit_callbacks
):
    sp = register(cm, compliance_officer)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    objection = sub_processors.sub_processor_object(
        change=change, client=client_company, acting_user=client_admin, reason="no"
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sub_processors.sub_processor_objection_resolve(
            objection=objection,
            acting_user=compliance_officer,
            resolution="Change withdrawn for you",
            decision="upheld",
        )
    objection.refresh_from_db()
    assert (objection.status, objection.resolved_by) == ("resolved", compliance_officer)
    assert objection.decision == "upheld"
    assert [m.to for m in mail.outbox] == [[client_admin.email]]
    with pytest.raises(ApplicationError) as again:
        sub_processors.sub_processor_objection_resolve(
            objection=objection, acting_user=compliance_officer, resolution="x", decision="rejected"
        )
    assert again.value.field == "status"
    objection.refresh_from_db()
    assert objection.resolution == "Change withdrawn for you"


def test_the_job_makes_a_due_replacement_effective_and_ends_the_replaced_one_once(
    cm, compliance_officer
):
    old = SubProcessorFactory(provider=cm, name="Old", active_from=dt.date(2025, 1, 1))
    new = register(cm, compliance_officer, name="New")
    change = sub_processors.sub_processor_change_announce(
        provider=cm,
        sub_processor=new,
        kind="replacement",
        replaces=old,
        acting_user=compliance_officer,
    )
    # not due yet: nothing changes
    assert sub_processors.sub_processor_changes_apply() == {"applied": 0}
    due = timezone.now() - dt.timedelta(hours=1)
    SubProcessorChange.objects.filter(pk=change.pk).update(effective_at=due)
    assert sub_processors.sub_processor_changes_apply() == {"applied": 1}
    assert sub_processors.sub_processor_changes_apply() == {"applied": 0}
    new.refresh_from_db()
    old.refresh_from_db()
    change.refresh_from_db()
    day = local_date(cm, due)
    assert change.status == SubProcessorChange.Status.EFFECTIVE
    assert new.active_from == day and new.active_to is None
    assert old.active_to == day - dt.timedelta(days=1)
    assert list(selectors.sub_processors_current(provider=cm, on=day)) == [new]


def test_a_client_sees_its_providers_current_list_only(cm, cx, client_admin):
    mine = SubProcessorFactory(provider=cm, name="Mine")
    SubProcessorFactory(provider=cm, name="Ended", active_to=dt.date(2025, 6, 1))
    SubProcessorFactory(provider=cm, name="Future", active_from=None)
    SubProcessorFactory(provider=cx, name="Other provider's")
    assert list(selectors.sub_processor_list(user=client_admin)) == [mine]

"""A sub-processor is in use only once its announced change's notice has run (GDPR art. 28(2),
art. 21.9: profile.subprocessor_notice_days, 30): `active_from` is never set directly."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ValidationFailed
from dataprocessing.models import SubProcessor, SubProcessorObjection
from dataprocessing.services import sub_processors
from tests.dataprocessing.factories import register_sub_processor


def test_registering_with_active_from_is_refused_naming_it(cm, compliance_officer):
    with pytest.raises(ValidationFailed) as exc:
        sub_processors.sub_processor_register(
            provider=cm,
            acting_user=compliance_officer,
            name="Carrier Ltd",
            kind="third_party",
            country="DE",
            services="SMS termination",
            agreement_date=dt.date(2026, 1, 5),
            active_from=dt.date(2026, 1, 6),
        )
    assert list(exc.value.errors) == ["active_from"]
    assert "28(2)" in exc.value.message
    assert not SubProcessor.objects.exists()


def test_updating_active_from_is_refused_and_changes_nothing(cm, compliance_officer):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    for value in (dt.date(2026, 1, 6), None):
        with pytest.raises(ValidationFailed) as exc:
            sub_processors.sub_processor_update(
                sub_processor=sp, acting_user=compliance_officer, active_from=value, name="X"
            )
        assert list(exc.value.errors) == ["active_from"]
    sp.refresh_from_db()
    assert (sp.active_from, sp.name) == (None, "Acme Cloud BV")


def test_the_entry_becomes_active_only_when_the_notice_has_run(cm, compliance_officer):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    assert change.effective_at == change.announced_at + dt.timedelta(days=30)
    # a second before the notice ends nothing happens
    assert sub_processors.sub_processor_changes_apply(
        now=change.effective_at - dt.timedelta(seconds=1)
    ) == {"applied": 0}
    sp.refresh_from_db()
    assert sp.active_from is None
    # at its end the entry is active from that day, in the provider's calendar
    assert sub_processors.sub_processor_changes_apply(now=change.effective_at) == {"applied": 1}
    sp.refresh_from_db()
    assert sp.active_from == local_date(cm, change.effective_at)


@pytest.fixture
def objection(cm, compliance_officer, client_company, client_admin):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    return sub_processors.sub_processor_object(
        change=change, client=client_company, acting_user=client_admin, reason="Outside the EU"
    )


@pytest.mark.parametrize(
    ("decision", "resolution", "field"),
    [("", "Answer", "decision"), ("maybe", "Answer", "decision"), ("upheld", " ", "resolution")],
)
def test_an_objection_is_decided_and_answered(
    objection, compliance_officer, decision, resolution, field
):
    with pytest.raises(ValidationFailed) as exc:
        sub_processors.sub_processor_objection_resolve(
            objection=objection,
            acting_user=compliance_officer,
            decision=decision,
            resolution=resolution,
        )
    assert exc.value.field == field
    objection.refresh_from_db()
    assert (objection.status, objection.decision) == (SubProcessorObjection.Status.OPEN, "")


def test_a_rejected_objection_lets_the_change_take_effect(
    objection, compliance_officer, client_admin, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sub_processors.sub_processor_objection_resolve(
            objection=objection,
            acting_user=compliance_officer,
            decision="rejected",
            resolution="The data stays in Frankfurt",
        )
    objection.refresh_from_db()
    assert (objection.status, objection.decision) == ("resolved", "rejected")
    assert objection.resolved_at <= timezone.now()
    assert [m.to for m in mailoutbox] == [[client_admin.email]]
    assert "rejected" in mailoutbox[0].subject.lower()
    change = objection.change
    assert sub_processors.sub_processor_changes_apply(now=change.effective_at) == {"applied": 1}

"""Every job in the beat schedule is registered, and `manage.py run_job` runs it once."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from portal import jobs


def test_every_job_is_scheduled_and_every_scheduled_job_exists():
    scheduled = {entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == set(jobs.registry())


@pytest.mark.django_db
def test_run_job_runs_a_job_and_prints_what_it_did():
    out = StringIO()
    call_command("run_job", "terms_deem_accepted", stdout=out)
    assert "terms_deem_accepted: {'deemed_accepted': 0}" in out.getvalue()


def test_every_job_is_named_after_the_function_it_runs():
    """Issue 9: `run_job credit_expire` runs `credit_expire`, so a log line leads to the code."""
    for name, runner in jobs.registry().items():
        function = getattr(runner, "__wrapped__", runner)
        assert function.__name__ == name, (name, function)
        assert callable(function) and function.__module__.split(".")[0] in {
            "accounts",
            "billing",
            "dataprocessing",
            "portal",
        }


def test_run_job_refuses_an_unknown_name():
    with pytest.raises(CommandError, match="unknown job 'nope'"):
        call_command("run_job", "nope")


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_gives_every_role():
    from accounts.models import Client, User
    from billing.models import CreditLot, Invoice, LedgerEntry

    def counts():
        return [m.objects.count() for m in (Client, User, CreditLot, LedgerEntry, Invoice)]

    call_command("seed_demo", stdout=StringIO())
    first = counts()
    call_command("seed_demo", stdout=StringIO())
    assert counts() == first
    # each prepaid client's two top-ups, and each postpaid client's invoice of last month and
    # tulip-logistics' euro invoice (EPC QR code, issue 14); the six months of history are in
    # tests/portal/test_seed_demo.py
    assert (
        CreditLot.objects.filter(
            reference__in=["demo:guangzhou-retail:1", "demo:polder-health:2"]
        ).count()
        == 2
    )
    assert Invoice.objects.filter(source_key=None, number__isnull=False).count() == 2
    assert (
        Invoice.objects.filter(source_key__startswith="demo:eur:", number__isnull=False).count()
        == 1
    )
    assert Client.objects.filter(provider__code="cm-cn", status="active").count() == 2
    assert Client.objects.filter(provider__code="cxengage-nl", status="active").count() == 2
    for role in User.Role.values:
        if role != User.Role.PLATFORM:
            assert User.objects.filter(role=role).exists(), role

"""The demo data (issue 15 §4): every page in each demo login's navigation shows real rows,
and a second run of `seed_demo` changes nothing."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from tests.conftest import login_verified

DEMO_LOGINS = [
    "admin@shenzhen-sms.demo.test",
    "viewer@shenzhen-sms.demo.test",
    "admin@guangzhou-retail.demo.test",
    "viewer@guangzhou-retail.demo.test",
    "admin@tulip-logistics.demo.test",
    "viewer@tulip-logistics.demo.test",
    "admin@polder-health.demo.test",
    "viewer@polder-health.demo.test",
    "billing@demo.test",
    "compliance@demo.test",
    "billing-cm-cn@demo.test",
    "billing-cxengage-nl@demo.test",
]
EMPTY = re.compile(r'class="empty"[^>]*>\s*([^<]*)')
NAV = re.compile(r'<nav class="mainnav".*?</nav>', re.S)
HREF = re.compile(r'href="(/[^"#?]*)"')
# What the demo leaves empty on purpose, because showing it would break the demo clients:
# a suspended client (art. 7: its messaging refused) and a restitution request (art. 29.6:
# only a prepaid client that terminated its agreement may ask).
LEFT_EMPTY = {"None suspended.", "No requests pending."}


def _row_counts():
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("accounts", "billing", "dataprocessing")
    }


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=StringIO())


def test_a_second_run_changes_no_row_count(seeded):
    first = _row_counts()
    call_command("seed_demo", stdout=StringIO())
    assert _row_counts() == first


def test_the_history_has_every_state(seeded):
    from billing.models import (
        Chargeback,
        Deposit,
        FapiaoRequest,
        InterestCharge,
        Invoice,
        LimitIncreaseRequest,
        LossClaim,
        Recharge,
        UsageRecord,
    )
    from dataprocessing.models import BreachNotification, DataSubjectRequest, SubProcessorChange

    assert set(UsageRecord.objects.values_list("channel", flat=True)) == set(
        UsageRecord.Channel.values
    )
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert {"issued", "paid", "overdue", "disputed"} <= statuses
    assert FapiaoRequest.objects.filter(status="issued", invoice__provider__code="cm-cn").exists()
    assert Deposit.objects.filter(status="held").exists()
    assert InterestCharge.objects.exists() and Chargeback.objects.exists()
    assert set(LimitIncreaseRequest.objects.values_list("status", flat=True)) == {
        "pending",
        "approved",
        "refused",
    }
    assert len(set(DataSubjectRequest.objects.values_list("status", flat=True))) >= 3
    assert BreachNotification.objects.filter(notified_at__isnull=True).exists()
    assert SubProcessorChange.objects.filter(status="announced").exists()
    assert LossClaim.objects.exists() and Recharge.objects.exists()


@pytest.mark.parametrize("email", DEMO_LOGINS)
def test_every_page_in_the_navigation_shows_rows(seeded, client, email):
    from accounts.models import User

    user = User.objects.get(email=email)
    login_verified(client, user)
    home = client.get("/")
    assert home.status_code in (200, 302)
    page = client.get("/", follow=True)
    nav = NAV.search(page.content.decode())
    assert nav, email
    paths = sorted({p for p in HREF.findall(nav.group(0)) if not p.startswith("/admin")})
    assert paths
    empties = {}
    for path in paths:
        response = client.get(path, follow=True)
        assert response.status_code == 200, (email, path)
        found = [
            t.strip()
            for t in EMPTY.findall(response.content.decode())
            if t.strip() not in LEFT_EMPTY
        ]
        if found:
            empties[path] = found
    assert empties == {}, (email, empties)

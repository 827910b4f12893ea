"""Shared fixtures: the seeded providers, a client per provider, users of every role."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Provider
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ClientViewerFactory,
    ComplianceOfficerFactory,
)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def cm(db) -> Provider:
    return Provider.objects.get(code="cm-cn")


@pytest.fixture
def cx(db) -> Provider:
    return Provider.objects.get(code="cxengage-nl")


@pytest.fixture
def client_company(cm):
    client = ClientFactory(provider=cm)
    AgreementFactory(client=client)
    return client


@pytest.fixture
def other_company(cm):
    client = ClientFactory(provider=cm)
    AgreementFactory(client=client)
    return client


@pytest.fixture
def client_admin(client_company):
    return ClientAdminFactory(client=client_company)


@pytest.fixture
def client_viewer(client_company):
    return ClientViewerFactory(client=client_company)


@pytest.fixture
def other_admin(other_company):
    return ClientAdminFactory(client=other_company)


@pytest.fixture
def billing_staff(db):
    return BillingStaffFactory()


@pytest.fixture
def compliance_officer(db):
    return ComplianceOfficerFactory()


def login_verified(client, user):
    """Sign a staff user in as if its TOTP had been checked (django-otp's session key)."""
    client.force_login(user)
    if user.is_provider_staff:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="test", defaults={"confirmed": True}
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def as_user(client):
    """`as_user(user)` returns Django's test client signed in as `user` (staff verified)."""

    def _as(user):
        client.logout()
        return login_verified(client, user)

    return _as


@pytest.fixture
def api(db):
    """`api(user)` returns a DRF APIClient authenticated as `user` (staff verified)."""
    from rest_framework.test import APIClient

    def _api(user=None):
        c = APIClient()
        if user is not None:
            login_verified(c, user)
        return c

    return _api


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (rate-limit counters live there)."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # noqa: BLE001 - tests of a Redis outage run without it
        pass


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """A fast hasher everywhere in tests: PBKDF2's cost is a production concern, and the
    factories hash a password for every user they make. Sign-in itself works the same."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def restore_seed_if_flushed():
    """Re-run the data migrations' seeds (providers, retention periods) after a transactional
    test's flush removed them. Django's serialized rollback cannot be relied on here: it keeps
    the snapshot on a context-local connection, and code inside Playwright's greenlets gets
    another connection object without it."""
    import importlib

    from django.apps import apps

    if Provider.objects.exists():
        return
    for module in (
        "accounts.migrations.0002_seed_providers",
        "accounts.migrations.0006_languages",
        "accounts.migrations.0011_facturx_einvoice_format",
        "accounts.migrations.0019_premium_profile",
        "dataprocessing.migrations.0002_seed_retention_policies",
        "billing.migrations.0009_interest_terms_price_changes",
    ):
        importlib.import_module(module).seed(apps, None)


@pytest.fixture(autouse=True)
def _seed_present(request):
    """Transactional tests start with the seed rows, whichever connection object they get."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction"))
    if transactional or {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("_django_db_helper")
        restore_seed_if_flushed()


def pytest_collection_modifyitems(items):
    """Every transactional test restores the database it found (serialized rollback).

    The provider profiles and retention periods are seeded by data migrations; a
    transactional test's flush would otherwise delete them for every test after it.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker is not None
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            item.add_marker(
                pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True}),
                append=False,
            )
        elif {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())):
            if "django_db_serialized_rollback" not in item.fixturenames:
                item.fixturenames.append("django_db_serialized_rollback")


@pytest.fixture(autouse=True, scope="session")
def _celery_runs_tasks_inline():
    """Tasks queued after commit (notices) run inline in tests, as a worker would run them;
    tests of the broker and the worker themselves switch this off (tests/portal/test_outbox.py)."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def pytest_sessionstart(session):
    """The compiled catalogues (.mo) are built, not committed: build them for this run."""
    from django.core.management import call_command

    call_command("compilemessages", ignore=[".venv", "node_modules", "staticfiles"], verbosity=0)

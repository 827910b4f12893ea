"""Fixtures of the invoicing tests: the one clock, and a cm-cn client with a Chinese legal name,
its admin, an invoice issued today and another client (the pages' and the API's tests)."""

import pytest

from accounts.kernel.dates import local_date
from tests.billing.invoicing.factories import CHINESE_NAME, Clock, admin_of, company, issued, line


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Invoicing's clock, at 2026-03-02 10:00 UTC until a test moves it."""
    return Clock(monkeypatch)


@pytest.fixture
def today(cm):
    return local_date(cm)


@pytest.fixture
def cn_client(cm):
    return company(cm, legal_name=CHINESE_NAME)


@pytest.fixture
def cn_admin(cn_client):
    return admin_of(cn_client)


@pytest.fixture
def cn_invoice(cn_client, billing_staff, today):
    return issued(cn_client, billing_staff, [line("1000.00", messages=20_000)], invoice_date=today)


@pytest.fixture
def other(cm):
    return company(cm)

"""Fixtures the accounts tests share (the project-wide ones are in tests/conftest.py)."""

import datetime as dt

import pytest

from accounts.services import terms
from tests.accounts.clock import PUBLISHED
from tests.accounts.factories import BOTH_TEXTS, DirectorFactory


@pytest.fixture
def with_directors(client_company, other_company):
    """Both companies name a director, so their registration details can be changed (art. 5.5)."""
    DirectorFactory(client=client_company)
    DirectorFactory(client=other_company)


@pytest.fixture
def published(cm, client_company, client_admin, other_company, other_admin, billing_staff):
    """Terms 2025.1, long since deemed accepted, and 2026.1, published at PUBLISHED: both
    companies are within their objection period for 2026.1 (art. 18.3)."""
    v1 = terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2025.1",
        summary="First",
        acting_user=billing_staff,
        now=PUBLISHED - dt.timedelta(days=400),
    )
    terms.terms_deem_accepted(now=PUBLISHED - dt.timedelta(days=300))
    v2 = terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2026.1",
        summary="New fees for WhatsApp",
        acting_user=billing_staff,
        now=PUBLISHED,
    )
    return v1, v2

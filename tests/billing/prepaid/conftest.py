"""Fixtures shared by the prepaid tests: a prepaid client of cm-cn with its admin and wallet, and
the messaging platform's user and API client."""

import pytest
from rest_framework.test import APIClient

from accounts.tokens import api_token_issue
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory, PlatformUserFactory
from tests.billing.factories import prepaid_client


@pytest.fixture
def prepaid(cm):
    """A prepaid client of cm-cn with an agreement (no credit yet)."""
    return prepaid_client(cm)


@pytest.fixture
def prepaid_admin(prepaid):
    return ClientAdminFactory(client=prepaid)


@pytest.fixture
def wallet(prepaid):
    """The prepaid client's wallet (empty)."""
    return wallet_for_client(client=prepaid)


@pytest.fixture
def platform(db):
    """The messaging platform's machine user."""
    return PlatformUserFactory()


@pytest.fixture
def platform_api(platform):
    """An API client authenticated as the platform, by its API key."""
    _, key = api_token_issue(user=platform, name="platform")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client

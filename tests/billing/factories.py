"""factory_boy factories for billing, built on the accounts factories."""

import datetime as dt
from decimal import Decimal

import factory

from accounts.models import Client
from billing.models import Wallet
from billing.prepaid.services.wallets import wallet_top_up
from tests.accounts.factories import AgreementFactory, ClientFactory


class PrepaidClientFactory(ClientFactory):
    billing_mode = Client.BillingMode.PREPAID


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    client = factory.SubFactory(PrepaidClientFactory)
    currency = factory.LazyAttribute(lambda o: o.client.provider.currency)


def prepaid_client(provider, **kwargs) -> Client:
    client = PrepaidClientFactory(provider=provider, **kwargs)
    AgreementFactory(client=client)
    return client


_keys = iter(range(1, 10**9))


def top_up(
    wallet, amount, received_at: dt.datetime, *, reference: str = "", key: str | None = None
):
    """A top-up through the service (the only way a lot is made)."""
    n = next(_keys)
    return wallet_top_up(
        wallet=wallet,
        amount=Decimal(str(amount)),
        received_at=received_at,
        reference=reference or f"PAY-{n}",
        idempotency_key=key or f"test-top-up-{n}",
    )


def check(wallet) -> None:
    """balance = sum of the ledger = sum of the lots' remaining amounts."""
    from billing.prepaid.selectors import wallet_check

    result = wallet_check(wallet=wallet)
    assert result["ok"], result

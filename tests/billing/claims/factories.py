import datetime as dt
import itertools
from decimal import Decimal

from billing.models import ExchangeRate, Invoice
from tests.accounts.factories import AgreementFactory, ClientAdminFactory, ClientFactory

_n = itertools.count(1)


def company(provider, start=dt.date(2027, 1, 1)):
    client = ClientFactory(provider=provider)
    AgreementFactory(
        client=client, start_date=start, current_term_end=start.replace(year=start.year + 1)
    )
    ClientAdminFactory(client=client)
    return client


def invoice(
    client, day, subtotal, *, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, currency=None
):
    amount = Decimal(subtotal)
    return Invoice.objects.create(
        client=client,
        provider=client.provider,
        kind=kind,
        status=status,
        number=f"T-{next(_n)}",
        invoice_date=day,
        currency=currency or client.provider.currency,
        subtotal=amount,
        total=amount,
    )


def rate(base, quote, value, valid_from=dt.date(2027, 1, 1)):
    return ExchangeRate.objects.create(
        base_currency=base, quote_currency=quote, rate=Decimal(value), valid_from=valid_from
    )

"""Real threads on PostgreSQL: payouts on one client's claims are serialised by the client lock,
so together they never exceed the liability cap of art. 13.4."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.kernel.errors import ApplicationError
from billing.claims import services
from billing.models import ClaimPayout, Invoice, LossClaim
from tests.accounts.clock import SHANGHAI
from tests.accounts.factories import BillingStaffFactory
from tests.billing.claims.factories import company, invoice, rate


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_payouts_on_two_claims_never_exceed_the_cap(cm, now):
    # given: a cap of 2,800 CNY (8,400 invoiced over 3 months) and two claims of the client
    client = company(cm)
    invoice(client, dt.date(2027, 1, 31), "3000.00")
    invoice(client, dt.date(2027, 2, 28), "6000.00")
    invoice(client, dt.date(2027, 3, 5), "600.00", kind=Invoice.Kind.CREDIT_NOTE)
    rate("EUR", "CNY", "7.8")
    staff = BillingStaffFactory()
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claims = [
        services.loss_claim_report(
            client=client,
            against=LossClaim.Against.PROVIDER,
            description=f"Loss {i}",
            arose_at=dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI),
            acting_user=staff,
        )
        for i in range(2)
    ]
    n = 8
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(i):
        try:
            barrier.wait()
            results[i] = services.claim_payout_record(
                claim=claims[i % 2],
                amount="500.00",
                currency="CNY",
                paid_on=dt.date(2027, 3, 10),
                idempotency_key=f"t{i}",
                acting_user=staff,
            )
        except ApplicationError as exc:
            results[i] = exc.code
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    # when 8 payouts of 500 race for 2,800: 5 fit, 3 are refused
    assert not errors, errors
    assert results.count("over_liability_cap") == 3
    total = sum(ClaimPayout.objects.values_list("amount", flat=True))
    assert total == Decimal("2500.00")

"""Real threads on PostgreSQL: payouts and offsets on one statement are serialised by the
statement's row lock, so together they never pay out more than the operator paid (CX Part V)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.kernel.errors import ApplicationError
from billing.models import PremiumLedgerEntry
from billing.premium import services
from tests.accounts.factories import BillingStaffFactory
from tests.billing.premium.factories import company, receipt, statement


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_payouts_never_exceed_what_the_operator_paid(cx, now):
    # given 1,000.00 received on an issued statement
    staff = BillingStaffFactory()
    stmt = statement(company(cx), staff)
    receipt(stmt, staff, "1000.00")
    services.premium_statement_issue(statement=stmt, acting_user=staff)
    n = 6
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(i):
        try:
            barrier.wait()
            results[i] = services.premium_payout_record(
                statement=stmt,
                amount="300.00",
                paid_on="2027-06-01",
                idempotency_key=f"t{i}",
                acting_user=staff,
            )
        except ApplicationError as exc:
            results[i] = exc.field
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    # when six payouts of 300.00 race for 1,000.00: three fit, three are refused
    assert not errors, errors
    assert results.count("amount") == 3
    paid = PremiumLedgerEntry.objects.filter(kind="payout").values_list("amount", flat=True)
    assert sum(paid) == Decimal("-900.00")
    assert services.statement_balance(stmt) == Decimal("100.00")

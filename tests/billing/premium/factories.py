import datetime as dt
import uuid

from billing.premium import services
from tests.billing.claims.factories import company, rate
from tests.billing.claims.factories import invoice as _invoice

__all__ = ["company", "invoice", "rate", "statement", "receipt", "key"]


def key() -> str:
    return uuid.uuid4().hex


def statement(
    client, staff, *, operator="KPN", start=dt.date(2027, 5, 1), end=dt.date(2027, 5, 31)
):
    return services.premium_statement_create(
        client=client, operator=operator, period_start=start, period_end=end, acting_user=staff
    )


def receipt(stmt, staff, amount, *, billed=None, on=dt.date(2027, 5, 31)):
    return services.premium_receipt_record(
        statement=stmt,
        amount=amount,
        operator_billed=billed,
        received_on=on,
        acting_user=staff,
        idempotency_key=key(),
    )


def invoice(client, day, subtotal, **kwargs):
    """An issued invoice of the client, due 14 days after its date (art. 4.5)."""
    row = _invoice(client, day, subtotal, **kwargs)
    row.due_date = day + dt.timedelta(days=14)
    row.save(update_fields=["due_date"])
    return row

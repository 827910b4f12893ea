"""Usage records from the messaging platform, one by one: the shape and values of a record,
checked in plain Python before any query (billing.prepaid.services.usage ingests the batch).

A record that breaks a rule is answered with the field, a code and the reason; its good
neighbours in the batch are not affected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from accounts.kernel.moments import LATEST, OUT_OF_RANGE, moment_problem
from accounts.kernel.money import MAX_AMOUNT
from billing.models import UsageRecord

CHANNELS = frozenset(UsageRecord.Channel.values)
MAX_ID_LENGTH = 100
MAX_RECIPIENT_LENGTH = 64
MAX_MESSAGE_COUNT = 1_000_000
FUTURE_TOLERANCE = dt.timedelta(hours=1)
REFUSED = "refused"


@dataclass(slots=True)
class Record:
    index: int
    id: str
    client_id: int
    channel: str
    message_count: int
    amount: Decimal
    occurred_at: dt.datetime
    recipient: str
    currency: str | None


def refusal(
    record_id, field: str, code: str, reason: str, article: str | None = None
) -> dict[str, Any]:
    """The answer for a refused record: the field, a code, the rule in words and its article."""
    result = {"id": record_id, "status": REFUSED, "field": field, "code": code, "reason": reason}
    if article:
        result["article"] = article
    return result


# --- Validation, in plain Python -----------------------------------------------------------
class _Refuse(Exception):
    """A value of the record breaks a rule: (field, code, reason)."""


def validate(index: int, raw, now: dt.datetime) -> Record | dict:
    """One record's shape and values, checked in the order of its fields; returns the record
    or its refusal (the first rule it breaks)."""
    if not isinstance(raw, dict):
        return refusal(None, "record", "invalid", "Each record must be an object.")
    record_id = raw.get("id")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if not isinstance(record_id, str) or not record_id.strip():
        return refusal(None, "id", "required", "Each record needs an id (its idempotency key).")
    record_id = record_id.strip()
    if "\x00" in record_id:
        return refusal(None, "id", "invalid", "The id may not contain NUL characters.")
    if len(record_id) > MAX_ID_LENGTH:
        return refusal(
            record_id, "id", "invalid", f"The id may have at most {MAX_ID_LENGTH} characters."
        )
    try:
        client_id = _client_id(raw.get("client"))
        channel = _channel(raw.get("channel"))
        count = _message_count(raw.get("message_count"))
        amount = _amount(raw.get("amount"))
        currency = raw.get("currency")
        if currency is not None and not isinstance(currency, str):
            raise _Refuse("currency", "invalid", "currency must be an ISO 4217 code.")
        occurred_at = _occurred_at(raw.get("occurred_at"), now)
        recipient = _recipient(raw.get("recipient") or "")
    except _Refuse as broken:
        return refusal(record_id, *broken.args)
    return Record(
        index, record_id, client_id, channel, count, amount, occurred_at, recipient, currency
    )


def _client_id(client_id) -> int:
    if isinstance(client_id, str) and client_id.isdigit():
        client_id = int(client_id)
    if not isinstance(client_id, int) or isinstance(client_id, bool) or client_id <= 0:
        raise _Refuse("client", "invalid", "client must be the client's id (a positive integer).")
    return client_id


def _channel(channel) -> str:
    if channel not in CHANNELS:
        raise _Refuse(
            "channel",
            "invalid",
            f"channel must be one of {', '.join(sorted(CHANNELS))}; got {channel!r}.",
        )
    return channel


def _message_count(count) -> int:
    if not isinstance(count, int) or isinstance(count, bool):
        raise _Refuse("message_count", "invalid", "message_count must be a whole number.")
    if count < 0 or count > MAX_MESSAGE_COUNT:
        raise _Refuse(
            "message_count",
            "invalid",
            f"message_count must be between 0 and {MAX_MESSAGE_COUNT:,}.",
        )
    return count


def _amount(raw_amount) -> Decimal:
    if isinstance(raw_amount, float):
        raise _Refuse(
            "amount", "float", "Give the amount as a decimal string, never a floating point number."
        )
    if isinstance(raw_amount, bool) or not isinstance(raw_amount, (str, int)):
        raise _Refuse("amount", "invalid", 'amount must be a decimal string such as "0.05".')
    try:
        amount = Decimal(raw_amount) if isinstance(raw_amount, int) else Decimal(raw_amount.strip())
    except InvalidOperation:
        raise _Refuse("amount", "invalid", f"{raw_amount!r} is not an amount.") from None
    if not amount.is_finite():
        raise _Refuse("amount", "invalid", f"{raw_amount!r} is not an amount.")
    if amount < 0:
        raise _Refuse("amount", "negative", "amount may not be negative; usage only charges.")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise _Refuse("amount", "invalid", "amount may have at most 2 decimal places.")
    if amount > MAX_AMOUNT:
        raise _Refuse("amount", "invalid", "amount is too large.")
    return amount


def _occurred_at(occurred, now: dt.datetime) -> dt.datetime:
    if not isinstance(occurred, str):
        raise _Refuse("occurred_at", "required", "occurred_at must be an ISO 8601 timestamp.")
    try:
        occurred_at = dt.datetime.fromisoformat(occurred)
    except ValueError:
        raise _Refuse(
            "occurred_at", "invalid", f"{occurred!r} is not an ISO 8601 timestamp."
        ) from None
    if occurred_at.tzinfo is None:
        raise _Refuse(
            "occurred_at", "invalid", "occurred_at must carry a UTC offset (e.g. 'Z' or '+08:00')."
        )
    problem = moment_problem(occurred_at)
    if problem == OUT_OF_RANGE and occurred_at.year >= LATEST.year:
        raise _Refuse("occurred_at", "future", "occurred_at lies in the future.")
    if problem:
        raise _Refuse("occurred_at", "invalid", f"occurred_at: {problem}")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise _Refuse("occurred_at", "future", "occurred_at lies in the future.")
    return occurred_at


def _recipient(recipient) -> str:
    if (
        not isinstance(recipient, str)
        or len(recipient) > MAX_RECIPIENT_LENGTH
        or "\x00" in recipient
    ):
        raise _Refuse(
            "recipient",
            "invalid",
            f"recipient must be text of at most {MAX_RECIPIENT_LENGTH} characters.",
        )
    return recipient

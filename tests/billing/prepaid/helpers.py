"""Helpers of the prepaid tests (plain functions and constants; the fixtures are in conftest.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
# A moment after every top-up of the debit tests is usable and before any has expired.
LATER = dt.datetime(2026, 6, 1, 12, tzinfo=SH)


def record(client, n, *, messages=1, amount="0.05", prefix="rec", **extra) -> dict:
    """One usage record as the messaging platform sends it; its id is `<prefix>-<client>-<n>`."""
    return {
        "id": f"{prefix}-{client.pk}-{n}",
        "client": client.pk,
        "channel": "sms",
        "message_count": messages,
        "amount": amount,
        "occurred_at": "2026-03-01T10:00:00+08:00",
        **extra,
    }


def errors(response) -> list[dict]:
    """The API's one error shape: the list of errors of a response."""
    return response.json()["errors"]

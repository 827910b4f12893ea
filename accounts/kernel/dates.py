"""Calendar arithmetic shared by every app: months, the profile's local day."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import Provider

_Day = TypeVar("_Day", bound=dt.date)  # a date stays a date, a datetime a datetime


def add_months(day: _Day, months: int) -> _Day:
    """Same calendar day `months` later; the 29th–31st fall back to the month's last day."""
    later: _Day = day + relativedelta(months=months)  # dateutil ships no types
    return later


def local_date(profile: Provider, moment: dt.datetime | None = None) -> dt.date:
    """The calendar date in the profile's time zone at `moment` (now by default)."""
    moment = moment or timezone.now()
    return moment.astimezone(ZoneInfo(profile.timezone)).date()


def local_midnight(profile: Provider, day: dt.date) -> dt.datetime:
    """00:00 of `day` in the profile's time zone, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(profile.timezone))

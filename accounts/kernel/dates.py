"""Calendar arithmetic shared by every app: months, the profile's local day."""

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.utils import timezone


def add_months(day: dt.date | dt.datetime, months: int):
    """Same calendar day `months` later; the 29th–31st fall back to the month's last day."""
    return day + relativedelta(months=months)


def local_date(profile, moment: dt.datetime | None = None) -> dt.date:
    """The calendar date in the profile's time zone at `moment` (now by default)."""
    moment = moment or timezone.now()
    return moment.astimezone(ZoneInfo(profile.timezone)).date()


def local_midnight(profile, day: dt.date) -> dt.datetime:
    """00:00 of `day` in the profile's time zone, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(profile.timezone))

"""Working days: every "N working days" deadline in the project is computed here.

Art. 1 (Working Day): "Monday to Friday from 8.30 a.m. to 5.30 p.m. Beijing Time, excluding
generally recognized public holidays in PRC" (CM); CX: "Monday–Friday, 08:30 to 17:00 CET,
excluding Dutch public holidays". The `holidays` package knows each country's public holidays
and China's make-up working weekends; staff overrides (`WorkdayOverride`) win over it, because
China announces each year's adjusted days late and the package's data can lag.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .models import Provider, WorkdayOverride

_MAX_SCAN_DAYS = 3 * 366


@lru_cache(maxsize=64)
def _calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def _overrides(profile: Provider, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    return dict(
        WorkdayOverride.objects.filter(provider=profile, day__range=(first, last)).values_list(
            "day", "kind"
        )
    )


def _package_says_working(day: dt.date, profile: Provider) -> bool:
    # HolidayBase.is_working_day: not a holiday and (a weekday, or a make-up working weekend day)
    return _calendar(profile.holiday_calendar, day.year).is_working_day(day)


def is_working_day(
    day: dt.date, profile: Provider, *, _overrides_cache: dict | None = None
) -> bool:
    """True when `day` is a working day under the profile's calendar and its overrides (art. 1)."""
    overrides = _overrides_cache if _overrides_cache is not None else _overrides(profile, day, day)
    kind = overrides.get(day)
    if kind == WorkdayOverride.Kind.DAY_OFF:
        return False
    if kind == WorkdayOverride.Kind.WORKING_DAY:
        return True
    return _package_says_working(day, profile)


def local_tz(profile: Provider) -> ZoneInfo:
    return ZoneInfo(profile.timezone)


def add_working_days(moment: dt.datetime, n: int, profile: Provider) -> dt.datetime:
    """The moment `n` whole working days after the day of `moment`, in the profile's time zone.

    The start day does not count, however early `moment` is in it; the deadline is the close of
    business (the profile's working-hours end) on the n-th working day after it. So a request
    received on Monday with n=3 is due at 17:30 on Thursday when Tuesday to Thursday are working
    days. n=0 is the close of business of the start day itself.
    """
    if moment.tzinfo is None:
        raise ValueError("add_working_days needs an aware datetime")
    if n < 0:
        raise ValueError("n must be zero or more")
    tz = local_tz(profile)
    day = moment.astimezone(tz).date()
    overrides = _overrides(profile, day, day + dt.timedelta(days=_MAX_SCAN_DAYS))
    counted = 0
    scanned = 0
    while counted < n:
        day += dt.timedelta(days=1)
        scanned += 1
        if scanned > _MAX_SCAN_DAYS:
            raise ValueError("no working days found in three years; check the calendar overrides")
        if is_working_day(day, profile, _overrides_cache=overrides):
            counted += 1
    return dt.datetime.combine(day, profile.working_hours_end, tzinfo=tz)


def overrides_between(profile: Provider, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The profile's calendar corrections in a date range, read once for many computations
    (a dashboard of many deadlines reads them in one query, not one per row)."""
    return _overrides(profile, first, last)


def working_days_between(
    start: dt.datetime,
    end: dt.datetime,
    profile: Provider,
    *,
    overrides: dict[dt.date, str] | None = None,
) -> int:
    """Whole working days after the day of `start` up to and including the day of `end` (negative if end is earlier).

    `overrides`, when given, must cover the range (see overrides_between)."""
    tz = local_tz(profile)
    a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    if overrides is None:
        overrides = _overrides(profile, a, b)
    count = 0
    day = a
    while day < b:
        day += dt.timedelta(days=1)
        if is_working_day(day, profile, _overrides_cache=overrides):
            count += 1
    return sign * count


def is_within_working_hours(moment: dt.datetime, profile: Provider) -> bool:
    """True during the profile's working hours on a working day (art. 1)."""
    local = moment.astimezone(local_tz(profile))
    return is_working_day(local.date(), profile) and (
        profile.working_hours_start <= local.time() < profile.working_hours_end
    )

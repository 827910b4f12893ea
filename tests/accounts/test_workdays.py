"""Working days (art. 1): the profile's calendar, China's make-up weekends, overrides, time zones.

`add_working_days(moment, n, profile)` is the close of business (the profile's working-hours end)
of the n-th working day after the start day, in the profile's time zone; the start day never
counts, whatever the hour of `moment`.
"""

import datetime as dt

import pytest

from accounts.models import WorkdayOverride
from accounts.workdays import (
    add_working_days,
    is_within_working_hours,
    is_working_day,
    working_days_between,
)
from tests.accounts.clock import AMSTERDAM, SHANGHAI, D


def at(day: dt.date, hour: int = 10, minute: int = 0, tz=SHANGHAI) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def cob_cn(day: dt.date) -> dt.datetime:
    """Close of business in Shenzhen (17:30 Beijing time)."""
    return dt.datetime.combine(day, dt.time(17, 30), tzinfo=SHANGHAI)


def cob_nl(day: dt.date) -> dt.datetime:
    """Close of business in Amsterdam (17:00)."""
    return dt.datetime.combine(day, dt.time(17, 0), tzinfo=AMSTERDAM)


# --- China: Spring Festival 2026 (Feb 15-23 off; Saturdays Feb 14 and Feb 28 are worked) ------
@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 2, 13), True),  # Friday before the festival
        (D(2026, 2, 14), True),  # make-up working Saturday
        (D(2026, 2, 15), False),  # Sunday, first day of the break
        (D(2026, 2, 16), False),  # New Year's Eve
        (D(2026, 2, 17), False),  # Spring Festival
        (D(2026, 2, 18), False),
        (D(2026, 2, 19), False),
        (D(2026, 2, 20), False),  # Friday, day off in exchange for Feb 14
        (D(2026, 2, 21), False),  # Saturday
        (D(2026, 2, 22), False),  # Sunday
        (D(2026, 2, 23), False),  # Monday, day off in exchange for Feb 28
        (D(2026, 2, 24), True),  # first working day after
        (D(2026, 2, 27), True),
        (D(2026, 2, 28), True),  # make-up working Saturday
        (D(2026, 3, 1), False),  # an ordinary Sunday
        (D(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_spring_festival_2026_calendar(cm, day, working):
    assert is_working_day(day, cm) is working


# --- China: National Day 2026 (Oct 1-7 off; Sunday Sep 20 and Saturday Oct 10 are worked) -----
@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 9, 19), False),  # ordinary Saturday
        (D(2026, 9, 20), True),  # make-up working Sunday
        (D(2026, 9, 30), True),  # last working day before
        (D(2026, 10, 1), False),
        (D(2026, 10, 2), False),
        (D(2026, 10, 3), False),
        (D(2026, 10, 4), False),
        (D(2026, 10, 5), False),
        (D(2026, 10, 6), False),
        (D(2026, 10, 7), False),
        (D(2026, 10, 8), True),  # first working day after
        (D(2026, 10, 10), True),  # make-up working Saturday
        (D(2026, 10, 11), False),  # ordinary Sunday
    ],
)
def test_national_day_2026_calendar(cm, day, working):
    assert is_working_day(day, cm) is working


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # A deadline computed just before the festival lands after it.
        (D(2026, 2, 12), 1, D(2026, 2, 13)),
        (D(2026, 2, 12), 2, D(2026, 2, 14)),  # the make-up Saturday counts
        (D(2026, 2, 12), 3, D(2026, 2, 24)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 13), 3, D(2026, 2, 25)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # starting on the make-up Saturday itself
        (D(2026, 2, 17), 1, D(2026, 2, 24)),  # starting inside the break
        (D(2026, 2, 27), 1, D(2026, 2, 28)),  # the second make-up Saturday
        (D(2026, 2, 26), 3, D(2026, 3, 2)),  # Fri 27, Sat 28, (Sun 1 off), Mon 2
        (D(2026, 2, 13), 10, D(2026, 3, 5)),  # art. 15.4 cure period across the festival
    ],
)
def test_add_working_days_across_spring_festival(cm, start, n, due):
    assert add_working_days(at(start), n, cm) == cob_cn(due)


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Friday -> the make-up Sunday
        (D(2026, 9, 19), 1, D(2026, 9, 20)),  # starting on an ordinary Saturday
        (D(2026, 9, 29), 1, D(2026, 9, 30)),
        (D(2026, 9, 29), 2, D(2026, 10, 8)),
        (D(2026, 9, 29), 3, D(2026, 10, 9)),  # art. 5.6 deadline logged just before National Day
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # lands on the make-up Saturday
        (D(2026, 9, 30), 4, D(2026, 10, 12)),  # Sunday Oct 11 is not worked
        (D(2026, 10, 3), 1, D(2026, 10, 8)),
    ],
)
def test_add_working_days_across_national_day(cm, start, n, due):
    assert add_working_days(at(start), n, cm) == cob_cn(due)


# --- The start day never counts; the deadline is close of business in the profile's zone -------
@pytest.mark.parametrize(
    "local_time", [dt.time(0, 0), dt.time(0, 1), dt.time(8, 29), dt.time(12, 0), dt.time(23, 59)]
)
def test_start_day_never_counts_whatever_the_hour(cm, local_time):
    # Monday 2026-03-02 is an ordinary working day; one working day later is Tuesday's close.
    moment = dt.datetime.combine(D(2026, 3, 2), local_time, tzinfo=SHANGHAI)
    assert add_working_days(moment, 1, cm) == cob_cn(D(2026, 3, 3))


def test_zero_working_days_is_close_of_business_of_the_start_day(cm):
    assert add_working_days(at(D(2026, 3, 2), 9), 0, cm) == cob_cn(D(2026, 3, 2))


def test_start_day_is_the_local_day_not_the_utc_day(cm):
    # 17:00 UTC on Friday Feb 13 is already 01:00 on Saturday Feb 14 in Shenzhen: the start day
    # is the make-up Saturday, which does not count, so one working day later is Feb 24.
    moment = dt.datetime(2026, 2, 13, 17, 0, tzinfo=dt.UTC)
    assert add_working_days(moment, 1, cm) == cob_cn(D(2026, 2, 24))
    # 15:00 UTC is still Friday 23:00 in Shenzhen: the make-up Saturday is the first working day.
    moment = dt.datetime(2026, 2, 13, 15, 0, tzinfo=dt.UTC)
    assert add_working_days(moment, 1, cm) == cob_cn(D(2026, 2, 14))


def test_deadline_is_expressed_in_the_profile_time_zone(cm, cx):
    due_cn = add_working_days(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), 1, cm)
    assert due_cn.tzinfo.key == "Asia/Shanghai"
    assert (due_cn.hour, due_cn.minute) == (17, 30)
    assert due_cn.utcoffset() == dt.timedelta(hours=8)
    assert due_cn == dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)

    due_nl = add_working_days(dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC), 1, cx)
    assert due_nl.tzinfo.key == "Europe/Amsterdam"
    assert (due_nl.hour, due_nl.minute) == (17, 0)
    assert due_nl.utcoffset() == dt.timedelta(hours=2)  # CEST
    assert due_nl == dt.datetime(2026, 6, 2, 15, 0, tzinfo=dt.UTC)


def test_deadline_in_winter_time_amsterdam(cx):
    due = add_working_days(at(D(2026, 1, 12), tz=AMSTERDAM), 1, cx)
    assert due == dt.datetime(2026, 1, 13, 16, 0, tzinfo=dt.UTC)  # CET, UTC+1


def test_naive_moment_and_negative_n_are_refused(cm):
    with pytest.raises(ValueError):
        add_working_days(dt.datetime(2026, 3, 2, 10, 0), 1, cm)
    with pytest.raises(ValueError):
        add_working_days(at(D(2026, 3, 2)), -1, cm)


# --- Overrides win over the package ------------------------------------------------------------
def test_extra_day_off_override_wins_over_the_package(cm):
    WorkdayOverride.objects.create(
        provider=cm, day=D(2026, 2, 24), kind=WorkdayOverride.Kind.DAY_OFF
    )
    assert is_working_day(D(2026, 2, 24), cm) is False
    assert add_working_days(at(D(2026, 2, 13)), 2, cm) == cob_cn(D(2026, 2, 25))


def test_extra_day_off_on_a_make_up_saturday(cm):
    WorkdayOverride.objects.create(
        provider=cm, day=D(2026, 2, 14), kind=WorkdayOverride.Kind.DAY_OFF
    )
    assert is_working_day(D(2026, 2, 14), cm) is False
    assert add_working_days(at(D(2026, 2, 13)), 1, cm) == cob_cn(D(2026, 2, 24))


def test_extra_working_day_override_wins_over_a_package_holiday(cm):
    WorkdayOverride.objects.create(
        provider=cm, day=D(2026, 2, 20), kind=WorkdayOverride.Kind.WORKING_DAY
    )
    assert is_working_day(D(2026, 2, 20), cm) is True
    assert add_working_days(at(D(2026, 2, 13)), 2, cm) == cob_cn(D(2026, 2, 20))


def test_extra_working_day_override_on_an_ordinary_weekend(cm):
    WorkdayOverride.objects.create(
        provider=cm, day=D(2027, 1, 9), kind=WorkdayOverride.Kind.WORKING_DAY
    )
    assert is_working_day(D(2027, 1, 9), cm) is True
    assert add_working_days(at(D(2027, 1, 8)), 1, cm) == cob_cn(D(2027, 1, 9))


def test_override_of_one_provider_does_not_touch_the_other(cm, cx):
    WorkdayOverride.objects.create(
        provider=cm, day=D(2026, 3, 3), kind=WorkdayOverride.Kind.DAY_OFF
    )
    assert is_working_day(D(2026, 3, 3), cm) is False
    assert is_working_day(D(2026, 3, 3), cx) is True


def test_override_far_ahead_is_seen_by_a_long_deadline(cm):
    # Overrides are loaded for the whole scan, not only the start day.
    # Mon Mar 2 + 10 working days = Mon Mar 16 without the override, Tue Mar 17 with it.
    assert add_working_days(at(D(2026, 3, 2)), 10, cm) == cob_cn(D(2026, 3, 16))
    WorkdayOverride.objects.create(
        provider=cm, day=D(2026, 3, 13), kind=WorkdayOverride.Kind.DAY_OFF
    )
    assert add_working_days(at(D(2026, 3, 2)), 10, cm) == cob_cn(D(2026, 3, 17))


# --- The Netherlands: Easter Monday (Apr 6) and King's Day (Apr 27) 2026 -----------------------
@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 4, 6), False),  # Easter Monday
        (D(2026, 4, 7), True),
        (D(2026, 4, 27), False),  # King's Day (a Monday)
        (D(2026, 4, 24), True),
        (D(2026, 4, 28), True),
        (D(2026, 2, 14), False),  # China's make-up Saturday is an ordinary Saturday here
        (D(2026, 2, 17), True),  # and the Spring Festival an ordinary Tuesday
    ],
)
def test_netherlands_calendar_2026(cx, day, working):
    assert is_working_day(day, cx) is working


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2026, 4, 3), 1, D(2026, 4, 7)),  # over the weekend and Easter Monday
        (D(2026, 4, 6), 1, D(2026, 4, 7)),  # starting on Easter Monday
        (D(2026, 4, 24), 1, D(2026, 4, 28)),  # over the weekend and King's Day
        (D(2026, 4, 23), 3, D(2026, 4, 29)),  # Fri 24, Tue 28, Wed 29
    ],
)
def test_add_working_days_across_dutch_holidays(cx, start, n, due):
    assert add_working_days(at(start, tz=AMSTERDAM), n, cx) == cob_nl(due)


# --- Helpers built on the same calendar --------------------------------------------------------
def test_working_days_between_counts_days_after_the_start(cm):
    assert working_days_between(at(D(2026, 2, 13)), at(D(2026, 2, 24)), cm) == 2
    assert working_days_between(at(D(2026, 2, 24)), at(D(2026, 2, 13)), cm) == -2
    assert working_days_between(at(D(2026, 2, 13)), at(D(2026, 2, 13), 18), cm) == 0


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (at(D(2026, 3, 2), 8, 29), False),
        (at(D(2026, 3, 2), 8, 30), True),
        (at(D(2026, 3, 2), 17, 29), True),
        (at(D(2026, 3, 2), 17, 30), False),
        (at(D(2026, 2, 14), 10), True),  # make-up Saturday
        (at(D(2026, 2, 17), 10), False),  # Spring Festival
    ],
)
def test_within_working_hours(cm, moment, inside):
    assert is_within_working_hours(moment, cm) is inside

"""Moments the portal accepts: aware, with a real UTC offset, within the years it can mean.

PostgreSQL stores offsets up to ±15:59 and Python converts years 1 and 9999 to UTC only with
an overflow; real clocks are within UTC-12 and UTC+14, and nothing of a contract happens
before 1970 or after 2199. A moment outside that is refused naming the field.
"""

import datetime as dt

MAX_OFFSET = dt.timedelta(hours=14)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
OUT_OF_RANGE = "The moment must lie between 1970 and 2199."


def moment_problem(moment: dt.datetime) -> str | None:
    """Why `moment` is not accepted, or None when it is."""
    offset = moment.utcoffset()
    if offset is None:
        return "Give a UTC offset (e.g. 'Z' or '+08:00')."
    if abs(offset) > MAX_OFFSET:
        return "The UTC offset must be between -14:00 and +14:00."
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        return OUT_OF_RANGE
    if not EARLIEST <= utc < LATEST:
        return OUT_OF_RANGE
    return None


def bounded_datetime_filter(**kwargs):  # type: ignore[no-untyped-def]
    """A django-filter ISO 8601 filter that refuses moments `moment_problem` refuses (a 400
    naming the parameter), instead of passing them to the database."""
    import django_filters
    from django import forms

    class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
        def to_python(self, value):  # type: ignore[no-untyped-def]
            moment = super().to_python(value)
            if moment is not None:
                problem = moment_problem(moment)
                if problem:
                    raise forms.ValidationError(problem, code="invalid")
            return moment

    class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
        field_class = BoundedIsoDateTimeField

    return BoundedIsoDateTimeFilter(**kwargs)

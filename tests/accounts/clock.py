"""The one clock of the accounts tests: the providers' time zones and the moments tests are set at.

Deadlines are computed in the provider's zone (cm-cn: Asia/Shanghai, cxengage-nl:
Europe/Amsterdam); tests name their moments with these instead of each defining its own.
"""

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
D = dt.date

# New terms published, and the end of their one-month objection period (art. 18.3).
PUBLISHED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)


def noon(day: dt.date, tz=SHANGHAI) -> dt.datetime:
    """Noon of `day` in `tz` (the cm-cn provider's zone by default)."""
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=tz)

"""English dates as the portal has always written them: 3 Dec 2026, 3 Dec 2026, 14:30 CST."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
MONTH_DAY_FORMAT = "j M"

"""简体中文 dates: Django's, with the time zone on date-times (deadlines cross zones)."""

DATE_FORMAT = "Y年n月j日"
DATETIME_FORMAT = "Y年n月j日 H:i T"
SHORT_DATETIME_FORMAT = "Y年n月j日 H:i T"
MONTH_DAY_FORMAT = "n月j日"
# Group thousands with commas as Chinese finance documents (and Babel's amounts) do: 50,000.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

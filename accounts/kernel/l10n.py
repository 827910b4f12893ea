"""Amounts in the reader's language: the stored value stays a Decimal with its currency.

Django formats dates and plain numbers per language (its locale formats, see portal/formats);
it has no currency formats, so Babel (CLDR) places the symbol and separators: 简体中文
"¥1,200.00" / "US$1,200.00", Nederlands "€ 1.200,00" / "CN¥ 1.200,00". English pages keep
the ISO code before the amount ("CNY 1,200.00"), unambiguous for both providers' currencies.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from django.utils import translation

# The CLDR locale for each of settings.LANGUAGES (a region, so Babel picks its symbols).
BABEL_LOCALES = {"en": "en", "zh-hans": "zh_Hans_CN", "nl": "nl_NL"}
# English: the code, a no-break space, the amount with two decimals.
ISO_PATTERN = "¤¤\xa0#,##0.00"


def babel_locale(language: str | None = None) -> str:
    language = (language or translation.get_language() or "en").lower()
    return BABEL_LOCALES.get(language, BABEL_LOCALES.get(language.split("-")[0], "en"))


def money(amount: Decimal | int | str | None, currency: str, language: str | None = None) -> str:
    """`amount` of `currency` written for `language` (default: the active language)."""
    if amount is None or amount == "":
        return "—"
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    locale = babel_locale(language)
    if locale == "en":
        # A plain space keeps the English text as the pages always wrote it.
        return format_currency(value, currency, format=ISO_PATTERN, locale="en").replace(
            "\xa0", " "
        )
    return format_currency(value, currency, locale=locale)

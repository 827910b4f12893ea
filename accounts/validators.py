"""Company registration and VAT numbers (art. 5.5), checked with python-stdnum where it can.

The Dutch KvK number (8 digits, no check digit) is not in python-stdnum, so it is checked here.
"""

import re

from stdnum import get_cc_module
from stdnum.cn import uscc
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

EU_COUNTRIES = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
}
_KVK = re.compile(r"^\d{8}$")


def compact(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value or "").upper()


def normalise_registration_number(country: str, number: str) -> str:
    """The form under which one legal entity registers only once (art. 29.7)."""
    country = (country or "").upper()
    if country == "CN":
        return uscc.compact(number)
    return compact(number)


def registration_number_error(country: str, number: str) -> str | None:
    """Why `number` is not a valid company registration number for `country`, or None."""
    country = (country or "").upper()
    if not (number or "").strip():
        return "A company registration number is required (art. 5.5)."
    if country == "CN":
        try:
            uscc.validate(number)
        except StdnumError as exc:
            return f"Not a valid Unified Social Credit Code (18 characters with check digit): {exc.message} (art. 5.5)."
    elif country == "NL":
        if not _KVK.match(compact(number)):
            return "A Dutch Chamber of Commerce (KvK) number has exactly 8 digits (art. 5.5)."
    return None


def vat_number_error(country: str, number: str, registration_number: str = "") -> str | None:
    """Why `number` is not a valid VAT number for `country`, or None. Blank is allowed (art. 5.5: "if applicable")."""
    country = (country or "").upper()
    if not (number or "").strip():
        return None
    if country == "CN":
        # A Chinese company's taxpayer identification number is its USCC.
        try:
            uscc.validate(number)
        except StdnumError:
            return "For a Chinese company the VAT (taxpayer) number is its Unified Social Credit Code (art. 5.5)."
        if registration_number and uscc.compact(number) != normalise_registration_number(
            "CN", registration_number
        ):
            return "For a Chinese company the taxpayer number must equal its Unified Social Credit Code (art. 5.5)."
        return None
    if country in EU_COUNTRIES:
        value = compact(number)
        prefix = "EL" if country == "GR" else country
        if not value.startswith(prefix):
            value = prefix + value
        try:
            eu_vat.validate(value)
        except StdnumError as exc:
            return f"Not a valid {country} VAT number: {exc.message} (art. 5.5)."
        return None
    module = get_cc_module(country.lower(), "vat")
    if module is not None:
        try:
            module.validate(number)
        except StdnumError as exc:
            return f"Not a valid {country} VAT number: {exc.message} (art. 5.5)."
    return None


def normalise_vat_number(country: str, number: str) -> str:
    country = (country or "").upper()
    if not (number or "").strip():
        return ""
    if country == "CN":
        return uscc.compact(number)
    if country in EU_COUNTRIES:
        value = compact(number)
        prefix = "EL" if country == "GR" else country
        return value if value.startswith(prefix) else prefix + value
    return compact(number)

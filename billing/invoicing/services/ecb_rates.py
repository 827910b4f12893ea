"""The ECB's euro foreign exchange reference rates, imported daily (issue 12 §5).

The rates convert amounts the terms state in euro into the agreed currency: the CXENGAGE
dispute minimum ("Disputes are allowed only for amounts exceeding €150", CX 10) on USD
invoices, the liability cap in euro (art. 13.4). The feed is the ECB's public daily XML
(`settings.ECB_RATES_URL`, `eurofxref-daily.xml`): one `<Cube time="YYYY-MM-DD">` with a
`<Cube currency="USD" rate="1.0815"/>` per currency, each "1 EUR = rate units".

The whole file is read and checked before anything is written: a malformed feed (not XML,
no day, a rate that is not a positive decimal, a currency that is not three letters)
changes nothing, is logged and alerted to each provider's billing staff. A row already kept
for a pair and day (imported before, or entered by staff, the fallback) is left as it is, so
the job is idempotent per date and currency. After an import, the disputes pending check are
decided (`disputes.disputes_pending_decide`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from lxml import etree

from accounts.kernel.notifications import notify, staff_emails
from accounts.models import Provider, User
from billing.models import ExchangeRate

from . import _common
from .disputes import disputes_pending_decide

log = logging.getLogger(__name__)

EURO = "EUR"
ECB_SOURCE = "ECB euro foreign exchange reference rate"
EUROFXREF_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
MAX_FEED_BYTES = 1_000_000
CURRENCY = re.compile(r"^[A-Z]{3}$")
RATE = re.compile(r"^\d{1,10}(\.\d{1,10})?$")


class FeedMalformed(ValueError):
    """The feed is not the ECB's reference-rate XML; nothing of it is imported."""


@dataclass(frozen=True, slots=True)
class ReferenceRate:
    day: dt.date
    currency: str
    rate: Decimal


def ecb_feed_parse(content: bytes) -> list[ReferenceRate]:
    """Every (day, currency, rate) of an ECB eurofxref feed, or `FeedMalformed` naming what is
    wrong. Parsed with lxml without entities or network access (the feed is untrusted)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise FeedMalformed(f"not XML: {exc}") from exc
    if etree.QName(root).localname != "Envelope":
        raise FeedMalformed("the root element is not gesmes:Envelope")
    days = root.findall(f".//{{{EUROFXREF_NS}}}Cube[@time]")
    if not days:
        raise FeedMalformed("no <Cube time=...> in the feed")
    rates: list[ReferenceRate] = []
    for cube in days:
        try:
            day = dt.date.fromisoformat(cube.get("time", ""))
        except ValueError as exc:
            raise FeedMalformed(f"the day {cube.get('time')!r} is not YYYY-MM-DD") from exc
        rows = cube.findall(f"{{{EUROFXREF_NS}}}Cube")
        if not rows:
            raise FeedMalformed(f"no rates for {day:%Y-%m-%d}")
        for row in rows:
            currency, text = (row.get("currency") or "").strip(), (row.get("rate") or "").strip()
            if not CURRENCY.match(currency) or currency == EURO:
                raise FeedMalformed(f"{day:%Y-%m-%d}: {currency!r} is not a currency code")
            try:
                rate = Decimal(text) if RATE.match(text) else None
            except InvalidOperation:
                rate = None
            if rate is None or rate <= 0:
                raise FeedMalformed(f"{day:%Y-%m-%d} {currency}: {text!r} is not a positive rate")
            rates.append(ReferenceRate(day=day, currency=currency, rate=rate))
    if len({(r.day, r.currency) for r in rates}) != len(rates):
        raise FeedMalformed("a currency appears twice for one day")
    return rates


def ecb_feed_fetch(url: str) -> bytes:
    """The feed's bytes from `url` (https:// in production, file:// for a stored copy)."""
    timeout = settings.ECB_RATES_TIMEOUT_SECONDS
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (URL from settings)
        content: bytes = response.read(MAX_FEED_BYTES + 1)
    if len(content) > MAX_FEED_BYTES:
        raise FeedMalformed(f"larger than {MAX_FEED_BYTES} bytes")
    return content


def _alert(problem: str, url: str) -> None:
    """Tell each provider's billing staff, once a day, that today's rates did not come."""
    day = _common.now().date()
    for provider in Provider.objects.order_by("pk"):
        notify(
            key=f"ecb-rates-failed:{provider.pk}:{day:%Y-%m-%d}",
            recipients=staff_emails(User.Role.BILLING_STAFF, provider=provider),
            provider=provider,
            subject=lambda: gettext("ECB exchange rates not imported"),
            body=lambda: (
                gettext("The ECB reference rates could not be imported from %(url)s: %(problem)s")
                % {"url": url, "problem": problem}
                + "\n"
                + gettext(
                    "Nothing was changed. Until the feed is back, enter the rates needed (e.g. "
                    "EUR/USD for the dispute minimum, CX 10) in the admin: Billing → Exchange rates."
                )
            ),
        )


@transaction.atomic
def _store(rates: list[ReferenceRate], url: str) -> dict[str, int]:
    created = kept = 0
    for ref in rates:
        existing = ExchangeRate.objects.filter(
            base_currency=EURO, quote_currency=ref.currency, valid_from=ref.day
        ).first()
        if existing is not None:
            if existing.rate != ref.rate:
                log.warning(
                    "ECB %s %s %s differs from the kept %s (%s); the kept row stays",
                    ref.day,
                    ref.currency,
                    ref.rate,
                    existing.rate,
                    existing.source,
                )
            kept += 1
            continue
        ExchangeRate(
            base_currency=EURO,
            quote_currency=ref.currency,
            rate=ref.rate,
            valid_from=ref.day,
            source=ECB_SOURCE,
            note=url[:200],
        ).save()
        created += 1
    return {"created": created, "kept": kept}


def exchange_rates_import_ecb(
    *, url: str | None = None, fetch: Callable[[str], bytes] | None = None
) -> dict[str, Any]:
    """Job (daily): import the ECB's euro reference rates of the day (see the module).

    A feed that cannot be fetched or parsed changes nothing, is logged as an error and alerted
    to each provider's billing staff (once a day); staff entry stays the fallback. Then the
    disputes pending check for which a rate is now known are decided (CX 10).
    """
    url = url or settings.ECB_RATES_URL
    try:
        rates = ecb_feed_parse((fetch or ecb_feed_fetch)(url))
    except (FeedMalformed, OSError) as exc:
        log.error("ECB rates not imported from %s: %s", url, exc)
        with transaction.atomic():
            _alert(str(exc), url)
        return {"created": 0, "kept": 0, "failed": 1, "error": str(exc)}
    counts = _store(rates, url)
    days = sorted({r.day for r in rates})
    log.info("ECB rates of %s: %s", ", ".join(f"{d:%Y-%m-%d}" for d in days), counts)
    return {**counts, "failed": 0, "disputes": disputes_pending_decide()}

"""Issue 12 §5, exchange rates: the ECB's daily euro reference rates imported by a beat job
from the public XML feed (here the stored sample in tests/billing/invoicing/ecb/, served by a
file:// URL in settings or a fetch replaced for the test; PostgreSQL and Redis are real),
idempotent per day and currency, a malformed feed changing nothing and alerting staff; and the
CXENGAGE dispute minimum (CX 10: "exceeding €150") never decided without a rate: a dispute
without one waits "pending check" and is decided when the rate arrives, by import or by
staff entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.kernel.errors import ValidationFailed
from accounts.models import Notification, Provider
from billing.invoicing.services import disputes as dispute_services
from billing.invoicing.services import ecb_rates
from billing.invoicing.services import exchange_rates as rate_services
from billing.models import Dispute, ExchangeRate, Invoice
from portal import jobs
from tests.billing.invoicing.factories import D, Dec, admin_of, company, issued, line

pytestmark = pytest.mark.django_db

FEEDS = Path(__file__).parent / "ecb"
DAILY = FEEDS / "eurofxref-daily.xml"  # 2 March 2026, 30 currencies, 1 EUR = 1.0815 USD
# EUR 150 at 1.0815 = USD 162.225 → USD 162.23 (rounded half-up): the minimum to exceed.


@pytest.fixture
def feed(settings):
    def _use(path: Path = DAILY):
        settings.ECB_RATES_URL = path.resolve().as_uri()
        return settings.ECB_RATES_URL

    return _use


def test_the_beat_schedule_runs_the_import_daily_and_the_url_is_a_setting():
    assert settings.CELERY_BEAT_SCHEDULE["exchange_rates_import_ecb"]["args"] == (
        "exchange_rates_import_ecb",
    )
    assert "exchange_rates_import_ecb" in jobs.registry()
    assert "disputes_pending_decide" in jobs.registry()
    assert settings.ECB_RATES_URL.endswith("/stats/eurofxref/eurofxref-daily.xml")


def test_the_daily_feed_is_imported_with_its_source_once_per_day_and_currency(feed):
    url = feed()

    result = jobs.run("exchange_rates_import_ecb")

    assert result["created"] == 30 and result["failed"] == 0
    usd = ExchangeRate.objects.get(base_currency="EUR", quote_currency="USD")
    assert (usd.rate, usd.valid_from) == (Dec("1.0815"), D(2026, 3, 2))
    assert usd.source == ecb_rates.ECB_SOURCE and usd.note == url
    assert ExchangeRate.objects.get(quote_currency="CNY").rate == Dec("7.8493")
    # the same feed again: nothing new, nothing changed
    again = jobs.run("exchange_rates_import_ecb")
    assert (again["created"], again["kept"]) == (0, 30)
    assert ExchangeRate.objects.count() == 30


def test_a_rate_staff_entered_for_the_day_is_kept(feed, billing_staff):
    feed()
    rate_services.exchange_rate_enter(
        base_currency="EUR",
        quote_currency="USD",
        rate="1.0800",
        valid_from=D(2026, 3, 2),
        acting_user=billing_staff,
    )
    result = ecb_rates.exchange_rates_import_ecb()
    assert (result["created"], result["kept"]) == (29, 1)
    kept = ExchangeRate.objects.get(quote_currency="USD")
    assert kept.rate == Dec("1.0800") and kept.source == rate_services.STAFF_SOURCE


@pytest.mark.parametrize(
    "content",
    [
        (FEEDS / "eurofxref-daily-bad-rate.xml").read_bytes(),  # rate='1,0815'
        (FEEDS / "eurofxref-daily-truncated.xml").read_bytes(),  # cut off mid-file
        b"<html><body>Service unavailable</body></html>",
        DAILY.read_bytes().replace(b"time='2026-03-02'", b"time='2 March 2026'"),
        DAILY.read_bytes().replace(b"currency='JPY'", b"currency='USD'"),  # USD twice
        DAILY.read_bytes().replace(b"rate='162.47'", b"rate='-162.47'"),
    ],
)
def test_a_malformed_feed_changes_nothing_and_is_logged_and_alerted(
    content, cx, caplog, monkeypatch
):
    cx.staff_email = "billing@cxengage.test"
    cx.save()
    monkeypatch.setattr(ecb_rates, "ecb_feed_fetch", lambda url: content)

    result = ecb_rates.exchange_rates_import_ecb()

    assert result["failed"] == 1 and result["created"] == 0
    assert not ExchangeRate.objects.exists()
    assert any(
        r.levelname == "ERROR" and "ECB rates not imported" in r.message for r in caplog.records
    )
    alerts = Notification.objects.filter(key__startswith="ecb-rates-failed:")
    assert alerts.count() == Provider.objects.count()
    assert (
        "billing@cxengage.test"
        in alerts.get(key__startswith=f"ecb-rates-failed:{cx.pk}:").recipients
    )
    # alerted once a day, however often the job runs
    ecb_rates.exchange_rates_import_ecb()
    assert alerts.count() == Provider.objects.count()


def test_an_unreachable_feed_is_alerted_like_a_malformed_one(feed):
    feed(FEEDS / "no-such-file.xml")
    result = ecb_rates.exchange_rates_import_ecb()
    assert result["failed"] == 1 and not ExchangeRate.objects.exists()
    assert Notification.objects.filter(key__startswith="ecb-rates-failed:").exists()


# --- The dispute minimum with the imported rate (CX 10) ---------------------------------------
def cx_invoice(billing_staff, clock, net="826.45"):
    """A cxengage-nl invoice of USD 1000.00 incl. 21 % VAT, issued and disputed on 2 March 2026
    (3 % of it is USD 30.00: the EUR 150 minimum decides)."""
    client = company(Provider.objects.get(code="cxengage-nl"))
    clock.set(D(2026, 3, 2))
    invoice = issued(client, billing_staff, [line(net)], invoice_date=D(2026, 3, 2))
    assert invoice.total == Dec("1000.00")
    return client, invoice


def dispute(client, invoice, amount):
    return dispute_services.dispute_raise(
        invoice=invoice,
        amount=amount,
        reason="Line 1 bills twice what we sent.",
        acting_user=admin_of(client),
    )


@pytest.mark.parametrize(
    ("amount", "admissible"),
    [
        ("150.00", False),  # EUR 150 compared as USD 150: well under
        ("162.22", False),
        ("162.23", False),  # exactly EUR 150.00 at 1.0815 (rounded to cents): not "> 150"
        ("162.24", True),
        ("500.00", True),
    ],
)
def test_the_minimum_at_the_imported_rate_above_at_and_below_150_euro(
    feed, billing_staff, clock, amount, admissible
):
    feed()
    ecb_rates.exchange_rates_import_ecb()
    client, invoice = cx_invoice(billing_staff, clock)

    if admissible:
        assert dispute(client, invoice, amount).status == Dispute.Status.OPEN
    else:
        with pytest.raises(ValidationFailed) as refused:
            dispute(client, invoice, amount)
        assert refused.value.field == "amount" and "USD 162.23" in refused.value.message
        assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("amount", "outcome", "status"),
    [
        ("162.24", "admitted", Dispute.Status.OPEN),
        ("162.23", "refused", Dispute.Status.REJECTED),  # exactly EUR 150: refused
        ("100.00", "refused", Dispute.Status.REJECTED),
    ],
)
def test_a_dispute_pending_check_is_decided_when_the_import_brings_the_rate(
    feed, billing_staff, clock, amount, outcome, status
):
    client, invoice = cx_invoice(billing_staff, clock)
    pending = dispute(client, invoice, amount)
    assert pending.status == Dispute.Status.PENDING_CHECK
    assert dispute_services.disputes_pending_decide() == {"admitted": 0, "refused": 0, "waiting": 1}

    feed()
    result = jobs.run("exchange_rates_import_ecb")

    assert result["disputes"][outcome] == 1
    pending.refresh_from_db()
    invoice.refresh_from_db()
    assert pending.status == status and pending.admissibility_checked_at is not None
    assert "EUR 150.00" in pending.admissibility_note
    decided = Notification.objects.get(key=f"dispute-pending-decided:{pending.pk}")
    assert outcome in decided.subject
    if outcome == "admitted":
        assert invoice.status == Invoice.Status.DISPUTED
        assert "USD 162.23" in pending.admissibility_note
    else:
        assert invoice.status == Invoice.Status.ISSUED
        assert pending.resolution == pending.admissibility_note
    # decided once: the job again changes nothing
    assert dispute_services.disputes_pending_decide() == {"admitted": 0, "refused": 0, "waiting": 0}


def test_a_staff_entered_rate_decides_a_pending_dispute_at_once(billing_staff, clock):
    client, invoice = cx_invoice(billing_staff, clock)
    pending = dispute(client, invoice, "170.00")

    rate_services.exchange_rate_enter(
        base_currency="eur",
        quote_currency="usd",
        rate="1.1400",  # EUR 150 = USD 171.00: 170.00 is not above it
        valid_from=D(2026, 3, 2),
        acting_user=billing_staff,
    )

    pending.refresh_from_db()
    assert pending.status == Dispute.Status.REJECTED and "USD 171.00" in pending.resolution


def test_a_rate_from_a_later_day_decides_a_dispute_that_had_none_on_its_day(billing_staff, clock):
    client, invoice = cx_invoice(billing_staff, clock)
    pending = dispute(client, invoice, "170.00")
    rate_services.exchange_rate_enter(
        base_currency="EUR",
        quote_currency="USD",
        rate="1.0815",
        valid_from=D(2026, 3, 4),
        acting_user=billing_staff,
    )
    pending.refresh_from_db()
    assert pending.status == Dispute.Status.OPEN


def test_staff_entry_of_a_rate_is_checked_and_one_per_pair_and_day(billing_staff):
    args = dict(base_currency="EUR", quote_currency="USD", valid_from=D(2026, 3, 2))
    for bad, field in (("0", "rate"), ("-1.2", "rate"), ("1.1", None)):
        if field is None:
            rate_services.exchange_rate_enter(rate=bad, acting_user=billing_staff, **args)
            continue
        with pytest.raises(ValidationFailed) as refused:
            rate_services.exchange_rate_enter(rate=bad, acting_user=billing_staff, **args)
        assert field in refused.value.errors
    with pytest.raises(ValidationFailed):
        rate_services.exchange_rate_enter(rate="1.2", acting_user=billing_staff, **args)
    assert ExchangeRate.objects.get().rate == Dec("1.1")


def test_the_rates_page_lists_pending_disputes_and_staff_enter_a_rate_there(
    billing_staff, clock, as_user
):
    from django.urls import reverse

    client, invoice = cx_invoice(billing_staff, clock)
    pending = dispute(client, invoice, "200.00")
    browser = as_user(billing_staff)
    page = browser.get(reverse("billing:rates"))
    assert page.status_code == 200 and invoice.number.encode() in page.content

    form = {
        "fx-base_currency": "EUR",
        "fx-quote_currency": "USD",
        "fx-rate": "1.0815",
        "fx-valid_from": "2026-03-02",
        "fx-note": "ECB site, read by hand",
    }
    assert browser.post(reverse("billing:exchange_rate_enter"), form).status_code == 302
    again = browser.post(reverse("billing:exchange_rate_enter"), form)
    assert again.status_code == 400  # one rate per pair and day
    row = ExchangeRate.objects.get()
    assert (
        row.source == rate_services.STAFF_SOURCE
        and row.history.latest().history_user == billing_staff
    )
    pending.refresh_from_db()
    assert pending.status == Dispute.Status.OPEN
    assert invoice.number.encode() not in browser.get(reverse("billing:rates")).content

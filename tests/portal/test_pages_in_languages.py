"""A client reads the dashboard, the wallet and the invoice list in its language (issue 11):
the labels translated, no English label left, amounts with the currency placed for the
language (Babel) and dates in the language's format (Django's formats)."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.kernel.l10n import money
from accounts.models import Provider
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.invoicing.factories import company, issued, line

pytestmark = pytest.mark.django_db

DUTCH_MONTHS = (
    "januari februari maart april mei juni juli augustus september oktober november december"
).split()

# English labels that must not be left on the pages once they are read in another language.
ENGLISH = {
    "dashboard": [
        "Company status",
        "Messaging",
        "Open data requests",
        "Governing law",
        "Usable now",
        "unpaid messages",
        "Terms and conditions",
    ],
    "wallet": [
        "Wallet and message limit",
        "Credit lots",
        "Ledger",
        "Balance after",
        "Export CSV",
        "Usage against the message limit",
        "usable from",
    ],
    "invoices": ["Number", "Due", "payment term", "credit note", "Older", "Newest"],
}

CASES = {
    "zh-hans": {
        "provider": "cm-cn",
        "dashboard": ["公司状态", "消息发送", "预付费", "钱包和消息限额", "未付消息"],
        "wallet": ["钱包和消息限额", "余额批次", "账簿", "当前可用", "充值"],
        "invoices": ["发票", "编号", "到期日", "合计", "已开具", "付款期限"],
    },
    "nl": {
        "provider": "cxengage-nl",
        "dashboard": ["Status van het bedrijf", "Berichtenverkeer", "Tegoed en berichtlimiet"],
        "wallet": ["Tegoed en berichtlimiet", "Tegoedpartijen", "Grootboek", "Nu bruikbaar"],
        "invoices": ["Facturen", "Nummer", "Vervaldatum", "Totaal", "Uitgereikt"],
    },
}


def visible_text(response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", body)
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def assert_no_english(text: str, page: str) -> None:
    left = [w for w in ENGLISH[page] if re.search(rf"\b{re.escape(w)}\b", text)]
    assert left == [], f"untranslated on the {page}: {left}"


def long_date(language: str, day: dt.date) -> str:
    if language == "zh-hans":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"


@pytest.fixture(params=sorted(CASES))
def case(request):
    return request.param, CASES[request.param]


@pytest.fixture
def prepaid_reader(case):
    """A prepaid client's admin who reads `language`, with 1,200.00 usable since two days."""
    language, spec = case
    client = prepaid_client(Provider.objects.get(code=spec["provider"]))
    top_up(
        wallet_for_client(client=client),
        "1200.00",
        timezone.now() - dt.timedelta(days=2),
        reference="PAY-I18N",
    )
    return ClientAdminFactory(client=client, language=language)


def test_the_dashboard_is_in_the_users_language_with_its_amounts(as_user, case, prepaid_reader):
    language, spec = case
    page = as_user(prepaid_reader).get(reverse("dashboard"))
    assert page.headers["Content-Language"] == language
    text = visible_text(page)
    for word in spec["dashboard"]:
        assert word in text, word
    assert_no_english(text, "dashboard")
    amount = money(Decimal("1200.00"), prepaid_reader.client.provider.currency, language)
    assert amount in text
    # cm-cn bills in CNY, cxengage-nl in USD
    assert {"zh-hans": "¥1,200.00", "nl": "US$\xa01.200,00"}[language] == amount


def test_the_wallet_is_in_the_users_language_with_its_amounts_and_dates(
    as_user, case, prepaid_reader
):
    language, spec = case
    page = as_user(prepaid_reader).get(reverse("billing:wallet"))
    text = visible_text(page)
    for word in spec["wallet"]:
        assert word in text, word
    assert_no_english(text, "wallet")
    currency = prepaid_reader.client.provider.currency
    assert money(Decimal("1200.00"), currency, language) in text  # balance, usable now
    purchased = local_date(prepaid_reader.client.provider) - dt.timedelta(days=2)
    assert long_date(language, purchased) in text


def test_the_invoice_list_is_in_the_users_language_with_its_amounts_and_dates(
    as_user, case, billing_staff
):
    language, spec = case
    provider = Provider.objects.get(code=spec["provider"])
    client = company(provider)
    today = local_date(provider)
    invoice = issued(client, billing_staff, [line("1000.00")], invoice_date=today)
    reader = ClientAdminFactory(client=client, language=language)
    text = visible_text(as_user(reader).get(reverse("billing:invoices")))
    for word in spec["invoices"]:
        assert word in text, word
    assert_no_english(text, "invoices")
    assert invoice.number in text
    assert money(invoice.total, invoice.currency, language) in text
    assert long_date(language, today) in text


def test_the_same_pages_stay_english_for_an_english_reader(as_user, client_company, client_admin):
    """The English text the rest of the suite asserts: ISO code first, English dates."""
    wallet_client = prepaid_client(client_company.provider)
    top_up(
        wallet_for_client(client=wallet_client), "1200.00", timezone.now() - dt.timedelta(days=2)
    )
    reader = ClientAdminFactory(client=wallet_client, language="en")
    text = visible_text(as_user(reader).get(reverse("billing:wallet")))
    assert "CNY 1,200.00" in text and "Credit lots" in text
    purchased = local_date(wallet_client.provider) - dt.timedelta(days=2)
    assert purchased.strftime("%-d %b %Y") in text


@pytest.mark.parametrize(
    ("language", "amount", "currency", "written"),
    [
        ("en", "1234.5", "CNY", "CNY 1,234.50"),
        ("en", "-20", "EUR", "-EUR 20.00"),
        ("zh-hans", "1234.5", "CNY", "¥1,234.50"),
        ("zh-hans", "1234.5", "USD", "US$1,234.50"),
        ("nl", "1234.5", "EUR", "€\xa01.234,50"),
        ("nl", "1234.5", "CNY", "CN¥\xa01.234,50"),
    ],
)
def test_amounts_are_written_for_the_language(language, amount, currency, written):
    assert money(Decimal(amount), currency, language) == written


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", "付款期限已于 2026-03-16 届满"),
        ("nl", "de betalingstermijn is verstreken op 2026-03-16"),
        ("en", "the payment term ended on 2026-03-16"),
    ],
)
def test_a_refused_dispute_is_explained_in_the_readers_language(cm, billing_staff, language, words):
    """The refusal is written when it is raised, in the language of the request (art. 10.1)."""
    from django.utils import translation

    from accounts.kernel.errors import ApplicationError
    from billing.invoicing.services.disputes import dispute_window_check

    invoice = issued(company(cm), billing_staff, [line("100.00")], invoice_date=dt.date(2026, 3, 2))
    assert invoice.due_date == dt.date(2026, 3, 16)
    with translation.override(language), pytest.raises(ApplicationError) as refused:
        dispute_window_check(invoice=invoice, today=dt.date(2026, 3, 17))
    assert words in refused.value.message
    assert invoice.number in refused.value.message

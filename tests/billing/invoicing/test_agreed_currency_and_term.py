"""Issue 12 §5, the agreed currency and payment term: the agreement names its currency (the
profile's by default; CX 3 "in the agreed currency (default: USD)", art. 4.1 "in RMB or RMB
equivalents to Euros") and invoices, the wallet and prices follow it; the payment term is 14
days "unless the Agreement explicitly contains different payment terms" (4.5), and the
invoice's own where it states one (4.8). Ends with an invoice in EUR for a CX client, from
draft to PDF to payment."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.models import Agreement
from accounts.services import agreements as agreement_services
from billing.invoicing.pdf import invoice_pdf
from billing.invoicing.services import bank_details
from billing.invoicing.services import deposits as deposit_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import prices as price_services
from billing.models import BankAccount, CreditLot, Invoice, Price
from billing.prepaid.services import wallets
from tests.accounts.factories import AgreementFactory, ClientFactory
from tests.billing.invoicing.factories import D, Dec, admin_of, company, issued, key, line

pytestmark = pytest.mark.django_db


def agree(client, staff, currency, days=None) -> Agreement:
    return agreement_services.agreement_commercial_terms_set(
        agreement=client.agreement, currency=currency, payment_term_days=days, acting_user=staff
    )


# --- The agreement names its currency and term ------------------------------------------------
def test_an_agreement_takes_its_profile_currency_and_term_by_default(cm, cx):
    cn, nl = company(cm), company(cx)
    assert (cn.agreement.currency, nl.agreement.currency) == ("CNY", "USD")
    assert cn.agreement.payment_term_days is None
    assert cn.agreement.effective_payment_term_days == 14
    created = agreement_services.agreement_create(
        client=ClientFactory(provider=cx), start_date=D(2026, 1, 1)
    )
    assert created.currency == "USD"


@pytest.mark.parametrize(
    ("currency", "days", "field"),
    [
        ("EURO", None, "currency"),
        ("XYZ", None, "currency"),
        ("", None, "currency"),
        ("EUR", 0, "payment_term_days"),
        ("EUR", 366, "payment_term_days"),
        ("EUR", "7.5", "payment_term_days"),
        ("EUR", -1, "payment_term_days"),
    ],
)
def test_a_bad_currency_or_term_is_refused_naming_the_field_and_changes_nothing(
    cx, billing_staff, currency, days, field
):
    client = company(cx)
    with pytest.raises(ValidationFailed) as refused:
        agree(client, billing_staff, currency, days)
    assert field in refused.value.errors
    client.agreement.refresh_from_db()
    assert (client.agreement.currency, client.agreement.payment_term_days) == ("USD", None)


def test_staff_set_the_agreed_currency_and_term_with_history_and_others_may_not(cx, billing_staff):
    client = company(cx)
    agreement = agree(client, billing_staff, "eur", 365)
    assert (agreement.currency, agreement.payment_term_days) == ("EUR", 365)
    assert agreement.history.latest().history_user == billing_staff
    assert agree(client, billing_staff, "EUR", "").payment_term_days is None  # back to 14
    with pytest.raises(NotAllowed):
        agree(client, admin_of(client), "USD")


# --- Due dates: invoice term > agreement term > profile's 14 days (art. 4.5, 4.8) -------------
@pytest.mark.parametrize(
    ("agreement_days", "invoice_days", "due"),
    [
        (None, None, D(2026, 3, 16)),  # the profile's 14 days
        (30, None, D(2026, 4, 1)),  # the agreement's 30 days
        (30, 7, D(2026, 3, 9)),  # the invoice's own 7 days override the agreement's
        (None, 7, D(2026, 3, 9)),
        (1, None, D(2026, 3, 3)),
    ],
)
def test_the_due_date_follows_the_invoice_then_the_agreement_then_the_profile(
    cm, billing_staff, clock, agreement_days, invoice_days, due
):
    client = company(cm)
    agree(client, billing_staff, "CNY", agreement_days)
    clock.set(D(2026, 3, 2))
    draft = invoice_services.invoice_draft(
        client=client, lines=[line()], acting_user=billing_staff, payment_term_days=invoice_days
    )
    invoice = invoice_services.invoice_issue(
        invoice=draft, acting_user=billing_staff, invoice_date=D(2026, 3, 2)
    )
    assert invoice.due_date == due
    assert invoice.payment_term_days == invoice_days


@pytest.mark.parametrize("days", [0, 366, "x", True])
def test_a_bad_invoice_term_is_refused(cm, billing_staff, days):
    with pytest.raises(ValidationFailed) as refused:
        invoice_services.invoice_draft(
            client=company(cm), lines=[line()], acting_user=billing_staff, payment_term_days=days
        )
    assert "payment_term_days" in refused.value.errors
    assert not Invoice.objects.exists()


def test_an_issued_invoice_keeps_its_due_date_when_the_agreement_term_changes(
    cm, billing_staff, clock
):
    client = company(cm)
    invoice = issued(client, billing_staff, invoice_date=D(2026, 3, 2), clock=clock)
    agree(client, billing_staff, "CNY", 60)
    invoice.refresh_from_db()
    assert invoice.due_date == D(2026, 3, 16)


# --- Prices and top-ups in the agreed currency only ---------------------------------------
def test_a_price_is_in_the_agreed_currency_and_another_is_refused(cx, billing_staff):
    client = company(cx)
    agree(client, billing_staff, "EUR")
    price = price_services.price_set(
        client=client,
        channel="sms",
        unit_price="0.05",
        valid_from=D(2026, 3, 1),
        acting_user=billing_staff,
    )
    assert price.currency == "EUR"
    assert price.changes.get().currency == "EUR"

    with pytest.raises(ValidationFailed) as refused:
        price_services.price_set(
            client=client,
            channel="sms",
            unit_price="0.06",
            valid_from=D(2026, 4, 1),
            acting_user=billing_staff,
            currency="USD",
        )
    assert "currency" in refused.value.errors and "EUR" in refused.value.errors["currency"][0]
    assert Price.objects.filter(client=client).count() == 1


def prepaid_client(provider):
    client = ClientFactory(provider=provider, billing_mode="prepaid")
    AgreementFactory(client=client, start_date=D(2026, 1, 1), current_term_end=D(2026, 12, 31))
    return client


def top_up(wallet, staff, currency=None, amount="100.00"):
    return wallets.wallet_top_up(
        wallet=wallet,
        amount=amount,
        received_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        reference="bank 1",
        idempotency_key=key(),
        acting_user=staff,
        currency=currency,
    )


def test_the_wallet_is_in_the_agreed_currency_and_a_top_up_in_another_is_refused(cx, billing_staff):
    client = prepaid_client(cx)
    agree(client, billing_staff, "EUR")
    wallet = wallets.wallet_for_client(client=client)
    assert wallet.currency == "EUR"
    lot = top_up(wallet, billing_staff, currency="EUR")
    assert lot.currency == "EUR"

    with pytest.raises(ValidationFailed) as refused:
        top_up(wallet, billing_staff, currency="USD")
    assert "currency" in refused.value.errors
    wallet.refresh_from_db()
    assert wallet.balance == Dec("100.00") and CreditLot.objects.filter(wallet=wallet).count() == 1


def test_a_wallet_with_money_keeps_its_currency_and_refuses_top_ups_after_a_change(
    cx, billing_staff
):
    client = prepaid_client(cx)
    wallet = wallets.wallet_for_client(client=client)
    top_up(wallet, billing_staff)
    agree(client, billing_staff, "EUR")

    assert wallets.wallet_for_client(client=client).currency == "USD"
    with pytest.raises(ValidationFailed) as refused:
        top_up(wallet, billing_staff)
    assert "currency" in refused.value.errors


def test_an_empty_wallet_follows_a_change_of_the_agreed_currency(cx, billing_staff):
    client = prepaid_client(cx)
    assert wallets.wallet_for_client(client=client).currency == "USD"
    agree(client, billing_staff, "EUR")
    assert wallets.wallet_for_client(client=client).currency == "EUR"


def test_a_deposit_is_asked_in_the_agreed_currency(cx, billing_staff):
    client = company(cx)
    agree(client, billing_staff, "EUR")
    deposit = deposit_services.deposit_demand(
        client=client, amount="500.00", reason="new client", acting_user=billing_staff
    )
    assert deposit.currency == "EUR"


# --- An invoice in EUR for a CX client, end to end (issue 12 "Done when") -------------------
def eur_account(cx, staff) -> BankAccount:
    return bank_details.bank_account_save(
        account=BankAccount(
            provider=cx,
            kind=BankAccount.Kind.IBAN,
            currency="EUR",
            account_holder="CXENGAGE B.V.",
            bank_name="DEMO Bank Amsterdam",
            iban="NL93DEMO0123456789",
            bic="DEMONL2A",
            is_primary=True,
        ),
        acting_user=staff,
    )


def test_an_invoice_in_eur_for_a_cx_client_from_draft_to_pdf_to_payment(cx, billing_staff, clock):
    client = company(cx)
    agree(client, billing_staff, "EUR", 30)
    account = eur_account(cx, billing_staff)
    clock.set(D(2026, 3, 2))

    draft = invoice_services.invoice_draft(
        client=client, lines=[line("1000.00", vat_rate="21")], acting_user=billing_staff
    )
    invoice = invoice_services.invoice_issue(
        invoice=draft, acting_user=billing_staff, invoice_date=D(2026, 3, 2)
    )

    assert invoice.currency == "EUR" and invoice.total == Dec("1210.00")
    assert invoice.due_date == D(2026, 4, 1)  # the agreement's 30 days
    assert invoice.pay_to == account and invoice.payment_reference.startswith("RF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice_pdf(invoice))).pages)
    assert "EUR" in text and "1,210.00" in text and "NL93DEMO0123456789" in text
    assert "USD" not in text

    clock.set(D(2026, 3, 20))
    payment_services.payment_record(
        invoice=invoice,
        amount="1210.00",
        received_on=D(2026, 3, 20),
        reference=invoice.payment_reference,
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == Dec("1210.00")
    assert invoice.payments.get().currency == "EUR"


def test_an_agreed_currency_without_a_bank_account_cannot_be_invoiced(cx, billing_staff):
    client = company(cx)
    agree(client, billing_staff, "EUR")
    with pytest.raises(ValidationFailed) as refused:
        invoice_services.invoice_draft(client=client, lines=[line()], acting_user=billing_staff)
    assert "currency" in refused.value.errors
    assert not Invoice.objects.exists()


# --- Pages and API ----------------------------------------------------------------------------
def test_staff_set_currency_and_term_on_the_client_page(cx, billing_staff, as_user):
    client = company(cx)
    browser = as_user(billing_staff)
    page = browser.get(reverse("client_detail", args=[client.pk]))
    assert page.status_code == 200 and b"USD" in page.content

    url = reverse("client_agreement_terms", args=[client.pk])
    refused = browser.post(url, {"terms-currency": "EURO", "terms-payment_term_days": "30"})
    assert refused.status_code == 400 and b"ISO 4217" in refused.content
    done = browser.post(url, {"terms-currency": "EUR", "terms-payment_term_days": "30"})
    assert done.status_code == 302
    client.agreement.refresh_from_db()
    assert (client.agreement.currency, client.agreement.payment_term_days) == ("EUR", 30)
    assert b"30 days" in browser.get(reverse("client_detail", args=[client.pk])).content


def test_the_api_shows_and_staff_patch_the_currency_and_term(cx, billing_staff, api):
    client = company(cx)
    admin = admin_of(client)
    url = f"/api/v1/agreements/{client.agreement.pk}/"

    shown = api(admin).get(url).json()
    assert shown["currency"] == "USD" and shown["payment_term_days"] is None
    assert shown["effective_payment_term_days"] == 14
    assert (
        api(admin)
        .patch(url, {"currency": "EUR", "payment_term_days": 30}, format="json")
        .status_code
        == 403
    )

    answer = api(billing_staff).patch(
        url, {"currency": "EUR", "payment_term_days": 30}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["currency"] == "EUR" and answer.json()["effective_payment_term_days"] == 30
    bad = api(billing_staff).patch(url, {"currency": "EU", "payment_term_days": 30}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "currency"


def test_the_invoice_api_takes_the_invoices_own_term(cm, billing_staff, api, clock):
    client = company(cm)
    answer = api(billing_staff).post(
        "/api/v1/invoices/",
        {
            "client": client.pk,
            "lines": [{"description": "SMS", "unit_price": "10.00"}],
            "payment_term_days": 7,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["payment_term_days"] == 7 and answer.json()["currency"] == "CNY"


def test_the_data_migration_fills_existing_agreements_from_their_profile(cm, cx):
    import importlib

    from django.apps import apps

    cn, nl, eur = company(cm), company(cx), company(cx)
    Agreement.objects.filter(pk__in=[cn.agreement.pk, nl.agreement.pk]).update(currency="")
    Agreement.objects.filter(pk=eur.agreement.pk).update(currency="EUR")
    migration = importlib.import_module("accounts.migrations.0017_currency_agreement_currency_term")

    migration.fill_currency(apps, None)

    currencies = dict(Agreement.objects.values_list("client_id", "currency"))
    assert (currencies[cn.pk], currencies[nl.pk], currencies[eur.pk]) == ("CNY", "USD", "EUR")


@pytest.mark.parametrize(("amount", "admitted"), [("150.00", False), ("150.01", True)])
def test_a_euro_invoice_checks_the_150_euro_minimum_without_any_rate(
    cx, billing_staff, clock, amount, admitted
):
    from billing.invoicing.services import disputes as dispute_services
    from billing.models import Dispute

    client = company(cx)
    agree(client, billing_staff, "EUR")
    eur_account(cx, billing_staff)
    invoice = issued(
        client, billing_staff, [line("4000.00")], invoice_date=D(2026, 3, 2), clock=clock
    )
    assert invoice.currency == "EUR"  # 3 % of 4840.00 is 145.20: the EUR 150 minimum decides

    def raise_():
        return dispute_services.dispute_raise(
            invoice=invoice, amount=amount, reason="Double billed.", acting_user=admin_of(client)
        )

    if admitted:
        assert raise_().status == Dispute.Status.OPEN
    else:
        with pytest.raises(ValidationFailed) as refused:
            raise_()
        assert "EUR 150.00" in refused.value.message

"""Demo data for a first look: both providers, two clients each, a user of every role.

Idempotent: running it again finds what it made and changes nothing.
"""

import base64
import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as accounts_services
from accounts.kernel.dates import local_date
from accounts.models import (
    Agreement,
    Client,
    Director,
    Provider,
    TermsAcceptance,
    TermsVersion,
    User,
)
from billing.invoicing.services import bank_details
from billing.invoicing.services import invoices as invoice_services
from billing.models import BankAccount, ExchangeRate, Invoice, PremiumStatement
from billing.premium import services as premium_services
from billing.prepaid.services import wallets as billing_wallets
from portal.env import portal_addr

from . import _demo_history as history

DEMO_PASSWORD = "demo-portal-2026"

# The providers' bank accounts (art. 4.10): demo banks ("DEMO" bank and BIC codes), numbers
# whose check digits are right (ISO 13616, ISO 9362) but which no bank holds. Keyed by
# (provider, currency, number) so a second run finds them.
DEMO_BANK_ACCOUNTS = [
    {
        "provider": "cm-cn",
        "kind": BankAccount.Kind.CHINA,
        "currency": "CNY",
        "bank_name": "DEMO Bank of Shenzhen (demo data, do not pay)",
        "branch": "Nanshan Sub-branch",
        "account_number": "4000012345678900001",
        "bic": "DEMOCNSZXXX",
    },
    {
        "provider": "cm-cn",
        "kind": BankAccount.Kind.IBAN,
        "currency": "EUR",
        "bank_name": "DEMO Bank Frankfurt (demo data, do not pay)",
        "iban": "DE52000000000012345678",
        "bic": "DEMODEFFXXX",
    },
    {
        "provider": "cxengage-nl",
        "kind": BankAccount.Kind.IBAN,
        "currency": "EUR",
        "bank_name": "DEMO Bank Amsterdam (demo data, do not pay)",
        "iban": "NL93DEMO0123456789",
        "bic": "DEMONL2A",
    },
    {
        "provider": "cxengage-nl",
        "kind": BankAccount.Kind.IBAN,
        "currency": "USD",
        "bank_name": "DEMO Bank Amsterdam (demo data, do not pay)",
        "iban": "NL45DEMO0987654321",
        "bic": "DEMONL2A",
    },
]
# A fixed TOTP secret for the demo staff, so a person can add it to an authenticator app.
# The seller's details an EN 16931 e-invoice needs (issue 14 §3: cxengage-nl's PDFs are
# Factur-X): a checksum-valid test VAT number of the kind e-invoicing examples use, and a demo
# address. Only filled in where the profile has none; real ones are entered in the admin.
DEMO_SELLER_DETAILS = {
    "cxengage-nl": {
        "vat_number": "NL000099998B57",
        "address": "Demo street 1 (demo data)\n1000 AA Amsterdam",
    },
}

DEMO_TOTP_HEX = "3132333435363738393031323334353637383930"

CLIENTS = [
    {
        "provider": "cm-cn",
        "slug": "shenzhen-sms",
        "billing_mode": "postpaid",
        "legal_name": "深圳快讯科技有限公司 (Shenzhen Kuaixun Technology Co., Ltd.)",
        "address": "Nanshan District, Shenzhen, Guangdong",
        "country": "CN",
        "registration_number": "91440300MA5F00001A",
        "vat_number": "91440300MA5F00001A",
        "director": ("Li Wei", "Legal representative"),
    },
    {
        "provider": "cm-cn",
        "slug": "guangzhou-retail",
        "billing_mode": "prepaid",
        "legal_name": "广州优购零售有限公司 (Guangzhou Yougou Retail Co., Ltd.)",
        "address": "Tianhe District, Guangzhou, Guangdong",
        "country": "CN",
        "registration_number": "91440300MA5F00002D",
        "vat_number": "91440300MA5F00002D",
        "director": ("Chen Jing", "Executive director"),
    },
    {
        "provider": "cxengage-nl",
        "slug": "tulip-logistics",
        "billing_mode": "postpaid",
        "legal_name": "Tulip Logistics B.V.",
        "address": "Keizersgracht 1, 1015 AA Amsterdam",
        "country": "NL",
        "registration_number": "12345678",
        "vat_number": "NL100000009B01",
        "director": ("Anne de Vries", "Managing director"),
    },
    {
        "provider": "cxengage-nl",
        "slug": "polder-health",
        "billing_mode": "prepaid",
        "legal_name": "Polder Health B.V.",
        "address": "Coolsingel 40, 3011 AD Rotterdam",
        "country": "NL",
        "registration_number": "87654321",
        "vat_number": "NL100000010B01",
        "director": ("Pieter Bakker", "Director"),
    },
]


# art. 18.6: cm-cn's terms are made in Chinese and English; the English version prevails.
DEMO_TERMS_TEXTS = {
    "en": "The terms and conditions as signed at registration.",
    "zh-hans": "注册时签署的条款和条件。",
}


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the logins."

    def handle(self, *args, **options):
        # The demo's own notices (approvals, terms) would flood the console; keep them in memory.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            self._seed()

    @transaction.atomic
    def _seed(self):
        providers = {p.code: p for p in Provider.objects.all()}
        # Staff serve providers (art. 11.1, 21.4): the demo's billing and compliance staff serve
        # both, and one billing user per provider shows the scoping.
        billing = self._staff(
            "billing@demo.test", "Bea Billing", User.Role.BILLING_STAFF, providers.values()
        )
        compliance = self._staff(
            "compliance@demo.test",
            "Carl Compliance",
            User.Role.COMPLIANCE_OFFICER,
            providers.values(),
        )
        scoped_staff = [
            self._staff(
                f"billing-{code}@demo.test", f"{p.name} billing", User.Role.BILLING_STAFF, [p]
            )
            for code, p in providers.items()
        ]
        self._bank_accounts(billing)
        self._seller_details()
        for provider in Provider.objects.all():
            if not TermsVersion.objects.filter(provider=provider).exists():
                accounts_services.terms_publish(
                    provider=provider,
                    version="2026.1",
                    summary="Terms and conditions as signed.",
                    texts=DEMO_TERMS_TEXTS,
                    acting_user=billing,
                )
        logins = []
        seeded = []
        for spec in CLIENTS:
            client = self._client(spec, billing)
            for role, label in (
                (User.Role.CLIENT_ADMIN, "admin"),
                (User.Role.CLIENT_VIEWER, "viewer"),
            ):
                email = f"{label}@{spec['slug']}.demo.test"
                if not User.objects.filter(email=email).exists():
                    User.objects.create_user(
                        email,
                        DEMO_PASSWORD,
                        full_name=f"{spec['slug']} {label}",
                        role=role,
                        client=client,
                    )
                logins.append(
                    (
                        email,
                        f"{role.label} of {client.legal_name} ({spec['provider']}, {spec['billing_mode']})",
                    )
                )
            self._money(client, spec, billing)
            seeded.append((client, spec))
        # CX 10: the €150 dispute minimum is converted at a staff-maintained rate.
        ExchangeRate.objects.get_or_create(
            base_currency="EUR",
            quote_currency="USD",
            valid_from=dt.date(2026, 1, 1),
            defaults={"rate": Decimal("1.0850"), "source": "demo"},
        )
        self._history(seeded, billing, compliance)
        secret = base64.b32encode(bytes.fromhex(DEMO_TOTP_HEX)).decode()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Sign in at http://{portal_addr()}/ with password {DEMO_PASSWORD}"
            )
        )
        for email, what in logins:
            self.stdout.write(f"  {email:40} {what}")
        self.stdout.write(
            f"  {billing.email:40} billing staff of both providers (two-factor: TOTP secret {secret})"
        )
        self.stdout.write(
            f"  {compliance.email:40} compliance officer of both providers (same TOTP secret)"
        )
        for user in scoped_staff:
            self.stdout.write(f"  {user.email:40} {user.full_name} only (same TOTP secret)")
        self.stdout.write(
            "  Staff codes: `.venv/bin/python manage.py demo_totp` prints the current one."
        )

    def _history(self, seeded, billing, compliance):
        """Six months of history for every client (issue 15 §4, `_demo_history`)."""
        for client, spec in seeded:
            slug = spec["slug"]
            admin = User.objects.get(email=f"admin@{slug}.demo.test")
            history.usage(client, slug, billing)
            if client.billing_mode == Client.BillingMode.PREPAID:
                history.prepaid_extras(client, slug, admin, billing)
            else:
                history.invoices(client, slug, billing, admin)
                history.interest(client, slug, billing)
                history.fapiao(client, admin, billing)
                history.deposit(client, billing)
                history.limit_requests(client, admin, billing)
            history.webhook(client, admin)
            history.alert(client, admin)
            history.account_requests(client, admin, billing)
            history.loss_claim(client, admin)
            history.dsrs(client, slug, admin, compliance)
            history.audit(client, admin)
        for provider in Provider.objects.all():
            clients = [c for c, _spec in seeded if c.provider_id == provider.pk]
            history.provider_compliance(provider, clients, compliance)
            history.pending_sign_up(provider, DEMO_PASSWORD)
            history.terms_objection(provider, clients, billing)

    def _seller_details(self):
        for code, details in DEMO_SELLER_DETAILS.items():
            provider = Provider.objects.filter(code=code).first()
            if provider is None or provider.vat_number:
                continue
            for field, value in details.items():
                setattr(provider, field, value)
            provider.save(update_fields=list(details))

    def _bank_accounts(self, billing):
        for spec in DEMO_BANK_ACCOUNTS:
            provider = Provider.objects.get(code=spec["provider"])
            number = {
                "iban": spec.get("iban", ""),
                "account_number": spec.get("account_number", ""),
            }
            if BankAccount.objects.filter(
                provider=provider, currency=spec["currency"], **number
            ).exists():
                continue
            fields = {k: v for k, v in spec.items() if k != "provider"}
            bank_details.bank_account_save(
                account=BankAccount(
                    provider=provider,
                    account_holder=provider.legal_name[:70],
                    is_primary=True,
                    **fields,
                ),
                acting_user=billing,
            )

    def _money(self, client, spec, billing):
        """A prepaid client gets two top-ups (one usable, one usable tomorrow); a postpaid
        client an issued invoice for last month. Idempotent by key."""
        slug = spec["slug"]
        if client.billing_mode == Client.BillingMode.PREPAID:
            wallet = billing_wallets.wallet_for_client(client=client)
            now = timezone.now()
            for key, amount, received in (
                (f"demo:{slug}:1", "500.00", now - dt.timedelta(days=3)),
                (f"demo:{slug}:2", "200.00", now),
            ):
                billing_wallets.wallet_top_up(
                    wallet=wallet,
                    amount=Decimal(amount),
                    received_at=received,
                    reference=key,
                    idempotency_key=key,
                    acting_user=billing,
                )
            if client.provider.offers_premium_services:
                self._premium(client, billing)
            return
        if spec["provider"] == "cxengage-nl":
            self._euro_invoice(client, billing)
        if client.provider.offers_premium_services and client.billing_mode == "postpaid":
            self._premium(client, billing)
        if Invoice.objects.filter(client=client, source_key=None).exists():
            return
        draft = invoice_services.invoice_draft(
            client=client,
            acting_user=billing,
            lines=[
                {
                    "description": "SMS messages, last month",
                    "quantity": "12000",
                    "unit_price": "0.045",
                    "messages": 12000,
                },
                {
                    "description": "WhatsApp Business sessions",
                    "quantity": "800",
                    "unit_price": "0.30",
                },
            ],
        )
        invoice_services.invoice_issue(invoice=draft, acting_user=billing)

    def _premium(self, client, billing):
        """Last month's premium-SMS revenue statement from one operator, issued (CX Part V): part
        of what the operator billed is received, one end-user chargeback with its fee deducted."""
        today = local_date(client.provider)
        end = today.replace(day=1) - dt.timedelta(days=1)
        start = end.replace(day=1)
        if PremiumStatement.objects.filter(client=client, period_start=start).exists():
            return
        statement = premium_services.premium_statement_create(
            client=client, operator="KPN", period_start=start, period_end=end, acting_user=billing
        )
        key = f"demo:premium:{statement.pk}"
        premium_services.premium_receipt_record(
            statement=statement,
            amount="1840.00",
            operator_billed="2300.00",
            received_on=today,
            reference="KPN remittance",
            acting_user=billing,
            idempotency_key=f"{key}:receipt",
        )
        premium_services.premium_chargeback_record(
            statement=statement,
            amount="4.50",
            fee="2.50",
            occurred_on=today,
            end_user_reference="+31 6 1234 5678, keyword WEER",
            acting_user=billing,
            idempotency_key=f"{key}:chargeback",
        )
        premium_services.premium_statement_issue(statement=statement, acting_user=billing)

    def _euro_invoice(self, client, billing):
        """A euro invoice to a SEPA account: its page and PDF carry the EPC QR code."""
        key = f"demo:eur:{client.pk}"
        if Invoice.objects.filter(source_key=key).exists():
            return
        draft = invoice_services.invoice_draft(
            client=client,
            acting_user=billing,
            currency="EUR",
            source_key=key,
            lines=[
                {
                    "description": "SMS messages to EU numbers, last month (EUR agreed)",
                    "quantity": "5000",
                    "unit_price": "0.052",
                    "messages": 5000,
                }
            ],
        )
        invoice_services.invoice_issue(invoice=draft, acting_user=billing)

    def _staff(self, email, name, role, providers):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, DEMO_PASSWORD, full_name=name, role=role, is_staff=True
            )
            user.providers.set(providers)
        TOTPDevice.objects.get_or_create(
            user=user, name="demo", defaults={"key": DEMO_TOTP_HEX, "confirmed": True}
        )
        return user

    def _client(self, spec, billing):
        provider = Provider.objects.get(code=spec["provider"])
        client = Client.objects.filter(
            provider=provider, registration_number=spec["registration_number"]
        ).first()
        if client is not None:
            return client
        client = Client.objects.create(
            provider=provider,
            legal_name=spec["legal_name"],
            address=spec["address"],
            country=spec["country"],
            registration_number=spec["registration_number"],
            registration_number_normalised=spec["registration_number"].upper(),
            vat_number=spec["vat_number"],
            billing_email=f"billing@{spec['slug']}.demo.test",
            billing_mode=spec["billing_mode"],
        )
        Director.objects.create(client=client, name=spec["director"][0], title=spec["director"][1])
        accounts_services.client_approve(client=client, acting_user=billing)
        terms = TermsVersion.objects.filter(provider=provider).order_by("-published_at").first()
        if terms and not TermsAcceptance.objects.filter(client=client, terms=terms).exists():
            now = timezone.now()
            TermsAcceptance.objects.create(
                client=client,
                terms=terms,
                status=TermsAcceptance.Status.ACCEPTED,
                objection_deadline=now,
                decided_at=now,
            )
        assert Agreement.objects.filter(client=client).exists()
        return client

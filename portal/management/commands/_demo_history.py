"""Six months of demo history for `seed_demo` (issue 15 §4): usage in every channel, invoices
in every state, a fapiao, a deposit, late interest, a chargeback, limit requests, DSRs, an
audit, a breach, a force majeure situation, sub-processors with a pending change, a webhook
endpoint, an alert and a loss claim.

Everything goes through the services (so ledgers, notices and history are right) except the
usage rows, which are bulk-inserted one per client, channel and day (the platform's batch
endpoint is PostgreSQL-only and one row per message would be slow). Dates are relative to
now, so the demo always looks current; each step finds what an earlier run made (fixed keys
and markers) and does nothing again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.kernel.errors import ApplicationError
from accounts.models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    ForceMajeure,
    Provider,
    TermsAcceptance,
    TermsVersion,
    User,
    WebhookEndpoint,
)
from accounts.services import change_requests as change_services
from accounts.services import data_requests as data_request_services
from accounts.services import force_majeure as fm_services
from accounts.services import onboarding as onboarding_services
from accounts.services import terms as terms_services
from accounts.services import webhooks as webhook_services
from billing.claims import services as claim_services
from billing.invoicing.services import deposits as deposit_services
from billing.invoicing.services import disputes as dispute_services
from billing.invoicing.services import fapiao as fapiao_services
from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.models import (
    Chargeback,
    ClientAlert,
    Deposit,
    Dispute,
    FapiaoRequest,
    InterestCharge,
    InterestRate,
    Invoice,
    LimitIncreaseRequest,
    LossClaim,
    UsageRecord,
)
from billing.prepaid.services import alerts as alert_services
from billing.prepaid.services import chargebacks as chargeback_services
from billing.prepaid.services import debits as debit_services
from billing.prepaid.services import limits as limit_services
from billing.prepaid.services import wallets as wallet_services
from dataprocessing.models import (
    AuditRequest,
    Breach,
    DataSubjectRequest,
    SubProcessor,
    SubProcessorChange,
)
from dataprocessing.services import audits as audit_services
from dataprocessing.services import breaches as breach_services
from dataprocessing.services import dsrs as dsr_services
from dataprocessing.services import sub_processors as sp_services

HISTORY_DAYS = 182
# Messages a day per channel, and the price per message, for a postpaid and a prepaid client
# (a prepaid client's wallet pays its usage, so it sends less).
CHANNEL_VOLUME = {
    UsageRecord.Channel.SMS: (1800, Decimal("0.045")),
    UsageRecord.Channel.WHATSAPP: (420, Decimal("0.030")),
    UsageRecord.Channel.VOICE: (60, Decimal("0.120")),
    UsageRecord.Channel.RCS: (150, Decimal("0.035")),
    UsageRecord.Channel.MMS: (40, Decimal("0.200")),
    UsageRecord.Channel.PUSH: (900, Decimal("0.002")),
    UsageRecord.Channel.OTHER: (25, Decimal("0.050")),
}
PREPAID_SHARE = Decimal("0.02")
DEMO = "demo:"


def _currency(client: Client) -> str:
    agreed = Agreement.objects.filter(client=client).values_list("currency", flat=True).first()
    return agreed or client.provider.currency


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


# --- Usage -----------------------------------------------------------------------------------
def usage(client: Client, slug: str, billing: User) -> None:
    """One usage row per channel and day over six months (the wave of the week and a slow
    growth, so the charts have a shape); a prepaid client's wallet is topped up months ago and
    debited each day's usage at that day (art. 29.2), on PostgreSQL (the debit statement's
    engine; the SQLite first look shows the usage without the debits)."""
    prepaid = client.billing_mode == Client.BillingMode.PREPAID
    currency = _currency(client)
    today = timezone.now().date()
    days = [today - dt.timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)]
    prefix = f"{DEMO}{slug}:"
    known = set(
        UsageRecord.objects.filter(client=client, record_id__startswith=prefix).values_list(
            "record_id", flat=True
        )
    )
    rows: list[UsageRecord] = []
    day_totals: dict[dt.date, Decimal] = {}
    for i, day in enumerate(days):
        wave = Decimal(100 + 15 * (day.weekday() < 5) + i // 6) / 100
        for channel, (volume, price) in CHANNEL_VOLUME.items():
            record_id = f"{prefix}{day.isoformat()}:{channel}"
            if record_id in known:
                continue
            n = int(Decimal(volume) * wave * (PREPAID_SHARE if prepaid else 1)) or 1
            amount = (price * n).quantize(Decimal("0.0001"))
            rows.append(
                UsageRecord(
                    record_id=record_id,
                    client=client,
                    channel=channel,
                    message_count=n,
                    amount=amount,
                    currency=currency,
                    prepaid=prepaid,
                    occurred_at=_noon(day),
                    received_at=_noon(day),
                )
            )
            day_totals[day] = day_totals.get(day, Decimal("0")) + amount
    if not rows:
        return
    UsageRecord.objects.bulk_create(rows, batch_size=1000)
    if not prepaid or connection.vendor != "postgresql":
        return
    wallet = wallet_services.wallet_for_client(client=client)
    now = timezone.now()
    for key, top_up, days_ago in (
        (f"demo:{slug}:history:1", "400.00", HISTORY_DAYS + 3),
        (f"demo:{slug}:history:2", "400.00", 120),
        (f"demo:{slug}:history:3", "300.00", 60),
    ):
        wallet_services.wallet_top_up(
            wallet=wallet,
            amount=Decimal(top_up),
            received_at=now - dt.timedelta(days=days_ago),
            reference=key,
            idempotency_key=key,
            acting_user=billing,
        )
    for day, total in sorted(day_totals.items()):
        debit_services.wallet_debit(
            wallet=wallet,
            amount=total.quantize(Decimal("0.01")),
            idempotency_key=f"demo-usage:{slug}:{day.isoformat()}",
            cause=f"Usage of {day.isoformat()} (demo)",
            at=_noon(day) + dt.timedelta(hours=6),
        )


# --- Invoices (postpaid) ---------------------------------------------------------------------
def _month_starts(today: dt.date, n: int) -> list[dt.date]:
    first = today.replace(day=1)
    months = []
    for _ in range(n):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(first)
    return list(reversed(months))


def _invoice(client, billing, key, lines, invoice_date, period=None) -> Invoice:
    invoice = Invoice.objects.filter(source_key=key).first()
    if invoice is not None:
        return invoice
    draft = invoice_services.invoice_draft(
        client=client,
        acting_user=billing,
        source_key=key,
        lines=lines,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
    return invoice_services.invoice_issue(
        invoice=draft, acting_user=billing, invoice_date=invoice_date
    )


def invoices(client: Client, slug: str, billing: User, admin: User) -> None:
    """Five monthly invoices: three paid, one partly paid and overdue, one overdue (late
    interest runs on them, art. 4.6); and a recent one the client disputes (art. 10.1)."""
    today = local_date(client.provider)
    months = _month_starts(today, 5)
    for i, start in enumerate(months):
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        invoice = _invoice(
            client,
            billing,
            f"demo:month:{slug}:{start:%Y-%m}",
            [
                {
                    "description": f"SMS messages, {start:%B %Y}",
                    "quantity": str(40000 + 2500 * i),
                    "unit_price": "0.045",
                    "messages": 40000 + 2500 * i,
                },
                {
                    "description": f"WhatsApp Business conversations, {start:%B %Y}",
                    "quantity": str(9000 + 600 * i),
                    "unit_price": "0.030",
                },
            ],
            min(end + dt.timedelta(days=1), today),
            period=(start, end),
        )
        if i < 3:
            pay = invoice.total
        elif i == 3:
            pay = (invoice.total / 2).quantize(Decimal("0.01"))
        else:
            pay = None
        if pay is not None and invoice.invoice_date is not None:
            payment_services.payment_record(
                invoice=invoice,
                amount=pay,
                received_on=min(invoice.invoice_date + dt.timedelta(days=10), today),
                reference=f"Bank transfer {invoice.number}",
                idempotency_key=f"demo:pay:{slug}:{start:%Y-%m}",
                acting_user=billing,
            )
        invoice.refresh_from_db()
        invoice_services.invoice_status_refresh(invoice, acting_user=None)
    disputed = _invoice(
        client,
        billing,
        f"demo:dispute:{slug}",
        [
            {
                "description": "Voice minutes and RCS messages, this month",
                "quantity": "8000",
                "unit_price": "0.120",
            }
        ],
        today - dt.timedelta(days=3),
    )
    if not Dispute.objects.filter(invoice=disputed).exists():
        dispute_services.dispute_raise(
            invoice=disputed,
            amount="400.00",
            reason="Voice minutes billed twice on the 3rd (demo dispute).",
            acting_user=admin,
        )


def interest(client: Client, slug: str, billing: User) -> None:
    """A late-interest rate in force for six months and the interest accrued on the overdue
    invoices, charged on an interest invoice (art. 4.6)."""
    provider = client.provider
    today = local_date(provider)
    if provider.code == "cxengage-nl":
        # the statutory rate is fixed per half-year: it takes effect on 1 January or 1 July
        first = today - dt.timedelta(days=HISTORY_DAYS + 30)
        half = dt.date(first.year, 1 if first.month < 7 else 7, 1)
        rates = []
        while half <= today:
            rates.append((half, "10.15"))
            half = dt.date(half.year + (half.month == 7), 7 if half.month == 1 else 1, 1)
    else:
        rates = [(today - dt.timedelta(days=HISTORY_DAYS + 30), "6.00")]
    for valid_from, rate in rates:
        if not InterestRate.objects.filter(provider=provider, valid_from=valid_from).exists():
            interest_services.interest_rate_enter(
                provider=provider,
                valid_from=valid_from,
                annual_rate_pct=rate,
                acting_user=billing,
                note="demo data",
            )
    key = f"demo:interest:{slug}"
    if (
        Invoice.objects.filter(source_key=key).exists()
        or InterestCharge.objects.filter(invoice__client=client).exists()
    ):
        return
    charges = interest_services.interest_charge(
        client=client,
        until=today - dt.timedelta(days=1),
        acting_user=billing,
        draft_source_key=key,
        skip_without_rate=True,
    )
    if not charges:
        return
    draft = Invoice.objects.filter(source_key=key, status=Invoice.Status.DRAFT).first()
    if draft is not None:
        invoice_services.invoice_issue(invoice=draft, acting_user=billing)


def fapiao(client: Client, admin: User, billing: User) -> None:
    """cm-cn: the client confirms its paid invoices in writing and one fapiao is issued (art. 4.8)."""
    if not client.provider.code == "cm-cn":
        return
    paid = list(
        Invoice.objects.filter(client=client, status=Invoice.Status.PAID, kind="invoice").order_by(
            "invoice_date", "pk"
        )[:2]
    )
    for i, invoice in enumerate(paid):
        request = FapiaoRequest.objects.filter(invoice=invoice).first()
        if request is None:
            request = fapiao_services.fapiao_confirm(invoice=invoice, acting_user=admin)
        if i == 0 and request.status == FapiaoRequest.Status.REQUESTED:
            tax = (invoice.total - invoice.subtotal).quantize(Decimal("0.01"))
            fapiao_services.fapiao_issue(
                request=request,
                acting_user=billing,
                kind=FapiaoRequest.Kind.DIGITAL_SPECIAL,
                number=f"2644{invoice.pk:016d}"[:20],
                code="",
                issue_date=local_date(client.provider),
                buyer_name=client.legal_name[:300],
                buyer_tax_id=client.vat_number[:18],
                buyer_address=client.address,
                buyer_phone="0755-00000000",
                buyer_bank="DEMO Bank of Shenzhen",
                buyer_account="4000012345678900099",
                amount_excl_tax=invoice.subtotal,
                tax_rate=(tax / invoice.subtotal * 100).quantize(Decimal("0.01"))
                if invoice.subtotal
                else Decimal("0"),
                tax_amount=tax,
                total=invoice.total,
            )


def deposit(client: Client, billing: User) -> None:
    """A deposit demanded and received (art. 4.7)."""
    if Deposit.objects.filter(client=client).exists():
        return
    demanded = deposit_services.deposit_demand(
        client=client, amount="2000.00", acting_user=billing, reason="Demo: volume increase"
    )
    deposit_services.deposit_mark_held(
        deposit=demanded, amount_received="2000.00", acting_user=billing
    )


def limit_requests(client: Client, admin: User, billing: User) -> None:
    """A limit increase approved, one refused, one pending (art. 26.2)."""
    if LimitIncreaseRequest.objects.filter(client=client).exists():
        return
    account = limit_services.message_account_for_client(client=client)
    first = limit_services.limit_increase_request(
        client=client,
        requested_limit=account.limit * 2,
        reason="Seasonal campaign (demo)",
        acting_user=admin,
    )
    limit_services.limit_increase_approve(request=first, acting_user=billing, note="Approved.")
    account.refresh_from_db()
    second = limit_services.limit_increase_request(
        client=client,
        requested_limit=account.limit * 5,
        reason="New country launch (demo)",
        acting_user=admin,
    )
    limit_services.limit_increase_refuse(
        request=second, acting_user=billing, note="Not before the overdue invoice is paid."
    )
    limit_services.limit_increase_request(
        client=client,
        requested_limit=account.limit + account.limit // 2,
        reason="Black Friday campaign (demo)",
        acting_user=admin,
    )


def prepaid_extras(client: Client, slug: str, admin: User, billing: User) -> None:
    """A prepaid client: a top-up charged back and the account reopened (art. 29.4; the credit
    used and the fee become a debt invoice)."""
    if Chargeback.objects.filter(lot__wallet__client=client).exists():
        return
    wallet = wallet_services.wallet_for_client(client=client)
    key = f"demo:{slug}:card"
    lot = wallet_services.wallet_top_up(
        wallet=wallet,
        amount=Decimal("50.00"),
        received_at=timezone.now() - dt.timedelta(days=20),
        reference="Card payment (demo)",
        idempotency_key=key,
        acting_user=billing,
    )
    chargeback_services.chargeback_record(
        lot=lot,
        reference="CB-DEMO-1",
        reason="Card holder disputed the payment",
        acting_user=billing,
    )
    chargeback_services.account_reopen(
        client=client,
        reason="The card payment was replaced by a bank transfer.",
        acting_user=billing,
    )


def alert(client: Client, admin: User) -> None:
    """A low-balance alert for a prepaid client, a usage alert for a postpaid one."""
    if ClientAlert.objects.filter(client=client).exists():
        return
    if client.billing_mode == Client.BillingMode.PREPAID:
        alert_services.alert_create(
            client=client, acting_user=admin, kind=ClientAlert.Kind.BALANCE_BELOW, amount="150.00"
        )
    else:
        alert_services.alert_create(
            client=client, acting_user=admin, kind=ClientAlert.Kind.USAGE_ABOVE, share_pct="80"
        )


def webhook(client: Client, admin: User) -> None:
    if WebhookEndpoint.objects.filter(client=client).exists():
        return
    try:
        webhook_services.webhook_endpoint_create(
            client=client,
            acting_user=admin,
            url="https://hooks.example.com/portal",
            events=["invoice.issued"],
            description="Accounting system (demo)",
        )
    except ApplicationError:
        pass  # no DNS here: the endpoint's host must resolve to a public address


def loss_claim(client: Client, admin: User) -> None:
    if LossClaim.objects.filter(client=client).exists():
        return
    claim_services.loss_claim_report(
        client=client,
        against=LossClaim.Against.PROVIDER,
        description="Campaign messages delayed by six hours on a Monday (demo).",
        arose_at=timezone.now() - dt.timedelta(days=2),
        acting_user=admin,
        amount_claimed="350.00",
        currency=_currency(client),
    )


# --- Compliance ------------------------------------------------------------------------------
def dsrs(client: Client, slug: str, admin: User, compliance: User) -> None:
    """DSRs received, instructed, and done with an assistance cost (a recharge, art. 21.5.2)."""
    if DataSubjectRequest.objects.filter(client=client).exists():
        return
    now = timezone.now()
    dsr_services.dsr_receive(
        client=client,
        type=DataSubjectRequest.Type.ACCESS,
        received_by=DataSubjectRequest.ReceivedBy.PROVIDER,
        subject_reference="+00 000 0001 (demo)",
        received_at=now - dt.timedelta(days=3),
        acting_user=compliance,
    )
    instructed = dsr_services.dsr_receive(
        client=client,
        type=DataSubjectRequest.Type.ERASURE,
        received_by=DataSubjectRequest.ReceivedBy.CLIENT,
        subject_reference="+00 000 0002 (demo)",
        received_at=now - dt.timedelta(days=12),
        acting_user=admin,
    )
    dsr_services.dsr_instruct(
        dsr=instructed, instruction=DataSubjectRequest.Instruction.DELETE, acting_user=admin
    )
    done = dsr_services.dsr_receive(
        client=client,
        type=DataSubjectRequest.Type.RECTIFICATION,
        received_by=DataSubjectRequest.ReceivedBy.CLIENT,
        subject_reference="+00 000 0003 (demo)",
        received_at=now - dt.timedelta(days=40),
        acting_user=admin,
    )
    dsr_services.dsr_instruct(
        dsr=done, instruction=DataSubjectRequest.Instruction.CORRECT, acting_user=admin
    )
    dsr_services.dsr_record_action(
        dsr=done,
        action_taken="Name corrected in the contact list.",
        acting_user=compliance,
        assistance_cost="45.00",
    )


def audit(client: Client, admin: User) -> None:
    if AuditRequest.objects.filter(client=client).exists():
        return
    audit_services.audit_request(
        client=client,
        kind=AuditRequest.Kind.INFORMATION,
        acting_user=admin,
        requester_not_competitor=True,
        scope="ISO 27001 certificate and the latest penetration test summary (demo).",
    )


def provider_compliance(provider: Provider, clients: list[Client], compliance: User) -> None:
    """A breach whose notices are still due (the countdown), a force majeure situation with
    one notice sent, and the sub-processor register with an announced change (art. 21.9,
    21.11, 14.2)."""
    now = timezone.now()
    if not Breach.objects.filter(provider=provider).exists():
        earlier = breach_services.breach_log(
            provider=provider,
            detected_at=now - dt.timedelta(hours=30),
            description="A lost laptop held a copy of a delivery report (demo).",
            data_types="Phone numbers",
            approx_subjects=80,
            measures="Disk encrypted; the device was wiped remotely.",
            affected_clients=clients,
            acting_user=compliance,
            aware_at=now - dt.timedelta(hours=28),
        )
        for notification in earlier.notifications.order_by("pk"):
            breach_services.breach_notify_client(
                notification=notification,
                message="A lost laptop held one delivery report with 80 phone numbers; "
                "the disk was encrypted and the device wiped.",
                acting_user=compliance,
            )
        breach_services.breach_log(
            provider=provider,
            detected_at=now - dt.timedelta(hours=5),
            description="A misconfigured export exposed delivery reports (demo).",
            data_types="Phone numbers, delivery status",
            approx_subjects=1200,
            measures="Export disabled, access logs reviewed.",
            affected_clients=clients,
            acting_user=compliance,
            aware_at=now - dt.timedelta(hours=4),
        )
    if not ForceMajeure.objects.filter(provider=provider).exists():
        situation = fm_services.force_majeure_log(
            provider=provider,
            started_at=now - dt.timedelta(days=2),
            description="Operator network outage after a storm (demo).",
            services_affected="SMS delivery to one operator",
            affected_clients=clients,
            acting_user=compliance,
        )
        notice = situation.notices.order_by("pk").first()
        if notice is not None:
            fm_services.force_majeure_notify_client(
                notice=notice,
                message="Delivery to one operator is interrupted; we will report daily.",
                acting_user=compliance,
            )
    if not SubProcessor.objects.filter(provider=provider).exists():
        today = local_date(provider)
        hosting = sp_services.sub_processor_register(
            provider=provider,
            acting_user=compliance,
            name=f"{provider.name} hosting (demo)",
            kind=SubProcessor.Kind.THIRD_PARTY,
            country="NL" if provider.code == "cxengage-nl" else "CN",
            services="Hosting of the messaging platform",
            safeguard="" if provider.code == "cxengage-nl" else SubProcessor.Safeguard.SCC,
            agreement_date=today - dt.timedelta(days=400),
        )
        change = sp_services.sub_processor_change_announce(
            provider=provider,
            sub_processor=hosting,
            kind=SubProcessorChange.Kind.ADDITION,
            acting_user=compliance,
            description="New hosting provider for the messaging platform (demo).",
        )
        objector = next((c for c in clients if c.billing_mode == "postpaid"), None)
        admin = User.objects.filter(client=objector, role=User.Role.CLIENT_ADMIN).first()
        if objector is not None and admin is not None:
            sp_services.sub_processor_object(
                change=change,
                client=objector,
                acting_user=admin,
                reason="We need to review the new host's certifications first (demo).",
            )


def account_requests(client: Client, admin: User, billing: User) -> None:
    """A registration change and a service change the client asked for (art. 5.3, 5.5), and a
    request for its registration data logged and sent to it (art. 5.6)."""
    if not ChangeRequest.objects.filter(client=client).exists():
        change_services.change_request_submit(
            client=client,
            acting_user=admin,
            changes={"address": f"{client.address} (new office, demo)"},
        )
        change_services.service_change_request_submit(
            client=client,
            acting_user=admin,
            service=ChangeRequest.Service.WHATSAPP,
            description="Add WhatsApp Business templates for order updates (demo).",
        )
    if not DataRequest.objects.filter(client=client).exists():
        data_request_services.data_request_log(
            client=client,
            acting_user=billing,
            requested_by="Telecom regulator (demo)",
            description="Sender ID registration records for the last quarter.",
        )
        data_request_services.data_request_log(
            client=client,
            acting_user=billing,
            requested_by="Public prosecutor (demo)",
            description="Sender details of one campaign in the spring.",
            now=timezone.now() - dt.timedelta(days=30),
        )
        data_request_services.data_requests_flag_overdue()
        data_request_services.provider_request_send(
            client=client,
            acting_user=billing,
            kind=DataRequest.Kind.COMPLIANCE_AUDIT,
            description="Please send your opt-in records for the spring campaign (demo).",
            working_days=10,
            scope="Opt-in records of the spring campaign",
            documents_requested="Opt-in logs with time stamps; the consent text shown",
        )


# A company per provider that signed up and waits for approval (art. 5.5): staff's queue.
PENDING_SIGN_UPS: dict[str, dict[str, Any]] = {
    "cm-cn": {
        "legal_name": "深圳蓝海物流有限公司 (Shenzhen Lanhai Logistics Co., Ltd.)",
        "address": "Bao'an District, Shenzhen, Guangdong",
        "country": "CN",
        "registration_number": "91440300MA5F00003G",
        "vat_number": "91440300MA5F00003G",
        "email": "admin@shenzhen-lanhai.demo.test",
        "director": {"name": "Zhang Min", "title": "Legal representative"},
    },
    "cxengage-nl": {
        "legal_name": "Delft Drones B.V.",
        "address": "Markt 1, 2611 GP Delft",
        "country": "NL",
        "registration_number": "11223344",
        "vat_number": "NL100000022B01",
        "email": "admin@delft-drones.demo.test",
        "director": {"name": "Sanne Jansen", "title": "Director"},
    },
}


def pending_sign_up(provider: Provider, password: str) -> None:
    spec = PENDING_SIGN_UPS.get(provider.code)
    if spec is None or User.objects.filter(email=spec["email"]).exists():
        return
    company = {k: spec[k] for k in ("legal_name", "address", "country", "registration_number")}
    company.update(
        vat_number=spec["vat_number"],
        billing_email=spec["email"],
        directors=[spec["director"]],
    )
    onboarding_services.client_sign_up(
        provider=provider,
        email=spec["email"],
        password=password,
        full_name=spec["director"]["name"],
        company=company,
    )


NEW_TERMS_VERSION = "2026.2"
NEW_TERMS_TEXTS = {
    "en": "The terms and conditions with the revised price-indexation clause (demo).",
    "zh-hans": "修订价格指数条款后的条款和条件（演示）。",
}


def terms_objection(provider: Provider, clients: list[Client], billing: User) -> None:
    """New terms published ten days ago, within their month for objections (art. 18.3): the
    postpaid client objects in writing, the others have not answered yet."""
    if TermsVersion.objects.filter(provider=provider, version=NEW_TERMS_VERSION).exists():
        return
    terms_services.terms_publish(
        provider=provider,
        version=NEW_TERMS_VERSION,
        summary="Revised price-indexation clause (demo).",
        texts=NEW_TERMS_TEXTS,
        acting_user=billing,
        now=timezone.now() - dt.timedelta(days=10),
    )
    objector = next((c for c in clients if c.billing_mode == "postpaid"), None)
    admin = User.objects.filter(client=objector, role=User.Role.CLIENT_ADMIN).first()
    acceptance = TermsAcceptance.objects.filter(
        client=objector, terms__version=NEW_TERMS_VERSION, status=TermsAcceptance.Status.PENDING
    ).first()
    if admin is not None and acceptance is not None:
        terms_services.terms_object(
            acceptance=acceptance,
            acting_user=admin,
            reason="We do not agree to the new indexation clause (demo).",
        )

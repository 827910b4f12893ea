"""Tenant isolation, walked over every URL pattern (DESIGN.md: "another client's id answers 404,
never 403 and never the object").

Every pattern that takes an id must have a maker below (which builds the object for a client)
or an exemption with a reason, so a new view cannot forget: `test_every_url_with_an_id_is_walked`
fails for an unknown one. For each pattern, a client admin of one company asks for another
company's object (under the other provider too) with GET and POST. The answer must be 404, or
exactly what a non-existent id gets when that is a refusal by role (403/405) — either way the
other company's object is neither shown, changed, nor revealed to exist.
"""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from accounts.models import (
    ChangeRequest,
    DataRequest,
    DataRequestDocument,
    TermsAcceptance,
    TermsVersion,
    User,
)
from billing.models import (
    Deposit,
    Dispute,
    FapiaoRequest,
    LimitIncreaseRequest,
    Payment,
    RestitutionRequest,
    SetOff,
)
from billing.prepaid.services import limits as billing_limits
from billing.prepaid.services import wallets as billing_wallets
from dataprocessing.models import (
    AssistanceRequest,
    ProcessingRecord,
    SubProcessorChange,
    SubProcessorObjection,
)
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ClientViewerFactory,
    StaffFactory,
)
from tests.billing.invoicing.factories import issued, line
from tests.dataprocessing.factories import (
    AuditRequestFactory,
    BreachFactory,
    BreachNotificationFactory,
    DataSubjectRequestFactory,
    SubProcessorFactory,
)

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")

# Patterns whose parameters are not object ids.
EXEMPT = {
    "accounts/invitation/": "a one-time invitation token, not an object id",
    "accounts/reset/": "Django's password-reset token",
    "calendar/": "a user's secret feed token, not an object id (tests/portal/test_calendar.py)",
}

# Fixed values for parameters that name an action rather than an object: a real action of
# the route, so the walk reaches the code that acts.
WORDS = {"action": "cancel", "decision": "approve"}
WORDS_BY_PREFIX = {
    "billing/deposits/": {"action": "settle"},
    "billing/disputes/": {"action": "resolve"},
    "billing/statements/entries/": {"action": "assign"},
}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def _routes() -> list[str]:
    routes = []
    for route in _walk(get_resolver().url_patterns):
        if route.startswith(("admin/", "^", "static/", "media/")) or "<" not in route:
            continue
        routes.append(route)
    return sorted(set(routes))


def _key(route: str) -> str:
    return route[: route.index("<")]


# --- Makers: (client) -> {param: value} for the object behind each prefix ------------------
def _admin(client):
    return User.objects.filter(
        client=client, role=User.Role.CLIENT_ADMIN
    ).first() or ClientAdminFactory(client=client)


def _client(client):
    return {"pk": client.pk, "client_id": client.pk, "client_pk": client.pk}


def _change_request(client):
    cr = ChangeRequest.objects.create(
        client=client,
        changes={"address": {"old": client.address, "new": "Elsewhere 1"}},
        submitted_by=_admin(client),
    )
    return {"pk": cr.pk}


def _data_request(client):
    """The provider's compliance audit of the client (art. 5.7), answered with a document, so
    the close action and the document download (`document_pk`) are walked too."""
    admin = _admin(client)
    dr = DataRequest.objects.create(
        client=client,
        kind=DataRequest.Kind.COMPLIANCE_AUDIT,
        requested_by="Provider",
        description="Consent records",
        scope="Opt-ins of 2026",
        documents_requested="Opt-in logs",
        response_working_days=5,
        logged_by=admin,
        due_at=timezone.now() + dt.timedelta(days=3),
        status=DataRequest.Status.ANSWERED,
        answer="Attached",
        answered_by=admin,
        answered_at=timezone.now(),
    )
    document = DataRequestDocument(data_request=dr, uploaded_by=admin)
    document.file.save("optins.pdf", ContentFile(b"%PDF-1.4 theirs"))
    return {"pk": dr.pk, "document_pk": document.pk}


def _terms_version(client):
    return TermsVersion.objects.create(
        provider=client.provider,
        version=f"v{uuid.uuid4().hex[:6]}",
        summary="Changes",
        published_at=timezone.now(),
    )


def _terms_acceptance(client):
    acceptance = TermsAcceptance.objects.create(
        client=client,
        terms=_terms_version(client),
        objection_deadline=timezone.now() + dt.timedelta(days=30),
    )
    return {"pk": acceptance.pk}


def _user(client):
    return {"pk": ClientViewerFactory(client=client).pk}


def _agreement(client):
    return {"pk": client.agreement.pk}


def _agreement_with_evidence(client):
    """A terminated agreement with its evidence document (art. 15.5)."""
    agreement = client.agreement
    agreement.termination_evidence.save("ruling.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    agreement.status = "terminated"
    agreement.save()
    return {"pk": agreement.pk}


def _assistance(client):
    request = AssistanceRequest.objects.create(
        client=client,
        kind=AssistanceRequest.Kind.DPIA,
        description="DPIA help",
        requested_by=_admin(client),
    )
    return {"pk": request.pk}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _audit(client):
    audit = AuditRequestFactory(client=client, requested_by=_admin(client))
    # with a document on file, so the download route is walked against a real file
    audit.confidentiality_declaration.save("nda.pdf", ContentFile(b"%PDF-1.4 theirs"))
    return {"pk": audit.pk, "document": "confidentiality-declaration"}


def _breach_notice(client):
    notice = BreachNotificationFactory(
        client=client, breach=BreachFactory(provider=client.provider), notified_at=timezone.now()
    )
    return {"pk": notice.pk}


def _breach(client):
    breach = BreachFactory(provider=client.provider)
    notice = BreachNotificationFactory(client=client, breach=breach)
    return {"pk": breach.pk, "notification_pk": notice.pk}


def _dsr(client):
    dsr = DataSubjectRequestFactory(client=client)
    return {"pk": dsr.pk, "subject_request_id": dsr.request_id}


def _limit_request(client):
    account = billing_limits.message_account_for_client(client=client)
    request = LimitIncreaseRequest.objects.create(
        client=client,
        current_limit=account.limit,
        requested_limit=account.limit + 1000,
        reason="Growth",
        requested_by=_admin(client),
    )
    return {"pk": request.pk}


def _message_limit(client):
    billing_limits.message_account_for_client(client=client)
    return {"client_id": client.pk}


def _processing_record(client):
    record = ProcessingRecord.objects.create(
        client=client,
        subject_categories="Customers",
        data_types="Phone numbers",
        purposes="Notifications",
        retention="180 days",
        toms_reference="TOMs 2026",
    )
    return {"pk": record.pk, "client_pk": client.pk}


def _restitution(client):
    request = RestitutionRequest.objects.create(
        client=client,
        requested_by=_admin(client),
        currency=client.provider.currency,
        reason="Terminating",
    )
    return {"pk": request.pk}


def _sub_processor(client):
    return {"pk": SubProcessorFactory(provider=client.provider).pk}


def _sub_processor_change(client):
    change = SubProcessorChange.objects.create(
        provider=client.provider,
        kind=SubProcessorChange.Kind.ADDITION,
        sub_processor=SubProcessorFactory(provider=client.provider),
        announced_by=_admin(client),
        effective_at=timezone.now() + dt.timedelta(days=30),
    )
    return {"pk": change.pk}


def _sub_processor_objection(client):
    change = SubProcessorChange.objects.get(pk=_sub_processor_change(client)["pk"])
    objection = SubProcessorObjection.objects.create(
        change=change, client=client, objected_by=_admin(client), reason="Outside the EEA"
    )
    return {"pk": objection.pk}


def _billing_client(client):
    wallet = billing_wallets.wallet_for_client(client=client)
    lot = billing_wallets.wallet_top_up(
        wallet=wallet,
        amount=Decimal("100.00"),
        received_at=timezone.now() - dt.timedelta(days=2),
        reference="walk",
        idempotency_key=f"walk-{uuid.uuid4().hex}",
    )
    return {"pk": client.pk, "lot_pk": lot.pk}


def _staff():
    return BillingStaffFactory()


def _issued_invoice(client):
    return issued(client, _staff(), [line("100.00")], invoice_date=timezone.localdate())


def _invoice(client):
    return {"pk": _issued_invoice(client).pk}


def _deposit_row(client):
    return Deposit.objects.create(
        client=client,
        amount=Decimal("500.00"),
        currency=client.provider.currency,
        demanded_by=_staff(),
    )


def _deposit(client):
    return {"pk": _deposit_row(client).pk}


def _dispute(client):
    invoice = _issued_invoice(client)
    dispute = Dispute.objects.create(
        invoice=invoice,
        raised_by=_admin(client),
        amount=Decimal("10.00"),
        currency=invoice.currency,
        reason="Wrong count",
        escalation_available_at=timezone.now() + dt.timedelta(days=30),
    )
    return {"pk": dispute.pk}


def _fapiao(client):
    request = FapiaoRequest.objects.create(
        invoice=_issued_invoice(client),
        confirmed_by=_admin(client),
        due_at=timezone.now() + dt.timedelta(days=7),
    )
    return {"pk": request.pk}


def _payment(client):
    invoice = _issued_invoice(client)
    payment = Payment.objects.create(
        invoice=invoice,
        amount=Decimal("10.00"),
        currency=invoice.currency,
        received_on=timezone.localdate(),
        recorded_by=_staff(),
        idempotency_key=f"walk-{uuid.uuid4().hex}",
    )
    return {"pk": payment.pk}


def _set_off(client):
    invoice = _issued_invoice(client)
    set_off = SetOff.objects.create(
        client=client,
        source=SetOff.Source.DEPOSIT,
        deposit=_deposit_row(client),
        invoice=invoice,
        amount=Decimal("5.00"),
        currency=invoice.currency,
        recorded_by=_staff(),
        idempotency_key=f"walk-{uuid.uuid4().hex}",
    )
    return {"pk": set_off.pk}


def _client_credit(client):
    """A client credit holding money (art. 9.1; issue 12 §6)."""
    from billing.models import ClientCredit

    credit = ClientCredit.objects.create(
        client=client, currency=client.provider.currency, balance=Decimal("25.00")
    )
    return {"pk": credit.pk}


def _statement_entry(client):
    """A statement of the client's provider with one unmatched entry (staff pages, issue 14)."""
    from billing.models import BankAccount, StatementEntry, StatementImport

    provider = client.provider
    account = BankAccount.objects.create(
        provider=provider,
        currency=provider.currency,
        account_holder=provider.legal_name[:70],
        bank_name="Walk bank",
        iban="NL93DEMO0123456789",
        bic="DEMONL2A",
    )
    statement = StatementImport.objects.create(
        provider=provider,
        bank_account=account,
        format=StatementImport.Format.CAMT_053,
        filename="walk.xml",
        sha256=uuid.uuid4().hex,
        statement_id="WALK",
        content=b"",
        uploaded_by=_staff(),
    )
    entry = StatementEntry.objects.create(
        statement=statement,
        provider=provider,
        bank_reference=f"walk-{uuid.uuid4().hex}",
        booking_date=timezone.localdate(),
        amount=Decimal("10.00"),
        currency=provider.currency,
    )
    return {"pk": statement.pk} | {"entry": entry.pk}


def _force_majeure(client):
    from accounts.models import ForceMajeure, ForceMajeureNotice

    now = timezone.now()
    situation = ForceMajeure.objects.create(
        provider=client.provider,
        started_at=now,
        description="Outage",
        services_affected="SMS",
        termination_right_from=now + dt.timedelta(days=28),
        logged_by=_staff(),
    )
    notice = ForceMajeureNotice.objects.create(
        situation=situation, client=client, deadline=now + dt.timedelta(days=14), notified_at=now
    )
    return {"pk": situation.pk, "notice_pk": notice.pk}


def _force_majeure_notice(client):
    return {"pk": _force_majeure(client)["notice_pk"]}


def _loss_claim(client):
    from billing.models import LossClaim

    now = timezone.now()
    claim = LossClaim.objects.create(
        client=client,
        against=LossClaim.Against.PROVIDER,
        description="Messages lost",
        arose_at=now,
        reported_at=now,
        report_deadline=now + dt.timedelta(days=14),
        remedy_deadline=now + dt.timedelta(days=14),
        currency=client.provider.currency,
        reported_by=_admin(client),
    )
    return {"pk": claim.pk}


def _webhook_endpoint(client):
    from accounts.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        client=client, url="https://hooks.example.com/x", events=["balance.low"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=f"walk-{uuid.uuid4().hex}", event_type="balance.low", payload={}
    )
    return {"pk": endpoint.pk, "delivery": delivery.pk}


def _alert(client):
    from billing.models import ClientAlert

    alert = ClientAlert.objects.create(
        client=client, kind=ClientAlert.Kind.USAGE_ABOVE, share_pct=50
    )
    return {"pk": alert.pk}


def _premium_statement(client):
    """A statement of the client's revenue (CX Part V; the walk's other client is CXENGAGE's)."""
    from billing.models import PremiumStatement

    statement = PremiumStatement.objects.create(
        client=client,
        operator="Walk operator",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        currency=client.provider.currency,
        created_by=_staff(),
    )
    return {"pk": statement.pk}


def _premium_dispute(client):
    from billing.models import PremiumDispute, PremiumDisputeDocument, PremiumStatement

    statement = PremiumStatement.objects.get(pk=_premium_statement(client)["pk"])
    dispute = PremiumDispute.objects.create(
        statement=statement,
        client=client,
        reason="Paid too little",
        currency=statement.currency,
        raised_by=_admin(client),
    )
    document = PremiumDisputeDocument(dispute=dispute)
    document.file.save("proof.pdf", ContentFile(b"%PDF-1.4 theirs"))
    return {"pk": dispute.pk, "document": document.pk}


def _premium_service_change(client):
    from billing.models import PremiumServiceChange

    notice = PremiumServiceChange.objects.create(
        client=client,
        service="Short code 4411",
        change="New price",
        effective_on=timezone.localdate() + dt.timedelta(days=30),
        notice_days=1,
        notified_by=_admin(client),
    )
    return {"pk": notice.pk}


def _mandatory_processing(client):
    from dataprocessing.models import MandatoryProcessing

    record = MandatoryProcessing.objects.create(
        client=client,
        law="Walk law",
        description="Walk processing",
        starts_at=timezone.now() + dt.timedelta(days=1),
        client_informed_at=timezone.now(),
        logged_by=_staff(),
    )
    return {"pk": record.pk}


MAKERS = {
    "data-processing/mandatory-law/": _mandatory_processing,
    "accounts/webhooks/": _webhook_endpoint,
    "accounts/webhooks/deliveries/": lambda client: {"pk": _webhook_endpoint(client)["delivery"]},
    "billing/alerts/": _alert,
    "billing/premium/statements/": _premium_statement,
    "api/v1/premium-statements/": _premium_statement,
    "billing/premium/disputes/": _premium_dispute,
    "api/v1/premium-disputes/": _premium_dispute,
    "billing/premium/documents/": lambda client: {"pk": _premium_dispute(client)["document"]},
    "billing/premium/service-changes/": _premium_service_change,
    "api/v1/premium-service-changes/": _premium_service_change,
    "billing/credits/": _client_credit,
    "api/v1/client-credits/": _client_credit,
    "billing/statements/": _statement_entry,
    "billing/statements/entries/": lambda client: {"pk": _statement_entry(client)["entry"]},
    "accounts/force-majeure/": _force_majeure,
    "api/v1/force-majeure/": _force_majeure,
    "api/v1/force-majeure-notices/": _force_majeure_notice,
    "billing/claims/": _loss_claim,
    "api/v1/loss-claims/": _loss_claim,
    "api/v1/invoices/": _invoice,
    "billing/invoices/": _invoice,
    "api/v1/deposits/": _deposit,
    "billing/deposits/": _deposit,
    "api/v1/disputes/": _dispute,
    "billing/disputes/": _dispute,
    "api/v1/fapiao-requests/": _fapiao,
    "billing/fapiao/": _fapiao,
    "api/v1/payments/": _payment,
    "api/v1/set-offs/": _set_off,
    "accounts/change-requests/": _change_request,
    "api/v1/change-requests/": _change_request,
    "accounts/clients/": _client,
    "api/v1/clients/": _client,
    "accounts/data-requests/": _data_request,
    "api/v1/data-requests/": _data_request,
    "accounts/terms/": _terms_acceptance,
    "api/v1/terms-acceptances/": _terms_acceptance,
    "api/v1/terms-versions/": lambda client: {"pk": _terms_version(client).pk},
    "accounts/users/": _user,
    "api/v1/users/": _user,
    "api/v1/agreements/": _agreement,
    "accounts/agreements/": _agreement_with_evidence,
    "api/v1/assistance-requests/": _assistance,
    "data-processing/assistance/": _assistance,
    "api/v1/audit-requests/": _audit,
    "data-processing/audits/": _audit,
    "api/v1/breach-notices/": _breach_notice,
    "data-processing/breach-notices/": _breach_notice,
    "api/v1/breaches/": _breach,
    "data-processing/breaches/": _breach,
    "api/v1/data-subject-requests/": _dsr,
    "api/v1/opendsr/requests/": _dsr,
    "data-processing/dsrs/": _dsr,
    "api/v1/limit-increase-requests/": _limit_request,
    "billing/limit-requests/": _limit_request,
    "api/v1/message-limits/": _message_limit,
    "api/v1/processing-records/": _processing_record,
    "data-processing/records/": _processing_record,
    "api/v1/restitution-requests/": _restitution,
    "billing/restitutions/": _restitution,
    "api/v1/sub-processors/": _sub_processor,
    "data-processing/sub-processors/": _sub_processor,
    "api/v1/sub-processor-changes/": _sub_processor_change,
    "data-processing/sub-processor-changes/": _sub_processor_change,
    "api/v1/sub-processor-objections/": _sub_processor_objection,
    "data-processing/sub-processor-objections/": _sub_processor_objection,
    "billing/clients/": _billing_client,
}


def _url(route: str, values: dict) -> str:
    words = {**WORDS, **WORDS_BY_PREFIX.get(_key(route), {})}

    def fill(match):
        name = match.group(2)
        if name in words:
            return words[name]
        if name not in values:
            raise KeyError(f"no value for <{name}> in {route}")
        return str(values[name])

    return "/" + PARAM.sub(fill, route)


def _missing(route: str) -> dict:
    values = {}
    for converter, name in PARAM.findall(route):
        values[name] = uuid.uuid4() if converter == "uuid" else 987654321
    return values


def _assert_hidden(client, url: str, missing_url: str, other) -> None:
    """GET and POST of `url` answer 404, or the very refusal a non-existent id gets (403/405),
    and never show the other company."""
    for method in ("get", "post"):
        answer = getattr(client, method)(url)
        assert other.legal_name.encode() not in answer.content, (method, url)
        if answer.status_code != 404:
            missing = getattr(client, method)(missing_url)
            assert answer.status_code == missing.status_code, (
                method,
                url,
                answer.status_code,
                missing.status_code,
            )
            assert answer.status_code in (403, 405), (method, url, answer.status_code)


def test_every_url_with_an_id_is_walked():
    unknown = [
        route for route in _routes() if _key(route) not in MAKERS and _key(route) not in EXEMPT
    ]
    assert not unknown, f"add a maker to MAKERS (or an exemption) for: {unknown}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in _routes() if _key(r) in MAKERS])
def test_another_clients_id_answers_404_on_every_page_and_endpoint(route, client, cm, cx):
    # given a client admin of one company, and another company under the other provider
    own = ClientFactory(provider=cm)
    AgreementFactory(client=own)
    other = ClientFactory(provider=cx, billing_mode="prepaid")
    AgreementFactory(client=other)
    ClientAdminFactory(client=other)
    client.force_login(ClientAdminFactory(client=own))
    url = _url(route, MAKERS[_key(route)](other))
    missing_url = _url(route, _missing(route))

    # when the admin asks for the other company's object, then it is hidden
    _assert_hidden(client, url, missing_url, other)


# --- Staff of one provider against the other provider's objects (art. 11.1, 21.4) ----------
@pytest.mark.django_db
@pytest.mark.parametrize("role", [User.Role.BILLING_STAFF, User.Role.COMPLIANCE_OFFICER])
@pytest.mark.parametrize("route", [r for r in _routes() if _key(r) in MAKERS])
def test_staff_of_one_provider_get_404_for_the_other_providers_objects(route, role, client, cm, cx):
    # given staff serving CM only, and a client of CXENGAGE (a separate legal entity)
    from tests.conftest import login_verified

    other = ClientFactory(provider=cx, billing_mode="prepaid")
    AgreementFactory(client=other)
    ClientAdminFactory(client=other)
    staff = StaffFactory(role=role, providers=[cm])
    url = _url(route, MAKERS[_key(route)](other))
    missing_url = _url(route, _missing(route))
    login_verified(client, staff)

    # when the CM staff user asks for the CXENGAGE client's object, then it is hidden
    _assert_hidden(client, url, missing_url, other)


@pytest.mark.django_db
def test_the_staff_walk_reaches_the_objects_for_their_own_providers_staff(client, cm, cx):
    """The control for the walk above: staff of the object's own provider get past the 404 on
    nearly every route, so the 404s there come from the provider scoping, not from a broken URL."""
    from tests.conftest import login_verified

    staff = StaffFactory(role=User.Role.BILLING_STAFF, providers=[cx])
    login_verified(client, staff)
    routes = [r for r in _routes() if _key(r) in MAKERS]
    reached = []
    for route in routes:
        other = ClientFactory(provider=cx, billing_mode="prepaid")
        AgreementFactory(client=other)
        ClientAdminFactory(client=other)
        if client.get(_url(route, MAKERS[_key(route)](other))).status_code != 404:
            reached.append(route)
    # 132 of 133 when written: every route but one answers its own provider's staff
    assert len(reached) >= len(routes) - 5, (len(reached), len(routes))

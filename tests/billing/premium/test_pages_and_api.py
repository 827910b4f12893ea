"""The premium-services pages and API (CX Part V): staff build and pay out a statement, the client
sees it, disputes it with documents within 10 days and notifies service changes; a client of a
provider without premium services gets 404 and no navigation entry."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import (
    Invoice,
    PremiumDispute,
    PremiumLedgerEntry,
    PremiumServiceChange,
    PremiumStatement,
    SetOff,
)
from billing.premium import services
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory, ClientViewerFactory
from tests.billing.premium.factories import company, invoice, receipt, statement

ROUTE = "/billing/premium/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _pdf(name="kpn-report.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 the operator's report", "application/pdf")


@pytest.mark.django_db
def test_a_cm_client_gets_404_and_no_navigation_entry(cm, as_user):
    c = as_user(ClientAdminFactory(client=company(cm)))
    assert 'data-testid="nav-premium"' not in c.get("/").content.decode()
    for url in (ROUTE, f"{ROUTE}payouts/", f"{ROUTE}disputes/", f"{ROUTE}service-changes/"):
        assert c.get(url).status_code == 404, url
    assert c.get("/api/v1/premium-statements/").status_code == 404
    assert c.get("/api/v1/premium-payouts/").status_code == 404


@pytest.mark.django_db
def test_a_cxengage_client_has_the_navigation_entry_and_its_statements(cx, as_user):
    client = company(cx)
    staff = BillingStaffFactory()
    stmt = statement(client, staff)
    receipt(stmt, staff, "600.00", billed="1000.00")
    services.premium_statement_issue(statement=stmt, acting_user=staff)
    draft = statement(client, staff, operator="Odido")
    c = as_user(ClientViewerFactory(client=client))
    page = c.get(ROUTE).content.decode()
    assert 'data-testid="nav-premium"' in page and "KPN" in page
    detail = c.get(f"{ROUTE}statements/{stmt.pk}/").content.decode()
    assert "600.00" in detail and "1,000.00" in detail and "400.00" in detail
    # a viewer reads, but has no dispute form; staff-only forms are absent
    assert "Raise the dispute" not in detail and "Record payout" not in detail
    # a draft is not the client's to see until it is issued
    assert "Odido" not in page
    assert c.get(f"{ROUTE}statements/{draft.pk}/").status_code == 404


@pytest.mark.django_db
def test_staff_build_issue_and_pay_out_a_statement_on_the_pages(cx, as_user):
    client = company(cx)
    staff = BillingStaffFactory()
    c = as_user(staff)
    answer = c.post(
        ROUTE,
        {
            "statement-client": str(client.pk),
            "statement-operator": "KPN",
            "statement-period_start": "2027-05-01",
            "statement-period_end": "2027-05-31",
        },
    )
    stmt = PremiumStatement.objects.get()
    assert answer.status_code == 302 and stmt.currency == "USD"
    url = f"{ROUTE}statements/{stmt.pk}/"
    key = "6f1c1f0e-6f7b-4a55-9d43-3b3c6f0a0001"
    receipt_data = {
        "receipt-key": key,
        "receipt-amount": "250.00",
        "receipt-received_on": "2027-05-31",
    }
    assert c.post(f"{url}receipts/", receipt_data).status_code == 302
    # a double submit of the same form records it once
    c.post(f"{url}receipts/", receipt_data)
    assert PremiumLedgerEntry.objects.filter(kind="receipt").count() == 1
    assert c.post(f"{url}issue/").status_code == 302
    over = c.post(
        f"{url}payouts/",
        {
            "payout-key": "6f1c1f0e-6f7b-4a55-9d43-3b3c6f0a0002",
            "payout-amount": "250.01",
            "payout-paid_on": "2027-06-01",
        },
    )
    assert over.status_code == 400 and "250.00" in over.content.decode()
    assert (
        c.post(
            f"{url}payouts/",
            {
                "payout-key": "6f1c1f0e-6f7b-4a55-9d43-3b3c6f0a0003",
                "payout-amount": "250.00",
                "payout-paid_on": "2027-06-01",
            },
        ).status_code
        == 302
    )
    admin = as_user(ClientAdminFactory(client=client))
    assert "250.00" in admin.get(f"{ROUTE}payouts/").content.decode()


@pytest.mark.django_db
def test_a_client_admin_disputes_on_the_page_until_day_10_and_not_after(cx, as_user, now):
    client = company(cx)
    staff = BillingStaffFactory()
    stmt = statement(client, staff)
    services.premium_statement_issue(statement=stmt, acting_user=staff)  # 1 June 2027
    c = as_user(ClientAdminFactory(client=client))
    url = f"{ROUTE}statements/{stmt.pk}/"
    assert "Raise the dispute" in c.get(url).content.decode()
    data = {"dispute-reason": "KPN paid 1,200.00", "dispute-documents": [_pdf()]}
    now.set(dt.datetime(2027, 6, 11, 21, 59, tzinfo=dt.UTC))  # 23:59 in Amsterdam, day 10
    assert c.post(f"{url}dispute/", data).status_code == 302
    dispute = PremiumDispute.objects.get()
    document = dispute.documents.get()
    download = c.get(f"{ROUTE}documents/{document.pk}/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    now.set(dt.datetime(2027, 6, 11, 22, 0, tzinfo=dt.UTC))  # 00:00 on day 11
    late = c.post(f"{url}dispute/", {"dispute-reason": "again", "dispute-documents": [_pdf()]})
    assert late.status_code == 400 and "Too late" in late.content.decode()
    assert PremiumDispute.objects.count() == 1
    assert 'data-testid="dispute-closed"' in c.get(url).content.decode()


@pytest.mark.django_db
def test_the_api_pays_out_once_per_key_and_never_more_than_received(cx, api):
    client = company(cx)
    staff_user = BillingStaffFactory()
    stmt = statement(client, staff_user)
    staff = api(staff_user)
    base = f"/api/v1/premium-statements/{stmt.pk}/"
    got = staff.post(
        f"{base}receipts/",
        {"amount": "500.00", "operator_billed": "800.00", "received_on": "2027-05-31"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    assert got.status_code == 201, got.json()
    assert staff.post(f"{base}issue/").status_code == 200
    pay = {"amount": "200.00", "paid_on": "2027-06-01"}
    first = staff.post(f"{base}payouts/", pay, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    again = staff.post(f"{base}payouts/", pay, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert first.status_code == 201 and again.json() == first.json()
    other = staff.post(
        f"{base}payouts/", {**pay, "amount": "201.00"}, format="json", HTTP_IDEMPOTENCY_KEY="p1"
    )
    assert other.status_code == 409
    over = staff.post(
        f"{base}payouts/", {**pay, "amount": "300.01"}, format="json", HTTP_IDEMPOTENCY_KEY="p2"
    )
    assert over.status_code == 400 and over.json()["errors"][0]["field"] == "amount"
    assert PremiumLedgerEntry.objects.filter(kind="payout").count() == 1
    detail = api(ClientAdminFactory(client=client)).get(base).json()
    assert detail["summary"]["received"] == "500.00"
    assert detail["summary"]["not_received"] == "300.00"
    assert detail["summary"]["available"] == "300.00"
    # the client may not pay itself out
    admin = api(ClientAdminFactory(client=client))
    assert (
        admin.post(f"{base}payouts/", pay, format="json", HTTP_IDEMPOTENCY_KEY="p3").status_code
        == 403
    )


@pytest.mark.django_db
def test_the_api_offsets_an_open_invoice_and_the_payout_shrinks(cx, api):
    client = company(cx)
    staff_user = BillingStaffFactory()
    stmt = statement(client, staff_user)
    receipt(stmt, staff_user, "1000.00")
    services.premium_statement_issue(statement=stmt, acting_user=staff_user)
    bill = invoice(client, dt.date(2027, 5, 31), "400.00")
    staff = api(staff_user)
    base = f"/api/v1/premium-statements/{stmt.pk}/"
    answer = staff.post(
        f"{base}offsets/",
        {"invoice": bill.pk, "amount": "400.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="o1",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()[0]["invoice"] == bill.pk
    bill.refresh_from_db()
    assert bill.status == Invoice.Status.PAID
    assert SetOff.objects.get().source == SetOff.Source.PREMIUM_REVENUE
    assert staff.get(base).json()["summary"]["available"] == "600.00"
    # another client's invoice is not found for this statement
    foreign = invoice(company(cx), dt.date(2027, 5, 31), "10.00")
    refused = staff.post(
        f"{base}offsets/",
        {"invoice": foreign.pk, "amount": "10.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="o2",
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "invoice"


@pytest.mark.django_db
def test_the_api_takes_a_dispute_with_documents_and_refuses_one_without(cx, api):
    client = company(cx)
    staff_user = BillingStaffFactory()
    stmt = statement(client, staff_user)
    services.premium_statement_issue(statement=stmt, acting_user=staff_user)
    admin = api(ClientAdminFactory(client=client))
    url = f"/api/v1/premium-statements/{stmt.pk}/disputes/"
    bare = admin.post(url, {"reason": "Too little", "documents": []}, format="multipart")
    assert bare.status_code == 400 and bare.json()["errors"][0]["field"] == "documents"
    answer = admin.post(
        url, {"reason": "Too little", "documents": [_pdf(), _pdf("b.pdf")]}, format="multipart"
    )
    assert answer.status_code == 201, answer.json()
    assert len(answer.json()["documents"]) == 2
    staff = api(staff_user)
    resolved = staff.post(
        f"/api/v1/premium-disputes/{answer.json()['id']}/resolve/",
        {"upheld": False, "resolution": "The operator paid 600.00, see its remittance"},
        format="json",
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "rejected"


@pytest.mark.django_db
def test_the_api_refuses_a_service_change_without_advance_notice(cx, api):
    client = company(cx)
    admin = api(ClientAdminFactory(client=client))
    url = "/api/v1/premium-service-changes/"
    body = {"service": "Short code 4411", "change": "New price", "effective_on": "2027-06-01"}
    soon = admin.post(url, body, format="json")
    assert soon.status_code == 400 and soon.json()["errors"][0]["field"] == "effective_on"
    assert not PremiumServiceChange.objects.exists()
    ok = admin.post(url, {**body, "effective_on": "2027-06-02"}, format="json")
    assert ok.status_code == 201
    staff = api(BillingStaffFactory())
    assert staff.get(url).json()["results"][0]["service"] == "Short code 4411"
    ack = staff.post(f"{url}{ok.json()['id']}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["acknowledged_at"]


@pytest.mark.django_db
def test_the_service_change_page_takes_a_notice(cx, as_user):
    client = company(cx)
    c = as_user(ClientAdminFactory(client=client))
    route = f"{ROUTE}service-changes/"
    soon = c.post(
        route,
        {"change-service": "4411", "change-change": "Price", "change-effective_on": "2027-06-01"},
    )
    assert soon.status_code == 400 and "in advance" in soon.content.decode()
    ok = c.post(
        route,
        {"change-service": "4411", "change-change": "Price", "change-effective_on": "2027-06-15"},
    )
    assert ok.status_code == 302
    assert PremiumServiceChange.objects.get().effective_on == dt.date(2027, 6, 15)
    assert Decimal("1") == PremiumServiceChange.objects.get().notice_days


@pytest.mark.django_db
def test_staff_of_a_provider_without_premium_services_have_no_entry_and_get_404(cm, cx, as_user):
    only_cm = as_user(BillingStaffFactory(providers=[cm]))
    assert 'data-testid="nav-premium"' not in only_cm.get("/").content.decode()
    assert only_cm.get(ROUTE).status_code == 404
    both = as_user(BillingStaffFactory(providers=[cm, cx]))
    assert 'data-testid="nav-premium"' in both.get("/").content.decode()


@pytest.mark.django_db
def test_the_statement_pages_speak_the_users_language(cx, as_user):
    client = company(cx)
    staff = BillingStaffFactory(language="zh-hans")
    stmt = statement(client, staff)
    services.premium_statement_issue(statement=stmt, acting_user=staff)
    c = as_user(ClientAdminFactory(client=client, language="nl"))
    assert "Opbrengstoverzichten" in c.get(ROUTE).content.decode()
    assert "Nog uit te betalen" in c.get(f"{ROUTE}statements/{stmt.pk}/").content.decode()
    s = as_user(staff)
    assert "收入对账单" in s.get(ROUTE).content.decode()
    assert "记录运营商已付金额" in s.get(f"{ROUTE}statements/{stmt.pk}/").content.decode()


@pytest.mark.django_db
def test_staff_answer_a_dispute_and_acknowledge_a_change_on_the_pages(cx, as_user):
    client = company(cx)
    staff_user = BillingStaffFactory()
    stmt = statement(client, staff_user)
    services.premium_statement_issue(statement=stmt, acting_user=staff_user)
    admin = ClientAdminFactory(client=client)
    dispute = services.premium_dispute_raise(
        statement=stmt, reason="Too little", documents=[_pdf()], acting_user=admin
    )
    notice = services.premium_service_change_notify(
        client=client,
        service="4411",
        change="Price",
        effective_on=dt.date(2027, 7, 1),
        acting_user=admin,
    )
    c = as_user(staff_user)
    page = c.get(f"{ROUTE}disputes/").content.decode()
    assert "Too little" in page and "Send the answer" in page
    answer = c.post(
        f"{ROUTE}disputes/{dispute.pk}/resolve/",
        {"resolve-decision": "upheld", "resolve-resolution": "Corrected receipt follows"},
    )
    assert answer.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == PremiumDispute.Status.UPHELD
    assert c.post(f"{ROUTE}service-changes/{notice.pk}/acknowledge/").status_code == 302
    notice.refresh_from_db()
    assert notice.acknowledged_by == staff_user
    # the client's admin may not answer its own dispute
    assert as_user(admin).post(f"{ROUTE}disputes/{dispute.pk}/resolve/").status_code == 403

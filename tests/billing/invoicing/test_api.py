"""The invoicing API (issue 4, §9): invoices with keyset pages, detail, PDF, draft/issue/void,
payments and set-offs with Idempotency-Key, deposits, fapiao, disputes, interest rates and
prices; role refusals; another client's id is 404 on every route; the list's query count does
not grow with the page size; the schema names every path."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.kernel.dates import local_date
from billing.invoicing.services import deposits as deposit_services
from billing.invoicing.services import disputes as dispute_services
from billing.invoicing.services import fapiao as fapiao_services
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from billing.invoicing.services import prices as price_services
from billing.invoicing.services import set_offs as set_off_services
from billing.models import Dispute, FapiaoRequest, Invoice, Payment, SetOff
from tests.accounts.factories import ClientViewerFactory
from tests.billing.invoicing.factories import (
    CHINESE_NAME,
    admin_of,
    company,
    interest_rate,
    issued,
    key,
    line,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_invoice(other, billing_staff, today):
    return issued(other, billing_staff, invoice_date=today)


def errors(response):
    return response.json()["errors"]


def pdf_text(content: bytes, invoice: Invoice) -> str:
    """The PDF's text: pdftotext where poppler is installed, else WeasyPrint's laid-out text of
    the same document (its boxes are what is drawn into the PDF)."""
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
        ).stdout
        return out.decode()
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from billing.invoicing.pdf import invoice_pdf_context

    document = HTML(
        string=render_to_string("billing/invoice_pdf.html", invoice_pdf_context(invoice))
    ).render()
    texts = []
    for page in document.pages:
        texts += [box.text for box in page._page_box.descendants() if hasattr(box, "text")]
    return " ".join(texts)


# --- Invoices ------------------------------------------------------------------------------
def test_a_client_lists_its_issued_invoices_newest_first_without_drafts(
    api, cn_client, cn_admin, billing_staff, today, other_invoice
):
    older = issued(cn_client, billing_staff, invoice_date=today - dt.timedelta(days=40))
    newer = issued(cn_client, billing_staff, invoice_date=today)
    invoice_services.invoice_draft(client=cn_client, lines=[line()], acting_user=billing_staff)

    body = api(cn_admin).get("/api/v1/invoices/").json()

    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0]["number"] == newer.number
    assert body["results"][0]["total"] == "1060.00"
    assert body["next_cursor"] is None


def test_the_invoice_list_pages_by_cursor_and_filters_by_state_and_period(
    api, cn_client, cn_admin, billing_staff, today
):
    first = today.replace(day=1)
    invoices = [
        issued(cn_client, billing_staff, invoice_date=first - dt.timedelta(days=n))
        for n in range(5)
    ]
    client = api(cn_admin)

    page1 = client.get("/api/v1/invoices/?page_size=2").json()
    page2 = client.get(page1["next"]).json()
    page3 = client.get(f"/api/v1/invoices/?page_size=2&cursor={page2['next_cursor']}").json()
    seen = [r["id"] for p in (page1, page2, page3) for r in p["results"]]
    assert seen == [i.pk for i in invoices]
    assert page3["next"] is None

    payment_services.payment_record(
        invoice=invoices[0],
        amount="1060.00",
        received_on=today,
        reference="P",
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    paid = client.get("/api/v1/invoices/?status=paid").json()["results"]
    assert [r["id"] for r in paid] == [invoices[0].pk]
    this_month = client.get(f"/api/v1/invoices/?period={first:%Y-%m}").json()["results"]
    assert [r["id"] for r in this_month] == [invoices[0].pk]


@pytest.mark.parametrize(
    "query", ["status=nope", "period=2026-13", "cursor=garbage", "page_size=0", "date_from=x"]
)
def test_bad_list_parameters_are_refused_in_the_one_error_shape(api, cn_admin, query):
    response = api(cn_admin).get(f"/api/v1/invoices/?{query}")

    assert response.status_code == 400
    assert errors(response)[0]["field"] == query.split("=")[0]


def test_the_invoice_list_makes_as_many_queries_for_100_rows_as_for_10(
    api, cn_client, cn_admin, billing_staff, today
):
    # given: 120 issued invoices (made in bulk: only the list is measured)
    Invoice.objects.bulk_create(
        Invoice(
            client=cn_client,
            provider=cn_client.provider,
            number=f"BULK-{n}",
            status=Invoice.Status.ISSUED,
            invoice_date=today - dt.timedelta(days=n),
            due_date=today - dt.timedelta(days=n) + dt.timedelta(days=14),
            currency="CNY",
            total=Decimal("10.00"),
        )
        for n in range(120)
    )
    client = api(cn_admin)
    client.get("/api/v1/invoices/?page_size=1")  # warm the session

    counts = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/v1/invoices/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts[size] = len(ctx.captured_queries)

    assert counts[10] == counts[100]
    assert counts[100] <= 4


def test_the_invoice_detail_shows_lines_payments_interest_disputes_fapiao_and_due_now(
    api, cm, cn_client, cn_admin, billing_staff, today
):
    interest_rate(cm, dt.date(2020, 1, 1), "8.000")
    invoice = issued(
        cn_client, billing_staff, [line("1000.00")], invoice_date=today - dt.timedelta(days=30)
    )
    payment_services.payment_record(
        invoice=invoice,
        amount="500.00",
        received_on=today,
        reference="BANK-1",
        idempotency_key=key(),
        acting_user=billing_staff,
    )

    body = api(cn_admin).get(f"/api/v1/invoices/{invoice.pk}/").json()

    assert body["number"] == invoice.number
    assert [ln["amount"] for ln in body["lines"]] == ["1000.00"]
    assert [p["reference"] for p in body["payments"]] == ["BANK-1"]
    assert body["due_now"] == "560.00"
    assert Decimal(body["interest_to_date"]) > 0
    assert body["disputes"] == [] and body["fapiao"] is None
    assert body["fapiao_available"] is True


def test_the_invoice_pdf_downloads_with_the_chinese_legal_name(api, cn_admin, cn_invoice):
    response = api(cn_admin).get(f"/api/v1/invoices/{cn_invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content, cn_invoice)
    assert CHINESE_NAME in text
    if shutil.which("pdffonts"):  # the CJK font is embedded: glyphs, not boxes
        fonts = subprocess.run(
            ["pdffonts", "-"], input=response.content, capture_output=True, check=True
        ).stdout.decode()
        assert "NotoSansCJK" in fonts.replace("-", "")
    assert cn_invoice.number in text


def test_the_pdf_is_served_to_an_accept_application_pdf_request(api, cn_admin, cn_invoice):
    response = api(cn_admin).get(
        f"/api/v1/invoices/{cn_invoice.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_staff_draft_issue_and_void_an_invoice(api, billing_staff, cn_client, today):
    client = api(billing_staff)

    draft = client.post(
        "/api/v1/invoices/",
        {
            "client": cn_client.pk,
            "lines": [{"description": "Setup", "quantity": "2", "unit_price": "150.00"}],
        },
        format="json",
    )
    assert draft.status_code == 201, draft.json()
    pk = draft.json()["id"]
    assert draft.json()["status"] == "draft" and draft.json()["total"] == "318.00"

    issued_ = client.post(f"/api/v1/invoices/{pk}/issue/", {}, format="json")
    assert issued_.status_code == 200
    assert issued_.json()["number"].startswith(f"CN-{today.year}-")
    assert issued_.json()["due_date"] == (today + dt.timedelta(days=14)).isoformat()

    voided = client.post(f"/api/v1/invoices/{pk}/void/", {"reason": "Wrong client"}, format="json")
    assert voided.status_code == 200
    assert voided.json()["invoice"]["status"] == "void"
    note = Invoice.objects.get(pk=voided.json()["credit_note"])
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.credit_note_for_id == pk


def test_a_float_amount_in_a_line_is_refused(api, billing_staff, cn_client):
    response = api(billing_staff).post(
        "/api/v1/invoices/",
        {"client": cn_client.pk, "lines": [{"description": "x", "unit_price": 1.5}]},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "lines[0].unit_price"


def test_void_needs_a_reason(api, billing_staff, cn_invoice):
    response = api(billing_staff).post(f"/api/v1/invoices/{cn_invoice.pk}/void/", {}, format="json")

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "reason"


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/invoices/", {"client": 1, "lines": []}),
        ("/api/v1/invoices/{pk}/issue/", {}),
        ("/api/v1/invoices/{pk}/void/", {"reason": "x"}),
        (
            "/api/v1/payments/",
            {"invoice": 1, "amount": "1.00", "received_on": "2026-01-01", "reference": ""},
        ),
        ("/api/v1/deposits/", {"client": 1, "amount": "1.00"}),
        ("/api/v1/set-offs/", {}),
        ("/api/v1/prices/", {}),
        ("/api/v1/interest-rates/", {}),
    ],
)
def test_client_users_may_not_do_staff_actions(api, cn_admin, cn_invoice, path, body):
    response = api(cn_admin).post(path.format(pk=cn_invoice.pk), body, format="json")

    assert response.status_code == 403
    assert "errors" in response.json()


def test_a_client_viewer_may_not_dispute_or_confirm_for_fapiao(api, cn_client, cn_invoice):
    viewer = ClientViewerFactory(client=cn_client)
    client = api(viewer)

    dispute = client.post(
        "/api/v1/disputes/",
        {"invoice": cn_invoice.pk, "amount": "100.00", "reason": "Too many"},
        format="json",
    )
    confirm = client.post(f"/api/v1/invoices/{cn_invoice.pk}/confirm-fapiao/")

    assert dispute.status_code == confirm.status_code == 403
    assert client.get(f"/api/v1/invoices/{cn_invoice.pk}/").status_code == 200


def test_a_client_never_sees_a_draft(api, cn_client, cn_admin, billing_staff):
    draft = invoice_services.invoice_draft(
        client=cn_client, lines=[line()], acting_user=billing_staff
    )

    assert api(cn_admin).get(f"/api/v1/invoices/{draft.pk}/").status_code == 404
    assert api(billing_staff).get(f"/api/v1/invoices/{draft.pk}/").status_code == 200


# --- Payments ------------------------------------------------------------------------------
def test_staff_record_a_payment_once_per_idempotency_key(api, billing_staff, cn_invoice, today):
    client = api(billing_staff)
    body = {
        "invoice": cn_invoice.pk,
        "amount": "1000.00",
        "bank_fee": "60.00",
        "received_on": today.isoformat(),
        "reference": "ICBC-1",
    }

    first = client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    other = client.post(
        "/api/v1/payments/", {**body, "amount": "5.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1"
    )

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 409
    assert Payment.objects.filter(invoice=cn_invoice).count() == 1
    cn_invoice.refresh_from_db()
    assert cn_invoice.status == Invoice.Status.PARTLY_PAID  # the bank fee's 60.00 stays owed


def test_a_payment_without_an_idempotency_key_is_refused(api, billing_staff, cn_invoice, today):
    response = api(billing_staff).post(
        "/api/v1/payments/",
        {
            "invoice": cn_invoice.pk,
            "amount": "1.00",
            "received_on": today.isoformat(),
            "reference": "",
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response)[0]["field"] == "Idempotency-Key"
    assert not Payment.objects.exists()


# --- Deposits and set-offs -----------------------------------------------------------------
def test_staff_demand_hold_and_adjust_a_deposit_and_the_client_sees_it(
    api, billing_staff, cn_client, cn_admin
):
    staff = api(billing_staff)
    demanded = staff.post(
        "/api/v1/deposits/", {"client": cn_client.pk, "amount": "5000.00"}, format="json"
    )
    assert demanded.status_code == 201
    pk = demanded.json()["id"]

    held = staff.post(
        f"/api/v1/deposits/{pk}/mark-held/", {"amount_received": "5000.00"}, format="json"
    )
    adjusted = staff.post(
        f"/api/v1/deposits/{pk}/adjust/",
        {"amount": "3000.00", "reason": "Lower volume agreed on the call of 3 March"},
        format="json",
    )
    settle = staff.post(f"/api/v1/deposits/{pk}/settle/", {}, format="json")

    assert held.json()["status"] == "held"
    assert adjusted.json()["amount"] == "3000.00"
    assert settle.status_code == 400  # the agreement has not ended (art. 4.7)
    mine = api(cn_admin).get("/api/v1/deposits/").json()["results"]
    assert [(d["id"], d["status"]) for d in mine] == [(pk, "held")]


def test_staff_set_off_a_held_deposit_and_the_client_sees_it(
    api, billing_staff, cn_client, cn_admin, cn_invoice
):
    deposit = deposit_services.deposit_demand(
        client=cn_client, amount="300.00", acting_user=billing_staff
    )
    deposit_services.deposit_mark_held(
        deposit=deposit, amount_received="300.00", acting_user=billing_staff
    )
    body = {
        "source": "deposit",
        "source_id": deposit.pk,
        "invoice": cn_invoice.pk,
        "amount": "200.00",
    }

    response = api(billing_staff).post(
        "/api/v1/set-offs/", body, format="json", HTTP_IDEMPOTENCY_KEY="so-1"
    )

    assert response.status_code == 201, response.json()
    assert SetOff.objects.get().amount == Decimal("200.00")
    mine = api(cn_admin).get("/api/v1/set-offs/").json()["results"]
    assert [(s["source"], s["invoice_number"]) for s in mine] == [("deposit", cn_invoice.number)]
    detail = api(cn_admin).get(f"/api/v1/invoices/{cn_invoice.pk}/").json()
    assert detail["due_now"] == "860.00"


# --- Fapiao --------------------------------------------------------------------------------
def test_a_client_admin_confirms_for_fapiao_and_staff_record_it(
    api, cn_admin, billing_staff, cn_invoice, today
):
    confirmed = api(cn_admin).post(f"/api/v1/invoices/{cn_invoice.pk}/confirm-fapiao/")
    assert confirmed.status_code == 201
    pk = confirmed.json()["id"]
    assert confirmed.json()["status"] == "requested"
    twice = api(cn_admin).post(f"/api/v1/invoices/{cn_invoice.pk}/confirm-fapiao/")
    assert twice.status_code == 409

    bad = api(billing_staff).post(
        f"/api/v1/fapiao-requests/{pk}/issue/",
        {
            "kind": "digital_general",
            "number": "123",
            "issue_date": today.isoformat(),
            "buyer_name": CHINESE_NAME,
            "buyer_tax_id": cn_invoice.client.registration_number,
            "amount_excl_tax": "1000.00",
            "tax_amount": "60.00",
            "total": "1060.00",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert {e["field"] for e in errors(bad)} == {"fapiao_number"}

    ok = api(billing_staff).post(
        f"/api/v1/fapiao-requests/{pk}/issue/",
        {
            "kind": "digital_general",
            "number": "24442000000012345678",
            "issue_date": today.isoformat(),
            "buyer_name": CHINESE_NAME,
            "buyer_tax_id": cn_invoice.client.registration_number,
            "amount_excl_tax": "1000.00",
            "tax_amount": "60.00",
            "total": "1060.00",
        },
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    assert FapiaoRequest.objects.get(pk=pk).status == FapiaoRequest.Status.ISSUED
    assert api(cn_admin).get("/api/v1/fapiao-requests/").json()["results"][0]["status"] == "issued"


def test_a_profile_without_fapiao_never_offers_it(api, cx, billing_staff, today):
    nl = company(cx, country="NL")
    invoice = issued(nl, billing_staff, invoice_date=local_date(cx))
    admin = admin_of(nl)

    detail = api(admin).get(f"/api/v1/invoices/{invoice.pk}/").json()
    confirm = api(admin).post(f"/api/v1/invoices/{invoice.pk}/confirm-fapiao/")

    assert detail["fapiao_available"] is False
    assert confirm.status_code == 400
    assert errors(confirm)[0]["article"] == "4.8"
    assert not FapiaoRequest.objects.exists()


# --- Disputes ------------------------------------------------------------------------------
def test_a_client_admin_disputes_and_staff_grant_it_by_credit_note(
    api, cn_admin, billing_staff, cn_invoice
):
    raised = api(cn_admin).post(
        "/api/v1/disputes/",
        {"invoice": cn_invoice.pk, "amount": "212.00", "reason": "4,000 messages billed twice"},
        format="json",
    )
    assert raised.status_code == 201, raised.json()
    pk = raised.json()["id"]
    assert raised.json()["withholdable"] is True
    assert api(cn_admin).get(f"/api/v1/invoices/{cn_invoice.pk}/").json()["due_now"] == "848.00"

    early = api(billing_staff).post(
        f"/api/v1/disputes/{pk}/escalate/",
        {"expert_name": "Expert", "cost_agreement": "Shared"},
        format="json",
    )
    assert early.status_code == 400 and errors(early)[0]["article"] == "10.2"

    resolved = api(billing_staff).post(
        f"/api/v1/disputes/{pk}/resolve/",
        {"granted_amount": "212.00", "resolution": "Duplicate rating confirmed"},
        format="json",
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "granted"
    assert resolved.json()["credit_note_number"]
    assert Dispute.objects.get(pk=pk).credit_note.total == Decimal("212.00")


def test_a_dispute_after_the_payment_term_is_refused_with_the_reason(
    api, cn_client, cn_admin, billing_staff, today
):
    late = issued(cn_client, billing_staff, invoice_date=today - dt.timedelta(days=20))

    response = api(cn_admin).post(
        "/api/v1/disputes/",
        {"invoice": late.pk, "amount": "100.00", "reason": "Wrong"},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response)[0]["article"] == "10.1"
    assert "payment term" in errors(response)[0]["message"]


# --- Interest rates and prices -------------------------------------------------------------
def test_staff_keep_the_interest_rate_table(api, billing_staff, cn_admin):
    response = api(billing_staff).post(
        "/api/v1/interest-rates/",
        {"provider": "cm-cn", "valid_from": "2026-01-01", "annual_rate_pct": "3.450"},
        format="json",
    )

    assert response.status_code == 201
    listed = api(billing_staff).get("/api/v1/interest-rates/?provider=cm-cn").json()["results"]
    assert [r["annual_rate_pct"] for r in listed] == ["3.450"]
    assert api(cn_admin).get("/api/v1/interest-rates/").status_code == 403


def test_a_client_sees_its_prices_and_staff_set_them(
    api, billing_staff, cn_client, cn_admin, other
):
    staff = api(billing_staff)
    mine = staff.post(
        "/api/v1/prices/",
        {
            "client": cn_client.pk,
            "channel": "sms",
            "unit_price": "0.045",
            "valid_from": "2026-01-01",
        },
        format="json",
    )
    staff.post(
        "/api/v1/prices/",
        {"client": other.pk, "channel": "sms", "unit_price": "0.05", "valid_from": "2026-01-01"},
        format="json",
    )
    fixed_without_agreement = staff.post(
        "/api/v1/prices/",
        {
            "client": cn_client.pk,
            "channel": "voice",
            "unit_price": "0.1",
            "valid_from": "2026-01-01",
            "fixed": True,
        },
        format="json",
    )

    assert mine.status_code == 201
    assert fixed_without_agreement.status_code == 400
    assert errors(fixed_without_agreement)[0]["article"] == "4.3"
    prices = api(cn_admin).get("/api/v1/prices/").json()["results"]
    assert [(p["client"], p["unit_price"]) for p in prices] == [(cn_client.pk, "0.045000")]


# --- Tenant isolation ----------------------------------------------------------------------
def _one_of_each(client, admin, invoice, staff, today) -> dict:
    """One object of every kind the invoicing API exposes, all belonging to `client`, by path."""
    payment = payment_services.payment_record(
        invoice=invoice,
        amount="10.00",
        received_on=today,
        reference="x",
        idempotency_key=key(),
        acting_user=staff,
    )
    deposit = deposit_services.deposit_demand(client=client, amount="100.00", acting_user=staff)
    deposit_services.deposit_mark_held(deposit=deposit, amount_received="100.00", acting_user=staff)
    set_off = set_off_services.set_off_record(
        client=client,
        source="deposit",
        source_obj=deposit,
        invoice=invoice,
        amount="5.00",
        acting_user=staff,
        idempotency_key=key(),
    )
    fapiao = fapiao_services.fapiao_confirm(invoice=invoice, acting_user=admin)
    dispute = dispute_services.dispute_raise(
        invoice=invoice, amount="100.00", reason="x", acting_user=admin
    )
    price = price_services.price_set(
        client=client, channel="sms", unit_price="0.05", valid_from=today, acting_user=staff
    )
    return {
        "invoices": invoice.pk,
        "payments": payment.pk,
        "deposits": deposit.pk,
        "set-offs": set_off.pk,
        "fapiao-requests": fapiao.pk,
        "disputes": dispute.pk,
        "prices": price.pk,
    }


@pytest.fixture
def others_objects(other, other_invoice, billing_staff, today):
    """One object of every kind the invoicing API exposes, all belonging to `other`."""
    return _one_of_each(other, admin_of(other), other_invoice, billing_staff, today)


ID_GETS = [
    "invoices/<pk>/",
    "invoices/<pk>/pdf/",
    "payments/<pk>/",
    "deposits/<pk>/",
    "set-offs/<pk>/",
    "fapiao-requests/<pk>/",
    "disputes/<pk>/",
]
ID_POSTS = [
    ("invoices/<pk>/confirm-fapiao/", {}),
    ("invoices/<pk>/issue/", {}),
    ("invoices/<pk>/void/", {"reason": "x"}),
    ("deposits/<pk>/adjust/", {"amount": "1.00", "reason": "x"}),
    ("deposits/<pk>/mark-held/", {"amount_received": "1.00"}),
    ("deposits/<pk>/settle/", {}),
    ("deposits/<pk>/refund/", {"reference": "x"}),
    ("fapiao-requests/<pk>/issue/", {}),
    ("disputes/<pk>/escalate/", {}),
    ("disputes/<pk>/resolve/", {}),
]


def _url(route, objects):
    return "/api/v1/" + route.replace("<pk>", str(objects[route.split("/")[0]]))


@pytest.mark.parametrize("route", ID_GETS)
def test_another_clients_id_is_404_on_every_read(api, cn_admin, others_objects, route):
    response = api(cn_admin).get(_url(route, others_objects))

    assert response.status_code == 404
    assert errors(response)[0]["code"] == "not_found"


@pytest.mark.parametrize("route", ID_GETS)
def test_staff_find_the_objects_the_isolation_walk_uses(api, billing_staff, others_objects, route):
    assert api(billing_staff).get(_url(route, others_objects)).status_code == 200


@pytest.mark.parametrize(
    "route,body", [r for r in ID_POSTS if r[0].startswith("invoices/<pk>/confirm")]
)
def test_another_clients_id_is_404_on_a_client_action(api, cn_admin, others_objects, route, body):
    assert api(cn_admin).post(_url(route, others_objects), body, format="json").status_code == 404
    assert FapiaoRequest.objects.count() == 1


def test_another_clients_invoice_in_a_body_is_404(api, cn_admin, others_objects):
    response = api(cn_admin).post(
        "/api/v1/disputes/",
        {"invoice": others_objects["invoices"], "amount": "10.00", "reason": "x"},
        format="json",
    )

    assert response.status_code == 404
    assert Dispute.objects.count() == 1


@pytest.mark.parametrize("route,body", ID_POSTS)
def test_staff_routes_refuse_a_client_before_looking_anything_up(
    api, cn_admin, others_objects, route, body
):
    status = api(cn_admin).post(_url(route, others_objects), body, format="json").status_code
    assert status in (403, 404)


@pytest.mark.parametrize(
    "path",
    ["invoices", "payments", "deposits", "set-offs", "fapiao-requests", "disputes", "prices"],
)
def test_lists_show_only_the_callers_rows_and_another_client_param_is_404(
    api, cn_client, cn_admin, cn_invoice, billing_staff, today, others_objects, other, path
):
    mine = _one_of_each(cn_client, cn_admin, cn_invoice, billing_staff, today)
    client = api(cn_admin)

    listed = [row["id"] for row in client.get(f"/api/v1/{path}/").json()["results"]]
    assert listed == [mine[path]]  # the caller's row is there ...
    assert others_objects[path] not in listed  # ... and the other client's is not
    assert client.get(f"/api/v1/{path}/?client={other.pk}").status_code == 404


def test_the_schema_names_every_invoicing_path(api, billing_staff):
    paths = api(billing_staff).get("/api/schema/?format=json").json()["paths"]

    for p in [
        "/api/v1/invoices/",
        "/api/v1/invoices/{id}/",
        "/api/v1/invoices/{id}/pdf/",
        "/api/v1/invoices/{id}/issue/",
        "/api/v1/invoices/{id}/void/",
        "/api/v1/invoices/{id}/confirm-fapiao/",
        "/api/v1/payments/",
        "/api/v1/deposits/{id}/settle/",
        "/api/v1/set-offs/",
        "/api/v1/fapiao-requests/{id}/issue/",
        "/api/v1/disputes/{id}/resolve/",
        "/api/v1/interest-rates/",
        "/api/v1/prices/",
    ]:
        assert p in paths, p


def test_the_invoicing_api_schema_generates_without_warnings(db):
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    import accounts.api.schema  # noqa: F401  (the authentication extensions)

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=[path("api/v1/", include("billing.api.urls"))]).get_schema(
        request=None, public=True
    )

    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache

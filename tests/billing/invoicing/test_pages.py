"""Invoicing pages (issue 4, §9): the client's invoice list (state and month filters, keyset
pages), detail (lines, payments, interest, disputes, due now, fapiao, PDF), dispute and fapiao
confirmation; staff draft, issue, void, payments, deposits, set-offs, disputes and fapiao
queues, overdue list; role refusals and 404 for another client's ids on every page."""

from __future__ import annotations

import datetime as dt
import re
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
from billing.invoicing.services import set_offs as set_off_services
from billing.models import Deposit, Dispute, FapiaoRequest, Invoice, Payment, SetOff
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


def body(response) -> str:
    return response.content.decode()


# --- Client ---------------------------------------------------------------------------------
def test_the_client_sees_its_invoices_filtered_and_paged_by_cursor(
    as_user, cn_client, cn_admin, billing_staff, today, other
):
    first = today.replace(day=1)
    mine = [
        issued(cn_client, billing_staff, invoice_date=first - dt.timedelta(days=n))
        for n in range(30)
    ]
    theirs = issued(other, billing_staff, invoice_date=today)
    page = as_user(cn_admin)

    response = page.get("/billing/invoices/")
    assert response.status_code == 200
    assert body(response).count('data-testid="invoice-row"') == 25
    assert theirs.number not in body(response)
    older = response.context["next_cursor"]
    second = page.get(f"/billing/invoices/?cursor={older}")
    assert body(second).count('data-testid="invoice-row"') == 5
    assert mine[-1].number in body(second)

    this_month = page.get(f"/billing/invoices/?status=&period={first:%Y-%m}")
    assert body(this_month).count('data-testid="invoice-row"') == 1
    paid = page.get("/billing/invoices/?status=paid")
    assert "No invoices match these filters" in body(paid)


def test_the_list_page_makes_the_same_number_of_queries_for_a_deep_page(
    as_user, cn_client, cn_admin, billing_staff, today
):
    Invoice.objects.bulk_create(
        Invoice(
            client=cn_client,
            provider=cn_client.provider,
            number=f"P-{n}",
            status=Invoice.Status.ISSUED,
            invoice_date=today - dt.timedelta(days=n),
            due_date=today,
            currency="CNY",
            total=Decimal("1.00"),
        )
        for n in range(200)
    )
    page = as_user(cn_admin)
    first = page.get("/billing/invoices/")
    cursor = first.context["next_cursor"]
    for _ in range(5):
        cursor = page.get(f"/billing/invoices/?cursor={cursor}").context["next_cursor"]

    with CaptureQueriesContext(connection) as top:
        page.get("/billing/invoices/")
    with CaptureQueriesContext(connection) as deep:
        page.get(f"/billing/invoices/?cursor={cursor}")

    assert len(deep.captured_queries) == len(top.captured_queries)


def test_the_detail_shows_lines_payments_interest_due_now_and_the_fapiao_button(
    as_user, cm, cn_client, cn_admin, billing_staff, today
):
    interest_rate(cm, dt.date(2020, 1, 1), "8.000")
    invoice = issued(
        cn_client,
        billing_staff,
        [line("1000.00", description="SMS March")],
        invoice_date=today - dt.timedelta(days=30),
    )
    payment_services.payment_record(
        invoice=invoice,
        amount="500.00",
        received_on=today,
        reference="BANK-77",
        idempotency_key=key(),
        acting_user=billing_staff,
    )

    response = as_user(cn_admin).get(f"/billing/invoices/{invoice.pk}/")

    html = body(response)
    assert "SMS March" in html and "BANK-77" in html
    assert response.context["d"].due_now == Decimal("560.00")
    assert response.context["d"].interest_to_date > 0
    assert "Confirm for fapiao" in html
    assert "payment term ended" in html  # a late dispute is not offered
    assert "Record payment" not in html  # staff actions are not shown to clients


def test_a_client_admin_disputes_within_the_payment_term(as_user, cn_admin, cn_invoice):
    page = as_user(cn_admin)
    assert "Raise the dispute" in body(page.get(f"/billing/invoices/{cn_invoice.pk}/"))

    response = page.post(
        f"/billing/invoices/{cn_invoice.pk}/dispute/",
        {"dispute-amount": "212.00", "dispute-reason": "Messages billed twice"},
        follow=True,
    )

    assert "You may withhold" in body(response)
    dispute = Dispute.objects.get(invoice=cn_invoice)
    assert dispute.withholdable and dispute.amount == Decimal("212.00")
    assert response.context["d"].due_now == Decimal("848.00")


def test_a_refused_dispute_shows_the_reason_on_the_field(as_user, cn_admin, cn_invoice):
    response = as_user(cn_admin).post(
        f"/billing/invoices/{cn_invoice.pk}/dispute/",
        {"dispute-amount": "5000.00", "dispute-reason": "All wrong"},
    )

    assert response.status_code == 400
    assert "More than the invoice total" in body(response)
    assert not Dispute.objects.exists()


def _prefilled(html: str) -> dict[str, str]:
    """The fapiao confirmation form's fields as the page prefills them."""
    form = html[html.index('data-testid="fapiao-confirm-form"') :]
    form = form[: form.index("</form>")]
    return {
        name: value
        for name, value in re.findall(r'name="(fapiao-[a-z_]+)"[^>]*?value="([^"]*)"', form)
    }


def test_a_client_admin_confirms_an_invoice_for_fapiao(as_user, cn_admin, cn_invoice):
    page = as_user(cn_admin)
    data = _prefilled(body(page.get(f"/billing/invoices/{cn_invoice.pk}/")))
    response = page.post(f"/billing/invoices/{cn_invoice.pk}/confirm-fapiao/", data, follow=True)

    assert "the fapiao is due by" in body(response)
    assert FapiaoRequest.objects.get(invoice=cn_invoice).status == FapiaoRequest.Status.REQUESTED
    assert "Confirm for fapiao" not in body(response)


def test_the_fapiao_form_is_prefilled_from_the_registration(as_user, cn_admin, cn_invoice):
    client = cn_invoice.client
    data = _prefilled(body(as_user(cn_admin).get(f"/billing/invoices/{cn_invoice.pk}/")))
    assert data["fapiao-buyer_name"] == client.legal_name
    assert data["fapiao-buyer_tax_id"] == client.registration_number
    assert data["fapiao-buyer_address"] == " ".join(client.address.split())


def test_the_client_corrects_the_buyer_details_and_staff_see_them(
    as_user, cn_admin, cn_invoice, billing_staff
):
    page = as_user(cn_admin)
    data = _prefilled(body(page.get(f"/billing/invoices/{cn_invoice.pk}/")))
    data.update({"fapiao-buyer_address": "1 New Road, Shenzhen", "fapiao-buyer_bank": "ICBC"})
    page.post(f"/billing/invoices/{cn_invoice.pk}/confirm-fapiao/", data)
    request_ = FapiaoRequest.objects.get(invoice=cn_invoice)
    assert request_.buyer_address == "1 New Road, Shenzhen" and request_.buyer_bank == "ICBC"
    assert request_.buyer_tax_id == cn_invoice.client.registration_number
    queue = body(as_user(billing_staff).get("/billing/fapiao/"))
    assert 'value="1 New Road, Shenzhen"' in queue and 'value="ICBC"' in queue


def test_a_bad_taxpayer_id_is_refused_on_its_field_and_nothing_is_requested(
    as_user, cn_admin, cn_invoice
):
    page = as_user(cn_admin)
    data = _prefilled(body(page.get(f"/billing/invoices/{cn_invoice.pk}/")))
    data["fapiao-buyer_tax_id"] = "91440300MA5XXXXXXX"
    response = page.post(f"/billing/invoices/{cn_invoice.pk}/confirm-fapiao/", data)
    assert response.status_code == 400
    html = body(response)
    assert "not a valid Unified Social Credit Code" in html
    assert 'value="91440300MA5XXXXXXX"' in html
    assert not FapiaoRequest.objects.filter(invoice=cn_invoice).exists()


def test_a_profile_without_fapiao_never_offers_it_on_the_page(as_user, cx, billing_staff):
    nl = company(cx, country="NL")
    invoice = issued(nl, billing_staff, invoice_date=local_date(cx))

    html = body(as_user(admin_of(nl)).get(f"/billing/invoices/{invoice.pk}/"))

    assert invoice.number in html  # the invoice is shown, without any fapiao
    assert "Fapiao" not in html.split("<main>")[1].split("</main>")[0].replace("fapiao_queue", "")
    assert "Confirm for fapiao" not in html


def test_the_pdf_downloads_from_the_page(as_user, cn_admin, cn_invoice):
    response = as_user(cn_admin).get(f"/billing/invoices/{cn_invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert cn_invoice.number in response["Content-Disposition"]


def test_a_client_viewer_sees_invoices_but_may_not_dispute_or_confirm(
    as_user, cn_client, cn_invoice
):
    from tests.accounts.factories import ClientViewerFactory

    viewer = ClientViewerFactory(client=cn_client)
    page = as_user(viewer)

    response = page.get(f"/billing/invoices/{cn_invoice.pk}/")
    html = body(response)
    assert response.status_code == 200 and cn_invoice.number in html  # the viewer sees it ...
    assert "Raise the dispute" not in html and "Confirm for fapiao" not in html  # ... only
    assert page.post(f"/billing/invoices/{cn_invoice.pk}/confirm-fapiao/").status_code == 403
    assert (
        page.post(
            f"/billing/invoices/{cn_invoice.pk}/dispute/",
            {"dispute-amount": "10.00", "dispute-reason": "x"},
        ).status_code
        == 403
    )


def test_the_client_sees_its_deposits_and_set_offs(
    as_user, cn_client, cn_admin, billing_staff, cn_invoice
):
    deposit = deposit_services.deposit_demand(
        client=cn_client, amount="300.00", acting_user=billing_staff
    )
    deposit_services.deposit_mark_held(
        deposit=deposit, amount_received="300.00", acting_user=billing_staff
    )
    set_off_services.set_off_record(
        client=cn_client,
        source="deposit",
        source_obj=deposit,
        invoice=cn_invoice,
        amount="100.00",
        acting_user=billing_staff,
        idempotency_key=key(),
    )
    page = as_user(cn_admin)

    deposits = body(page.get("/billing/deposits/"))
    set_offs = body(page.get("/billing/set-offs/"))

    assert "CNY 300.00" in deposits and "Demand a deposit" not in deposits
    assert cn_invoice.number in set_offs and "Record a set-off" not in set_offs


# --- Staff ----------------------------------------------------------------------------------
def test_staff_draft_issue_pay_and_void(as_user, billing_staff, cn_client, today):
    page = as_user(billing_staff)

    created = page.post(
        "/billing/invoices/new/",
        {
            "client": cn_client.pk,
            "description_1": "Setup",
            "quantity_1": "2",
            "unit_price_1": "150",
        },
    )
    draft = Invoice.objects.get(client=cn_client, status=Invoice.Status.DRAFT)
    assert created.status_code == 302 and draft.total == Decimal("318.00")

    page.post(f"/billing/invoices/{draft.pk}/issue/", {"issue-invoice_date": ""})
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.ISSUED and draft.number

    detail = page.get(f"/billing/invoices/{draft.pk}/")
    form_key = detail.context["payment_form"].initial["key"]
    paid = page.post(
        f"/billing/invoices/{draft.pk}/payment/",
        {
            "payment-key": form_key,
            "payment-amount": "100.00",
            "payment-bank_fee": "0",
            "payment-received_on": today.isoformat(),
            "payment-reference": "ICBC-9",
        },
    )
    assert paid.status_code == 302
    assert Payment.objects.get(invoice=draft).reference == "ICBC-9"

    refused = page.post(f"/billing/invoices/{draft.pk}/void/", {"void-reason": "Wrong"})
    assert refused.status_code == 400
    assert "cannot be voided" in body(refused)


def test_staff_void_an_unpaid_invoice_by_credit_note(as_user, billing_staff, cn_invoice):
    response = as_user(billing_staff).post(
        f"/billing/invoices/{cn_invoice.pk}/void/",
        {"void-reason": "Billed the wrong month"},
        follow=True,
    )

    cn_invoice.refresh_from_db()
    assert cn_invoice.status == Invoice.Status.VOID
    assert "voided by credit note" in body(response)


def test_staff_work_the_deposit_set_off_dispute_and_fapiao_queues(
    as_user, billing_staff, cn_client, cn_admin, cn_invoice, today
):
    page = as_user(billing_staff)
    page.post(
        "/billing/deposits/demand/", {"demand-client": cn_client.pk, "demand-amount": "500.00"}
    )
    deposit = Deposit.objects.get(client=cn_client)
    page.post(f"/billing/deposits/{deposit.pk}/mark-held/", {"mark-held-amount_received": "500.00"})
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.HELD

    form = page.get(f"/billing/set-offs/?client={cn_client.pk}").context["form"]
    page.post(
        f"/billing/set-offs/record/?client={cn_client.pk}",
        {
            "key": form.initial["key"],
            "source": f"deposit:{deposit.pk}",
            "invoice": cn_invoice.pk,
            "amount": "60.00",
        },
    )
    assert SetOff.objects.get().amount == Decimal("60.00")

    dispute = dispute_services.dispute_raise(
        invoice=cn_invoice, amount="100.00", reason="x", acting_user=cn_admin
    )
    queue = page.get("/billing/disputes/")
    assert 'data-testid="dispute-row"' in body(queue) and "Resolve" in body(queue)
    page.post(
        f"/billing/disputes/{dispute.pk}/resolve/",
        {"resolve-granted_amount": "0", "resolve-resolution": "Usage confirmed"},
    )
    assert Dispute.objects.get().status == Dispute.Status.REJECTED

    fapiao = fapiao_services.fapiao_confirm(invoice=cn_invoice, acting_user=cn_admin)
    queue = page.get("/billing/fapiao/")
    assert cn_invoice.number in body(queue)
    bad = page.post(
        f"/billing/fapiao/{fapiao.pk}/issue/",
        {
            "fapiao-kind": "paper_special",
            "fapiao-number": "1234",
            "fapiao-code": "",
            "fapiao-issue_date": today.isoformat(),
            "fapiao-buyer_name": CHINESE_NAME,
            "fapiao-buyer_tax_id": cn_client.registration_number,
            "fapiao-amount_excl_tax": "1000.00",
            "fapiao-tax_amount": "60.00",
            "fapiao-total": "1060.00",
        },
    )
    assert bad.status_code == 400
    assert "A paper fapiao number has 8 digits." in body(bad)
    ok = page.post(
        f"/billing/fapiao/{fapiao.pk}/issue/",
        {
            "fapiao-kind": "digital_general",
            "fapiao-number": "24442000000012345678",
            "fapiao-code": "",
            "fapiao-issue_date": today.isoformat(),
            "fapiao-buyer_name": CHINESE_NAME,
            "fapiao-buyer_tax_id": cn_client.registration_number,
            "fapiao-amount_excl_tax": "1000.00",
            "fapiao-tax_amount": "60.00",
            "fapiao-total": "1060.00",
        },
    )
    assert ok.status_code == 302
    assert FapiaoRequest.objects.get().fapiao_number == "24442000000012345678"


def test_staff_see_the_overdue_list_and_the_dashboard_queues(
    as_user, billing_staff, cn_client, today
):
    late = issued(cn_client, billing_staff, invoice_date=today - dt.timedelta(days=40))
    invoice_services.invoices_mark_overdue()
    page = as_user(billing_staff)

    assert late.number in body(page.get("/billing/invoices/overdue/"))
    dashboard = body(page.get("/"))
    assert 'data-testid="queue-overdue"' in dashboard


@pytest.mark.parametrize(
    "url",
    ["/billing/invoices/new/", "/billing/invoices/overdue/"],
)
def test_client_users_may_not_open_staff_pages(as_user, cn_admin, url):
    assert as_user(cn_admin).get(url).status_code == 403


# --- Tenant isolation -----------------------------------------------------------------------
def _one_of_each(client, admin, staff, today) -> dict:
    """An invoice, a held deposit set off against it, a dispute and a fapiao request, all of
    `client`; and the invoice's number, which every list page shows on its rows."""
    invoice = issued(client, staff, invoice_date=today)
    deposit = deposit_services.deposit_demand(client=client, amount="10.00", acting_user=staff)
    deposit_services.deposit_mark_held(deposit=deposit, amount_received="10.00", acting_user=staff)
    set_off_services.set_off_record(
        client=client,
        source="deposit",
        source_obj=deposit,
        invoice=invoice,
        amount="5.00",
        acting_user=staff,
        idempotency_key=key(),
    )
    dispute = dispute_services.dispute_raise(
        invoice=invoice, amount="10.00", reason="x", acting_user=admin
    )
    fapiao = fapiao_services.fapiao_confirm(invoice=invoice, acting_user=admin)
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "deposit": deposit.pk,
        "dispute": dispute.pk,
        "fapiao": fapiao.pk,
        "client": client.pk,
    }


@pytest.fixture
def others(other, billing_staff, today):
    return _one_of_each(other, admin_of(other), billing_staff, today)


GETS = ["/billing/invoices/{invoice}/", "/billing/invoices/{invoice}/pdf/"]
POSTS = [
    ("/billing/invoices/{invoice}/dispute/", {"dispute-amount": "1.00", "dispute-reason": "x"}),
    ("/billing/invoices/{invoice}/confirm-fapiao/", {}),
]
STAFF_POSTS = [
    "/billing/invoices/{invoice}/issue/",
    "/billing/invoices/{invoice}/void/",
    "/billing/invoices/{invoice}/payment/",
    "/billing/deposits/{deposit}/settle/",
    "/billing/disputes/{dispute}/resolve/",
    "/billing/fapiao/{fapiao}/issue/",
]


@pytest.mark.parametrize("url", GETS)
def test_another_clients_invoice_is_404(as_user, cn_admin, others, url):
    assert as_user(cn_admin).get(url.format(**others)).status_code == 404


@pytest.mark.parametrize("url,data", POSTS)
def test_another_clients_invoice_is_404_for_client_actions(as_user, cn_admin, others, url, data):
    assert as_user(cn_admin).post(url.format(**others), data).status_code == 404
    assert Dispute.objects.count() == FapiaoRequest.objects.count() == 1


@pytest.mark.parametrize("url", STAFF_POSTS)
def test_staff_actions_refuse_client_users(as_user, cn_admin, others, url):
    assert as_user(cn_admin).post(url.format(**others), {}).status_code in (403, 404)


@pytest.mark.parametrize(
    "url,row",
    [
        ("/billing/deposits/", "deposit-row"),
        ("/billing/set-offs/", "set-off-row"),
        ("/billing/disputes/", "dispute-row"),
        ("/billing/fapiao/", "fapiao-row"),
        ("/billing/invoices/", "invoice-row"),
    ],
)
def test_client_lists_never_show_another_clients_rows_and_ignore_its_id(
    as_user, cn_client, cn_admin, billing_staff, today, others, url, row, other
):
    mine = _one_of_each(cn_client, cn_admin, billing_staff, today)

    html = body(as_user(cn_admin).get(f"{url}?client={others['client']}&status="))

    assert html.count(f'data-testid="{row}"') == 1  # one row: the caller's own
    assert mine["number"] in html
    assert others["number"] not in html and other.legal_name not in html


@pytest.mark.parametrize("url", GETS)
def test_staff_open_the_pages_the_isolation_walk_uses(as_user, billing_staff, others, url):
    assert as_user(billing_staff).get(url.format(**others)).status_code == 200


def test_the_set_off_form_lists_one_clients_invoices_and_sources_by_label(
    as_user, billing_staff, cn_client, cn_invoice, other, today
):
    """Art. 9.1: staff pick the client, then that client's open invoices and what the
    provider owes it, by number and amount; never another client's rows."""
    page = as_user(billing_staff)
    for client in (cn_client, other):
        page.post(
            "/billing/deposits/demand/", {"demand-client": client.pk, "demand-amount": "500.00"}
        )
        deposit = Deposit.objects.get(client=client)
        page.post(
            f"/billing/deposits/{deposit.pk}/mark-held/", {"mark-held-amount_received": "500.00"}
        )
    mine = Deposit.objects.get(client=cn_client)
    theirs = Deposit.objects.get(client=other)
    other_invoice = issued(other, billing_staff, invoice_date=today)

    start = page.get("/billing/set-offs/")
    assert start.context["form"] is None and start.context["client_form"] is not None
    picked = page.get("/billing/set-offs/", {"find-client": cn_client.legal_name})
    assert picked.status_code == 302 and picked.url.endswith(f"?client={cn_client.pk}")

    response = page.get(picked.url)
    form = response.context["form"]
    sources = [value for _group, rows in form.fields["source"].choices[1:] for value, _l in rows]
    assert sources == [f"deposit:{mine.pk}"]
    assert [v for v, _label in form.fields["invoice"].choices[1:]] == [cn_invoice.pk]
    html = body(response)
    assert '<select name="source"' in html and '<select name="invoice"' in html
    assert cn_invoice.number in html and f"Deposit #{mine.pk}" in html
    assert other_invoice.number not in html and f"Deposit #{theirs.pk}" not in html

    refused = page.post(
        f"/billing/set-offs/record/?client={cn_client.pk}",
        {
            "key": form.initial["key"],
            "source": f"deposit:{theirs.pk}",
            "invoice": other_invoice.pk,
            "amount": "10.00",
        },
    )
    assert refused.status_code == 400
    assert set(refused.context["form"].errors) == {"source", "invoice"}
    assert not SetOff.objects.exists()

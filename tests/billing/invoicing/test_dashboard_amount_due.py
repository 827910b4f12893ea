"""The client dashboard's invoice card (issue 15 §5): the amount due on the open invoices per
currency (total − paid − set-offs, art. 4.5), the next due date and a link to the invoice list,
in a constant number of queries however many invoices are open."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.invoicing import selectors
from billing.invoicing.services import invoices as invoice_services
from billing.invoicing.services import payments as payment_services
from tests.billing.invoicing.factories import admin_of, company, issued, key, line

pytestmark = pytest.mark.django_db


def _card(body: str) -> str:
    start = body.index('data-testid="dashboard-invoices"')
    return body[start : body.index("</section>", start)]


def test_the_card_shows_the_amount_due_the_next_due_date_and_the_list(
    as_user, billing_staff, cm, clock
):
    today = clock.moment.date()
    client = company(cm)
    admin = admin_of(client)
    first = issued(client, billing_staff, [line("1000.00")], invoice_date=today)
    issued(client, billing_staff, [line("500.00")], invoice_date=today)
    payment_services.payment_record(
        invoice=first,
        amount=Decimal("400.00"),
        received_on=today,
        reference="part",
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    first.refresh_from_db()
    # a draft and a voided invoice owe nothing
    invoice_services.invoice_draft(
        client=client, lines=[line("9999.00")], acting_user=billing_staff
    )
    void = issued(client, billing_staff, [line("7777.00")], invoice_date=today)
    invoice_services.invoice_void(invoice=void, reason="wrong", acting_user=billing_staff)
    due = selectors.client_amount_due(user=admin, client=client)
    expected = first.total - Decimal("400.00") + (first.total / 2)
    assert due.by_currency == [(first.currency, expected)]
    assert due.next_due_date == first.due_date

    card = _card(as_user(admin).get("/").content.decode())
    assert 'data-testid="amount-due"' in card
    assert 'data-testid="next-due-date"' in card
    assert f'href="{reverse("billing:invoices")}" data-testid="invoice-list-link"' in card
    assert "Nothing due" not in card


def test_nothing_due_once_every_invoice_is_paid(as_user, billing_staff, cm, clock):
    today = clock.moment.date()
    client = company(cm)
    admin = admin_of(client)
    invoice = issued(client, billing_staff, [line("100.00")], invoice_date=today)
    payment_services.payment_record(
        invoice=invoice,
        amount=invoice.total,
        received_on=today,
        reference="all",
        idempotency_key=key(),
        acting_user=billing_staff,
    )
    due = selectors.client_amount_due(user=admin, client=client)
    assert due.by_currency == [] and due.next_due_date is None
    card = _card(as_user(admin).get("/").content.decode())
    assert "Nothing due" in card and 'data-testid="next-due-date"' not in card


def test_an_overdue_invoice_counts_but_is_not_the_next_due_date(billing_staff, cm, clock):
    today = clock.moment.date()
    client = company(cm)
    admin = admin_of(client)
    late = issued(client, billing_staff, [line("100.00")], invoice_date=today)
    clock.set(late.due_date + dt.timedelta(days=3))
    later = issued(client, billing_staff, [line("100.00")], invoice_date=clock.moment.date())
    due = selectors.client_amount_due(user=admin, client=client)
    assert due.by_currency == [(late.currency, late.total + later.total)]
    assert due.next_due_date == later.due_date


def test_the_query_count_does_not_grow_with_the_invoices(billing_staff, cm, clock):
    today = clock.moment.date()
    client = company(cm)
    admin = admin_of(client)
    issued(client, billing_staff, [line("100.00")], invoice_date=today)
    with CaptureQueriesContext(connection) as one:
        selectors.client_amount_due(user=admin, client=client)
    for _ in range(4):
        issued(client, billing_staff, [line("100.00")], invoice_date=today)
    with CaptureQueriesContext(connection) as five:
        due = selectors.client_amount_due(user=admin, client=client)
    assert len(five) == len(one)
    assert due.by_currency == [
        (client.invoices.first().currency, sum(i.total for i in client.invoices.all()))
    ]


def test_another_clients_invoices_are_not_counted(billing_staff, cm, clock):
    today = clock.moment.date()
    client = company(cm)
    other = company(cm)
    issued(other, billing_staff, [line("100.00")], invoice_date=today)
    assert selectors.client_amount_due(user=admin_of(client), client=client).by_currency == []

"""Invoice reads: scoped to the client, keyset pages on (invoice_date, id) desc, one query per page."""

import pytest

from accounts.kernel.errors import NotFound
from billing.invoicing import selectors as sel
from billing.models import Invoice
from tests.billing.invoicing.factories import D, admin_of, company


def bulk_invoices(client, dates):
    return Invoice.objects.bulk_create(
        [
            Invoice(
                client=client,
                provider=client.provider,
                currency=client.provider.currency,
                status="issued",
                number=f"T-{client.pk}-{i}",
                invoice_date=day,
                due_date=day,
            )
            for i, day in enumerate(dates)
        ]
    )


@pytest.mark.django_db
def test_the_invoice_list_walks_pages_newest_first_without_gaps_or_repeats(cm):
    client, other = company(cm), company(cm)
    days = [D(2026, 1, 1 + i % 5) for i in range(23)]  # many invoices share a date
    bulk_invoices(client, days)
    bulk_invoices(other, days)
    Invoice.objects.create(client=client, provider=cm, currency="CNY")  # a draft: not listed

    admin = admin_of(client)

    seen, cursor = [], None
    while True:
        page = sel.invoice_list(user=admin, client=client, cursor=cursor, page_size=5)
        seen += [(inv.invoice_date, inv.pk) for inv in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(seen) == 23 and len(set(seen)) == 23
    assert seen == sorted(seen, reverse=True)
    assert {pk for _, pk in seen} == set(
        Invoice.objects.filter(client=client, invoice_date__isnull=False).values_list(
            "pk", flat=True
        )
    )


@pytest.mark.django_db
def test_a_page_is_one_query_whatever_its_size(cm, django_assert_num_queries):
    client = company(cm)
    bulk_invoices(client, [D(2026, 1, 1 + i % 28) for i in range(120)])
    admin = admin_of(client)
    first = sel.invoice_list(user=admin, client=client, page_size=10)
    for size in (10, 100):
        with django_assert_num_queries(1):
            page = sel.invoice_list(
                user=admin, client=client, cursor=first.next_cursor, page_size=size
            )
            [(i.number, i.total, i.status) for i in page.items]


@pytest.mark.django_db
def test_filters_by_status_and_period(cm):
    client = company(cm)
    invoices = bulk_invoices(client, [D(2026, 1, 5), D(2026, 2, 5), D(2026, 3, 5)])
    Invoice.objects.filter(pk=invoices[1].pk).update(status="paid")

    admin = admin_of(client)

    paid = sel.invoice_list(user=admin, client=client, filters={"status": "paid"})
    february_on = sel.invoice_list(user=admin, client=client, filters={"date_from": D(2026, 2, 1)})

    assert [i.pk for i in paid.items] == [invoices[1].pk]
    assert [i.pk for i in february_on.items] == [invoices[2].pk, invoices[1].pk]


@pytest.mark.django_db
def test_another_clients_invoice_is_not_found(cm):
    client, other = company(cm), company(cm)
    (own,) = bulk_invoices(client, [D(2026, 1, 5)])
    (foreign,) = bulk_invoices(other, [D(2026, 1, 5)])
    admin = admin_of(client)

    with pytest.raises(NotFound):
        sel.invoice_get(user=admin, pk=foreign.pk)
    with pytest.raises(NotFound):
        sel.invoice_detail(user=admin, pk=foreign.pk)
    assert sel.invoice_get(user=admin, pk=own.pk) == own
    # the caller's own invoice is listed, the other client's is not, even when asked for by name
    assert [i.pk for i in sel.invoice_list(user=admin, client=client).items] == [own.pk]
    assert sel.invoice_list(user=admin, client=other).items == []


@pytest.mark.django_db
def test_a_bad_cursor_is_refused(cm):
    client = company(cm)
    with pytest.raises(ValueError):
        sel.invoice_list(user=admin_of(client), client=client, cursor="not-a-cursor")

"""Every list holds on a provider's database (issue 16 §2): a page and an API list walked to the
end give every row once; a page's query count does not grow with the rows or the depth; and
the keyset query of a deep page walks the index of its sort order (EXPLAIN, no Sort node)."""

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.kernel.keyset import KeysetPaginator, _after
from accounts.models import Client
from billing.invoicing import selectors as invoicing_selectors
from billing.models import Invoice, UsageRecord
from billing.prepaid import selectors as prepaid_selectors
from tests.accounts.factories import ClientFactory, make_uscc

pytestmark = pytest.mark.django_db

NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


def _bulk_clients(provider, n, start=0):
    Client.objects.bulk_create(
        Client(
            provider=provider,
            legal_name=f"Bulk {i % 7} Ltd",  # ties on the sort's first field
            address="1 Example Road",
            country="CN",
            registration_number=make_uscc(900_000 + i),
            registration_number_normalised=make_uscc(900_000 + i),
            billing_email=f"bulk{i}@client.example",
            status=Client.Status.ACTIVE,
        )
        for i in range(start, start + n)
    )


def test_the_client_list_walked_by_its_next_links_shows_every_client_once(
    as_user, billing_staff, cm
):
    _bulk_clients(cm, 60)
    c = as_user(billing_staff)
    url, seen, pages = reverse("client_list") + "?status=active", [], 0
    while url:
        response = c.get(url)
        assert response.status_code == 200
        page = response.context["clients"]
        seen += [client.pk for client in page]
        pages += 1
        assert ("First page" in response.content.decode()) is (pages > 1)
        link = NEXT_LINK.search(response.content.decode())
        assert bool(link) is page.has_next()
        # The other query parameters stay in the link.
        url = reverse("client_list") + unescape(link.group(1)) if link else None
        if url:
            assert "status=active" in url
    expected = list(
        Client.objects.filter(provider=cm, status=Client.Status.ACTIVE)
        .order_by("legal_name", "pk")
        .values_list("pk", flat=True)
    )
    assert seen == expected and len(seen) == len(set(seen)) >= 60
    assert pages == 3


def test_an_api_list_walked_by_next_gives_every_row_once(api, billing_staff, cm):
    _bulk_clients(cm, 45)
    client = api(billing_staff)
    url, seen, previous = "/api/v1/clients/?page_size=7", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert set(response.data) == {"next", "previous", "results"}
        previous.append(response.data["previous"])
        seen += [row["id"] for row in response.data["results"]]
        url = response.data["next"]
    expected = list(Client.objects.filter(provider=cm).values_list("pk", flat=True))
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert previous[0] is None and all(previous[1:])
    assert "cursor" not in previous[1] and "page_size=7" in previous[1]


def test_the_api_page_size_is_capped_and_a_tampered_cursor_is_a_400(api, billing_staff, cm):
    _bulk_clients(cm, 210)
    client = api(billing_staff)
    assert len(client.get("/api/v1/clients/", {"page_size": 1000}).data["results"]) == 200

    response = client.get("/api/v1/clients/", {"cursor": "eyJ0YW1wZXJlZCI6MX0:abc"})

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "cursor"
    assert response.data["errors"][0]["code"] == "invalid_cursor"


def test_a_page_with_a_tampered_cursor_is_a_400_naming_it(as_user, billing_staff, cm):
    _bulk_clients(cm, 3)
    response = as_user(billing_staff).get(reverse("client_list"), {"page": "forged"})
    assert response.status_code == 400
    assert "page" in response.content.decode() and "cursor" in response.content.decode()


def _queries(c, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = c.get(url, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries), response


@pytest.mark.parametrize(
    ("url_name", "context_name"),
    [("client_list", "clients"), ("billing:invoices", "invoices")],
)
def test_a_list_page_costs_the_same_queries_for_10_and_60_rows_and_at_any_depth(
    as_user, billing_staff, cm, url_name, context_name
):
    def grow(n):
        for _ in range(n):
            client = ClientFactory(provider=cm)
            Invoice.objects.create(
                client=client, provider=cm, currency="CNY", created_at=timezone.now()
            )

    c = as_user(billing_staff)
    url = reverse(url_name)
    grow(10)
    c.get(url)  # warm the session and the per-process caches
    small, _ = _queries(c, url)
    grow(50)
    first, response = _queries(c, url)
    cursor = response.context[context_name].next_cursor
    assert cursor
    deep, response = _queries(c, url, {"page": cursor})
    deeper, _ = _queries(c, url, {"page": response.context[context_name].next_cursor})

    assert small == first == deep == deeper


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def _deep_page_query(queryset, per_page=25):
    """The query of the page after the 40th row: what a deep page runs."""
    paginator = KeysetPaginator(queryset, per_page)
    cursor_row = list(paginator.queryset[40:41])[0]
    values = paginator.decode(paginator.encode(cursor_row))
    return paginator.queryset.filter(_after(paginator.keys, values))[: per_page + 1]


def _assert_index_walk(plan: str, *indexes: str) -> None:
    assert any(f"using {index} on" in plan for index in indexes), plan
    assert not re.search(r"\bSort\b", plan), plan  # rows come in index order, none sorted


def test_the_staff_lists_walk_the_index_of_their_sort_order(billing_staff, cm, cx):
    # given a few thousand rows and staff of one provider
    _bulk_clients(cm, 1500)
    _bulk_clients(cx, 1500, start=5000)
    owner = Client.objects.filter(provider=cm).first()
    start = timezone.now() - dt.timedelta(days=30)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"r{i}",
            client=owner,
            channel="sms",
            message_count=1,
            amount=Decimal("0.05"),
            currency="CNY",
            prepaid=False,
            occurred_at=start + dt.timedelta(seconds=i // 3),  # ties on the first field
        )
        for i in range(3000)
    )
    Invoice.objects.bulk_create(
        Invoice(
            client=owner,
            provider=cm,
            currency="CNY",
            created_at=start + dt.timedelta(minutes=i // 2),
        )
        for i in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_client, billing_usagerecord, billing_invoice")

    # then each deep page reads its own index in order
    clients = account_selectors.client_list(filters={}, user=billing_staff)
    # (staff of one provider walk (provider, legal_name, id); of both, (legal_name, id))
    _assert_index_walk(
        _plan(_deep_page_query(clients)), "client_provider_list_idx", "client_list_idx"
    )

    usage = prepaid_selectors.usage_record_list(user=billing_staff)
    _assert_index_walk(_plan(_deep_page_query(usage)), "usage_list_idx")

    invoices = invoicing_selectors.staff_invoice_list(user=billing_staff)
    _assert_index_walk(_plan(_deep_page_query(invoices)), "invoice_staff_list_idx")


def test_the_schema_says_lists_are_keyset_pages(tmp_path):
    from io import StringIO

    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), stdout=StringIO())
    schema = yaml.safe_load(target.read_text())
    operation = schema["paths"]["/api/v1/clients/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["cursor"]["schema"] == {"type": "string"}
    assert params["page_size"]["schema"]["maximum"] == 200
    assert "page" not in params
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"next", "previous", "results"}
    assert page["properties"]["next"]["nullable"] is True

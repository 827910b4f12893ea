"""The kernel's keyset pages: every row once in the queryset's own order, at any depth, with an
opaque cursor that refuses tampering (issue 16 §2)."""

import base64
import datetime as dt
import json

import pytest
from django.db.models import F
from django.db.models.functions import Coalesce
from django.test import RequestFactory
from django.utils import timezone

from accounts.kernel.keyset import InvalidCursor, KeysetPaginator, keyset_page, sort_keys
from accounts.kernel.pages import paginate
from accounts.models import ChangeRequest, Client
from tests.accounts.factories import ClientFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def walk(queryset, per_page):
    """Every page of `queryset` from the first to the last, as lists of pks."""
    paginator = KeysetPaginator(queryset, per_page)
    pages, cursor = [], None
    while True:
        page = paginator.page(cursor)
        pages.append([row.pk for row in page])
        assert page.has_previous() is bool(cursor)
        if not page.has_next():
            assert page.next_cursor is None
            return pages
        cursor = page.next_cursor


def in_python_order(rows, ordering):
    """The pks of `rows` sorted as `ordering` says, ties broken by pk in the last direction."""
    keys = list(ordering)
    if keys[-1].lstrip("-") != "pk":
        keys.append("-pk" if keys[-1].startswith("-") else "pk")
    ordered = list(rows)
    for key in reversed(keys):  # stable sorts, least significant key first
        path = key.lstrip("-").split("__")

        def value(row, path=path):
            for part in path:
                row = getattr(row, part)
            return row

        ordered.sort(key=value, reverse=key.startswith("-"))
    return [row.pk for row in ordered]


@pytest.fixture
def clients(cm, cx):
    """Eleven clients whose names and creation times tie in groups of three: the order is
    decided by the pk within a tie."""
    made = []
    for n in range(11):
        made.append(
            ClientFactory(
                provider=cm if n % 2 else cx,
                legal_name=f"Tie {n // 3} Ltd",
                # Microseconds apart within a group: a cursor must keep full precision.
                created_at=T0 + dt.timedelta(hours=n // 3, microseconds=n % 3),
            )
        )
    return made


@pytest.mark.parametrize(
    "ordering",
    [
        ("legal_name",),
        ("-legal_name",),
        ("-created_at", "-pk"),
        ("created_at",),
        ("legal_name", "-created_at"),  # mixed directions
        ("-legal_name", "created_at", "pk"),
        ("provider__code", "-legal_name"),  # a related field
        ("-provider__code", "created_at", "-pk"),
    ],
)
@pytest.mark.parametrize("per_page", [1, 2, 3, 4, 11, 50])
def test_walking_every_page_gives_every_row_once_in_order(clients, ordering, per_page):
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).order_by(*ordering)

    pages = walk(queryset, per_page)

    rows = [pk for page in pages for pk in page]
    assert rows == in_python_order(clients, ordering)
    assert len(rows) == len(set(rows)) == 11
    assert all(len(page) == per_page for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= per_page


def test_a_page_fetches_one_row_more_than_it_shows_and_never_counts(
    clients, django_assert_num_queries
):
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).order_by("legal_name")
    first = keyset_page(queryset, per_page=4, cursor=None)
    with django_assert_num_queries(1) as captured:
        second = keyset_page(queryset, per_page=4, cursor=first.next_cursor)
    sql = captured.captured_queries[0]["sql"].upper()
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert "LIMIT 5" in sql
    assert len(second) == 4 and second.has_next() and second.has_previous()


def test_the_last_page_has_no_next(clients):
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).order_by("pk")
    first = keyset_page(queryset, per_page=11, cursor=None)
    assert len(first) == 11 and not first.has_next() and first.next_cursor is None
    assert not first.has_previous()
    empty = keyset_page(Client.objects.none().order_by("pk"), per_page=5, cursor=None)
    assert list(empty) == [] and not empty.has_next()


def test_pk_is_appended_in_the_direction_of_the_last_field(clients):
    assert [k.label for k in sort_keys(Client.objects.order_by("-created_at"))] == [
        "-created_at",
        "-pk",
    ]
    assert [k.label for k in sort_keys(Client.objects.order_by("legal_name"))] == [
        "legal_name",
        "pk",
    ]
    # The model's own ordering when the queryset names none.
    assert [k.label for k in sort_keys(Client.objects.all())] == ["legal_name", "pk"]
    # A unique field ends the key: what follows it cannot change the order.
    assert [k.label for k in sort_keys(Client.objects.order_by("-id", "legal_name"))] == ["-id"]


def test_a_nullable_sort_field_is_refused_unless_coalesced(clients):
    with pytest.raises(ValueError, match="approved_at"):
        KeysetPaginator(Client.objects.order_by("-approved_at"), 10)
    with pytest.raises(ValueError, match="decided_by"):
        # A nullable relation on the way makes the related value nullable too.
        KeysetPaginator(ChangeRequest.objects.order_by("decided_by__email"), 10)
    with pytest.raises(ValueError):
        KeysetPaginator(Client.objects.order_by(F("approved_at").desc(nulls_last=True)), 10)

    Client.objects.filter(pk=clients[0].pk).update(approved_at=None)
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).annotate(
        approved_or_created=Coalesce("approved_at", "created_at")
    )
    pages = walk(queryset.order_by("-approved_or_created"), 3)
    assert sorted(pk for page in pages for pk in page) == sorted(c.pk for c in clients)


def test_an_unordered_queryset_is_refused(cm):
    from dataprocessing.models import ProcessingRecord

    with pytest.raises(ValueError, match="order"):
        KeysetPaginator(ProcessingRecord.objects.order_by(), 10)


def _forge(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda good: good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),  # signature
        lambda good: _forge(["Tie 0 Ltd", 1]) + ":" + good.split(":")[-1],  # body swapped
        lambda good: _forge(["Tie 0 Ltd", 1]),  # unsigned
        lambda good: "not a cursor at all",
        lambda good: "x" * 5000,
        lambda good: good + ":extra",
    ],
)
def test_a_tampered_cursor_is_refused_naming_the_parameter(clients, mangle):
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).order_by("legal_name")
    good = keyset_page(queryset, per_page=2, cursor=None).next_cursor

    with pytest.raises(InvalidCursor) as refused:
        keyset_page(queryset, per_page=2, cursor=mangle(good), param="cursor")

    assert refused.value.field == "cursor"
    assert refused.value.code == "invalid_cursor"


def test_a_cursor_of_another_list_is_refused(clients):
    by_name = Client.objects.order_by("legal_name")
    by_date = Client.objects.order_by("-created_at")
    cursor = keyset_page(by_name, per_page=2, cursor=None).next_cursor
    with pytest.raises(InvalidCursor):
        keyset_page(by_date, per_page=2, cursor=cursor)


def test_a_cursor_of_the_right_shape_but_wrong_type_is_refused(clients, settings):
    from django.core import signing

    queryset = Client.objects.order_by("-created_at")
    paginator = KeysetPaginator(queryset, 2)
    forged = signing.dumps(["yesterday", 1], salt=paginator._salt)
    with pytest.raises(InvalidCursor):
        paginator.page(forged)
    with pytest.raises(InvalidCursor):
        paginator.page(signing.dumps([timezone.now().isoformat()], salt=paginator._salt))


def test_paginate_reads_the_cursor_from_its_parameter_and_keeps_lists_numbered(clients):
    queryset = Client.objects.filter(pk__in=[c.pk for c in clients]).order_by("legal_name")
    first = paginate(RequestFactory().get("/"), queryset, per_page=5, param="p")
    second = paginate(RequestFactory().get("/", {"p": first.next_cursor}), queryset, 5, "p")
    assert [c.pk for c in second] == list(queryset.values_list("pk", flat=True))[5:10]
    with pytest.raises(InvalidCursor) as refused:
        paginate(RequestFactory().get("/", {"p": "tampered"}), queryset, 5, "p")
    assert refused.value.field == "p"

    listed = paginate(RequestFactory().get("/", {"p": "2"}), list(range(12)), 5, "p")
    assert list(listed) == [5, 6, 7, 8, 9] and listed.next_cursor == "3"


def test_a_foreign_key_column_is_not_taken_for_a_unique_key(clients):
    from accounts.models import Agreement

    # Many clients share a provider: its id is no tie-breaker, so pk is appended.
    assert [k.label for k in sort_keys(Client.objects.order_by("provider_id"))] == [
        "provider_id",
        "pk",
    ]
    # A sort on the relation is on the related model's ordering, as in Django.
    assert [k.label for k in sort_keys(Client.objects.order_by("-provider"))] == [
        "-provider__code",
        "-pk",
    ]
    # A one-to-one column is unique on its own.
    assert [k.label for k in sort_keys(Agreement.objects.order_by("client_id"))] == ["client_id"]

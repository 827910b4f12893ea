"""Keyset ("seek") pagination: every list, page and API, costs the same at any depth.

A page is the first `per_page` rows after the last row of the page before, found with a
lexicographic WHERE on the list's sort order (whose last field is unique, so no row is skipped
or shown twice), never with OFFSET, and never with an exact COUNT: on a provider's database a
list holds millions of rows and counting them is the slowest part of the page (issue 16 §2).
The sort order has an index in each app's `*_list_indexes` migration, so a page reads
`per_page + 1` index entries.

The cursor is opaque: URL-safe base64 of the JSON of the last row's sort values, signed with
the project's key and salted with the model and the sort order, so a tampered cursor, or one
from another list, is refused as `InvalidCursor` (400, naming `cursor`), never a 500. Values
come back typed through the model fields' `to_python`.

Nullable sort columns are refused when the paginator is built: NULL compares to nothing, so
the rows with NULL would never be reached. A list that sorts on one coalesces it in an
annotation (`Coalesce("answered_at", "created_at")`) and sorts on that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Model, OrderBy, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.kernel.errors import ValidationFailed

_T = TypeVar("_T")

# A cursor carries a handful of values; anything longer is not one of ours.
MAX_CURSOR_LENGTH = 1000


class InvalidCursor(ValidationFailed):
    """A cursor that this list did not hand out (edited, truncated, or of another list)."""

    def __init__(self, param: str = "cursor") -> None:
        super().__init__(
            {
                param: [
                    "This cursor is not a position in this list (it was changed, or it belongs "
                    "to another list); start again from the first page."
                ]
            }
        )
        self.code = "invalid_cursor"


@dataclass(frozen=True)
class SortKey:
    """One field of the sort order: its lookup path, direction and model field (for typing)."""

    name: str
    descending: bool
    field: Any  # a model field (its to_python types the cursor's value)

    @property
    def label(self) -> str:
        return f"-{self.name}" if self.descending else self.name


def _order_items(queryset: QuerySet[Any]) -> list[Any]:
    query = queryset.query
    if query.order_by:
        return list(query.order_by)
    ordering = query.get_meta().ordering
    if query.default_ordering and ordering:
        return list(ordering)
    raise ValueError(
        f"A keyset page needs an ordered queryset: {queryset.model.__name__} has no order_by."
    )


def _parse_item(item: Any) -> tuple[str, bool]:
    if isinstance(item, str):
        if item == "?" or "." in item:
            raise ValueError(f"A keyset page cannot sort on {item!r}.")
        return item.removeprefix("-"), item.startswith("-")
    if isinstance(item, F):
        return str(getattr(item, "name")), False  # noqa: B009 (untyped in the stubs)
    if isinstance(item, OrderBy) and isinstance(item.expression, F):
        name = str(getattr(item.expression, "name"))  # noqa: B009
        if item.nulls_first or item.nulls_last:
            raise ValueError(f"{name}: NULL has no place in a keyset; coalesce it instead.")
        return name, item.descending
    raise ValueError(f"A keyset page sorts on named fields or annotations, not {item!r}.")


def _resolve(queryset: QuerySet[Any], name: str) -> tuple[Any, bool, bool]:
    """The field behind `name`, whether it may be NULL, and whether it is unique on its own."""
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        output = annotation.output_field
        nullable = output.null and not isinstance(annotation, Coalesce)
        return output, nullable, False
    model: Any = queryset.model
    parts = name.split("__")
    nullable = unique = False
    field: Any = None
    for index, part in enumerate(parts):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            raise ValueError(f"{model.__name__} has no field {part!r} ({name!r}).") from None
        nullable = nullable or bool(getattr(field, "null", False))
        # Unique on its own: the pk, or a unique non-null column of the listed model itself
        # (a foreign key's target is the other model's pk, which repeats here).
        unique = len(parts) == 1 and (field.primary_key or (field.unique and not field.null))
        if field.is_relation:
            if index == len(parts) - 1:
                field = field.target_field
                break
            model = field.related_model
    assert field is not None
    return field, nullable, unique


def _expand(queryset: QuerySet[Any], name: str, descending: bool) -> list[tuple[str, bool]]:
    """A sort on a relation is, as in Django, a sort on the related model's own ordering
    (`provider` is `provider__code`), else on its id."""
    if name in queryset.query.annotations:
        return [(name, descending)]
    model: Any = queryset.model
    field: Any = None
    for part in name.split("__"):
        if part == "pk":
            return [(name, descending)]
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return [(name, descending)]  # _resolve names the missing field
        if field.is_relation:
            model = field.related_model
    if field is None or not field.is_relation or not model._meta.ordering:
        return [(name, descending)]
    if name.split("__")[-1] == getattr(field, "attname", None) != field.name:
        # `client_id` is the column itself, as Django orders it.
        return [(name, descending)]
    expanded: list[tuple[str, bool]] = []
    for item in model._meta.ordering:
        sub, sub_descending = _parse_item(item)
        expanded.append((f"{name}__{sub}", sub_descending != descending))
    return expanded


def sort_keys(queryset: QuerySet[Any]) -> list[SortKey]:
    """The sort order of `queryset` as keys, ending with a unique one (`pk` is appended in the
    last field's direction, matching an index such as `(-created_at, -id)`).

    Raises ValueError for a nullable sort field (coalesce it) or an unordered queryset.
    """
    keys: list[SortKey] = []
    for item in _order_items(queryset):
        for name, descending in _expand(queryset, *_parse_item(item)):
            field, nullable, unique = _resolve(queryset, name)
            if nullable:
                raise ValueError(
                    f"{queryset.model.__name__}: sort field {name!r} may be NULL; a keyset page "
                    "would never reach those rows. Coalesce it in an annotation and sort on that."
                )
            keys.append(SortKey(name, descending, field))
            if unique:
                return keys
    descending = keys[-1].descending if keys else False
    keys.append(SortKey("pk", descending, queryset.model._meta.pk))
    return keys


def _jsonable(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder would cut microseconds, and with them the order of
    # rows created in the same millisecond.
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


def _row_value(row: Any, key: SortKey) -> Any:
    if isinstance(row, dict):
        return row[key.name]
    if key.name == "pk":
        return row.pk
    value = row
    for part in key.name.split("__"):
        value = value.pk if part == "pk" else getattr(value, part)
    # A sort on a foreign key itself is a sort on its id.
    return value.pk if isinstance(value, Model) else value


def _after(keys: list[SortKey], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order of `keys`: (a, b, c) > (x, y, z) spelled per
    direction as a > x OR (a = x AND (b > y OR (b = y AND c > z))), led by a >= x so that the
    index on the order is scanned from the cursor on."""

    def beyond(index: int) -> Q:
        key, value = keys[index], values[index]
        q = Q(**{f"{key.name}__{'lt' if key.descending else 'gt'}": value})
        if index + 1 < len(keys):
            q |= Q(**{key.name: value}) & beyond(index + 1)
        return q

    first = keys[0]
    lead = Q(**{f"{first.name}__{'lte' if first.descending else 'gte'}": values[0]})
    return lead & beyond(0) if len(keys) > 1 else beyond(0)


class KeysetPage(Sequence[_T], Generic[_T]):
    """One page: its rows, whether there is a next one and its cursor. There is no page
    number and no total; `has_previous` means this is not the first page (a cursor was given),
    which the links show as "First page"."""

    def __init__(self, rows: list[_T], *, has_next: bool, next_cursor: str | None, cursor: str):
        self.object_list = rows
        self.has_next_page = has_next
        self.next_cursor = next_cursor
        self.cursor = cursor

    def has_next(self) -> bool:
        return self.has_next_page

    def has_previous(self) -> bool:
        return bool(self.cursor)

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index: Any) -> Any:
        return self.object_list[index]

    def __iter__(self) -> Iterator[_T]:
        return iter(self.object_list)

    def __repr__(self) -> str:
        return f"<KeysetPage of {len(self)} rows, has_next={self.has_next_page}>"


class KeysetPaginator(Generic[_T]):
    """Pages of `queryset` in its own order; construction checks the order (ValueError)."""

    def __init__(self, queryset: QuerySet[Any, _T], per_page: int, *, param: str = "cursor"):
        if per_page < 1:
            raise ValueError("per_page must be at least 1.")
        self.per_page = per_page
        self.param = param
        self.keys = sort_keys(queryset)
        # The SQL order is the key's, with its unique last field: ties have one order.
        self.queryset = queryset.order_by(*(key.label for key in self.keys))
        meta = queryset.model._meta
        self._salt = f"keyset:{meta.label}:{','.join(key.label for key in self.keys)}"

    def encode(self, row: Any) -> str:
        values = [_jsonable(_row_value(row, key)) for key in self.keys]
        return signing.dumps(values, salt=self._salt)

    def decode(self, cursor: str) -> list[Any]:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor(self.param)
        try:
            values = signing.loads(cursor, salt=self._salt)
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor(self.param) from None
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise InvalidCursor(self.param)
        try:
            return [
                key.field.to_python(value) for key, value in zip(self.keys, values, strict=True)
            ]
        except (ValidationError, TypeError, ValueError):
            raise InvalidCursor(self.param) from None

    def page(self, cursor: str | None) -> KeysetPage[_T]:
        queryset = self.queryset
        if cursor:
            queryset = queryset.filter(_after(self.keys, self.decode(cursor)))
        rows = list(queryset[: self.per_page + 1])
        has_next = len(rows) > self.per_page
        rows = rows[: self.per_page]
        return KeysetPage(
            rows,
            has_next=has_next,
            next_cursor=self.encode(rows[-1]) if has_next else None,
            cursor=cursor or "",
        )


def keyset_page(
    queryset: QuerySet[Any, _T], *, per_page: int, cursor: str | None, param: str = "cursor"
) -> KeysetPage[_T]:
    """One keyset page of `queryset` after `cursor` (None or "" for the first page)."""
    return KeysetPaginator(queryset, per_page, param=param).page(cursor)

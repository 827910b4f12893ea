"""The API's pagination: the kernel's keyset cursor (accounts.kernel.keyset), the same on
every list endpoint. A response is `{"next", "previous", "results"}`: no page numbers and no
`count`, because an exact count of millions of rows costs more than the page (issue 16 §2).
`previous` is the first page, given whenever a cursor was."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.kernel.keyset import KeysetPage, keyset_page

MAX_PAGE_SIZE = 200


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        default = int(api_settings.PAGE_SIZE or 50)
        raw = request.query_params.get(self.page_size_query_param)
        try:
            size = int(raw) if raw is not None else default
        except ValueError:
            size = default
        if size < 1:
            size = default
        return min(size, self.max_page_size)

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        if not isinstance(queryset, QuerySet):
            # A list has no keyset; cutting it silently would lose rows.
            raise TypeError("An API list is a queryset, keyset-paginated in its own order.")
        self.page: KeysetPage[Any] = keyset_page(
            queryset,
            per_page=self.get_page_size(request),
            cursor=request.query_params.get(self.cursor_query_param) or None,
            param=self.cursor_query_param,
        )
        return self.page.object_list

    def get_next_link(self) -> str | None:
        if not self.page.next_cursor:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.page.next_cursor)

    def get_previous_link(self) -> str | None:
        if not self.page.has_previous():
            return None
        return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "the next page (its cursor in `cursor`); null on the last",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "the first page, when this one was asked for with a cursor",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "the opaque position from a `next` link; absent for the first page",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"rows per page, at most {self.max_page_size}",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

"""The wire format's pages: ``page`` (0-based), ``size``; ``{page, totalPages, totalItems, has*, is*, items}``."""

import math

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from iam.errors import InvalidInput

MAX_PAGE_SIZE = 100


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput.field(name, "must be an integer") from None
    if not low <= value <= high:
        raise InvalidInput.field(name, f"must be between {low} and {high}")
    return value


class NcpPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.page = _int_param(request, "page", 0, 0, 1_000_000)
        self.size = _int_param(request, "size", 10, 1, MAX_PAGE_SIZE)
        start = self.page * self.size
        # One row more than the page shows whether another page follows. When none does, the total is the rows
        # before this page plus the rows on it, and COUNT(*) (a second statement, about as dear as the page) is
        # spared: a list that fits on its first page, or the last page of a longer one. Past the end (no row on a
        # later page) or with rows after this page, the total is counted as before.
        rows = list(queryset[start : start + self.size + 1])
        if len(rows) <= self.size and (rows or self.page == 0):
            self.total = start + len(rows)
        else:
            self.total = queryset.count()
        return rows[: self.size]

    def get_paginated_response(self, data):
        total_pages = max(1, math.ceil(self.total / self.size)) if self.total else 0
        return Response(
            {
                "page": self.page,
                "totalPages": total_pages,
                "totalItems": self.total,
                "hasPrevious": self.page > 0,
                "hasNext": self.page + 1 < total_pages,
                "isFirst": self.page == 0,
                "isLast": self.page + 1 >= total_pages,
                "items": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "page": {"type": "integer"},
                "totalPages": {"type": "integer"},
                "totalItems": {"type": "integer"},
                "hasPrevious": {"type": "boolean"},
                "hasNext": {"type": "boolean"},
                "isFirst": {"type": "boolean"},
                "isLast": {"type": "boolean"},
                "items": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 0}},
            {"name": "size", "in": "query", "required": False, "schema": {"type": "integer", "default": 10}},
        ]

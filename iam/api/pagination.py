"""The wire format's pages: ``page`` (0-based), ``size``; ``{page, totalPages, totalItems, has*, is*, items}``."""

import math
import threading

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models.query import ModelIterable
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


class CompiledList:
    """A list's query, compiled to SQL once and run with another account's id: what the paginator slices and counts.

    Compiling an ORM query (and building its rows through the ORM's iterator) cost about twice as much as running
    it. A list read with no filter is a view's own queryset narrowed to the caller's account by ``for_account`` and
    nothing more (iam.querysets marks exactly that); its SQL then depends on that queryset and the account's id
    alone, the id being its one parameter. The SQL is kept per queryset, and a page is that SQL with the ORM's own
    LIMIT/OFFSET, its rows read with the same converters into the same model instances (``Model.from_db``).
    ``count()`` is the ORM's.
    """

    # (the base queryset's tenancy token, database alias) -> template or None.
    _templates: dict = {}
    _lock = threading.Lock()

    def __init__(self, queryset, template, account_id):
        self.queryset = queryset
        self.sql, self.model, self.attnames, self.converters = template
        self.params = (account_id,)

    @classmethod
    def of(cls, token, queryset, account_id):
        """The compiled list of ``queryset`` (a base queryset's ``for_account(...)``, named by its tenancy token,
        possibly without its select_related), or None where the ORM must run it (a shape this does not read)."""
        key = (token, queryset.db)
        try:
            template = cls._templates[key]
        except KeyError:
            template = cls._compile(queryset, account_id)
            with cls._lock:
                template = cls._templates.setdefault(key, template)
        return None if template is None else cls(queryset, template, account_id)

    @staticmethod
    def _compile(queryset, account_id):
        """The SQL and row reader of a plain model query whose one parameter is the caller's account id; None for
        anything else (related objects, prefetches, annotations, a slice, other parameters)."""
        query = queryset.query
        if (
            queryset._iterable_class is not ModelIterable
            or queryset._prefetch_related_lookups
            or queryset._known_related_objects
            or query.select_related
            or query.is_sliced
            or query.combinator
            or query.select_for_update
        ):
            return None
        compiler = query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql(with_limits=False)
        except EmptyResultSet:
            return None
        if tuple(params) != (account_id,) or compiler.annotation_col_map:
            return None
        columns = [expression for expression, _sql, _alias in compiler.select]
        klass_info = compiler.klass_info or {}
        if klass_info.get("model") is not queryset.model or klass_info.get("select_fields") != list(
            range(len(columns))
        ):
            return None
        attnames = [column.target.attname for column in columns]
        return sql, queryset.model, attnames, list(compiler.get_converters(columns).items())

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list:
        connection = connections[self.queryset.db]
        sql = f"{self.sql} {connection.ops.limit_offset_sql(window.start, window.stop)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            rows = cursor.fetchall()
        alias, model, attnames, converters = self.queryset.db, self.model, self.attnames, self.converters
        page = []
        for row in rows:
            values = list(row)
            for position, (functions, expression) in converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            page.append(model.from_db(alias, attnames, values))
        return page

"""List filters (django-filter) and the wire format's ``searchColumn``/``searchWord`` search."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import BaseFilterBackend

from iam.errors import InvalidInput
from iam.models import AuditEvent, Group, Policy, Role, Server, SubAccount


def StrictBooleanFilter(**kwargs) -> django_filters.TypedChoiceFilter:  # noqa: N802 (reads like a filter class)
    """``true``/``false`` only: anything else is a 400 naming the parameter, never a silently unfiltered list."""
    return django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true", **kwargs
    )


class SubAccountFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter()
    canAPIGatewayAccess = StrictBooleanFilter(field_name="can_api_gateway_access")
    canConsoleAccess = StrictBooleanFilter(field_name="can_console_access")
    groupId = django_filters.UUIDFilter(field_name="groups__group_id")

    class Meta:
        model = SubAccount
        fields = ["active", "canAPIGatewayAccess", "canConsoleAccess", "groupId"]


class GroupFilterSet(django_filters.FilterSet):
    class Meta:
        model = Group
        fields = []


class PolicyFilterSet(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(field_name="policy_type", choices=Policy.TYPE_CHOICES)

    class Meta:
        model = Policy
        fields = ["type"]


class RoleFilterSet(django_filters.FilterSet):
    roleType = django_filters.ChoiceFilter(field_name="role_type", choices=Role.TYPE_CHOICES)
    active = StrictBooleanFilter()

    class Meta:
        model = Role
        fields = ["roleType", "active"]


class ServerFilterSet(django_filters.FilterSet):
    roleNo = django_filters.CharFilter(field_name="role__role_no", max_length=40)
    hasRole = django_filters.BooleanFilter(field_name="role", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Server
        fields = ["roleNo", "hasRole"]


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time turned into UTC here: an offset PostgreSQL cannot store (past ±15:59) or a time that leaves
    the calendar once converted (9999-12-31T23:59-01:00) is a 400 on the field, not a database error."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return value
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("is outside the years 1 to 9999 once converted to UTC", code="invalid") from None
        if not 1 <= value.year <= 9998:
            raise ValidationError("must be between the years 1 and 9998", code="invalid")
        return value


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AuditEventFilterSet(django_filters.FilterSet):
    """``from`` (inclusive) and ``to`` (exclusive) are ISO 8601 times, so consecutive windows never overlap;
    ``actor``, ``action`` and ``resource`` match exactly; ``result`` is Success, Failed or Denied."""

    # ``from`` is a Python keyword: declared through the class namespace.
    locals()["from"] = UtcIsoDateTimeFilter(
        field_name="time", lookup_expr="gte", label="Events at or after this ISO 8601 time"
    )
    to = UtcIsoDateTimeFilter(field_name="time", lookup_expr="lt", label="Events before this ISO 8601 time")
    actor = django_filters.CharFilter()
    action = django_filters.CharFilter()
    resource = django_filters.CharFilter()
    result = django_filters.ChoiceFilter(choices=AuditEvent.RESULT_CHOICES)

    class Meta:
        model = AuditEvent
        fields = ["from", "to", "actor", "action", "resource", "result"]


class NcpFilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the form when the request names none of the view's filters.

    With no filter parameter an unrequired filter's form field is empty and every filter returns the queryset as it
    is, so building, validating and applying the form (about a tenth of a list read) changes nothing: skip it. A
    parameter that is present, even empty or invalid, goes through the FilterSet as before (so its 400 is unchanged).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not _names_a_filter(filterset_class, request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


def _names_a_filter(filterset_class, params) -> bool:
    """Whether the query parameters may set one of the FilterSet's form fields (or it has a required filter).

    A filter's form field reads its own name, and a multi-value widget reads ``<name>_<suffix>``: both count."""
    names = filterset_class.__dict__.get("_ncp_filter_names")
    if names is None:
        filters = filterset_class.base_filters
        if any(f.extra.get("required") for f in filters.values()):
            names = True  # the empty form is not valid: always validate
        else:
            names = tuple(filters)
        filterset_class._ncp_filter_names = names
    if names is True:
        return True
    return any(key == name or key.startswith(name + "_") for key in params for name in names)


class NcpSearchFilter(BaseFilterBackend):
    """``searchColumn`` names one of the view's ``search_columns``; ``searchWord`` is matched case-insensitively."""

    def filter_queryset(self, request, queryset, view):
        column = request.query_params.get("searchColumn")
        word = request.query_params.get("searchWord")
        if not word:
            return queryset
        columns = getattr(view, "search_columns", {})
        if not column:
            column = next(iter(columns), None)
        if column not in columns:
            raise InvalidInput.field("searchColumn", f"one of {', '.join(columns)}")
        return queryset.filter(**{f"{columns[column]}__icontains": word})

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "searchColumn",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(getattr(view, "search_columns", {}))},
            },
            {"name": "searchWord", "in": "query", "required": False, "schema": {"type": "string"}},
        ]

"""The audit trail of the caller's account (an extension: NCP has no audit trail API)."""

from rest_framework import mixins

from iam.api import serializers as s
from iam.api.filtersets import AuditEventFilterSet
from iam.api.views.base import AccountScopedViewSet
from iam.models import AuditEvent


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Recorded changes, secret issues and denied requests of the caller's account, newest first; read only."""

    queryset = AuditEvent.objects.order_by("-time", "-id")
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilterSet
    lookup_field = "pk"
    lookup_url_kwarg = "eventId"
    lookup_value_regex = "[0-9]+"
    lookup_is_uuid = False
    entity_name = "audit event"
    search_columns = {"action": "action", "resource": "resource", "actor": "actor"}

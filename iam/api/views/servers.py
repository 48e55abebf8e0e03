"""The server inventory (servers a Server role can be attached to)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import ServerFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.models import Server
from iam.policy import nrn
from iam.policy.request import Request
from iam.services import servers as services


class ServerViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """Registered servers: name, instance number, private and public address, tags, and the role they have."""

    queryset = Server.objects.select_related("account", "role")
    serializer_class = s.ServerSerializer
    filterset_class = ServerFilterSet
    lookup_field = "server_instance_no"
    lookup_url_kwarg = "serverInstanceNo"
    lookup_is_uuid = False
    entity_name = "server"
    search_columns = {"serverName": "name", "serverInstanceNo": "server_instance_no"}

    def _audit(self, request, response, requests, after_rollback: bool = False) -> None:
        # A registration names no resource before it exists: record it under the new server's NRN.
        if self.action == "create" and response.status_code < 400 and isinstance(response.data, dict):
            created = nrn.server_nrn(request.user.member_no, response.data.get("id"))
            requests = [Request(r.product, r.action, r.resource or created) for r in requests]
        super()._audit(request, response, requests, after_rollback)

    @extend_schema(request=s.ServerWriteSerializer, responses=s.ServerCreatedSerializer)
    def create(self, request):
        server, token = services.server_create(
            account=self.account, with_metadata_token=True, **valid_data(s.ServerWriteSerializer, request)
        )
        request.audit_detail = {"metadataToken": "issued"}
        return process_result(server.server_instance_no, metadataToken=token)

    @extend_schema(responses=s.ServerSerializer)
    def retrieve(self, request, serverInstanceNo=None):
        return Response(s.ServerSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=s.ServerUpdateSerializer, responses=s.ProcessResultSerializer)
    def update(self, request, serverInstanceNo=None):
        server = self.get_object()
        services.server_update(server=server, **valid_data(s.ServerUpdateSerializer, request, partial=True))
        return process_result(server.server_instance_no)

    @extend_schema(responses=s.ProcessResultSerializer)
    def destroy(self, request, serverInstanceNo=None):
        server = self.get_object()
        services.server_delete(server=server)
        return process_result(server.server_instance_no)

    @extend_schema(request=None, responses=s.ServerCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="metadata-token")
    def metadata_token(self, request, serverInstanceNo=None):
        server = self.get_object()
        token = services.server_metadata_token_reset(server=server)
        request.audit_detail = {"metadataToken": "issued"}
        return process_result(server.server_instance_no, metadataToken=token)

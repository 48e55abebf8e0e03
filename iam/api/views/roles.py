"""Roles and their policies."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import RoleFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.models import PolicyAttachment, Role
from iam.services import policies as policy_services
from iam.services import roles as services


class RoleViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """Roles (Server, Account, Service; Single Sign-On roles come from Ncloud Single Sign-On) and their policies."""

    queryset = Role.objects.select_related("account")
    serializer_class = s.RoleSerializer
    filterset_class = RoleFilterSet
    lookup_field = "role_no"
    lookup_url_kwarg = "roleNo"
    lookup_is_uuid = False
    entity_name = "role"
    audit_resource_type = "Role"
    search_columns = {"roleName": "name"}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("policy_attachments", PolicyAttachment.objects.select_related("policy"))
            )
        return queryset

    @extend_schema(request=s.RoleWriteSerializer, responses=s.ProcessResultSerializer)
    def create(self, request):
        role = services.role_create(account=self.account, **valid_data(s.RoleWriteSerializer, request))
        return process_result(role.role_no)

    @extend_schema(responses=s.RoleDetailSerializer)
    def retrieve(self, request, roleNo=None):
        return Response(s.RoleDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=s.RoleUpdateSerializer, responses=s.ProcessResultSerializer)
    def update(self, request, roleNo=None):
        role = self.get_object()
        changes = valid_data(s.RoleUpdateSerializer, request, partial=True)
        if "roleType" in request.data:
            # Not a changeable field, but a caller who sends a different type must hear that it was not applied.
            changes["role_type"] = request.data["roleType"]
        services.role_update(role=role, **changes)
        return process_result(role.role_no)

    @extend_schema(responses=s.ProcessResultSerializer)
    def destroy(self, request, roleNo=None):
        role = self.get_object()
        services.role_delete(role=role)
        return process_result(role.role_no)

    @extend_schema(request=s.PolicyIdListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post", "delete"])
    def policies(self, request, roleNo=None):
        role = self.get_object()
        policy_ids = valid_data(s.PolicyIdListSerializer, request)["policyIdList"]
        request.audit_detail = {"policyIdList": policy_ids}
        if request.method == "POST":
            policy_services.policies_attach(target=role, policy_ids=policy_ids)
        else:
            policy_services.policies_detach(target=role, policy_ids=policy_ids)
        return process_result(role.role_no)

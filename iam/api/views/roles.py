"""Roles and their policies."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import RoleFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.errors import InvalidInput
from iam.models import PolicyAttachment, Role
from iam.selectors import role_account_targets, role_servers, role_service_targets, role_sso_assignments
from iam.services import policies as policy_services
from iam.services import roles as services


class RoleViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """Roles (Server, Account, Service; Single Sign-On roles come from Ncloud Single Sign-On), their policies and
    their targets under ``entities/``: servers of a Server role, main accounts of an Account role, services of a
    Service role."""

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

    # Targets ------------------------------------------------------------------------------------------------------

    def _role_of_type(self, role_type: str, what: str) -> Role:
        role = self.get_object()
        if role.role_type != role_type:
            raise InvalidInput.field("roleType", f"{what} are targets of {role_type} roles only, not {role.role_type}")
        return role

    @extend_schema(methods=["GET"], request=None, responses=s.RoleServerSerializer(many=True))
    @extend_schema(methods=["POST", "DELETE"], request=s.RoleServerListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["get", "post", "delete"], url_path="entities/servers")
    def entity_servers(self, request, roleNo=None):
        role = self._role_of_type(Role.SERVER, "servers")
        if request.method in ("GET", "HEAD"):
            return Response(s.RoleServerSerializer(role_servers(role=role), many=True).data)
        numbers = valid_data(s.RoleServerListSerializer, request)["serverInstanceNoList"]
        request.audit_detail = {"serverInstanceNoList": numbers}
        if request.method == "POST":
            services.role_servers_attach(role=role, server_instance_nos=numbers)
        else:
            services.role_servers_detach(role=role, server_instance_nos=numbers)
        return process_result(role.role_no)

    @extend_schema(methods=["GET"], request=None, responses=s.RoleAccountTargetSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.RoleAccountTargetWriteSerializer, responses=s.ProcessResultSerializer)
    @extend_schema(methods=["DELETE"], request=s.MemberNoListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["get", "post", "delete"], url_path="entities/accounts")
    def entity_accounts(self, request, roleNo=None):
        role = self._role_of_type(Role.ACCOUNT, "main accounts")
        if request.method in ("GET", "HEAD"):
            return Response(s.RoleAccountTargetSerializer(role_account_targets(role=role), many=True).data)
        if request.method == "POST":
            data = valid_data(s.RoleAccountTargetWriteSerializer, request)
            target = services.role_account_attach(
                role=role, account_name=data.get("accountName"), login_id=data.get("loginId"), own=data["own"]
            )
            request.audit_detail = {"memberNo": target.member_no}  # never the login ID used to verify it
            return process_result(role.role_no, memberNo=target.member_no)
        member_nos = valid_data(s.MemberNoListSerializer, request)["memberNoList"]
        request.audit_detail = {"memberNoList": member_nos}
        services.role_accounts_detach(role=role, member_nos=member_nos)
        return process_result(role.role_no)

    @extend_schema(methods=["GET"], request=None, responses=s.RoleServiceTargetSerializer(many=True))
    @extend_schema(methods=["POST", "DELETE"], request=s.RoleServiceListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["get", "post", "delete"], url_path="entities/services")
    def entity_services(self, request, roleNo=None):
        role = self._role_of_type(Role.SERVICE, "services")
        if request.method in ("GET", "HEAD"):
            return Response(s.RoleServiceTargetSerializer(role_service_targets(role=role), many=True).data)
        names = valid_data(s.RoleServiceListSerializer, request)["serviceList"]
        request.audit_detail = {"serviceList": names}
        if request.method == "POST":
            services.role_services_attach(role=role, services=names)
        else:
            services.role_services_detach(role=role, services=names)
        return process_result(role.role_no)

    @extend_schema(request=None, responses=s.RoleSsoAssignmentSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="entities/sso-assignments")
    def entity_sso_assignments(self, request, roleNo=None):
        """Read-only: Ncloud Single Sign-On makes these assignments (staff, in the admin, here)."""
        role = self._role_of_type(Role.SINGLE_SIGN_ON, "Single Sign-On assignments")
        return Response(s.RoleSsoAssignmentSerializer(role_sso_assignments(role=role), many=True).data)

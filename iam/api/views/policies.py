"""Policies, where they are attached, and validation of a document without saving it."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import PolicyFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.models import Policy
from iam.policy import document as policy_document
from iam.selectors import policy_resources
from iam.services import policies as services
from iam.services import simulation


class PolicyViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    queryset = Policy.objects.all()
    serializer_class = s.PolicySerializer
    filterset_class = PolicyFilterSet
    lookup_field = "policy_id"
    lookup_url_kwarg = "policyId"
    lookup_is_uuid = False
    entity_name = "policy"
    audit_resource_type = "Policy"
    search_columns = {"policyName": "name", "description": "description"}

    @extend_schema(request=s.PolicyWriteSerializer, responses=s.ProcessResultSerializer)
    def create(self, request):
        policy = services.policy_create(account=self.account, **valid_data(s.PolicyWriteSerializer, request))
        return process_result(policy.policy_id)

    @extend_schema(
        responses=s.PolicyDetailSerializer,
        parameters=[OpenApiParameter("withPermissions", bool, description="include the permissions (default false)")],
    )
    def retrieve(self, request, policyId=None):
        policy = self.get_object()
        with_permissions = request.query_params.get("withPermissions", "").lower() == "true"
        serializer_class = s.PolicyDetailSerializer if with_permissions else s.PolicySerializer
        return Response(serializer_class(policy, context=self.get_serializer_context()).data)

    @extend_schema(request=s.PolicyUpdateSerializer, responses=s.ProcessResultSerializer)
    def update(self, request, policyId=None):
        policy = self.get_object()
        services.policy_update(policy=policy, **valid_data(s.PolicyUpdateSerializer, request, partial=True))
        return process_result(policy.policy_id)

    @extend_schema(responses=s.ProcessResultSerializer)
    def destroy(self, request, policyId=None):
        policy = self.get_object()
        services.policy_delete(policy=policy)
        return process_result(policy.policy_id)

    @extend_schema(methods=["GET"], request=None, responses=s.PolicyResourcesSerializer)
    @extend_schema(methods=["DELETE"], request=s.PolicyResourcesDetachSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["get", "delete"])
    def resources(self, request, policyId=None):
        policy = self.get_object()
        if request.method in ("GET", "HEAD"):
            return Response(s.PolicyResourcesSerializer(policy_resources(policy=policy, account=self.account)).data)
        data = valid_data(s.PolicyResourcesDetachSerializer, request)
        services.policy_resources_detach(
            policy=policy,
            account=self.account,
            sub_account_ids=data.get("subAccountIdList") or (),
            group_ids=data.get("groupIdList") or (),
            role_nos=data.get("roleNoList") or (),
        )
        return process_result(policy.policy_id)


class PolicyValidationViewSet(AccountScopedViewSet):
    """POST /policy/validation: the findings for a document, nothing saved."""

    serializer_class = s.PolicyValidationResultSerializer

    @extend_schema(request=s.PolicyValidationSerializer, responses=s.PolicyValidationResultSerializer)
    def create(self, request):
        permissions = valid_data(s.PolicyValidationSerializer, request)["permissions"]
        findings = policy_document.findings(permissions)
        return Response({"valid": not any(f["severity"] == "ERROR" for f in findings), "findings": findings})


class PolicySimulationViewSet(AccountScopedViewSet):
    """POST /policy/simulation: for a sub account, a role or bare documents, each action on each resource."""

    serializer_class = s.PolicySimulationResultSerializer

    @extend_schema(request=s.PolicySimulationSerializer, responses=s.PolicySimulationResultSerializer)
    def create(self, request):
        data = valid_data(s.PolicySimulationSerializer, request)
        subject = simulation.find_subject(
            account=self.account,
            sub_account_id=data.get("subAccountId"),
            role_no=data.get("roleNo"),
            documents=data.get("policyDocuments"),
        )
        results = simulation.simulate(
            subject=subject,
            actions=simulation.parse_actions(data["actions"]),
            resources=data.get("resourceNrns") or ["*"],
            context=data.get("context") or {},
        )
        return Response({"results": results})

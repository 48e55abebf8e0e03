"""Groups, their members and their policies."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import GroupFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.models import Group, PolicyAttachment
from iam.services import groups as services
from iam.services import policies as policy_services


class GroupViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """Groups of sub accounts: at most 300 per account; members and attached policies."""

    queryset = Group.objects.select_related("account")
    serializer_class = s.GroupSerializer
    filterset_class = GroupFilterSet
    lookup_field = "group_id"
    lookup_url_kwarg = "groupId"
    entity_name = "group"
    audit_resource_type = "Group"
    search_columns = {"groupName": "name", "description": "description"}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "members", Prefetch("policy_attachments", PolicyAttachment.objects.select_related("policy"))
            )
        return queryset

    @extend_schema(request=s.GroupWriteSerializer, responses=s.ProcessResultSerializer)
    def create(self, request):
        group = services.group_create(account=self.account, **valid_data(s.GroupWriteSerializer, request))
        return process_result(group.group_id)

    @extend_schema(responses=s.GroupDetailSerializer)
    def retrieve(self, request, groupId=None):
        return Response(s.GroupDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=s.GroupUpdateSerializer, responses=s.ProcessResultSerializer)
    def update(self, request, groupId=None):
        group = self.get_object()
        services.group_update(group=group, **valid_data(s.GroupUpdateSerializer, request, partial=True))
        return process_result(group.group_id)

    @extend_schema(responses=s.ProcessResultSerializer)
    def destroy(self, request, groupId=None):
        group = self.get_object()
        services.group_delete(group=group)
        return process_result(group.group_id)

    @extend_schema(request=s.SubAccountIdListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post", "delete"], url_path="sub-accounts")
    def sub_accounts(self, request, groupId=None):
        group = self.get_object()
        ids = valid_data(s.SubAccountIdListSerializer, request)["subAccountIdList"]
        request.audit_detail = {"subAccountIdList": ids}
        if request.method == "POST":
            services.group_members_add(group=group, sub_account_ids=ids)
        else:
            services.group_members_remove(group=group, sub_account_ids=ids)
        return process_result(group.group_id)

    @extend_schema(request=s.PolicyIdListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post", "delete"])
    def policies(self, request, groupId=None):
        group = self.get_object()
        policy_ids = valid_data(s.PolicyIdListSerializer, request)["policyIdList"]
        request.audit_detail = {"policyIdList": policy_ids}
        if request.method == "POST":
            policy_services.policies_attach(target=group, policy_ids=policy_ids)
        else:
            policy_services.policies_detach(target=group, policy_ids=policy_ids)
        return process_result(group.group_id)

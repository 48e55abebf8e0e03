"""Sub accounts, their passwords, MFA, groups, policies and access keys."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.filtersets import SubAccountFilterSet
from iam.api.views.base import AccountScopedViewSet, process_result, valid_data
from iam.errors import InvalidInput
from iam.models import AccessKey, PolicyAttachment, SubAccount
from iam.services import policies as policy_services
from iam.services import signin
from iam.services import sub_accounts as services
from iam.services.validation import password_problems


class SubAccountViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    queryset = SubAccount.objects.select_related("account")
    serializer_class = s.SubAccountSerializer
    filterset_class = SubAccountFilterSet
    lookup_field = "sub_account_id"
    lookup_url_kwarg = "subAccountId"
    entity_name = "sub account"
    audit_resource_type = "SubAccount"
    search_columns = {"loginId": "login_id", "name": "name", "email": "email"}
    # Fields a create takes that PUT must refuse rather than silently ignore.
    not_updatable = {
        "loginId": "cannot be changed",
        "password": "change it with PUT /sub-accounts/{subAccountId}/password",
        "needPasswordGenerate": "use PUT /sub-accounts/{subAccountId}/password",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "groups", Prefetch("policy_attachments", PolicyAttachment.objects.select_related("policy"))
            )
        return queryset

    @extend_schema(request=s.SubAccountWriteSerializer, responses=s.SubAccountCreateResultSerializer)
    def create(self, request):
        data = valid_data(s.SubAccountWriteSerializer, request)
        sub_account, generated = services.sub_account_create(account=self.account, **data)
        if generated or data.get("password"):
            request.audit_detail = {"password": "generated" if generated else "set"}
        extra = {"generatedPassword": generated} if generated else {}
        return process_result(sub_account.sub_account_id, **extra)

    @extend_schema(responses=s.SubAccountDetailSerializer)
    def retrieve(self, request, subAccountId=None):
        return Response(s.SubAccountDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=s.SubAccountUpdateSerializer, responses=s.ProcessResultSerializer)
    def update(self, request, subAccountId=None):
        sub_account = self.get_object()
        if isinstance(request.data, dict):
            refused = [(f, m) for f, m in self.not_updatable.items() if f in request.data]
            if refused:
                raise InvalidInput("; ".join(f"{f}: {m}" for f, m in refused), field_errors=refused)
        services.sub_account_update(
            sub_account=sub_account, **valid_data(s.SubAccountUpdateSerializer, request, partial=True)
        )
        return process_result(sub_account.sub_account_id)

    @extend_schema(responses=s.ProcessResultSerializer)
    def destroy(self, request, subAccountId=None):
        sub_account = self.get_object()
        services.sub_account_delete(sub_account=sub_account)
        return process_result(sub_account.sub_account_id)

    @extend_schema(request=s.PasswordResetSerializer, responses=s.PasswordResetResultSerializer)
    @action(detail=True, methods=["put"])
    def password(self, request, subAccountId=None):
        data = valid_data(s.PasswordResetSerializer, request)
        generated = services.sub_account_password_reset(
            sub_account=self.get_object(),
            need_password_generate=data["needPasswordGenerate"],
            new_password=data.get("newPassword"),
        )
        request.audit_detail = {"password": "generated" if generated else "reset"}
        return Response({"success": True, **({"generatedPassword": generated} if generated else {})})

    @extend_schema(request=None, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post"], url_path="mfa/reset")
    def mfa_reset(self, request, subAccountId=None):
        sub_account = services.sub_account_mfa_reset(sub_account=self.get_object())
        return process_result(sub_account.sub_account_id)

    @extend_schema(responses=s.SubAccountMfaSerializer)
    @action(detail=True, methods=["get"], url_path="mfa")
    def mfa(self, request, subAccountId=None):
        """Whether MFA is mandatory and the methods registered (OTP: a TOTP app enrolled at console sign-in)."""
        return Response(s.SubAccountMfaSerializer(self.get_object()).data)

    @extend_schema(request=None, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request, subAccountId=None):
        """Lift the console sign-in lock that too many wrong passwords left."""
        sub_account = signin.sub_account_sign_in_unlock(sub_account=self.get_object())
        return process_result(sub_account.sub_account_id)

    @extend_schema(request=s.GroupIdListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post", "delete"])
    def groups(self, request, subAccountId=None):
        sub_account = self.get_object()
        group_ids = valid_data(s.GroupIdListSerializer, request)["groupIdList"]
        request.audit_detail = {"groupIdList": group_ids}
        if request.method == "POST":
            services.sub_account_groups_add(sub_account=sub_account, group_ids=group_ids)
        else:
            services.sub_account_groups_remove(sub_account=sub_account, group_ids=group_ids)
        return process_result(sub_account.sub_account_id)

    @extend_schema(request=s.PolicyIdListSerializer, responses=s.ProcessResultSerializer)
    @action(detail=True, methods=["post", "delete"])
    def policies(self, request, subAccountId=None):
        sub_account = self.get_object()
        policy_ids = valid_data(s.PolicyIdListSerializer, request)["policyIdList"]
        request.audit_detail = {"policyIdList": policy_ids}
        if request.method == "POST":
            policy_services.policies_attach(target=sub_account, policy_ids=policy_ids)
        else:
            policy_services.policies_detach(target=sub_account, policy_ids=policy_ids)
        return process_result(sub_account.sub_account_id)

    @extend_schema(methods=["GET"], request=None, responses=s.AccessKeySerializer(many=True))
    @extend_schema(methods=["POST"], request=None, responses=s.AccessKeyCreatedSerializer)
    @extend_schema(methods=["PUT"], request=s.AccessKeyStateSerializer, responses=s.ProcessResultSerializer)
    @extend_schema(
        methods=["DELETE"],
        request=s.AccessKeyRefSerializer,
        responses=s.ProcessResultSerializer,
        parameters=[OpenApiParameter("accessKey", str, description="the key to delete, when not in the body")],
    )
    @action(detail=True, methods=["get", "post", "put", "delete"], url_path="access-keys")
    def access_keys(self, request, subAccountId=None):
        sub_account = self.get_object()
        if request.method in ("GET", "HEAD"):
            keys = AccessKey.objects.filter(sub_account=sub_account, kind=AccessKey.SUB_ACCOUNT).order_by("create_time")
            return Response(s.AccessKeySerializer(keys, many=True).data)
        if request.method == "POST":
            key, secret = services.access_key_create(sub_account=sub_account)
            request.audit_detail = {"accessKey": key.access_key, "secret": "issued"}
            return Response(
                {
                    "accessKey": key.access_key,
                    "keySecret": secret,
                    "createTime": s.serializers.DateTimeField().to_representation(key.create_time),
                }
            )
        if request.method == "PUT":
            data = valid_data(s.AccessKeyStateSerializer, request)
            services.access_key_set_active(sub_account=sub_account, access_key=data["accessKey"], active=data["active"])
            request.audit_detail = {"accessKey": data["accessKey"], "active": data["active"]}
            return process_result(data["accessKey"])
        if isinstance(request.data, dict) and request.data:
            access_key = valid_data(s.AccessKeyRefSerializer, request)["accessKey"]
        else:
            access_key = request.query_params.get("accessKey")
        services.access_key_delete(sub_account=sub_account, access_key=access_key)
        request.audit_detail = {"accessKey": access_key}
        return process_result(access_key)


class JoinViewSet(AccountScopedViewSet):
    """Checks a console would run while someone types a new sub account's login ID or password."""

    serializer_class = s.CheckResultSerializer

    @extend_schema(responses=s.CheckResultSerializer, parameters=[OpenApiParameter("loginId", str, required=True)])
    @action(detail=False, methods=["get"], url_path="check-login-id")
    def check_login_id(self, request):
        problem = services.login_id_problem(account=self.account, login_id=request.query_params.get("loginId", ""))
        return Response({"success": problem is None, "message": problem or "available"})

    @extend_schema(responses=s.CheckResultSerializer, parameters=[OpenApiParameter("password", str, required=True)])
    @action(detail=False, methods=["get"], url_path="check-password")
    def check_password(self, request):
        problems = password_problems(
            request.query_params.get("password", ""), min_length=self.account.password_min_length
        )
        return Response({"success": not problems, "message": "; ".join(problems) or "acceptable"})

"""Serializers: shapes of the wire format (camelCase), no policy decisions."""

import copy
import datetime
from functools import cached_property

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from iam.models import AccessKey, AuditEvent, Group, Policy, Role, RoleServiceTarget, Server, SubAccount


class ProcessResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    id = serializers.CharField(required=False)


class ApiAllowSourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["IP", "VPC", "VPC_SERVER"])
    source = serializers.CharField(max_length=100)


class TagsField(serializers.DictField):
    # Values are authorized (ncp:requestTag) exactly as stored: no trimming between the two.
    child = serializers.CharField(allow_blank=True, max_length=128, trim_whitespace=False)


class FieldsBuiltOnce:
    """For read shapes: the fields are built once per class and each serializer binds its own shallow copies.

    DRF builds a serializer's fields for every instance: a deep copy of the declared ones (each re-constructed) and,
    for a ModelSerializer, the model's fields introspected again; a list read paid that on every request for fields
    that never change. A shallow copy is what ``bind()`` needs (it sets the name, parent and source on the copy, not
    on the template), so the output is the same field by field, SerializerMethodFields included. A nested serializer
    has fields and context of its own: it is deep-copied as DRF does."""

    def get_fields(self):
        cls = type(self)
        templates = cls.__dict__.get("_fields_built_once")
        if templates is None:
            templates = super().get_fields()
            cls._fields_built_once = templates  # a race builds the same dict twice, harmlessly
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in templates.items()
        }

    @cached_property
    def _readable_fields(self):
        # DRF walks the fields again for every row of a list; a read shape's readable fields are the same each time.
        return [field for field in self.fields.values() if not field.write_only]

    def to_representation(self, instance):
        # DRF's Serializer.to_representation, with each field's attribute read and value converted the way that
        # field's class does it, without its per-value indirections and without binding the field (the plan below).
        # What the plan does not know, or any surprise (an exception, a callable), goes through the bound field
        # itself, exactly as DRF would.
        ret = {}
        for name, attname, convert in _representation_plan(type(self)):
            if attname is not None:
                try:
                    value = getattr(instance, attname)
                except Exception:  # noqa: BLE001 - DRF's get_attribute decides what becomes of it, below
                    pass
                else:
                    if value is None:
                        ret[name] = None
                        continue
                    if convert is _EMPTY_LIST:
                        if type(value) is list and not value:
                            ret[name] = []  # what a ListSerializer makes of an empty list, whatever its child
                            continue
                    elif convert is not None and not callable(value):
                        ret[name] = convert(value)
                        continue
            field = self._bound_field(name)
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = value.pk if isinstance(value, PKOnlyObject) else value
            ret[name] = None if check_for_none is None else field.to_representation(value)
        return ret

    def _bound_field(self, name: str):
        """One field bound to this serializer as ``self.fields`` would bind it, without binding all the others."""
        bound = self.__dict__.setdefault("_bound_fields", {})
        field = bound.get(name)
        if field is None:
            if "fields" in self.__dict__:  # already built (a schema, a detail view): the same objects
                field = self.fields[name]
            else:
                template = type(self)._fields_built_once[name]
                field = (
                    copy.deepcopy(template) if isinstance(template, serializers.BaseSerializer) else copy.copy(template)
                )
                field.bind(field_name=name, parent=self)
            bound[name] = field
        return field


_EMPTY_LIST = object()  # a nested many=True serializer: an empty list is [], anything else the bound field's


def _representation_plan(serializer_class) -> list[tuple]:
    """(name, model attribute or None, converter or None) per readable field of a FieldsBuiltOnce class, built once.

    The attribute is read with getattr where DRF's get_attribute would do just that: a field whose source is one
    name, a concrete non-relational model field or a property of the serializer's model (a callable result, None
    aside, and any exception go through the field). The converter equals the field's to_representation for any value
    but None, built from the unbound template (the field classes it knows use nothing bind() sets)."""
    plan = serializer_class.__dict__.get("_representation_plan")
    if plan is not None:
        return plan
    templates = serializer_class.__dict__.get("_fields_built_once")
    if templates is None:
        serializer_class().get_fields()  # builds them
        templates = serializer_class.__dict__["_fields_built_once"]
    model = getattr(getattr(serializer_class, "Meta", None), "model", None)
    readable = {}
    if model is not None:
        readable = {f.name: f.attname for f in model._meta.concrete_fields if not f.is_relation}
        readable.update(
            (name, name) for name, value in vars(model).items() if isinstance(value, property) and name not in readable
        )
    plan = []
    for name, field in templates.items():
        if field.write_only:
            continue
        source = field.source or name
        attname = None
        if type(field).get_attribute is Field.get_attribute and source in readable:
            attname = readable[source]
        plan.append((name, attname, _converter(field)))
    serializer_class._representation_plan = plan  # a race builds the same list twice, harmlessly
    return plan


def _is_plain(field, drf_class) -> bool:
    """Whether ``field`` represents values with ``drf_class``'s own to_representation (not an override)."""
    return type(field).to_representation is drf_class.to_representation


def _converter(field):
    """A function equal to ``field.to_representation`` for every value that is not None (DRF never passes None), or
    None (or _EMPTY_LIST) where the bound field must answer."""
    if _is_plain(field, serializers.CharField):
        return str
    if _is_plain(field, serializers.IntegerField):
        return int
    if _is_plain(field, serializers.UUIDField) and field.uuid_format == "hex_verbose":
        return str
    if _is_plain(field, serializers.BooleanField):
        # True and False are in TRUE_VALUES and FALSE_VALUES; anything else ("0", 1, None...) is the field's to say.
        return lambda value: value if value is True or value is False else field.to_representation(value)
    if _is_plain(field, serializers.DateTimeField):
        return _datetime_converter(field)
    if _is_plain(field, serializers.ListField) and _is_plain(field.child, serializers.CharField):
        return lambda value: [str(item) if item is not None else None for item in value]
    if _is_plain(field, serializers.DictField) and _is_plain(field.child, serializers.CharField):
        return lambda value: {str(key): str(item) if item is not None else None for key, item in value.items()}
    if _is_plain(field, serializers.ListSerializer):
        return _EMPTY_LIST
    return None  # the bound field's own to_representation


def _datetime_converter(field):
    def convert(value):
        # An aware datetime in a strftime format, with the current time zone (DRF's enforce_timezone with USE_TZ on
        # and no time zone of the field's own); anything else, or an overflow, is the field's to answer.
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if (
            type(value) is datetime.datetime
            and output_format is not None
            and output_format.lower() != ISO_8601
            and settings.USE_TZ
            and not hasattr(field, "timezone")
            and timezone.is_aware(value)
        ):
            try:
                return value.astimezone(timezone.get_current_timezone()).strftime(output_format)
            except OverflowError:
                pass
        return field.to_representation(value)

    return convert


# Sub accounts --------------------------------------------------------------------------------------------------


class SubAccountWriteSerializer(serializers.Serializer):
    loginId = serializers.CharField(source="login_id", max_length=60)
    name = serializers.CharField(max_length=30)
    email = serializers.CharField(max_length=100)
    memo = serializers.CharField(allow_blank=True, required=False, max_length=1000)
    active = serializers.BooleanField(required=False)
    canAPIGatewayAccess = serializers.BooleanField(source="can_api_gateway_access", required=False)
    canConsoleAccess = serializers.BooleanField(source="can_console_access", required=False)
    useConsolePermitIp = serializers.BooleanField(source="use_console_permit_ip", required=False)
    consolePermitIps = serializers.ListField(
        source="console_permit_ips", child=serializers.CharField(max_length=50), required=False
    )
    useApiAllowSource = serializers.BooleanField(source="use_api_allow_source", required=False)
    apiAllowSources = ApiAllowSourceSerializer(source="api_allow_sources", many=True, required=False)
    needPasswordReset = serializers.BooleanField(source="need_password_reset", required=False)
    isMfaMandatory = serializers.BooleanField(source="is_mfa_mandatory", required=False)
    needPasswordGenerate = serializers.BooleanField(source="need_password_generate", required=False, default=False)
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=128)
    tags = TagsField(required=False)


class SubAccountUpdateSerializer(SubAccountWriteSerializer):
    loginId = None
    needPasswordGenerate = None
    password = None
    name = serializers.CharField(max_length=30, required=False)
    email = serializers.CharField(max_length=100, required=False)


class SubAccountSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    subAccountId = serializers.UUIDField(source="sub_account_id")
    subAccountNo = serializers.IntegerField(source="sub_account_no")
    nrn = serializers.CharField()
    loginId = serializers.CharField(source="login_id")
    canAPIGatewayAccess = serializers.BooleanField(source="can_api_gateway_access")
    canConsoleAccess = serializers.BooleanField(source="can_console_access")
    useConsolePermitIp = serializers.BooleanField(source="use_console_permit_ip")
    consolePermitIps = serializers.ListField(source="console_permit_ips", child=serializers.CharField())
    useApiAllowSource = serializers.BooleanField(source="use_api_allow_source")
    apiAllowSources = ApiAllowSourceSerializer(source="api_allow_sources", many=True)
    needPasswordReset = serializers.BooleanField(source="need_password_reset")
    isMfaMandatory = serializers.BooleanField(source="is_mfa_mandatory")
    hasMfa = serializers.BooleanField(source="has_mfa")
    tags = TagsField()
    createTime = serializers.DateTimeField(source="create_time")
    modifiedTime = serializers.DateTimeField(source="modified_time")
    lastLoginTime = serializers.DateTimeField(source="last_login_time")

    class Meta:
        model = SubAccount
        fields = [
            "subAccountId", "subAccountNo", "nrn", "loginId", "name", "email", "memo", "active",
            "canAPIGatewayAccess", "canConsoleAccess", "useConsolePermitIp", "consolePermitIps",
            "useApiAllowSource", "apiAllowSources", "needPasswordReset", "isMfaMandatory", "hasMfa",
            "tags", "createTime", "modifiedTime", "lastLoginTime",
        ]  # fmt: skip


class GroupRefSerializer(serializers.Serializer):
    groupId = serializers.UUIDField(source="group_id")
    groupName = serializers.CharField(source="name")


class PolicyRefSerializer(serializers.Serializer):
    policyId = serializers.CharField(source="policy_id")
    policyName = serializers.CharField(source="name")
    policyType = serializers.CharField(source="policy_type")


class SubAccountRefSerializer(serializers.Serializer):
    subAccountId = serializers.UUIDField(source="sub_account_id")
    loginId = serializers.CharField(source="login_id")
    name = serializers.CharField()


class SubAccountDetailSerializer(SubAccountSerializer):
    groups = GroupRefSerializer(many=True, read_only=True)
    policies = serializers.SerializerMethodField()

    class Meta(SubAccountSerializer.Meta):
        fields = SubAccountSerializer.Meta.fields + ["groups", "policies"]

    def get_policies(self, obj) -> list[dict]:
        return PolicyRefSerializer([a.policy for a in obj.policy_attachments.all()], many=True).data


class SubAccountCreateResultSerializer(ProcessResultSerializer):
    generatedPassword = serializers.CharField(required=False)


class PasswordResetSerializer(serializers.Serializer):
    needPasswordGenerate = serializers.BooleanField(default=False)
    newPassword = serializers.CharField(required=False, allow_blank=True, max_length=128)


class PasswordResetResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    generatedPassword = serializers.CharField(required=False)


class GroupIdListSerializer(serializers.Serializer):
    groupIdList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), min_length=1, max_length=500
    )


class PolicyIdListSerializer(serializers.Serializer):
    policyIdList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), min_length=1, max_length=500
    )


class SubAccountIdListSerializer(serializers.Serializer):
    subAccountIdList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), min_length=1, max_length=500
    )


class AccessKeyCreatedSerializer(serializers.Serializer):
    accessKey = serializers.CharField()
    keySecret = serializers.CharField()
    createTime = serializers.DateTimeField()


class AccessKeySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    accessKey = serializers.CharField(source="access_key")
    createTime = serializers.DateTimeField(source="create_time")
    lastUsedTime = serializers.DateTimeField(source="last_used_time")

    class Meta:
        model = AccessKey
        fields = ["accessKey", "active", "createTime", "lastUsedTime"]


class AccessKeyStateSerializer(serializers.Serializer):
    accessKey = serializers.CharField(max_length=64)
    active = serializers.BooleanField()


class AccessKeyRefSerializer(serializers.Serializer):
    accessKey = serializers.CharField(max_length=64)


class CheckResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


# Groups ------------------------------------------------------------------------------------------------------


class GroupWriteSerializer(serializers.Serializer):
    groupName = serializers.CharField(source="name", max_length=30)
    description = serializers.CharField(allow_blank=True, required=False, max_length=300)
    tags = TagsField(required=False)


class GroupUpdateSerializer(GroupWriteSerializer):
    groupName = serializers.CharField(source="name", max_length=30, required=False)


class GroupSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    groupId = serializers.UUIDField(source="group_id")
    groupName = serializers.CharField(source="name")
    nrn = serializers.CharField()
    tags = TagsField()
    createTime = serializers.DateTimeField(source="create_time")
    modifiedTime = serializers.DateTimeField(source="modified_time")

    class Meta:
        model = Group
        fields = ["groupId", "groupName", "nrn", "description", "tags", "createTime", "modifiedTime"]


class GroupDetailSerializer(GroupSerializer):
    subAccounts = SubAccountRefSerializer(source="members", many=True, read_only=True)
    policies = serializers.SerializerMethodField()

    class Meta(GroupSerializer.Meta):
        fields = GroupSerializer.Meta.fields + ["subAccounts", "policies"]

    def get_policies(self, obj) -> list[dict]:
        return PolicyRefSerializer([a.policy for a in obj.policy_attachments.all()], many=True).data


# Policies ----------------------------------------------------------------------------------------------------


class PolicyWriteSerializer(serializers.Serializer):
    policyName = serializers.CharField(source="name", max_length=30)
    description = serializers.CharField(allow_blank=True, required=False, max_length=300)
    permissions = serializers.JSONField()
    tags = TagsField(required=False)


class PolicyUpdateSerializer(PolicyWriteSerializer):
    policyName = serializers.CharField(source="name", max_length=30, required=False)
    permissions = serializers.JSONField(required=False)


class PolicyValidationSerializer(serializers.Serializer):
    permissions = serializers.JSONField()


class PolicySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    policyId = serializers.CharField(source="policy_id")
    policyName = serializers.CharField(source="name")
    policyType = serializers.CharField(source="policy_type")
    nrn = serializers.SerializerMethodField()
    tags = TagsField()
    createTime = serializers.DateTimeField(source="create_time")
    modifiedTime = serializers.DateTimeField(source="modified_time")

    class Meta:
        model = Policy
        fields = ["policyId", "policyName", "policyType", "nrn", "description", "tags", "createTime", "modifiedTime"]

    def get_nrn(self, obj) -> str:
        return obj.nrn_for(self.context["member_no"])


class PolicyDetailSerializer(PolicySerializer):
    permissions = serializers.JSONField()

    class Meta(PolicySerializer.Meta):
        fields = PolicySerializer.Meta.fields + ["permissions"]


class PolicySubAccountResourceSerializer(serializers.Serializer):
    subAccountId = serializers.UUIDField()
    loginId = serializers.CharField()
    name = serializers.CharField()
    attachTime = serializers.DateTimeField()


class PolicyGroupResourceSerializer(serializers.Serializer):
    groupId = serializers.UUIDField()
    groupName = serializers.CharField()
    attachTime = serializers.DateTimeField()


class PolicyRoleResourceSerializer(serializers.Serializer):
    roleNo = serializers.CharField()
    roleName = serializers.CharField()
    attachTime = serializers.DateTimeField()


class PolicyResourcesSerializer(serializers.Serializer):
    """GET /policies/{id}/resources: where the policy is attached in the caller's account."""

    subAccounts = PolicySubAccountResourceSerializer(many=True)
    groups = PolicyGroupResourceSerializer(many=True)
    roles = PolicyRoleResourceSerializer(many=True)


class PolicyResourcesDetachSerializer(serializers.Serializer):
    subAccountIdList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), required=False, max_length=500
    )
    groupIdList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), required=False, max_length=500
    )
    roleNoList = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False), required=False, max_length=500
    )


class PolicySimulationSerializer(serializers.Serializer):
    subAccountId = serializers.CharField(required=False, max_length=64, trim_whitespace=False)
    roleNo = serializers.CharField(required=False, max_length=64, trim_whitespace=False)
    policyDocuments = serializers.JSONField(required=False)
    actions = serializers.JSONField()
    resourceNrns = serializers.ListField(
        child=serializers.CharField(max_length=400), required=False, min_length=1, max_length=100
    )
    context = serializers.DictField(required=False)

    # A context value stands for one request's key (a tag value, a source address): far shorter than this. The bound
    # keeps a simulation's work (patterns × actions × resources × value length) within a request's time.
    MAX_CONTEXT_KEYS = 100
    MAX_CONTEXT_VALUE_LENGTH = 1024
    MAX_CONTEXT_LIST_LENGTH = 100

    def validate_context(self, context: dict) -> dict:
        if len(context) > self.MAX_CONTEXT_KEYS:
            raise serializers.ValidationError(f"at most {self.MAX_CONTEXT_KEYS} keys")
        errors = {}
        for key, value in context.items():
            values = value if isinstance(value, list) else [value]
            if len(key) > 128:
                errors[key[:40]] = ["a key is at most 128 characters"]
            elif isinstance(value, list) and len(value) > self.MAX_CONTEXT_LIST_LENGTH:
                errors[key] = [f"at most {self.MAX_CONTEXT_LIST_LENGTH} values"]
            elif any(isinstance(v, str) and len(v) > self.MAX_CONTEXT_VALUE_LENGTH for v in values):
                errors[key] = [f"a value is at most {self.MAX_CONTEXT_VALUE_LENGTH} characters"]
        if errors:
            raise serializers.ValidationError(errors)
        return context


class MatchedStatementSerializer(serializers.Serializer):
    policyId = serializers.CharField()
    permissionIndex = serializers.IntegerField()
    effect = serializers.CharField()


class SimulationResultSerializer(serializers.Serializer):
    product = serializers.CharField()
    action = serializers.CharField()
    resourceNrn = serializers.CharField()
    decision = serializers.ChoiceField(choices=["allowed", "explicitDeny", "implicitDeny"])
    matchedStatements = MatchedStatementSerializer(many=True)
    missingContextKeys = serializers.ListField(child=serializers.CharField())


class PolicySimulationResultSerializer(serializers.Serializer):
    results = SimulationResultSerializer(many=True)


class ValidationFindingSerializer(serializers.Serializer):
    severity = serializers.CharField()
    location = serializers.CharField()
    message = serializers.CharField()


class PolicyValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    findings = ValidationFindingSerializer(many=True)


# Roles -------------------------------------------------------------------------------------------------------


class RoleWriteSerializer(serializers.Serializer):
    roleName = serializers.CharField(source="name", max_length=100)
    roleType = serializers.ChoiceField(source="role_type", choices=[c for c, _ in Role.TYPE_CHOICES])
    sessionExpirationSec = serializers.IntegerField(source="session_expiration_sec", required=False, allow_null=True)
    descCont = serializers.CharField(source="description", allow_blank=True, required=False, max_length=1000)
    tags = TagsField(required=False)


class RoleUpdateSerializer(serializers.Serializer):
    roleName = serializers.CharField(source="name", max_length=100, required=False)
    sessionExpirationSec = serializers.IntegerField(source="session_expiration_sec", required=False, allow_null=True)
    descCont = serializers.CharField(source="description", allow_blank=True, required=False, max_length=1000)
    active = serializers.BooleanField(required=False)
    tags = TagsField(required=False)


class RoleSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    nrn = serializers.CharField()
    roleNo = serializers.CharField(source="role_no")
    roleName = serializers.CharField(source="name")
    roleType = serializers.CharField(source="role_type")
    sessionExpirationSec = serializers.IntegerField(source="session_expiration_sec")
    descCont = serializers.CharField(source="description")
    tags = TagsField()
    createTime = serializers.DateTimeField(source="create_time")
    modifiedTime = serializers.DateTimeField(source="modified_time")
    lastUseTime = serializers.DateTimeField(source="last_use_time")

    class Meta:
        model = Role
        fields = [
            "nrn", "roleNo", "roleName", "roleType", "sessionExpirationSec", "descCont", "active", "tags",
            "createTime", "modifiedTime", "lastUseTime",
        ]  # fmt: skip


class RoleDetailSerializer(RoleSerializer):
    policies = serializers.SerializerMethodField()

    class Meta(RoleSerializer.Meta):
        fields = RoleSerializer.Meta.fields + ["policies"]

    def get_policies(self, obj) -> list[dict]:
        return PolicyRefSerializer([a.policy for a in obj.policy_attachments.all()], many=True).data


# Role targets -------------------------------------------------------------------------------------------------


class RoleServerListSerializer(serializers.Serializer):
    serverInstanceNoList = serializers.ListField(
        child=serializers.RegexField(r"^[1-9][0-9]{0,19}$", max_length=20), min_length=1, max_length=100
    )


class RoleServerSerializer(serializers.Serializer):
    serverInstanceNo = serializers.CharField(source="server_instance_no")
    serverName = serializers.CharField(source="name")
    privateIp = serializers.IPAddressField(source="private_ip", allow_null=True)
    publicIp = serializers.IPAddressField(source="public_ip", allow_null=True)


class RoleAccountTargetWriteSerializer(serializers.Serializer):
    own = serializers.BooleanField(required=False, default=False, help_text="name the role's own account")
    accountName = serializers.CharField(required=False, max_length=100, help_text="another main account's name")
    loginId = serializers.CharField(required=False, max_length=100, help_text="a login ID of that account")

    def validate(self, attrs):
        if attrs.get("own"):
            if attrs.get("accountName") or attrs.get("loginId"):
                raise serializers.ValidationError({"own": "name either the own account or another one, not both"})
            return attrs
        errors = {f: "is required to name another account" for f in ("accountName", "loginId") if not attrs.get(f)}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RoleAccountTargetSerializer(serializers.Serializer):
    memberNo = serializers.IntegerField(source="target_account.member_no")
    accountName = serializers.CharField(source="target_account.name")
    own = serializers.SerializerMethodField()
    createTime = serializers.DateTimeField(source="create_time")

    def get_own(self, obj) -> bool:
        return obj.target_account_id == obj.role.account_id


class MemberNoListSerializer(serializers.Serializer):
    memberNoList = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=100)


class RoleServiceListSerializer(serializers.Serializer):
    serviceList = serializers.ListField(
        child=serializers.ChoiceField(choices=[c for c, _ in RoleServiceTarget.SERVICE_CHOICES]),
        min_length=1,
        max_length=20,
    )


class RoleServiceTargetSerializer(serializers.Serializer):
    service = serializers.CharField()
    serviceName = serializers.CharField(source="get_service_display")
    createTime = serializers.DateTimeField(source="create_time")


class RoleSsoAssignmentSerializer(serializers.Serializer):
    principalType = serializers.CharField(source="principal_type")
    principalName = serializers.CharField(source="principal_name")
    createTime = serializers.DateTimeField(source="create_time")


# Servers ------------------------------------------------------------------------------------------------------


class ServerWriteSerializer(serializers.Serializer):
    serverInstanceNo = serializers.RegexField(
        r"^[1-9][0-9]{0,19}$", source="server_instance_no", max_length=20, help_text="1-20 digits"
    )
    serverName = serializers.CharField(source="name", max_length=30)
    privateIp = serializers.IPAddressField(source="private_ip", required=False, allow_null=True)
    publicIp = serializers.IPAddressField(source="public_ip", required=False, allow_null=True)
    tags = TagsField(required=False)


class ServerUpdateSerializer(ServerWriteSerializer):
    serverInstanceNo = None
    serverName = serializers.CharField(source="name", max_length=30, required=False)


class ServerSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    nrn = serializers.CharField()
    serverInstanceNo = serializers.CharField(source="server_instance_no")
    serverName = serializers.CharField(source="name")
    privateIp = serializers.IPAddressField(source="private_ip", allow_null=True)
    publicIp = serializers.IPAddressField(source="public_ip", allow_null=True)
    roleNo = serializers.CharField(source="role.role_no", allow_null=True, default=None)
    roleName = serializers.CharField(source="role.name", allow_null=True, default=None)
    hasMetadataToken = serializers.SerializerMethodField()
    tags = TagsField()
    createTime = serializers.DateTimeField(source="create_time")
    modifiedTime = serializers.DateTimeField(source="modified_time")

    class Meta:
        model = Server
        fields = [
            "nrn", "serverInstanceNo", "serverName", "privateIp", "publicIp", "roleNo", "roleName",
            "hasMetadataToken", "tags", "createTime", "modifiedTime",
        ]  # fmt: skip

    def get_hasMetadataToken(self, obj) -> bool:
        return bool(obj.metadata_token_hash)


class ServerCreatedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    id = serializers.CharField()
    metadataToken = serializers.CharField(help_text="send as X-Ncloud-Metadata-Token; shown this once")


# Dashboard and settings --------------------------------------------------------------------------------------


class ResourceCountSerializer(serializers.Serializer):
    subAccountCount = serializers.IntegerField()
    groupCount = serializers.IntegerField()
    policyCount = serializers.IntegerField()
    roleCount = serializers.IntegerField()


class PasswordSettingSerializer(serializers.Serializer):
    minLength = serializers.IntegerField(source="password_min_length", min_value=8, max_value=16, required=False)
    expirationDays = serializers.IntegerField(
        source="password_expiration_days", min_value=0, max_value=365, required=False
    )
    reusePreventionCount = serializers.IntegerField(
        source="password_reuse_prevention", min_value=0, max_value=24, required=False
    )


class LoginPageSettingSerializer(serializers.Serializer):
    loginPageAlias = serializers.CharField(source="login_page_alias", allow_null=True, max_length=63)


class SessionSettingSerializer(serializers.Serializer):
    sessionExpirationMinutes = serializers.IntegerField(
        source="session_expiration_minutes", min_value=10, max_value=1440
    )


class LongTermUnusedSettingSerializer(serializers.Serializer):
    use = serializers.BooleanField(source="use_long_term_unused_deactivation", required=False)
    days = serializers.IntegerField(source="long_term_unused_days", min_value=30, max_value=365, required=False)


class MfaMethodSerializer(serializers.Serializer):
    mfaType = serializers.ChoiceField(choices=["PHONE", "EMAIL", "OTP", "PASSKEY"])


class SubAccountMfaSerializer(serializers.Serializer):
    isMfaMandatory = serializers.BooleanField(source="is_mfa_mandatory")
    mfaList = serializers.SerializerMethodField()

    @extend_schema_field(MfaMethodSerializer(many=True))
    def get_mfaList(self, obj) -> list[dict]:
        return [{"mfaType": "OTP"}] if obj.has_mfa else []


# Sign-in settings (login alias, tenant settings) -----------------------------------------------------------------


class TenantSettingSerializer(serializers.Serializer):
    """One group of sign-in settings on the wire; ``changes()`` turns a validated body into Account fields."""

    wire_names: dict[str, str] = {}

    def changes(self, validated: dict) -> dict:
        return dict(validated)


class LoginAliasSerializer(TenantSettingSerializer):
    wire_names = {"login_page_alias": "loginAlias"}
    loginAlias = serializers.CharField(
        allow_null=True, max_length=63, help_text="null goes back to the default alias (the member number)"
    )
    defaultAlias = serializers.CharField(read_only=True)
    isDefault = serializers.BooleanField(read_only=True)
    signInUrl = serializers.CharField(read_only=True, help_text="the sub accounts' sign-in page")

    def to_representation(self, account):
        alias = account.sign_in_alias
        return {
            "loginAlias": alias,
            "defaultAlias": str(account.member_no),
            "isDefault": account.login_page_alias is None,
            "signInUrl": f"/signin/{alias}/",
        }

    def changes(self, validated: dict) -> dict:
        alias = validated["loginAlias"]
        return {"login_page_alias": None if alias in (None, "") else alias}


class PasswordComplexitySerializer(serializers.Serializer):
    upperCase = serializers.BooleanField()
    lowerCase = serializers.BooleanField()
    number = serializers.BooleanField()
    specialCharacter = serializers.BooleanField()
    noWhiteSpace = serializers.BooleanField()
    noLoginId = serializers.BooleanField()
    maxLength = serializers.IntegerField()


PASSWORD_EXPIRATION_DAYS = (60, 90, 120, 180)
# The character rules every sub account password follows (iam.services.validation.password_problems).
PASSWORD_COMPLEXITY = {
    "upperCase": True,
    "lowerCase": True,
    "number": True,
    "specialCharacter": True,
    "noWhiteSpace": True,
    "noLoginId": True,
    "maxLength": 16,
}


class SubAccountPasswordPolicySerializer(TenantSettingSerializer):
    useExpiration = serializers.BooleanField(required=False)
    expirationDays = serializers.ChoiceField(
        choices=PASSWORD_EXPIRATION_DAYS, required=False, help_text="days a password lasts when useExpiration is on"
    )
    minLength = serializers.IntegerField(min_value=8, max_value=16, required=False)
    reusePreventionCount = serializers.IntegerField(
        min_value=0, max_value=24, required=False, help_text="a new password may not be one of the last N (0: off)"
    )
    complexity = PasswordComplexitySerializer(read_only=True, help_text="the fixed character rules")

    def to_representation(self, account):
        days = account.password_expiration_days
        return {
            "useExpiration": days > 0,
            "expirationDays": days if days > 0 else None,
            "minLength": account.password_min_length,
            "reusePreventionCount": account.password_reuse_prevention,
            "complexity": PASSWORD_COMPLEXITY,
        }

    def validate(self, attrs):
        if attrs.get("useExpiration") and "expirationDays" not in attrs:
            raise serializers.ValidationError({"expirationDays": "is required when useExpiration is true"})
        return attrs

    def changes(self, validated: dict) -> dict:
        changes = {}
        if "minLength" in validated:
            changes["password_min_length"] = validated["minLength"]
        if "reusePreventionCount" in validated:
            changes["password_reuse_prevention"] = validated["reusePreventionCount"]
        if validated.get("useExpiration") is False:
            changes["password_expiration_days"] = 0
        elif "expirationDays" in validated:
            changes["password_expiration_days"] = validated["expirationDays"]
        return changes


IDLE_TIMEOUT_SECONDS = (600, 1800, 3600, 10800)


class SubAccountSessionPolicySerializer(TenantSettingSerializer):
    wire_names = {"session_expiration_minutes": "idleTimeoutSec"}
    idleTimeoutSec = serializers.ChoiceField(
        choices=IDLE_TIMEOUT_SECONDS, help_text="a console session unused this long is signed out"
    )

    def to_representation(self, account):
        return {"idleTimeoutSec": account.session_expiration_minutes * 60}

    def changes(self, validated: dict) -> dict:
        return {"session_expiration_minutes": validated["idleTimeoutSec"] // 60}


IDLE_DISABLE_DAYS = (90, 180, 365)


class IdleDisableSettingsSerializer(TenantSettingSerializer):
    use = serializers.BooleanField(required=False)
    days = serializers.ChoiceField(
        choices=IDLE_DISABLE_DAYS, required=False, help_text="sub accounts unused this long are made inactive"
    )

    def to_representation(self, account):
        return {"use": account.use_long_term_unused_deactivation, "days": account.long_term_unused_days}

    def changes(self, validated: dict) -> dict:
        changes = {}
        if "use" in validated:
            changes["use_long_term_unused_deactivation"] = validated["use"]
        if "days" in validated:
            changes["long_term_unused_days"] = validated["days"]
        return changes


# Audit trail ---------------------------------------------------------------------------------------------------


class AuditEventSerializer(FieldsBuiltOnce, serializers.Serializer):
    eventId = serializers.IntegerField(source="id")
    time = serializers.DateTimeField()
    actor = serializers.CharField()
    actorType = serializers.CharField(source="actor_type")
    action = serializers.CharField()
    resource = serializers.CharField()
    result = serializers.ChoiceField(choices=AuditEvent.RESULT_CHOICES)
    sourceIp = serializers.CharField(source="source_ip")
    requestId = serializers.CharField(source="request_id")
    detail = serializers.DictField()

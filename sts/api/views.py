"""``/api/v1/credentials``: obtain a temporary key (POST) and describe the calling key (GET)."""

from drf_spectacular.utils import extend_schema
from rest_framework.fields import DateTimeField
from rest_framework.response import Response

from iam import audit
from iam.api.views.base import AccountScopedViewSet, valid_data
from iam.api.views.dashboard import SingleObjectSchema
from iam.models import AccessKey, AuditEvent
from iam.policy import nrn
from sts import services
from sts.api import serializers as s

_time = DateTimeField().to_representation


def _role_nrn(key: AccessKey) -> str:
    return nrn.build(nrn.IAM, key.account.member_no, "Role", key.role.role_no)


class CredentialsViewSet(AccountScopedViewSet):
    """STS temporary keys. Only sub accounts and role sessions obtain them; a temporary key signs requests like a
    permanent one and stops working at its expireTime."""

    serializer_class = s.CredentialSerializer
    filter_backends = ()
    pagination_class = None
    schema = SingleObjectSchema()

    def _calling_key(self) -> AccessKey:
        return AccessKey.objects.select_related("account", "role", "sub_account__account").get(
            access_key=self.request.user.access_key
        )

    @extend_schema(responses=s.CallingKeySerializer)
    def list(self, request):
        key, principal = self._calling_key(), request.user
        sub_account = key.sub_account
        body = {
            "accessKey": key.access_key,
            "keyType": key.kind,
            "createTime": _time(key.create_time),
            "expireTime": _time(key.expire_time) if key.expire_time else None,
            "useMfa": key.mfa_present,
            "principalType": principal.principal_type,
            "principalNrn": principal.nrn,
        }
        if sub_account is not None and sub_account.has_mfa:
            body["mfaSerialNumber"] = services.mfa_device_nrn(sub_account)
        if key.role_id is not None:
            body.update(
                roleNrn=_role_nrn(key),
                sourceIdentityType=key.source_identity_type,
                sourceIdentityId=key.source_identity_id,
            )
        return Response(body)

    @extend_schema(request=s.CredentialRequestSerializer, responses=s.CredentialSerializer)
    def create(self, request):
        data = valid_data(s.CredentialRequestSerializer, request)
        raw_code = request.data.get("tokenCode")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool) and 0 <= raw_code <= 999_999:
            data["tokenCode"] = f"{raw_code:06d}"  # the reference types it as an integer: 012345 arrives as 12345
        key, secret = services.sts_credential_issue(
            principal=request.user,
            duration_sec=data.get("durationSec"),
            serial_number=data.get("serialNumber", ""),
            token_code=data.get("tokenCode", ""),
            role_nrn=data.get("roleNrn") or None,
        )
        body = {
            "accessKey": key.access_key,
            "keySecret": secret,
            "createTime": _time(key.create_time),
            "expireTime": _time(key.expire_time),
            "useMfa": key.mfa_present,
        }
        issued = {"accessKey": key.access_key, "secret": "issued", "expireTime": body["expireTime"]}
        if key.role_id is not None:
            body["roleNrn"] = issued["roleNrn"] = _role_nrn(key)
        if data.get("roleNrn") and not request.user.is_role_session:
            request.audit_detail = issued  # recorded with the authorized Change/switchRole
        else:
            audit.record(
                account_id=request.user.account_id,
                action="SubAccount:View/getStsSessionToken",
                resource=request.user.nrn,
                result=AuditEvent.SUCCESS,
                detail=issued,
            )
        return Response(body)

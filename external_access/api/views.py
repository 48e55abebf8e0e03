"""External Access API views: private CAs (and the certificates they issue), trust anchors, and their CRLs.

Every call is signed and authorized like the Sub Account API (``iam.gateway``: the endpoint's catalog action in
``iam.gateway.endpoint_actions``). Writes to a private CA (create, issue, revoke, publish its CRL) have no action in
the catalog (they belong to NCP's Private CA product): only the main account's root key may make them.
"""

import base64
import io
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, permissions
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.views import APIView

from external_access.api import serializers as s
from external_access.models import CertificateAuthority, Crl, IssuedCertificate, Profile, Subject, TrustAnchor
from external_access.services import cas, crls, profiles, sessions, subjects, trust_anchors
from iam import audit
from iam.api import input_guard
from iam.api.errors import exception_handler as iam_exception_handler
from iam.api.pagination import MAX_PAGE_SIZE, _int_param
from iam.api.serializers import ProcessResultSerializer
from iam.api.views.base import AccountScopedViewSet, process_result
from iam.errors import InvalidInput, NotFound
from iam.gateway import x509_signing
from iam.gateway.certificate_authentication import CertificateSignatureAuthentication
from iam.gateway.permissions import CatalogActionPermission, GatewayPermissionDenied
from iam.gateway.principals import MAIN_ACCOUNT
from iam.models import AuditEvent
from iam.policy import nrn


def exception_handler(exc, context):
    """The Sub Account handler's answer in External Access's error body: ``{"error": {errorCode, message,
    requestId}}`` (with ``fieldErrors`` when a field is to blame). Gateway errors keep the gateway's body, the same
    on every endpoint (a refused signature must look alike everywhere)."""
    response = iam_exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict):
        return response
    request_id = audit.current_request_id()
    data = response.data
    if "errorCode" in data:
        body = {"errorCode": str(data["errorCode"]), "message": data.get("message", ""), "requestId": request_id}
        if data.get("fieldErrors"):
            body["fieldErrors"] = data["fieldErrors"]
        response.data = {"error": body}
    return response


class ExternalAccessPagination(BasePagination):
    """External Access pages: query ``page`` (0-based) and ``size`` (default 20); ``{pageNo, totalElements,
    pageSize, content}``."""

    def paginate_queryset(self, queryset, request, view=None):
        self.page = _int_param(request, "page", 0, 0, 1_000_000)
        self.size = _int_param(request, "size", 20, 1, MAX_PAGE_SIZE)
        self.total = queryset.count()
        start = self.page * self.size
        return list(queryset[start : start + self.size])

    def get_paginated_response(self, data):
        return Response({"pageNo": self.page, "totalElements": self.total, "pageSize": self.size, "content": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "pageNo": {"type": "integer"},
                "totalElements": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "content": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 0}},
            {"name": "size", "in": "query", "required": False, "schema": {"type": "integer", "default": 20}},
        ]


class MainAccountOnly(permissions.BasePermission):
    """Only the main account's root key: for what the catalog has no action for (private CA writes)."""

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if principal.principal_type == MAIN_ACCOUNT:
            return True
        audit.record(
            account_id=principal.account_id,
            action=f"PrivateCA:{view.action}",
            resource=request.path[:500],
            result=AuditEvent.DENIED,
            detail={"reason": "only the main account manages private CAs", "method": request.method},
        )
        raise GatewayPermissionDenied("only the main account's root key manages private CAs")


class ExternalAccessViewSet(AccountScopedViewSet):
    pagination_class = ExternalAccessPagination
    audit_nrn_product = nrn.EXTERNAL_ACCESS
    lookup_is_int = False

    def get_exception_handler(self):
        return exception_handler

    def get_object(self):
        if self.lookup_is_int:
            value = self.kwargs[self.lookup_url_kwarg]
            if not value.isascii() or not value.isdigit() or len(value) > 18:
                raise NotFound(f"no such {self.entity_name}")
        return super().get_object()


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "request body too large"


def _read_crl_body(request, limit: int) -> bool:
    """Read a CRL import's body (larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE allows) up to ``limit`` bytes, so
    that DRF parses it from memory; False when the declared length is over the limit (nothing is read)."""
    if hasattr(request, "_body") or request.method not in ("POST", "PATCH"):
        return True
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True  # Django refuses it as usual
    if length <= 0:
        return True  # no declared length: Django's own limit applies
    if length > limit:
        return False
    body = request.read(length)
    request._body = body  # what HttpRequest.body returns from now on, with no second read
    request._stream = io.BytesIO(body)
    return True


def _uuid_or_404(value: str, entity: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {entity}") from None


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput.field("body", "must be a JSON object")
    return request.data


class CaViewSet(mixins.ListModelMixin, ExternalAccessViewSet):
    """The account's private CAs (read by any principal its policies allow; written by the root key only)."""

    queryset = CertificateAuthority.objects.select_related("account")
    serializer_class = s.CaSerializer
    lookup_field = "pk"
    lookup_url_kwarg = "caId"
    lookup_is_uuid = False
    lookup_is_int = True
    entity_name = "CA"
    search_columns = {"name": "name"}
    audit_resource_type = "CA"
    audit_nrn_product = nrn.PRIVATE_CA
    created_id_field = "caId"

    # The writes, as the audit trail names them (PrivateCA:<name>): the catalog has no action for them.
    WRITES = {
        "create": "createCA",
        "certificates": "issueCertificate",
        "revoke": "revokeCertificate",
        "crl": "publishCrl",
    }

    def _is_write(self) -> bool:
        return self.action in self.WRITES and self.request.method == "POST"

    def get_permissions(self):
        chosen = [CatalogActionPermission()]
        if self._is_write():
            chosen.append(MainAccountOnly())
        return chosen

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        principal = request.user
        if self._is_write() and principal is not None and response.status_code not in (401, 403, 429):
            data = response.data if isinstance(response.data, dict) else {}
            ca_id = self.kwargs.get("caId") or data.get("caId")
            resource = nrn.build(nrn.PRIVATE_CA, principal.member_no, "CA", ca_id) if ca_id else "*"
            detail = {"method": request.method, "path": request.path, "status": response.status_code}
            if self.action == "revoke":
                detail["certificateId"] = str(self.kwargs.get("certificateId", ""))[:40]
            if data.get("certificateId") and self.action == "certificates":
                detail["certificateId"] = data["certificateId"]
            audit.record(
                account_id=principal.account_id,
                action=f"PrivateCA:{self.WRITES[self.action]}",
                resource=resource,
                result=AuditEvent.SUCCESS if response.status_code < 400 else AuditEvent.FAILED,
                detail=detail,
            )
        return response

    @extend_schema(request=s.CaCreateSerializer, responses=s.CaSerializer)
    def create(self, request):
        body = _body(request)
        parent = None
        if "parentCaId" in body:
            parent_id = body["parentCaId"]
            if isinstance(parent_id, int) and not isinstance(parent_id, bool) and 0 < parent_id < 2**63:
                parent = self.get_queryset().filter(pk=parent_id).first()
            if parent is None:
                raise InvalidInput.field("parentCaId", "no such private CA in this account")
        arguments = {"key_algorithm": body.get("keyAlgorithm", CertificateAuthority.EC_P256)}
        if "validityDays" in body:
            arguments["validity_days"] = body["validityDays"]
        ca = cas.ca_create(
            account=self.account, name=body.get("name"), subject=body.get("subject"), parent=parent, **arguments
        )
        return Response(s.CaSerializer(ca).data)

    @extend_schema(responses=s.CaSerializer)
    def retrieve(self, request, caId=None):
        return Response(s.CaSerializer(self.get_object()).data)

    @extend_schema(methods=["GET"], responses=s.CertificateSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.CertificateIssueSerializer, responses=s.CertificateIssuedSerializer)
    @action(detail=True, methods=["get", "post"], url_path="certificates")
    def certificates(self, request, caId=None):
        ca = self.get_object()
        if request.method == "GET":
            return Response(s.CertificateSerializer(ca.issued_certificates.order_by("id"), many=True).data)
        body = _body(request)
        arguments = {key: body[wire] for wire, key in (("csr", "csr"), ("subject", "subject")) if wire in body}
        if "keyAlgorithm" in body:
            arguments["key_algorithm"] = body["keyAlgorithm"]
        if "validityDays" in body:
            arguments["validity_days"] = body["validityDays"]
        issued, key_pem = cas.certificate_issue(ca=ca, **arguments)
        data = s.CertificateSerializer(issued).data
        data["certificateChain"] = cas.ca_chain_pem(ca)
        if key_pem is not None:
            data["privateKey"] = key_pem  # shown once, never stored
        return Response(data)

    @extend_schema(
        request=s.RevokeSerializer,
        responses=s.CertificateSerializer,
        parameters=[OpenApiParameter("certificateId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"certificates/(?P<certificateId>[^/.]+)/revoke")
    def revoke(self, request, caId=None, certificateId=None):
        ca = self.get_object()
        certificate_id = _uuid_or_404(certificateId, "certificate")
        certificate = IssuedCertificate.objects.filter(ca=ca, certificate_id=certificate_id).first()
        if certificate is None:
            raise NotFound("no such certificate")
        certificate = cas.certificate_revoke(
            certificate=certificate, reason=_body(request).get("reason", "unspecified")
        )
        return Response(s.CertificateSerializer(certificate).data)

    @extend_schema(request=None, responses=s.PublishedCrlSerializer)
    @action(detail=True, methods=["post"], url_path="crl")
    def crl(self, request, caId=None):
        published = cas.crl_publish(ca=self.get_object())
        number = published.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        return Response(
            {
                "caId": int(caId),
                "crlNumber": number,
                "crlData": base64.b64encode(published.public_bytes(serialization.Encoding.DER)).decode("ascii"),
                "thisUpdate": s.serializers.DateTimeField().to_representation(published.last_update_utc),
                "nextUpdate": s.serializers.DateTimeField().to_representation(published.next_update_utc),
                "revokedCount": len(published),
            }
        )


class TrustAnchorViewSet(mixins.ListModelMixin, ExternalAccessViewSet):
    """Trust anchors: what a workload's certificate must chain to."""

    queryset = TrustAnchor.objects.select_related("account", "ca__account")
    serializer_class = s.TrustAnchorSerializer
    lookup_field = "trust_anchor_id"
    lookup_url_kwarg = "trustAnchorId"
    entity_name = "trust anchor"
    audit_resource_type = "TrustAnchor"
    created_id_field = "trustAnchorId"
    search_columns = {"name": "name"}

    @extend_schema(request=s.TrustAnchorWriteSerializer, responses=s.TrustAnchorSerializer)
    def create(self, request):
        body = _body(request)
        arguments = {key: body[key] for key in ("description", "enabled") if key in body}
        anchor = trust_anchors.trust_anchor_create(
            account=self.account, name=body.get("name"), source=body.get("source"), **arguments
        )
        return Response(s.TrustAnchorSerializer(anchor).data)

    @extend_schema(responses=s.TrustAnchorSerializer)
    def retrieve(self, request, trustAnchorId=None):
        return Response(s.TrustAnchorSerializer(self.get_object()).data)

    @extend_schema(request=s.TrustAnchorUpdateSerializer, responses=s.TrustAnchorSerializer)
    def partial_update(self, request, trustAnchorId=None):
        anchor = trust_anchors.trust_anchor_update(trust_anchor=self.get_object(), **_body(request))
        return Response(s.TrustAnchorSerializer(anchor).data)

    @extend_schema(responses=ProcessResultSerializer)
    def destroy(self, request, trustAnchorId=None):
        anchor = self.get_object()
        trust_anchors.trust_anchor_delete(trust_anchor=anchor)
        return process_result(anchor.trust_anchor_id)

    @extend_schema(request=None, responses=s.TrustAnchorSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, trustAnchorId=None):
        anchor = trust_anchors.trust_anchor_set_enabled(trust_anchor=self.get_object(), enabled=True)
        return Response(s.TrustAnchorSerializer(anchor).data)

    @extend_schema(request=None, responses=s.TrustAnchorSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, trustAnchorId=None):
        anchor = trust_anchors.trust_anchor_set_enabled(trust_anchor=self.get_object(), enabled=False)
        return Response(s.TrustAnchorSerializer(anchor).data)


@extend_schema(parameters=[OpenApiParameter("trustAnchorId", OpenApiTypes.UUID, OpenApiParameter.PATH)])
class CrlViewSet(mixins.ListModelMixin, ExternalAccessViewSet):
    """The CRLs of one trust anchor (``/trust-anchors/{trustAnchorId}/crls``), with their import progress."""

    queryset = Crl.objects.select_related("trust_anchor__account")
    serializer_class = s.CrlSerializer
    lookup_field = "crl_id"
    lookup_url_kwarg = "crlId"
    entity_name = "CRL"
    audit_resource_type = "Crl"
    created_id_field = "crlId"
    search_columns = {"name": "name"}

    def initialize_request(self, request, *args, **kwargs):
        request._crl_body_fits = _read_crl_body(request, settings.EXTERNAL_ACCESS_CRL_MAX_BYTES)
        return super().initialize_request(request, *args, **kwargs)

    def perform_authentication(self, request):
        if not getattr(request._request, "_crl_body_fits", True):
            limit = settings.EXTERNAL_ACCESS_CRL_MAX_BYTES
            raise BodyTooLarge(f"a CRL import's body is over {limit} bytes (EXTERNAL_ACCESS_CRL_MAX_BYTES)")
        super().perform_authentication(request)

    def trust_anchor(self) -> TrustAnchor:
        anchor_id = _uuid_or_404(self.kwargs["trustAnchorId"], "trust anchor")
        return trust_anchors.trust_anchor_for(self.account, str(anchor_id))

    def get_queryset(self):
        return self.queryset.filter(trust_anchor=self.trust_anchor())

    @extend_schema(request=s.CrlWriteSerializer, responses=s.CrlSerializer)
    def create(self, request, trustAnchorId=None):
        body = _body(request)
        arguments = {"enabled": body["enabled"]} if "enabled" in body else {}
        crl = crls.crl_create(
            trust_anchor=self.trust_anchor(), name=body.get("name"), crl_data=body.get("crlData"), **arguments
        )
        return Response(s.CrlSerializer(crl).data)

    @extend_schema(responses=s.CrlDetailSerializer)
    def retrieve(self, request, trustAnchorId=None, crlId=None):
        return Response(s.CrlDetailSerializer(self.get_object()).data)

    @extend_schema(request=s.CrlUpdateSerializer, responses=s.CrlSerializer)
    def partial_update(self, request, trustAnchorId=None, crlId=None):
        body = dict(_body(request))
        if "crlData" in body:
            body["crl_data"] = body.pop("crlData")
        crl = crls.crl_update(crl=self.get_object(), **body)
        return Response(s.CrlSerializer(crl).data)

    @extend_schema(responses=ProcessResultSerializer)
    def destroy(self, request, trustAnchorId=None, crlId=None):
        crl = self.get_object()
        crls.crl_delete(crl=crl)
        return process_result(crl.crl_id)

    @extend_schema(request=None, responses=s.CrlSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, trustAnchorId=None, crlId=None):
        return Response(s.CrlSerializer(crls.crl_set_enabled(crl=self.get_object(), enabled=True)).data)

    @extend_schema(request=None, responses=s.CrlSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, trustAnchorId=None, crlId=None):
        return Response(s.CrlSerializer(crls.crl_set_enabled(crl=self.get_object(), enabled=False)).data)


class ProfileViewSet(mixins.ListModelMixin, ExternalAccessViewSet):
    """Profiles: the Service roles a certificate may take on, and the longest session."""

    queryset = Profile.objects.select_related("account")
    serializer_class = s.ProfileSerializer
    lookup_field = "profile_id"
    lookup_url_kwarg = "profileId"
    entity_name = "profile"
    audit_resource_type = "Profile"
    created_id_field = "profileId"
    search_columns = {"name": "name"}

    @staticmethod
    def _arguments(body: dict) -> dict:
        wire = {"name": "name", "description": "description", "durationSeconds": "duration_seconds"}
        wire.update(enabled="enabled", roleIdList="role_ids")
        unknown = sorted(set(body) - set(wire))
        if unknown:
            raise InvalidInput.field(unknown[0], "is not a profile field")
        return {wire[key]: value for key, value in body.items()}

    @extend_schema(request=s.ProfileWriteSerializer, responses=s.ProfileSerializer)
    def create(self, request):
        profile = profiles.profile_create(account=self.account, **self._arguments(_body(request)))
        return Response(s.ProfileSerializer(profile).data)

    @extend_schema(responses=s.ProfileSerializer)
    def retrieve(self, request, profileId=None):
        return Response(s.ProfileSerializer(self.get_object()).data)

    @extend_schema(request=s.ProfileUpdateSerializer, responses=s.ProfileSerializer)
    def partial_update(self, request, profileId=None):
        profile = profiles.profile_update(profile=self.get_object(), **self._arguments(_body(request)))
        return Response(s.ProfileSerializer(profile).data)

    @extend_schema(responses=ProcessResultSerializer)
    def destroy(self, request, profileId=None):
        profile = self.get_object()
        profiles.profile_delete(profile=profile)
        return process_result(profile.profile_id)

    @extend_schema(request=None, responses=s.ProfileSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, profileId=None):
        return Response(s.ProfileSerializer(profiles.profile_set_enabled(profile=self.get_object(), enabled=True)).data)

    @extend_schema(request=None, responses=s.ProfileSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, profileId=None):
        profile = profiles.profile_set_enabled(profile=self.get_object(), enabled=False)
        return Response(s.ProfileSerializer(profile).data)


class SubjectViewSet(mixins.ListModelMixin, ExternalAccessViewSet):
    """Subject activity: the certificates of each subject DN and every session they asked for. Enabling and
    disabling a subject has no catalog action: the root key only."""

    queryset = Subject.objects.select_related("account")
    serializer_class = s.SubjectSerializer
    lookup_field = "subject_id"
    lookup_url_kwarg = "subjectId"
    entity_name = "subject"
    search_columns = {"x509Subject": "x509_subject"}

    def get_permissions(self):
        chosen = [CatalogActionPermission()]
        if self.action in ("enable", "disable"):
            chosen.append(MainAccountOnly())
        return chosen

    @extend_schema(responses=s.SubjectDetailSerializer)
    def retrieve(self, request, subjectId=None):
        subject = self.get_object()
        return Response(s.SubjectDetailSerializer(subject).data)

    @extend_schema(request=None, responses=s.SubjectSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, subjectId=None):
        return Response(s.SubjectSerializer(subjects.subject_set_enabled(subject=self.get_object(), enabled=True)).data)

    @extend_schema(request=None, responses=s.SubjectSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, subjectId=None):
        subject = subjects.subject_set_enabled(subject=self.get_object(), enabled=False)
        return Response(s.SubjectSerializer(subject).data)


class SessionsView(APIView):
    """``POST /auth/v1/sessions``: temporary keys of a Service role for a workload holding a trusted certificate.
    Signed with the certificate's key (``iam.gateway.certificate_authentication``), not with an access key."""

    authentication_classes = [CertificateSignatureAuthentication]
    permission_classes = []

    def get_exception_handler(self):
        return exception_handler

    @extend_schema(
        request=s.SessionRequestSerializer,
        responses={201: s.SessionSerializer},
        auth=[],
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, required=name != x509_signing.CHAIN_HEADER)
            for name in (
                x509_signing.TIMESTAMP_HEADER,
                x509_signing.ALGORITHM_HEADER,
                x509_signing.CERTIFICATE_HEADER,
                x509_signing.CHAIN_HEADER,
                x509_signing.SIGNATURE_HEADER,
            )
        ],
    )
    def post(self, request):
        input_guard.check_query(request.query_params)
        issued = sessions.session_create(presented=request.auth, body=request.data)
        key = issued.key
        to_text = s.serializers.DateTimeField().to_representation
        body = {
            "roleNrn": issued.role_nrn,
            "credential": {
                "accessKey": key.access_key,
                "keySecret": issued.secret,
                "createTime": to_text(key.create_time),
                "expireTime": to_text(key.expire_time),
            },
        }
        return Response(body, status=201)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        reason = getattr(request, "audit_refusal", None)
        if response.status_code in (401, 429) and reason:
            try:
                body = request.data
            except Exception:  # noqa: BLE001 - an unreadable body names no subject
                body = None
            sessions.refused_before_trust(
                presented=getattr(request._request, "presented_certificate", None)
                or getattr(request, "presented_certificate", None),
                body=body,
                reason=reason,
            )
        return response

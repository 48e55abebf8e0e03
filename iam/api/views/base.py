"""What every Sub Account viewset shares: tenancy from the signed caller, wire-format helpers."""

import uuid

from django.db import transaction
from rest_framework import exceptions, viewsets
from rest_framework.response import Response

from iam import audit, nrn
from iam.authentication import record_refused_key
from iam.errors import InvalidInput, NotFound
from iam.filtersets import NcpSearchFilter
from iam.models import Account, AuditEvent


def process_result(object_id=None, **extra) -> Response:
    body = {"success": True}
    if object_id is not None:
        body["id"] = str(object_id)
    body.update(extra)
    return Response(body)


def valid_data(serializer_class, request, *, partial: bool = False) -> dict:
    """The validated body (only the fields sent, when partial); DRF raises 400 with field errors otherwise."""
    if not isinstance(request.data, dict):
        raise InvalidInput.field("body", "must be a JSON object")
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class AccountScopedViewSet(viewsets.GenericViewSet):
    """Rows of the caller's main account only; another account's id is simply not found."""

    lookup_is_uuid = True
    search_columns: dict[str, str] = {}

    @property
    def account(self) -> Account:
        return self.request.account

    @property
    def filter_backends(self):
        from django_filters.rest_framework import DjangoFilterBackend

        return [DjangoFilterBackend, NcpSearchFilter]

    def initial(self, request, *args, **kwargs):
        # An unsupported method is a 405 before anything else (not a permission question).
        if getattr(self, "action_map", None) is not None and request.method.lower() not in self.action_map:
            raise exceptions.MethodNotAllowed(request.method)
        # Policies name a resource by the canonical (lower-case, hyphenated) UUID in its NRN, and the permission
        # check builds the NRN from the URL: spell the id canonically first, or an upper-case or unhyphenated id
        # would find the row while slipping past a Deny on its NRN.
        value = self.kwargs.get(self.lookup_url_kwarg) if self.lookup_url_kwarg else None
        if value is not None and self.lookup_is_uuid:
            try:
                self.kwargs[self.lookup_url_kwarg] = str(uuid.UUID(value))
            except ValueError:
                pass  # not a UUID: get_object() answers 404
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        return self.queryset.for_account(self.account)

    # The kind of resource a create makes (its NRN is built from the id in the response), for the audit trail.
    audit_resource_type: str | None = None
    SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

    def dispatch(self, request, *args, **kwargs):
        # A change, its audit event, its outbox messages and its version bump commit together or not at all.
        if request.method in self.SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 500:
                # An unexpected error after a service wrote: undo everything, so no secret is issued unseen.
                transaction.set_rollback(True)
        if response.status_code >= 500:
            self._audit_after_rollback(self.request, response)  # the DRF request, which carries the audit facts
        return response

    def check_permissions(self, request):
        try:
            super().check_permissions(request)
        except exceptions.PermissionDenied:
            # The permission has recorded the denial; the refused call is not also a failed change.
            request.audit_requests = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        self._audit_refused_key(request, response)
        requests = getattr(request, "audit_requests", None)
        if requests and request.method not in self.SAFE_METHODS and response.status_code < 500:
            self._audit(request, response, requests)
        return response

    @staticmethod
    def _audit_refused_key(request, response) -> None:
        """A refused signature or key of a known account is a denied request of that account (unknown keys name no
        account, so they stay in the logs only)."""
        key = getattr(request, "audit_key", None)
        reason = getattr(request, "audit_refusal", None)
        if key is None or reason is None or response.status_code != 401:
            return
        record_refused_key(request, key, reason)

    def _audit_after_rollback(self, request, response) -> None:
        requests = getattr(request, "audit_requests", None)
        if requests:
            self._audit(request, response, requests, after_rollback=True)

    def _audit(self, request, response, requests, after_rollback: bool = False) -> None:
        """One event per authorized change action, with the outcome (failures too); reads made with POST (validation,
        simulation) record nothing, like every other read."""
        requests = [r for r in requests if not r.action.startswith("View/")]
        if not requests:
            return
        ok = response.status_code < 400
        data = response.data if isinstance(response.data, dict) else {}
        detail = {"method": request.method, "path": request.path, "status": response.status_code}
        if not ok and "errorCode" in data:
            detail["errorCode"] = data["errorCode"]
        if not after_rollback:  # a rolled-back change issued nothing
            detail.update(getattr(request, "audit_detail", {}))
        created = data.get("id") if ok and self.action == "create" else None
        principal = request.user
        for authorized in requests:
            resource = authorized.resource
            if resource is None and created and self.audit_resource_type:
                resource = nrn.build(nrn.IAM, principal.member_no, self.audit_resource_type, created)
            audit.record(
                account_id=principal.account_id,
                action=f"{authorized.product}:{authorized.action}",
                resource=resource or "*",
                result=AuditEvent.SUCCESS if ok else AuditEvent.FAILED,
                detail=detail,
            )

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg]
        if self.lookup_is_uuid:
            try:
                value = uuid.UUID(value)
            except ValueError:
                raise NotFound("Not found") from None
        obj = self.get_queryset().filter(**{self.lookup_field: value}).first()
        if obj is None:
            raise NotFound(f"no such {self.entity_name}")
        return obj

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["member_no"] = self.account.member_no
        return context

"""What every Sub Account viewset shares: tenancy from the signed caller, wire-format helpers."""

import logging
import uuid

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, models, transaction
from rest_framework import exceptions, viewsets
from rest_framework.response import Response

from iam import audit
from iam.api import input_guard
from iam.api.errors import database_unavailable_response
from iam.api.filtersets import NcpFilterBackend, NcpSearchFilter
from iam.api.pagination import CompiledList
from iam.errors import InvalidInput, NotFound, ServiceError
from iam.gateway.authentication import record_refused_key
from iam.models import Account, AuditEvent
from iam.policy import nrn

logger = logging.getLogger(__name__)
AUDIT_RESOURCE_LENGTH = AuditEvent._meta.get_field("resource").max_length


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

    filter_backends = (NcpFilterBackend, NcpSearchFilter)

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

    def perform_authentication(self, request):
        super().perform_authentication(request)
        # Once the caller is known (so a refusal is an event of its account) and before anything builds an NRN,
        # authorizes, queries or audits with them: no input the database cannot store, no id longer than its column.
        try:
            input_guard.check_path(
                self.kwargs,
                lookup=self.lookup_url_kwarg or self.lookup_field,
                max_length=self._lookup_max_length(),
                entity=getattr(self, "entity_name", "resource"),
            )
            input_guard.check_query(request.query_params)
            request.data  # noqa: B018 - parsing checks the body (iam.api.parsers.GuardedJSONParser)
        except (ServiceError, exceptions.APIException, RequestDataTooBig) as exc:
            self._audit_refused_input(request, exc)
            raise

    def _lookup_max_length(self) -> int | None:
        """The longest path id that can name a row: a canonical UUID, a bigint, or the lookup column's length."""
        if self.queryset is None or (self.lookup_url_kwarg or self.lookup_field) not in self.kwargs:
            return None
        if self.lookup_is_uuid:
            return 36  # initial() has spelled every UUID canonically by now
        meta = self.queryset.model._meta
        field = meta.pk if self.lookup_field == "pk" else meta.get_field(self.lookup_field)
        if isinstance(field, (models.IntegerField, models.AutoField)):
            return len(str(2**63))
        return field.max_length

    def get_queryset(self):
        return self.queryset.for_account(self.account)

    def paginate_queryset(self, queryset):
        # A list's rows are the caller's account's (get_queryset), and the caller's account is already loaded: the
        # page need not join and build it again for every row (a third of the page query). The rows get that one.
        token, account_id = getattr(queryset, "tenancy_of", (None, None))
        related = queryset.query.select_related
        own_account = related == {"account": {}}
        if own_account:
            queryset = queryset.select_related(None)
        own_token = getattr(self.queryset, "__dict__", {}).get("tenancy_token")  # a view may have no queryset
        if token is not None and token is own_token and account_id == self.account.pk:
            # The view's own queryset for the caller's account and nothing more (no filter, no search): its SQL is
            # compiled once per process and run with each caller's account id.
            queryset = CompiledList.of(token, queryset, account_id) or queryset
        page = super().paginate_queryset(queryset)
        if own_account and page is not None:
            account = self.account
            for row in page:
                if row.account_id == account.pk:
                    row.account = account
        return page

    # The kind of resource a create makes (its NRN is built from the id in the response), for the audit trail: the
    # NRN's product, its resource type, and the response field that holds the new id.
    audit_resource_type: str | None = None
    audit_nrn_product: str = nrn.IAM
    created_id_field: str = "id"
    SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

    def dispatch(self, request, *args, **kwargs):
        # A change, its audit event, its outbox messages and its version bump commit together or not at all.
        if request.method in self.SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        try:
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)
                if response.status_code >= 500:
                    # An unexpected error after a service wrote: undo everything, so no secret is issued unseen.
                    transaction.set_rollback(True)
        except (OperationalError, InterfaceError) as exc:
            # The database went away opening or committing the transaction (outside DRF's exception handler).
            return database_unavailable_response(exc)
        if response.status_code >= 500:
            try:
                self._audit_after_rollback(self.request, response)  # the DRF request, which carries the facts
            except (OperationalError, InterfaceError) as exc:
                logger.warning("audit after rollback not written: database unavailable (%s)", type(exc).__name__)
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
        record_refused_key(request, key, reason, path=_path(request))

    @staticmethod
    def _audit_refused_input(request, exc) -> None:
        """Input refused before authorization (unstorable text, an id that cannot exist, a body that does not
        parse) is a denied request of the caller's account, so probing with it leaves a trace like any other."""
        if isinstance(exc, ServiceError):
            status, reason = exc.status, exc.message
        elif isinstance(exc, exceptions.APIException):
            status, reason = exc.status_code, str(exc.detail)
        else:
            status, reason = 413, "request body too large"
        if request.user is None:
            return
        audit.record(
            account_id=request.user.account_id,
            action="Gateway:validateRequest",
            resource=_path(request, AUDIT_RESOURCE_LENGTH),
            result=AuditEvent.DENIED,
            detail={"reason": reason, "method": request.method, "path": _path(request), "status": status},
        )

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
        detail = {"method": request.method, "path": _path(request), "status": response.status_code}
        if not ok and "errorCode" in data:
            detail["errorCode"] = data["errorCode"]
        if not after_rollback:  # a rolled-back change issued nothing
            detail.update(getattr(request, "audit_detail", {}))
        created = data.get(self.created_id_field) if ok and self.action == "create" else None
        principal = request.user
        for authorized in requests:
            resource = authorized.resource
            if resource is None and created and self.audit_resource_type:
                resource = nrn.build(self.audit_nrn_product, principal.member_no, self.audit_resource_type, created)
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


def _path(request, limit: int | None = None) -> str:
    """The request path as the audit trail can store it (it may carry a NUL the guard is about to refuse)."""
    return input_guard.printable(request.path, limit)

"""DRF permission: every endpoint's catalog action, decided by the authorization component."""

import logging

from rest_framework import exceptions, permissions

from iam import audit
from iam.gateway.authz import get_authorizer
from iam.gateway.endpoint_actions import requests_for
from iam.models import AuditEvent

logger = logging.getLogger("iam.gateway.authz")


class GatewayPermissionDenied(exceptions.PermissionDenied):
    """401 with the gateway body errorCode 210."""


class CatalogActionPermission(permissions.BasePermission):
    """Allows a call only when the principal may perform every catalog action the endpoint needs."""

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if principal is None or not getattr(principal, "is_authenticated", False):
            return False
        requests = requests_for(view, request, principal.member_no)
        if not requests:
            # An endpoint missing from the table is a programming error: fail closed.
            raise GatewayPermissionDenied("this endpoint and method have no catalog action")
        request.audit_requests = requests
        body = request.data if isinstance(request.data, dict) else {}
        tags = body.get("tags") if isinstance(body.get("tags"), dict) else None
        decision = get_authorizer().authorize(principal, requests, request_tags=tags)
        if not decision.allowed:
            denied = decision.denied_request
            where = denied.resource or "*"
            logger.info(
                "authorization denied",
                extra={"principal": principal.nrn, "action": f"{denied.product}:{denied.action}", "resource": where},
            )
            audit.record(
                account_id=principal.account_id,
                action=f"{denied.product}:{denied.action}",
                resource=denied.resource or "*",
                result=AuditEvent.DENIED,
                detail={"reason": decision.reason, "method": request.method, "path": request.path},
            )
            raise GatewayPermissionDenied(f"{denied.product}:{denied.action} on {where} is not allowed")
        return True

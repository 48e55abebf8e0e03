"""The one exception handler: gateway errors and service errors in the wire format."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from iam.errors import ServiceError

logger = logging.getLogger(__name__)

# How long a caller should wait before retrying when the database does not answer.
DATABASE_RETRY_AFTER_SECONDS = 5


def gateway_body(error_code: str, message: str, details: str = "") -> dict:
    body = {"errorCode": error_code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def service_body(error_code: int, message: str, field_errors=()) -> dict:
    return {
        "errorCode": error_code,
        "message": message,
        "fieldErrors": [{"field": f, "message": m} for f, m in field_errors],
    }


def _database_unavailable(exc) -> tuple[dict, dict]:
    """Body and headers of the answer when the database cannot be reached: 503, retry later. Only the error's
    class is logged: a driver's message can name hosts and users."""
    logger.warning("database unavailable (%s)", type(exc).__name__)
    body = gateway_body("500", "Endpoint Error", "the service's database is unavailable: retry later")
    return body, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


def database_unavailable_response(exc) -> JsonResponse:
    """The same answer outside DRF's exception handler (the database failed opening or committing a transaction)."""
    body, headers = _database_unavailable(exc)
    return JsonResponse(body, status=503, headers=headers)


def _flatten(detail, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(isinstance(d, (str, exceptions.ErrorDetail)) for d in detail):
            return [(prefix, str(d)) for d in detail]
        out = []
        for index, item in enumerate(detail):
            if item:
                out.extend(_flatten(item, f"{prefix}[{index}]"))
        return out
    return [(prefix, str(detail))]


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(service_body(exc.error_code, exc.message, exc.field_errors), status=exc.status)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = Response(gateway_body("200", "Authentication Failed", str(exc.detail)), status=401)
        response["WWW-Authenticate"] = "NCP-APIGW-SIGNATURE"
        return response
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return Response(gateway_body("210", "Permission Denied", str(getattr(exc, "detail", ""))), status=401)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(gateway_body("100", "Bad Request Exception", f"request body is over {limit} bytes"), status=413)
    if isinstance(exc, exceptions.ParseError):
        return Response(gateway_body("100", "Bad Request Exception", str(exc.detail)), status=400)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        message = "; ".join(f"{f}: {m}" if f else m for f, m in errors) or "Invalid input"
        return Response(service_body(9000, message, errors), status=400)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(service_body(30, "Not found"), status=404)
    if isinstance(exc, exceptions.Throttled):
        return Response(gateway_body("420", "Rate Limited", str(exc.detail)), status=429)
    if isinstance(exc, exceptions.APIException):
        return Response(service_body(exc.status_code, str(exc.detail)), status=exc.status_code)
    if isinstance(exc, (OperationalError, InterfaceError)):
        body, headers = _database_unavailable(exc)
        return Response(body, status=503, headers=headers)
    logger.exception("unexpected error in %s", context.get("view").__class__.__name__)
    return Response(gateway_body("900", "Unexpected Error"), status=500)


def not_found_view(request, exception=None):
    """Unknown routes: the gateway's 404 body."""
    return JsonResponse(gateway_body("300", "Not Found Exception", "no such route"), status=404)


def server_error_view(request):
    return JsonResponse(gateway_body("900", "Unexpected Error"), status=500)

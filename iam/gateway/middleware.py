"""Request id and actor for every request: logs, audit events and the X-Request-Id response header share one id;
API responses are never stored by a cache on the way."""

import re

from django.utils.cache import add_never_cache_headers

from iam import audit
from iam.gateway.authentication import client_ip

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Takes a well-formed X-Request-Id from the caller or makes one; marks staff users as the actor in the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _VALID_ID.match(incoming) else audit.new_request_id()
        request.request_id = request_id
        # Only the admin has staff users; reading request.user elsewhere would cost a query on every API call.
        user = getattr(request, "user", None) if request.path.startswith("/admin/") else None
        actor = None
        if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False):
            actor = audit.Actor(f"staff:{user.get_username()}", "Staff", client_ip(request))
        request_token = audit.set_request_id(request_id)
        actor_token = audit.set_actor(actor)
        try:
            response = self.get_response(request)
        finally:
            audit.reset_actor(actor_token)
            audit.reset_request_id(request_token)
        response["X-Request-Id"] = request_id
        return response


class ApiNoStoreMiddleware:
    """Every API response says ``Cache-Control: no-store``: several carry a secret shown once (a new key, STS
    credentials), and the rest are one account's private data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(("/api/v1/", "/auth/v1/")):
            add_never_cache_headers(response)
        return response

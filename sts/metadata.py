"""The metadata endpoint a registered server reads its Server role's keys from, as NCP's SDKs do:

- ``GET /latest/meta-data/iam/security-credentials`` (with or without the trailing slash) answers the role's id
  (its roleNo) as plain text with no trailing newline: the Python SDK uses the whole body as the id;
- ``GET /latest/meta-data/iam/security-credentials/{roleId}`` answers ``{"AccessKeyId", "SecretAccessKey",
  "Expiration"}`` (ISO 8601, UTC), a key that signs API calls with the role's policies.

The caller is recognised as a registered server by its ``X-Ncloud-Metadata-Token`` header (a token shown once when
the server is registered or its token reset) or, when it sends none and IAM_METADATA_BY_ADDRESS is on, by the
address it calls from (REMOTE_ADDR, or the trusted proxies' X-Forwarded-For) matching exactly one server's private
or public address. Anyone else, and a server without an enabled Server role, gets 404 with an empty body.
Plain Django views: outside the signed API and its schema, like the health probes.
"""

import ipaddress
import json
import logging

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse
from django.views.decorators.http import require_safe

from iam.errors import ServiceError
from iam.gateway.authentication import client_ip
from iam.models import Server
from iam.services.servers import metadata_token_hash
from sts.services import server_role_credentials

logger = logging.getLogger("sts.metadata")

TOKEN_HEADER = "X-Ncloud-Metadata-Token"
TOKEN_MAX_LENGTH = 200


def _not_found() -> HttpResponse:
    return HttpResponse(b"", status=404, content_type="text/plain")


def caller_server(request) -> Server | None:
    """The registered server making this request, or None."""
    servers = Server.objects.select_related("account", "role")
    token = request.headers.get(TOKEN_HEADER)
    if token is not None:
        # A token names its server; a wrong one names nobody (never fall back to the address).
        if not token or len(token) > TOKEN_MAX_LENGTH:
            return None
        return servers.filter(metadata_token_hash=metadata_token_hash(token)).first()
    if not settings.IAM_METADATA_BY_ADDRESS:
        return None
    try:
        address = str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None
    found = list(servers.filter(Q(private_ip=address) | Q(public_ip=address))[:2])
    if len(found) != 1:
        if found:
            logger.warning("metadata: %s is the address of more than one server; use the token header", address)
        return None
    return found[0]


def _usable_role_no(server: Server | None) -> str | None:
    if server is None or not server.account.active:
        return None
    role = server.role
    if role is None or not role.active:
        return None
    return role.role_no


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def role_list(request) -> HttpResponse:
    """The server's role id, plain text, no newline."""
    role_no = _usable_role_no(caller_server(request))
    if role_no is None:
        return _not_found()
    return _no_store(HttpResponse(role_no.encode("ascii"), content_type="text/plain"))


@require_safe
def role_credentials(request, role_id: str) -> HttpResponse:
    """The server's current key of that role (the same one until it nears expiry)."""
    server = caller_server(request)
    role_no = _usable_role_no(server)
    if role_no is None or role_id != role_no:
        return _not_found()
    try:
        key, secret = server_role_credentials(server=server)
    except ServiceError:  # the role went (or was disabled) since the lookup above
        return _not_found()
    body = {
        "AccessKeyId": key.access_key,
        "SecretAccessKey": secret,
        "Expiration": key.expire_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return _no_store(HttpResponse(json.dumps(body), content_type="application/json"))

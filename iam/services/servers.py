"""The server inventory: register, change and remove servers, and issue their metadata tokens.

A server's role is set from the role's side (``role_servers_attach`` in iam.services.roles). Its metadata token is
a secret: only its SHA-256 is stored, and the token itself is returned once, by the call that made it.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from iam.errors import Conflict, QuotaExceeded
from iam.models import Account, Server
from iam.services import validation

SERVER_WIRE_NAMES = {
    "name": "serverName",
    "server_instance_no": "serverInstanceNo",
    "private_ip": "privateIp",
    "public_ip": "publicIp",
    "role": "roleNo",
}
METADATA_TOKEN_PREFIX = "nmt_"
# Which unique constraint a clash hit -> the wire field to name.
_UNIQUE_FIELDS = (
    ("server_instance_no", "serverInstanceNo"),
    ("name", "serverName"),
    ("private_ip", "privateIp"),
    ("public_ip", "publicIp"),
)


def new_metadata_token() -> str:
    return METADATA_TOKEN_PREFIX + secrets.token_urlsafe(32)


def metadata_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _clash(server: Server) -> Conflict | None:
    """A 409 naming the field another server already holds, or None."""
    others = Server.objects.exclude(pk=server.pk)
    checks = [
        ("serverInstanceNo", others.filter(account_id=server.account_id, server_instance_no=server.server_instance_no)),
        ("serverName", others.filter(account_id=server.account_id, name=server.name)),
    ]
    if server.private_ip:
        checks.append(("privateIp", others.filter(account_id=server.account_id, private_ip=server.private_ip)))
    if server.public_ip:
        # Public addresses are unique everywhere; say so without saying whose server has it.
        checks.append(("publicIp", others.filter(public_ip=server.public_ip)))
    for field, queryset in checks:
        if queryset.exists():
            return Conflict(f"{field}: already in use", field_errors=[(field, "already in use")])
    return None


def _save(server: Server) -> Server:
    validation.full_clean(server, SERVER_WIRE_NAMES)
    clash = _clash(server)
    if clash is not None:
        raise clash
    try:
        with transaction.atomic():
            server.save()
    except IntegrityError:
        # A concurrent registration won the race past the check above.
        raise _clash(server) or Conflict("the server clashes with another one") from None
    return server


@transaction.atomic
def server_create(
    *,
    account: Account,
    server_instance_no: str,
    name: str,
    private_ip: str | None = None,
    public_ip: str | None = None,
    tags: dict | None = None,
    with_metadata_token: bool = False,
) -> tuple[Server, str | None]:
    """Register a server; with ``with_metadata_token`` also issue its metadata token (returned once, here)."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if Server.objects.for_account(locked).count() >= settings.IAM_MAX_SERVERS:
        raise QuotaExceeded(f"an account has at most {settings.IAM_MAX_SERVERS} registered servers")
    token = new_metadata_token() if with_metadata_token else None
    server = Server(
        account=locked,
        server_instance_no=server_instance_no,
        name=name,
        private_ip=private_ip or None,
        public_ip=public_ip or None,
        tags=validation.tags(tags),
        metadata_token_hash=metadata_token_hash(token) if token else "",
    )
    return _save(server), token


@transaction.atomic
def server_update(*, server: Server, **changes) -> Server:
    """Change a server's name, addresses or tags (its instance number names it for good)."""
    locked = Server.objects.select_for_update(of=("self",)).select_related("account", "role").get(pk=server.pk)
    if "tags" in changes:
        changes["tags"] = validation.tags(changes["tags"])
    for field in ("private_ip", "public_ip"):
        if field in changes:
            changes[field] = changes[field] or None
    for field, value in changes.items():
        setattr(locked, field, value)
    return _save(locked)


@transaction.atomic
def server_metadata_token_reset(*, server: Server) -> str:
    """A new metadata token for the server (the old one stops working); returned once, here."""
    token = new_metadata_token()
    Server.objects.filter(pk=server.pk).update(metadata_token_hash=metadata_token_hash(token))
    return token


@transaction.atomic
def server_delete(*, server: Server) -> None:
    """Remove a server from the inventory: it loses its role, and the role keys issued to it are deleted with it."""
    Server.objects.filter(pk=server.pk).delete()

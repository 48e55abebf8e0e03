"""Signed API calls: the API Gateway signature (v2, and v1 with the same algorithm) on every ``/api/v1/`` call."""

import functools
import hashlib
import ipaddress
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions

from iam import audit
from iam.gateway import replay, signing
from iam.gateway.principals import main_account_principal, role_session_principal, sub_account_principal
from iam.models import AccessKey, AuditEvent
from iam.secrets import decrypt_secret
from iam.selectors import access_key_for_signature
from iam.services.accounts import access_key_mark_used


class GatewayAuthenticationFailed(exceptions.AuthenticationFailed):
    """401 with the gateway body (errorCode 200); ``detail`` is what the caller reads, ``reason`` what the audit trail
    of the key's account records. Neither ever holds a secret."""

    def __init__(self, detail: str, reason: str | None = None):
        super().__init__(detail)
        self.reason = reason or detail


# Unknown key, wrong signature, stale or malformed timestamp and a replayed signature all read the same, so a caller
# cannot tell which access keys exist; the real reason goes to the key's audit trail.
REFUSED = "the signature, timestamp or access key could not be verified"


ACCESS_KEY_MAX_LENGTH = AccessKey._meta.get_field("access_key").max_length


def refused(reason: str) -> GatewayAuthenticationFailed:
    return GatewayAuthenticationFailed(REFUSED, reason)


def request_uri(request) -> str:
    """The path and query exactly as sent (gunicorn passes RAW_URI; otherwise rebuild it from the WSGI parts)."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        return raw
    query = request.META.get("QUERY_STRING", "")
    path = request.META.get("SCRIPT_NAME", "") + request.path_info
    return f"{path}?{query}" if query else path


@functools.cache
def _trusted_proxies(setting: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in setting)


def _is_trusted_proxy(address: str) -> bool:
    networks = _trusted_proxies(tuple(settings.IAM_TRUSTED_PROXIES))
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The caller's address: REMOTE_ADDR, or behind proxies listed in IAM_TRUSTED_PROXIES the nearest address of
    X-Forwarded-For that is not one of them (only trusted proxies may say who the caller is)."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a forged or broken header: the proxy's own address, never the text sent
        remote = hop
    return remote


def _ip_allowed(ip: str, sources: list[dict]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for source in sources:
        if source.get("type") == "IP":
            try:
                if address in ipaddress.ip_network(source.get("source", ""), strict=False):
                    return True
            except ValueError:
                continue
    return False


def _minute() -> int:
    return int(time.time() // 60)


def _source_key(ip: str) -> str:
    return f"iam:auth-failures:{ip}:{_minute()}"


def _count(cache_key: str) -> int:
    """Add one to a per-minute counter in the shared cache; 0 when the cache does not answer (fail open: the
    signature check itself still runs)."""
    try:
        cache.add(cache_key, 0, timeout=120)
        return cache.incr(cache_key)
    except Exception:  # noqa: BLE001 - a dead cache must not turn every call into an error
        return 0


def failed_signature_counted(ip: str) -> None:
    """Count one failed signature check of ``ip`` this minute (what ``source_throttled`` reads)."""
    _count(_source_key(ip))


def source_throttled(ip: str) -> bool:
    """Whether ``ip`` has failed the signature check too often this minute."""
    limit = settings.IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE
    if limit <= 0:
        return False
    try:
        return (cache.get(_source_key(ip)) or 0) >= limit
    except Exception:  # noqa: BLE001 - as in _count
        return False


class SignatureAuthentication(authentication.BaseAuthentication):
    """Verifies the three signature headers and turns the key into a Principal."""

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when authentication fails.
        return "NCP-APIGW-SIGNATURE"

    def authenticate(self, request):
        try:
            return self._authenticate(request)
        except GatewayAuthenticationFailed as failure:
            if failure.detail == REFUSED:
                ip = client_ip(request)
                if source_throttled(ip):
                    # Past the limit a failure is answered 429 and recorded no more; a good signature from the same
                    # address (a client sharing a NAT) still gets through.
                    raise exceptions.Throttled(
                        detail="too many failed signatures from this address; try again in a minute"
                    ) from None
                failed_signature_counted(ip)
            request.audit_refusal = failure.reason
            raise

    def _authenticate(self, request):
        headers = request.headers
        timestamp = headers.get(signing.TIMESTAMP_HEADER)
        access_key = headers.get(signing.ACCESS_KEY_HEADER)
        signature = headers.get(signing.SIGNATURE_V2_HEADER) or headers.get(signing.SIGNATURE_V1_HEADER)
        missing = [
            name
            for name, value in (
                (signing.TIMESTAMP_HEADER, timestamp),
                (signing.ACCESS_KEY_HEADER, access_key),
                (signing.SIGNATURE_V2_HEADER, signature),
            )
            if not value
        ]
        if missing:
            raise GatewayAuthenticationFailed(f"missing header: {', '.join(missing)}")
        if "\x00" in access_key or len(access_key) > ACCESS_KEY_MAX_LENGTH:
            raise refused("unknown access key")  # no such key can exist (and the database would refuse a NUL)
        ip = client_ip(request)
        key = access_key_for_signature(access_key)
        if key is None:
            raise refused("unknown access key")
        request.audit_key = key  # from here on, a refusal is a denied request of the key's account
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            raise refused("x-ncp-apigw-timestamp must be milliseconds since the epoch")
        millis = int(timestamp)
        skew = abs(timezone.now().timestamp() * 1000 - millis) / 1000
        if skew > settings.IAM_SIGNATURE_MAX_SKEW_SECONDS:
            raise refused("timestamp is more than 5 minutes from the server clock")
        # Verify the signature before saying anything more specific about the key.
        secret = decrypt_secret(key.secret_encrypted)
        if not signing.verify_request(secret, signature, request.method, request_uri(request), timestamp, access_key):
            raise refused("signature does not match")
        if replay.applies_to(request.method) and not replay.signature_first_use(
            access_key=access_key, signature=signature, timestamp_millis=millis
        ):
            raise refused("signature already used: a signed write is accepted once")
        now = timezone.now()
        if not key.active:
            raise GatewayAuthenticationFailed("access key is disabled")
        if key.expire_time is not None and key.expire_time <= now:
            raise GatewayAuthenticationFailed("access key has expired")
        account = key.account
        if not account.active:
            raise GatewayAuthenticationFailed("account is suspended")
        if key.kind == AccessKey.ROOT:
            principal = main_account_principal(account, access_key=key.access_key, source_ip=ip)
        elif key.role_id is not None:
            principal = self._role_session(key, account, ip, now)
        elif key.sub_account_id is None:
            # A key that belongs to no principal this service knows (never the root account by default).
            raise GatewayAuthenticationFailed("access key has no principal")
        else:
            sub = self._usable_sub_account(key, account, ip)
            principal = sub_account_principal(
                sub, account, access_key=key.access_key, source_ip=ip, mfa_present=key.mfa_present
            )
        access_key_mark_used(key=key, now=now)
        audit.set_actor(audit.Actor(actor_name(principal), principal.principal_type, ip))
        request.account = account
        return principal, key

    @staticmethod
    def _usable_sub_account(key: AccessKey, account, ip: str):
        """The key's sub account, if it may call the API from ``ip`` right now (its own keys and the role sessions
        it started alike: suspending it ends them at once)."""
        sub = key.sub_account
        if not sub.active:
            raise GatewayAuthenticationFailed("sub account is suspended")
        if not sub.can_api_gateway_access:
            raise GatewayAuthenticationFailed("sub account may not use the API (canAPIGatewayAccess is false)")
        if sub.use_api_allow_source and not _ip_allowed(ip, sub.api_allow_sources):
            raise GatewayAuthenticationFailed("caller is outside the sub account's API allow sources")
        if sub.account_id == account.pk:
            sub.account = account  # spares a query; a session of another account's role keeps its own
        return sub

    def _role_session(self, key: AccessKey, account, ip: str, now):
        """A role session's key: usable while its role is enabled, it has been used within the role's session
        expiration (Account roles), and the sub account behind it (if any) may use the API."""
        role = key.role
        if role.account_id != account.pk:
            raise GatewayAuthenticationFailed("access key has no principal")
        if not role.active:
            raise GatewayAuthenticationFailed("role is disabled")
        idle = role.session_expiration_sec
        if idle and (key.last_used_time or key.create_time) + timedelta(seconds=idle) <= now:
            raise GatewayAuthenticationFailed(f"role session expired after {idle} s without use")
        sub = self._usable_sub_account(key, account, ip) if key.sub_account_id is not None else None
        return role_session_principal(
            role,
            account,
            source_identity_type=key.source_identity_type,
            source_identity_id=key.source_identity_id,
            access_key=key.access_key,
            source_ip=ip,
            mfa_present=key.mfa_present,
            sub_account_no=sub.sub_account_no if sub is not None else None,
        )


def actor_name(principal) -> str:
    """Who the audit trail names: the principal's NRN; for a role session, the role's NRN followed by whoever is
    behind the session (``.../Role/<roleNo>/SubAccount/<subAccountId>``)."""
    if principal.is_role_session:
        source = principal.extra.get("sourceIdentityType"), principal.extra.get("sourceIdentityId")
        if all(source):
            return f"{principal.nrn}/{source[0]}/{source[1]}"
    return principal.nrn


def record_refused_key(request, key: AccessKey, reason: str, *, path: str) -> None:
    """A refused signature or key of a known account is a denied request of that account, recorded once per key and
    reason each minute with a count of the repeats, so knowing a key id does not let anyone flood the trail."""
    digest = hashlib.sha256(f"{key.pk}\n{reason}".encode()).hexdigest()[:32]
    marker = f"iam:auth-refused:{digest}:{_minute()}"
    repeats = _count(marker + ":n")
    if repeats > 1:
        try:
            event_id = cache.get(marker)
        except Exception:  # noqa: BLE001 - without the cache every refusal is its own event
            event_id = None
        if event_id:
            event = AuditEvent.objects.filter(pk=event_id).only("detail").first()
            if event is not None:
                AuditEvent.objects.filter(pk=event_id).update(detail={**event.detail, "count": repeats})
            return
    event = audit.record(
        account_id=key.account_id,
        action="Gateway:authenticate",
        resource=f"accessKey/{key.access_key}",
        result=AuditEvent.DENIED,
        detail={"reason": reason, "method": request.method, "path": path, "count": 1},
        actor=audit.Actor(f"accessKey:{key.access_key}", "AccessKey", client_ip(request)),
    )
    try:
        cache.set(marker, event.pk, timeout=120)
    except Exception:  # noqa: BLE001 - as above
        pass

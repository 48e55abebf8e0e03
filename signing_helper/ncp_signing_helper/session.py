"""One call to ``POST {endpoint}/auth/v1/sessions``: the signed request, and the temporary keys or a clear error."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ncp_signing_helper import __version__
from ncp_signing_helper.errors import HelperError

if TYPE_CHECKING:  # version and help run without loading cryptography
    from ncp_signing_helper.signer import Identity

SESSIONS_PATH = "/auth/v1/sessions"
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"  # the server `make run` starts; a deployment passes --endpoint
DEFAULT_DURATION_SECONDS = 3600
MIN_DURATION_SECONDS, MAX_DURATION_SECONDS = 600, 43200
TIMEOUT_SECONDS = 30
_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class Credentials:
    """Temporary keys of a role session and when they stop working."""

    access_key_id: str
    secret_access_key: str = field(repr=False)  # never in a traceback or a log line
    expiration: datetime  # timezone-aware

    @property
    def expiration_text(self) -> str:
        """RFC 3339 in UTC, the form NCP's Go SDK (time.Time) and Python SDK (dateutil) both parse."""
        return self.expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def metadata_document(self) -> dict:
        """The body of the metadata endpoint's ``security-credentials/{roleId}``."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Expiration": self.expiration_text,
        }

    def process_document(self) -> dict:
        """What ``credential-process`` prints."""
        return {"Version": 1, **self.metadata_document()}


@dataclass(frozen=True)
class SessionRequest:
    """What to ask for: the NRNs of the trust anchor, profile and role, and the session's length."""

    trust_anchor_nrn: str
    profile_nrn: str
    role_nrn: str
    duration_seconds: int = DEFAULT_DURATION_SECONDS
    endpoint: str = DEFAULT_ENDPOINT

    @property
    def url(self) -> str:
        return self.endpoint.rstrip("/") + SESSIONS_PATH

    @property
    def role_id(self) -> str:
        """The role's id, the last part of its NRN (``nrn:PUB:IAM::{memberNo}:Role/{roleId}``)."""
        return self.role_nrn.rsplit("/", 1)[-1]

    def body(self) -> dict:
        return {
            "durationSeconds": self.duration_seconds,
            "trustAnchorNrn": self.trust_anchor_nrn,
            "profileNrn": self.profile_nrn,
            "roleNrn": self.role_nrn,
        }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def create_session(
    identity: Identity,
    request: SessionRequest,
    *,
    now_ms: Callable[[], int] = _now_ms,
    timeout: float = TIMEOUT_SECONDS,
) -> Credentials:
    """Sign and send one session request; the keys, or a HelperError that says why not (without any secret)."""
    url = request.url
    if not url.startswith(("http://", "https://")):
        raise HelperError(f"the endpoint must be an http:// or https:// URL, not {request.endpoint!r}")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"ncp-signing-helper/{__version__}",
        **identity.session_headers(now_ms()),
    }
    data = json.dumps(request.body()).encode("utf-8")
    outgoing = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            raise HelperError(
                f"{url} refused the session: HTTP {error.code}: {_error_message(error.read(_MAX_ERROR_BODY))}"
            ) from None
    except urllib.error.URLError as error:
        raise HelperError(f"cannot reach {url}: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise HelperError(f"cannot reach {url}: {error or type(error).__name__}") from None
    return _credentials(url, status, body)


def _credentials(url: str, status: int, body: bytes) -> Credentials:
    # Never echo a success body: it may hold the secret.
    shape = "{roleNrn, credential: {accessKey, keySecret, expireTime}}"
    try:
        credential = json.loads(body)["credential"]
        access_key, secret, expire = credential["accessKey"], credential["keySecret"], credential["expireTime"]
    except (ValueError, TypeError, KeyError):
        raise HelperError(f"{url} answered HTTP {status} without the session body {shape}") from None
    if not (isinstance(access_key, str) and access_key and isinstance(secret, str) and secret):
        raise HelperError(f"{url} answered HTTP {status} with an empty accessKey or keySecret")
    return Credentials(access_key_id=access_key, secret_access_key=secret, expiration=_parse_time(url, status, expire))


def _parse_time(url: str, status: int, value: object) -> datetime:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):  # epoch milliseconds, as NCP sends some
            return datetime.fromtimestamp(value / 1000, UTC)
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise HelperError(f"{url} answered HTTP {status} with an expireTime that is not a time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _error_message(body: bytes) -> str:
    """The server's own words: the wire format's ``error.message`` (and ``details``), or the start of the text;
    one line of printable characters either way (a terminal gets no control sequences from a server)."""
    text = None
    try:
        error = json.loads(body)["error"]
        parts = [str(error[name]) for name in ("message", "details") if error.get(name)]
        code = error.get("errorCode")
        if parts:
            text = (f"errorCode {code}: " if code else "") + " - ".join(parts)
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    if text is None:
        text = body.decode("utf-8", "replace").strip()
    text = "".join(ch if ch.isprintable() else " " for ch in text)[:500]
    return text or "(no body)"

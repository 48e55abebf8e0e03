"""``serve``: a local metadata endpoint in the form NCP's SDKs read a server role's keys from
(``NCLOUD_METADATA_ENDPOINT`` for the Python SDK, ``NCLOUD_METADATA_API_ENDPOINT`` for the Go SDK), fed by role
sessions that are renewed shortly before they expire."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.session import Credentials

CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9911  # the port AWS's Roles Anywhere helper serves on
# NCP's Python SDK renews keys it got from the metadata service 15 minutes before they expire (5 minutes at the
# latest): renewing a minute before that hands it keys it will not need to renew again. Short sessions renew at
# half their life instead, so a 10-minute session does not renew on every call.
REFRESH_BEFORE = timedelta(minutes=16)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CredentialCache:
    """The current keys of one role: the same keys until they are close to expiring, then new ones."""

    def __init__(self, fetch: Callable[[], Credentials], *, clock: Callable[[], datetime] = _utc_now):
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Credentials | None = None
        self._refresh_at: datetime | None = None

    @staticmethod
    def refresh_time(credentials: Credentials, obtained_at: datetime) -> datetime:
        """When keys obtained at ``obtained_at`` are renewed."""
        lifetime = max(credentials.expiration - obtained_at, timedelta(0))
        return credentials.expiration - min(REFRESH_BEFORE, lifetime / 2)

    def get(self) -> Credentials:
        """Keys that are not about to expire; raise HelperError when none can be had."""
        with self._lock:
            now = self._clock()
            if self._current is not None and now < self._refresh_at:
                return self._current
            try:
                fresh = self._fetch()
            except HelperError as error:
                if self._current is not None and now < self._current.expiration:
                    # The old keys still work; the next call tries again.
                    print(
                        f"ncp-signing-helper: renewing the keys failed, serving the current ones: {error}",
                        file=sys.stderr,
                    )
                    return self._current
                raise
            self._current, self._refresh_at = fresh, self.refresh_time(fresh, now)
            return fresh


class MetadataServer(ThreadingHTTPServer):
    """The HTTP server of ``serve``: ``GET /latest/meta-data/iam/security-credentials[/]`` answers the role id,
    ``GET .../security-credentials/{roleId}`` the keys."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], cache: CredentialCache, role_id: str):
        self.cache = cache
        self.role_id = role_id
        # Bound to the loopback address, answer only requests addressed to it: a web page in a local browser that
        # rebinds its own host name to 127.0.0.1 sends its own Host header and gets nothing.
        self.check_host = address[0] in LOOPBACK_HOSTS
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: MetadataServer
    server_version = "ncp-signing-helper"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (the http.server protocol)
        if self.server.check_host and not self._host_is_loopback():
            self._send(403, "application/json", _error("Forbidden", "Host header is not a loopback address"))
            return
        path = self.path.split("?", 1)[0]
        if path in (CREDENTIALS_PATH, CREDENTIALS_PATH + "/"):
            # The Python SDK takes the whole body as the role id: no trailing newline.
            self._send(200, "text/plain", self.server.role_id.encode("utf-8"))
        elif path == f"{CREDENTIALS_PATH}/{self.server.role_id}":
            try:
                credentials = self.server.cache.get()
            except HelperError as error:
                print(f"ncp-signing-helper: no keys to serve: {error}", file=sys.stderr)
                self._send(503, "application/json", _error("CredentialsUnavailable", "no session could be obtained"))
                return
            self._send(200, "application/json", json.dumps(credentials.metadata_document()).encode("utf-8"))
        else:
            self._send(404, "application/json", _error("NotFound", "no such metadata path"))

    def _method_not_allowed(self) -> None:
        self._send(405, "application/json", _error("MethodNotAllowed", "only GET is served"))

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _host_is_loopback(self) -> bool:
        host = (self.headers.get("Host") or "").strip()
        if host.startswith("["):
            host = host[1 : host.find("]")] if "]" in host else host
        else:
            host = host.rsplit(":", 1)[0]
        return host.lower() in LOOPBACK_HOSTS

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the http.server signature)
        pass  # request lines hold no secret, but one per SDK call is noise; failures are printed where they happen


def _error(code: str, message: str) -> bytes:
    # The shape NCP's Go SDK decodes (Code, Message) next to the keys.
    return json.dumps({"Code": code, "Message": message}).encode("utf-8")

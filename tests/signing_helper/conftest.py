"""Certificates made with cryptography, and a fake ``POST /auth/v1/sessions`` server that checks every request the
helper sends exactly as the wire page describes it (its own verification, none of the helper's code)."""

import base64
import json
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HELPER_ROOT = Path(__file__).resolve().parents[2] / "signing_helper"
# The helper is its own package (signing_helper/pyproject.toml), not installed in the server's venv: import it from
# its folder, as `pip install ./signing_helper` would.
if str(HELPER_ROOT) not in sys.path:
    sys.path.insert(0, str(HELPER_ROOT))

TRUST_ANCHOR_NRN = "nrn:PUB:ExternalAccess::1001:TrustAnchor/ta-1"
PROFILE_NRN = "nrn:PUB:ExternalAccess::1001:Profile/pf-1"
ROLE_NRN = "nrn:PUB:IAM::1001:Role/77"
SESSION_FLAGS = ["--trust-anchor-nrn", TRUST_ANCHOR_NRN, "--profile-nrn", PROFILE_NRN, "--role-nrn", ROLE_NRN]


def new_key(kind: str):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(kind)


def issue(subject_cn: str, key, issuer: tuple | None = None, *, ca: bool = False) -> x509.Certificate:
    """A certificate for ``key``, signed by ``issuer`` (certificate, key) or self-signed."""
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Workload:
    """A workload's files on disk: its certificate (issued by an intermediate under a root) and key."""

    kind: str
    key: object
    certificate: x509.Certificate
    intermediate: x509.Certificate
    cert_path: Path
    key_path: Path
    intermediates_path: Path

    def flags(self, *, intermediates: bool = False) -> list[str]:
        flags = ["--certificate", str(self.cert_path), "--private-key", str(self.key_path)]
        return flags + (["--intermediates", str(self.intermediates_path)] if intermediates else [])


def make_workload(folder: Path, kind: str) -> Workload:
    root_key = new_key("ec")
    root = issue("Test Root CA", root_key, ca=True)
    intermediate_key = new_key("ec")
    intermediate = issue("Test Intermediate CA", intermediate_key, (root, root_key), ca=True)
    key = new_key(kind)
    certificate = issue(f"workload-{kind}", key, (intermediate, intermediate_key))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path, chain_path = folder / "cert.pem", folder / "key.pem", folder / "chain.pem"
    cert_path.write_bytes(pem(certificate))
    key_path.write_bytes(key_pem(key))
    chain_path.write_bytes(pem(intermediate))
    return Workload(kind, key, certificate, intermediate, cert_path, key_path, chain_path)


@pytest.fixture(params=["rsa", "ec"])
def workload(request, tmp_path) -> Workload:
    return make_workload(tmp_path / request.param, request.param)


@pytest.fixture
def rsa_workload(tmp_path) -> Workload:
    return make_workload(tmp_path / "rsa", "rsa")


@dataclass
class Received:
    """One request the fake server accepted, after checking it."""

    headers: dict
    body: dict
    certificate: x509.Certificate
    chain: list


@dataclass
class FakeSessions:
    """State of the fake sessions server: what it received, what it refused and why, what it answers next."""

    url: str = ""
    received: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    answers: deque = field(default_factory=deque)  # (status, body bytes) to answer instead of issuing keys
    issued: list = field(default_factory=list)  # (accessKey, keySecret, expireTime)
    lifetime: timedelta | None = None  # default: the request's durationSeconds

    def check(self, method: str, path: str, headers, raw: bytes) -> Received:
        """Everything the wire page asks of a session request; raises AssertionError with the reason."""
        assert (method, path) == ("POST", "/auth/v1/sessions"), (method, path)
        assert headers.get("Content-Type") == "application/json"
        timestamp = headers["x-ncp-iam-timestamp"]
        assert timestamp.isdigit(), timestamp
        assert abs(int(timestamp) - datetime.now(UTC).timestamp() * 1000) < 5 * 60 * 1000, "stale timestamp"
        algorithm = headers["x-ncp-iam-x509-algorithm"]
        certificate_b64 = headers["x-ncp-iam-x509"]
        certificate = x509.load_der_x509_certificate(base64.b64decode(certificate_b64, validate=True))
        signature = base64.b64decode(headers["x-ncp-iam-signature-v2"], validate=True)
        message = f"POST /sessions\n{timestamp}\n{algorithm}\n{certificate_b64}".encode()
        public_key = certificate.public_key()
        if algorithm == "X509-RSA-SHA256":
            assert isinstance(public_key, rsa.RSAPublicKey), "RSA algorithm for a non-RSA certificate"
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "X509-ECDSA-SHA256":
            assert isinstance(public_key, ec.EllipticCurvePublicKey), "ECDSA algorithm for a non-EC certificate"
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            raise AssertionError(f"unknown algorithm {algorithm!r}")
        chain = []
        if "x-ncp-iam-x509-chain" in headers:
            chain = [
                x509.load_der_x509_certificate(base64.b64decode(part, validate=True))
                for part in headers["x-ncp-iam-x509-chain"].split(",")
            ]
            certificate.verify_directly_issued_by(chain[0])
        body = json.loads(raw)
        assert sorted(body) == ["durationSeconds", "profileNrn", "roleNrn", "trustAnchorNrn"], body
        assert isinstance(body["durationSeconds"], int)
        return Received({name.lower(): value for name, value in headers.items()}, body, certificate, chain)

    def answer(self, received: Received) -> tuple[int, bytes]:
        if self.answers:
            return self.answers.popleft()
        number = len(self.issued) + 1
        lifetime = self.lifetime or timedelta(seconds=received.body["durationSeconds"])
        now = datetime.now(UTC).replace(microsecond=0)
        issued = (f"AK{number:04d}TEST", f"SeCrEt{number:04d}abcdefghijklmnopqrstuvwxyz0123", now + lifetime)
        self.issued.append(issued)
        body = {
            "roleNrn": received.body["roleNrn"],
            "credential": {
                "accessKey": issued[0],
                "keySecret": issued[1],
                "createTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "expireTime": issued[2].strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
        return 201, json.dumps(body).encode()


def _handler(state: FakeSessions):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                received = state.check(self.command, self.path, self.headers, raw)
            except Exception as error:  # a test double: any defect in the request is a refusal, recorded
                state.refused.append(f"{type(error).__name__}: {error}")
                status, body = 401, json.dumps({"error": {"errorCode": "200", "message": "Authentication Failed"}})
                body = body.encode()
            else:
                state.received.append(received)
                status, body = state.answer(received)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = _serve

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def sessions():
    """A running fake sessions server; its ``url`` is the helper's ``--endpoint``."""
    state = FakeSessions()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens (a port just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"

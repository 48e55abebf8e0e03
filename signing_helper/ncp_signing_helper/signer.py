"""The certificate side of a session request: reading the workload's certificate, key and intermediates, and the
``x-ncp-iam-*`` headers of ``POST /auth/v1/sessions`` (docs/wire-api.md, "Creating a session from a certificate")."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ncp_signing_helper.errors import HelperError

ALGORITHM_RSA = "X509-RSA-SHA256"
ALGORITHM_ECDSA = "X509-ECDSA-SHA256"

HEADER_TIMESTAMP = "x-ncp-iam-timestamp"
HEADER_ALGORITHM = "x-ncp-iam-x509-algorithm"
HEADER_CERTIFICATE = "x-ncp-iam-x509"
HEADER_CHAIN = "x-ncp-iam-x509-chain"
HEADER_SIGNATURE = "x-ncp-iam-signature-v2"


@dataclass(frozen=True)
class Identity:
    """A workload's certificate, the private key that matches it and the intermediates to send with it."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def algorithm(self) -> str:
        return ALGORITHM_RSA if isinstance(self.private_key, rsa.RSAPrivateKey) else ALGORITHM_ECDSA

    @property
    def certificate_b64(self) -> str:
        return _b64_der(self.certificate)

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))

    def session_headers(self, timestamp_ms: int) -> dict[str, str]:
        """The signed headers of one session request made at ``timestamp_ms`` (milliseconds since the epoch)."""
        certificate = self.certificate_b64
        message = string_to_sign(timestamp_ms, self.algorithm, certificate)
        headers = {
            HEADER_TIMESTAMP: str(timestamp_ms),
            HEADER_ALGORITHM: self.algorithm,
            HEADER_CERTIFICATE: certificate,
            HEADER_SIGNATURE: base64.b64encode(self.sign(message.encode("utf-8"))).decode("ascii"),
        }
        if self.intermediates:
            headers[HEADER_CHAIN] = ",".join(_b64_der(cert) for cert in self.intermediates)
        return headers


def string_to_sign(timestamp_ms: int, algorithm: str, certificate_b64: str) -> str:
    """What the signature covers: no trailing newline, and ``/sessions`` without the ``/auth/v1`` prefix."""
    return f"POST /sessions\n{timestamp_ms}\n{algorithm}\n{certificate_b64}"


def load_identity(certificate_path: str, private_key_path: str, intermediates_path: str | None = None) -> Identity:
    """Read the PEM (or DER) files; the first certificate of ``certificate_path`` is the leaf, any others in that
    file are intermediates (a full-chain file), followed by those of ``intermediates_path``."""
    certificates = _read_certificates(certificate_path, "certificate")
    leaf, chain = certificates[0], list(certificates[1:])
    if intermediates_path:
        chain += _read_certificates(intermediates_path, "intermediates")
    key = _read_private_key(private_key_path)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise HelperError(
            f"the private key {private_key_path} is neither RSA nor EC: only those sign a session request"
        )
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise HelperError(f"the private key {private_key_path} does not match the certificate {certificate_path}")
    return Identity(certificate=leaf, private_key=key, intermediates=tuple(chain))


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise HelperError(f"cannot read the {what} file {path}: {error.strerror or error}") from None


def _read_certificates(path: str, what: str) -> list[x509.Certificate]:
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise HelperError(f"the {what} file {path} holds no readable X.509 certificate (PEM or DER)") from None
    return certificates


def _read_private_key(path: str):
    data = _read(path, "private key")
    load = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        return load(data, password=None)
    except TypeError:  # cryptography's way of saying the key is encrypted
        raise HelperError(f"the private key {path} is encrypted: give the helper an unencrypted key file") from None
    except (ValueError, UnsupportedAlgorithm):
        raise HelperError(f"the private key file {path} holds no readable private key (PEM or DER)") from None


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64_der(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

"""The certificate signature of ``POST /auth/v1/sessions`` (External Access sessions). No Django.

A workload signs ``"POST /sessions\\n{timestamp}\\n{algorithm}\\n{base64 DER of its certificate}"`` (no trailing
newline, no ``/auth/v1`` in it) with its certificate's private key: RSA PKCS#1 v1.5 or ECDSA (DER), SHA-256, the
algorithm named by ``x-ncp-iam-x509-algorithm``. The signature proves possession of the key; whether the
certificate is trusted is the trust anchor's question (``external_access``).
"""

import base64
import binascii
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

TIMESTAMP_HEADER = "x-ncp-iam-timestamp"
ALGORITHM_HEADER = "x-ncp-iam-x509-algorithm"
CERTIFICATE_HEADER = "x-ncp-iam-x509"
CHAIN_HEADER = "x-ncp-iam-x509-chain"  # our addition: NCP's clients send none
SIGNATURE_HEADER = "x-ncp-iam-signature-v2"

RSA_SHA256 = "X509-RSA-SHA256"
ECDSA_SHA256 = "X509-ECDSA-SHA256"
ALGORITHMS = (RSA_SHA256, ECDSA_SHA256)
MAX_CHAIN_CERTIFICATES = 5
MAX_CERTIFICATE_BYTES = 16 * 1024


class BadCertificate(ValueError):
    """A certificate header that cannot be read; the message says which and why."""


def string_to_sign(timestamp: str, algorithm: str, certificate_b64: str) -> str:
    return f"POST /sessions\n{timestamp}\n{algorithm}\n{certificate_b64}"


def algorithm_for(public_key) -> str | None:
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSA_SHA256
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECDSA_SHA256
    return None


def certificate_from_header(value: str, header: str = CERTIFICATE_HEADER) -> x509.Certificate:
    """A certificate sent as standard base64 of its DER."""
    try:
        der = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadCertificate(f"{header} is not standard base64") from None
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise BadCertificate(f"{header} is over {MAX_CERTIFICATE_BYTES} bytes")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise BadCertificate(f"{header} is not a DER X.509 certificate") from None


def chain_from_header(value: str | None) -> list[x509.Certificate]:
    if not value:
        return []
    parts = [p for p in value.split(",") if p.strip()]
    if len(parts) > MAX_CHAIN_CERTIFICATES:
        raise BadCertificate(f"{CHAIN_HEADER} holds more than {MAX_CHAIN_CERTIFICATES} certificates")
    return [certificate_from_header(p, f"{CHAIN_HEADER}[{i}]") for i, p in enumerate(parts)]


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def verify(certificate: x509.Certificate, algorithm: str, signature_b64: str, message: str) -> bool:
    """Whether ``signature_b64`` is the certificate key's signature of ``message`` with ``algorithm``, which must
    match the key type."""
    key = certificate.public_key()
    if algorithm not in ALGORITHMS or algorithm_for(key) != algorithm:
        return False
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    data = message.encode("utf-8")
    try:
        if algorithm == RSA_SHA256:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign(private_key, timestamp: str, certificate: x509.Certificate) -> dict[str, str]:
    """The headers a workload sends (what the signing helper does; used by tests and examples)."""
    from cryptography.hazmat.primitives import serialization

    certificate_b64 = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
    algorithm = algorithm_for(private_key.public_key())
    data = string_to_sign(timestamp, algorithm, certificate_b64).encode("utf-8")
    if algorithm == RSA_SHA256:
        signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    return {
        TIMESTAMP_HEADER: timestamp,
        ALGORITHM_HEADER: algorithm,
        CERTIFICATE_HEADER: certificate_b64,
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
    }


def replay_identity(certificate: x509.Certificate) -> str:
    """What the replay cache records a session signature under (the certificate, not a key id)."""
    return "x509:" + hashlib.sha256(fingerprint(certificate).encode()).hexdigest()[:32]

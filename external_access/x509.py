"""Reading what callers send (certificates, bundles, CSRs, CRLs, private keys) with cryptography, and the few
facts about them the services need. Every failure is an ``InvalidInput`` naming the field, never a parser's
exception: a caller's file is input like any other."""

import base64
import binascii

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iam.errors import InvalidInput

PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
PEM_END = b"-----END CERTIFICATE-----"
MAX_BUNDLE_CERTIFICATES = 10
MAX_BUNDLE_BYTES = 64 * 1024


def serial_hex(serial: int) -> str:
    """A serial number as the service stores and compares it: lower-case hex, no leading zeros."""
    return format(serial, "x")


def name_text(name: x509.Name) -> str:
    return name.rfc4514_string()


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def is_ca_certificate(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def signs_certificates(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return False


def pem_blocks(data: bytes) -> list[bytes]:
    """The ``BEGIN CERTIFICATE`` ... ``END CERTIFICATE`` blocks of a bundle, in one pass (a regular expression with a
    lazy ``.+?`` rescans the rest of the text for every unclosed BEGIN: quadratic in a body of BEGINs)."""
    blocks, position = [], 0
    while True:
        begin = data.find(PEM_BEGIN, position)
        if begin < 0:
            return blocks
        end = data.find(PEM_END, begin + len(PEM_BEGIN))
        if end < 0:
            return blocks
        blocks.append(data[begin : end + len(PEM_END)])
        position = end + len(PEM_END)


def load_bundle(text, field: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; each must be a CA certificate. Errors name the certificate by index."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput.field(field, "must be one or more PEM certificates")
    data = text.encode("utf-8", "replace")
    if len(data) > MAX_BUNDLE_BYTES:
        raise InvalidInput.field(field, f"must be at most {MAX_BUNDLE_BYTES} bytes")
    blocks = pem_blocks(data)
    if not blocks:
        raise InvalidInput.field(field, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    if len(blocks) > MAX_BUNDLE_CERTIFICATES:
        raise InvalidInput.field(field, f"must hold at most {MAX_BUNDLE_CERTIFICATES} certificates")
    certificates = []
    for index, block in enumerate(blocks):
        try:
            certificate = x509.load_pem_x509_certificate(block)
        except ValueError:
            raise InvalidInput.field(f"{field}[{index}]", "is not a readable X.509 certificate") from None
        if not is_ca_certificate(certificate):
            raise InvalidInput.field(
                f"{field}[{index}]",
                f"is not a CA certificate (basicConstraints CA is not set): {_subject(certificate)}",
            )
        if not signs_certificates(certificate):
            # Path validation (RFC 5280, cryptography's verifier) refuses every chain through such a CA: say it now.
            raise InvalidInput.field(
                f"{field}[{index}]",
                f"has no keyUsage keyCertSign, so no certificate can chain to it: {_subject(certificate)}",
            )
        certificates.append(certificate)
    return certificates


def _subject(certificate: x509.Certificate) -> str:
    return name_text(certificate.subject)[:200] or "(empty subject)"


def load_csr(text, field: str) -> x509.CertificateSigningRequest:
    if not isinstance(text, str) or "-----BEGIN CERTIFICATE REQUEST-----" not in text:
        raise InvalidInput.field(
            field, "must be a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)"
        )
    try:
        csr = x509.load_pem_x509_csr(text.encode("utf-8", "replace"))
    except ValueError:
        raise InvalidInput.field(field, "is not a readable certificate signing request") from None
    if not csr.is_signature_valid:
        raise InvalidInput.field(field, "its signature does not verify with its own public key")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise InvalidInput.field(field, "an RSA key must be at least 2048 bits")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in ("secp256r1", "secp384r1"):
        raise InvalidInput.field(field, "an EC key must be on P-256 or P-384")
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise InvalidInput.field(field, "the key must be RSA or EC")
    return csr


def decode_crl(data, field: str) -> x509.CertificateRevocationList:
    """A CRL sent as base64 of its DER (the wire format) or as PEM."""
    if not isinstance(data, str) or not data.strip():
        raise InvalidInput.field(field, "must be a CRL: base64 of its DER, or PEM")
    text = data.strip()
    try:
        if text.startswith("-----BEGIN X509 CRL-----"):
            return x509.load_pem_x509_crl(text.encode("ascii"))
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidInput.field(field, "is neither base64 of a DER CRL nor a PEM CRL") from None
    try:
        return x509.load_der_x509_crl(der)
    except ValueError:
        raise InvalidInput.field(field, "is not a readable X.509 CRL") from None


def crl_issuer_certificate(
    crl: x509.CertificateRevocationList, candidates: list[x509.Certificate], field: str
) -> x509.Certificate:
    """The CA certificate among ``candidates`` whose key signed the CRL; a clear refusal otherwise."""
    named = [c for c in candidates if c.subject == crl.issuer]
    if not named:
        raise InvalidInput.field(field, f"its issuer {name_text(crl.issuer)[:200]!r} is not a CA of this trust anchor")
    for certificate in named:
        try:
            if crl.is_signature_valid(certificate.public_key()):
                return certificate
        except (TypeError, ValueError):
            continue
    raise InvalidInput.field(field, "its signature does not verify with the trust anchor's CA certificate")


def signature_hash() -> hashes.HashAlgorithm:
    return hashes.SHA256()

"""The private CA: create a root or an intermediate CA, issue a workload certificate from a CSR or with a generated
key (the key is shown once), revoke a certificate, publish the CA's CRL. CA private keys are stored encrypted."""

import datetime as dt
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.db import IntegrityError, transaction
from django.utils import timezone

from external_access import x509 as x509_input
from external_access.models import CertificateAuthority, IssuedCertificate
from iam.errors import Conflict, InvalidInput
from iam.models import Account
from iam.secrets import decrypt_secret, encrypt_secret

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,29}$")
MAX_CAS_PER_ACCOUNT = 20
ROOT_MAX_DAYS = 3650 * 2
CERTIFICATE_MAX_DAYS = 825
SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "state": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
}
REASON_FLAGS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def _new_key(algorithm: str):
    if algorithm.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))
    return ec.generate_private_key(ec.SECP256R1() if algorithm == CertificateAuthority.EC_P256 else ec.SECP384R1())


def _key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _ca_key(ca: CertificateAuthority):
    return serialization.load_pem_private_key(decrypt_secret(ca.private_key_encrypted).encode("ascii"), None)


def _ca_certificate(ca: CertificateAuthority) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.certificate_pem.encode("ascii"))


def _subject(subject, field: str = "subject") -> x509.Name:
    if not isinstance(subject, dict) or not isinstance(subject.get("commonName"), str):
        raise InvalidInput.field(f"{field}.commonName", "is required")
    attributes = []
    for key, value in subject.items():
        if key not in SUBJECT_FIELDS:
            raise InvalidInput.field(f"{field}.{key}", f"is not a subject field (one of {', '.join(SUBJECT_FIELDS)})")
        if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
            raise InvalidInput.field(f"{field}.{key}", "must be 1-64 printable characters")
        if key == "country" and not re.fullmatch(r"[A-Z]{2}", value):
            raise InvalidInput.field(f"{field}.country", "must be a two-letter country code (ISO 3166)")
        attributes.append(x509.NameAttribute(SUBJECT_FIELDS[key], value))
    return x509.Name(attributes)


def _days(value, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidInput.field(field, f"must be a whole number of days from 1 to {maximum}")
    return value


def _algorithm(value) -> str:
    if value not in CertificateAuthority.KEY_ALGORITHMS:
        raise InvalidInput.field("keyAlgorithm", f"must be one of {', '.join(CertificateAuthority.KEY_ALGORITHMS)}")
    return value


def _ski(public_key) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def ca_create(
    *,
    account: Account,
    name,
    key_algorithm=CertificateAuthority.EC_P256,
    subject,
    validity_days=3650,
    parent: CertificateAuthority | None = None,
) -> CertificateAuthority:
    """A root CA (self-signed) or, with ``parent``, an intermediate signed by one of the account's CAs."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput.field("name", "3-30 letters, digits, '.', '-' or '_', starting with a letter or digit")
    algorithm = _algorithm(key_algorithm)
    subject_name = _subject(subject)
    now = timezone.now().replace(microsecond=0)
    days = _days(validity_days, "validityDays", ROOT_MAX_DAYS)
    not_after = now + dt.timedelta(days=days)
    key = _new_key(algorithm)
    builder = x509.CertificateBuilder().subject_name(subject_name).public_key(key.public_key())
    builder = builder.serial_number(x509.random_serial_number()).not_valid_before(now)
    builder = builder.add_extension(_ski(key.public_key()), critical=False)
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if parent is None:
        builder = builder.issuer_name(subject_name).not_valid_after(not_after)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        signing_key, ca_type = key, CertificateAuthority.ROOT
    else:
        if parent.status != CertificateAuthority.ACTIVE:
            raise InvalidInput.field("parentCaId", "the parent CA is disabled")
        parent_certificate = _ca_certificate(parent)
        if not_after > parent.not_after:
            raise InvalidInput.field("validityDays", "an intermediate CA cannot outlive its parent")
        path_length = parent_certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
        if path_length == 0:
            raise InvalidInput.field("parentCaId", "the parent CA may not sign further CAs (path length 0)")
        builder = builder.issuer_name(parent_certificate.subject).not_valid_after(not_after)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent_certificate.public_key()), critical=False
        )
        signing_key, ca_type = _ca_key(parent), CertificateAuthority.SUBORDINATE
    certificate = builder.sign(signing_key, x509_input.signature_hash())
    if CertificateAuthority.objects.filter(account=account).count() >= MAX_CAS_PER_ACCOUNT:
        raise Conflict(f"an account has at most {MAX_CAS_PER_ACCOUNT} private CAs")
    try:
        with transaction.atomic():
            return CertificateAuthority.objects.create(
                account=account,
                name=name,
                ca_type=ca_type,
                parent=parent,
                key_algorithm=algorithm,
                subject=x509_input.name_text(certificate.subject),
                serial_number=x509_input.serial_hex(certificate.serial_number),
                certificate_pem=x509_input.certificate_pem(certificate),
                private_key_encrypted=encrypt_secret(_key_pem(key)),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
    except IntegrityError:
        raise Conflict("a private CA of this name already exists", field_errors=[("name", "already in use")]) from None


def ca_chain_pem(ca: CertificateAuthority) -> str:
    """The CA's certificate followed by its parents', up to the root."""
    chain, current = [], ca
    while current is not None:
        chain.append(current.certificate_pem)
        current = current.parent
    return "".join(chain)


def certificate_issue(
    *, ca: CertificateAuthority, csr=None, subject=None, key_algorithm=None, validity_days=365
) -> tuple[IssuedCertificate, str | None]:
    """A client certificate (EKU clientAuth) for a workload, from its CSR or with a key generated here; returns the
    certificate and, when generated, the private key in PEM (shown once, never stored)."""
    if ca.status != CertificateAuthority.ACTIVE:
        raise InvalidInput.field("caId", "the CA is disabled")
    if (csr is None) == (subject is None):
        raise InvalidInput.field("csr", "send either a csr (PEM) or a subject to generate a key for")
    generated_key = None
    if csr is not None:
        request = x509_input.load_csr(csr, "csr")
        subject_name, public_key = request.subject, request.public_key()
        if not subject_name.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise InvalidInput.field("csr", "its subject needs a commonName")
    else:
        subject_name = _subject(subject)
        generated_key = _new_key(_algorithm(key_algorithm or CertificateAuthority.EC_P256))
        public_key = generated_key.public_key()
    now = timezone.now().replace(microsecond=0)
    days = _days(validity_days, "validityDays", CERTIFICATE_MAX_DAYS)
    not_after = now + dt.timedelta(days=days)
    if not_after > ca.not_after:
        raise InvalidInput.field("validityDays", "the certificate cannot outlive its CA")
    ca_certificate = _ca_certificate(ca)
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_ski(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()), critical=False)
    )
    certificate = builder.sign(_ca_key(ca), x509_input.signature_hash())
    issued = IssuedCertificate.objects.create(
        ca=ca,
        serial_number=x509_input.serial_hex(certificate.serial_number),
        subject=x509_input.name_text(certificate.subject),
        certificate_pem=x509_input.certificate_pem(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
    return issued, (_key_pem(generated_key) if generated_key is not None else None)


def certificate_revoke(*, certificate: IssuedCertificate, reason="unspecified") -> IssuedCertificate:
    if reason not in REASON_FLAGS:
        raise InvalidInput.field("reason", f"must be one of {', '.join(REASON_FLAGS)}")
    if certificate.revoke_time is not None:
        raise Conflict("the certificate is already revoked")
    certificate.revoke_time = timezone.now()
    certificate.revocation_reason = reason
    certificate.save(update_fields=["revoke_time", "revocation_reason"])
    return certificate


def crl_publish(*, ca: CertificateAuthority, next_update_days: int = 7) -> x509.CertificateRevocationList:
    """A fresh CRL of the CA (every certificate it revoked), signed with its key; the CRL number goes up by one."""
    with transaction.atomic():
        ca = CertificateAuthority.objects.select_for_update().get(pk=ca.pk)
        ca.crl_number += 1
        ca.save(update_fields=["crl_number", "update_time"])
        now = timezone.now().replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(_ca_certificate(ca).subject)
            .last_update(now)
            .next_update(now + dt.timedelta(days=next_update_days))
            .add_extension(x509.CRLNumber(ca.crl_number), critical=False)
        )
        for issued in ca.issued_certificates.filter(revoke_time__isnull=False).order_by("id"):
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(issued.serial_number, 16))
                .revocation_date(issued.revoke_time.replace(microsecond=0))
            )
            if issued.revocation_reason != "unspecified":
                entry = entry.add_extension(x509.CRLReason(REASON_FLAGS[issued.revocation_reason]), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(_ca_key(ca), x509_input.signature_hash())

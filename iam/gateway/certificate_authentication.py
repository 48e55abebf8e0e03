"""Certificate-signed calls (``POST /auth/v1/sessions``): the same gateway steps as a signed API call, with the
certificate's key in place of an access key's secret.

The timestamp window, the per-source failure limit and the replay cache are the ones of ``authentication`` and
``replay``; what differs is only the signature (``x509_signing``). A verified call carries a
``PresentedCertificate``; whether the certificate is trusted (path validation against a trust anchor, revocation,
the profile and the role) is decided by External Access, which then issues a role session through STS.
"""

from dataclasses import dataclass, field

from cryptography import x509
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from iam.gateway import replay, x509_signing
from iam.gateway.authentication import (
    REFUSED,
    GatewayAuthenticationFailed,
    client_ip,
    failed_signature_counted,
    refused,
    source_throttled,
)


@dataclass
class PresentedCertificate:
    """What a verified certificate-signed call proves: the caller holds the key of ``certificate``."""

    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)
    timestamp_millis: int = 0
    source_ip: str = ""


class CertificateSignatureAuthentication(authentication.BaseAuthentication):
    """Verifies the ``x-ncp-iam-*`` headers. ``request.user`` stays None (no principal yet: the session it asks for
    will be one); ``request.auth`` is the ``PresentedCertificate``. A refusal leaves ``request.presented_certificate``
    (when the certificate could be read) and ``request.audit_refusal`` for the view to record."""

    def authenticate_header(self, request) -> str:
        return "NCP-IAM-X509"

    def authenticate(self, request):
        ip = client_ip(request)
        try:
            return None, self._authenticate(request, ip)
        except GatewayAuthenticationFailed as failure:
            if failure.detail == REFUSED:
                if source_throttled(ip):
                    raise exceptions.Throttled(
                        detail="too many failed signatures from this address; try again in a minute"
                    ) from None
                failed_signature_counted(ip)
            request.audit_refusal = failure.reason
            raise

    def _authenticate(self, request, ip: str) -> PresentedCertificate:
        headers = request.headers
        values = {
            name: headers.get(name)
            for name in (
                x509_signing.TIMESTAMP_HEADER,
                x509_signing.ALGORITHM_HEADER,
                x509_signing.CERTIFICATE_HEADER,
                x509_signing.SIGNATURE_HEADER,
            )
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise GatewayAuthenticationFailed(f"missing header: {', '.join(missing)}")
        timestamp = values[x509_signing.TIMESTAMP_HEADER]
        algorithm = values[x509_signing.ALGORITHM_HEADER]
        if algorithm not in x509_signing.ALGORITHMS:
            raise GatewayAuthenticationFailed(
                f"{x509_signing.ALGORITHM_HEADER} must be one of {', '.join(x509_signing.ALGORITHMS)}"
            )
        try:
            certificate = x509_signing.certificate_from_header(values[x509_signing.CERTIFICATE_HEADER])
            chain = x509_signing.chain_from_header(headers.get(x509_signing.CHAIN_HEADER))
        except x509_signing.BadCertificate as exc:
            raise GatewayAuthenticationFailed(str(exc)) from None
        request.presented_certificate = PresentedCertificate(certificate, chain, 0, ip)
        if x509_signing.algorithm_for(certificate.public_key()) != algorithm:
            raise GatewayAuthenticationFailed(
                f"{x509_signing.ALGORITHM_HEADER} {algorithm} does not match the certificate's key type"
            )
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            raise refused("x-ncp-iam-timestamp must be milliseconds since the epoch")
        millis = int(timestamp)
        if abs(timezone.now().timestamp() * 1000 - millis) / 1000 > settings.IAM_SIGNATURE_MAX_SKEW_SECONDS:
            raise refused("timestamp is more than 5 minutes from the server clock")
        message = x509_signing.string_to_sign(timestamp, algorithm, values[x509_signing.CERTIFICATE_HEADER].strip())
        if not x509_signing.verify(certificate, algorithm, values[x509_signing.SIGNATURE_HEADER], message):
            raise refused("signature does not match the certificate's key")
        # The body (NRNs) is not signed: each (certificate, timestamp, signature) is accepted once.
        if settings.IAM_REPLAY_PROTECTION and not replay.signature_first_use(
            access_key=x509_signing.replay_identity(certificate),
            signature=values[x509_signing.SIGNATURE_HEADER],
            timestamp_millis=millis,
        ):
            raise refused("signature already used: a session request is accepted once")
        presented = request.presented_certificate
        presented.timestamp_millis = millis
        return presented

"""Certificate sessions (``POST /auth/v1/sessions``): a workload whose certificate chains to an enabled trust anchor
takes on a Service role of an enabled profile, and gets that role's temporary keys.

The gateway has verified the request's signature with the certificate's key and that it is not a replay
(``iam.gateway.certificate_authentication``). Here: the NRNs of the body, path validation with cryptography's
client verifier against the anchor (not hand-written chain building), revocation by the anchor's CRLs (the verifier
reads none), the profile and the role, and the subject's activity. The keys are a role session issued by STS
(``sts.services.role_session_issue``), like a role switch, with the subject as the source identity.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from external_access import x509 as x509_input
from external_access.models import (
    CertificateAuthority,
    Profile,
    ProfileRole,
    SessionAttempt,
    Subject,
    SubjectCertificate,
    TrustAnchor,
)
from external_access.services.crls import is_revoked
from external_access.services.trust_anchors import trust_anchor_certificates
from iam import audit
from iam.errors import InvalidInput, ServiceError
from iam.gateway import x509_signing
from iam.gateway.certificate_authentication import PresentedCertificate
from iam.models import AccessKey, Account, AuditEvent, Role, RoleServiceTarget
from iam.policy import nrn
from iam.services.roles import role_assumable_by_service
from sts.services import role_session_issue

SOURCE_IDENTITY_TYPE = "ExternalAccess"
MAX_CHAIN_DEPTH = 5


class SessionRefused(ServiceError):
    """403: the certificate, anchor, profile or role does not allow this session. The message helps the operator
    (it is also recorded on the subject) without saying which of another account's resources exist."""

    status = 403
    error_code = 9403
    default_message = "Session refused"


@dataclass
class IssuedSession:
    role_nrn: str
    key: AccessKey
    secret: str


# cryptography's WebPKI profile for the leaf, relaxed where workload certificates differ from web servers': a
# subject with a commonName only (no subjectAltName) and CAs outside the platform that omit the authority key id.
# The EKU rule stays: a leaf whose EKU lacks clientAuth is refused.
_EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
)


def _nrn(body: dict, field: str, product: str, resource_type: str) -> nrn.Nrn:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.field(field, f"is required: nrn:PUB:{product}::<memberNo>:{resource_type}/<id>")
    try:
        parsed = nrn.parse(value.strip())
    except nrn.InvalidNrn:
        raise InvalidInput.field(field, f"must be an NRN: nrn:PUB:{product}::<memberNo>:{resource_type}/<id>") from None
    if parsed.product != product or parsed.resource_type != resource_type:
        raise InvalidInput.field(
            field, f"must name a {resource_type} (nrn:PUB:{product}::<memberNo>:{resource_type}/...)"
        )
    return parsed


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass
class _Request:
    anchor_nrn: nrn.Nrn
    profile_nrn: nrn.Nrn
    role_nrn: nrn.Nrn
    duration: int | None


def parse_body(body) -> _Request:
    if not isinstance(body, dict):
        raise InvalidInput.field("body", "must be a JSON object")
    anchor = _nrn(body, "trustAnchorNrn", nrn.EXTERNAL_ACCESS, "TrustAnchor")
    profile = _nrn(body, "profileNrn", nrn.EXTERNAL_ACCESS, "Profile")
    role = _nrn(body, "roleNrn", nrn.IAM, "Role")
    if not anchor.member_no == profile.member_no == role.member_no:
        raise InvalidInput.field("profileNrn", "the trust anchor, profile and role must belong to one account")
    duration = body.get("durationSeconds")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not Profile.MIN_DURATION <= duration <= Profile.MAX_DURATION
    ):
        raise InvalidInput.field(
            "durationSeconds", f"must be whole seconds from {Profile.MIN_DURATION} to {Profile.MAX_DURATION}"
        )
    return _Request(anchor, profile, role, duration)


def _anchor(request: _Request) -> TrustAnchor:
    anchor_id = _uuid(request.anchor_nrn.resource_id)
    anchor = None
    if anchor_id is not None:
        anchor = (
            TrustAnchor.objects.select_related("account", "ca")
            .filter(account__member_no=request.anchor_nrn.member_no, trust_anchor_id=anchor_id)
            .first()
        )
    if anchor is None or not anchor.enabled or not anchor.account.active:
        raise SessionRefused("trust anchor not found or disabled")
    return anchor


def _verified_chain(anchor: TrustAnchor, presented: PresentedCertificate, now: datetime) -> list[x509.Certificate]:
    """The chain from the leaf to one of the anchor's certificates, as cryptography's client verifier builds it."""
    trusted = trust_anchor_certificates(anchor)
    intermediates = list(presented.chain)
    if anchor.source_type == TrustAnchor.NCP_PCA:
        trusted = trusted[:1]  # the anchor's CA; certificates of its sub-CAs chain through them
        for child in CertificateAuthority.objects.filter(parent=anchor.ca, status=CertificateAuthority.ACTIVE):
            intermediates.append(x509.load_pem_x509_certificate(child.certificate_pem.encode("ascii")))
    else:
        intermediates.extend(trusted)  # a bundle's intermediates chain to its roots
    verifier = (
        PolicyBuilder()
        .store(Store(trusted))
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        return verifier.verify(presented.certificate, intermediates).chain
    except VerificationError as exc:
        raise SessionRefused(f"the certificate is not trusted by this trust anchor: {str(exc)[:200]}") from None


def _subject_for(account: Account, certificate: x509.Certificate, now: datetime) -> tuple[Subject, SubjectCertificate]:
    dn = x509_input.name_text(certificate.subject)[:1000] or "(empty subject)"
    try:
        with transaction.atomic():
            subject, _ = Subject.objects.get_or_create(account=account, x509_subject=dn)
    except IntegrityError:  # two first uses at once: the other one made it
        subject = Subject.objects.get(account=account, x509_subject=dn)
    fingerprint = x509_signing.fingerprint(certificate)
    seen, created = SubjectCertificate.objects.get_or_create(
        subject=subject,
        fingerprint_sha256=fingerprint,
        defaults={
            "serial_number": x509_input.serial_hex(certificate.serial_number),
            "issuer": x509_input.name_text(certificate.issuer)[:1000],
            "not_before": certificate.not_valid_before_utc,
            "not_after": certificate.not_valid_after_utc,
            "first_seen_time": now,
            "last_seen_time": now,
        },
    )
    if not created:
        SubjectCertificate.objects.filter(pk=seen.pk).update(last_seen_time=now)
    Subject.objects.filter(pk=subject.pk).update(last_seen_time=now)
    return subject, seen


def _attempt(subject, certificate, request: _Request | None, outcome: str, reason: str, ip: str, now, key=None):
    SessionAttempt.objects.create(
        subject=subject,
        certificate=certificate,
        time=now,
        outcome=outcome,
        reason=reason[:300],
        source_ip=ip[:45],
        trust_anchor_nrn=str(request.anchor_nrn) if request else "",
        profile_nrn=str(request.profile_nrn) if request else "",
        role_nrn=str(request.role_nrn) if request else "",
        access_key=key.access_key if key is not None else "",
        expire_time=key.expire_time if key is not None else None,
    )


def _audit(account: Account, result: str, resource: str, detail: dict) -> None:
    audit.record(
        account_id=account.pk,
        action="ExternalAccess:createSession",
        resource=resource,
        result=result,
        detail=detail,
        actor=audit.Actor(f"x509:{detail.get('subject', '')}"[:200], "ExternalAccess", detail.get("sourceIp", "")),
    )


def _profile_and_role(account: Account, request: _Request) -> tuple[Profile, Role]:
    profile_id = _uuid(request.profile_nrn.resource_id)
    profile = Profile.objects.filter(account=account, profile_id=profile_id).first() if profile_id else None
    if profile is None or not profile.enabled:
        raise SessionRefused("profile not found or disabled")
    role_no = _uuid(request.role_nrn.resource_id)  # spelled as stored, whatever the case sent
    role = (
        Role.objects.select_related("account").filter(account=account, role_no=str(role_no)).first()
        if role_no
        else None
    )
    if role is None or not ProfileRole.objects.filter(profile=profile, role=role).exists():
        raise SessionRefused("the profile holds no such role")
    if role.role_type != Role.SERVICE:
        raise SessionRefused("only Service roles can be taken on with a certificate")
    if not role.active:
        raise SessionRefused("the role is disabled")
    if not role_assumable_by_service(role=role, service=RoleServiceTarget.EXTERNAL_ACCESS):
        raise SessionRefused("the role does not let External Access assume it (ExternalAccess is not in its services)")
    return profile, role


def session_create(*, presented: PresentedCertificate, body) -> IssuedSession:
    """Issue a role session for a verified certificate-signed request, or refuse it (``SessionRefused``, 403;
    ``InvalidInput``, 400). Every decision past the trust anchor is recorded on the subject."""
    now = timezone.now()
    request = parse_body(body)
    anchor = _anchor(request)
    account = anchor.account
    leaf = presented.certificate
    detail = {
        "subject": x509_input.name_text(leaf.subject)[:300],
        "serialNumber": x509_input.serial_hex(leaf.serial_number),
        "trustAnchorNrn": str(request.anchor_nrn),
        "roleNrn": str(request.role_nrn),
        "sourceIp": presented.source_ip,
    }
    try:
        chain = _verified_chain(anchor, presented, now)
    except SessionRefused as refusal:
        existing = Subject.objects.filter(account=account, x509_subject=detail["subject"]).first()
        if existing is not None:
            _attempt(existing, None, request, SessionAttempt.REFUSED, refusal.message, presented.source_ip, now)
        _audit(account, AuditEvent.DENIED, str(request.anchor_nrn), {**detail, "reason": refusal.message})
        raise
    subject, seen = _subject_for(account, leaf, now)
    try:
        for certificate in chain[:-1]:  # every certificate but the trust anchor's own
            if is_revoked(anchor, certificate.serial_number, certificate.issuer):
                which = "the certificate" if certificate is chain[0] else "an intermediate of its chain"
                raise SessionRefused(f"{which} is revoked by a CRL of this trust anchor")
        if not subject.enabled:
            raise SessionRefused("the subject is disabled")
        profile, role = _profile_and_role(account, request)
        duration = request.duration if request.duration is not None else profile.duration_seconds
        if duration > profile.duration_seconds:
            raise InvalidInput.field(
                "durationSeconds", f"must be at most the profile's durationSeconds ({profile.duration_seconds})"
            )
    except ServiceError as refusal:
        _attempt(subject, seen, request, SessionAttempt.REFUSED, refusal.message, presented.source_ip, now)
        _audit(account, AuditEvent.DENIED, subject.nrn, {**detail, "reason": refusal.message})
        raise
    with transaction.atomic():
        key, secret = role_session_issue(
            role=role, source_identity_type=SOURCE_IDENTITY_TYPE, source_identity_id=subject.nrn, duration_sec=duration,
            now=now,
        )  # fmt: skip
        Role.objects.filter(pk=role.pk).update(last_use_time=now)
        _attempt(subject, seen, request, SessionAttempt.ISSUED, "", presented.source_ip, now, key)
        _audit(account, AuditEvent.SUCCESS, subject.nrn, {**detail, "accessKey": key.access_key})
    return IssuedSession(role_nrn=role.nrn, key=key, secret=secret)


def refused_before_trust(*, presented: PresentedCertificate | None, body, reason: str) -> None:
    """A request the gateway refused (bad signature, stale timestamp, replay) after reading its certificate: recorded
    on the subject of that certificate, if the named trust anchor's account has one (no row is made for it)."""
    if presented is None or not isinstance(body, dict):
        return
    try:
        request = parse_body(body)
        anchor = _anchor(request)
    except ServiceError:
        return
    dn = x509_input.name_text(presented.certificate.subject)[:1000]
    subject = Subject.objects.filter(account=anchor.account, x509_subject=dn).first()
    if subject is not None:
        _attempt(subject, None, request, SessionAttempt.REFUSED, reason, presented.source_ip, timezone.now())

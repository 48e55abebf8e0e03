"""Trust anchors: what a workload's certificate must chain to (one of the account's private CAs, or a bundle of an
outside CA's certificates, each checked to be a CA certificate)."""

import uuid

from cryptography import x509
from django.db import IntegrityError, transaction

from external_access import x509 as x509_input
from external_access.models import CertificateAuthority, TrustAnchor
from external_access.services.common import checked_description, checked_enabled, checked_name, set_enabled
from iam.errors import Conflict, InvalidInput, NotFound
from iam.models import Account

MAX_TRUST_ANCHORS_PER_ACCOUNT = 50
SOURCE_FIELD = "source.sourceData"


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _source(account: Account, source) -> dict:
    """The model fields of a trust anchor's source, checked."""
    if not isinstance(source, dict):
        raise InvalidInput.field("source", "must be an object {sourceType, sourceData}")
    source_type = source.get("sourceType")
    data = source.get("sourceData")
    if source_type not in (TrustAnchor.NCP_PCA, TrustAnchor.CERTIFICATE_BUNDLE):
        raise InvalidInput.field("source.sourceType", "must be NCP_PCA or CERTIFICATE_BUNDLE")
    if not isinstance(data, dict):
        raise InvalidInput.field(SOURCE_FIELD, "must be an object")
    if source_type == TrustAnchor.NCP_PCA:
        ca_id = data.get("caId")
        ca = None
        if isinstance(ca_id, int) and not isinstance(ca_id, bool) and 0 < ca_id < 2**63:
            ca = CertificateAuthority.objects.for_account(account).filter(pk=ca_id).first()
        if ca is None:
            raise InvalidInput.field(f"{SOURCE_FIELD}.caId", "no such private CA in this account")
        if ca.status != CertificateAuthority.ACTIVE:
            raise InvalidInput.field(f"{SOURCE_FIELD}.caId", "the private CA is disabled")
        return {"source_type": source_type, "ca": ca, "certificate_bundle_pem": ""}
    certificates = x509_input.load_bundle(data.get("x509CertificateData"), f"{SOURCE_FIELD}.x509CertificateData")
    bundle = "".join(x509_input.certificate_pem(c) for c in certificates)
    return {"source_type": source_type, "ca": None, "certificate_bundle_pem": bundle}


def trust_anchor_create(*, account: Account, name, source, description="", enabled=False) -> TrustAnchor:
    fields = {"name": checked_name(name), "description": checked_description(description), **_source(account, source)}
    checked_enabled(enabled)
    if TrustAnchor.objects.filter(account=account).count() >= MAX_TRUST_ANCHORS_PER_ACCOUNT:
        raise Conflict(f"an account has at most {MAX_TRUST_ANCHORS_PER_ACCOUNT} trust anchors")
    try:
        with transaction.atomic():
            return TrustAnchor.objects.create(account=account, enabled=enabled, **fields)
    except IntegrityError:
        raise Conflict(
            "a trust anchor of this name already exists", field_errors=[("name", "already in use")]
        ) from None


def trust_anchor_update(*, trust_anchor: TrustAnchor, **changes) -> TrustAnchor:
    """PATCH: name, description and source (an anchor changes its CA in one step)."""
    unknown = set(changes) - {"name", "description", "source"}
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput.field(field, "cannot be changed here (enable and disable have their own calls)")
    if "name" in changes:
        trust_anchor.name = checked_name(changes["name"])
    if "description" in changes:
        trust_anchor.description = checked_description(changes["description"])
    if "source" in changes:
        for field, value in _source(trust_anchor.account, changes["source"]).items():
            setattr(trust_anchor, field, value)
    try:
        with transaction.atomic():
            trust_anchor.save()
    except IntegrityError:
        raise Conflict(
            "a trust anchor of this name already exists", field_errors=[("name", "already in use")]
        ) from None
    return trust_anchor


def trust_anchor_set_enabled(*, trust_anchor: TrustAnchor, enabled: bool) -> TrustAnchor:
    return set_enabled(trust_anchor, enabled)


def trust_anchor_delete(*, trust_anchor: TrustAnchor) -> None:
    trust_anchor.delete()


def trust_anchor_certificates(trust_anchor: TrustAnchor) -> list[x509.Certificate]:
    """The CA certificates a certificate (or a CRL) of this anchor is checked against: the private CA and its parents,
    or every certificate of the bundle."""
    if trust_anchor.source_type == TrustAnchor.NCP_PCA:
        certificates, ca = [], trust_anchor.ca
        while ca is not None:
            certificates.append(x509.load_pem_x509_certificate(ca.certificate_pem.encode("ascii")))
            ca = ca.parent
        return certificates
    return x509_input.load_bundle(trust_anchor.certificate_bundle_pem, "certificate_bundle_pem")


def trust_anchor_for(account: Account, trust_anchor_id) -> TrustAnchor:
    anchor = None
    if isinstance(trust_anchor_id, str) and is_uuid(trust_anchor_id):
        anchor = TrustAnchor.objects.for_account(account).filter(trust_anchor_id=trust_anchor_id).first()
    if anchor is None:
        raise NotFound("no such trust anchor")
    return anchor

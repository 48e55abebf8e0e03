"""External Access services: the private CA, trust anchors, CRL import and the revocation check."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from external_access.models import CertificateAuthority, Crl, RevokedSerial, TrustAnchor
from external_access.services import cas, crls, trust_anchors
from iam.errors import Conflict, InvalidInput
from tests.external_access import pki

pytestmark = pytest.mark.django_db


def root_ca(account, name="root-ca", **kwargs):
    return cas.ca_create(account=account, name=name, subject={"commonName": f"{name} CN"}, **kwargs)


def load(pem_text):
    return x509.load_pem_x509_certificate(pem_text.encode())


def csr_pem(cn="workload-1", key=None):
    from cryptography.hazmat.primitives import hashes, serialization

    key = key or ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(pki.name(cn)).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode(), key


# --- private CA ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", CertificateAuthority.KEY_ALGORITHMS)
def test_a_root_ca_is_self_signed_for_signing_certificates_and_crls(tenant, algorithm):
    ca = root_ca(tenant.account, key_algorithm=algorithm)
    certificate = load(ca.certificate_pem)
    assert certificate.subject == certificate.issuer
    certificate.verify_directly_issued_by(certificate)
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert "PRIVATE KEY" not in ca.private_key_encrypted  # stored encrypted


def test_an_intermediate_is_signed_by_its_parent_and_cannot_outlive_it(tenant):
    root = root_ca(tenant.account, validity_days=30)
    intermediate = cas.ca_create(
        account=tenant.account, name="issuing", subject={"commonName": "Issuing"}, parent=root, validity_days=20
    )
    load(intermediate.certificate_pem).verify_directly_issued_by(load(root.certificate_pem))
    assert intermediate.ca_type == CertificateAuthority.SUBORDINATE
    with pytest.raises(InvalidInput) as refused:
        cas.ca_create(
            account=tenant.account, name="too-long", subject={"commonName": "x"}, parent=root, validity_days=40
        )
    assert refused.value.field_errors[0][0] == "validityDays"
    with pytest.raises(InvalidInput) as refused:  # path length 0: no CA under an intermediate
        cas.ca_create(
            account=tenant.account, name="third", subject={"commonName": "x"}, parent=intermediate, validity_days=5
        )
    assert refused.value.field_errors[0][0] == "parentCaId"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "ab"}, "name"),
        ({"key_algorithm": "RSA_1024"}, "keyAlgorithm"),
        ({"subject": {}}, "subject.commonName"),
        ({"subject": {"commonName": "x", "email": "a@b"}}, "subject.email"),
        ({"subject": {"commonName": "x", "country": "Korea"}}, "subject.country"),
        ({"validity_days": 0}, "validityDays"),
        ({"validity_days": "10"}, "validityDays"),
    ],
)
def test_bad_ca_input_names_the_field_and_creates_nothing(tenant, kwargs, field):
    arguments = {"account": tenant.account, "name": "good-name", "subject": {"commonName": "CN"}, **kwargs}
    with pytest.raises(InvalidInput) as refused:
        cas.ca_create(**arguments)
    assert refused.value.field_errors[0][0] == field
    assert not CertificateAuthority.objects.exists()


def test_a_ca_name_is_unique_in_an_account(tenant, other_tenant):
    root_ca(tenant.account, name="same")
    root_ca(other_tenant.account, name="same")
    with pytest.raises(Conflict):
        root_ca(tenant.account, name="same")


def test_a_certificate_from_a_csr_is_for_client_authentication_and_chains_to_the_ca(tenant):
    ca = root_ca(tenant.account)
    request, key = csr_pem("workload-7")
    issued, generated = cas.certificate_issue(ca=ca, csr=request, validity_days=30)
    assert generated is None
    certificate = load(issued.certificate_pem)
    certificate.verify_directly_issued_by(load(ca.certificate_pem))
    assert certificate.public_key() == key.public_key()
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "workload-7"
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert issued.serial_number == format(certificate.serial_number, "x")


def test_a_generated_key_is_returned_once_and_never_stored(tenant):
    ca = root_ca(tenant.account)
    issued, key_pem = cas.certificate_issue(ca=ca, subject={"commonName": "batch-job"}, key_algorithm="RSA_2048")
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    stored = [str(getattr(issued, f.attname)) for f in issued._meta.concrete_fields]
    assert not any("PRIVATE KEY" in value for value in stored)


def test_a_bad_csr_is_refused(tenant):
    ca = root_ca(tenant.account)
    with pytest.raises(InvalidInput) as refused:
        cas.certificate_issue(ca=ca, csr="not a csr")
    assert refused.value.field_errors[0][0] == "csr"
    with pytest.raises(InvalidInput):
        cas.certificate_issue(ca=ca)  # neither a csr nor a subject


def test_revoked_certificates_are_in_the_published_crl_signed_by_the_ca(tenant):
    ca = root_ca(tenant.account)
    kept, _ = cas.certificate_issue(ca=ca, subject={"commonName": "kept"})
    revoked, _ = cas.certificate_issue(ca=ca, subject={"commonName": "revoked"})
    cas.certificate_revoke(certificate=revoked, reason="key_compromise")
    with pytest.raises(Conflict):
        cas.certificate_revoke(certificate=revoked)
    published = cas.crl_publish(ca=ca)
    assert published.is_signature_valid(load(ca.certificate_pem).public_key())
    assert published.get_revoked_certificate_by_serial_number(int(revoked.serial_number, 16)) is not None
    assert published.get_revoked_certificate_by_serial_number(int(kept.serial_number, 16)) is None
    assert cas.crl_publish(ca=ca).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2


# --- trust anchors ----------------------------------------------------------------------------------------------------


def test_a_trust_anchor_from_a_private_ca_of_the_account_only(tenant, other_tenant):
    ca = root_ca(tenant.account)
    anchor = trust_anchors.trust_anchor_create(
        account=tenant.account, name="anchor-1", source={"sourceType": "NCP_PCA", "sourceData": {"caId": ca.pk}}
    )
    assert anchor.ca == ca and anchor.nrn.startswith("nrn:PUB:ExternalAccess::2942:TrustAnchor/")
    with pytest.raises(InvalidInput) as refused:  # another account's CA is not found
        trust_anchors.trust_anchor_create(
            account=other_tenant.account,
            name="anchor-1",
            source={"sourceType": "NCP_PCA", "sourceData": {"caId": ca.pk}},
        )
    assert refused.value.field_errors[0][0] == "source.sourceData.caId"


def test_a_bundle_must_hold_only_ca_certificates_and_the_error_names_the_bad_one(tenant):
    root, _ = pki.outside_ca("Outside Root")
    leaf, _ = pki.outside_ca("Not a CA", ca=False)
    bundle = pki.pem(root) + pki.pem(leaf)
    with pytest.raises(InvalidInput) as refused:
        trust_anchors.trust_anchor_create(
            account=tenant.account,
            name="bundle",
            source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": bundle}},
        )
    field, message = refused.value.field_errors[0]
    assert field == "source.sourceData.x509CertificateData[1]" and "Not a CA" in message
    garbled = pki.pem(root).replace("MII", "MIX", 1)
    with pytest.raises(InvalidInput) as refused:
        trust_anchors.trust_anchor_create(
            account=tenant.account,
            name="bundle",
            source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": garbled}},
        )
    assert refused.value.field_errors[0][0] == "source.sourceData.x509CertificateData[0]"
    assert not TrustAnchor.objects.exists()


# --- CRLs -------------------------------------------------------------------------------------------------------------


@pytest.fixture
def outside():
    return pki.outside_ca("Outside Root")


@pytest.fixture
def anchor(tenant, outside):
    certificate, _ = outside
    return trust_anchors.trust_anchor_create(
        account=tenant.account,
        name="outside",
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(certificate)}},
    )


def test_a_crl_not_signed_by_the_anchors_ca_is_refused(anchor, outside):
    stranger, stranger_key = pki.outside_ca("Outside Root")  # same name, other key
    with pytest.raises(InvalidInput) as refused:
        crls.crl_create(
            trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(stranger, stranger_key, [5]))
        )
    assert refused.value.field_errors[0] == (
        "crlData",
        "its signature does not verify with the trust anchor's CA certificate",
    )
    other, other_key = pki.outside_ca("Someone Else")
    with pytest.raises(InvalidInput) as refused:
        crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(other, other_key, [5])))
    assert "is not a CA of this trust anchor" in refused.value.field_errors[0][1]
    for bad in ("", "%%%", "aGVsbG8="):
        with pytest.raises(InvalidInput):
            crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=bad)
    assert not Crl.objects.exists()


def test_an_import_is_in_force_only_once_fully_stored(anchor, outside, published, django_capture_on_commit_callbacks):
    certificate, key = outside
    with django_capture_on_commit_callbacks(execute=True):
        crl = crls.crl_create(
            trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(certificate, key, [10, 11, 12]))
        )
    assert published == [(crls.IMPORT_TASK, [crl.pk, 1], {})]
    assert crl.import_status == Crl.PENDING and crl.total_serials == 3
    assert not crls.is_revoked(anchor, 11)  # queued, not yet stored
    assert crls.crl_import_run(crl_id=crl.pk, generation=1, batch_size=2) == "active"
    crl.refresh_from_db()
    assert (crl.import_status, crl.stored_serials, crl.active_generation) == (Crl.ACTIVE, 3, 1)
    assert crls.is_revoked(anchor, 11) and not crls.is_revoked(anchor, 13)
    # The task delivered twice does nothing the second time: no doubled list.
    assert crls.crl_import_run(crl_id=crl.pk, generation=1) == "not pending"
    assert RevokedSerial.objects.filter(crl=crl).count() == 3
    crls.crl_set_enabled(crl=crl, enabled=False)
    assert not crls.is_revoked(anchor, 11)


def test_a_pem_crl_is_accepted(anchor, outside):
    from cryptography.hazmat.primitives import serialization

    certificate, key = outside
    text = pki.crl(certificate, key, [7]).public_bytes(serialization.Encoding.PEM).decode()
    crl = crls.crl_create(trust_anchor=anchor, name="pem-crl", crl_data=text)
    crls.crl_import_run(crl_id=crl.pk, generation=1)
    assert crls.is_revoked(anchor, 7)


def test_a_reimport_keeps_the_old_list_in_force_until_the_new_one_is_stored(anchor, outside):
    certificate, key = outside
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(certificate, key, [1, 2])))
    crls.crl_import_run(crl_id=crl.pk, generation=1)
    crls.crl_update(crl=crl, crl_data=pki.crl_base64(pki.crl(certificate, key, [2, 3])))
    assert crl.generation == 2 and crl.import_status == Crl.PENDING
    assert crls.is_revoked(anchor, 1) and not crls.is_revoked(anchor, 3)  # the old list, until the new one is in
    assert crls.crl_import_run(crl_id=crl.pk, generation=1) == "not pending"  # a stale message does nothing
    assert crls.crl_import_run(crl_id=crl.pk, generation=2) == "active"
    assert not crls.is_revoked(anchor, 1) and crls.is_revoked(anchor, 3)
    assert RevokedSerial.objects.filter(crl=crl).count() == 2  # the old generation's rows are gone


def test_a_killed_import_leaves_nothing_in_force_and_is_resumed(
    anchor, outside, monkeypatch, published, django_capture_on_commit_callbacks
):
    certificate, key = outside
    crl = crls.crl_create(
        trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(certificate, key, range(1, 8)))
    )
    real_write = crls._write_rows
    calls = []

    def dies_on_second_batch(crl_id, generation, serials):
        calls.append(len(serials))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker killed mid-import: nothing of the except clauses runs as usual
        real_write(crl_id, generation, serials)

    monkeypatch.setattr(crls, "_write_rows", dies_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        crls.crl_import_run(crl_id=crl.pk, generation=1, batch_size=3)
    crl.refresh_from_db()
    assert crl.import_status == Crl.IMPORTING and crl.active_generation is None
    assert RevokedSerial.objects.filter(crl=crl).count() == 3  # a partial list, in force nowhere
    assert not crls.is_revoked(anchor, 1)
    monkeypatch.setattr(crls, "_write_rows", real_write)
    assert crls.stale_imports_resume() == 0  # not stale yet
    with django_capture_on_commit_callbacks(execute=True):
        assert crls.stale_imports_resume(now=crl.import_started_time + crls.STALE_IMPORT_AFTER * 2) == 1
    assert published[-1] == (crls.IMPORT_TASK, [crl.pk, 1], {})
    assert crls.crl_import_run(crl_id=crl.pk, generation=1, batch_size=3) == "active"
    assert RevokedSerial.objects.filter(crl=crl).count() == 7
    assert all(crls.is_revoked(anchor, n) for n in range(1, 8))


def test_a_temporary_failure_hands_the_import_back_for_the_retry(anchor, outside, monkeypatch):
    from django.db import OperationalError

    certificate, key = outside
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(certificate, key, [1])))

    def database_gone(*args):
        raise OperationalError("connection lost")

    monkeypatch.setattr(crls, "_write_rows", database_gone)
    with pytest.raises(OperationalError):
        crls.crl_import_run(crl_id=crl.pk, generation=1)
    crl.refresh_from_db()
    assert crl.import_status == Crl.PENDING


def test_deleting_a_crl_deletes_its_serials(anchor, outside):
    certificate, key = outside
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(certificate, key, [1, 2])))
    crls.crl_import_run(crl_id=crl.pk, generation=1)
    crls.crl_delete(crl=crl)
    assert not RevokedSerial.objects.exists() and not crls.is_revoked(anchor, 1)


def test_a_bundle_ca_that_cannot_sign_certificates_is_refused(tenant):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    no_cert_sign = (
        x509.CertificateBuilder()
        .subject_name(pki.name("CRL signer"))
        .issuer_name(pki.name("CRL signer"))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(pki.now() - dt.timedelta(days=1))
        .not_valid_after(pki.now() + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(pki.ca_key_usage(cert_sign=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(InvalidInput) as refused:
        trust_anchors.trust_anchor_create(
            account=tenant.account,
            name="bundle",
            source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(no_cert_sign)}},
        )
    assert "keyCertSign" in refused.value.field_errors[0][1]


def test_a_bundle_of_unclosed_begins_is_read_in_linear_time(tenant):
    from external_access.x509 import pem_blocks

    # The operations a scan does, counted rather than timed: each BEGIN is looked at once.
    unclosed = b"-----BEGIN CERTIFICATE-----\n" * 2300
    assert pem_blocks(unclosed) == []
    root, _ = pki.outside_ca("Outside Root")
    mixed = (pki.pem(root) * 3).encode() + unclosed
    assert len(pem_blocks(mixed)) == 3
    with pytest.raises(InvalidInput) as refused:
        trust_anchors.trust_anchor_create(
            account=tenant.account,
            name="bundle",
            source={
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": unclosed.decode()[:60_000]},
            },
        )
    assert refused.value.field_errors[0][0] == "source.sourceData.x509CertificateData"

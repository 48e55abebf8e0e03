"""Reading the workload's files and the signed headers, checked against the wire page with cryptography."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.signer import load_identity, string_to_sign

from tests.signing_helper.conftest import issue, key_pem, make_workload, new_key, pem


def test_string_to_sign_is_the_wire_pages_text():
    assert string_to_sign(1700000000123, "X509-RSA-SHA256", "TUlJ") == (
        "POST /sessions\n1700000000123\nX509-RSA-SHA256\nTUlJ"
    )


@pytest.mark.parametrize(("kind", "algorithm"), [("rsa", "X509-RSA-SHA256"), ("ec", "X509-ECDSA-SHA256")])
def test_headers_carry_a_signature_the_certificate_verifies(tmp_path, kind, algorithm):
    workload = make_workload(tmp_path, kind)
    identity = load_identity(str(workload.cert_path), str(workload.key_path))
    headers = identity.session_headers(1700000000123)

    assert sorted(headers) == [
        "x-ncp-iam-signature-v2",
        "x-ncp-iam-timestamp",
        "x-ncp-iam-x509",
        "x-ncp-iam-x509-algorithm",
    ]
    assert headers["x-ncp-iam-timestamp"] == "1700000000123"
    assert headers["x-ncp-iam-x509-algorithm"] == algorithm
    der = workload.certificate.public_bytes(serialization.Encoding.DER)
    assert headers["x-ncp-iam-x509"] == base64.b64encode(der).decode()  # standard base64 of the leaf's DER
    message = f"POST /sessions\n1700000000123\n{algorithm}\n{headers['x-ncp-iam-x509']}".encode()
    signature = base64.b64decode(headers["x-ncp-iam-signature-v2"], validate=True)
    public_key = workload.certificate.public_key()
    if kind == "rsa":
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    else:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_a_p384_key_signs_with_sha256_too(tmp_path):
    workload = make_workload(tmp_path, "ec384")
    identity = load_identity(str(workload.cert_path), str(workload.key_path))
    headers = identity.session_headers(1)
    assert headers["x-ncp-iam-x509-algorithm"] == "X509-ECDSA-SHA256"
    message = f"POST /sessions\n1\nX509-ECDSA-SHA256\n{headers['x-ncp-iam-x509']}".encode()
    signature = base64.b64decode(headers["x-ncp-iam-signature-v2"])
    workload.certificate.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_intermediates_go_in_the_chain_header_in_order(tmp_path):
    workload = make_workload(tmp_path, "ec")
    extra = issue("Another CA", new_key("ec"), ca=True)
    workload.intermediates_path.write_bytes(pem(workload.intermediate) + pem(extra))
    identity = load_identity(str(workload.cert_path), str(workload.key_path), str(workload.intermediates_path))

    chain = identity.session_headers(1)["x-ncp-iam-x509-chain"].split(",")
    assert [x509.load_der_x509_certificate(base64.b64decode(part)) for part in chain] == [workload.intermediate, extra]


def test_a_full_chain_certificate_file_sends_its_other_certificates_as_intermediates(tmp_path):
    workload = make_workload(tmp_path, "rsa")
    workload.cert_path.write_bytes(pem(workload.certificate) + pem(workload.intermediate))
    identity = load_identity(str(workload.cert_path), str(workload.key_path))
    assert identity.certificate == workload.certificate
    assert identity.intermediates == (workload.intermediate,)


def test_no_intermediates_no_chain_header(tmp_path):
    workload = make_workload(tmp_path, "rsa")
    assert "x-ncp-iam-x509-chain" not in load_identity(str(workload.cert_path), str(workload.key_path)).session_headers(
        1
    )


def test_der_files_are_read_too(tmp_path):
    workload = make_workload(tmp_path, "ec")
    cert_der, key_der = tmp_path / "cert.der", tmp_path / "key.der"
    cert_der.write_bytes(workload.certificate.public_bytes(serialization.Encoding.DER))
    key_der.write_bytes(
        workload.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    identity = load_identity(str(cert_der), str(key_der))
    assert identity.certificate == workload.certificate


def test_traditional_openssl_key_files_are_read(tmp_path):
    workload = make_workload(tmp_path, "rsa")
    workload.key_path.write_bytes(
        workload.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    assert workload.key_path.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert load_identity(str(workload.cert_path), str(workload.key_path)).algorithm == "X509-RSA-SHA256"


def _error(*paths) -> str:
    with pytest.raises(HelperError) as raised:
        load_identity(*map(str, paths))
    return str(raised.value)


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path):
    workload = make_workload(tmp_path, "ec")
    other = tmp_path / "other.pem"
    other.write_bytes(key_pem(new_key("ec")))
    assert _error(workload.cert_path, other) == (
        f"the private key {other} does not match the certificate {workload.cert_path}"
    )


def test_unreadable_files_are_named(tmp_path):
    workload = make_workload(tmp_path, "ec")
    missing = tmp_path / "nope.pem"
    assert (
        _error(missing, workload.key_path) == f"cannot read the certificate file {missing}: No such file or directory"
    )
    assert (
        _error(workload.cert_path, missing) == f"cannot read the private key file {missing}: No such file or directory"
    )
    assert _error(workload.cert_path, workload.key_path, tmp_path) == (
        f"cannot read the intermediates file {tmp_path}: Is a directory"
    )


def test_files_without_a_certificate_or_key_are_named(tmp_path):
    workload = make_workload(tmp_path, "ec")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert _error(garbage, workload.key_path) == (
        f"the certificate file {garbage} holds no readable X.509 certificate (PEM or DER)"
    )
    assert _error(workload.key_path, workload.key_path) == (
        f"the certificate file {workload.key_path} holds no readable X.509 certificate (PEM or DER)"
    )
    assert _error(workload.cert_path, workload.cert_path) == (
        f"the private key file {workload.cert_path} holds no readable private key (PEM or DER)"
    )


def test_an_encrypted_key_is_refused_with_the_reason(tmp_path):
    workload = make_workload(tmp_path, "ec")
    workload.key_path.write_bytes(
        workload.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    assert _error(workload.cert_path, workload.key_path) == (
        f"the private key {workload.key_path} is encrypted: give the helper an unencrypted key file"
    )


def test_keys_other_than_rsa_and_ec_are_refused(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    now_cert = issue("ed", new_key("ec"), ca=False)  # any certificate: the key type is checked first
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(pem(now_cert))
    key_path.write_bytes(key_pem(key))
    assert _error(cert_path, key_path) == (
        f"the private key {key_path} is neither RSA nor EC: only those sign a session request"
    )

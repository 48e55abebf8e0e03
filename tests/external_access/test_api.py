"""The External Access API: private CAs, trust anchors and CRLs, signed and authorized like every call, in
External Access's error body and paging, with tenancy per endpoint."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from external_access.models import CertificateAuthority, Crl, RevokedSerial, TrustAnchor
from external_access.services import crls
from iam.models import AuditEvent, Policy
from iam.services.policies import policy_create
from tests.conftest import make_sub_account
from tests.external_access import pki

pytestmark = pytest.mark.django_db


def system_policy(name: str) -> str:
    return Policy.objects.get(name=name, policy_type=Policy.SYSTEM_MANAGED).policy_id


@pytest.fixture
def manager(tenant):
    return make_sub_account(tenant, "ea-manager", policy_ids=[system_policy("NCP_EXTERNAL_ACCESS_MANAGER")])[1]


@pytest.fixture
def viewer(tenant):
    return make_sub_account(tenant, "ea-viewer", policy_ids=[system_policy("NCP_EXTERNAL_ACCESS_VIEWER")])[1]


def create_ca(api, tenant, name="root-ca", **body):
    response = api.call(
        "POST", "/api/v1/cas", {"name": name, "subject": {"commonName": f"{name} CN"}, **body}, creds=tenant.root
    )
    assert response.status_code == 200, response.json()
    return response.json()


def bundle_anchor_body(certificate, name="outside-anchor", enabled=True):
    return {
        "name": name,
        "enabled": enabled,
        "source": {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(certificate)}},
    }


def assert_error(response, status, field=None):
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert isinstance(error["errorCode"], str) and error["message"] and error["requestId"]
    assert error["requestId"] == response["X-Request-Id"]
    if field is not None:
        assert [f["field"] for f in error["fieldErrors"]] == [field]
    return error


# --- private CAs ------------------------------------------------------------------------------------------------------


def test_the_root_key_creates_a_ca_and_a_viewer_reads_it(api, tenant, viewer):
    ca = create_ca(api, tenant, keyAlgorithm="EC_secp384r1", validityDays=365)
    assert ca["caType"] == "ROOT" and ca["nrn"] == f"nrn:PUB:PrivateCA::2942:CA/{ca['caId']}"
    assert "privateKey" not in ca and "PRIVATE" not in str(ca)
    listed = api.call("GET", "/api/v1/cas", creds=viewer).json()
    assert (listed["pageNo"], listed["totalElements"], listed["pageSize"]) == (0, 1, 20)
    assert [c["caId"] for c in listed["content"]] == [ca["caId"]]
    detail = api.call("GET", f"/api/v1/cas/{ca['caId']}", creds=viewer)
    assert detail.status_code == 200 and detail.json()["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    event = AuditEvent.objects.get(action="PrivateCA:createCA", result=AuditEvent.SUCCESS)
    assert event.resource == ca["nrn"]
    assert not AuditEvent.objects.filter(action__startswith="ExternalAccess:View/").exists()  # reads are not audited


def test_only_the_root_key_writes_to_a_ca(api, tenant, manager):
    ca = create_ca(api, tenant)
    for method, uri, body in (
        ("POST", "/api/v1/cas", {"name": "mine", "subject": {"commonName": "x"}}),
        ("POST", f"/api/v1/cas/{ca['caId']}/certificates", {"subject": {"commonName": "x"}}),
        ("POST", f"/api/v1/cas/{ca['caId']}/crl", None),
    ):
        response = api.call(method, uri, body, creds=manager)
        assert response.status_code == 401 and response.json()["error"]["errorCode"] == "210", uri
    assert (
        CertificateAuthority.objects.count() == 1
        and not CertificateAuthority.objects.get().issued_certificates.exists()
    )
    assert AuditEvent.objects.filter(result=AuditEvent.DENIED, action__startswith="PrivateCA:").count() == 3


def test_a_sub_account_without_an_external_access_policy_reads_nothing(api, tenant):
    create_ca(api, tenant)
    _, nobody = make_sub_account(tenant, "nobody", actions=["View/getSubAccountList"])
    for uri in ("/api/v1/cas", "/api/v1/trust-anchors"):
        response = api.call("GET", uri, creds=nobody)
        assert response.status_code == 401 and response.json()["error"]["errorCode"] == "210"


def test_issue_from_a_csr_and_with_a_generated_key_shown_once(api, tenant):
    ca = create_ca(api, tenant)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(pki.name("from-csr")).sign(key, hashes.SHA256())
    csr_pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    uri = f"/api/v1/cas/{ca['caId']}/certificates"
    from_csr = api.call("POST", uri, {"csr": csr_pem, "validityDays": 30}, creds=tenant.root).json()
    assert "privateKey" not in from_csr and from_csr["certificateChain"] == ca["certificate"]
    generated = api.call("POST", uri, {"subject": {"commonName": "gen"}, "keyAlgorithm": "RSA_2048"}, creds=tenant.root)
    assert generated.status_code == 200 and generated.json()["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")
    listed = api.call("GET", uri, creds=tenant.root).json()
    assert [c["subject"] for c in listed] == ["CN=from-csr", "CN=gen"]
    assert "PRIVATE KEY" not in str(listed)
    refused = api.call("POST", uri, {"csr": "garbage"}, creds=tenant.root)
    assert_error(refused, 400, "csr")


def test_revoke_and_publish_the_crl(api, tenant):
    ca = create_ca(api, tenant)
    uri = f"/api/v1/cas/{ca['caId']}/certificates"
    issued = api.call("POST", uri, {"subject": {"commonName": "gone"}}, creds=tenant.root).json()
    revoked = api.call(
        "POST", f"{uri}/{issued['certificateId']}/revoke", {"reason": "key_compromise"}, creds=tenant.root
    )
    assert revoked.status_code == 200 and revoked.json()["revocationReason"] == "key_compromise"
    again = api.call("POST", f"{uri}/{issued['certificateId']}/revoke", {}, creds=tenant.root)
    assert_error(again, 409)
    assert_error(api.call("POST", f"{uri}/not-a-uuid/revoke", {}, creds=tenant.root), 404)
    published = api.call("POST", f"/api/v1/cas/{ca['caId']}/crl", creds=tenant.root).json()
    crl = x509.load_der_x509_crl(base64.b64decode(published["crlData"]))
    assert published["revokedCount"] == 1 and published["crlNumber"] == 1
    assert crl.get_revoked_certificate_by_serial_number(int(issued["serialNumber"], 16)) is not None


@pytest.mark.parametrize("bad_id", ["abc", "1" * 30, "-1", "1%00"])
def test_a_ca_id_that_cannot_exist_is_not_found(api, tenant, bad_id):
    response = api.call("GET", f"/api/v1/cas/{bad_id}", creds=tenant.root)
    assert response.status_code in (400, 404)
    assert_error(response, response.status_code)


# --- trust anchors ----------------------------------------------------------------------------------------------------


def test_a_trust_anchor_from_a_private_ca(api, tenant, manager):
    ca = create_ca(api, tenant)
    body = {"name": "pca-anchor", "source": {"sourceType": "NCP_PCA", "sourceData": {"caId": ca["caId"]}}}
    created = api.call("POST", "/api/v1/trust-anchors", body, creds=manager)
    assert created.status_code == 200, created.json()
    anchor = created.json()
    assert anchor["enabled"] is False  # NCP's default
    assert anchor["source"]["sourceData"]["caId"] == ca["caId"] and anchor["source"]["sourceData"]["nrn"] == ca["nrn"]
    assert anchor["trustAnchorNrn"] == f"nrn:PUB:ExternalAccess::2942:TrustAnchor/{anchor['trustAnchorId']}"
    event = AuditEvent.objects.get(action="ExternalAccess:Change/createTrustAnchor")
    assert event.resource == anchor["trustAnchorNrn"] and event.result == AuditEvent.SUCCESS
    uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}"
    assert api.call("POST", f"{uri}/enable", creds=manager).json()["enabled"] is True
    assert api.call("POST", f"{uri}/disable", creds=manager).json()["enabled"] is False
    patched = api.call("PATCH", uri, {"description": "the workloads' CA"}, creds=manager)
    assert patched.status_code == 200 and patched.json()["description"] == "the workloads' CA"
    assert api.call("DELETE", uri, creds=manager).json()["success"] is True
    assert not TrustAnchor.objects.exists()


def test_a_bad_bundle_answers_400_naming_the_certificate_and_stores_nothing(api, tenant, manager):
    root, _ = pki.outside_ca("Outside Root")
    leaf, _ = pki.outside_ca("Leaf", ca=False)
    body = bundle_anchor_body(root)
    body["source"]["sourceData"]["x509CertificateData"] += pki.pem(leaf)
    error = assert_error(
        api.call("POST", "/api/v1/trust-anchors", body, creds=manager), 400, "source.sourceData.x509CertificateData[1]"
    )
    assert "not a CA certificate" in error["message"]
    for bad, field in (
        ({**bundle_anchor_body(root), "name": "x"}, "name"),
        ({**bundle_anchor_body(root), "source": {"sourceType": "S3"}}, "source.sourceType"),
        ({**bundle_anchor_body(root), "description": "é" * 151}, "description"),
        (
            {"name": "pca", "source": {"sourceType": "NCP_PCA", "sourceData": {"caId": "1"}}},
            "source.sourceData.caId",
        ),
    ):
        assert_error(api.call("POST", "/api/v1/trust-anchors", bad, creds=manager), 400, field)
    assert not TrustAnchor.objects.exists()


def test_a_deny_on_one_trust_anchor_holds(api, tenant):
    root, _ = pki.outside_ca()
    first = api.call("POST", "/api/v1/trust-anchors", bundle_anchor_body(root, "first"), creds=tenant.root).json()
    second = api.call("POST", "/api/v1/trust-anchors", bundle_anchor_body(root, "second"), creds=tenant.root).json()
    deny = policy_create(
        account=tenant.account,
        name="deny-first",
        permissions=[
            {
                "effect": "Deny",
                "targets": [{"product": "ExternalAccess", "actions": ["*"], "resourceNrns": [first["trustAnchorNrn"]]}],
            }
        ],
    )
    _, creds = make_sub_account(
        tenant, "limited", policy_ids=[system_policy("NCP_EXTERNAL_ACCESS_MANAGER"), deny.policy_id]
    )
    assert api.call("GET", f"/api/v1/trust-anchors/{second['trustAnchorId']}", creds=creds).status_code == 200
    denied = api.call("DELETE", f"/api/v1/trust-anchors/{first['trustAnchorId']}", creds=creds)
    assert denied.status_code == 401 and TrustAnchor.objects.count() == 2


# --- CRLs -------------------------------------------------------------------------------------------------------------


@pytest.fixture
def outside():
    return pki.outside_ca("Outside Root")


@pytest.fixture
def anchor(api, tenant, outside):
    response = api.call("POST", "/api/v1/trust-anchors", bundle_anchor_body(outside[0]), creds=tenant.root)
    return response.json()


def test_a_crl_import_shows_its_progress_and_goes_into_force(api, tenant, manager, anchor, outside):
    certificate, key = outside
    uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}/crls"
    body = {"name": "crl-1", "crlData": pki.crl_base64(pki.crl(certificate, key, [3, 4]))}
    created = api.call("POST", uri, body, creds=manager)
    assert created.status_code == 200, created.json()
    crl = created.json()
    assert (crl["importStatus"], crl["totalSerials"], crl["storedSerials"], crl["inForce"]) == ("PENDING", 2, 0, False)
    assert crl["crlNrn"] == f"nrn:PUB:ExternalAccess::2942:Crl/{crl['crlId']}"
    crls.crl_import_run(crl_id=Crl.objects.get().pk, generation=1)  # what the worker does
    detail = api.call("GET", f"{uri}/{crl['crlId']}", creds=manager).json()
    assert (detail["importStatus"], detail["storedSerials"], detail["inForce"]) == ("ACTIVE", 2, True)
    assert base64.b64decode(detail["crlData"]) == base64.b64decode(body["crlData"])
    listed = api.call("GET", uri, creds=manager).json()
    assert listed["totalElements"] == 1 and "crlData" not in listed["content"][0]
    disabled = api.call("POST", f"{uri}/{crl['crlId']}/disable", creds=manager)
    assert disabled.json()["inForce"] is False and not crls.is_revoked(TrustAnchor.objects.get(), 3)
    assert AuditEvent.objects.filter(action="ExternalAccess:Change/disbleCrl", result=AuditEvent.SUCCESS).exists()
    assert api.call("DELETE", f"{uri}/{crl['crlId']}", creds=manager).status_code == 200
    assert not Crl.objects.exists() and not RevokedSerial.objects.exists()


def test_a_crl_of_another_ca_is_refused_and_nothing_is_stored(api, tenant, anchor):
    other, other_key = pki.outside_ca("Someone Else")
    uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}/crls"
    body = {"name": "crl-1", "crlData": pki.crl_base64(pki.crl(other, other_key, [3]))}
    assert_error(api.call("POST", uri, body, creds=tenant.root), 400, "crlData")
    assert_error(api.call("POST", uri, {"name": "crl-1", "crlData": "!!"}, creds=tenant.root), 400, "crlData")
    assert_error(api.call("POST", uri, {"name": "c", "crlData": body["crlData"]}, creds=tenant.root), 400, "name")
    assert not Crl.objects.exists()


def test_enabling_through_patch_needs_the_enable_action(api, tenant, anchor, outside):
    certificate, key = outside
    uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}/crls"
    crl = api.call(
        "POST", uri, {"name": "crl-1", "crlData": pki.crl_base64(pki.crl(certificate, key, [1]))}, creds=tenant.root
    ).json()
    only_import = policy_create(
        account=tenant.account,
        name="import-only",
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "ExternalAccess", "actions": ["Change/importCrl"], "resourceNrns": ["*"]}],
            }
        ],
    )
    _, creds = make_sub_account(tenant, "importer", policy_ids=[only_import.policy_id])
    assert api.call("PATCH", f"{uri}/{crl['crlId']}", {"name": "renamed"}, creds=creds).status_code == 200
    refused = api.call("PATCH", f"{uri}/{crl['crlId']}", {"enabled": False}, creds=creds)
    assert refused.status_code == 401 and Crl.objects.get().enabled is True


# --- tenancy ----------------------------------------------------------------------------------------------------------


def test_another_accounts_cas_trust_anchors_and_crls_are_not_found(api, tenant, other_tenant, anchor, outside):
    certificate, key = outside
    ca = create_ca(api, tenant)
    crl = api.call(
        "POST",
        f"/api/v1/trust-anchors/{anchor['trustAnchorId']}/crls",
        {"name": "crl-1", "crlData": pki.crl_base64(pki.crl(certificate, key, [1]))},
        creds=tenant.root,
    ).json()
    stranger = other_tenant.root
    anchor_uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}"
    crl_uri = f"{anchor_uri}/crls/{crl['crlId']}"
    for method, uri, body in (
        ("GET", f"/api/v1/cas/{ca['caId']}", None),
        ("GET", f"/api/v1/cas/{ca['caId']}/certificates", None),
        ("POST", f"/api/v1/cas/{ca['caId']}/certificates", {"subject": {"commonName": "x"}}),
        ("POST", f"/api/v1/cas/{ca['caId']}/crl", None),
        ("GET", anchor_uri, None),
        ("PATCH", anchor_uri, {"name": "taken-over"}),
        ("POST", f"{anchor_uri}/disable", None),
        ("DELETE", anchor_uri, None),
        ("GET", f"{anchor_uri}/crls", None),
        ("POST", f"{anchor_uri}/crls", {"name": "crl-2", "crlData": "x"}),
        ("GET", crl_uri, None),
        ("PATCH", crl_uri, {"enabled": False}),
        ("POST", f"{crl_uri}/disable", None),
        ("DELETE", crl_uri, None),
    ):
        response = api.call(method, uri, body, creds=stranger)
        assert response.status_code == 404, (method, uri, response.json())
    assert api.call("GET", "/api/v1/cas", creds=stranger).json()["totalElements"] == 0
    assert api.call("GET", "/api/v1/trust-anchors", creds=stranger).json()["totalElements"] == 0
    other_pca = {"name": "steal", "source": {"sourceType": "NCP_PCA", "sourceData": {"caId": ca["caId"]}}}
    assert_error(api.call("POST", "/api/v1/trust-anchors", other_pca, creds=stranger), 400, "source.sourceData.caId")
    anchor_row = TrustAnchor.objects.get()
    assert anchor_row.name == "outside-anchor" and anchor_row.enabled is True and Crl.objects.get().enabled is True


def big_crl(outside, count: int):
    import datetime as dt

    certificate, key = outside
    now = pki.now()
    revoked = [x509.RevokedCertificateBuilder().serial_number(n + 1).revocation_date(now).build() for n in range(count)]
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=certificate.subject,
        last_update=now,
        next_update=now + dt.timedelta(days=1),
        revoked_certificates=revoked,
    )
    return pki.crl_base64(builder.sign(key, hashes.SHA256()))


def test_a_crl_import_may_be_larger_than_other_bodies(api, tenant, anchor, outside, settings):
    data = big_crl(outside, 100_000)  # 4.6 MB of base64: over Django's 2.5 MB for other requests
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    uri = f"/api/v1/trust-anchors/{anchor['trustAnchorId']}/crls"
    created = api.call("POST", uri, {"name": "big", "crlData": data}, creds=tenant.root)
    assert created.status_code == 200 and created.json()["totalSerials"] == 100_000
    settings.EXTERNAL_ACCESS_CRL_MAX_BYTES = 1_000_000
    refused = api.call("POST", uri, {"name": "big-2", "crlData": data}, creds=tenant.root)
    assert_error(refused, 413)
    assert "EXTERNAL_ACCESS_CRL_MAX_BYTES" in refused.json()["error"]["message"]
    too_big_elsewhere = api.call("POST", "/api/v1/trust-anchors", {"name": "x", "description": data}, creds=tenant.root)
    assert too_big_elsewhere.status_code == 413
    assert Crl.objects.count() == 1 and TrustAnchor.objects.count() == 1

"""Certificate sessions (POST /auth/v1/sessions) end to end: a workload certificate of a trusted CA gets a Service
role's temporary keys that work with the API; everything else is refused with a reason recorded on the subject."""

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from external_access.models import ProfileRole, SessionAttempt, Subject, SubjectCertificate
from external_access.services import cas, crls, profiles, subjects, trust_anchors
from external_access.services.cas import _ca_key
from iam.gateway import x509_signing
from iam.models import AccessKey, AuditEvent, Role, RoleServiceTarget
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create, role_services_attach, role_services_detach, role_update
from tests.conftest import SignedClient, make_tenant
from tests.external_access import pki

pytestmark = pytest.mark.django_db

READ_GROUPS = [
    {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}]}
]


class Workload:
    """A tenant's External Access set-up: a private CA, an enabled anchor on it, a Service role that may read
    groups, an enabled profile holding it, and a workload key with a certificate of that CA."""

    def __init__(self, tenant, key=None):
        self.tenant = tenant
        self.ca = cas.ca_create(account=tenant.account, name="workloads", subject={"commonName": "Workload CA"})
        self.anchor = trust_anchors.trust_anchor_create(
            account=tenant.account,
            name="workloads",
            enabled=True,
            source={"sourceType": "NCP_PCA", "sourceData": {"caId": self.ca.pk}},
        )
        self.role = role_create(account=tenant.account, name="batch-jobs", role_type=Role.SERVICE)
        role_services_attach(role=self.role, services=[RoleServiceTarget.EXTERNAL_ACCESS])
        policy = policy_create(account=tenant.account, name="read-groups", permissions=READ_GROUPS)
        policies_attach(target=self.role, policy_ids=[policy.policy_id])
        self.profile = profiles.profile_create(
            account=tenant.account, name="batch", enabled=True, duration_seconds=3600, role_ids=[self.role.role_no]
        )
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.certificate = self.issue(self.key)

    def issue(self, key, cn="batch-worker-1"):
        request = x509.CertificateSigningRequestBuilder().subject_name(pki.name(cn)).sign(key, hashes.SHA256())
        csr = request.public_bytes(serialization.Encoding.PEM).decode()
        issued, _ = cas.certificate_issue(ca=self.ca, csr=csr, validity_days=30)
        return x509.load_pem_x509_certificate(issued.certificate_pem.encode())

    def body(self, **overrides):
        body = {
            "durationSeconds": 900,
            "trustAnchorNrn": self.anchor.nrn,
            "profileNrn": self.profile.nrn,
            "roleNrn": self.role.nrn,
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}


def call(body, key, certificate, *, timestamp=None, chain=(), headers=None):
    stamp = timestamp or SignedClient.timestamp()
    sent = x509_signing.sign(key, stamp, certificate)
    if chain:
        sent[x509_signing.CHAIN_HEADER] = ",".join(
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        )
    sent.update(headers or {})
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sent.items()}
    client = SignedClient().client
    return client.generic("POST", "/auth/v1/sessions", json.dumps(body), content_type="application/json", **meta), sent


@pytest.fixture
def workload(tenant):
    return Workload(tenant)


def test_a_trusted_certificate_gets_keys_that_work_with_the_roles_policies(api, workload):
    response, _ = call(workload.body(), workload.key, workload.certificate)
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["roleNrn"] == workload.role.nrn and set(body["credential"]) == {
        "accessKey", "keySecret", "createTime", "expireTime",
    }  # fmt: skip
    credential = body["credential"]
    create, expire = (
        dt.datetime.fromisoformat(credential[f].replace("Z", "+00:00")) for f in ("createTime", "expireTime")
    )
    assert 899 <= (expire - create).total_seconds() <= 901
    from tests.conftest import Credentials

    keys = Credentials(credential["accessKey"], credential["keySecret"])
    assert api.call("GET", "/api/v1/groups", creds=keys).status_code == 200
    denied = api.call("GET", "/api/v1/sub-accounts", creds=keys)
    assert denied.status_code == 401 and denied.json()["error"]["errorCode"] == "210"
    subject = Subject.objects.get()
    assert subject.x509_subject == "CN=batch-worker-1" and subject.account == workload.tenant.account
    key = AccessKey.objects.get(access_key=credential["accessKey"])
    assert (key.role, key.source_identity_type, key.source_identity_id) == (
        workload.role,
        "ExternalAccess",
        subject.nrn,
    )
    seen = SubjectCertificate.objects.get()
    assert seen.serial_number == format(workload.certificate.serial_number, "x") and seen.issuer == "CN=Workload CA"
    attempt = SessionAttempt.objects.get()
    assert (attempt.outcome, attempt.access_key, attempt.role_nrn) == ("ISSUED", key.access_key, workload.role.nrn)
    assert AuditEvent.objects.get(action="ExternalAccess:createSession").result == AuditEvent.SUCCESS
    workload.role.refresh_from_db()
    assert workload.role.last_use_time is not None


def test_an_rsa_certificate_and_the_profiles_duration_by_default(tenant):
    workload = Workload(tenant, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    response, sent = call(workload.body(durationSeconds=None), workload.key, workload.certificate)
    assert sent[x509_signing.ALGORITHM_HEADER] == "X509-RSA-SHA256"
    assert response.status_code == 201, response.json()
    key = AccessKey.objects.get(access_key=response.json()["credential"]["accessKey"])
    assert 3599 <= (key.expire_time - key.create_time).total_seconds() <= 3601


def test_a_request_is_accepted_once_whatever_its_body(workload):
    response, sent = call(workload.body(), workload.key, workload.certificate)
    assert response.status_code == 201
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sent.items()}
    client = SignedClient().client
    for body in (workload.body(), workload.body(durationSeconds=600)):
        again = client.generic("POST", "/auth/v1/sessions", json.dumps(body), content_type="application/json", **meta)
        assert again.status_code == 401, again.json()
    assert AccessKey.objects.filter(role=workload.role).count() == 1
    reasons = list(SessionAttempt.objects.filter(outcome="REFUSED").values_list("reason", flat=True))
    assert reasons == ["signature already used: a session request is accepted once"] * 2


def test_a_signature_that_does_not_verify_is_refused_and_recorded_on_the_subject(workload):
    call(workload.body(), workload.key, workload.certificate)  # the subject exists from here on
    stranger = ec.generate_private_key(ec.SECP256R1())
    response, _ = call(workload.body(), stranger, workload.certificate)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "200"
    stale = str(int(SignedClient.timestamp()) - 6 * 60 * 1000)
    assert call(workload.body(), workload.key, workload.certificate, timestamp=stale)[0].status_code == 401
    wrong_algorithm = {x509_signing.ALGORITHM_HEADER: "X509-RSA-SHA256"}
    assert call(workload.body(), workload.key, workload.certificate, headers=wrong_algorithm)[0].status_code == 401
    reasons = list(SessionAttempt.objects.filter(outcome="REFUSED").order_by("id").values_list("reason", flat=True))
    assert reasons == [
        "signature does not match the certificate's key",
        "timestamp is more than 5 minutes from the server clock",
        "x-ncp-iam-x509-algorithm X509-RSA-SHA256 does not match the certificate's key type",
    ]


def test_missing_or_garbled_headers_are_refused(workload):
    for broken in ({x509_signing.CERTIFICATE_HEADER: "%%%"}, {x509_signing.ALGORITHM_HEADER: "HMAC"}):
        response, _ = call(workload.body(), workload.key, workload.certificate, headers=broken)
        assert response.status_code == 401, broken
    client = SignedClient().client
    assert client.post("/auth/v1/sessions", workload.body(), content_type="application/json").status_code == 401
    assert not AccessKey.objects.filter(role=workload.role).exists()


def test_a_certificate_of_another_ca_is_not_trusted_and_makes_no_subject(workload):
    outside, outside_key = pki.outside_ca("Someone Else")
    key = ec.generate_private_key(ec.SECP256R1())
    foreign = (
        x509.CertificateBuilder()
        .subject_name(pki.name("intruder"))
        .issuer_name(outside.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() - dt.timedelta(days=1))
        .not_valid_after(pki.now() + dt.timedelta(days=1))
        .sign(outside_key, hashes.SHA256())
    )
    response, _ = call(workload.body(), key, foreign)
    assert response.status_code == 403
    assert "not trusted by this trust anchor" in response.json()["error"]["message"]
    assert not Subject.objects.exists()
    assert AuditEvent.objects.get(action="ExternalAccess:createSession").result == AuditEvent.DENIED


def leaf_signed_by(workload, key, *, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,), not_after=None, cn="odd-leaf"):
    builder = (
        x509.CertificateBuilder()
        .subject_name(pki.name(cn))
        .issuer_name(x509.load_pem_x509_certificate(workload.ca.certificate_pem.encode()).subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() - dt.timedelta(days=10))
        .not_valid_after(not_after or pki.now() + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(_ca_key(workload.ca), hashes.SHA256())


def test_a_leaf_not_for_client_authentication_or_expired_is_refused(workload):
    key = ec.generate_private_key(ec.SECP256R1())
    server_only = leaf_signed_by(workload, key, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    response, _ = call(workload.body(), key, server_only)
    assert response.status_code == 403 and "EKU" in response.json()["error"]["message"]
    expired = leaf_signed_by(workload, key, not_after=pki.now() - dt.timedelta(days=1))
    assert call(workload.body(), key, expired)[0].status_code == 403
    no_eku = leaf_signed_by(workload, key, eku=(), cn="cn-only-no-eku")
    assert call(workload.body(), key, no_eku)[0].status_code == 201


def test_a_revoked_certificate_is_refused_while_the_crl_is_enabled(workload):
    issued = workload.ca.issued_certificates.get()
    cas.certificate_revoke(certificate=issued, reason="key_compromise")
    published = cas.crl_publish(ca=workload.ca)
    crl = crls.crl_create(trust_anchor=workload.anchor, name="workloads", crl_data=pki.crl_base64(published))
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201  # not imported yet
    crls.crl_import_run(crl_id=crl.pk, generation=1)
    response, _ = call(workload.body(), workload.key, workload.certificate)
    assert response.status_code == 403 and "revoked" in response.json()["error"]["message"]
    assert SessionAttempt.objects.filter(outcome="REFUSED", reason__contains="revoked").count() == 1
    crls.crl_set_enabled(crl=crl, enabled=False)
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201


@pytest.mark.parametrize("leaf_key", ["ec", "rsa"])
def test_an_intermediate_from_the_chain_header_for_a_bundle_anchor(tenant, workload, leaf_key):
    root, root_key = pki.outside_ca("Outside Root")
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(pki.name("Outside Issuing"))
        .issuer_name(root.subject)
        .public_key(intermediate_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() - dt.timedelta(days=1))
        .not_valid_after(pki.now() + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(intermediate_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if leaf_key == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(pki.name("outside-worker"))
        .issuer_name(intermediate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() - dt.timedelta(days=1))
        .not_valid_after(pki.now() + dt.timedelta(days=10))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(intermediate_key, hashes.SHA256())
    )
    anchor = trust_anchors.trust_anchor_create(
        account=tenant.account,
        name="outside",
        enabled=True,
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(root)}},
    )
    body = workload.body(trustAnchorNrn=anchor.nrn)
    assert call(body, key, leaf)[0].status_code == 403  # the intermediate is nowhere
    ok = call(body, key, leaf, chain=[intermediate])[0]
    assert ok.status_code == 201, ok.json()


@pytest.mark.parametrize(
    "breaks",
    [
        "anchor disabled",
        "profile disabled",
        "role disabled",
        "role not in the profile",
        "subject disabled",
        "External Access not among the role's services",
    ],
)
def test_what_must_be_enabled_and_mapped(workload, breaks):
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201
    if breaks == "anchor disabled":
        trust_anchors.trust_anchor_set_enabled(trust_anchor=workload.anchor, enabled=False)
    elif breaks == "profile disabled":
        profiles.profile_set_enabled(profile=workload.profile, enabled=False)
    elif breaks == "role disabled":
        role_update(role=workload.role, active=False)
    elif breaks == "role not in the profile":
        profiles.profile_update(profile=workload.profile, role_ids=[])
    elif breaks == "External Access not among the role's services":
        role_services_detach(role=workload.role, services=[RoleServiceTarget.EXTERNAL_ACCESS])
    else:
        subjects.subject_set_enabled(subject=Subject.objects.get(), enabled=False)
    response, _ = call(workload.body(), workload.key, workload.certificate)
    assert response.status_code == 403, response.json()
    assert AccessKey.objects.filter(role=workload.role).count() == 1


def test_duration_within_the_profiles_and_bad_bodies_name_the_field(workload):
    response, _ = call(workload.body(durationSeconds=7200), workload.key, workload.certificate)
    assert response.status_code == 400
    assert response.json()["error"]["fieldErrors"][0]["field"] == "durationSeconds"
    for body, field in (
        (workload.body(durationSeconds=59), "durationSeconds"),
        (workload.body(roleNrn=None), "roleNrn"),
        (workload.body(profileNrn="Profile/1"), "profileNrn"),
        (workload.body(trustAnchorNrn=workload.profile.nrn), "trustAnchorNrn"),
    ):
        response, _ = call(body, workload.key, workload.certificate)
        assert response.status_code == 400, body
        assert response.json()["error"]["fieldErrors"][0]["field"] == field
    assert not AccessKey.objects.filter(role=workload.role).exists()


def test_another_accounts_profile_or_role_cannot_be_taken_with_this_anchor(workload):
    other = Workload(make_tenant("Beta", member_no=3001))
    mixed = workload.body(profileNrn=other.profile.nrn, roleNrn=other.role.nrn)
    response, _ = call(mixed, workload.key, workload.certificate)
    assert response.status_code == 400  # NRNs of two accounts
    theirs = other.body()
    response, _ = call(theirs, workload.key, workload.certificate)  # their anchor does not trust our CA
    assert response.status_code == 403
    assert not AccessKey.objects.filter(role=other.role).exists()
    assert not Subject.objects.filter(account=other.tenant.account).exists()


def test_a_role_sits_in_one_profile_only_even_in_the_database(workload):
    from django.db import IntegrityError, transaction

    second = profiles.profile_create(account=workload.tenant.account, name="second")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProfileRole.objects.create(profile=second, role=workload.role)


def test_a_leaf_not_yet_valid_or_a_ca_certificate_as_leaf_is_refused(workload):
    key = ec.generate_private_key(ec.SECP256R1())
    early = leaf_signed_by(workload, key)
    early = (
        x509.CertificateBuilder()
        .subject_name(early.subject)
        .issuer_name(early.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() + dt.timedelta(days=1))
        .not_valid_after(pki.now() + dt.timedelta(days=10))
        .sign(_ca_key(workload.ca), hashes.SHA256())
    )
    assert call(workload.body(), key, early)[0].status_code == 403
    ca_certificate = x509.load_pem_x509_certificate(workload.ca.certificate_pem.encode())
    response, _ = call(workload.body(), _ca_key(workload.ca), ca_certificate)  # the CA's own key signs: still no
    assert response.status_code == 403
    assert not AccessKey.objects.filter(role=workload.role).exists()


def test_a_role_that_is_not_a_service_role_is_refused_even_if_mapped(workload):
    server_role = role_create(account=workload.tenant.account, name="server-role", role_type=Role.SERVER)
    ProfileRole.objects.create(profile=workload.profile, role=server_role)  # what the services never allow
    response, _ = call(workload.body(roleNrn=server_role.nrn), workload.key, workload.certificate)
    assert response.status_code == 403 and "Service roles" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    [
        x509_signing.TIMESTAMP_HEADER,
        x509_signing.ALGORITHM_HEADER,
        x509_signing.CERTIFICATE_HEADER,
        x509_signing.CHAIN_HEADER,
        x509_signing.SIGNATURE_HEADER,
    ],
)
@pytest.mark.parametrize("garbage", ["", "%%%", "\x00", "A" * 20_000, "-1", "MIIB", "a,b,c,d,e,f,g"])
def test_garbage_in_any_header_is_a_4xx_and_issues_nothing(workload, header, garbage):
    response, _ = call(workload.body(), workload.key, workload.certificate, headers={header: garbage})
    if header == x509_signing.CHAIN_HEADER and garbage == "":
        assert response.status_code == 201  # an empty chain is no chain
        return
    assert 400 <= response.status_code < 500, response.content
    assert not AccessKey.objects.filter(role=workload.role).exists()


def test_the_session_carries_iamrole_and_externalaccess_in_conditions(api, workload):
    from iam.models import Policy
    from tests.conftest import Credentials

    Policy.objects.filter(account=workload.tenant.account, name="read-groups").update(
        permissions=[
            {
                **READ_GROUPS[0],
                "condition": {
                    "StringEquals": {
                        "ncp:principalType": ["IamRole"],
                        "ncp:sourceIdentityType": ["ExternalAccess"],
                    }
                },
            }
        ]  # fmt: skip
    )
    type(workload.tenant.account).objects.filter(pk=workload.tenant.account.pk).update(authz_version=999)
    credential = call(workload.body(), workload.key, workload.certificate)[0].json()["credential"]
    keys = Credentials(credential["accessKey"], credential["keySecret"])
    assert api.call("GET", "/api/v1/groups", creds=keys).status_code == 200
    Policy.objects.filter(account=workload.tenant.account, name="read-groups").update(
        permissions=[{**READ_GROUPS[0], "condition": {"StringEquals": {"ncp:sourceIdentityType": ["SubAccount"]}}}]
    )
    type(workload.tenant.account).objects.filter(pk=workload.tenant.account.pk).update(authz_version=1000)
    assert api.call("GET", "/api/v1/groups", creds=keys).status_code == 401

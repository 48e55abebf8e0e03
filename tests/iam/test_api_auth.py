"""Every endpoint: unsigned, badly signed, stale, disabled-key and unpermitted calls are refused with the gateway
body, and another account's ids are not found. One table drives all of them."""

import re
import uuid

import pytest

from external_access.models import (
    CertificateAuthority,
    Crl,
    IssuedCertificate,
    Profile,
    ProfileRole,
    Subject,
    TrustAnchor,
)
from external_access.services import cas, crls, profiles, trust_anchors
from iam import audit
from iam.gateway.authentication import REFUSED
from iam.gateway.endpoint_actions import ENDPOINT_ACTIONS
from iam.gateway.signing import signed_headers
from iam.models import AccessKey, AuditEvent, Group, Policy, Role, SubAccount
from iam.services.groups import group_create
from iam.services.policies import policy_create
from iam.services.roles import role_create
from iam.services.servers import server_create
from tests.conftest import Credentials, disable_key, make_sub_account
from tests.external_access import pki

DOC = [
    {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}]}
]


def _resources(tenant):
    outside, outside_key = pki.outside_ca("Outside Root")
    ca = cas.ca_create(account=tenant.account, name="root-ca", subject={"commonName": "Root"})
    certificate, _ = cas.certificate_issue(ca=ca, subject={"commonName": "workload"})
    anchor = trust_anchors.trust_anchor_create(
        account=tenant.account,
        name="anchor",
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(outside)}},
    )
    crl_data = pki.crl_base64(pki.crl(outside, outside_key, [7]))
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=crl_data)
    service_role = role_create(account=tenant.account, name="service-role", role_type="Service")
    spare_role = role_create(account=tenant.account, name="spare-role", role_type="Service")
    profile = profiles.profile_create(account=tenant.account, name="profile", role_ids=[service_role.role_no])
    subject = Subject.objects.create(account=tenant.account, x509_subject="CN=worker")
    sub, _ = make_sub_account(tenant, "target")
    group = group_create(account=tenant.account, name="grp")
    policy = policy_create(account=tenant.account, name="pol", permissions=DOC)
    role = role_create(account=tenant.account, name="role", role_type="Server")
    account_role = role_create(account=tenant.account, name="acct-role", role_type="Account")
    target_service_role = role_create(account=tenant.account, name="svc-role", role_type="Service")
    sso_role = role_create(account=tenant.account, name="sso-role", role_type="SingleSignOn", by_staff=True)
    # Instance numbers are per account: each tenant's differ, so another account's is not merely its own.
    server, _ = server_create(account=tenant.account, server_instance_no=f"{tenant.account.member_no}01", name="srv")
    event = audit.record(account_id=tenant.account.pk, action="SubAccount:Change/createGroup", resource="*")
    return {
        "server": server.server_instance_no,
        "acct_role": account_role.role_no,
        "svc_role": target_service_role.role_no,
        "sso_role": sso_role.role_no,
        "member": str(tenant.account.member_no),
        "sub": str(sub.sub_account_id),
        "group": str(group.group_id),
        "policy": policy.policy_id,
        "role": role.role_no,
        "key": AccessKey.objects.filter(sub_account=sub).first().access_key,
        "event": event.pk,
        "ca": ca.pk,
        "cert": str(certificate.certificate_id),
        "anchor": str(anchor.trust_anchor_id),
        "crl": str(crl.crl_id),
        "bundle": pki.pem(outside),
        "crl_data": crl_data,
        "profile": str(profile.profile_id),
        "spare_role": spare_role.role_no,
        "subject": str(subject.subject_id),
    }


# (method, uri template, body template, table key); {sub}, {group}, {policy}, {role}, {key}, {event} are filled in.
PASSWORD_POLICY = "/api/v1/tenant-settings/sub-account-password-policy"
SESSION_POLICY = "/api/v1/tenant-settings/sub-account-session-policy"
IDLE_DISABLE = "/api/v1/tenant-settings/idle-disable-settings"
ENDPOINTS = [
    ("GET", "/api/v1/sub-accounts", None, ("sub-accounts", "list")),
    (
        "POST",
        "/api/v1/sub-accounts",
        {"loginId": "newone", "name": "New one", "email": "new@example.com", "canConsoleAccess": False},
        ("sub-accounts", "create"),
    ),
    ("GET", "/api/v1/sub-accounts/{sub}", None, ("sub-accounts", "retrieve")),
    ("PUT", "/api/v1/sub-accounts/{sub}", {"name": "Renamed"}, ("sub-accounts", "update")),
    ("DELETE", "/api/v1/sub-accounts/{sub}", None, ("sub-accounts", "destroy")),
    ("PUT", "/api/v1/sub-accounts/{sub}/password", {"needPasswordGenerate": True}, ("sub-accounts", "password")),
    ("POST", "/api/v1/sub-accounts/{sub}/mfa/reset", None, ("sub-accounts", "mfa_reset")),
    ("POST", "/api/v1/sub-accounts/{sub}/groups", {"groupIdList": ["{group}"]}, ("sub-accounts", "groups")),
    ("DELETE", "/api/v1/sub-accounts/{sub}/groups", {"groupIdList": ["{group}"]}, ("sub-accounts", "groups")),
    ("POST", "/api/v1/sub-accounts/{sub}/policies", {"policyIdList": ["{policy}"]}, ("sub-accounts", "policies")),
    ("DELETE", "/api/v1/sub-accounts/{sub}/policies", {"policyIdList": ["{policy}"]}, ("sub-accounts", "policies")),
    ("GET", "/api/v1/sub-accounts/{sub}/access-keys", None, ("sub-accounts", "access_keys")),
    ("POST", "/api/v1/sub-accounts/{sub}/access-keys", None, ("sub-accounts", "access_keys")),
    (
        "PUT",
        "/api/v1/sub-accounts/{sub}/access-keys",
        {"accessKey": "{key}", "active": False},
        ("sub-accounts", "access_keys"),
    ),
    ("DELETE", "/api/v1/sub-accounts/{sub}/access-keys", {"accessKey": "{key}"}, ("sub-accounts", "access_keys")),
    ("GET", "/api/v1/join/check-login-id?loginId=someone", None, ("join", "check_login_id")),
    ("GET", "/api/v1/join/check-password?password=Abcdef1%21", None, ("join", "check_password")),
    ("GET", "/api/v1/groups", None, ("groups", "list")),
    ("POST", "/api/v1/groups", {"groupName": "newgroup"}, ("groups", "create")),
    ("GET", "/api/v1/groups/{group}", None, ("groups", "retrieve")),
    ("PUT", "/api/v1/groups/{group}", {"description": "d"}, ("groups", "update")),
    ("DELETE", "/api/v1/groups/{group}", None, ("groups", "destroy")),
    ("POST", "/api/v1/groups/{group}/sub-accounts", {"subAccountIdList": ["{sub}"]}, ("groups", "sub_accounts")),
    ("DELETE", "/api/v1/groups/{group}/sub-accounts", {"subAccountIdList": ["{sub}"]}, ("groups", "sub_accounts")),
    ("POST", "/api/v1/groups/{group}/policies", {"policyIdList": ["{policy}"]}, ("groups", "policies")),
    ("DELETE", "/api/v1/groups/{group}/policies", {"policyIdList": ["{policy}"]}, ("groups", "policies")),
    ("GET", "/api/v1/policies", None, ("policies", "list")),
    ("POST", "/api/v1/policies", {"policyName": "newpolicy", "permissions": DOC}, ("policies", "create")),
    ("GET", "/api/v1/policies/{policy}?withPermissions=true", None, ("policies", "retrieve")),
    ("PUT", "/api/v1/policies/{policy}", {"description": "d"}, ("policies", "update")),
    ("DELETE", "/api/v1/policies/{policy}", None, ("policies", "destroy")),
    ("GET", "/api/v1/policies/{policy}/resources", None, ("policies", "resources")),
    ("DELETE", "/api/v1/policies/{policy}/resources", {"subAccountIdList": ["{sub}"]}, ("policies", "resources")),
    ("POST", "/api/v1/policy/validation", {"permissions": DOC}, ("policy-validation", "create")),
    (
        "POST",
        "/api/v1/policy/simulation",
        {"subAccountId": "{sub}", "actions": ["SubAccount:View/getGroupList"]},
        ("policy-simulation", "create"),
    ),
    ("GET", "/api/v1/roles", None, ("roles", "list")),
    ("POST", "/api/v1/roles", {"roleName": "newrole", "roleType": "Server"}, ("roles", "create")),
    ("GET", "/api/v1/roles/{role}", None, ("roles", "retrieve")),
    ("PUT", "/api/v1/roles/{role}", {"descCont": "d"}, ("roles", "update")),
    ("DELETE", "/api/v1/roles/{role}", None, ("roles", "destroy")),
    ("POST", "/api/v1/roles/{role}/policies", {"policyIdList": ["{policy}"]}, ("roles", "policies")),
    ("DELETE", "/api/v1/roles/{role}/policies", {"policyIdList": ["{policy}"]}, ("roles", "policies")),
    ("GET", "/api/v1/roles/{role}/entities/servers", None, ("roles", "entity_servers")),
    (
        "POST",
        "/api/v1/roles/{role}/entities/servers",
        {"serverInstanceNoList": ["{server}"]},
        ("roles", "entity_servers"),
    ),
    (
        "DELETE",
        "/api/v1/roles/{role}/entities/servers",
        {"serverInstanceNoList": ["{server}"]},
        ("roles", "entity_servers"),
    ),
    ("GET", "/api/v1/roles/{acct_role}/entities/accounts", None, ("roles", "entity_accounts")),
    ("POST", "/api/v1/roles/{acct_role}/entities/accounts", {"own": True}, ("roles", "entity_accounts")),
    (
        "DELETE",
        "/api/v1/roles/{acct_role}/entities/accounts",
        {"memberNoList": ["{member}"]},
        ("roles", "entity_accounts"),
    ),
    ("GET", "/api/v1/roles/{svc_role}/entities/services", None, ("roles", "entity_services")),
    (
        "POST",
        "/api/v1/roles/{svc_role}/entities/services",
        {"serviceList": ["ExternalAccess"]},
        ("roles", "entity_services"),
    ),
    (
        "DELETE",
        "/api/v1/roles/{svc_role}/entities/services",
        {"serviceList": ["ExternalAccess"]},
        ("roles", "entity_services"),
    ),
    ("GET", "/api/v1/roles/{sso_role}/entities/sso-assignments", None, ("roles", "entity_sso_assignments")),
    ("GET", "/api/v1/servers", None, ("servers", "list")),
    ("POST", "/api/v1/servers", {"serverInstanceNo": "77", "serverName": "new-server"}, ("servers", "create")),
    ("GET", "/api/v1/servers/{server}", None, ("servers", "retrieve")),
    ("PUT", "/api/v1/servers/{server}", {"serverName": "renamed"}, ("servers", "update")),
    ("DELETE", "/api/v1/servers/{server}", None, ("servers", "destroy")),
    ("POST", "/api/v1/servers/{server}/metadata-token", None, ("servers", "metadata_token")),
    ("GET", "/api/v1/audit-events", None, ("audit-events", "list")),
    ("GET", "/api/v1/audit-events/{event}", None, ("audit-events", "retrieve")),
    ("GET", "/api/v1/dashboard", None, ("dashboard", "list")),
    ("GET", "/api/v1/credentials", None, ("credentials", "list")),
    ("POST", "/api/v1/credentials", {"durationSec": 900}, ("credentials", "create")),
    ("GET", "/api/v1/settings/password", None, ("settings-password", "setting")),
    ("PUT", "/api/v1/settings/password", {"minLength": 10}, ("settings-password", "setting")),
    ("GET", "/api/v1/settings/login-page", None, ("settings-login-page", "setting")),
    ("PUT", "/api/v1/settings/login-page", {"loginPageAlias": "alpha-corp"}, ("settings-login-page", "setting")),
    ("GET", "/api/v1/settings/session", None, ("settings-session", "setting")),
    ("PUT", "/api/v1/settings/session", {"sessionExpirationMinutes": 30}, ("settings-session", "setting")),
    ("GET", "/api/v1/settings/long-term-unused", None, ("settings-long-term-unused", "setting")),
    ("PUT", "/api/v1/settings/long-term-unused", {"use": True, "days": 60}, ("settings-long-term-unused", "setting")),
    # External Access: private CAs (writes: the root key only), trust anchors, CRLs
    ("GET", "/api/v1/cas", None, ("cas", "list")),
    ("POST", "/api/v1/cas", {"name": "new-ca", "subject": {"commonName": "New"}}, ("cas", "create")),
    ("GET", "/api/v1/cas/{ca}", None, ("cas", "retrieve")),
    ("GET", "/api/v1/cas/{ca}/certificates", None, ("cas", "certificates")),
    ("POST", "/api/v1/cas/{ca}/certificates", {"subject": {"commonName": "w2"}}, ("cas", "certificates")),
    ("POST", "/api/v1/cas/{ca}/certificates/{cert}/revoke", {}, ("cas", "revoke")),
    ("POST", "/api/v1/cas/{ca}/crl", None, ("cas", "crl")),
    ("GET", "/api/v1/trust-anchors", None, ("trust-anchors", "list")),
    (
        "POST",
        "/api/v1/trust-anchors",
        {
            "name": "new-anchor",
            "source": {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": "{bundle}"}},
        },
        ("trust-anchors", "create"),
    ),
    ("GET", "/api/v1/trust-anchors/{anchor}", None, ("trust-anchors", "retrieve")),
    ("PATCH", "/api/v1/trust-anchors/{anchor}", {"description": "d"}, ("trust-anchors", "partial_update")),
    ("DELETE", "/api/v1/trust-anchors/{anchor}", None, ("trust-anchors", "destroy")),
    ("POST", "/api/v1/trust-anchors/{anchor}/enable", None, ("trust-anchors", "enable")),
    ("POST", "/api/v1/trust-anchors/{anchor}/disable", None, ("trust-anchors", "disable")),
    ("GET", "/api/v1/trust-anchors/{anchor}/crls", None, ("crls", "list")),
    ("POST", "/api/v1/trust-anchors/{anchor}/crls", {"name": "crl-2", "crlData": "{crl_data}"}, ("crls", "create")),
    ("GET", "/api/v1/trust-anchors/{anchor}/crls/{crl}", None, ("crls", "retrieve")),
    ("PATCH", "/api/v1/trust-anchors/{anchor}/crls/{crl}", {"name": "crl-3"}, ("crls", "partial_update")),
    ("DELETE", "/api/v1/trust-anchors/{anchor}/crls/{crl}", None, ("crls", "destroy")),
    ("POST", "/api/v1/trust-anchors/{anchor}/crls/{crl}/enable", None, ("crls", "enable")),
    ("POST", "/api/v1/trust-anchors/{anchor}/crls/{crl}/disable", None, ("crls", "disable")),
    ("GET", "/api/v1/profiles", None, ("profiles", "list")),
    ("POST", "/api/v1/profiles", {"name": "new-profile", "roleIdList": ["{spare_role}"]}, ("profiles", "create")),
    ("GET", "/api/v1/profiles/{profile}", None, ("profiles", "retrieve")),
    ("PATCH", "/api/v1/profiles/{profile}", {"durationSeconds": 1800}, ("profiles", "partial_update")),
    ("DELETE", "/api/v1/profiles/{profile}", None, ("profiles", "destroy")),
    ("POST", "/api/v1/profiles/{profile}/enable", None, ("profiles", "enable")),
    ("POST", "/api/v1/profiles/{profile}/disable", None, ("profiles", "disable")),
    ("GET", "/api/v1/subjects", None, ("subjects", "list")),
    ("GET", "/api/v1/subjects/{subject}", None, ("subjects", "retrieve")),
    ("POST", "/api/v1/subjects/{subject}/enable", None, ("subjects", "enable")),
    ("POST", "/api/v1/subjects/{subject}/disable", None, ("subjects", "disable")),
    ("POST", "/api/v1/sub-accounts/{sub}/unlock", None, ("sub-accounts", "unlock")),
    ("GET", "/api/v1/sub-accounts/{sub}/mfa", None, ("sub-accounts", "mfa")),
    ("GET", "/api/v1/login-alias", None, ("login-alias", "setting")),
    ("PUT", "/api/v1/login-alias", {"loginAlias": "alpha-corp"}, ("login-alias", "setting")),
    ("GET", PASSWORD_POLICY, None, ("tenant-settings-password-policy", "setting")),
    ("PUT", PASSWORD_POLICY, {"minLength": 10}, ("tenant-settings-password-policy", "setting")),
    ("GET", SESSION_POLICY, None, ("tenant-settings-session-policy", "setting")),
    ("PUT", SESSION_POLICY, {"idleTimeoutSec": 1800}, ("tenant-settings-session-policy", "setting")),
    ("GET", IDLE_DISABLE, None, ("tenant-settings-idle-disable", "setting")),
    ("PUT", IDLE_DISABLE, {"use": True, "days": 180}, ("tenant-settings-idle-disable", "setting")),
]
# Private CA writes have no catalog action: the root key only, whatever the sub account's policies.
ROOT_ONLY = {
    ("POST", "/api/v1/cas"),
    ("POST", "/api/v1/cas/{ca}/certificates"),
    ("POST", "/api/v1/cas/{ca}/certificates/{cert}/revoke"),
    ("POST", "/api/v1/cas/{ca}/crl"),
    ("POST", "/api/v1/subjects/{subject}/enable"),
    ("POST", "/api/v1/subjects/{subject}/disable"),
}
IDS = [f"{m} {u}" for m, u, _, _ in ENDPOINTS]


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _counts():
    return (
        SubAccount.objects.count(),
        Group.objects.count(),
        Policy.objects.count(),
        Role.objects.count(),
        CertificateAuthority.objects.count(),
        IssuedCertificate.objects.count(),
        IssuedCertificate.objects.filter(revoke_time__isnull=False).count(),
        TrustAnchor.objects.count(),
        Crl.objects.count(),
        Profile.objects.count(),
        ProfileRole.objects.count(),
        Subject.objects.filter(enabled=True).count(),
    )


def _error(response) -> dict:
    """The error of either body: Sub Account's ``{errorCode, message}`` or External Access's ``{"error": {...}}``."""
    body = response.json()
    return body["error"] if "error" in body else body


def test_every_table_entry_has_an_endpoint_test():
    assert {key for *_, key in ENDPOINTS} == set(ENDPOINT_ACTIONS)


def _refusal_reasons(tenant) -> list[str]:
    events = AuditEvent.objects.filter(account=tenant.account, action="Gateway:authenticate")
    return [event.detail["reason"] for event in events]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_unsigned_call_is_refused(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    before = _counts()
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=None)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "200"
    assert response.json()["error"]["message"] == "Authentication Failed"
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_bad_signature_is_refused(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    wrong = Credentials(tenant.root.access_key, "not-the-secret")
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=wrong)
    assert response.status_code == 401
    assert response.json()["error"] == {"errorCode": "200", "message": "Authentication Failed", "details": REFUSED}
    assert _refusal_reasons(tenant) == ["signature does not match"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_stale_timestamp_is_refused(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    uri = _fill(uri, ids)
    stale = str(int(__import__("time").time() * 1000) - 6 * 60 * 1000)
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, method, uri, timestamp=stale)
    before = _counts()
    response = api.call(method, uri, _fill(body, ids), creds=None, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == REFUSED
    assert _refusal_reasons(tenant) == ["timestamp is more than 5 minutes from the server clock"]
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_disabled_key_is_refused(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    _, creds = make_sub_account(tenant, "admin", policy_ids=["00000000-0000-4000-8000-000000000001"])
    disable_key(creds)
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=creds)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "access key is disabled"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_sub_account_without_policy_is_denied(api, tenant, no_policy_user, method, uri, body, key):
    ids = _resources(tenant)
    _, creds = no_policy_user
    before = _counts()
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=creds)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "210"
    assert response.json()["error"]["message"] == "Permission Denied"
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_administrator_sub_account_is_allowed(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    _, creds = make_sub_account(tenant, "admin", policy_ids=["00000000-0000-4000-8000-000000000001"])
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=creds)
    if (method, uri) in ROOT_ONLY:
        assert response.status_code == 401 and response.json()["error"]["errorCode"] == "210"
    else:
        assert response.status_code == 200, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "uri", "body", "key"), ENDPOINTS, ids=IDS)
def test_the_root_key_is_allowed(api, tenant, method, uri, body, key):
    ids = _resources(tenant)
    response = api.call(method, _fill(uri, ids), _fill(body, ids), creds=tenant.root)
    if key == ("credentials", "create"):  # authorized, then refused by STS: a main account gets no temporary key
        assert response.status_code == 400 and response.json()["fieldErrors"][0]["field"] == "accessKey"
    else:
        assert response.status_code == 200, response.content


DETAIL_ENDPOINTS = [
    e
    for e in ENDPOINTS
    if re.search(
        r"\{(sub|group|policy|role|key|ca|cert|anchor|crl|profile|spare_role|subject|server|acct_role|svc_role|sso_role)\}",
        e[1] + str(e[2]),
    )
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "uri", "body", "key"), DETAIL_ENDPOINTS, ids=[f"{m} {u}" for m, u, _, _ in DETAIL_ENDPOINTS]
)
def test_another_accounts_ids_are_not_found(api, tenant, other_tenant, method, uri, body, key):
    theirs = _resources(other_tenant)
    _resources(tenant)
    before = _counts()
    response = api.call(method, _fill(uri, theirs), _fill(body, theirs), creds=tenant.root)
    assert response.status_code == 404, response.content
    assert str(_error(response)["errorCode"]) == "30"
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_id_is_not_found(api, tenant, method):
    response = api.call(
        method, f"/api/v1/sub-accounts/{uuid.uuid4()}", {"name": "x"} if method == "PUT" else None, creds=tenant.root
    )
    assert response.status_code == 404
    assert response.json() == {"errorCode": 30, "message": "no such sub account", "fieldErrors": []}

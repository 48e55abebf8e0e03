"""The server inventory and role targets: servers (one role at most), Account role target accounts (verified by a
login ID), Service role services, Single Sign-On roles read-only; each endpoint authorized and tenant-scoped."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iam.models import AccessKey, AuditEvent, Role, RoleAccountTarget, RoleServiceTarget, RoleSsoAssignment, Server
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from iam.services.servers import metadata_token_hash, server_create
from tests.conftest import make_sub_account

pytestmark = pytest.mark.django_db

SERVERS = "/api/v1/servers"


def _server(tenant, no="1001", name="web-1", private_ip="10.0.0.1", **fields) -> Server:
    return server_create(account=tenant.account, server_instance_no=no, name=name, private_ip=private_ip, **fields)[0]


def _role(tenant, name="srv-role", role_type="Server", **fields) -> Role:
    return role_create(account=tenant.account, name=name, role_type=role_type, **fields)


def _field_error(response, status, field):
    assert response.status_code == status, response.content
    body = response.json()
    fields = [e["field"] for e in body["fieldErrors"]]
    assert any(f == field or f.startswith((field + "[", field + ".")) for f in fields), body
    return body


def _denied(response, action):
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["errorCode"] == "210" and action in error["details"]


# Servers --------------------------------------------------------------------------------------------------------


def test_register_shows_the_metadata_token_once_and_stores_only_its_hash(api, tenant):
    body = {"serverInstanceNo": "2001", "serverName": "api-1", "privateIp": "10.1.0.5", "tags": {"env": "prod"}}
    response = api.call("POST", SERVERS, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["success"] is True and data["id"] == "2001"
    token = data["metadataToken"]
    assert token.startswith("nmt_") and len(token) > 40
    server = Server.objects.get(account=tenant.account, server_instance_no="2001")
    assert server.metadata_token_hash == metadata_token_hash(token) and token not in server.metadata_token_hash
    detail = api.call("GET", f"{SERVERS}/2001", creds=tenant.root).json()
    assert detail == {
        "nrn": f"nrn:PUB:VPCServer:KR:{tenant.account.member_no}:Server/2001",
        "serverInstanceNo": "2001",
        "serverName": "api-1",
        "privateIp": "10.1.0.5",
        "publicIp": None,
        "roleNo": None,
        "roleName": None,
        "hasMetadataToken": True,
        "tags": {"env": "prod"},
        "createTime": detail["createTime"],
        "modifiedTime": detail["modifiedTime"],
    }
    assert token not in str(api.call("GET", SERVERS, creds=tenant.root).content)
    event = AuditEvent.objects.get(action="SubAccount:Change/registerServerInstance")
    assert event.resource == detail["nrn"] and token not in str(event.detail)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"serverName": "web-9"}, "serverInstanceNo"),
        ({"serverInstanceNo": "0123", "serverName": "web-9"}, "serverInstanceNo"),
        ({"serverInstanceNo": "12a", "serverName": "web-9"}, "serverInstanceNo"),
        ({"serverInstanceNo": "9"}, "serverName"),
        ({"serverInstanceNo": "9", "serverName": "Web_9"}, "serverName"),
        ({"serverInstanceNo": "9", "serverName": "web-9", "privateIp": "10.0.0.300"}, "privateIp"),
        ({"serverInstanceNo": "9", "serverName": "web-9", "publicIp": "nope"}, "publicIp"),
        ({"serverInstanceNo": "9", "serverName": "web-9", "tags": ["k"]}, "tags"),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(api, tenant, body, field):
    _field_error(api.call("POST", SERVERS, body, creds=tenant.root), 400, field)
    assert not Server.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"serverInstanceNo": "1001", "serverName": "other"}, "serverInstanceNo"),
        ({"serverInstanceNo": "1002", "serverName": "web-1"}, "serverName"),
        ({"serverInstanceNo": "1002", "serverName": "other", "privateIp": "10.0.0.1"}, "privateIp"),
    ],
)
def test_clashes_within_the_account_are_409_naming_the_field(api, tenant, body, field):
    _server(tenant)
    _field_error(api.call("POST", SERVERS, body, creds=tenant.root), 409, field)
    assert Server.objects.count() == 1


def test_another_account_may_reuse_numbers_names_and_private_addresses_but_not_a_public_one(api, tenant, other_tenant):
    _server(tenant, public_ip="203.0.113.7")
    same = {"serverInstanceNo": "1001", "serverName": "web-1", "privateIp": "10.0.0.1"}
    assert api.call("POST", SERVERS, same, creds=other_tenant.root).status_code == 200
    clash = {"serverInstanceNo": "1002", "serverName": "web-2", "publicIp": "203.0.113.7"}
    _field_error(api.call("POST", SERVERS, clash, creds=other_tenant.root), 409, "publicIp")


def test_update_and_delete(api, tenant):
    server = _server(tenant)
    response = api.call(
        "PUT", f"{SERVERS}/1001", {"serverName": "web-renamed", "publicIp": "198.51.100.2"}, creds=tenant.root
    )
    assert response.status_code == 200, response.content
    server.refresh_from_db()
    assert (server.name, server.public_ip, server.server_instance_no) == ("web-renamed", "198.51.100.2", "1001")
    _field_error(api.call("PUT", f"{SERVERS}/1001", {"serverName": "x"}, creds=tenant.root), 400, "serverName")
    assert api.call("DELETE", f"{SERVERS}/1001", creds=tenant.root).json() == {"success": True, "id": "1001"}
    assert not Server.objects.exists()


def test_resetting_the_token_replaces_it(api, tenant):
    server = _server(tenant)
    first = api.call("POST", f"{SERVERS}/1001/metadata-token", creds=tenant.root).json()["metadataToken"]
    second = api.call("POST", f"{SERVERS}/1001/metadata-token", creds=tenant.root).json()["metadataToken"]
    server.refresh_from_db()
    assert first != second and server.metadata_token_hash == metadata_token_hash(second)


def test_servers_of_another_account_are_not_found(api, tenant, other_tenant):
    _server(other_tenant)
    for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/metadata-token")):
        response = api.call(method, f"{SERVERS}/1001{suffix}", {} if method == "PUT" else None, creds=tenant.root)
        assert response.status_code == 404, (method, response.content)
    assert Server.objects.get().name == "web-1"


def test_the_list_shows_only_the_callers_servers(api, tenant, other_tenant):
    _server(tenant)
    _server(other_tenant, no="5005", name="theirs")
    body = api.call("GET", SERVERS, creds=tenant.root).json()
    rows = next(v for v in body.values() if isinstance(v, list))
    assert [row["serverInstanceNo"] for row in rows] == ["1001"]


def test_server_endpoints_need_their_actions(api, tenant, no_policy_user):
    _, creds = no_policy_user
    _server(tenant)
    assert api.call("GET", SERVERS, creds=None).status_code == 401
    _denied(api.call("GET", SERVERS, creds=creds), "View/getServerInstanceList")
    _denied(api.call("GET", f"{SERVERS}/1001", creds=creds), "View/getServerInstanceDetail")
    body = {"serverInstanceNo": "7", "serverName": "web-7"}
    _denied(api.call("POST", SERVERS, body, creds=creds), "Change/registerServerInstance")
    _denied(api.call("PUT", f"{SERVERS}/1001", {"serverName": "abc"}, creds=creds), "Change/updateServerInstance")
    _denied(api.call("DELETE", f"{SERVERS}/1001", creds=creds), "Change/deregisterServerInstance")
    _denied(api.call("POST", f"{SERVERS}/1001/metadata-token", creds=creds), "Change/resetServerInstanceMetadataToken")
    assert Server.objects.count() == 1


def test_a_policy_on_one_server_nrn_allows_that_server_only(api, tenant):
    _server(tenant)
    _server(tenant, no="1002", name="web-2", private_ip="10.0.0.2")
    nrn = f"nrn:PUB:VPCServer:KR:{tenant.account.member_no}:Server/1001"
    policy = policy_create(
        account=tenant.account,
        name="one-server",
        permissions=[
            {
                "effect": "Allow",
                "targets": [
                    {"product": "SubAccount", "actions": ["View/getServerInstanceDetail"], "resourceNrns": [nrn]}
                ],
            }
        ],
    )
    _, creds = make_sub_account(tenant, "viewer", policy_ids=[policy.policy_id])
    assert api.call("GET", f"{SERVERS}/1001", creds=creds).status_code == 200
    _denied(api.call("GET", f"{SERVERS}/1002", creds=creds), "View/getServerInstanceDetail")


# Server role targets --------------------------------------------------------------------------------------------


def _entities(role, kind):
    return f"/api/v1/roles/{role.role_no}/entities/{kind}"


def test_attach_list_and_detach_servers(api, tenant):
    role = _role(tenant)
    _server(tenant)
    _server(tenant, no="1002", name="web-2", private_ip="10.0.0.2")
    url = _entities(role, "servers")
    response = api.call("POST", url, {"serverInstanceNoList": ["1001", "1002"]}, creds=tenant.root)
    assert response.json() == {"success": True, "id": role.role_no}
    listed = api.call("GET", url, creds=tenant.root).json()
    assert [s["serverInstanceNo"] for s in listed] == ["1001", "1002"]
    assert listed[0] == {"serverInstanceNo": "1001", "serverName": "web-1", "privateIp": "10.0.0.1", "publicIp": None}
    assert api.call("GET", f"{SERVERS}/1001", creds=tenant.root).json()["roleNo"] == role.role_no
    assert api.call("DELETE", url, {"serverInstanceNoList": ["1001"]}, creds=tenant.root).status_code == 200
    assert [s["serverInstanceNo"] for s in api.call("GET", url, creds=tenant.root).json()] == ["1002"]


def test_a_server_has_one_role_at_most(api, tenant):
    first, second = _role(tenant, "srv-a"), _role(tenant, "srv-b")
    _server(tenant)
    assert (
        api.call("POST", _entities(first, "servers"), {"serverInstanceNoList": ["1001"]}, creds=tenant.root).status_code
        == 200
    )
    response = api.call("POST", _entities(second, "servers"), {"serverInstanceNoList": ["1001"]}, creds=tenant.root)
    _field_error(response, 409, "serverInstanceNoList")
    assert Server.objects.get().role == first


def test_attaching_servers_refuses_other_types_unknown_and_foreign_servers(api, tenant, other_tenant):
    account_role = _role(tenant, "acct", "Account")
    server_role = _role(tenant)
    _server(other_tenant, no="4004", name="theirs")
    _field_error(
        api.call("POST", _entities(account_role, "servers"), {"serverInstanceNoList": ["1001"]}, creds=tenant.root),
        400,
        "roleType",
    )
    _field_error(api.call("GET", _entities(account_role, "servers"), creds=tenant.root), 400, "roleType")
    _field_error(
        api.call("POST", _entities(server_role, "servers"), {"serverInstanceNoList": ["4004"]}, creds=tenant.root),
        404,
        "serverInstanceNoList",
    )
    _field_error(
        api.call("POST", _entities(server_role, "servers"), {"serverInstanceNoList": []}, creds=tenant.root),
        400,
        "serverInstanceNoList",
    )
    _field_error(
        api.call("POST", _entities(server_role, "servers"), {"serverInstanceNoList": ["x1"]}, creds=tenant.root),
        400,
        "serverInstanceNoList",
    )
    assert Server.objects.get().role is None


def test_another_accounts_role_targets_are_not_found(api, tenant, other_tenant):
    role = role_create(account=other_tenant.account, name="their-role", role_type="Server")
    for kind in ("servers", "accounts", "services"):
        assert api.call("GET", _entities(role, kind), creds=tenant.root).status_code == 404


def test_deleting_a_server_detaches_it_and_deleting_the_role_frees_the_server(api, tenant):
    role = _role(tenant)
    server = _server(tenant)
    api.call("POST", _entities(role, "servers"), {"serverInstanceNoList": ["1001"]}, creds=tenant.root)
    api.call("DELETE", f"{SERVERS}/1001", creds=tenant.root)
    assert list(role.servers.all()) == []
    server = _server(tenant)
    api.call("POST", _entities(role, "servers"), {"serverInstanceNoList": ["1001"]}, creds=tenant.root)
    assert api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root).status_code == 200
    server.refresh_from_db()
    assert server.role is None


def test_server_targets_need_their_actions(api, tenant):
    role = _role(tenant)
    _server(tenant)
    _, creds = make_sub_account(tenant, "viewer", actions=["View/getRoleDetail"])
    assert api.call("GET", _entities(role, "servers"), creds=creds).status_code == 200
    body = {"serverInstanceNoList": ["1001"]}
    _denied(api.call("POST", _entities(role, "servers"), body, creds=creds), "Change/attachRoleToServer")
    _denied(api.call("DELETE", _entities(role, "servers"), body, creds=creds), "Change/detachRoleFromServer")
    # The attach action brings its related views along; a Deny on one server keeps that server out of reach.
    server_nrn = f"nrn:PUB:VPCServer:KR:{tenant.account.member_no}:Server/1001"
    deny = policy_create(
        account=tenant.account,
        name="deny-web-1",
        permissions=[
            {
                "effect": "Deny",
                "targets": [
                    {"product": "SubAccount", "actions": ["View/getServerInstanceDetail"], "resourceNrns": [server_nrn]}
                ],
            }
        ],
    )
    attacher, attacher_creds = make_sub_account(tenant, "attacher", actions=["Change/attachRoleToServer"])
    policies_attach(target=attacher, policy_ids=[deny.policy_id])
    _denied(api.call("POST", _entities(role, "servers"), body, creds=attacher_creds), "View/getServerInstanceDetail")
    assert Server.objects.get().role is None
    _, allowed = make_sub_account(tenant, "allowed", actions=["Change/attachRoleToServer"])
    assert api.call("POST", _entities(role, "servers"), body, creds=allowed).status_code == 200
    assert Server.objects.get().role == role


# Account role targets -------------------------------------------------------------------------------------------


def test_an_account_role_starts_with_its_own_account(api, tenant):
    role = _role(tenant, "acct", "Account")
    listed = api.call("GET", _entities(role, "accounts"), creds=tenant.root).json()
    assert [(t["memberNo"], t["accountName"], t["own"]) for t in listed] == [(tenant.account.member_no, "Alpha", True)]


def test_another_account_is_named_by_name_and_a_login_id_of_it(api, tenant, other_tenant):
    role = _role(tenant, "acct", "Account")
    make_sub_account(other_tenant, "beta-ops")
    url = _entities(role, "accounts")
    for body in (
        {"accountName": "Beta", "loginId": "nobody"},
        {"accountName": "Gamma", "loginId": "beta-ops"},
        {"accountName": "Beta", "loginId": "beta-ops", "own": True},
    ):
        response = api.call("POST", url, body, creds=tenant.root)
        assert response.status_code == 400, (body, response.content)
    same = [
        api.call("POST", url, b, creds=tenant.root).json()["message"]
        for b in ({"accountName": "Beta", "loginId": "nobody"}, {"accountName": "Gamma", "loginId": "beta-ops"})
    ]
    assert same[0] == same[1]  # nothing tells which part was wrong
    _field_error(api.call("POST", url, {"accountName": "Beta"}, creds=tenant.root), 400, "loginId")
    _field_error(
        api.call("POST", url, {"memberNo": other_tenant.account.member_no}, creds=tenant.root), 400, "accountName"
    )
    assert RoleAccountTarget.objects.filter(role=role).count() == 1
    response = api.call("POST", url, {"accountName": "Beta", "loginId": "BETA-OPS"}, creds=tenant.root)
    assert response.json() == {"success": True, "id": role.role_no, "memberNo": other_tenant.account.member_no}
    attached = AuditEvent.objects.get(action="SubAccount:Change/attachRoleToAccount", result=AuditEvent.SUCCESS)
    assert attached.detail["memberNo"] == other_tenant.account.member_no and "BETA-OPS" not in str(attached.detail)
    other_tenant.account.email = "owner@beta.example"
    other_tenant.account.save()
    again = api.call("POST", url, {"accountName": "Beta", "loginId": "owner@beta.example"}, creds=tenant.root)
    assert again.status_code == 200
    assert RoleAccountTarget.objects.filter(role=role).count() == 2
    response = api.call("DELETE", url, {"memberNoList": [other_tenant.account.member_no]}, creds=tenant.root)
    assert response.status_code == 200
    assert [t.target_account for t in RoleAccountTarget.objects.filter(role=role)] == [tenant.account]
    _field_error(api.call("DELETE", url, {"memberNoList": [999999]}, creds=tenant.root), 404, "memberNoList")


def test_account_targets_need_their_actions(api, tenant, other_tenant):
    role = _role(tenant, "acct", "Account")
    _, creds = make_sub_account(tenant, "viewer", actions=["View/getRoleDetail"])
    _denied(api.call("POST", _entities(role, "accounts"), {"own": True}, creds=creds), "Change/attachRoleToAccount")
    body = {"memberNoList": [tenant.account.member_no]}
    _denied(api.call("DELETE", _entities(role, "accounts"), body, creds=creds), "Change/detachRoleFromAccount")
    _field_error(api.call("GET", _entities(_role(tenant), "accounts"), creds=tenant.root), 400, "roleType")


# Service role targets -------------------------------------------------------------------------------------------


def test_service_role_services(api, tenant):
    role = _role(tenant, "svc", "Service")
    url = _entities(role, "services")
    assert (
        api.call("POST", url, {"serviceList": ["ExternalAccess", "CloudFunctions"]}, creds=tenant.root).status_code
        == 200
    )
    listed = api.call("GET", url, creds=tenant.root).json()
    assert [(s["service"], s["serviceName"]) for s in listed] == [
        ("CloudFunctions", "Cloud Functions"),
        ("ExternalAccess", "External Access"),
    ]
    _field_error(api.call("POST", url, {"serviceList": ["Nope"]}, creds=tenant.root), 400, "serviceList")
    _field_error(
        api.call("POST", _entities(_role(tenant), "services"), {"serviceList": ["ExternalAccess"]}, creds=tenant.root),
        400,
        "roleType",
    )
    assert api.call("DELETE", url, {"serviceList": ["CloudFunctions"]}, creds=tenant.root).status_code == 200
    assert list(RoleServiceTarget.objects.filter(role=role).values_list("service", flat=True)) == ["ExternalAccess"]
    _, creds = make_sub_account(tenant, "viewer", actions=["View/getRoleDetail"])
    _denied(api.call("POST", url, {"serviceList": ["DataFlow"]}, creds=creds), "Change/attachRoleToService")
    _denied(api.call("DELETE", url, {"serviceList": ["DataFlow"]}, creds=creds), "Change/detachRoleFromService")


# Single Sign-On roles -------------------------------------------------------------------------------------------


def test_single_sign_on_roles_are_read_only_through_the_api(api, tenant):
    role = role_create(account=tenant.account, name="sso-role", role_type="SingleSignOn", by_staff=True)
    url = f"/api/v1/roles/{role.role_no}"
    assert api.call("GET", url, creds=tenant.root).json()["roleType"] == "SingleSignOn"
    _field_error(api.call("PUT", url, {"roleName": "renamed"}, creds=tenant.root), 400, "roleType")
    _field_error(api.call("DELETE", url, creds=tenant.root), 400, "roleType")
    body = {"roleName": "sso-2", "roleType": "SingleSignOn"}
    _field_error(api.call("POST", "/api/v1/roles", body, creds=tenant.root), 400, "roleType")
    role.refresh_from_db()
    assert role.name == "sso-role"


def test_single_sign_on_assignments_are_listed_read_only(api, tenant):
    role = role_create(account=tenant.account, name="sso-role", role_type="SingleSignOn", by_staff=True)
    RoleSsoAssignment.objects.create(role=role, principal_type="Group", principal_name="engineers")
    RoleSsoAssignment.objects.create(role=role, principal_type="User", principal_name="kim@idp.example")
    url = _entities(role, "sso-assignments")
    listed = api.call("GET", url, creds=tenant.root).json()
    assert [(a["principalType"], a["principalName"]) for a in listed] == [
        ("Group", "engineers"),
        ("User", "kim@idp.example"),
    ]
    for method in ("POST", "PUT", "DELETE"):
        assert api.call(method, url, {}, creds=tenant.root).status_code == 405
    assert RoleSsoAssignment.objects.filter(role=role).count() == 2
    _field_error(api.call("GET", _entities(_role(tenant), "sso-assignments"), creds=tenant.root), 400, "roleType")


# Disable / enable -----------------------------------------------------------------------------------------------


def test_disabling_a_role_needs_suspend_role_and_keeps_last_use_time(api, tenant):
    role = _role(tenant, "acct", "Account")
    Role.objects.filter(pk=role.pk).update(last_use_time="2026-01-02T03:04:05Z")
    url = f"/api/v1/roles/{role.role_no}"
    _, updater = make_sub_account(tenant, "updater", actions=["Change/updateRole"])
    _denied(api.call("PUT", url, {"active": False}, creds=updater), "Change/suspendRole")
    _, suspender = make_sub_account(tenant, "suspender", actions=["Change/suspendRole"])
    assert api.call("PUT", url, {"active": False}, creds=suspender).status_code == 200
    _denied(api.call("PUT", url, {"active": True, "descCont": "x"}, creds=suspender), "Change/updateRole")
    assert api.call("PUT", url, {"active": True}, creds=suspender).status_code == 200
    role.refresh_from_db()
    assert role.active is True and role.last_use_time.isoformat().startswith("2026-01-02T03:04:05")
    assert AccessKey.objects.filter(role=role).count() == 0


def test_the_server_list_costs_the_same_queries_for_one_server_or_many(api, tenant, django_assert_max_num_queries):
    role = _role(tenant)
    _server(tenant)
    role_servers = "/api/v1/roles/" + role.role_no + "/entities/servers"
    api.call("POST", role_servers, {"serverInstanceNoList": ["1001"]}, creds=tenant.root)
    with CaptureQueriesContext(connection) as small:
        assert len(api.call("GET", f"{SERVERS}?size=100", creds=tenant.root).json()["items"]) == 1
    queries = len(small.captured_queries)  # now: the next request clears the connection's query log
    for i in range(2, 12):
        _server(tenant, no=str(1000 + i), name=f"web-{i}", private_ip=f"10.0.0.{i}")
    api.call("POST", role_servers, {"serverInstanceNoList": ["1002", "1003"]}, creds=tenant.root)
    with django_assert_max_num_queries(queries):
        rows = api.call("GET", f"{SERVERS}?size=100", creds=tenant.root).json()["items"]
    assert len(rows) == 11 and {r["roleNo"] for r in rows} == {role.role_no, None}

"""The policies API: create, list, read, change, delete, where a policy is attached, and validation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iam.models import Account, Policy, PolicyAttachment
from iam.policy import catalog
from iam.services.groups import group_create
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account

SA = "SubAccount"
ADMIN_ID = "00000000-0000-4000-8000-000000000001"
VIEWER_ID = "00000000-0000-4000-8000-000000000005"
SYSTEM_NAMES = [p.name for p in catalog.SYSTEM_POLICIES]


def doc(actions, *, effect="Allow", resources=None, product=SA, condition=None) -> list[dict]:
    target = {"product": product, "actions": list(actions)}
    if resources is not None:
        target["resourceNrns"] = resources
    statement = {"effect": effect, "targets": [target]}
    if condition is not None:
        statement["condition"] = condition
    return [statement]


def snapshot(account) -> tuple[int, int, int]:
    """(policy rows of the account, its counter, attachments anywhere): what 'nothing written' compares."""
    account.refresh_from_db()
    return Policy.objects.filter(account=account).count(), account.policy_count, PolicyAttachment.objects.count()


def create(api, tenant, name, actions=("View*",), **body):
    response = api.call(
        "POST", "/api/v1/policies", {"policyName": name, "permissions": doc(actions), **body}, creds=tenant.root
    )
    assert response.status_code == 200, response.json()
    return Policy.objects.get(policy_id=response.json()["id"])


def field_names(response) -> list[str]:
    return [e["field"] for e in response.json()["fieldErrors"]]


# Create ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_returns_process_result_and_stores_a_normalized_document_with_related_actions(api, tenant):
    body = {
        "policyName": "attach-only",
        "description": "attach policies to sub accounts",
        "permissions": doc(["Change/addPolicyToSubAccount"]),
        "tags": {"team": "infra"},
    }
    response = api.call("POST", "/api/v1/policies", body, creds=tenant.root)
    assert response.status_code == 200
    policy = Policy.objects.get(account=tenant.account)
    assert response.json() == {"success": True, "id": policy.policy_id}
    assert (policy.name, policy.description, policy.tags) == (
        "attach-only",
        "attach policies to sub accounts",
        body["tags"],
    )
    assert policy.permissions == [
        {
            "effect": "Allow",
            "targets": [
                {
                    "product": SA,
                    "actions": [
                        "Change/addPolicyToSubAccount",
                        "View/getSubAccountDetail",
                        "View/getSubAccountList",
                        "View/getPolicyList",
                        "View/getPolicyDetail",
                    ],
                    "resourceNrns": ["*"],
                }
            ],
        }
    ]
    assert snapshot(tenant.account)[:2] == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["ab", "9lives", "-dash", "with space", "semi;colon", "a" * 31])
def test_create_with_a_bad_name_is_400_on_policy_name_and_writes_nothing(api, tenant, name):
    before = snapshot(tenant.account)
    response = api.call(
        "POST", "/api/v1/policies", {"policyName": name, "permissions": doc(["View*"])}, creds=tenant.root
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == 9000
    assert field_names(response) == ["policyName"]
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_create_with_a_taken_or_system_name_is_409(api, tenant):
    create(api, tenant, "taken")
    before = snapshot(tenant.account)
    for name in ("taken", "NCP_ADMINISTRATOR", "NCP_EXTERNAL_ACCESS_VIEWER"):
        response = api.call(
            "POST", "/api/v1/policies", {"policyName": name, "permissions": doc(["View*"])}, creds=tenant.root
        )
        assert response.status_code == 409, name
        assert response.json()["errorCode"] == 9011
        assert field_names(response) == ["policyName"]
    assert snapshot(tenant.account) == before


BAD_DOCUMENTS = [
    (doc(["View/getSubAccountList", "View/notAnAction"]), "permissions[0].targets[0].actions[1]", "unknown action"),
    (doc(["View*"], product="Storage"), "permissions[0].targets[0].product", "unknown product"),
    (doc(["View*"], resources=["nrn:PUB:IAM::2942:Policy"]), "permissions[0].targets[0].resourceNrns[0]", "malformed"),
    (doc(["View*"], effect="allow"), "permissions[0].effect", "Allow or Deny"),
    (doc(["View*"]) + doc(["View*"], effect="Block"), "permissions[1].effect", "Allow or Deny"),
    ([], "permissions", "non-empty"),
    ("View*", "permissions", "non-empty"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("permissions", "place", "words"), BAD_DOCUMENTS)
def test_create_with_a_bad_document_names_the_place_and_writes_nothing(api, tenant, permissions, place, words):
    before = snapshot(tenant.account)
    response = api.call(
        "POST", "/api/v1/policies", {"policyName": "bad", "permissions": permissions}, creds=tenant.root
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == 9000
    assert [e["field"] for e in body["fieldErrors"]] == [place]
    assert words in body["fieldErrors"][0]["message"]
    assert body["message"].startswith(f"{place}: ")
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_create_without_permissions_is_400(api, tenant):
    before = snapshot(tenant.account)
    response = api.call("POST", "/api/v1/policies", {"policyName": "nodoc"}, creds=tenant.root)
    assert response.status_code == 400
    assert field_names(response) == ["permissions"]
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_the_policy_limit_is_409_9012_and_writes_nothing(api, tenant, settings):
    settings.IAM_MAX_POLICIES = 5
    for i in range(5):
        create(api, tenant, f"policy{i}")
    before = snapshot(tenant.account)
    assert before[:2] == (5, 5)
    response = api.call(
        "POST", "/api/v1/policies", {"policyName": "sixth", "permissions": doc(["View*"])}, creds=tenant.root
    )
    assert response.status_code == 409
    assert response.json()["errorCode"] == 9012
    assert "500" not in response.json()["message"] and "5" in response.json()["message"]
    assert snapshot(tenant.account) == before
    assert not Policy.objects.filter(name="sixth").exists()


# List --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_system_managed_is_exactly_the_seven_in_catalog_order(api, tenant):
    create(api, tenant, "mine")
    response = api.call("GET", "/api/v1/policies?type=SYSTEM_MANAGED&size=100", creds=tenant.root)
    assert response.status_code == 200
    body = response.json()
    assert (
        [p["policyName"] for p in body["items"]]
        == SYSTEM_NAMES
        == [
            "NCP_ADMINISTRATOR",
            "NCP_INFRA_MANAGER",
            "NCP_FINANCE_MANAGER",
            "NCP_SUB_ACCOUNT_MANAGER",
            "NCP_SUB_ACCOUNT_VIEWER",
            "NCP_EXTERNAL_ACCESS_MANAGER",
            "NCP_EXTERNAL_ACCESS_VIEWER",
        ]
    )
    assert {p["policyType"] for p in body["items"]} == {"SYSTEM_MANAGED"}
    assert body["totalItems"] == 7
    assert "permissions" not in body["items"][0]


@pytest.mark.django_db
def test_list_user_created_never_shows_another_tenants_policies(api, tenant, other_tenant):
    create(api, tenant, "alpha-one")
    create(api, tenant, "alpha-two")
    create(api, other_tenant, "beta-one")
    response = api.call("GET", "/api/v1/policies?type=USER_CREATED", creds=tenant.root)
    body = response.json()
    assert [p["policyName"] for p in body["items"]] == ["alpha-one", "alpha-two"]
    assert {p["policyType"] for p in body["items"]} == {"USER_CREATED"}
    everything = api.call("GET", "/api/v1/policies?size=100", creds=tenant.root).json()
    assert [p["policyName"] for p in everything["items"]] == SYSTEM_NAMES + ["alpha-one", "alpha-two"]
    theirs = api.call("GET", "/api/v1/policies?type=USER_CREATED", creds=other_tenant.root).json()
    assert [p["policyName"] for p in theirs["items"]] == ["beta-one"]


@pytest.mark.django_db
def test_list_rejects_an_unknown_type(api, tenant):
    response = api.call("GET", "/api/v1/policies?type=MINE", creds=tenant.root)
    assert response.status_code == 400
    assert field_names(response) == ["type"]


@pytest.mark.django_db
def test_search_by_policy_name(api, tenant, other_tenant):
    for name in ("web-read", "web-write", "db-read"):
        create(api, tenant, name)
    create(api, other_tenant, "web-other")
    response = api.call("GET", "/api/v1/policies?searchColumn=policyName&searchWord=WEB", creds=tenant.root)
    assert [p["policyName"] for p in response.json()["items"]] == ["web-read", "web-write"]
    response = api.call("GET", "/api/v1/policies?searchColumn=policyName&searchWord=viewer", creds=tenant.root)
    assert [p["policyName"] for p in response.json()["items"]] == [
        "NCP_SUB_ACCOUNT_VIEWER",
        "NCP_EXTERNAL_ACCESS_VIEWER",
    ]
    response = api.call("GET", "/api/v1/policies?searchColumn=nope&searchWord=web", creds=tenant.root)
    assert response.status_code == 400
    assert field_names(response) == ["searchColumn"]


@pytest.mark.django_db
def test_pagination(api, tenant):
    for i in range(5):
        create(api, tenant, f"page{i}")
    first = api.call("GET", "/api/v1/policies?type=USER_CREATED&size=2", creds=tenant.root).json()
    assert {k: v for k, v in first.items() if k != "items"} == {
        "page": 0,
        "totalPages": 3,
        "totalItems": 5,
        "hasPrevious": False,
        "hasNext": True,
        "isFirst": True,
        "isLast": False,
    }
    assert [p["policyName"] for p in first["items"]] == ["page0", "page1"]
    last = api.call("GET", "/api/v1/policies?type=USER_CREATED&size=2&page=2", creds=tenant.root).json()
    assert [p["policyName"] for p in last["items"]] == ["page4"]
    assert (last["hasPrevious"], last["hasNext"], last["isFirst"], last["isLast"]) == (True, False, False, True)
    default = api.call("GET", "/api/v1/policies", creds=tenant.root).json()
    assert (len(default["items"]), default["totalItems"], default["totalPages"]) == (10, 12, 2)


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(api, tenant):
    create(api, tenant, "one")
    with CaptureQueriesContext(connection) as few:
        assert len(api.call("GET", "/api/v1/policies?size=100", creds=tenant.root).json()["items"]) == 8
    for i in range(10):
        create(api, tenant, f"more{i}")
    with CaptureQueriesContext(connection) as many:
        assert len(api.call("GET", "/api/v1/policies?size=100", creds=tenant.root).json()["items"]) == 18
    assert len(many) == len(few)


# Detail ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_with_and_without_permissions(api, tenant):
    policy = create(api, tenant, "detailed", actions=["View/getGroupDetail"], description="d", tags={"k": "v"})
    plain = api.call("GET", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root)
    assert plain.status_code == 200
    body = plain.json()
    assert set(body) == {
        "policyId",
        "policyName",
        "policyType",
        "nrn",
        "description",
        "tags",
        "createTime",
        "modifiedTime",
    }
    assert body["policyId"] == policy.policy_id
    assert body["nrn"] == f"nrn:PUB:IAM::2942:Policy/{policy.policy_id}"
    assert (body["policyName"], body["policyType"], body["description"], body["tags"]) == (
        "detailed",
        "USER_CREATED",
        "d",
        {"k": "v"},
    )
    assert body["createTime"].endswith("Z")
    full = api.call("GET", f"/api/v1/policies/{policy.policy_id}?withPermissions=true", creds=tenant.root).json()
    assert full["permissions"] == [
        {
            "effect": "Allow",
            "targets": [
                {"product": SA, "actions": ["View/getGroupDetail", "View/getGroupList"], "resourceNrns": ["*"]}
            ],
        }
    ]
    assert {k: v for k, v in full.items() if k != "permissions"} == body
    not_true = api.call("GET", f"/api/v1/policies/{policy.policy_id}?withPermissions=false", creds=tenant.root).json()
    assert "permissions" not in not_true


@pytest.mark.django_db
def test_system_policies_are_readable_by_every_tenant(api, tenant, other_tenant):
    for t in (tenant, other_tenant):
        body = api.call("GET", f"/api/v1/policies/{VIEWER_ID}?withPermissions=true", creds=t.root).json()
        assert body["policyName"] == "NCP_SUB_ACCOUNT_VIEWER"
        assert body["policyType"] == "SYSTEM_MANAGED"
        assert body["nrn"] == f"nrn:PUB:IAM::{t.account.member_no}:Policy/{VIEWER_ID}"
        assert body["permissions"] == [
            {"effect": "Allow", "targets": [{"product": SA, "actions": ["View*"], "resourceNrns": ["*"]}]}
        ]


@pytest.mark.django_db
def test_system_policies_cannot_be_changed_or_deleted(api, tenant):
    before = Policy.objects.get(policy_id=ADMIN_ID)
    for method, body in (("PUT", {"description": "mine"}), ("PUT", {"policyName": "renamed"}), ("DELETE", None)):
        response = api.call(method, f"/api/v1/policies/{ADMIN_ID}", body, creds=tenant.root)
        assert response.status_code == 409
        assert response.json()["errorCode"] == 9011
        assert "system-managed" in response.json()["message"]
    after = Policy.objects.get(policy_id=ADMIN_ID)
    assert (after.name, after.description, after.permissions) == (before.name, before.description, before.permissions)


# Update ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_fields(api, tenant):
    policy = create(api, tenant, "before", description="old", tags={"a": "1"})
    body = {"policyName": "after", "description": "new", "tags": {"b": "2"}, "permissions": doc(["View/getRoleList"])}
    response = api.call("PUT", f"/api/v1/policies/{policy.policy_id}", body, creds=tenant.root)
    assert response.json() == {"success": True, "id": policy.policy_id}
    policy.refresh_from_db()
    assert (policy.name, policy.description, policy.tags) == ("after", "new", {"b": "2"})
    assert policy.permissions == [
        {"effect": "Allow", "targets": [{"product": SA, "actions": ["View/getRoleList"], "resourceNrns": ["*"]}]}
    ]
    # Fields that are not sent stay as they are.
    api.call("PUT", f"/api/v1/policies/{policy.policy_id}", {"description": "only this"}, creds=tenant.root)
    policy.refresh_from_db()
    assert (policy.name, policy.description, policy.tags) == ("after", "only this", {"b": "2"})
    assert snapshot(tenant.account)[:2] == (1, 1)


@pytest.mark.django_db
def test_update_keeps_a_removed_related_action_removed_and_expands_a_new_action(api, tenant):
    policy = create(api, tenant, "related", actions=["Change/addPolicyToSubAccount"])
    uri = f"/api/v1/policies/{policy.policy_id}"
    trimmed = [
        "Change/addPolicyToSubAccount",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
        "View/getPolicyList",
    ]
    api.call("PUT", uri, {"permissions": doc(trimmed)}, creds=tenant.root)
    stored = api.call("GET", f"{uri}?withPermissions=true", creds=tenant.root).json()["permissions"]
    assert stored[0]["targets"][0]["actions"] == trimmed

    api.call("PUT", uri, {"permissions": doc([*trimmed, "Change/deletePolicy"])}, creds=tenant.root)
    stored = api.call("GET", f"{uri}?withPermissions=true", creds=tenant.root).json()["permissions"]
    assert stored[0]["targets"][0]["actions"] == [*trimmed, "Change/deletePolicy", "View/getPolicyDetail"]


@pytest.mark.django_db
def test_update_errors_change_nothing(api, tenant):
    create(api, tenant, "taken")
    policy = create(api, tenant, "mine", description="kept")
    uri = f"/api/v1/policies/{policy.policy_id}"
    cases = [
        ({"policyName": "taken"}, 409, ["policyName"]),
        ({"policyName": "NCP_SUB_ACCOUNT_MANAGER"}, 409, ["policyName"]),
        ({"policyName": "x"}, 400, ["policyName"]),
        ({"permissions": doc(["View*"], resources=["*", "bad"])}, 400, ["permissions[0].targets[0].resourceNrns[1]"]),
        (
            {"description": "changed", "permissions": doc(["Change/nothing"])},
            400,
            ["permissions[0].targets[0].actions[0]"],
        ),
    ]
    for body, status, fields in cases:
        response = api.call("PUT", uri, body, creds=tenant.root)
        assert (response.status_code, field_names(response)) == (status, fields), body
    policy.refresh_from_db()
    assert (policy.name, policy.description) == ("mine", "kept")
    assert policy.permissions[0]["targets"][0]["actions"] == ["View*"]


# Delete ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_an_unattached_policy(api, tenant):
    policy = create(api, tenant, "doomed")
    create(api, tenant, "survivor")
    response = api.call("DELETE", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root)
    assert response.json() == {"success": True, "id": policy.policy_id}
    assert not Policy.objects.filter(policy_id=policy.policy_id).exists()
    assert snapshot(tenant.account)[:2] == (1, 1)
    assert api.call("GET", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root).status_code == 404


@pytest.mark.django_db
def test_delete_an_attached_policy_is_409_naming_each_attachment(api, tenant):
    policy = create(api, tenant, "busy")
    make_sub_account(tenant, "alice", policy_ids=[policy.policy_id])
    group = group_create(account=tenant.account, name="devs")
    role = role_create(account=tenant.account, name="deployer", role_type="Server")
    policies_attach(target=group, policy_ids=[policy.policy_id])
    policies_attach(target=role, policy_ids=[policy.policy_id])
    before = snapshot(tenant.account)
    response = api.call("DELETE", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root)
    assert response.status_code == 409
    body = response.json()
    assert body["errorCode"] == 9011
    for where in ("sub account alice", "group devs", "role deployer"):
        assert where in body["message"]
    assert body["fieldErrors"] == [
        {"field": "policyId", "message": "attached to sub account alice"},
        {"field": "policyId", "message": "attached to group devs"},
        {"field": "policyId", "message": "attached to role deployer"},
    ]
    assert snapshot(tenant.account) == before
    assert Policy.objects.filter(policy_id=policy.policy_id).exists()


# Resources ---------------------------------------------------------------------------------------------------


@pytest.fixture
def attached(api, tenant):
    """A user policy attached to two sub accounts, a group and a role of the tenant."""
    policy = create(api, tenant, "shared")
    alice, _ = make_sub_account(tenant, "alice", policy_ids=[policy.policy_id])
    bob, _ = make_sub_account(tenant, "bob", policy_ids=[policy.policy_id])
    group = group_create(account=tenant.account, name="devs")
    role = role_create(account=tenant.account, name="deployer", role_type="Server")
    policies_attach(target=group, policy_ids=[policy.policy_id])
    policies_attach(target=role, policy_ids=[policy.policy_id])
    return {"policy": policy, "alice": alice, "bob": bob, "group": group, "role": role}


def resources(api, tenant, policy_id) -> dict:
    response = api.call("GET", f"/api/v1/policies/{policy_id}/resources", creds=tenant.root)
    assert response.status_code == 200
    return response.json()


def names(found: dict) -> dict:
    return {
        "subAccounts": [s["loginId"] for s in found["subAccounts"]],
        "groups": [g["groupName"] for g in found["groups"]],
        "roles": [r["roleName"] for r in found["roles"]],
    }


@pytest.mark.django_db
def test_resources_lists_where_the_policy_is_attached(api, tenant, attached):
    found = resources(api, tenant, attached["policy"].policy_id)
    assert names(found) == {"subAccounts": ["alice", "bob"], "groups": ["devs"], "roles": ["deployer"]}
    assert found["subAccounts"][0]["subAccountId"] == str(attached["alice"].sub_account_id)
    assert found["groups"][0]["groupId"] == str(attached["group"].group_id)
    assert found["roles"][0]["roleNo"] == attached["role"].role_no
    assert found["roles"][0]["attachTime"].endswith("Z")


@pytest.mark.django_db
def test_resources_of_a_system_policy_show_only_the_callers_attachments(api, tenant, other_tenant):
    make_sub_account(tenant, "alice", policy_ids=[VIEWER_ID])
    make_sub_account(other_tenant, "mallory", policy_ids=[VIEWER_ID])
    policies_attach(target=group_create(account=other_tenant.account, name="their-group"), policy_ids=[VIEWER_ID])
    assert names(resources(api, tenant, VIEWER_ID)) == {"subAccounts": ["alice"], "groups": [], "roles": []}
    assert names(resources(api, other_tenant, VIEWER_ID)) == {
        "subAccounts": ["mallory"],
        "groups": ["their-group"],
        "roles": [],
    }


@pytest.mark.django_db
def test_delete_resources_detaches_the_named_ones(api, tenant, attached):
    policy = attached["policy"]
    body = {
        "subAccountIdList": [str(attached["alice"].sub_account_id)],
        "groupIdList": [str(attached["group"].group_id)],
        "roleNoList": [attached["role"].role_no],
    }
    response = api.call("DELETE", f"/api/v1/policies/{policy.policy_id}/resources", body, creds=tenant.root)
    assert response.json() == {"success": True, "id": policy.policy_id}
    assert names(resources(api, tenant, policy.policy_id)) == {"subAccounts": ["bob"], "groups": [], "roles": []}
    assert PolicyAttachment.objects.filter(policy=policy).count() == 1


@pytest.mark.django_db
def test_delete_resources_needs_a_target_and_well_formed_ids_and_writes_nothing(api, tenant, attached):
    uri = f"/api/v1/policies/{attached['policy'].policy_id}/resources"
    before = snapshot(tenant.account)
    response = api.call("DELETE", uri, {}, creds=tenant.root)
    assert (response.status_code, field_names(response)) == (400, ["subAccountIdList"])
    # Like every other id in this API, a malformed one is simply not found.
    response = api.call("DELETE", uri, {"groupIdList": ["not-a-uuid"]}, creds=tenant.root)
    assert response.status_code == 404
    assert response.json()["fieldErrors"] == [{"field": "groupIdList", "message": "no such id: not-a-uuid"}]
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_detaching_works_from_the_group_and_role_side(api, tenant, attached):
    policy = attached["policy"]
    body = {"policyIdList": [policy.policy_id]}
    response = api.call("DELETE", f"/api/v1/groups/{attached['group'].group_id}/policies", body, creds=tenant.root)
    assert response.status_code == 200
    response = api.call("DELETE", f"/api/v1/roles/{attached['role'].role_no}/policies", body, creds=tenant.root)
    assert response.status_code == 200
    response = api.call(
        "DELETE", f"/api/v1/sub-accounts/{attached['bob'].sub_account_id}/policies", body, creds=tenant.root
    )
    assert response.status_code == 200
    assert names(resources(api, tenant, policy.policy_id)) == {"subAccounts": ["alice"], "groups": [], "roles": []}
    # Once detached everywhere, the policy can be deleted.
    api.call(
        "DELETE",
        f"/api/v1/policies/{policy.policy_id}/resources",
        {"subAccountIdList": [str(attached["alice"].sub_account_id)]},
        creds=tenant.root,
    )
    assert api.call("DELETE", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root).status_code == 200
    assert not Policy.objects.filter(pk=policy.pk).exists()


# Validation --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_validation_reports_errors_without_saving(api, tenant):
    before = snapshot(tenant.account)
    permissions = doc(["View/nope"]) + doc(["View*"], effect="Grant")
    response = api.call("POST", "/api/v1/policy/validation", {"permissions": permissions}, creds=tenant.root)
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert [(f["severity"], f["location"]) for f in body["findings"]] == [
        ("ERROR", "permissions[0].targets[0].actions[0]"),
        ("ERROR", "permissions[1].effect"),
    ]
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_validation_warns_about_everything_on_everything(api, tenant):
    before = snapshot(tenant.account)
    response = api.call(
        "POST", "/api/v1/policy/validation", {"permissions": doc(["View*"]) + doc(["*"])}, creds=tenant.root
    )
    assert response.json() == {
        "valid": True,
        "findings": [
            {
                "severity": "SECURITY_WARNING",
                "location": "permissions[1].targets[0]",
                "message": "allows every action on every resource without a condition",
            }
        ],
    }
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_validation_of_a_clean_or_conditioned_document(api, tenant):
    for permissions in (
        doc(["View/getSubAccountList"]),
        doc(["*"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}}),
    ):
        response = api.call("POST", "/api/v1/policy/validation", {"permissions": permissions}, creds=tenant.root)
        assert response.json() == {"valid": True, "findings": []}
    # A resource-tag condition on "*" cannot allow the actions that take no resource tag: a warning, still valid.
    response = api.call(
        "POST",
        "/api/v1/policy/validation",
        {"permissions": doc(["*"], condition={"StringEquals": {"ncp:resourceTag/team": ["a"]}})},
        creds=tenant.root,
    )
    body = response.json()
    assert body["valid"] is True
    assert [(f["severity"], f["location"]) for f in body["findings"]] == [("WARNING", "permissions[0].condition")]
    assert "ncp:resourceTag/team does not apply to View/getResourceCount" in body["findings"][0]["message"]
    assert snapshot(tenant.account)[:2] == (0, 0)


# Authorization -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_reads_but_cannot_create(api, tenant):
    mine = create(api, tenant, "visible")
    _, viewer = make_sub_account(tenant, "viewer", policy_ids=[VIEWER_ID])
    listed = api.call("GET", "/api/v1/policies?type=USER_CREATED", creds=viewer)
    assert [p["policyName"] for p in listed.json()["items"]] == ["visible"]
    detail = api.call("GET", f"/api/v1/policies/{mine.policy_id}?withPermissions=true", creds=viewer)
    assert detail.json()["permissions"][0]["targets"][0]["actions"] == ["View*"]
    before = snapshot(tenant.account)
    response = api.call("POST", "/api/v1/policies", {"policyName": "sneaky", "permissions": doc(["*"])}, creds=viewer)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "210"
    assert "Change/createPolicy" in response.json()["error"]["details"]
    assert snapshot(tenant.account) == before


@pytest.mark.django_db
def test_delete_allowed_on_one_exact_policy_nrn_only(api, tenant):
    target = create(api, tenant, "deletable")
    other = create(api, tenant, "protected")
    target_nrn = f"nrn:PUB:IAM::2942:Policy/{target.policy_id}"
    grant = policy_create(
        account=tenant.account, name="may-delete-one", permissions=doc(["Change/deletePolicy"], resources=[target_nrn])
    )
    _, deleter = make_sub_account(tenant, "deleter", policy_ids=[grant.policy_id])

    denied = api.call("DELETE", f"/api/v1/policies/{other.policy_id}", creds=deleter)
    assert denied.status_code == 401
    assert denied.json()["error"]["errorCode"] == "210"
    assert Policy.objects.filter(pk=other.pk).exists()

    allowed = api.call("DELETE", f"/api/v1/policies/{target.policy_id}", creds=deleter)
    assert allowed.json() == {"success": True, "id": target.policy_id}
    assert not Policy.objects.filter(pk=target.pk).exists()
    assert Account.objects.get(pk=tenant.account.pk).policy_count == 2

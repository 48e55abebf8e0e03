"""POST /policy/simulation: decisions with the statements that made them and the context keys that were missing."""

import pytest

from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account
from tests.documents import policy_doc as _doc

URL = "/api/v1/policy/simulation"


@pytest.mark.django_db
def test_simulating_a_sub_account_names_the_deciding_statements(api, tenant):
    sub, _ = make_sub_account(tenant, "member")
    allow = policy_create(account=tenant.account, name="viewall", permissions=_doc(["View*"]))
    deny = policy_create(account=tenant.account, name="noroles", permissions=_doc(["View/getRoleList"], effect="Deny"))
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    policies_attach(target=sub, policy_ids=[allow.policy_id])
    policies_attach(target=group, policy_ids=[deny.policy_id])
    body = {
        "subAccountId": str(sub.sub_account_id),
        "actions": [
            "SubAccount:View/getGroupList",
            {"product": "SubAccount", "action": "View/getRoleList"},
            "SubAccount:Change/createGroup",
        ],
    }
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    results = {r["action"]: r for r in response.json()["results"]}
    assert results["View/getGroupList"] == {
        "product": "SubAccount",
        "action": "View/getGroupList",
        "resourceNrn": "*",
        "decision": "allowed",
        "matchedStatements": [{"policyId": allow.policy_id, "permissionIndex": 0, "effect": "Allow"}],
        "missingContextKeys": [],
    }
    assert results["View/getRoleList"]["decision"] == "explicitDeny"
    assert {"policyId": deny.policy_id, "permissionIndex": 0, "effect": "Deny"} in results["View/getRoleList"][
        "matchedStatements"
    ]
    assert results["Change/createGroup"]["decision"] == "implicitDeny"
    assert results["Change/createGroup"]["matchedStatements"] == []


@pytest.mark.django_db
def test_simulating_documents_with_context_and_missing_keys(api, tenant):
    target = f"nrn:PUB:IAM::2942:SubAccount/{'1' * 8}-1111-1111-1111-{'1' * 12}"
    documents = [_doc(["View/getSubAccountDetail"], condition={"StringEquals": {"ncp:resourceTag/team": ["blue"]}})]
    body = {"policyDocuments": documents, "actions": ["SubAccount:View/getSubAccountDetail"], "resourceNrns": [target]}
    missing = api.call("POST", URL, body, creds=tenant.root).json()["results"][0]
    assert missing["decision"] == "implicitDeny"
    assert missing["missingContextKeys"] == ["ncp:resourceTag/team"]
    body["context"] = {"ncp:resourceTag/team": "blue"}
    present = api.call("POST", URL, body, creds=tenant.root).json()["results"][0]
    assert present["decision"] == "allowed"
    assert present["matchedStatements"] == [{"policyId": "document-0", "permissionIndex": 0, "effect": "Allow"}]


@pytest.mark.django_db
def test_simulating_a_role(api, tenant):
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    policy = policy_create(account=tenant.account, name="viewer", permissions=_doc(["View/getPolicyList"]))
    policies_attach(target=role, policy_ids=[policy.policy_id])
    body = {"roleNo": role.role_no, "actions": ["SubAccount:View/getPolicyList", "SubAccount:View/getGroupList"]}
    decisions = [r["decision"] for r in api.call("POST", URL, body, creds=tenant.root).json()["results"]]
    assert decisions == ["allowed", "implicitDeny"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actions": ["SubAccount:View/getGroupList"]}, "subAccountId"),
        ({"policyDocuments": [], "actions": ["SubAccount:View/getGroupList"]}, "policyDocuments"),
        (
            {"policyDocuments": [_doc(["View/nope"])], "actions": ["SubAccount:View/getGroupList"]},
            "policyDocuments[0][0].targets[0].actions[0]",
        ),
        ({"policyDocuments": [_doc(["View*"])], "actions": ["SubAccount:View/nope"]}, "actions[0]"),
        ({"policyDocuments": [_doc(["View*"])], "actions": []}, "actions"),
        ({"policyDocuments": [_doc(["View*"])], "actions": [42]}, "actions[0]"),
        # A context value is one request's key: a value long enough to make the simulation itself slow is refused.
        (
            {
                "policyDocuments": [_doc(["View*"])],
                "actions": ["SubAccount:View/getGroupList"],
                "context": {"ncp:requestTag/team": "a" * 1025},
            },
            "context.ncp:requestTag/team",
        ),
        (
            {
                "policyDocuments": [_doc(["View*"])],
                "actions": ["SubAccount:View/getGroupList"],
                "context": {"ncp:requestTag/team": ["a"] * 101},
            },
            "context.ncp:requestTag/team",
        ),
        (
            {
                "policyDocuments": [_doc(["View*"])],
                "actions": ["SubAccount:View/getGroupList"],
                "context": {f"k{n}": "v" for n in range(101)},
            },
            "context",
        ),
    ],
)
def test_bad_input_names_the_field(api, tenant, body, field):
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["fieldErrors"]] == [field]


@pytest.mark.django_db
def test_another_accounts_principal_is_not_found(api, tenant, other_tenant):
    theirs, _ = make_sub_account(other_tenant, "theirs")
    response = api.call(
        "POST",
        URL,
        {"subAccountId": str(theirs.sub_account_id), "actions": ["SubAccount:View/getGroupList"]},
        creds=tenant.root,
    )
    assert response.status_code == 404
    assert response.json()["fieldErrors"] == [{"field": "subAccountId", "message": "no such sub account"}]


@pytest.mark.django_db
def test_simulating_someone_needs_permission_to_read_them(api, tenant):
    sub, _ = make_sub_account(tenant, "member")
    _, creds = make_sub_account(tenant, "validator", actions=["View/validatePolicy"])
    documents = api.call(
        "POST", URL, {"policyDocuments": [_doc(["View*"])], "actions": ["SubAccount:View/getGroupList"]}, creds=creds
    )
    assert documents.status_code == 200
    person = api.call(
        "POST", URL, {"subAccountId": str(sub.sub_account_id), "actions": ["SubAccount:View/getGroupList"]}, creds=creds
    )
    assert person.status_code == 401
    assert "View/getSubAccountDetail" in person.json()["error"]["details"]


@pytest.mark.django_db
def test_simulating_a_role_shows_that_its_sessions_cannot_change_roles(api, tenant):
    role = role_create(account=tenant.account, name="everything", role_type="Account", session_expiration_sec=600)
    policy = policy_create(account=tenant.account, name="all", permissions=_doc(["*"]))
    policies_attach(target=role, policy_ids=[policy.policy_id])
    body = {"roleNo": role.role_no, "actions": ["SubAccount:Change/createGroup", "SubAccount:Change/createRole"]}
    group, created_role = api.call("POST", URL, body, creds=tenant.root).json()["results"]
    own_policy = f"nrn:PUB:IAM::2942:Policy/{policy.policy_id}"
    body = {"roleNo": role.role_no, "actions": ["SubAccount:Change/updatePolicy"], "resourceNrns": [own_policy]}
    (update_own,) = api.call("POST", URL, body, creds=tenant.root).json()["results"]
    assert update_own["decision"] == "explicitDeny"
    assert group["decision"] == "allowed"
    assert created_role["decision"] == "explicitDeny"
    assert created_role["matchedStatements"] == [
        {"policyId": policy.policy_id, "permissionIndex": 0, "effect": "Allow"},
        {"policyId": "role-session-restriction", "permissionIndex": 0, "effect": "Deny"},
    ]

"""Account roles across main accounts: naming account B as a target of A's role gives B's sub accounts nothing by
itself; once B's own policies allow Change/switchRole on the role, a B sub account switches into it and acts in A
with the role's policies, its source identity naming the real caller."""

import pytest

from iam.models import AccessKey, AuditEvent, RoleAccountTarget
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_account_attach, role_accounts_detach, role_create
from tests.conftest import Credentials, make_sub_account
from tests.documents import policy_doc

pytestmark = pytest.mark.django_db
STS = "View/getStsSessionToken"


def _allow(tenant, name, actions, resources=("*",)):
    return policy_create(
        account=tenant.account,
        name=name,
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": list(resources)}],
            }
        ],
    )


@pytest.fixture
def shared_role(tenant, other_tenant):
    """An Account role of Alpha that lists sub accounts, naming Beta as a target (verified by a Beta login ID)."""
    role = role_create(account=tenant.account, name="shared", role_type="Account")
    policies_attach(target=role, policy_ids=[_allow(tenant, "shared-list", ["View/getSubAccountList"]).policy_id])
    make_sub_account(other_tenant, "beta-admin")
    role_account_attach(role=role, account_name="Beta", login_id="beta-admin")
    return role


def _switch(api, creds, role):
    return api.call("POST", "/api/v1/credentials", {"roleNrn": role.nrn}, creds=creds)


def test_naming_another_account_gives_its_sub_accounts_nothing_by_itself(api, shared_role, other_tenant):
    _, creds = make_sub_account(other_tenant, "beta-dev", actions=[STS])
    response = _switch(api, creds, shared_role)
    assert response.status_code == 401 and "Change/switchRole" in response.json()["error"]["details"]
    assert not AccessKey.objects.filter(role=shared_role).exists()


def test_with_its_own_accounts_policy_a_sub_account_switches_and_acts_with_the_roles_policies(
    api, tenant, other_tenant, shared_role
):
    switch = _allow(other_tenant, "switch-shared", ["Change/switchRole"], [shared_role.nrn])
    sub, creds = make_sub_account(other_tenant, "beta-dev", actions=[STS], policy_ids=[switch.policy_id])
    response = _switch(api, creds, shared_role)
    assert response.status_code == 200, response.content
    body = response.json()
    session = Credentials(
        body["accessKey"] if "accessKey" in body else body["AccessKeyId"],
        body.get("keySecret") or body["SecretAccessKey"],
    )
    key = AccessKey.objects.get(access_key=session.access_key)
    assert (key.account, key.role, key.sub_account) == (tenant.account, shared_role, sub)
    assert (key.source_identity_type, key.source_identity_id) == ("SubAccount", str(sub.sub_account_id))
    # In Alpha, with the role's policies: Alpha's sub accounts are listed, nothing of Beta's.
    listed = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert listed.status_code == 200
    assert "beta-dev" not in listed.content.decode() and "beta-admin" not in listed.content.decode()
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 401
    event = AuditEvent.objects.filter(account=tenant.account, action="SubAccount:View/getGroupList").get()
    assert event.actor == f"{shared_role.nrn}/SubAccount/{sub.sub_account_id}"


def test_a_condition_on_source_identity_sees_the_real_caller(api, tenant, other_tenant, shared_role):
    switch = _allow(other_tenant, "switch-shared", ["Change/switchRole"], [shared_role.nrn])
    sub, creds = make_sub_account(other_tenant, "beta-dev", actions=[STS], policy_ids=[switch.policy_id])
    keyed = policy_create(
        account=tenant.account,
        name="only-beta-dev",
        permissions=policy_doc(
            ["View/getGroupList"], condition={"StringEquals": {"ncp:sourceIdentityId": [str(sub.sub_account_id)]}}
        ),
    )
    policies_attach(target=shared_role, policy_ids=[keyed.policy_id])
    body = _switch(api, creds, shared_role).json()
    session = Credentials(
        body.get("accessKey") or body["AccessKeyId"], body.get("keySecret") or body["SecretAccessKey"]
    )
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 200


def test_an_account_that_is_not_a_target_does_not_find_the_role_whatever_its_policies(api, tenant, other_tenant):
    role = role_create(account=tenant.account, name="private", role_type="Account")
    _, creds = make_sub_account(other_tenant, "beta-dev", actions=[STS, "Change/switchRole"])
    response = _switch(api, creds, role)
    assert response.status_code == 404
    assert not AccessKey.objects.filter(role=role).exists()


def test_removing_the_target_ends_that_accounts_sessions(api, tenant, other_tenant, shared_role):
    _, creds = make_sub_account(other_tenant, "beta-dev", actions=[STS, "Change/switchRole"])
    body = _switch(api, creds, shared_role).json()
    session = Credentials(
        body.get("accessKey") or body["AccessKeyId"], body.get("keySecret") or body["SecretAccessKey"]
    )
    role_accounts_detach(role=shared_role, member_nos=[other_tenant.account.member_no])
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 401
    assert _switch(api, creds, shared_role).status_code == 404


def test_removing_the_own_account_stops_own_sub_accounts(api, tenant):
    role = role_create(account=tenant.account, name="own", role_type="Account")
    _, creds = make_sub_account(tenant, "alpha-dev", actions=[STS, "Change/switchRole"])
    assert _switch(api, creds, role).status_code == 200
    RoleAccountTarget.objects.filter(role=role).delete()
    response = _switch(api, creds, role)
    assert response.status_code == 400 and response.json()["fieldErrors"][0]["field"] == "roleNrn"

"""The engine behind the API: every kind of change takes effect on the very next request, and conditions see the
request (source IP, principal, resource tags, request tags)."""

import pytest

from iam.models import Account
from iam.services.groups import group_create, group_delete, group_members_add, group_members_remove
from iam.services.policies import policies_attach, policies_detach, policy_create, policy_update
from tests.conftest import make_sub_account
from tests.documents import policy_doc as _doc

LIST = "/api/v1/groups"


def _status(api, creds, uri=LIST, method="GET", body=None):
    return api.call(method, uri, body, creds=creds).status_code


@pytest.fixture
def member(tenant):
    return make_sub_account(tenant, "member")


@pytest.mark.django_db
def test_attaching_and_detaching_a_policy(api, tenant, member):
    sub, creds = member
    policy = policy_create(account=tenant.account, name="groups", permissions=_doc(["View/getGroupList"]))
    assert _status(api, creds) == 401
    policies_attach(target=sub, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 200
    policies_detach(target=sub, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 401


@pytest.mark.django_db
def test_changing_a_policys_statements(api, tenant, member):
    sub, creds = member
    policy = policy_create(account=tenant.account, name="groups", permissions=_doc(["View/getGroupList"]))
    policies_attach(target=sub, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 200
    policy_update(policy=policy, permissions=_doc(["View/getPolicyList"]))
    assert _status(api, creds) == 401
    assert _status(api, creds, "/api/v1/policies") == 200


@pytest.mark.django_db
def test_group_membership_and_group_policies(api, tenant, member):
    sub, creds = member
    group = group_create(account=tenant.account, name="team")
    policy = policy_create(account=tenant.account, name="groups", permissions=_doc(["View/getGroupList"]))
    policies_attach(target=group, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 401
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    assert _status(api, creds) == 200
    group_members_remove(group=group, sub_account_ids=[str(sub.sub_account_id)])
    assert _status(api, creds) == 401
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    assert _status(api, creds) == 200
    policies_detach(target=group, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 401
    policies_attach(target=group, policy_ids=[policy.policy_id])
    assert _status(api, creds) == 200
    group_delete(group=group)
    assert _status(api, creds) == 401


@pytest.mark.django_db
def test_every_change_bumps_the_version_once_committed(tenant, member):
    sub, _ = member

    def version():
        return Account.objects.get(pk=tenant.account.pk).authz_version

    before = version()
    policy = policy_create(account=tenant.account, name="groups", permissions=_doc(["View/getGroupList"]))
    assert version() == before  # a new policy is attached nowhere
    policies_attach(target=sub, policy_ids=[policy.policy_id])
    assert version() > before


@pytest.mark.django_db
def test_the_api_changes_take_effect_on_the_next_request(api, tenant, member):
    sub, creds = member
    policy = policy_create(account=tenant.account, name="groups", permissions=_doc(["View/getGroupList"]))
    attach = api.call(
        "POST",
        f"/api/v1/sub-accounts/{sub.sub_account_id}/policies",
        {"policyIdList": [policy.policy_id]},
        creds=tenant.root,
    )
    assert attach.status_code == 200
    assert _status(api, creds) == 200
    deny = policy_create(
        account=tenant.account, name="nogroups", permissions=_doc(["View/getGroupList"], effect="Deny")
    )
    api.call(
        "POST",
        f"/api/v1/sub-accounts/{sub.sub_account_id}/policies",
        {"policyIdList": [deny.policy_id]},
        creds=tenant.root,
    )
    assert _status(api, creds) == 401


@pytest.mark.django_db
def test_source_ip_condition(api, tenant):
    local = policy_create(
        account=tenant.account,
        name="local",
        permissions=_doc(["View/getGroupList"], condition={"IpAddress": {"ncp:SourceIp": ["127.0.0.0/8"]}}),
    )
    remote = policy_create(
        account=tenant.account,
        name="remote",
        permissions=_doc(["View/getPolicyList"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}}),
    )
    _, creds = make_sub_account(tenant, "ipuser", policy_ids=[local.policy_id, remote.policy_id])
    assert _status(api, creds) == 200  # the test client calls from 127.0.0.1
    assert _status(api, creds, "/api/v1/policies") == 401


@pytest.mark.django_db
def test_resource_tag_condition_reads_the_target_resources_tags(api, tenant):
    owned, _ = make_sub_account(tenant, "owned", tags={"owner": "tagger"})
    other, _ = make_sub_account(tenant, "other", tags={"owner": "someone"})
    policy = policy_create(
        account=tenant.account,
        name="own",
        permissions=_doc(
            ["View/getSubAccountDetail"],
            condition={"StringEquals": {"ncp:resourceTag/owner": ["${ncp:principalName}"]}},
        ),
    )
    _, creds = make_sub_account(tenant, "tagger", policy_ids=[policy.policy_id])
    assert _status(api, creds, f"/api/v1/sub-accounts/{owned.sub_account_id}") == 200
    assert _status(api, creds, f"/api/v1/sub-accounts/{other.sub_account_id}") == 401


@pytest.mark.django_db
def test_request_tag_condition_on_create(api, tenant):
    policy = policy_create(
        account=tenant.account,
        name="teamonly",
        permissions=_doc(
            ["Change/createGroup"],
            condition={
                "StringEquals": {"ncp:requestTag/team": ["blue"]},
                "ForAllValues:StringEquals": {"ncp:TagKeys": ["team"]},
            },
        ),
    )
    _, creds = make_sub_account(tenant, "creator", policy_ids=[policy.policy_id])
    assert _status(api, creds, method="POST", body={"groupName": "blue1", "tags": {"team": "blue"}}) == 200
    assert _status(api, creds, method="POST", body={"groupName": "red1", "tags": {"team": "red"}}) == 401
    assert _status(api, creds, method="POST", body={"groupName": "blue2", "tags": {"team": "blue", "cost": "x"}}) == 401
    assert _status(api, creds, method="POST", body={"groupName": "none1"}) == 401

"""The policy services: create within the limit, change, delete, attach and detach, and the counter."""

import pytest

from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import Account, Policy, PolicyAttachment
from iam.services.groups import group_create
from iam.services.policies import (
    policies_attach,
    policies_detach,
    policy_counter_reconcile,
    policy_counters_drifted,
    policy_create,
    policy_delete,
    policy_resources_detach,
    policy_update,
)
from iam.services.roles import role_create
from tests.conftest import make_sub_account, make_tenant

SA = "SubAccount"
VIEWER_ID = "00000000-0000-4000-8000-000000000005"


def doc(actions, *, effect="Allow", resources=None) -> list[dict]:
    target = {"product": SA, "actions": list(actions)}
    if resources is not None:
        target["resourceNrns"] = resources
    return [{"effect": effect, "targets": [target]}]


def counts(account) -> tuple[int, int]:
    """(rows, counter) of an account's user-defined policies."""
    account.refresh_from_db()
    return Policy.objects.filter(account=account).count(), account.policy_count


@pytest.mark.django_db
def test_create_normalizes_adds_related_actions_and_counts(tenant):
    policy = policy_create(
        account=tenant.account,
        name="attach-only",
        description="attach policies",
        permissions=doc(["Change/addPolicyToSubAccount"]),
        tags={"team": "a"},
    )
    policy.refresh_from_db()
    assert policy.policy_type == Policy.USER_CREATED
    assert policy.account == tenant.account
    assert (policy.name, policy.description, policy.tags) == ("attach-only", "attach policies", {"team": "a"})
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
    assert counts(tenant.account) == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["ab", "1abc", "_abc", "has space", "a" * 31, "naïve", ""])
def test_create_rejects_bad_names(tenant, name):
    with pytest.raises(InvalidInput) as caught:
        policy_create(account=tenant.account, name=name, permissions=doc(["View*"]))
    assert {f for f, _ in caught.value.field_errors} == {"policyName"}
    assert counts(tenant.account) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["abc", "A.b-c_9", "a" * 30])
def test_create_accepts_good_names(tenant, name):
    assert policy_create(account=tenant.account, name=name, permissions=doc(["View*"])).name == name


@pytest.mark.django_db
def test_create_rejects_a_bad_document_naming_every_place(tenant):
    permissions = doc(["View/getSubAccountList", "View/nope"]) + doc(["View*"], effect="Permit", resources=["x"])
    with pytest.raises(InvalidInput) as caught:
        policy_create(account=tenant.account, name="bad", permissions=permissions)
    assert [f for f, _ in caught.value.field_errors] == [
        "permissions[0].targets[0].actions[1]",
        "permissions[1].effect",
        "permissions[1].targets[0].resourceNrns[0]",
    ]
    assert "permissions[0].targets[0].actions[1]: unknown action 'View/nope'" in caught.value.message
    assert counts(tenant.account) == (0, 0)


@pytest.mark.django_db
def test_duplicate_and_system_names_conflict(tenant, other_tenant):
    policy_create(account=tenant.account, name="dup", permissions=doc(["View*"]))
    for name in ("dup", "NCP_ADMINISTRATOR", "NCP_SUB_ACCOUNT_VIEWER"):
        with pytest.raises(Conflict) as caught:
            policy_create(account=tenant.account, name=name, permissions=doc(["View*"]))
        assert type(caught.value) is Conflict
        assert [f for f, _ in caught.value.field_errors] == ["policyName"]
    assert counts(tenant.account) == (1, 1)
    # Names are unique per account only.
    assert policy_create(account=other_tenant.account, name="dup", permissions=doc(["View*"])).name == "dup"


@pytest.mark.django_db
def test_the_limit_is_per_account_and_nothing_is_written_past_it(tenant, other_tenant, settings):
    settings.IAM_MAX_POLICIES = 3
    for i in range(3):
        policy_create(account=tenant.account, name=f"p{i}ok", permissions=doc(["View*"]))
    with pytest.raises(QuotaExceeded) as caught:
        policy_create(account=tenant.account, name="p3ok", permissions=doc(["View*"]))
    assert caught.value.error_code == 9012
    assert counts(tenant.account) == (3, 3)
    assert not Policy.objects.filter(name="p3ok").exists()
    # Another account is not affected, and deleting one frees a place.
    policy_create(account=other_tenant.account, name="p3ok", permissions=doc(["View*"]))
    policy_delete(policy=Policy.objects.get(account=tenant.account, name="p0ok"))
    policy_create(account=tenant.account, name="p3ok", permissions=doc(["View*"]))
    assert counts(tenant.account) == (3, 3)


@pytest.mark.django_db
def test_update_keeps_removed_related_actions_removed_and_expands_new_ones(tenant):
    policy = policy_create(account=tenant.account, name="edit", permissions=doc(["Change/addPolicyToSubAccount"]))
    removed = ["Change/addPolicyToSubAccount", "View/getSubAccountDetail", "View/getSubAccountList"]
    policy_update(policy=policy, permissions=doc(removed))
    policy.refresh_from_db()
    assert policy.permissions[0]["targets"][0]["actions"] == removed

    policy_update(policy=policy, permissions=doc([*removed, "Change/createPolicy"]))
    policy.refresh_from_db()
    assert policy.permissions[0]["targets"][0]["actions"] == [*removed, "Change/createPolicy", "View/getPolicyList"]


@pytest.mark.django_db
def test_update_fields_and_rules(tenant):
    policy = policy_create(account=tenant.account, name="first", permissions=doc(["View*"]), tags={"a": "1"})
    policy_create(account=tenant.account, name="taken", permissions=doc(["View*"]))
    updated = policy_update(policy=policy, name="second", description="now described", tags={"b": "2"})
    policy.refresh_from_db()
    assert (policy.name, policy.description, policy.tags) == ("second", "now described", {"b": "2"})
    assert updated.pk == policy.pk
    for name in ("taken", "NCP_INFRA_MANAGER"):
        with pytest.raises(Conflict):
            policy_update(policy=policy, name=name)
    with pytest.raises(InvalidInput) as caught:
        policy_update(policy=policy, name="x")
    assert [f for f, _ in caught.value.field_errors] == ["policyName"]
    with pytest.raises(InvalidInput) as caught:
        policy_update(policy=policy, permissions=doc(["View/nope"]))
    assert [f for f, _ in caught.value.field_errors] == ["permissions[0].targets[0].actions[0]"]
    with pytest.raises(InvalidInput):
        policy_update(policy=policy, policy_type=Policy.SYSTEM_MANAGED)
    policy.refresh_from_db()
    assert (policy.name, policy.policy_type) == ("second", Policy.USER_CREATED)
    assert policy.permissions[0]["targets"][0]["actions"] == ["View*"]


@pytest.mark.django_db
def test_system_policies_cannot_be_changed_or_deleted(tenant):
    viewer = Policy.objects.get(policy_id=VIEWER_ID)
    before = (viewer.name, viewer.description, viewer.permissions)
    with pytest.raises(Conflict):
        policy_update(policy=viewer, description="mine now")
    with pytest.raises(Conflict):
        policy_delete(policy=viewer)
    viewer.refresh_from_db()
    assert (viewer.name, viewer.description, viewer.permissions) == before
    assert viewer.description != "mine now"


@pytest.mark.django_db
def test_delete_unattached_decrements_the_counter(tenant):
    policy = policy_create(account=tenant.account, name="gone", permissions=doc(["View*"]))
    policy_create(account=tenant.account, name="stays", permissions=doc(["View*"]))
    policy_delete(policy=policy)
    assert not Policy.objects.filter(pk=policy.pk).exists()
    assert counts(tenant.account) == (1, 1)


@pytest.mark.django_db
def test_delete_attached_policy_names_every_attachment(tenant):
    policy = policy_create(account=tenant.account, name="busy", permissions=doc(["View*"]))
    sub, _ = make_sub_account(tenant, "alice", policy_ids=[policy.policy_id])
    group = group_create(account=tenant.account, name="devs")
    role = role_create(account=tenant.account, name="builder", role_type="Server")
    policies_attach(target=group, policy_ids=[policy.policy_id])
    policies_attach(target=role, policy_ids=[policy.policy_id])
    with pytest.raises(Conflict) as caught:
        policy_delete(policy=policy)
    assert caught.value.message == (
        "the policy is attached to sub account alice, group devs, role builder; detach it first"
    )
    assert caught.value.field_errors == [
        ("policyId", "attached to sub account alice"),
        ("policyId", "attached to group devs"),
        ("policyId", "attached to role builder"),
    ]
    assert Policy.objects.filter(pk=policy.pk).exists()
    assert PolicyAttachment.objects.filter(policy=policy).count() == 3
    assert counts(tenant.account) == (1, 1)


@pytest.mark.django_db
def test_attach_is_idempotent_and_detach_removes(tenant):
    policy = policy_create(account=tenant.account, name="pol", permissions=doc(["View*"]))
    group = group_create(account=tenant.account, name="devs")
    assert policies_attach(target=group, policy_ids=[policy.policy_id, VIEWER_ID]) == 2
    assert policies_attach(target=group, policy_ids=[policy.policy_id]) == 0
    assert set(PolicyAttachment.objects.filter(group=group).values_list("policy__policy_id", flat=True)) == {
        policy.policy_id,
        VIEWER_ID,
    }
    assert policies_detach(target=group, policy_ids=[VIEWER_ID]) == 1
    assert list(PolicyAttachment.objects.filter(group=group).values_list("policy__policy_id", flat=True)) == [
        policy.policy_id
    ]


@pytest.mark.django_db
def test_attach_refuses_another_accounts_policy(tenant, other_tenant):
    foreign = policy_create(account=other_tenant.account, name="theirs", permissions=doc(["View*"]))
    group = group_create(account=tenant.account, name="devs")
    with pytest.raises(NotFound) as caught:
        policies_attach(target=group, policy_ids=[VIEWER_ID, foreign.policy_id])
    assert caught.value.field_errors == [("policyIdList", f"no such policy: {foreign.policy_id}")]
    assert not PolicyAttachment.objects.filter(group=group).exists()


@pytest.mark.django_db
def test_policy_resources_detach_removes_only_the_named_ones_of_this_account(tenant, other_tenant):
    policy = policy_create(account=tenant.account, name="pol", permissions=doc(["View*"]))
    alice, _ = make_sub_account(tenant, "alice", policy_ids=[policy.policy_id, VIEWER_ID])
    bob, _ = make_sub_account(tenant, "bob", policy_ids=[policy.policy_id])
    group = group_create(account=tenant.account, name="devs")
    role = role_create(account=tenant.account, name="builder", role_type="Server")
    policies_attach(target=group, policy_ids=[policy.policy_id])
    policies_attach(target=role, policy_ids=[policy.policy_id])
    foreign_sub, _ = make_sub_account(other_tenant, "carol", policy_ids=[VIEWER_ID])

    removed = policy_resources_detach(
        policy=policy,
        account=tenant.account,
        sub_account_ids=[str(alice.sub_account_id)],
        group_ids=[str(group.group_id)],
        role_nos=[role.role_no],
    )
    assert removed == 3
    assert list(PolicyAttachment.objects.filter(policy=policy).values_list("sub_account", flat=True)) == [
        bob.sub_account_no
    ]
    # The system policy stays on alice, and another account's attachment cannot be reached from here.
    assert PolicyAttachment.objects.filter(policy_id=Policy.objects.get(policy_id=VIEWER_ID).pk).count() == 2
    viewer = Policy.objects.get(policy_id=VIEWER_ID)
    assert (
        policy_resources_detach(
            policy=viewer, account=tenant.account, sub_account_ids=[str(foreign_sub.sub_account_id)]
        )
        == 0
    )
    assert PolicyAttachment.objects.filter(policy=viewer, sub_account=foreign_sub).exists()
    with pytest.raises(InvalidInput):
        policy_resources_detach(policy=policy, account=tenant.account)


@pytest.mark.django_db
def test_counter_reconcile_repairs_only_drifted_accounts(tenant, other_tenant):
    third = make_tenant("Gamma", member_no=3002)
    policy_create(account=tenant.account, name="one", permissions=doc(["View*"]))
    policy_create(account=tenant.account, name="two", permissions=doc(["View*"]))
    policy_create(account=other_tenant.account, name="one", permissions=doc(["View*"]))
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=9)
    Account.objects.filter(pk=third.account.pk).update(policy_count=4)
    assert sorted(policy_counters_drifted()) == sorted([tenant.account.pk, third.account.pk])
    assert policy_counter_reconcile(account=tenant.account) == (9, 2)
    assert policy_counter_reconcile(account=other_tenant.account) == (1, 1)
    assert policy_counters_drifted() == [third.account.pk]
    assert counts(tenant.account) == (2, 2)

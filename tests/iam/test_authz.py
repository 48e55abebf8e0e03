"""The authorization component: effective policies of a principal and its replaceability."""

import pytest

from iam.gateway import authz
from iam.gateway.authz import Decision, EngineAuthorizer
from iam.gateway.principals import Principal, sub_account_principal
from iam.policy.request import Request
from iam.selectors import principal_policies
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policies_detach, policy_create
from tests.conftest import make_sub_account

VIEWER = "00000000-0000-4000-8000-000000000005"


def _doc(effect, actions):
    return [{"effect": effect, "targets": [{"product": "SubAccount", "actions": actions, "resourceNrns": ["*"]}]}]


def _principal(sub):
    sub.account.refresh_from_db()
    return sub_account_principal(sub, sub.account)


@pytest.mark.django_db
def test_statements_come_from_direct_and_group_policies(tenant):
    sub, _ = make_sub_account(tenant, "member")
    direct = policy_create(account=tenant.account, name="direct", permissions=_doc("Allow", ["View/getGroupList"]))
    via_group = policy_create(account=tenant.account, name="viagroup", permissions=_doc("Deny", ["View/getPolicyList"]))
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    policies_attach(target=sub, policy_ids=[direct.policy_id])
    policies_attach(target=group, policy_ids=[via_group.policy_id])
    statements = [s for _, permissions in principal_policies(_principal(sub)) for s in permissions]
    assert sorted(s["effect"] for s in statements) == ["Allow", "Deny"]
    assert {a for s in statements for t in s["targets"] for a in t["actions"]} == {
        "View/getGroupList",
        "View/getPolicyList",
    }


@pytest.mark.django_db
def test_deny_in_a_group_beats_a_direct_allow(tenant):
    sub, _ = make_sub_account(tenant, "member", policy_ids=[VIEWER])
    deny = policy_create(account=tenant.account, name="nogroups", permissions=_doc("Deny", ["View/getGroupList"]))
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    policies_attach(target=group, policy_ids=[deny.policy_id])
    decision = EngineAuthorizer().authorize(
        _principal(sub), [Request("SubAccount", "View/getPolicyList"), Request("SubAccount", "View/getGroupList")]
    )
    assert decision == Decision(False, Request("SubAccount", "View/getGroupList"), "explicitDeny")


@pytest.mark.django_db
def test_a_detached_policy_stops_granting_at_once(tenant):
    sub, _ = make_sub_account(tenant, "member", policy_ids=[VIEWER])
    request = [Request("SubAccount", "View/getSubAccountList")]
    assert EngineAuthorizer().authorize(_principal(sub), request).allowed
    policies_detach(target=sub, policy_ids=[VIEWER])
    assert EngineAuthorizer().authorize(_principal(sub), request) == Decision(False, request[0], "implicitDeny")


@pytest.mark.django_db
def test_root_may_do_everything_in_its_account(tenant):
    root = Principal(
        account_id=tenant.account.pk,
        member_no=2942,
        principal_type="MainAccount",
        principal_id="2942",
        name="root",
        nrn="x",
    )
    assert (
        EngineAuthorizer()
        .authorize(root, [Request("SubAccount", "Change/deleteSubAccount", "nrn:PUB:IAM::2942:SubAccount/x")])
        .allowed
    )


class _DenyEverything:
    def authorize(self, principal, requests, *, request_tags=None):
        return Decision(False, requests[0], "implicitDeny")


@pytest.mark.django_db
def test_the_authorizer_is_replaceable_through_settings(api, tenant, settings):
    settings.IAM_AUTHORIZER = "tests.iam.test_authz._DenyEverything"
    authz._load.cache_clear()
    try:
        response = api.call("GET", "/api/v1/sub-accounts", creds=tenant.root)
    finally:
        authz._load.cache_clear()
    assert response.status_code == 401
    assert response.json()["error"] == {
        "errorCode": "210",
        "message": "Permission Denied",
        "details": "SubAccount:View/getSubAccountList on * is not allowed",
    }


def test_the_compiled_cache_keeps_the_most_recently_used_and_counts_evictions(caplog):
    cache = authz._CompiledCache(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # now the most recently used
    with caplog.at_level("WARNING", logger="iam.gateway.authz"):
        cache.put("d", "D")
    assert cache.get("b") is None and [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    assert cache.stats() == {"entries": 3, "size": 3, "evictions": 1}
    # Logged at the first eviction, then each time another cache's worth (3) has been pushed out.
    assert [r.evictions for r in caplog.records] == [1]
    with caplog.at_level("WARNING", logger="iam.gateway.authz"):
        for key in "efghi":
            cache.put(key, key.upper())
    assert cache.stats() == {"entries": 3, "size": 3, "evictions": 6}
    assert [r.evictions for r in caplog.records] == [1, 3, 6]
    assert "IAM_AUTHZ_CACHE_SIZE=3" in caplog.records[-1].getMessage()
    cache.put("i", "I2")  # a key already held is replaced, nothing is pushed out
    assert cache.stats()["evictions"] == 6 and cache.get("i") == "I2"


@pytest.mark.django_db
def test_the_authorizer_holds_at_most_iam_authz_cache_size_principals(tenant, settings):
    settings.IAM_AUTHZ_CACHE_SIZE = 1
    authorizer = EngineAuthorizer()
    first, _ = make_sub_account(tenant, "first", policy_ids=[VIEWER])
    second, _ = make_sub_account(tenant, "second")
    request = [Request("SubAccount", "View/getSubAccountList")]
    assert authorizer.authorize(_principal(first), request).allowed
    assert authorizer.cache_stats() == {"entries": 1, "size": 1, "evictions": 0}
    assert not authorizer.authorize(_principal(second), request).allowed
    assert authorizer.cache_stats() == {"entries": 1, "size": 1, "evictions": 1}
    # The evicted principal is compiled again on its next call, and decided as before.
    assert authorizer.authorize(_principal(first), request).allowed
    assert authorizer.cache_stats() == {"entries": 1, "size": 1, "evictions": 2}

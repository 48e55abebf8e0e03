"""Each case here was a way around a Deny, a tenancy or key check, or a 500, found in review. They stay fixed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from iam.models import AccessKey, AuditEvent, Group, GroupMembership, PolicyAttachment
from iam.services.accounts import access_key_issue
from iam.services.groups import group_create
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import Credentials, make_sub_account

ADMIN = "00000000-0000-4000-8000-000000000001"


def _deny(tenant, name, actions, resources, condition=None):
    statement = {
        "effect": "Deny",
        "targets": [{"product": "SubAccount", "actions": actions, "resourceNrns": resources}],
    }
    if condition:
        statement["condition"] = condition
    return policy_create(account=tenant.account, name=name, permissions=[statement])


def _admin_with_deny(tenant, login, deny):
    return make_sub_account(tenant, login, policy_ids=[ADMIN, deny.policy_id])


def _denied(response):
    assert response.status_code == 401, response.content
    assert response.json()["error"]["errorCode"] == "210"


@pytest.mark.django_db
def test_spaces_around_ids_do_not_slip_past_a_deny(api, tenant):
    victim, _ = make_sub_account(tenant, "victim")
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    policy = policy_create(
        account=tenant.account,
        name="viewer",
        permissions=[
            {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}
        ],
    )
    policies_attach(target=victim, policy_ids=[policy.policy_id])
    policies_attach(target=role, policy_ids=[policy.policy_id])
    deny = _deny(tenant, "hands-off", ["*"], [victim.nrn, role.nrn])
    _, creds = _admin_with_deny(tenant, "attacker", deny)
    for body in ({"subAccountId": f" {victim.sub_account_id} "}, {"roleNo": f"{role.role_no} "}):
        response = api.call(
            "POST", "/api/v1/policy/simulation", {**body, "actions": ["SubAccount:View/getGroupList"]}, creds=creds
        )
        assert response.status_code in (401, 404), response.content
        assert "results" not in response.json()
    before = PolicyAttachment.objects.count()
    response = api.call(
        "DELETE",
        f"/api/v1/policies/{policy.policy_id}/resources",
        {"subAccountIdList": [f" {victim.sub_account_id}"], "roleNoList": [f"{role.role_no} "]},
        creds=creds,
    )
    assert response.status_code in (401, 404)
    assert PolicyAttachment.objects.count() == before


@pytest.mark.django_db
def test_spaces_in_request_tags_do_not_slip_past_a_tag_condition(api, tenant):
    deny = _deny(tenant, "no-prod", ["Change/createGroup"], ["*"], {"StringEquals": {"ncp:requestTag/env": ["prod"]}})
    _, creds = _admin_with_deny(tenant, "creator", deny)
    _denied(api.call("POST", "/api/v1/groups", {"groupName": "g-prod", "tags": {"env": "prod"}}, creds=creds))
    # The value is stored exactly as authorized: " prod " is not "prod" in either place.
    assert (
        api.call(
            "POST", "/api/v1/groups", {"groupName": "g-spaced", "tags": {"env": " prod "}}, creds=creds
        ).status_code
        == 200
    )
    assert Group.objects.get(name="g-spaced").tags == {"env": " prod "}


@pytest.mark.django_db
def test_a_group_deny_holds_from_the_sub_account_side_too(api, tenant):
    admins = group_create(account=tenant.account, name="admins")
    policies_attach(target=admins, policy_ids=[ADMIN])
    deny = _deny(tenant, "not-admins", ["Change/addSubAccountToGroup"], [admins.nrn])
    me, creds = make_sub_account(
        tenant, "climber", policy_ids=[deny.policy_id], actions=["Change/addSubAccountToGroup"]
    )
    _denied(
        api.call(
            "POST",
            f"/api/v1/groups/{admins.group_id}/sub-accounts",
            {"subAccountIdList": [str(me.sub_account_id)]},
            creds=creds,
        )
    )
    _denied(
        api.call(
            "POST",
            f"/api/v1/sub-accounts/{me.sub_account_id}/groups",
            {"groupIdList": [str(admins.group_id)]},
            creds=creds,
        )
    )
    assert not GroupMembership.objects.filter(group=admins).exists()


@pytest.mark.django_db
def test_a_sub_account_deny_holds_from_the_group_side_too(api, tenant):
    boss, _ = make_sub_account(tenant, "boss")
    team = group_create(account=tenant.account, name="team")
    deny = _deny(tenant, "not-boss", ["Change/addSubAccountToGroup"], [boss.nrn])
    _, creds = _admin_with_deny(tenant, "mover", deny)
    _denied(
        api.call(
            "POST",
            f"/api/v1/groups/{team.group_id}/sub-accounts",
            {"subAccountIdList": [str(boss.sub_account_id).upper()]},
            creds=creds,
        )
    )
    assert not GroupMembership.objects.filter(group=team).exists()


@pytest.mark.django_db
def test_a_key_without_a_principal_is_not_the_root_account(api, tenant):
    key, secret = access_key_issue(
        account=tenant.account, kind=AccessKey.TEMPORARY, expire_time=timezone.now() + timedelta(hours=1)
    )
    response = api.call("POST", "/api/v1/groups", {"groupName": "sneaky"}, creds=Credentials(key.access_key, secret))
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "access key has no principal"
    assert not Group.objects.filter(name="sneaky").exists()


@pytest.mark.django_db
def test_removing_tags_needs_the_untag_action(api, tenant):
    group = group_create(account=tenant.account, name="tagged", tags={"keep": "me"})
    deny = _deny(tenant, "no-untag", ["Change/untagGroup"], ["*"])
    _, creds = _admin_with_deny(tenant, "stripper", deny)
    _denied(api.call("PUT", f"/api/v1/groups/{group.group_id}", {"tags": {}}, creds=creds))
    assert Group.objects.get(pk=group.pk).tags == {"keep": "me"}
    assert (
        api.call(
            "PUT", f"/api/v1/groups/{group.group_id}", {"tags": {"keep": "me", "more": "x"}}, creds=creds
        ).status_code
        == 200
    )


@pytest.mark.django_db
def test_a_deny_written_with_an_upper_case_id_still_applies(api, tenant):
    group = group_create(account=tenant.account, name="precious")
    deny = _deny(
        tenant,
        "upper",
        ["Change/deleteGroup"],
        [group.nrn.upper().replace("NRN:PUB:IAM::", "nrn:PUB:IAM::").replace(":GROUP/", ":Group/")],
    )
    assert deny.permissions[0]["targets"][0]["resourceNrns"] == [group.nrn]
    _, creds = _admin_with_deny(tenant, "deleter", deny)
    _denied(api.call("DELETE", f"/api/v1/groups/{group.group_id}", creds=creds))
    assert Group.objects.filter(pk=group.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uri",
    ["/api/v1/sub-accounts/{sub}/access-keys", "/api/v1/settings/password", "/api/v1/policies/{policy}/resources"],
)
def test_head_is_answered_like_get(api, tenant, uri):
    sub, _ = make_sub_account(tenant, "someone")
    uri = uri.format(sub=sub.sub_account_id, policy=ADMIN)
    assert api.call("HEAD", uri, creds=tenant.root).status_code == 200


@pytest.mark.django_db
def test_an_absurd_timestamp_is_a_401_not_a_500(api, tenant):
    headers = {
        "x-ncp-apigw-timestamp": "9" * 400,
        "x-ncp-iam-access-key": tenant.root.access_key,
        "x-ncp-apigw-signature-v2": "x",
    }
    response = api.call("GET", "/api/v1/groups", creds=None, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "200"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "place"),
    [
        (
            {"NumericLessThan": {"ncp:requestTag/n": [10**400]}},
            "permissions[0].condition.NumericLessThan.ncp:requestTag/n[0]",
        ),
        ({"DateLessThan": {"ncp:CurrentTime": [1e300]}}, "permissions[0].condition.DateLessThan.ncp:CurrentTime[0]"),
        (
            {"DateLessThan": {"ncp:CurrentTime": [str(10**20)]}},
            "permissions[0].condition.DateLessThan.ncp:CurrentTime[0]",
        ),
    ],
)
def test_huge_condition_values_are_a_400_not_a_500(api, tenant, condition, place):
    body = {
        "policyName": "huge",
        "permissions": [
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": ["Change/createGroup"], "resourceNrns": ["*"]}],
                "condition": condition,
            }
        ],
    }
    response = api.call("POST", "/api/v1/policies", body, creds=tenant.root)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["fieldErrors"]] == [place]


@pytest.mark.django_db
def test_a_huge_context_value_in_the_simulator_is_not_a_500(api, tenant):
    doc = [
        {
            "effect": "Allow",
            "targets": [{"product": "SubAccount", "actions": ["*"], "resourceNrns": ["*"]}],
            "condition": {"DateLessThan": {"ncp:CurrentTime": ["2030-01-01T00:00:00Z"]}},
        }
    ]
    body = {
        "policyDocuments": [doc],
        "actions": ["SubAccount:View/getGroupList"],
        "context": {"ncp:CurrentTime": 10**30},
    }
    response = api.call("POST", "/api/v1/policy/simulation", body, creds=tenant.root)
    assert response.status_code == 200
    assert response.json()["results"][0]["decision"] == "implicitDeny"


@pytest.mark.django_db
def test_a_refused_signature_of_a_known_key_is_in_the_audit_trail(api, tenant):
    response = api.call("GET", "/api/v1/groups", creds=Credentials(tenant.root.access_key, "wrong-secret"))
    assert response.status_code == 401
    event = AuditEvent.objects.get(action="Gateway:authenticate")
    assert (event.account_id, event.result, event.detail["reason"]) == (
        tenant.account.pk,
        "Denied",
        "signature does not match",
    )
    assert tenant.root.secret not in str(event.detail) and "wrong-secret" not in str(event.detail)


@pytest.mark.django_db
@pytest.mark.parametrize("uri", ["/api/v1/groups", "/api/v1/credentials", "/api/v1/policies"])
def test_a_body_over_the_upload_limit_is_a_413_not_a_500(api, tenant, uri, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = Group.objects.count()
    response = api.call("POST", uri, {"groupName": "x" * 20_000}, creds=tenant.root)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "errorCode": "100",
        "message": "Bad Request Exception",
        "details": "request body is over 10000 bytes",
    }
    assert Group.objects.count() == before

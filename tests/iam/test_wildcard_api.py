"""Wildcards through the API: shapes that made regexes backtrack for seconds to hours now decide correctly, and
patterns over the documented size are refused at validation with the field that holds them, nothing saved."""

import pytest

from iam.models import Policy
from iam.policy import wildcard
from iam.services.policies import policy_create
from tests.conftest import make_sub_account
from tests.documents import policy_doc

SIMULATION = "/api/v1/policy/simulation"
SUB_ACCOUNTS = "nrn:PUB:IAM::2942:SubAccount/"
SIXTEEN_STARS = SUB_ACCOUNTS + "*" * 16 + "b"  # against a 20-character id: 30 s per decision with the regexes
FIFTY_PAIRS = "*a" * 50 + "*b"  # against 128 'a': 2 ** 50 steps with the regexes


def _simulate(api, creds, documents, resources, context=None, actions=("SubAccount:View/getSubAccountDetail",)):
    body = {"policyDocuments": documents, "actions": list(actions), "resourceNrns": resources}
    if context is not None:
        body["context"] = context
    response = api.call("POST", SIMULATION, body, creds=creds)
    assert response.status_code == 200, response.content
    return [result["decision"] for result in response.json()["results"]]


@pytest.fixture
def reader(tenant):
    """A read-only sub account: the simulator is open to it."""
    return make_sub_account(tenant, "reader", actions=["View*"])[1]


@pytest.mark.django_db
def test_simulating_a_resource_pattern_with_sixteen_stars(api, reader):
    documents = [policy_doc(["View/getSubAccountDetail"], resources=[SIXTEEN_STARS])]
    resources = [SUB_ACCOUNTS + "a" * 20, SUB_ACCOUNTS + "a" * 19 + "b", SUB_ACCOUNTS + "a" * 300, SUB_ACCOUNTS + "b"]
    assert _simulate(api, reader, documents, resources) == ["implicitDeny", "allowed", "implicitDeny", "allowed"]
    # The same as a Deny, next to an Allow on everything.
    documents = [
        policy_doc(["View*"]) + policy_doc(["View/getSubAccountDetail"], effect="Deny", resources=[SIXTEEN_STARS])
    ]
    assert _simulate(api, reader, documents, resources) == ["allowed", "explicitDeny", "allowed", "explicitDeny"]


@pytest.mark.django_db
def test_simulating_a_string_like_condition_with_fifty_star_pairs(api, reader):
    operators = ("StringLike", "StringNotLike", "StringLikeIgnoreCase", "ForAnyValue:StringLike")
    for operator in operators:
        condition = {operator: {"ncp:requestTag/team": [FIFTY_PAIRS]}}
        documents = [policy_doc(["Change/createGroup"], condition=condition)]
        decisions = [
            _simulate(api, reader, documents, ["*"], {"ncp:requestTag/team": value}, ["SubAccount:Change/createGroup"])[
                0
            ]
            for value in ("a" * 128, "a" * 127 + "b", "A" * 127 + "B")
        ]
        expected = {
            "StringLike": ["implicitDeny", "allowed", "implicitDeny"],
            "StringNotLike": ["allowed", "implicitDeny", "allowed"],
            "StringLikeIgnoreCase": ["implicitDeny", "allowed", "allowed"],
            "ForAnyValue:StringLike": ["implicitDeny", "allowed", "implicitDeny"],
        }[operator]
        assert decisions == expected, operator


@pytest.mark.django_db
def test_a_stored_string_like_condition_decides_a_request_with_a_long_tag(api, tenant):
    policy = policy_create(
        account=tenant.account,
        name="pattern",
        permissions=policy_doc(
            ["Change/createGroup"], condition={"StringLike": {"ncp:requestTag/team": [FIFTY_PAIRS]}}
        ),
    )
    _, creds = make_sub_account(tenant, "creator", policy_ids=[policy.policy_id])
    body = {"groupName": "denied", "tags": {"team": "a" * 128}}
    assert api.call("POST", "/api/v1/groups", body, creds=creds).status_code == 401
    body = {"groupName": "allowed", "tags": {"team": "a" * 127 + "b"}}
    assert api.call("POST", "/api/v1/groups", body, creds=creds).status_code == 200


@pytest.mark.django_db
def test_a_stored_wildcard_resource_decides_the_resource_in_the_url(api, tenant):
    target, _ = make_sub_account(tenant, "target")
    target_id = str(target.sub_account_id)
    allow = policy_create(
        account=tenant.account,
        name="last-char",
        permissions=policy_doc(["View/getSubAccountDetail"], resources=[SUB_ACCOUNTS + "*" * 16 + target_id[-1]]),
    )
    never = policy_create(
        account=tenant.account,
        name="never",  # no UUID holds a 'z': with the regexes, C(52, 16) ways to fail
        permissions=policy_doc(["View/getSubAccountDetail"], resources=[SUB_ACCOUNTS + "*" * 16 + "z"]),
    )
    _, allowed = make_sub_account(tenant, "allowed", policy_ids=[allow.policy_id])
    _, refused = make_sub_account(tenant, "refused", policy_ids=[never.policy_id])
    assert api.call("GET", f"/api/v1/sub-accounts/{target_id}", creds=allowed).status_code == 200
    assert api.call("GET", f"/api/v1/sub-accounts/{target_id}", creds=refused).status_code == 401


TOO_LONG_NRN = SUB_ACCOUNTS + "a" * wildcard.MAX_PATTERN_LENGTH + "*"
TOO_MANY_STARS_NRN = SUB_ACCOUNTS + "a*" * (wildcard.MAX_STARS + 1)
TOO_LONG_LIKE = "a" * wildcard.MAX_PATTERN_LENGTH + "*"
TOO_MANY_STARS_LIKE = "*a" * (wildcard.MAX_STARS + 1)
RESOURCE_PLACE = "permissions[0].targets[0].resourceNrns[1]"
CONDITION_PLACE = "permissions[0].condition.StringNotLikeIgnoreCase.ncp:requestTag/team[1]"


def _over_the_limit(pattern, where):
    if where == "resource":
        return policy_doc(["View/getSubAccountDetail"], resources=[SUB_ACCOUNTS + "*", pattern]), RESOURCE_PLACE
    condition = {"StringNotLikeIgnoreCase": {"ncp:requestTag/team": ["ok*", pattern]}}
    return policy_doc(["Change/createGroup"], condition=condition), CONDITION_PLACE


LIMITS = [
    (TOO_LONG_NRN, "resource", f"at most {wildcard.MAX_PATTERN_LENGTH} characters"),
    (TOO_MANY_STARS_NRN, "resource", f"at most {wildcard.MAX_STARS} '*'"),
    (TOO_LONG_LIKE, "condition", f"at most {wildcard.MAX_PATTERN_LENGTH} characters"),
    (TOO_MANY_STARS_LIKE, "condition", f"at most {wildcard.MAX_STARS} '*'"),
]
LIMIT_IDS = ["nrn-length", "nrn-stars", "like-length", "like-stars"]


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "where", "words"), LIMITS, ids=LIMIT_IDS)
def test_creating_a_policy_over_a_wildcard_limit_is_400_and_saves_nothing(api, tenant, pattern, where, words):
    permissions, place = _over_the_limit(pattern, where)
    body = {"policyName": "too-big", "permissions": permissions}
    response = api.call("POST", "/api/v1/policies", body, creds=tenant.root)
    assert response.status_code == 400
    errors = response.json()["fieldErrors"]
    assert [error["field"] for error in errors] == [place]
    assert words in errors[0]["message"]
    assert not Policy.objects.filter(account=tenant.account).exists()
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "where", "words"), LIMITS, ids=LIMIT_IDS)
def test_updating_a_policy_over_a_wildcard_limit_is_400_and_keeps_the_document(api, tenant, pattern, where, words):
    policy = policy_create(account=tenant.account, name="kept", permissions=policy_doc(["View/getGroupList"]))
    before = policy.permissions
    permissions, place = _over_the_limit(pattern, where)
    response = api.call("PUT", f"/api/v1/policies/{policy.policy_id}", {"permissions": permissions}, creds=tenant.root)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["fieldErrors"]] == [place]
    assert words in response.json()["fieldErrors"][0]["message"]
    policy.refresh_from_db()
    assert policy.permissions == before


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "where", "words"), LIMITS, ids=LIMIT_IDS)
def test_validating_a_document_over_a_wildcard_limit_reports_the_place(api, tenant, pattern, where, words):
    permissions, place = _over_the_limit(pattern, where)
    response = api.call("POST", "/api/v1/policy/validation", {"permissions": permissions}, creds=tenant.root)
    # The validator grades documents (200 with findings) and never saves; an over-size pattern is an ERROR there.
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert [(f["severity"], f["location"]) for f in body["findings"]] == [("ERROR", place)]
    assert words in body["findings"][0]["message"]
    assert not Policy.objects.filter(account=tenant.account).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "where", "words"), LIMITS, ids=LIMIT_IDS)
def test_simulating_a_document_over_a_wildcard_limit_is_400(api, reader, pattern, where, words):
    permissions, place = _over_the_limit(pattern, where)
    body = {"policyDocuments": [permissions], "actions": ["SubAccount:View/getSubAccountDetail"]}
    response = api.call("POST", SIMULATION, body, creds=reader)
    assert response.status_code == 400
    errors = response.json()["fieldErrors"]
    assert [error["field"] for error in errors] == ["policyDocuments[0]" + place[len("permissions") :]]
    assert words in errors[0]["message"]


@pytest.mark.django_db
def test_patterns_at_the_limits_are_accepted(api, tenant):
    at_length = SUB_ACCOUNTS + "a" * (wildcard.MAX_PATTERN_LENGTH - len(SUB_ACCOUNTS) - 1) + "*"
    at_stars = SUB_ACCOUNTS + "a*" * wildcard.MAX_STARS
    condition = {"StringLike": {"ncp:requestTag/team": ["*a" * wildcard.MAX_STARS, "a" * 1023 + "*"]}}
    permissions = policy_doc(["View/getSubAccountDetail"], resources=[at_length, at_stars]) + policy_doc(
        ["Change/createGroup"], condition=condition
    )
    response = api.call(
        "POST", "/api/v1/policies", {"policyName": "at-limits", "permissions": permissions}, creds=tenant.root
    )
    assert response.status_code == 200, response.content
    assert Policy.objects.filter(account=tenant.account, name="at-limits").exists()

"""Policy documents without a database: where each problem is, the normalized copy, related actions, warnings."""

import copy

import pytest

from iam.policy import document as policy_document

SA = "SubAccount"
POLICY_NRN = "nrn:PUB:IAM::2942:Policy/abc"


def doc(actions, *, effect="Allow", product=SA, resources=None, condition=None) -> list[dict]:
    target = {"product": product, "actions": list(actions)}
    if resources is not None:
        target["resourceNrns"] = resources
    statement = {"effect": effect, "targets": [target]}
    if condition is not None:
        statement["condition"] = condition
    return [statement]


def places(permissions) -> list[str]:
    return [place for place, _ in policy_document.problems(permissions)]


def test_a_valid_document_has_no_problems():
    permissions = doc(["View/getSubAccountList", "View*", "Change*", "*"], resources=["*", POLICY_NRN])
    permissions += doc(["Change/createTrustAnchor"], product="ExternalAccess", effect="Deny")
    assert policy_document.problems(permissions) == []


@pytest.mark.parametrize("permissions", [None, [], {}, "Allow"])
def test_the_document_must_be_a_non_empty_list(permissions):
    assert policy_document.problems(permissions) == [("permissions", "must be a non-empty list of statements")]


def test_too_many_statements():
    assert places(doc(["View*"]) * (policy_document.MAX_STATEMENTS + 1)) == ["permissions"]


def test_unknown_action_is_named_by_its_index():
    found = policy_document.problems(doc(["View/getSubAccountList", "View/nope", "Change*", 7]))
    assert found == [
        ("permissions[0].targets[0].actions[1]", "unknown action 'View/nope' for product SubAccount"),
        ("permissions[0].targets[0].actions[3]", "unknown action '7' for product SubAccount"),
    ]


def test_an_action_of_another_product_is_unknown_here():
    # Change/createTrustAnchor exists, but only in ExternalAccess.
    assert places(doc(["Change/createTrustAnchor"])) == ["permissions[0].targets[0].actions[0]"]


def test_unknown_product_is_named_and_its_actions_are_not_judged():
    found = policy_document.problems(doc(["View/nope"], product="Server"))
    assert [p for p, _ in found] == ["permissions[0].targets[0].product"]
    assert "unknown product 'Server'" in found[0][1]


def test_malformed_nrn_is_named_by_its_index():
    found = policy_document.problems(doc(["View*"], resources=["*", POLICY_NRN, "nrn:bad"]))
    assert found == [("permissions[0].targets[0].resourceNrns[2]", "malformed NRN 'nrn:bad'")]


@pytest.mark.parametrize("resources", [[], "*", ["*"] * (policy_document.MAX_ITEMS + 1)])
def test_resource_list_shape(resources):
    assert places(doc(["View*"], resources=resources)) == ["permissions[0].targets[0].resourceNrns"]


@pytest.mark.parametrize("effect", ["allow", "Permit", None, ""])
def test_effect_must_be_allow_or_deny(effect):
    assert places(doc(["View*"], effect=effect)) == ["permissions[0].effect"]


def test_missing_effect_is_reported():
    assert places([{"targets": doc(["View*"])[0]["targets"]}]) == ["permissions[0].effect"]


@pytest.mark.parametrize("actions", [[], "View*", None, ["View*"] * (policy_document.MAX_ITEMS + 1)])
def test_action_list_shape(actions):
    permissions = [{"effect": "Allow", "targets": [{"product": SA, "actions": actions}]}]
    assert places(permissions) == ["permissions[0].targets[0].actions"]


@pytest.mark.parametrize("targets", [None, [], "x", [{}] * (policy_document.MAX_TARGETS + 1)])
def test_targets_shape(targets):
    assert places([{"effect": "Allow", "targets": targets}]) == ["permissions[0].targets"]


def test_unknown_members_and_non_objects():
    permissions = [
        {"effect": "Allow", "targets": [{"product": SA, "actions": ["View*"], "resource": "*"}], "Sid": "x"},
        "not an object",
        {"effect": "Deny", "targets": ["not an object"]},
    ]
    found = policy_document.problems(permissions)
    assert found == [
        ("permissions[0]", "unknown members: Sid"),
        ("permissions[0].targets[0]", "unknown members: resource"),
        ("permissions[1]", "must be an object"),
        ("permissions[2].targets[0]", "must be an object"),
    ]


def test_problems_in_several_statements_are_all_reported():
    permissions = doc(["View/nope"]) + doc(["View*"], effect="Maybe") + doc(["View*"], resources=["x"])
    assert places(permissions) == [
        "permissions[0].targets[0].actions[0]",
        "permissions[1].effect",
        "permissions[2].targets[0].resourceNrns[0]",
    ]


def test_condition_shape():
    assert policy_document.problems(doc(["View*"], condition={"StringEquals": {"ncp:resourceTag/team": ["a"]}})) == []
    assert places(doc(["View*"], condition=["x"])) == ["permissions[0].condition"]
    assert places(doc(["View*"], condition={"StringEquals": {}})) == ["permissions[0].condition.StringEquals"]
    assert places(doc(["View*"], condition={"StringEquals": {"k": {"nested": 1}}})) == [
        "permissions[0].condition.StringEquals.k"
    ]


def test_normalize_defaults_resources_and_drops_an_empty_condition_without_touching_the_input():
    original = doc(["View/getSubAccountList"], condition={}) + doc(["View*"], effect="Deny", resources=[POLICY_NRN])
    kept = copy.deepcopy(original)
    assert policy_document.normalize(original) == [
        {"effect": "Allow", "targets": [{"product": SA, "actions": ["View/getSubAccountList"], "resourceNrns": ["*"]}]},
        {"effect": "Deny", "targets": [{"product": SA, "actions": ["View*"], "resourceNrns": [POLICY_NRN]}]},
    ]
    assert original == kept


def test_normalize_keeps_a_condition():
    condition = {"StringEquals": {"ncp:resourceTag/team": ["a"]}}
    assert policy_document.normalize(doc(["View*"], condition=condition))[0]["condition"] == condition


def _actions(permissions, statement=0, target=0) -> list[str]:
    return permissions[statement]["targets"][target]["actions"]


def test_related_actions_are_added_after_the_written_ones():
    expanded = policy_document.add_related(policy_document.normalize(doc(["Change/addPolicyToSubAccount"])))
    assert _actions(expanded) == [
        "Change/addPolicyToSubAccount",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
        "View/getPolicyList",
        "View/getPolicyDetail",
    ]


def test_related_actions_are_not_duplicated_and_patterns_add_nothing():
    expanded = policy_document.add_related(doc(["View/getSubAccountList", "View/getSubAccountDetail", "View*"]))
    assert _actions(expanded) == ["View/getSubAccountList", "View/getSubAccountDetail", "View*"]


def test_related_actions_of_external_access_use_their_own_product():
    expanded = policy_document.add_related(doc(["View/getProfileDetail"], product="ExternalAccess"))
    assert _actions(expanded) == ["View/getProfileDetail", "View/getProfileList"]


def test_deny_statements_are_not_widened_by_related_actions():
    # Denying deletePolicy must not also deny viewing policies.
    expanded = policy_document.add_related(doc(["Change/deletePolicy"], effect="Deny"))
    assert _actions(expanded) == ["Change/deletePolicy"]


def test_on_update_a_removed_related_action_stays_removed():
    previous = policy_document.add_related(doc(["Change/addPolicyToSubAccount"]))
    edited = doc(["Change/addPolicyToSubAccount", "View/getSubAccountDetail", "View/getSubAccountList"])
    assert _actions(policy_document.add_related(edited, previous=previous)) == [
        "Change/addPolicyToSubAccount",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
    ]


def test_on_update_a_new_action_brings_its_related_ones_even_ones_removed_before():
    previous = doc(["Change/addPolicyToSubAccount", "View/getSubAccountList"])
    edited = doc(["Change/addPolicyToSubAccount", "View/getSubAccountList", "Change/deletePolicy"])
    assert _actions(policy_document.add_related(edited, previous=previous)) == [
        "Change/addPolicyToSubAccount",
        "View/getSubAccountList",
        "Change/deletePolicy",
        "View/getPolicyList",
        "View/getPolicyDetail",
    ]


def test_on_update_an_action_only_denied_before_counts_as_new_when_allowed():
    previous = doc(["Change/deletePolicy"], effect="Deny")
    expanded = policy_document.add_related(doc(["Change/deletePolicy"]), previous=previous)
    assert _actions(expanded) == ["Change/deletePolicy", "View/getPolicyList", "View/getPolicyDetail"]


def test_warning_for_everything_on_everything_without_condition():
    assert policy_document.warnings(policy_document.normalize(doc(["View*"]) + doc(["*"]))) == [
        {
            "severity": "SECURITY_WARNING",
            "location": "permissions[1].targets[0]",
            "message": "allows every action on every resource without a condition",
        }
    ]


@pytest.mark.parametrize(
    "permissions",
    [
        doc(["*"], resources=[POLICY_NRN]),
        doc(["*"], effect="Deny"),
        doc(["*"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}}),
        doc(["View*", "Change*"]),
    ],
)
def test_no_warning_when_narrowed(permissions):
    assert policy_document.warnings(policy_document.normalize(permissions)) == []


# Conditions and graded findings (authorization engine) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "place", "text"),
    [
        (
            {"StringEqualz": {"ncp:principalName": ["a"]}},
            "permissions[0].condition.StringEqualz",
            "unknown condition operator",
        ),
        (
            {"StringEquals": {"ncp:favouriteColour": ["a"]}},
            "permissions[0].condition.StringEquals.ncp:favouriteColour",
            "unknown condition key",
        ),
        (
            {"NumericLessThan": {"ncp:principalName": ["ten"]}},
            "permissions[0].condition.NumericLessThan.ncp:principalName[0]",
            "not a number",
        ),
        (
            {"DateLessThan": {"ncp:CurrentTime": ["tomorrow"]}},
            "permissions[0].condition.DateLessThan.ncp:CurrentTime[0]",
            "not a date",
        ),
        (
            {"IpAddress": {"ncp:SourceIp": ["10.0.0.300/8"]}},
            "permissions[0].condition.IpAddress.ncp:SourceIp[0]",
            "not an IP",
        ),
        (
            {"Bool": {"ncp:MultiFactorAuthPresent": ["yes"]}},
            "permissions[0].condition.Bool.ncp:MultiFactorAuthPresent[0]",
            "not true or false",
        ),
        (
            {"StringEquals": {"ncp:principalName": ["${ncp:nope}"]}},
            "permissions[0].condition.StringEquals.ncp:principalName[0]",
            "unknown variable",
        ),
        (
            {"StringEquals": {"ncp:principalName": []}},
            "permissions[0].condition.StringEquals.ncp:principalName",
            "non-empty",
        ),
        # View/getSubAccountList takes no request tag: the key applies to none of the statement's actions.
        (
            {"StringEquals": {"ncp:requestTag/env": ["a"]}},
            "permissions[0].condition.StringEquals.ncp:requestTag/env",
            "applies to none",
        ),
    ],
)
def test_condition_problems_name_the_exact_place(condition, place, text):
    found = policy_document.problems(doc(["View/getSubAccountList"], condition=condition))
    assert [p for p, _ in found] == [place]
    assert text in found[0][1]


def test_conditions_that_fit_are_accepted():
    for condition in (
        {"StringEquals": {"ncp:principalName": ["a", "${ncp:principalName}"]}},
        {"ForAllValues:StringLike": {"ncp:TagKeys": ["team*"]}, "Null": {"ncp:requestTag/team": "false"}},
        {
            "IpAddressIfExists": {"ncp:SourceIp": "10.0.0.0/8"},
            "DateGreaterThan": {"ncp:CurrentTime": "2026-01-01T00:00:00Z"},
        },
    ):
        assert policy_document.problems(doc(["Change/createSubAccount"], condition=condition)) == []


@pytest.mark.parametrize(
    "pattern",
    ["nrn:PUB:IAM::2942:SubAccount/*", "nrn:PUB:IAM::2942:*", "nrn:PUB:IAM::2942:SubAccount/${ncp:principalName}"],
)
def test_wildcard_and_variable_nrns_are_accepted(pattern):
    assert policy_document.problems(doc(["View*"], resources=[pattern])) == []


def test_findings_grade_errors_first():
    assert policy_document.findings(doc(["View/nope"])) == [
        {
            "severity": "ERROR",
            "location": "permissions[0].targets[0].actions[0]",
            "message": "unknown action 'View/nope' for product SubAccount",
        }
    ]


def test_findings_suggest_removing_duplicates_and_covered_actions():
    found = policy_document.findings(doc(["View*", "View/getGroupList", "View/getGroupList"]))
    assert [(f["severity"], f["message"]) for f in found] == [
        ("SUGGESTION", "listed more than once: View/getGroupList"),
        ("SUGGESTION", "already covered by View*: View/getGroupList, View/getGroupList"),
    ]


def test_findings_warn_when_a_resourceless_action_is_given_a_specific_nrn():
    found = policy_document.findings(doc(["View/getPolicyList"], resources=[POLICY_NRN]))
    assert found == [
        {
            "severity": "WARNING",
            "location": "permissions[0].targets[0].resourceNrns",
            "message": "View/getPolicyList have no resource type and are only allowed on '*'",
        }
    ]

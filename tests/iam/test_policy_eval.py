"""The Sub Account core's evaluator: action patterns, resources, Deny over Allow, nothing means no."""

import pytest

from iam.policy_eval import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, action_matches, evaluate

SUB = "nrn:PUB:IAM::2942:SubAccount/11111111-1111-1111-1111-111111111111"
OTHER = "nrn:PUB:IAM::2942:SubAccount/22222222-2222-2222-2222-222222222222"


def statement(effect="Allow", actions=("*",), resources=("*",), product="SubAccount", condition=None):
    s = {"effect": effect, "targets": [{"product": product, "actions": list(actions), "resourceNrns": list(resources)}]}
    if condition:
        s["condition"] = condition
    return s


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "View/getSubAccountList", True),
        ("*", "Change/createPolicy", True),
        ("View*", "View/getSubAccountList", True),
        ("View*", "Change/createPolicy", False),
        ("Change*", "Change/createPolicy", True),
        ("Change*", "View/getPolicyList", False),
        ("View/getSubAccountList", "View/getSubAccountList", True),
        ("View/getSubAccountList", "View/getSubAccountDetail", False),
        ("view/getSubAccountList", "View/getSubAccountList", False),
    ],
)
def test_action_patterns(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_no_statement_is_an_implicit_deny():
    assert evaluate([], Request("SubAccount", "View/getSubAccountList")) == IMPLICIT_DENY


def test_exact_action_on_any_resource():
    statements = [statement(actions=["View/getSubAccountDetail"])]
    assert evaluate(statements, Request("SubAccount", "View/getSubAccountDetail", SUB)) == ALLOWED
    assert evaluate(statements, Request("SubAccount", "Change/updateSubAccount", SUB)) == IMPLICIT_DENY


def test_product_must_match():
    statements = [statement(product="ExternalAccess")]
    assert evaluate(statements, Request("SubAccount", "View/getSubAccountList")) == IMPLICIT_DENY
    assert evaluate([statement(product="*")], Request("SubAccount", "View/getSubAccountList")) == ALLOWED


def test_exact_resource_nrn():
    statements = [statement(actions=["View/getSubAccountDetail"], resources=[SUB])]
    assert evaluate(statements, Request("SubAccount", "View/getSubAccountDetail", SUB)) == ALLOWED
    assert evaluate(statements, Request("SubAccount", "View/getSubAccountDetail", OTHER)) == IMPLICIT_DENY


def test_action_without_resource_type_needs_a_star_resource():
    only_one = [statement(actions=["View/getSubAccountList"], resources=[SUB])]
    assert evaluate(only_one, Request("SubAccount", "View/getSubAccountList", None)) == IMPLICIT_DENY
    assert (
        evaluate([statement(actions=["View/getSubAccountList"])], Request("SubAccount", "View/getSubAccountList"))
        == ALLOWED
    )


def test_deny_beats_allow_in_any_order():
    allow = statement(actions=["*"])
    deny = statement(effect="Deny", actions=["Change/deleteSubAccount"], resources=[SUB])
    request = Request("SubAccount", "Change/deleteSubAccount", SUB)
    assert evaluate([allow, deny], request) == EXPLICIT_DENY
    assert evaluate([deny, allow], request) == EXPLICIT_DENY
    assert evaluate([allow, deny], Request("SubAccount", "Change/deleteSubAccount", OTHER)) == ALLOWED


def test_conditions_fail_closed_until_the_engine_evaluates_them():
    conditional_allow = statement(condition={"StringEquals": {"ncp:resourceTag/team": ["a"]}})
    conditional_deny = statement(effect="Deny", condition={"StringEquals": {"ncp:resourceTag/team": ["a"]}})
    request = Request("SubAccount", "View/getSubAccountList")
    assert evaluate([conditional_allow], request) == IMPLICIT_DENY
    assert evaluate([statement(), conditional_deny], request) == EXPLICIT_DENY


def test_missing_resource_list_means_every_resource():
    statements = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["*"]}]}]
    assert evaluate(statements, Request("SubAccount", "View/getSubAccountDetail", SUB)) == ALLOWED

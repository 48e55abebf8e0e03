"""The compiled engine against the plain reference evaluator (property-based), plus hand-picked cases."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iam.policy import catalog
from iam.policy.engine import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, CompiledPolicies, Request
from tests.iam import reference_eval

ACTIONS = [a.name for a in catalog.actions_for("SubAccount")][:12] + ["Change/switchRole"]
SUB_A = "nrn:PUB:IAM::2942:SubAccount/a"
SUB_B = "nrn:PUB:IAM::2942:SubAccount/b"
ROLE = "nrn:PUB:IAM::2942:Role/r1"
RESOURCES = [SUB_A, SUB_B, ROLE, None]
RESOURCE_PATTERNS = [
    "*",
    SUB_A,
    SUB_B,
    "nrn:PUB:IAM::2942:SubAccount/*",
    "nrn:PUB:IAM::2942:*",
    "nrn:PUB:IAM::2942:SubAccount/${ncp:principalName}",
    ROLE,
    "nrn:PUB:IAM::2942:SubAccount/?",
    "nrn:PUB:IAM::2942:*Account/*",
    "*:Role/r?",
    "*a",
]
KEYS = [
    "ncp:principalName",
    "ncp:resourceTag/team",
    "ncp:SourceIp",
    "ncp:TagKeys",
    "ncp:requestTag/env",
    "ncp:CurrentTime",
]
OPERATORS = [
    "StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "StringEqualsIfExists",
    "ForAllValues:StringEquals", "ForAnyValue:StringEquals", "Null", "IpAddress", "NotIpAddress", "NumericLessThan",
    "DateLessThan", "Bool", "StringLikeIgnoreCase", "ForAnyValue:StringLike", "ForAllValues:StringNotLike",
]  # fmt: skip
STRING_VALUES = [
    "a", "b", "A", "a*", "${ncp:principalName}", "10.0.0.0/8", "true", "5", "2027-01-01T00:00:00Z", "*a*", "?", "*",
]  # fmt: skip


def _values_for(operator):
    if operator == "Null":
        return st.sampled_from([["true"], ["false"]])
    if operator in ("IpAddress", "NotIpAddress"):
        return st.lists(st.sampled_from(["10.0.0.0/8", "192.168.0.1", "::1"]), min_size=1, max_size=2)
    if operator == "NumericLessThan":
        return st.lists(st.sampled_from(["5", "10"]), min_size=1, max_size=2)
    if operator == "DateLessThan":
        return st.lists(st.sampled_from(["2027-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]), min_size=1, max_size=2)
    if operator == "Bool":
        return st.sampled_from([["true"], ["false"]])
    return st.lists(st.sampled_from(STRING_VALUES), min_size=1, max_size=3)


conditions = st.one_of(
    st.none(),
    st.sampled_from(OPERATORS).flatmap(
        lambda op: st.dictionaries(st.sampled_from(KEYS), _values_for(op), min_size=1, max_size=2).map(
            lambda c: {op: c}
        )
    ),
)
targets = st.fixed_dictionaries(
    {
        "product": st.sampled_from(["SubAccount", "SubAccount", "*", "ExternalAccess"]),
        "actions": st.lists(st.sampled_from(ACTIONS + ["*", "View*", "Change*"]), min_size=1, max_size=4),
        "resourceNrns": st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3),
    }
)
statements = st.builds(
    lambda effect, ts, cond: {"effect": effect, "targets": ts, **({"condition": cond} if cond else {})},
    st.sampled_from(["Allow", "Allow", "Deny"]),
    st.lists(targets, min_size=1, max_size=2),
    conditions,
)
policies = st.lists(st.lists(statements, min_size=1, max_size=4), min_size=0, max_size=4).map(
    lambda docs: [(f"p{i}", doc) for i, doc in enumerate(docs)]
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "ncp:principalName": st.sampled_from(["a", "b"]),
        "ncp:resourceTag/team": st.sampled_from(["a", "A", "b"]),
        "ncp:SourceIp": st.sampled_from(["10.1.2.3", "192.168.0.1", "::1"]),
        "ncp:TagKeys": st.lists(st.sampled_from(["a", "b", "team"]), max_size=3),
        "ncp:requestTag/env": st.sampled_from(["a", "b"]),
        "ncp:CurrentTime": st.sampled_from(["2026-11-28T00:00:00Z", "2028-01-01T00:00:00Z"]),
    },
)
requests = st.builds(Request, st.just("SubAccount"), st.sampled_from(ACTIONS), st.sampled_from(RESOURCES))


# ENGINE_EXAMPLES=5000 for a deeper run than the suite's default.
@settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "600")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(policies=policies, request=requests, context=contexts)
def test_engine_agrees_with_the_reference(policies, request, context):
    compiled = CompiledPolicies(policies)
    expected = reference_eval.evaluate(policies, request, context)
    assert compiled.decide(request, context) == expected
    assert compiled.explain(request, context).decision == expected


@settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "600")) // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(policies=policies, asked=st.lists(st.tuples(requests, contexts, st.booleans()), min_size=2, max_size=8))
def test_actions_built_on_first_use_in_any_order_agree_with_the_reference(policies, asked):
    # One compiled principal asked a run of requests, each action's decider built when it is first decided (or
    # explained first: explanations build their statements without building the decider).
    compiled = CompiledPolicies(policies)
    for request, context, explain_first in asked:
        expected = reference_eval.evaluate(policies, request, context)
        if explain_first:
            assert compiled.explain(request, context).decision == expected
        assert compiled.decide(request, context) == expected
        assert compiled.explain(request, context).decision == expected


def _doc(effect, actions, resources=("*",), condition=None, product="SubAccount"):
    statement = {
        "effect": effect,
        "targets": [{"product": product, "actions": list(actions), "resourceNrns": list(resources)}],
    }
    if condition:
        statement["condition"] = condition
    return [statement]


def test_deny_across_policies_beats_allow():
    compiled = CompiledPolicies(
        [("direct", _doc("Allow", ["*"])), ("group", _doc("Deny", ["Change/deleteSubAccount"], [SUB_A]))]
    )
    assert compiled.decide(Request("SubAccount", "Change/deleteSubAccount", SUB_A)) == EXPLICIT_DENY
    assert compiled.decide(Request("SubAccount", "Change/deleteSubAccount", SUB_B)) == ALLOWED


def test_a_condition_key_the_catalog_does_not_list_cannot_allow():
    # createSubAccountAccessKey lists no ncp:resourceTag key; updateSubAccount does.
    cond = {"StringEquals": {"ncp:resourceTag/team": ["a"]}}
    compiled = CompiledPolicies([("p", _doc("Allow", ["Change*"], condition=cond))])
    context = {"ncp:resourceTag/team": "a"}
    assert compiled.decide(Request("SubAccount", "Change/updateSubAccount", SUB_A), context) == ALLOWED
    assert compiled.decide(Request("SubAccount", "Change/createSubAccountAccessKey", SUB_A), context) == IMPLICIT_DENY


def test_global_keys_apply_to_every_action():
    cond = {"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}}
    compiled = CompiledPolicies([("p", _doc("Allow", ["*"], condition=cond))])
    request = Request("SubAccount", "Change/createSubAccountAccessKey", SUB_A)
    assert compiled.decide(request, {"ncp:SourceIp": "10.0.0.7"}) == ALLOWED
    assert compiled.decide(request, {"ncp:SourceIp": "11.0.0.7"}) == IMPLICIT_DENY


def test_dynamic_values_in_resource_nrns():
    compiled = CompiledPolicies(
        [("p", _doc("Allow", ["View/getSubAccountDetail"], ["nrn:PUB:IAM::2942:SubAccount/${ncp:principalName}"]))]
    )
    request = Request("SubAccount", "View/getSubAccountDetail", SUB_A)
    assert compiled.decide(request, {"ncp:principalName": "a"}) == ALLOWED
    assert compiled.decide(request, {"ncp:principalName": "b"}) == IMPLICIT_DENY
    assert compiled.decide(request, {}) == IMPLICIT_DENY


def test_wildcard_nrns():
    compiled = CompiledPolicies([("p", _doc("Allow", ["View*"], ["nrn:PUB:IAM::2942:SubAccount/*"]))])
    assert compiled.decide(Request("SubAccount", "View/getSubAccountDetail", SUB_A)) == ALLOWED
    assert compiled.decide(Request("SubAccount", "View/getRoleDetail", ROLE)) == IMPLICIT_DENY
    assert compiled.decide(Request("SubAccount", "View/getSubAccountList", None)) == IMPLICIT_DENY


def test_explanations_name_statements_and_missing_keys():
    cond = {"StringEquals": {"ncp:resourceTag/team": ["a"]}}
    compiled = CompiledPolicies(
        [
            ("p1", _doc("Allow", ["View*"])),
            ("p2", _doc("Allow", ["View*"], condition=cond) + _doc("Deny", ["View/getRoleList"])),
        ]
    )
    explanation = compiled.explain(Request("SubAccount", "View/getSubAccountDetail", SUB_A))
    assert explanation.decision == ALLOWED
    assert explanation.matched == [{"policyId": "p1", "permissionIndex": 0, "effect": "Allow"}]
    assert explanation.missing_context_keys == ["ncp:resourceTag/team"]
    denied = compiled.explain(Request("SubAccount", "View/getRoleList"))
    assert denied.decision == EXPLICIT_DENY
    assert {"policyId": "p2", "permissionIndex": 1, "effect": "Deny"} in denied.matched


def test_an_action_the_catalog_does_not_know_matches_only_by_name_or_pattern():
    cond = {"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}}
    compiled = CompiledPolicies(
        [
            (
                "p",
                _doc("Allow", ["View/getSomethingNew"])
                + _doc("Allow", ["Change*"], condition=cond)
                + _doc("Deny", ["View*"], [SUB_B]),
            )
        ]
    )
    assert compiled.decide(Request("SubAccount", "View/getSomethingNew", SUB_A)) == ALLOWED
    assert compiled.decide(Request("SubAccount", "View/getSomethingNew", SUB_B)) == EXPLICIT_DENY
    # No condition key applies to an unknown action, so the conditional Allow cannot allow it.
    assert (
        compiled.decide(Request("SubAccount", "Change/somethingNew", SUB_A), {"ncp:SourceIp": "10.0.0.1"})
        == IMPLICIT_DENY
    )


def test_no_statement_is_an_implicit_deny():
    assert CompiledPolicies([]).decide(Request("SubAccount", "View/getSubAccountList")) == IMPLICIT_DENY


def test_deny_beats_allow_in_either_order():
    allow, deny = _doc("Allow", ["*"]), _doc("Deny", ["Change/deleteSubAccount"], [SUB_A])
    request = Request("SubAccount", "Change/deleteSubAccount", SUB_A)
    assert CompiledPolicies([("p", allow + deny)]).decide(request) == EXPLICIT_DENY
    assert CompiledPolicies([("p", deny + allow)]).decide(request) == EXPLICIT_DENY


def test_an_action_without_a_resource_type_is_allowed_only_on_star():
    only_one = CompiledPolicies([("p", _doc("Allow", ["View/getSubAccountList"], [SUB_A]))])
    assert only_one.decide(Request("SubAccount", "View/getSubAccountList", None)) == IMPLICIT_DENY
    everywhere = CompiledPolicies([("p", _doc("Allow", ["View/getSubAccountList"]))])
    assert everywhere.decide(Request("SubAccount", "View/getSubAccountList", None)) == ALLOWED


def test_a_target_without_resource_nrns_means_every_resource():
    compiled = CompiledPolicies(
        [("p", [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["*"]}]}])]
    )
    assert compiled.decide(Request("SubAccount", "View/getSubAccountDetail", SUB_A)) == ALLOWED


def test_an_action_first_decided_after_others_decides_and_explains_like_a_prepared_principal():
    team = {"StringEquals": {"ncp:resourceTag/team": ["a"]}}
    policies = [
        ("p1", _doc("Allow", ["View*"]) + _doc("Deny", ["Change/updateSubAccount"], [SUB_B])),
        ("p2", _doc("Allow", ["Change/updateSubAccount"], condition=team) + _doc("Deny", ["View/getRoleList"])),
    ]
    lazy, prepared = CompiledPolicies(policies), CompiledPolicies(policies).prepare()
    update = "Change/updateSubAccount"
    assert lazy.decide(Request("SubAccount", "View/getRoleList")) == EXPLICIT_DENY
    assert lazy.decide(Request("SubAccount", "View/getSubAccountDetail", SUB_A)) == ALLOWED
    assert update not in lazy._deciders["SubAccount"]
    # Explained before it is ever decided: the statements and the missing key, and still no decider built.
    explanation = lazy.explain(Request("SubAccount", update, SUB_A))
    assert (explanation.decision, explanation.matched, explanation.missing_context_keys) == (
        IMPLICIT_DENY,
        [],
        ["ncp:resourceTag/team"],
    )
    assert update not in lazy._deciders["SubAccount"]
    for resource, context, expected in (
        (SUB_A, {"ncp:resourceTag/team": "a"}, ALLOWED),
        (SUB_A, {"ncp:resourceTag/team": "b"}, IMPLICIT_DENY),
        (SUB_A, {}, IMPLICIT_DENY),
        (SUB_B, {"ncp:resourceTag/team": "a"}, EXPLICIT_DENY),
    ):
        request = Request("SubAccount", update, resource)
        assert lazy.decide(request, context) == prepared.decide(request, context) == expected
        assert lazy.explain(request, context).matched == prepared.explain(request, context).matched
    assert lazy._deciders["SubAccount"][update] is prepared._deciders["SubAccount"][update]
    assert lazy.explain(Request("SubAccount", update, SUB_B), {"ncp:resourceTag/team": "a"}).matched == [
        {"policyId": "p1", "permissionIndex": 1, "effect": "Deny"},
        {"policyId": "p2", "permissionIndex": 0, "effect": "Allow"},
    ]

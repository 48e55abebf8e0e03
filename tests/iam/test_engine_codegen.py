"""The engine's generated deciders: policy text is data, never code; shared compiled forms never mix up policies."""

import re
import threading

import pytest

from iam.policy import catalog, engine
from iam.policy.engine import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, CompiledPolicies, Request
from tests.iam import reference_eval

SUB_A = "nrn:PUB:IAM::2942:SubAccount/a"
ACTION = "Change/updateSubAccount"  # lists ncp:resourceTag/* keys, so conditional Allows apply to it

HOSTILE = [
    '"); import os; ("',
    "__import__('os').system('false')",
    "'); raise SystemExit; ('",
    "a0",
    "t[1]",
    "resource",
    "context",
    "EXPLICIT_DENY",
    "return ALLOWED",
    "\n        return ALLOWED\n",
    "{resource}",
    '${ncp:principalName}"); import os; ("',
    "nrn:PUB:IAM::2942:SubAccount/*'); import os; ('",
    "nrn:PUB:IAM::2942:SubAccount/?\\",
    "[a-z]*",
    "(?:.*)",
]


def _statement(effect, resources=("*",), condition=None, actions=(ACTION,)):
    statement = {
        "effect": effect,
        "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": list(resources)}],
    }
    if condition:
        statement["condition"] = condition
    return statement


def _hostile_policies(values=HOSTILE):
    statements = []
    for value in values:
        statements.append(_statement("Deny", [value, f"nrn:PUB:IAM::2942:SubAccount/{value}*"]))
        statements.append(_statement("Deny", ["*"], {"StringEquals": {"ncp:resourceTag/team": [value]}}))
        statements.append(_statement("Deny", [value], {"StringLike": {"ncp:resourceTag/team": [value + "-deny*"]}}))
        statements.append(_statement("Allow", [value], {"StringNotEquals": {"ncp:resourceTag/env": [value]}}))
        statements.append(_statement("Allow", ["*"], {"StringEqualsIgnoreCase": {"ncp:resourceTag/" + value: [value]}}))
        statements.append(
            _statement(
                "Deny",
                ["*"],
                {"Bool": {"ncp:resourceTag/b" + value: "true"}, "StringNotLike": {"ncp:resourceTag/" + value: [value]}},
            )
        )
    statements.append(_statement("Allow", ["nrn:PUB:IAM::2942:SubAccount/*"]))
    return [("p'); import os; ('", statements)]


@pytest.fixture
def generated_sources(monkeypatch):
    """Every source the engine compiles from here on (caches emptied first, so nothing is reused)."""
    sources = []
    original = engine._source

    def recording(shape):
        source = original(shape)
        sources.append(source)
        return source

    monkeypatch.setattr(engine, "_source", recording)
    engine._factory.cache_clear()
    engine._shared_deciders.clear()
    engine._shared_conditions.clear()
    engine._shared_matchers.clear()
    yield sources
    engine._factory.cache_clear()
    engine._shared_deciders.clear()


def test_policy_text_never_reaches_the_generated_source(generated_sources):
    for value in HOSTILE:  # one principal per value keeps each entry under the generic decider's limit
        compiled = CompiledPolicies(_hostile_policies([value]))
        assert compiled.decide(Request("SubAccount", ACTION, SUB_A)) in (ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY)
    assert len(generated_sources) >= 3
    for source in generated_sources:
        for value in HOSTILE:
            assert value not in source or value in (
                "a0",
                "t[1]",
                "resource",
                "context",
                "EXPLICIT_DENY",
                "return ALLOWED",
            )
        assert "import" not in source and "os" not in re.findall(r"[A-Za-z_]+", source)
        # Only the fixed vocabulary: the parameters, the decider's values by position, the outcome constants.
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
        assert words <= {"def", "decide", "t", "resource", "context", "if", "in", "is", "not", "None", "or", "and",
                         "return", "EXPLICIT_DENY", "ALLOWED", "IMPLICIT_DENY", "else", "v", "get", "MISSING",
                         "__class__", "str", "True", "False", "startswith"}  # fmt: skip
        assert not re.search(r"['\"\\#;]", source)  # no string literal, comment or second statement on a line
    # Conditions were tested inline (their keys and values read from the decider too), not only called.
    assert any("context.get(t[" in source for source in generated_sources)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_plain_data(value):
    policies = _hostile_policies()
    compiled = CompiledPolicies(policies)
    contexts = [
        {},
        {"ncp:resourceTag/team": value},
        {"ncp:resourceTag/team": value + "-deny-x"},
        {"ncp:resourceTag/env": value},
        {"ncp:resourceTag/" + value: value.upper()},
        {"ncp:principalName": value},
    ]
    for resource in [value, f"nrn:PUB:IAM::2942:SubAccount/{value}", SUB_A, None, "nrn:PUB:IAM::2942:SubAccount/x"]:
        for context in contexts:
            request = Request("SubAccount", ACTION, resource)
            assert compiled.decide(request, context) == reference_eval.evaluate(policies, request, context), (
                resource,
                context,
            )


def test_a_hostile_resource_is_matched_exactly_not_evaluated():
    value = "__import__('os').system('false')"
    compiled = CompiledPolicies([("p", [_statement("Deny", [value]), _statement("Allow")])])
    assert compiled.decide(Request("SubAccount", ACTION, value)) == EXPLICIT_DENY
    assert compiled.decide(Request("SubAccount", ACTION, SUB_A)) == ALLOWED


@pytest.mark.parametrize(
    "shape",
    [
        (("in", "allowed'); import os; ('"),),
        (("if", EXPLICIT_DENY, "1); import os; (1"),),
        (("rest", EXPLICIT_DENY, ("in); import os; (",), True),),
        (("end", ALLOWED, "x"),),
        (("exec", ALLOWED),),
        (("if", EXPLICIT_DENY, 10**6),),
        (("if", EXPLICIT_DENY, (("import os",),)),),
        (("if", EXPLICIT_DENY, (("in", "x"),)),),
        (("if", EXPLICIT_DENY, ((("bool", "__import__('os')", True),),)),),
        (("if", EXPLICIT_DENY, ((("bool", 1, 0),),)),),
        (("if", EXPLICIT_DENY, ("call",) * 1000),),
        (("rest", EXPLICIT_DENY, ("in",), ("not in; import os",)),),
    ],
)
def test_a_shape_outside_the_fixed_vocabulary_is_refused(shape):
    with pytest.raises((ValueError, KeyError)):
        engine._source(shape)


def test_principals_with_the_same_statements_share_deciders_and_different_ones_do_not():
    deny_a = _statement("Deny", [SUB_A])
    deny_b = _statement("Deny", ["nrn:PUB:IAM::2942:SubAccount/b"])
    first = CompiledPolicies([("p1", [deny_a, _statement("Allow")])]).prepare()
    second = CompiledPolicies([("p2", [_statement("Allow"), deny_a])]).prepare()
    third = CompiledPolicies([("p3", [deny_b, _statement("Allow")])]).prepare()
    assert first._deciders["SubAccount"][ACTION] is second._deciders["SubAccount"][ACTION]
    assert first._deciders["SubAccount"][ACTION] is not third._deciders["SubAccount"][ACTION]
    assert third.decide(Request("SubAccount", ACTION, SUB_A)) == ALLOWED
    assert first.decide(Request("SubAccount", ACTION, SUB_A)) == EXPLICIT_DENY


def test_conditions_that_compile_differently_are_not_shared():
    # 1, 1.0, True, "1" and -0.0 / 0.0 are equal or hash alike in Python but are different policy values.
    for values in ([1, 1.0, True, "1"], [-0.0, 0.0]):
        checks = {
            id(engine._compiled_condition({"StringEqualsIgnoreCase": {"ncp:resourceTag/team": [v]}})[0]) for v in values
        }
        assert len(checks) == len(values)
    context = {"ncp:resourceTag/team": "-0.0"}
    for value, expected in ((-0.0, EXPLICIT_DENY), (0.0, ALLOWED)):
        policies = [
            (
                "p",
                [
                    _statement("Deny", condition={"StringEqualsIgnoreCase": {"ncp:resourceTag/team": [value]}}),
                    _statement("Allow"),
                ],
            )
        ]
        request = Request("SubAccount", ACTION, SUB_A)
        assert CompiledPolicies(policies).decide(request, context) == expected
        assert reference_eval.evaluate(policies, request, context) == expected


def test_entries_with_many_tests_use_the_generic_decider_and_agree_with_the_reference():
    statements = [
        _statement("Deny", [f"nrn:PUB:IAM::2942:SubAccount/{i}"], {"StringEquals": {"ncp:resourceTag/team": [str(i)]}})
        for i in range(engine._MAX_GENERATED_TESTS + 5)
    ] + [_statement("Allow", condition={"StringLike": {"ncp:resourceTag/env": ["p*"]}})]
    policies = [("p", statements)]
    compiled = CompiledPolicies(policies)
    for i in (0, 7, engine._MAX_GENERATED_TESTS + 4):
        for context in ({}, {"ncp:resourceTag/team": str(i)}, {"ncp:resourceTag/env": "prod"}):
            request = Request("SubAccount", ACTION, f"nrn:PUB:IAM::2942:SubAccount/{i}")
            assert compiled.decide(request, context) == reference_eval.evaluate(policies, request, context)


def test_deciders_are_built_on_first_use_and_prepare_builds_them_all():
    compiled = CompiledPolicies([("p1", [_statement("Deny", [SUB_A]), _statement("Allow")])])
    assert compiled._deciders == {"SubAccount": {}, "ExternalAccess": {}}
    assert compiled.decide(Request("SubAccount", ACTION, SUB_A)) == EXPLICIT_DENY
    assert list(compiled._deciders["SubAccount"]) == [ACTION]
    assert compiled.decide(Request("SubAccount", "View/getGroupList")) == IMPLICIT_DENY
    assert compiled._deciders["SubAccount"]["View/getGroupList"] == IMPLICIT_DENY
    assert compiled.decide(Request("SubAccount", "View/notInTheCatalog")) == IMPLICIT_DENY
    assert compiled.decide(Request("Billing", ACTION)) == IMPLICIT_DENY
    # Names outside the catalog are never kept: the keys stay bounded whatever requests come in.
    assert "View/notInTheCatalog" not in compiled._deciders["SubAccount"] and "Billing" not in compiled._deciders
    compiled.prepare()
    catalog_keys = {product: {a.name for a in catalog.actions_for(product)} for product in catalog.PRODUCTS}
    assert {product: set(deciders) for product, deciders in compiled._deciders.items()} == catalog_keys
    assert compiled.decide(Request("SubAccount", ACTION, SUB_A)) == EXPLICIT_DENY
    assert compiled.decide(Request("SubAccount", ACTION, "nrn:PUB:IAM::2942:SubAccount/b")) == ALLOWED
    assert compiled.decide(Request("SubAccount", "View/getGroupList")) == IMPLICIT_DENY
    assert compiled.explain(Request("SubAccount", ACTION, SUB_A)).decision == EXPLICIT_DENY
    assert compiled.decide(Request("SubAccount", "View/notInTheCatalog")) == IMPLICIT_DENY


def test_principals_share_a_compiled_policy_and_a_changed_document_is_compiled_again():
    def document(team):
        return [_statement("Allow", condition={"StringEquals": {"ncp:resourceTag/team": [team]}})]

    first = CompiledPolicies([("p1", document("1"))])
    second = CompiledPolicies([("p0", [_statement("Deny", [SUB_A])]), ("p1", document("1"))])
    assert first._policies[0] is second._policies[1]
    # The same id with other content (even only the type of a value), or the same content under another id (the
    # explanations name it), is a policy of its own.
    changed, retyped, renamed = (
        CompiledPolicies([("p1", document("2"))]),
        CompiledPolicies([("p1", document(1))]),
        CompiledPolicies([("p2", document("1"))]),
    )
    assert len({id(c._policies[0]) for c in (first, changed, retyped, renamed)}) == 4
    request, context = Request("SubAccount", ACTION, SUB_A), {"ncp:resourceTag/team": "1"}
    assert first.decide(request, context) == ALLOWED
    assert changed.decide(request, context) == IMPLICIT_DENY
    assert reference_eval.evaluate([("p1", document("2"))], request, context) == IMPLICIT_DENY
    assert renamed.explain(request, context).matched == [{"policyId": "p2", "permissionIndex": 0, "effect": "Allow"}]


def test_a_document_that_cannot_be_pickled_is_compiled_for_its_principal_alone():
    document = [{**_statement("Allow"), "note": threading.Lock()}]  # an extra field the engine ignores
    first, second = CompiledPolicies([("p", document)]), CompiledPolicies([("p", document)])
    assert first._policies[0] is not second._policies[0]
    assert (
        first.decide(Request("SubAccount", ACTION, SUB_A))
        == ALLOWED
        == second.decide(Request("SubAccount", ACTION, SUB_A))
    )

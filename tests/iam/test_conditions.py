"""Hand-written cases for every condition operator, the missing-key rule, IfExists, set operators and variables."""

import pytest

from iam.policy.conditions import ConditionError, compile_clause, compile_condition, parse_operator

CASES = [
    # operator, key, policy values, context, expected
    ("StringEquals", "k", ["a", "b"], {"k": "b"}, True),
    ("StringEquals", "k", ["a"], {"k": "A"}, False),
    ("StringEquals", "k", ["a"], {}, False),
    ("StringNotEquals", "k", ["a", "b"], {"k": "c"}, True),
    ("StringNotEquals", "k", ["a", "b"], {"k": "b"}, False),
    ("StringNotEquals", "k", ["a"], {}, True),
    ("StringEqualsIgnoreCase", "k", ["ABC"], {"k": "abc"}, True),
    ("StringNotEqualsIgnoreCase", "k", ["ABC"], {"k": "abc"}, False),
    ("StringLike", "k", ["dev-*"], {"k": "dev-42"}, True),
    ("StringLike", "k", ["dev-?"], {"k": "dev-42"}, False),
    ("StringLike", "k", ["dev-??"], {"k": "dev-42"}, True),
    ("StringLike", "k", ["Dev-*"], {"k": "dev-42"}, False),
    ("StringNotLike", "k", ["dev-*"], {"k": "prod-1"}, True),
    ("StringNotLike", "k", ["dev-*"], {}, True),
    ("StringLikeIgnoreCase", "k", ["Dev-*"], {"k": "dev-42"}, True),
    ("StringNotLikeIgnoreCase", "k", ["Dev-*"], {"k": "dev-42"}, False),
    ("NumericEquals", "n", ["10"], {"n": "10.0"}, True),
    ("NumericNotEquals", "n", ["10"], {"n": 11}, True),
    ("NumericLessThan", "n", [10], {"n": 9}, True),
    ("NumericLessThan", "n", [10], {"n": 10}, False),
    ("NumericLessThanEquals", "n", [10], {"n": 10}, True),
    ("NumericGreaterThan", "n", [10], {"n": 11}, True),
    ("NumericGreaterThanEquals", "n", [10], {"n": 9}, False),
    ("NumericEquals", "n", [10], {"n": "ten"}, False),
    ("NumericEquals", "n", [10], {}, False),
    ("DateLessThan", "ncp:CurrentTime", ["2027-01-01T00:00:00Z"], {"ncp:CurrentTime": "2026-11-28T01:00:00Z"}, True),
    (
        "DateGreaterThan",
        "ncp:CurrentTime",
        ["2027-01-01T00:00:00Z"],
        {"ncp:CurrentTime": "2026-11-28T01:00:00Z"},
        False,
    ),
    ("DateEquals", "d", ["1800000000"], {"d": "2027-01-15T08:00:00Z"}, True),
    ("DateNotEquals", "d", ["2027-01-15T08:00:00Z"], {"d": "2027-01-15T08:00:01Z"}, True),
    ("DateLessThanEquals", "d", ["2027-01-15T08:00:00+00:00"], {"d": "2027-01-15T08:00:00Z"}, True),
    ("DateGreaterThanEquals", "d", ["2027-01-15T08:00:00Z"], {"d": "not a date"}, False),
    ("Bool", "ncp:MultiFactorAuthPresent", ["true"], {"ncp:MultiFactorAuthPresent": True}, True),
    ("Bool", "ncp:MultiFactorAuthPresent", ["true"], {"ncp:MultiFactorAuthPresent": "false"}, False),
    ("Bool", "ncp:MultiFactorAuthPresent", ["true"], {}, False),
    ("IpAddress", "ncp:SourceIp", ["10.0.0.0/8", "192.168.1.1"], {"ncp:SourceIp": "10.2.3.4"}, True),
    ("IpAddress", "ncp:SourceIp", ["10.0.0.0/8"], {"ncp:SourceIp": "11.0.0.1"}, False),
    ("IpAddress", "ncp:SourceIp", ["2001:db8::/32"], {"ncp:SourceIp": "2001:db8::1"}, True),
    ("NotIpAddress", "ncp:SourceIp", ["10.0.0.0/8"], {"ncp:SourceIp": "11.0.0.1"}, True),
    ("NotIpAddress", "ncp:SourceIp", ["10.0.0.0/8"], {}, True),
    ("IpAddress", "ncp:SourceIp", ["10.0.0.0/8"], {}, False),
    # IfExists: a missing key holds; a present key is compared as usual.
    ("StringEqualsIfExists", "k", ["a"], {}, True),
    ("StringEqualsIfExists", "k", ["a"], {"k": "b"}, False),
    ("NumericLessThanIfExists", "n", [5], {"n": 3}, True),
    # Null: true means "the key is absent".
    ("Null", "k", ["true"], {}, True),
    ("Null", "k", ["true"], {"k": "x"}, False),
    ("Null", "k", ["false"], {"k": "x"}, True),
    ("Null", "k", ["false"], {}, False),
    # Set operators on multi-valued keys.
    ("ForAllValues:StringEquals", "ncp:TagKeys", ["team", "env"], {"ncp:TagKeys": ["team"]}, True),
    ("ForAllValues:StringEquals", "ncp:TagKeys", ["team", "env"], {"ncp:TagKeys": ["team", "cost"]}, False),
    ("ForAllValues:StringEquals", "ncp:TagKeys", ["team"], {"ncp:TagKeys": []}, True),
    ("ForAllValues:StringEquals", "ncp:TagKeys", ["team"], {}, True),
    ("ForAnyValue:StringEquals", "ncp:TagKeys", ["team"], {"ncp:TagKeys": ["cost", "team"]}, True),
    ("ForAnyValue:StringEquals", "ncp:TagKeys", ["team"], {"ncp:TagKeys": []}, False),
    ("ForAnyValue:StringEquals", "ncp:TagKeys", ["team"], {}, False),
    ("ForAllValues:StringNotEquals", "ncp:TagKeys", ["secret"], {"ncp:TagKeys": ["team", "env"]}, True),
    ("ForAnyValue:StringLike", "ncp:TagKeys", ["te*"], {"ncp:TagKeys": ["x", "team"]}, True),
    # Policy variables.
    (
        "StringEquals",
        "ncp:resourceTag/owner",
        ["${ncp:principalName}"],
        {"ncp:resourceTag/owner": "alice", "ncp:principalName": "alice"},
        True,
    ),
    (
        "StringEquals",
        "ncp:resourceTag/owner",
        ["${ncp:principalName}"],
        {"ncp:resourceTag/owner": "bob", "ncp:principalName": "alice"},
        False,
    ),
    ("StringEquals", "ncp:resourceTag/owner", ["${ncp:principalName}"], {"ncp:resourceTag/owner": "alice"}, False),
    ("StringLike", "k", ["home/${ncp:principalName}/*"], {"k": "home/alice/x", "ncp:principalName": "alice"}, True),
    # A single value instead of a list.
    ("StringEquals", "k", "a", {"k": "a"}, True),
]


@pytest.mark.parametrize(
    ("operator", "key", "values", "context", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_operator(operator, key, values, context, expected):
    assert compile_clause(operator, key, values)(context) is expected


def test_every_key_and_operator_of_a_block_must_hold():
    check = compile_condition({"StringEquals": {"a": ["1"], "b": ["2"]}, "Bool": {"c": "true"}})
    assert check({"a": "1", "b": "2", "c": "true"})
    assert not check({"a": "1", "b": "2", "c": "false"})
    assert not check({"a": "1", "c": "true"})


def test_no_condition_compiles_to_none():
    assert compile_condition(None) is None
    assert compile_condition({}) is None


@pytest.mark.parametrize(
    "name", ["StringEqualz", "IfExists", "ForSomeValues:StringEquals", "NullIfExists", "ForAllValues:Null"]
)
def test_unknown_operators_are_refused(name):
    with pytest.raises(ConditionError):
        parse_operator(name)


def test_operator_parsing():
    assert parse_operator("ForAllValues:StringLikeIfExists") == ("ForAllValues", "StringLike", True)
    assert parse_operator("Null") == (None, "Null", False)


# The specialised fast paths (a string request value, a list for ForAnyValue/ForAllValues, prefix-only StringLike,
# one network) against the reference's plain reading, with request values of every odd shape.
GRID_OPERATORS = [
    ("StringEquals", ["a", "b"]),
    ("StringNotEquals", ["a", "b"]),
    ("StringLike", ["a*", "bc*"]),
    ("StringNotLike", ["a*"]),
    ("StringLike", ["a*c", "b?"]),
    ("StringLikeIgnoreCase", ["A*"]),
    ("StringEqualsIfExists", ["a"]),
    ("StringLikeIfExists", ["a*"]),
    ("ForAnyValue:StringEquals", ["a", "b"]),
    ("ForAllValues:StringEquals", ["a", "b"]),
    ("ForAnyValue:StringNotEquals", ["a"]),
    ("ForAllValues:StringNotEquals", ["a"]),
    ("ForAnyValue:StringLike", ["a*"]),
    ("ForAllValues:StringLike", ["a*"]),
    ("IpAddress", ["10.0.0.0/8"]),
    ("NotIpAddress", ["10.0.0.0/8"]),
    ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"]),
    ("IpAddress", ["2001:db8::/32"]),
    ("Bool", ["true"]),
    ("Bool", ["false"]),
    # Numbers and booleans among a string operator's values compare as their text, as in the reference.
    ("StringEquals", [1, "b"]),
    ("StringNotEquals", [1.5]),
    ("StringEqualsIgnoreCase", [True]),
    ("ForAnyValue:StringEquals", [1, True]),
    ("ForAllValues:StringNotEquals", [1]),
]
GRID_VALUES = [
    "1", "1.5", "True", "a", "abc", "bcd", "b", "B", "x", "", "10.1.2.3", "11.0.0.1", "2001:db8::1", "not an ip", True, False, 1, 0, None,
    ["a"], ["a", "b"], ["a", "x"], ["x"], [], ["a", 1], [1], ["a", ["nested"]], [{"k": "v"}], ("a", "x"), ["10.1.2.3"],
]  # fmt: skip


@pytest.mark.parametrize(
    ("operator", "values"), GRID_OPERATORS, ids=[f"{o}-{i}" for i, (o, _) in enumerate(GRID_OPERATORS)]
)
def test_fast_paths_agree_with_the_reference(operator, values):
    from tests.iam import reference_eval

    check = compile_clause(operator, "k", values)
    for value in GRID_VALUES + ["missing"]:
        context = {} if value == "missing" else {"k": value}
        if isinstance(value, tuple):  # the reference reads lists only; a tuple means the same list
            expected = reference_eval._clause(operator, "k", list(values), {"k": list(value)})
        else:
            expected = reference_eval._clause(operator, "k", list(values), context)
        assert check(context) == expected, (value, check(context), expected)


def test_inline_descriptions_mean_what_the_check_means():
    # The engine tests these clauses in generated code from check.inline: same keys, values and fallbacks.
    for operator, values in GRID_OPERATORS:
        check = compile_condition({operator: {"k": values}})
        for kind, key, value, other in getattr(check, "inline", ()):
            assert key == "k"
            for request_value in GRID_VALUES:
                context = {"k": request_value}
                if request_value.__class__ is str and kind in ("in", "not in"):
                    inline = (request_value in value) == (kind == "in")
                elif request_value.__class__ is str and kind in ("prefix", "no prefix"):
                    inline = request_value.startswith(value) == (kind == "prefix")
                elif request_value.__class__ is str and kind in ("like", "not like"):
                    inline = value(request_value) == (kind == "like")
                elif kind == "bool" and request_value is True:
                    inline = value[0]
                elif kind == "bool" and request_value is False:
                    inline = value[1]
                else:
                    inline = other(request_value)
                assert inline == check(context), (operator, request_value)

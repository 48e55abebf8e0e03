"""Policy conditions, with the semantics users of AWS IAM expect. Pure Python, no Django.

A condition block is ``{"<Operator>": {"<key>": <value or list of values>}}``. Every operator in the block must
hold and, within an operator, every key (AND); the values of one key are alternatives (OR), and for the negated
operators the key must match none of them. A key absent from the request makes the condition false, except for
the negated operators, the ``...IfExists`` forms and ``Null``. ``ForAnyValue:`` / ``ForAllValues:`` compare a
multi-valued key value by value: ForAllValues holds for an empty or missing set, ForAnyValue does not.

Values may contain policy variables such as ``${ncp:principalName}``; a variable whose key is missing from the
request makes that value match nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from iam.policy import wildcard

MISSING = object()

_VARIABLE_RE = re.compile(r"\$\{([^}]+)\}")

STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "StringLikeIgnoreCase",
    "StringNotLikeIgnoreCase",
)
NUMERIC_OPERATORS = (
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
)
DATE_OPERATORS = (
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
)
OTHER_OPERATORS = ("Bool", "IpAddress", "NotIpAddress")
BASE_OPERATORS = STRING_OPERATORS + NUMERIC_OPERATORS + DATE_OPERATORS + OTHER_OPERATORS
NEGATED = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "StringNotLikeIgnoreCase",
        "NumericNotEquals",
        "DateNotEquals",
        "NotIpAddress",
    }
)
SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")


class ConditionError(ValueError):
    """A condition block that cannot be understood (unknown operator, malformed value)."""


def parse_operator(name: str) -> tuple[str | None, str, bool]:
    """Split ``ForAllValues:StringLikeIfExists`` into (set prefix, base operator, if_exists)."""
    if not isinstance(name, str):
        raise ConditionError(f"operator must be a string, got {type(name).__name__}")
    prefix = None
    for candidate in SET_PREFIXES:
        if name.startswith(candidate):
            prefix, name = candidate[:-1], name[len(candidate) :]
            break
    if_exists = False
    if name.endswith("IfExists") and name != "IfExists":
        if_exists, name = True, name[: -len("IfExists")]
    if name == "Null":
        if if_exists or prefix:
            raise ConditionError("Null takes neither IfExists nor ForAnyValue/ForAllValues")
        return None, "Null", False
    if name not in BASE_OPERATORS:
        raise ConditionError(f"unknown condition operator {name!r}")
    return prefix, name, if_exists


# Value tests ----------------------------------------------------------------------------------------------


def like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """StringLike: ``*`` any run of characters, ``?`` one (iam/policy/wildcard.py: linear time, whatever the pattern)."""
    return wildcard.matches(pattern, value, ignore_case)


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _date(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_epoch(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _from_epoch(float(text)) if len(text) <= 20 else None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _from_epoch(seconds) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


@lru_cache(maxsize=4096)
def _network(text: str):
    return ipaddress.ip_network(text, strict=False)


@lru_cache(maxsize=4096)
def _address(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ip_in(value, network_text) -> bool:
    address = _address(str(value))
    if address is None:
        return False
    try:
        return address in _network(str(network_text))
    except (ValueError, TypeError):
        return False


_COMPARE = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a == b,  # negation is applied by the caller
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _positive_test(base: str) -> Callable[[object, object], bool]:
    """test(request_value, policy_value) for the positive form of an operator."""
    if base in ("StringEquals", "StringNotEquals"):
        return lambda v, p: isinstance(v, str) and v == str(p)
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return lambda v, p: isinstance(v, str) and v.casefold() == str(p).casefold()
    if base in ("StringLike", "StringNotLike"):
        return lambda v, p: isinstance(v, str) and like(str(p), v)
    if base in ("StringLikeIgnoreCase", "StringNotLikeIgnoreCase"):
        return lambda v, p: isinstance(v, str) and like(str(p), v, ignore_case=True)
    if base.startswith("Numeric"):
        compare = _COMPARE[base[len("Numeric") :]]

        def numeric(v, p):
            a, b = _number(v), _number(p)
            return a is not None and b is not None and compare(a, b)

        return numeric
    if base.startswith("Date"):
        compare = _COMPARE[base[len("Date") :]]

        def date(v, p):
            a, b = _date(v), _date(p)
            return a is not None and b is not None and compare(a, b)

        return date
    if base == "Bool":
        return lambda v, p: _bool(v) is not None and _bool(v) == _bool(p)
    if base in ("IpAddress", "NotIpAddress"):
        return _ip_in
    raise ConditionError(f"unknown condition operator {base!r}")


def validate_value(base: str, value) -> str | None:
    """Why a policy value cannot be used with an operator, or None."""
    if base.startswith("Numeric") and _number(value) is None:
        return f"{value!r} is not a number"
    if base.startswith("Date") and _date(value) is None:
        return f"{value!r} is not a date (ISO 8601 or epoch seconds)"
    if base in ("Bool", "Null") and _bool(value) is None:
        return f"{value!r} is not true or false"
    if base in ("IpAddress", "NotIpAddress"):
        try:
            _network(str(value))
        except ValueError:
            return f"{value!r} is not an IP address or CIDR block"
    if not isinstance(value, (str, int, float, bool)):
        return "condition values must be strings, numbers or booleans"
    return None


# Variables ------------------------------------------------------------------------------------------------


def has_variables(text) -> bool:
    return isinstance(text, str) and "${" in text


def substitute(text: str, context: Mapping) -> str | None:
    """Replace ``${key}`` with the request's value; None when a referenced key is missing or multi-valued."""
    failed = False

    def replace(match: re.Match) -> str:
        nonlocal failed
        value = context.get(match.group(1), MISSING)
        if value is MISSING or value is None or isinstance(value, (list, tuple, set, frozenset)):
            failed = True
            return ""
        return str(value)

    result = _VARIABLE_RE.sub(replace, text)
    return None if failed else result


def variables_in(text: str) -> list[str]:
    return _VARIABLE_RE.findall(text) if isinstance(text, str) else []


# Compilation ----------------------------------------------------------------------------------------------

Check = Callable[[Mapping], bool]


def _values(raw) -> tuple:
    if isinstance(raw, (list, tuple)):
        return tuple(raw)
    return (raw,)


def _resolve(values: tuple, context: Mapping) -> list:
    out = []
    for value in values:
        if has_variables(value):
            resolved = substitute(value, context)
            if resolved is not None:
                out.append(resolved)
        else:
            out.append(value)
    return out


def _static_hit(base: str, values: tuple) -> Callable[[object], bool]:
    """hit(request_value): does it match one of the policy values under the positive form of ``base``?
    Everything about the policy values (sets, wildcard matchers, numbers, dates, networks) is prepared once, here."""
    if base in ("StringEquals", "StringNotEquals"):
        allowed = frozenset(str(v) for v in values)
        return lambda v: isinstance(v, str) and v in allowed
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        folded = frozenset(str(v).casefold() for v in values)
        return lambda v: isinstance(v, str) and v.casefold() in folded
    if "Like" in base:
        combined = wildcard.any_matcher([str(v) for v in values], "IgnoreCase" in base)
        return lambda v: isinstance(v, str) and combined(v)
    if base.startswith("Numeric") or base.startswith("Date"):
        numeric = base.startswith("Numeric")
        convert = _number if numeric else _date
        compare = _COMPARE[base[len("Numeric") :] if numeric else base[len("Date") :]]
        prepared = [c for c in (convert(v) for v in values) if c is not None]

        def ordered(v) -> bool:
            converted = convert(v)
            return converted is not None and any(compare(converted, p) for p in prepared)

        return ordered
    if base == "Bool":
        wanted = frozenset(b for b in (_bool(v) for v in values) if b is not None)
        return lambda v: _bool(v) in wanted
    if base in ("IpAddress", "NotIpAddress"):
        networks = []
        for v in values:
            try:
                networks.append(_network(str(v)))
            except ValueError:
                continue

        def in_networks(v) -> bool:
            address = _address(str(v))
            return address is not None and any(address.version == n.version and address in n for n in networks)

        return in_networks
    raise ConditionError(f"unknown condition operator {base!r}")


@lru_cache(maxsize=4096)
def _address_bits(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) of a request's address text, or None."""
    address = _address(text)
    return None if address is None else (address.version, int(address))


def _prefixes(values: tuple) -> tuple[str, ...] | None:
    """The prefixes of StringLike values that are all ``abc*`` (one trailing star, no other wildcard), else None."""
    prefixes = []
    for value in values:
        prefix = wildcard.prefix_of(value) if isinstance(value, str) else None
        if prefix is None:
            return None
        prefixes.append(prefix)
    return tuple(prefixes)


def _other_values(hit: Callable[[object], bool], negated: bool, missing_result: bool) -> Callable[[object], bool]:
    """The clause's result for a request value that is not of the type its operator's fast path expects:
    missing, multi-valued (any value may match), or a single value of another type."""

    def other(value) -> bool:
        if value is MISSING or value is None:
            return missing_result
        if isinstance(value, (list, tuple, set, frozenset)):
            if not value:
                return missing_result
            for item in value:
                if hit(item) != negated:
                    return True
            return False
        return hit(value) != negated

    return other


def _static_scalar_check(base: str, values: tuple, key: str, hit, negated: bool, missing_result: bool) -> Check:
    """A clause without a set prefix and without variables, specialised by operator: the usual request value
    (a string; a boolean for Bool) is tested inline, everything else by ``_other_values``."""
    other = _other_values(hit, negated, missing_result)
    if base in ("StringEquals", "StringNotEquals"):
        allowed = frozenset(str(v) for v in values)

        def string_equals(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            if value.__class__ is str:
                return (value in allowed) != negated
            return other(value)

        string_equals.inline_clause = ("not in" if negated else "in", key, allowed, other)
        return string_equals
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        folded = frozenset(str(v).casefold() for v in values)

        def string_equals_ignore_case(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            if value.__class__ is str:
                return (value.casefold() in folded) != negated
            return other(value)

        return string_equals_ignore_case
    if "Like" in base:
        prefixes = _prefixes(values) if "IgnoreCase" not in base else None
        if prefixes is not None:  # every value is ``abc*``: the usual case, and str.startswith is quicker

            def string_like_prefix(context: Mapping) -> bool:
                value = context.get(key, MISSING)
                if value.__class__ is str:
                    return value.startswith(prefixes) != negated
                return other(value)

            string_like_prefix.inline_clause = ("no prefix" if negated else "prefix", key, prefixes, other)
            return string_like_prefix
        match = wildcard.any_matcher([str(v) for v in values], "IgnoreCase" in base)

        def string_like(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            if value.__class__ is str:
                return match(value) != negated
            return other(value)

        string_like.inline_clause = ("not like" if negated else "like", key, match, other)
        return string_like
    if base in ("IpAddress", "NotIpAddress"):
        networks = []
        for v in values:
            try:
                network = _network(str(v))
            except ValueError:
                continue
            networks.append((network.version, int(network.network_address), int(network.netmask)))
        networks = tuple(networks)
        if len(networks) == 1:
            ((only_version, only_network, only_mask),) = networks

            def ip_address_in_one(context: Mapping) -> bool:
                value = context.get(key, MISSING)
                if value.__class__ is str:
                    bits = _address_bits(value)
                    if bits is not None and bits[0] == only_version and bits[1] & only_mask == only_network:
                        return not negated
                    return negated
                return other(value)

            return ip_address_in_one

        def ip_address(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            if value.__class__ is str:
                bits = _address_bits(value)
                if bits is not None:
                    version, number = bits
                    for network_version, network, mask in networks:
                        if network_version == version and number & mask == network:
                            return not negated
                return negated
            return other(value)

        return ip_address
    if base == "Bool":
        when_true, when_false = hit(True) != negated, hit(False) != negated

        def boolean(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            if value is True:
                return when_true
            if value is False:
                return when_false
            return other(value)

        boolean.inline_clause = ("bool", key, (when_true, when_false), other)
        return boolean

    def static_check(context: Mapping) -> bool:
        return other(context.get(key, MISSING))

    return static_check


def _static_set_check(base: str, values: tuple, key: str, hit, negated: bool, for_all: bool) -> Check:
    """``ForAllValues:`` / ``ForAnyValue:`` without variables. For String(Not)Equals a list of request values is
    compared with the policy's set in one set operation (a value that is not a string is in no such set)."""
    allowed = frozenset(str(v) for v in values)

    def items_of(value):
        if value is MISSING or value is None:
            return ()
        if isinstance(value, (list, tuple, set, frozenset)):
            return value
        return (value,)

    def loop(value) -> bool:
        if for_all:
            for item in items_of(value):
                if hit(item) == negated:
                    return False
            return True
        for item in items_of(value):
            if hit(item) != negated:
                return True
        return False

    if base not in ("StringEquals", "StringNotEquals"):

        def set_check(context: Mapping) -> bool:
            return loop(context.get(key, MISSING))

        return set_check

    # all(in) is issuperset, all(not in) isdisjoint, any(in) is not isdisjoint, any(not in) is not issuperset.
    test = allowed.isdisjoint if for_all == negated else allowed.issuperset
    expected = for_all

    def string_set_check(context: Mapping) -> bool:
        value = context.get(key, MISSING)
        if value.__class__ is list:
            try:
                return test(value) == expected
            except TypeError:  # an unhashable item: compared one by one
                pass
        return loop(value)

    return string_set_check


def compile_clause(operator: str, key: str, raw_values) -> Check:
    """A check for one (operator, key, values) clause."""
    prefix, base, if_exists = parse_operator(operator)
    values = _values(raw_values)
    dynamic = any(has_variables(v) for v in values)

    if base == "Null":
        want_missing = _bool(values[0]) if values else None
        if want_missing is None:
            raise ConditionError(f"Null needs true or false for {key}")

        def null_check(context: Mapping) -> bool:
            value = context.get(key, MISSING)
            absent = value is MISSING or value is None or (isinstance(value, (list, tuple)) and not value)
            return absent == want_missing

        return null_check

    negated = base in NEGATED
    missing_result = if_exists or negated
    if not dynamic:
        hit = _static_hit(base, values)
        if prefix is None:
            return _static_scalar_check(base, values, key, hit, negated, missing_result)
        return _static_set_check(base, values, key, hit, negated, prefix == "ForAllValues")

    positive = _positive_test(base)

    def one_value_matches(request_value, policy_values) -> bool:
        hit = any(positive(request_value, p) for p in policy_values)
        return not hit if negated else hit

    def check(context: Mapping) -> bool:
        value = context.get(key, MISSING)
        policy_values = _resolve(values, context) if dynamic else values
        if prefix is None:
            if value is MISSING or value is None:
                return if_exists or negated
            if isinstance(value, (list, tuple, set, frozenset)):
                if not value:
                    return if_exists or negated
                return any(one_value_matches(v, policy_values) for v in value)
            return one_value_matches(value, policy_values)
        items = [] if value is MISSING or value is None else value
        if not isinstance(items, (list, tuple, set, frozenset)):
            items = [items]
        if prefix == "ForAllValues":
            return all(one_value_matches(v, policy_values) for v in items)
        # ForAnyValue
        if not items:
            return False
        return any(one_value_matches(v, policy_values) for v in items)

    return check


MAX_INLINE_CLAUSES = 3


def compile_condition(condition: Mapping | None) -> Check | None:
    """One check for a whole condition block (None when there is no condition).

    When every clause is of a kind the engine's generated deciders test inline, the check also carries ``inline``:
    one ``(kind, key, value, other)`` per clause, where ``kind`` is ``in`` / ``not in`` (a string request value's
    membership in the set ``value``), ``prefix`` / ``no prefix`` (``value`` is a tuple for ``str.startswith``),
    ``like`` / ``not like`` (``value`` is a wildcard matcher, iam/policy/wildcard.py) or ``bool``
    (``value`` is the result for True and for False), and ``other(request_value)`` is the clause's result for any
    other request value (missing, multi-valued, of another type). Tested that way, a clause means what the check
    means."""
    if not condition:
        return None
    checks = [compile_clause(op, key, vals) for op, clauses in condition.items() for key, vals in clauses.items()]
    if len(checks) == 1:
        combined = checks[0]
    elif len(checks) == 2:
        first, second = checks

        def both(context: Mapping) -> bool:
            return first(context) and second(context)

        combined = both
    else:

        def every(context: Mapping) -> bool:
            for check in checks:
                if not check(context):
                    return False
            return True

        combined = every
    clauses = [getattr(check, "inline_clause", None) for check in checks]
    if len(clauses) <= MAX_INLINE_CLAUSES and None not in clauses:
        combined.inline = tuple(clauses)
    return combined


def condition_keys(condition: Mapping | None) -> list[str]:
    return [key for clauses in (condition or {}).values() for key in clauses]

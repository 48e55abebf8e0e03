"""The authorization engine: a principal's effective policies compiled into a per-action index. Pure Python.

``CompiledPolicies`` is built once per principal and policy version; for each (product, action) it keeps only the
statements that can apply, split into Deny and Allow, with resource patterns and conditions compiled. A decision
is then a few set look-ups: Deny statements first (an explicit deny wins), then Allow; nothing matching is an
implicit deny. Statements whose condition uses a key the catalog does not list for an action cannot allow that
action ("the action is not to be performed").

Everything is built on the first decision that needs it: an action's decider when that action is first decided,
a statement's resource patterns and condition when an action it names is. Compiled policies are shared by content
between the principals of a process, so after a change a principal's first decision compiles only what changed
and what that one decision needs."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from iam.policy import catalog, wildcard
from iam.policy.conditions import (
    MAX_INLINE_CLAUSES,
    MISSING,
    Check,
    compile_condition,
    condition_keys,
    has_variables,
    substitute,
)
from iam.policy.request import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, action_matches

__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "CompiledPolicies", "Explanation", "Request"]

EMPTY_CONTEXT: Mapping = {}
_NO_RESOURCES: frozenset = frozenset()  # one shared empty set: most entries name no exact resource


def resource_pattern_matches(pattern: str, resource: str | None) -> bool:
    """``*`` alone matches everything (also actions without a resource); otherwise ``*``/``?`` wildcards in an NRN
    (iam/policy/wildcard.py: linear time, whatever the pattern)."""
    if pattern == "*":
        return True
    if resource is None:
        return False
    if "*" in pattern or "?" in pattern:
        return wildcard.matches(pattern, resource)
    return pattern == resource


class _DynamicResources:
    """resourceNrns with ``${...}`` variables, resolved against the request's context."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: tuple[str, ...]):
        self.patterns = patterns

    def __call__(self, resource: str | None, context: Mapping) -> bool:
        if resource is None:
            return False
        for pattern in self.patterns:
            resolved = substitute(pattern, context)
            if resolved is not None and resource_pattern_matches(resolved, resource):
                return True
        return False


class ResourceMatcher:
    """The compiled resourceNrns of one target."""

    __slots__ = ("any", "exact", "wildcards", "wildcard_texts", "dynamic", "_tests")

    def __init__(self, patterns: Iterable[str]):
        patterns = list(patterns) or ["*"]
        self.any = "*" in patterns
        self.exact = frozenset(p for p in patterns if not has_variables(p) and "*" not in p and "?" not in p)
        if not self.exact:
            self.exact = _NO_RESOURCES
        self.wildcard_texts = tuple(p for p in patterns if p != "*" and not has_variables(p) and ("*" in p or "?" in p))
        self.wildcards = tuple(wildcard.matcher(p) for p in self.wildcard_texts)
        self.dynamic = tuple(p for p in patterns if has_variables(p))
        self._tests: tuple | None = None

    def tests(self) -> tuple[tuple[str, object], ...]:
        """The tests of a conditional (or variable) item, cheapest first, as (kind, value): ``in`` a set of exact
        NRNs, ``pre`` or ``glob`` the wildcard NRNs (see _wildcard_test), ``var`` the patterns with variables."""
        if self._tests is None:
            tests: list[tuple[str, object]] = []
            if self.exact:
                tests.append(("in", self.exact))
            if self.wildcards:
                tests.append(_wildcard_test(self.wildcard_texts))
            if self.dynamic:
                tests.append(("var", _DynamicResources(self.dynamic)))
            self._tests = tuple(tests)
        return self._tests

    def matches(self, resource: str | None, context: Mapping) -> bool:
        if self.any:
            return True
        if resource is None:
            return False
        if resource in self.exact:
            return True
        for match in self.wildcards:
            if match(resource):
                return True
        for pattern in self.dynamic:
            resolved = substitute(pattern, context)
            if resolved is not None and resource_pattern_matches(resolved, resource):
                return True
        return False


def _wildcard_test(patterns) -> tuple[str, object]:
    """One test for wildcard NRNs: ``pre`` with a tuple of prefixes for ``str.startswith`` when every pattern is a
    prefix followed by ``*`` (the usual ``.../SubAccount/*``), else ``glob`` with one function that tells whether a
    resource matches any of them (iam/policy/wildcard.py)."""
    patterns = sorted(set(patterns))
    prefixes = [wildcard.prefix_of(p) for p in patterns]
    if None not in prefixes:
        return ("pre", tuple(prefixes))
    return ("glob", wildcard.any_matcher(patterns))


def _frozen(value):
    """A hashable image of a JSON-like value that tells apart what compiles differently (``1``, ``1.0``, ``True``,
    ``"1"``, ``-0.0``); None for anything else, which is then compiled without sharing."""
    if value.__class__ is str:
        return value
    if isinstance(value, (list, tuple)):
        items = tuple(_frozen(v) for v in value)
        return None if None in items else ("list", items)
    if isinstance(value, dict):
        items = tuple((_frozen(k), _frozen(v)) for k, v in value.items())
        return None if any(k is None or v is None for k, v in items) else ("dict", items)
    if value is None or value.__class__ in (bool, int, float):
        return (value.__class__.__name__, repr(value))
    return None


# Compiled conditions and resource matchers are immutable, so statements with the same content share one compiled
# form: across the principals of a process (who mostly share their groups' policies) and across recompilations after
# a change. That keeps compiling cheap and the decision path's data small and shared. Bounded; keyed by content only.
_SHARED_LIMIT = 16_384
_shared_conditions: dict = {}
_shared_matchers: dict = {}
_shared_deciders: dict = {}  # keyed by shape and arguments: sets and patterns by value, checks by identity


def _shared(cache: dict, key, build):
    if key is None:
        return build()
    try:
        return cache[key]
    except KeyError:
        pass
    value = build()
    if len(cache) >= _SHARED_LIMIT:
        cache.clear()  # a rare, cheap reset; compiled forms already handed out stay valid
    cache[key] = value
    return value


def _compiled_condition(condition: Mapping | None) -> tuple[Check | None, tuple[str, ...]]:
    if not condition:
        return None, ()
    return _shared(
        _shared_conditions,
        _frozen(condition),
        lambda: (compile_condition(condition), tuple(condition_keys(condition))),
    )


def _matcher(patterns) -> ResourceMatcher:
    patterns = list(patterns or ()) or ["*"]
    return _shared(_shared_matchers, _frozen(patterns), lambda: ResourceMatcher(patterns))


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Where a statement comes from, for explanations."""

    policy_id: str
    index: int
    effect: str


# (resource matcher, condition or None, where the statement comes from, the condition's keys): one per statement target.
Item = tuple[ResourceMatcher, Check | None, StatementRef, tuple[str, ...]]


class _Statement:
    """One statement of a policy. What it targets (products and action names) is read at once, which is cheap;
    its resource patterns and condition are compiled on the first decision of an action it names, so the first
    decision after a change compiles only the statements that decision needs."""

    __slots__ = ("ref", "targets", "_raw", "_items")

    def __init__(self, ref: StatementRef, statement: Mapping):
        self.ref = ref
        # (product, action names, action prefixes) per target (see _names); the raw statement until its items are
        # compiled.
        targets = []
        for target in statement.get("targets") or ():
            names = tuple(target.get("actions") or ())
            targets.append((target.get("product"), names, _action_prefixes(names)))
        self.targets: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = tuple(targets)
        self._raw: Mapping | None = statement
        self._items: tuple[Item, ...] | None = None

    def items(self) -> tuple[Item, ...]:
        """One (matcher, condition, ref, condition keys) per target, compiled on first use."""
        items = self._items
        if items is None:
            raw = self._raw
            if raw is None:  # another thread has just compiled them (it sets _items before it drops _raw)
                return self._items
            check, keys = _compiled_condition(raw.get("condition") or None)
            items = tuple((_matcher(t.get("resourceNrns")), check, self.ref, keys) for t in raw.get("targets") or ())
            self._items, self._raw = items, None  # two threads compiling at once build equal items: harmless
        return items


# The action patterns besides exact names, as the prefix of the action names each stands for.
_PATTERN_PREFIXES = {"*": "", "View*": "View/", "Change*": "Change/"}
_prefix_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}


def _action_prefixes(names: tuple[str, ...]) -> tuple[str, ...]:
    """The prefixes for ``str.startswith`` of the patterns among a target's actions; usually none (``()``)."""
    if "*" not in names and "View*" not in names and "Change*" not in names:
        return ()  # the usual target: exact names only (three scans in C, no set built)
    prefixes = tuple(sorted({_PATTERN_PREFIXES[n] for n in names if n.__class__ is str and n in _PATTERN_PREFIXES}))
    return _prefix_tuples.setdefault(prefixes, prefixes)  # only a handful of distinct ones: share them


def _names(names: tuple[str, ...], prefixes: tuple[str, ...], action: str) -> bool:
    """Whether a target's actions name a catalog action: ``action_matches`` on each of them, in two C calls."""
    return action in names or action.startswith(prefixes)


# (exact resources, needs pattern matching, matcher, condition) - inlined in decide().
Rest = tuple[frozenset, bool, ResourceMatcher, Check | None]


@dataclass(slots=True)
class _Entry:
    """The statements that can apply to one (product, action), arranged for a fast decision: unconditional resources
    become a set look-up and one wildcard matcher, and only variables and conditions are evaluated one by one."""

    denies: tuple[Item, ...]
    allows: tuple[Item, ...]
    deny_all: bool  # an unconditional Deny on every resource exists
    deny_exact: frozenset  # resources some unconditional Deny names exactly
    deny_pattern: wildcard.Matcher | None  # does a resource match one of the unconditional Denies' wildcard NRNs?
    deny_wildcards: tuple | None  # the same as one (kind, value) test for a decider (see _wildcard_test)
    deny_every: tuple[Check, ...]  # conditional Denies on every resource: only the condition decides
    deny_rest: tuple[Rest, ...]  # the other Denies with a condition or a variable
    allow_all: bool
    allow_exact: frozenset
    allow_pattern: wildcard.Matcher | None
    allow_wildcards: tuple | None
    allow_every: tuple[Check, ...]
    allow_rest: tuple[Rest, ...]

    @staticmethod
    def _split(items: list[Item]) -> tuple[bool, frozenset, wildcard.Matcher | None, tuple | None, tuple, tuple]:
        if not items:
            return _NOTHING  # most entries have no Deny at all
        unconditional = [m for m, c, _, _ in items if c is None]
        every = any(m.any for m in unconditional)
        exact = frozenset(r for m in unconditional for r in m.exact) or _NO_RESOURCES
        texts = sorted({t for m in unconditional for t in m.wildcard_texts})
        pattern = wildcard.any_matcher(texts) if texts else None
        wildcard_test = _wildcard_test(texts) if texts else None
        conditional_everywhere = tuple(c for m, c, _, _ in items if c is not None and m.any)
        rest = tuple(
            (m.exact, bool(m.wildcards or m.dynamic), m, c)
            for m, c, _, _ in items
            if (c is not None and not m.any) or (c is None and m.dynamic)
        )
        return every, exact, pattern, wildcard_test, conditional_everywhere, rest

    @classmethod
    def build(cls, denies: list[Item], allows: list[Item]) -> _Entry:
        return cls(tuple(denies), tuple(allows), *cls._split(denies), *cls._split(allows))


_NOTHING: tuple = (False, _NO_RESOURCES, None, None, (), ())
_EMPTY_ENTRY = _Entry.build([], [])


# Specialised deciders -----------------------------------------------------------------------------------------
#
# Each (product, action) entry becomes either a constant outcome (an unconditional Deny on every resource, or an
# Allow on every resource with no Deny to check, or nothing at all) or a decider: a tuple ``(decide, v1, v2, ...)``
# called as ``decide(decider, resource, context)``, holding only the tests that entry needs, in the order decisions
# have always used: Denies first, then Allows, then the implicit deny. One tuple rather than a closure, because
# decisions are memory-bound: a closure would add a function object, its closure tuple and one cell per value.
#
# ``decide`` is generated as Python source and compiled once per *shape* (which kinds of test, how many), never
# per policy. The source is assembled only from fixed fragments below; every value that comes from a policy
# (resources, matchers, condition keys and values, checks) is read from the decider tuple by position (``t[1]``,
# ``t[2]``, ...). No policy text is ever part of the source, so a policy document cannot inject code, whatever its
# strings contain (tests/iam/test_engine_codegen.py checks this).

_OUTCOME_NAMES = {EXPLICIT_DENY: "EXPLICIT_DENY", ALLOWED: "ALLOWED", IMPLICIT_DENY: "IMPLICIT_DENY"}
_NAMESPACE = {"EXPLICIT_DENY": EXPLICIT_DENY, "ALLOWED": ALLOWED, "IMPLICIT_DENY": IMPLICIT_DENY, "MISSING": MISSING}
_MAX_GENERATED_TESTS = 32  # entries with more values than this use the generic loop (no new code per odd shape)

Decider = str | tuple  # a constant outcome, or (decide, *values): see above


def _check_step(check: Check, args: list):
    """A check's token in a shape, its values appended to ``args``: ``"call"`` (the check is called), or one token
    per clause that the generated code tests inline (see ``compile_condition``)."""
    clauses = getattr(check, "inline", None)
    if not clauses:
        args.append(check)
        return "call"
    tokens = []
    for kind, key, value, other in clauses:
        if kind == "bool":
            when_true, when_false = value
            tokens.append(("bool", bool(when_true), bool(when_false)))
            args.extend((key, other))
        else:
            tokens.append(kind)
            args.extend((key, value, other))
    return tuple(tokens)


def _plan_side(outcome: str, exact: frozenset, wildcards, every: tuple, rest: tuple, shape: list, args: list) -> None:
    """Append one side's (Deny or Allow) tests to the shape and their values to the decider's values."""
    if exact:
        shape.append(("in", outcome))
        args.append(exact)
    if wildcards is not None:
        shape.append((wildcards[0], outcome))
        args.append(wildcards[1])
    if every:
        shape.append(("if", outcome, tuple(_check_step(check, args) for check in every)))
    for _, _, matcher, check in rest:
        tests = matcher.tests()
        if not tests:
            continue  # names no resource: can never match
        args.extend(value for _, value in tests)
        shape.append(
            ("rest", outcome, tuple(kind for kind, _ in tests), None if check is None else _check_step(check, args))
        )


def _decider(entry: _Entry) -> Decider:
    """The fastest form of one entry's decision: a constant outcome, or a decider tuple (see above)."""
    if entry.deny_all:
        return EXPLICIT_DENY
    shape: list = []
    args: list = []
    _plan_side(EXPLICIT_DENY, entry.deny_exact, entry.deny_wildcards, entry.deny_every, entry.deny_rest, shape, args)
    if entry.allow_all:
        final = ALLOWED
    else:
        _plan_side(ALLOWED, entry.allow_exact, entry.allow_wildcards, entry.allow_every, entry.allow_rest, shape, args)
        final = IMPLICIT_DENY
    if not shape:
        return final
    if len(args) > _MAX_GENERATED_TESTS:
        return (_call_generic, _generic_decider(entry))
    shape.append(("end", final))
    shape = tuple(shape)
    # Entries with the same tests (principals sharing their groups' policies) share one decider.
    return _shared(_shared_deciders, (shape, *args), lambda: (_factory(shape), *args))


_CLAUSE_TESTS = {  # a string request value ``v`` against the clause's set or match method ``X``
    "in": "v in {X}",
    "not in": "v not in {X}",
    "like": "{X}(v)",
    "not like": "not {X}(v)",
    "prefix": "v.startswith({X})",
    "no prefix": "not v.startswith({X})",
}


def _source(shape: tuple) -> str:
    """The source of ``decide(t, resource, context)`` for one shape, where ``t`` is the decider: this function
    followed by the values its tests use. A shape holds only kind names from the fixed sets here, outcome constants,
    booleans and counts, all checked here; every value that comes from a policy (resources, matchers, condition keys
    and values, checks) is read from ``t`` by position, so no policy text is ever part of the source."""
    count = 0

    def arg() -> str:
        nonlocal count
        count += 1
        return f"t[{count}]"

    def check(token) -> str:
        if token == "call":
            return f"{arg()}(context)"
        if token.__class__ is not tuple or not 0 < len(token) <= MAX_INLINE_CLAUSES:
            raise ValueError(f"unknown check in a decider shape: {token!r}")
        clauses = []
        for clause in token:
            if clause.__class__ is str and clause in _CLAUSE_TESTS:
                key, value, other = arg(), arg(), arg()
                test = _CLAUSE_TESTS[clause].format(X=value)
                clauses.append(f"({test} if (v := context.get({key}, MISSING)).__class__ is str else {other}(v))")
            elif (
                clause.__class__ is tuple
                and len(clause) == 3
                and clause[0] == "bool"
                and clause[1].__class__ is bool
                and clause[2].__class__ is bool
            ):
                key, other = arg(), arg()
                clauses.append(
                    f"({clause[1]} if (v := context.get({key}, MISSING)) is True else {clause[2]} if v is False "
                    f"else {other}(v))"
                )
            else:
                raise ValueError(f"unknown clause in a decider shape: {clause!r}")
        return clauses[0] if len(clauses) == 1 else "(" + " and ".join(clauses) + ")"

    body: list[str] = []
    for step in shape:
        kind, outcome = step[0], _OUTCOME_NAMES[step[1]]
        if kind == "in" and len(step) == 2:
            body.append(f"if resource in {arg()}: return {outcome}")
        elif kind == "glob" and len(step) == 2:
            body.append(f"if resource is not None and {arg()}(resource): return {outcome}")
        elif kind == "pre" and len(step) == 2:
            body.append(f"if resource is not None and resource.startswith({arg()}): return {outcome}")
        elif (
            kind == "if" and len(step) == 3 and step[2].__class__ is tuple and 0 < len(step[2]) <= _MAX_GENERATED_TESTS
        ):
            body.append(f"if {' or '.join(check(token) for token in step[2])}: return {outcome}")
        elif kind == "rest" and len(step) == 4 and step[2].__class__ is tuple and 0 < len(step[2]) <= 3:
            tests = []
            for test in step[2]:
                if test == "in":
                    tests.append(f"resource in {arg()}")
                elif test == "glob":
                    tests.append(f"(resource is not None and {arg()}(resource))")
                elif test == "pre":
                    tests.append(f"(resource is not None and resource.startswith({arg()}))")
                elif test == "var":
                    tests.append(f"{arg()}(resource, context)")
                else:
                    raise ValueError(f"unknown resource test in a decider shape: {test!r}")
            condition = f"({' or '.join(tests)})"
            if step[3] is not None:
                condition += f" and {check(step[3])}"
            body.append(f"if {condition}: return {outcome}")
        elif kind == "end" and len(step) == 2:
            body.append(f"return {outcome}")
        else:
            raise ValueError(f"unknown step in a decider shape: {step!r}")
    return "def decide(t, resource, context):\n" + "".join(f"    {line}\n" for line in body)


@lru_cache(maxsize=1024)
def _factory(shape: tuple) -> Callable[[tuple, str | None, Mapping], str]:
    """``decide(t, resource, context)`` for one shape, compiled once."""
    namespace = dict(_NAMESPACE)
    exec(compile(_source(shape), "<iam.policy.engine decider>", "exec"), namespace)  # noqa: S102 - no policy text in it
    return namespace["decide"]


def _call_generic(t: tuple, resource: str | None, context: Mapping) -> str:
    """The function of a decider ``(_call_generic, decide)`` built by ``_generic_decider``."""
    return t[1](resource, context)


def _generic_decider(entry: _Entry) -> Callable[[str | None, Mapping], str]:
    """The same decision as a generated one, by loops: for entries with more tests than are worth generating."""
    deny_exact, deny_pattern, deny_every, deny_rest = (
        entry.deny_exact,
        entry.deny_pattern,
        entry.deny_every,
        entry.deny_rest,
    )
    allow_all, allow_exact, allow_pattern, allow_every, allow_rest = (
        entry.allow_all,
        entry.allow_exact,
        entry.allow_pattern,
        entry.allow_every,
        entry.allow_rest,
    )

    def decide(resource: str | None, context: Mapping) -> str:
        if resource in deny_exact:
            return EXPLICIT_DENY
        if deny_pattern is not None and resource is not None and deny_pattern(resource):
            return EXPLICIT_DENY
        for check in deny_every:
            if check(context):
                return EXPLICIT_DENY
        for exact, patterns, matcher, check in deny_rest:
            if (resource in exact or (patterns and matcher.matches(resource, context))) and (
                check is None or check(context)
            ):
                return EXPLICIT_DENY
        if allow_all or resource in allow_exact:
            return ALLOWED
        if allow_pattern is not None and resource is not None and allow_pattern(resource):
            return ALLOWED
        for check in allow_every:
            if check(context):
                return ALLOWED
        for exact, patterns, matcher, check in allow_rest:
            if (resource in exact or (patterns and matcher.matches(resource, context))) and (
                check is None or check(context)
            ):
                return ALLOWED
        return IMPLICIT_DENY

    return decide


# Every catalog action: the keys a principal's deciders may hold.
_UNLISTED: dict[tuple[str, str], Decider] = {
    (product, action.name): IMPLICIT_DENY for product in catalog.PRODUCTS for action in catalog.actions_for(product)
}


# One (product, action) tuple per catalog action, the key of every policy's items (one tuple, however many policies).
_CATALOG_KEYS: dict[tuple[str, str], tuple[str, str]] = {key: key for key in _UNLISTED}


@lru_cache(maxsize=65536)
def _applies(product: str, action: str, keys: tuple[str, ...]) -> bool:
    return _can_allow(catalog.get_action(product, action), keys)


@dataclass
class Explanation:
    """What decided a request: the outcome, the statements that matched it and the context keys that were missing."""

    decision: str
    matched: list[dict] = field(default_factory=list)
    missing_context_keys: list[str] = field(default_factory=list)


def _can_allow(action: catalog.CatalogAction | None, keys: tuple[str, ...]) -> bool:
    if not keys:
        return True
    if action is None:
        return False
    return all(catalog.condition_key_applies(action, key) for key in keys)


class _CompiledPolicy:
    """One policy's statements, with the items each catalog action gets from them collected on the first decision
    of that action. Only ever grows by equal values, so every principal the policy applies to shares it (see
    ``_compiled_policy``)."""

    __slots__ = ("statements", "_actions")

    def __init__(self, policy_id: str, permissions):
        self.statements: tuple[_Statement, ...] = tuple(
            _Statement(StatementRef(policy_id, index, statement.get("effect")), statement)
            for index, statement in enumerate(permissions or ())
            if statement.get("effect") in ("Allow", "Deny")
        )
        self._actions: dict[tuple[str, str], tuple[Item, ...]] = {}

    def items_for(self, key: tuple[str, str]) -> tuple[Item, ...]:
        """The Deny and Allow items that apply to a catalog action, in statement and target order."""
        found = self._actions.get(key)
        if found is None:
            found = self._actions[key] = self._collect(*key)
        return found

    def _collect(self, product: str, action: str) -> tuple[Item, ...]:
        items: list[Item] = []
        for statement in self.statements:
            deny = statement.ref.effect == "Deny"
            for position, (t_product, names, prefixes) in enumerate(statement.targets):
                if (t_product == product or t_product == "*") and _names(names, prefixes, action):
                    item = statement.items()[position]
                    if deny or not item[3] or _applies(product, action, item[3]):
                        items.append(item)
        return tuple(items)  # most policies name most actions not at all: the one empty tuple


# Compiled policies by id and content, shared by the principals they are attached to (most principals get most of
# their policies from groups) and kept across a change to other policies of the account: after a change, a
# principal's compile costs a look-up for each policy that did not change. The content key is the policy's pickle:
# equal bytes are equal documents, down to the types of their values, and pickling costs a fraction of compiling.
_POLICY_LIMIT = 4096
_shared_policies: dict = {}


def _compiled_policy(policy_id, permissions) -> _CompiledPolicy:
    policy_id = str(policy_id)
    try:
        key = (policy_id, pickle.dumps(permissions, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a document that cannot be pickled is compiled for this principal alone
        return _CompiledPolicy(policy_id, permissions)
    policy = _shared_policies.get(key)
    if policy is None:
        policy = _CompiledPolicy(policy_id, permissions)
        if len(_shared_policies) >= _POLICY_LIMIT:
            _shared_policies.clear()  # a rare, cheap reset: compiled policies already handed out stay valid
        _shared_policies[key] = policy
    return policy


class CompiledPolicies:
    """A principal's effective policies, compiled into a per-action index; read-only once built, so shareable.

    It holds its compiled policies (shared with other principals) and, per catalog action, the decider built on
    that action's first decision: the first decision after a change pays for the one action it asks about, not for
    all of them. Building twice from two threads at once is harmless: both build the same thing."""

    def __init__(self, policies: Iterable[tuple[str, list]]):
        self._policies: tuple[_CompiledPolicy, ...] = tuple(
            _compiled_policy(policy_id, permissions) for policy_id, permissions in policies
        )
        # product -> action -> decider, for the catalog's actions only (so the keys stay bounded). Two look-ups by
        # string cost about half of one by a (product, action) tuple, which has to be built, hashed and compared.
        self._deciders: dict[str, dict[str, Decider]] = {product: {} for product in catalog.PRODUCTS}

    def prepare(self) -> CompiledPolicies:
        """Build every catalog action's decider now, so that no later decision builds one."""
        for product, action in _UNLISTED:
            if action not in self._deciders[product]:
                self._decider_for(product, action)
        return self

    def _decider_for(self, product: str, action: str) -> Decider:
        decider = _decider(self._entry(product, action))
        if (product, action) in _UNLISTED:  # only catalog actions are kept: the set of keys stays bounded
            self._deciders[product][action] = decider
        return decider

    @property
    def statement_count(self) -> int:
        return sum(len(policy.statements) for policy in self._policies)

    def _statements(self) -> Iterable[_Statement]:
        for policy in self._policies:
            yield from policy.statements

    def _entry(self, product: str, action: str) -> _Entry:
        """The statements that can apply to an action, from each policy's index. Not kept: the decider holds what
        decisions need, and explanations (rare) build the entry again."""
        key = _CATALOG_KEYS.get((product, action))
        if key is None:
            return self._entry_by_matching(product, action)
        denies: list[Item] = []
        allows: list[Item] = []
        for policy in self._policies:
            for item in policy.items_for(key):
                (denies if item[2].effect == "Deny" else allows).append(item)
        if not denies and not allows:
            return _EMPTY_ENTRY
        return _Entry.build(denies, allows)

    def _entry_by_matching(self, product: str, action: str) -> _Entry:
        """An action the catalog does not know: only exact names and patterns can match it; no key applies."""
        denies, allows = [], []
        for statement in self._statements():
            for position, (t_product, names, _) in enumerate(statement.targets):
                if (t_product == "*" or t_product == product) and any(action_matches(p, action) for p in names):
                    item = statement.items()[position]
                    if statement.ref.effect == "Deny":
                        denies.append(item)
                    elif not item[3]:
                        allows.append(item)
        return _Entry.build(denies, allows)

    def decide(self, request: Request, context: Mapping = EMPTY_CONTEXT) -> str:
        """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY."""
        try:
            decider = self._deciders[request.product][request.action]
        except KeyError:  # the first decision of this action, or not a catalog action
            decider = self._decider_for(request.product, request.action)
        if decider.__class__ is str:
            return decider
        return decider[0](decider, request.resource, context)

    def explain(self, request: Request, context: Mapping = EMPTY_CONTEXT) -> Explanation:
        """The decision with every statement that matched and the condition keys the request did not carry."""
        entry = self._entry(request.product, request.action)
        matched, missing = [], []
        decision = IMPLICIT_DENY
        for effect, items in (("Deny", entry.denies), ("Allow", entry.allows)):
            for matcher, check, ref, keys in items:
                if not matcher.matches(request.resource, context):
                    continue
                holds = check is None or check(context)
                missing.extend(k for k in keys if context.get(k) is None and k not in missing)
                if holds:
                    matched.append({"policyId": ref.policy_id, "permissionIndex": ref.index, "effect": effect})
                    if effect == "Deny":
                        decision = EXPLICIT_DENY
                    elif decision != EXPLICIT_DENY:
                        decision = ALLOWED
        return Explanation(decision, matched, missing)

"""The authorization engine: a principal's effective policies compiled into a per-action index. Pure Python.

``CompiledPolicies`` is built once per principal and policy version; for each (product, action) it keeps only the
statements that can apply, split into Deny and Allow, with resource patterns and conditions compiled. A decision
is then a few set look-ups: Deny statements first (an explicit deny wins), then Allow; nothing matching is an
implicit deny. Statements whose condition uses a key the catalog does not list for an action cannot allow that
action ("the action is not to be performed").
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class StatementRef:
    """Where a statement comes from, for explanations."""

    policy_id: str
    index: int
    effect: str


@dataclass
class _Statement:
    ref: StatementRef
    targets: list[tuple[str, tuple[str, ...], ResourceMatcher]]
    condition: Check | None
    keys: tuple[str, ...]


Item = tuple[ResourceMatcher, Check | None, StatementRef, tuple[str, ...]]
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


@lru_cache(maxsize=4096)
def _expand(product: str, pattern: str) -> tuple[str, ...]:
    """The catalog actions of a product an action pattern names."""
    if product not in catalog.PRODUCTS:
        return ()
    if pattern in ("*", "View*", "Change*"):
        return tuple(a.name for a in catalog.actions_for(product) if action_matches(pattern, a.name))
    return (pattern,) if catalog.is_known_action(product, pattern) else ()


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


class CompiledPolicies:
    """A principal's effective policies, compiled into a per-action index; read-only once built, so shareable."""

    def __init__(self, policies: Iterable[tuple[str, list]]):
        self._statements: list[_Statement] = []
        for policy_id, permissions in policies:
            for index, statement in enumerate(permissions or ()):
                effect = statement.get("effect")
                if effect not in ("Allow", "Deny"):
                    continue
                check, keys = _compiled_condition(statement.get("condition") or None)
                targets = [
                    (t.get("product"), tuple(t.get("actions") or ()), _matcher(t.get("resourceNrns")))
                    for t in statement.get("targets") or ()
                ]
                self._statements.append(
                    _Statement(
                        ref=StatementRef(str(policy_id), index, effect), targets=targets, condition=check, keys=keys
                    )
                )
        # Each action's entry and decider are built on its first decision (or by prepare()): the first decision
        # after a change pays for the one action it asks about, not for all of them. Building twice from two
        # threads at once is harmless: both build the same thing.
        self._buckets = self._index()
        self._entries: dict[tuple[str, str], _Entry] = {}
        # product -> action -> decider, for the catalog's actions only (so the keys stay bounded). Two look-ups by
        # string cost about half of one by a (product, action) tuple, which has to be built, hashed and compared.
        self._deciders: dict[str, dict[str, Decider]] = {product: {} for product in catalog.PRODUCTS}

    def prepare(self) -> CompiledPolicies:
        """Build every catalog action's decider now, so that no later decision builds one."""
        for product, action in _UNLISTED:
            if action not in self._deciders[product]:
                self._decider_for(product, action)
        self._buckets = {}  # every entry is built: the raw buckets are no longer needed
        return self

    def _decider_for(self, product: str, action: str) -> Decider:
        decider = _decider(self._entry(product, action))
        if (product, action) in _UNLISTED:  # only catalog actions are kept: the set of keys stays bounded
            self._deciders[product][action] = decider
        return decider

    def _index(self) -> dict[tuple[str, str], tuple[list[Item], list[Item]]]:
        """Every catalog action any statement names, with its Deny and Allow items (expansion via the catalog)."""
        buckets: dict[tuple[str, str], tuple[list[Item], list[Item]]] = {}
        for statement in self._statements:
            deny = statement.ref.effect == "Deny"
            for t_product, patterns, matcher in statement.targets:
                products = catalog.PRODUCTS if t_product == "*" else (t_product,)
                item = (matcher, statement.condition, statement.ref, statement.keys)
                for product in products:
                    names = {name for pattern in patterns for name in _expand(product, pattern)}
                    for name in names:
                        if not deny and statement.keys and not _applies(product, name, statement.keys):
                            continue
                        denies, allows = buckets.setdefault((product, name), ([], []))
                        (denies if deny else allows).append(item)
        return buckets

    @property
    def statement_count(self) -> int:
        return len(self._statements)

    def _entry(self, product: str, action: str) -> _Entry:
        entry = self._entries.get((product, action))
        if entry is not None:
            return entry
        bucket = self._buckets.get((product, action))
        if bucket is not None:
            entry = _Entry.build(*bucket)
        elif (product, action) in _UNLISTED:
            entry = _EMPTY_ENTRY  # the index holds every catalog action any statement names
        else:
            return self._entry_by_matching(product, action)
        self._entries[product, action] = entry
        return entry

    def _entry_by_matching(self, product: str, action: str) -> _Entry:
        """An action the catalog does not know: only exact names and patterns can match it; no key applies."""
        denies, allows = [], []
        for statement in self._statements:
            for t_product, patterns, matcher in statement.targets:
                if (t_product == "*" or t_product == product) and any(action_matches(p, action) for p in patterns):
                    item = (matcher, statement.condition, statement.ref, statement.keys)
                    if statement.ref.effect == "Deny":
                        denies.append(item)
                    elif not statement.keys:
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

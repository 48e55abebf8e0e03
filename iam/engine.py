"""The authorization engine: a principal's effective policies compiled into a per-action index. Pure Python.

``CompiledPolicies`` is built once per principal and policy version; for each (product, action) it keeps only the
statements that can apply, split into Deny and Allow, with resource patterns and conditions compiled. A decision
is then a few set look-ups: Deny statements first (an explicit deny wins), then Allow; nothing matching is an
implicit deny. Statements whose condition uses a key the catalog does not list for an action cannot allow that
action ("the action is not to be performed").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from iam import catalog
from iam.conditions import Check, compile_condition, condition_keys, has_variables, substitute
from iam.policy_eval import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, action_matches

__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "CompiledPolicies", "Explanation", "Request"]

EMPTY_CONTEXT: Mapping = {}


@lru_cache(maxsize=8192)
def _wildcard_regex(pattern: str) -> re.Pattern:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z", re.DOTALL
    )


def resource_pattern_matches(pattern: str, resource: str | None) -> bool:
    """``*`` alone matches everything (also actions without a resource); otherwise ``*``/``?`` wildcards in an NRN."""
    if pattern == "*":
        return True
    if resource is None:
        return False
    if "*" in pattern or "?" in pattern:
        return _wildcard_regex(pattern).match(resource) is not None
    return pattern == resource


class ResourceMatcher:
    """The compiled resourceNrns of one target."""

    __slots__ = ("any", "exact", "wildcards", "dynamic")

    def __init__(self, patterns: Iterable[str]):
        patterns = list(patterns) or ["*"]
        self.any = "*" in patterns
        self.exact = frozenset(p for p in patterns if not has_variables(p) and "*" not in p and "?" not in p)
        self.wildcards = tuple(
            _wildcard_regex(p) for p in patterns if p != "*" and not has_variables(p) and ("*" in p or "?" in p)
        )
        self.dynamic = tuple(p for p in patterns if has_variables(p))

    def matches(self, resource: str | None, context: Mapping) -> bool:
        if self.any:
            return True
        if resource is None:
            return False
        if resource in self.exact:
            return True
        for regex in self.wildcards:
            if regex.match(resource):
                return True
        for pattern in self.dynamic:
            resolved = substitute(pattern, context)
            if resolved is not None and resource_pattern_matches(resolved, resource):
                return True
        return False


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
    become a set look-up and one combined pattern, and only variables and conditions are evaluated one by one."""

    denies: tuple[Item, ...]
    allows: tuple[Item, ...]
    deny_all: bool  # an unconditional Deny on every resource exists
    deny_exact: frozenset  # resources some unconditional Deny names exactly
    deny_pattern: re.Pattern | None  # every unconditional Deny's wildcard NRNs, as one regex
    deny_every: tuple[Check, ...]  # conditional Denies on every resource: only the condition decides
    deny_rest: tuple[Rest, ...]  # the other Denies with a condition or a variable
    allow_all: bool
    allow_exact: frozenset
    allow_pattern: re.Pattern | None
    allow_every: tuple[Check, ...]
    allow_rest: tuple[Rest, ...]

    @staticmethod
    def _split(items: list[Item]) -> tuple[bool, frozenset, re.Pattern | None, tuple, tuple]:
        unconditional = [m for m, c, _, _ in items if c is None]
        every = any(m.any for m in unconditional)
        exact = frozenset(r for m in unconditional for r in m.exact)
        wildcards = sorted({w.pattern for m in unconditional for w in m.wildcards})
        pattern = re.compile("|".join(f"(?:{w})" for w in wildcards), re.DOTALL) if wildcards else None
        conditional_everywhere = tuple(c for m, c, _, _ in items if c is not None and m.any)
        rest = tuple(
            (m.exact, bool(m.wildcards or m.dynamic), m, c)
            for m, c, _, _ in items
            if (c is not None and not m.any) or (c is None and m.dynamic)
        )
        return every, exact, pattern, conditional_everywhere, rest

    @classmethod
    def build(cls, denies: list[Item], allows: list[Item]) -> _Entry:
        return cls(tuple(denies), tuple(allows), *cls._split(denies), *cls._split(allows))


_EMPTY_ENTRY = _Entry.build([], [])


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
                condition = statement.get("condition") or None
                targets = [
                    (
                        t.get("product"),
                        tuple(t.get("actions") or ()),
                        ResourceMatcher(t.get("resourceNrns") or ["*"]),
                    )
                    for t in statement.get("targets") or ()
                ]
                self._statements.append(
                    _Statement(
                        ref=StatementRef(str(policy_id), index, effect),
                        targets=targets,
                        condition=compile_condition(condition),
                        keys=tuple(condition_keys(condition)),
                    )
                )
        self._entries: dict[tuple[str, str], _Entry] = self._index()

    def _index(self) -> dict[tuple[str, str], _Entry]:
        """Every catalog action any statement names, with its Deny and Allow items (expansion via the catalog)."""
        buckets: dict[tuple[str, str], tuple[list[Item], list[Item]]] = {}
        for statement in self._statements:
            deny = statement.ref.effect == "Deny"
            for t_product, patterns, matcher in statement.targets:
                products = catalog.PRODUCTS if t_product == "*" else (t_product,)
                for product in products:
                    names = {name for pattern in patterns for name in _expand(product, pattern)}
                    for name in names:
                        if not deny and statement.keys and not _applies(product, name, statement.keys):
                            continue
                        denies, allows = buckets.setdefault((product, name), ([], []))
                        (denies if deny else allows).append(
                            (matcher, statement.condition, statement.ref, statement.keys)
                        )
        return {key: _Entry.build(denies, allows) for key, (denies, allows) in buckets.items()}

    @property
    def statement_count(self) -> int:
        return len(self._statements)

    def _entry(self, product: str, action: str) -> _Entry:
        entry = self._entries.get((product, action))
        if entry is not None:
            return entry
        if catalog.is_known_action(product, action):
            return _EMPTY_ENTRY  # the index holds every catalog action any statement names
        return self._entry_by_matching(product, action)

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
        entry = self._entries.get((request.product, request.action))
        if entry is None:
            entry = self._entry(request.product, request.action)
        resource = request.resource
        if entry.deny_all or resource in entry.deny_exact:
            return EXPLICIT_DENY
        if entry.deny_pattern is not None and resource is not None and entry.deny_pattern.match(resource):
            return EXPLICIT_DENY
        for check in entry.deny_every:
            if check(context):
                return EXPLICIT_DENY
        for exact, patterns, matcher, check in entry.deny_rest:
            if (resource in exact or (patterns and matcher.matches(resource, context))) and (
                check is None or check(context)
            ):
                return EXPLICIT_DENY
        if entry.allow_all or resource in entry.allow_exact:
            return ALLOWED
        if entry.allow_pattern is not None and resource is not None and entry.allow_pattern.match(resource):
            return ALLOWED
        for check in entry.allow_every:
            if check(context):
                return ALLOWED
        for exact, patterns, matcher, check in entry.allow_rest:
            if (resource in exact or (patterns and matcher.matches(resource, context))) and (
                check is None or check(context)
            ):
                return ALLOWED
        return IMPLICIT_DENY

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

"""Shape and catalog checks of policy documents, and related-action expansion. Pure Python, no Django.

A document is the ``permissions`` list of the wire format:
``[{"effect": "Allow"|"Deny", "targets": [{"product", "actions", "resourceNrns"}], "condition": {...}}]``.
"""

import re

from iam.policy import catalog, conditions, nrn, wildcard
from iam.policy.request import action_matches

ACTION_PATTERNS = ("*", "View*", "Change*")
MAX_STATEMENTS = 100
MAX_TARGETS = 50
MAX_ITEMS = 500


def problems(permissions) -> list[tuple[str, str]]:
    """Every problem of a document as (place, message); empty when it is valid."""
    found: list[tuple[str, str]] = []
    if not isinstance(permissions, list) or not permissions:
        return [("permissions", "must be a non-empty list of statements")]
    if len(permissions) > MAX_STATEMENTS:
        return [("permissions", f"at most {MAX_STATEMENTS} statements")]
    for i, statement in enumerate(permissions):
        place = f"permissions[{i}]"
        if not isinstance(statement, dict):
            found.append((place, "must be an object"))
            continue
        extra = set(statement) - {"effect", "targets", "condition"}
        if extra:
            found.append((place, f"unknown members: {', '.join(sorted(map(str, extra)))}"))
        if statement.get("effect") not in ("Allow", "Deny"):
            found.append((f"{place}.effect", "must be Allow or Deny"))
        targets = statement.get("targets")
        if not isinstance(targets, list) or not targets:
            found.append((f"{place}.targets", "must be a non-empty list"))
        elif len(targets) > MAX_TARGETS:
            found.append((f"{place}.targets", f"at most {MAX_TARGETS} targets"))
        else:
            for j, target in enumerate(targets):
                found.extend(_target_problems(target, f"{place}.targets[{j}]"))
        condition = statement.get("condition")
        if condition is not None:
            found.extend(_condition_problems(condition, f"{place}.condition", statement))
    return found


def _target_problems(target, place: str) -> list[tuple[str, str]]:
    if not isinstance(target, dict):
        return [(place, "must be an object")]
    found = []
    extra = set(target) - {"product", "actions", "resourceNrns"}
    if extra:
        found.append((place, f"unknown members: {', '.join(sorted(map(str, extra)))}"))
    product = target.get("product")
    if product not in catalog.PRODUCTS:
        found.append(
            (f"{place}.product", f"unknown product {str(product)[:60]!r}; one of {', '.join(catalog.PRODUCTS)}")
        )
    actions = target.get("actions")
    if not isinstance(actions, list) or not actions or len(actions) > MAX_ITEMS:
        found.append((f"{place}.actions", f"must be a list of 1-{MAX_ITEMS} actions"))
    elif product in catalog.PRODUCTS:
        for k, action in enumerate(actions):
            if not isinstance(action, str) or not (
                action in ACTION_PATTERNS or catalog.is_known_action(product, action)
            ):
                found.append((f"{place}.actions[{k}]", f"unknown action {str(action)[:80]!r} for product {product}"))
    resources = target.get("resourceNrns", ["*"])
    if not isinstance(resources, list) or not resources or len(resources) > MAX_ITEMS:
        found.append((f"{place}.resourceNrns", f"must be a list of 1-{MAX_ITEMS} NRNs or '*'"))
    else:
        for k, resource in enumerate(resources):
            if resource != "*" and not _nrn_pattern_ok(resource):
                found.append((f"{place}.resourceNrns[{k}]", f"malformed NRN {str(resource)[:120]!r}"))
            elif wildcard.has_wildcards(resource) and (problem := wildcard.pattern_problem(resource)):
                found.append((f"{place}.resourceNrns[{k}]", problem))
    return found


def _nrn_pattern_ok(pattern) -> bool:
    """An exact NRN, or one with ``*``/``?`` wildcards or ``${...}`` variables standing for parts of it."""
    if not isinstance(pattern, str) or not pattern.startswith("nrn:"):
        return False
    concrete = re.sub(r"\$\{[^}]+\}", "x", pattern)
    concrete = concrete.replace("*", "x").replace("?", "x")
    return nrn.is_valid(concrete) or (pattern.endswith("*") and nrn.is_valid(concrete + "/x"))


def known_condition_key(key) -> bool:
    """Keys the product understands (whether they apply to an action is a separate question)."""
    if not isinstance(key, str):
        return False
    if key in catalog.PRINCIPAL_CONDITION_KEYS or key in catalog.GLOBAL_CONDITION_KEYS or key == "ncp:TagKeys":
        return True
    for prefix in ("ncp:resourceTag/", "ncp:requestTag/"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return True
    return False


def statement_actions(statement: dict) -> list[catalog.CatalogAction]:
    """The catalog actions a statement's targets name (patterns expanded)."""
    found = []
    targets = statement.get("targets")
    for target in targets if isinstance(targets, list) else ():  # a malformed document is reported elsewhere
        if not isinstance(target, dict) or not isinstance(target.get("actions"), list):
            continue
        products = catalog.PRODUCTS if target.get("product") == "*" else (target.get("product"),)
        for product in products:
            for action in catalog.actions_for(product) if product in catalog.PRODUCTS else ():
                if any(isinstance(p, str) and action_matches(p, action.name) for p in target["actions"]):
                    found.append(action)
    return found


def _condition_problems(condition, place: str, statement: dict) -> list[tuple[str, str]]:
    if not isinstance(condition, dict):
        return [(place, "must be an object of operators")]
    found = []
    actions = statement_actions(statement)
    for operator, clauses in condition.items():
        where = f"{place}.{operator}"
        try:
            _, base, _ = conditions.parse_operator(operator)
        except conditions.ConditionError as exc:
            found.append((where, str(exc)))
            continue
        if not isinstance(clauses, dict) or not clauses:
            found.append((where, "must be an object of condition keys to value lists"))
            continue
        for key, values in clauses.items():
            at = f"{where}.{key}"
            if not isinstance(values, (list, str, int, float, bool)) or (isinstance(values, list) and not values):
                found.append((at, "must be a value or a non-empty list of values"))
                continue
            if not known_condition_key(key):
                found.append((at, f"unknown condition key {str(key)[:80]!r}"))
                continue
            if actions and not any(catalog.condition_key_applies(a, key) for a in actions):
                found.append((at, f"condition key {key} applies to none of the statement's actions"))
            for index, value in enumerate(values if isinstance(values, list) else [values]):
                if "Like" in base and isinstance(value, str) and (problem := wildcard.pattern_problem(value)):
                    found.append((f"{at}[{index}]", problem))
                    continue
                if conditions.has_variables(value):
                    unknown = [v for v in conditions.variables_in(value) if not known_condition_key(v)]
                    if unknown:
                        found.append((f"{at}[{index}]", f"unknown variable ${{{unknown[0]}}}"))
                    continue
                problem = conditions.validate_value(base, value)
                if problem:
                    found.append((f"{at}[{index}]", problem))
    return found


_LOWER_CASE_IDS = {"SubAccount", "Group", "Policy", "Role"}


def _canonical_resource(pattern: str) -> str:
    """IAM resource ids are lower-case UUIDs: an NRN naming one in another case would never match, so it is stored
    lower-cased (not when it holds a ${variable}, whose name is case-sensitive)."""
    if pattern == "*" or "${" in pattern:
        return pattern
    head, _, resource = pattern.rpartition(":")
    resource_type, slash, resource_id = resource.partition("/")
    if slash and resource_type in _LOWER_CASE_IDS and ":IAM:" in head + ":":
        return f"{head}:{resource_type}/{resource_id.lower()}"
    return pattern


def normalize(permissions: list) -> list:
    """A clean copy: resourceNrns defaulted to ['*'], nothing else changed."""
    result = []
    for statement in permissions:
        clean = {"effect": statement["effect"], "targets": []}
        for target in statement["targets"]:
            clean["targets"].append(
                {
                    "product": target["product"],
                    "actions": list(target["actions"]),
                    "resourceNrns": [_canonical_resource(r) for r in target.get("resourceNrns") or ["*"]],
                }
            )
        if statement.get("condition"):
            clean["condition"] = statement["condition"]
        result.append(clean)
    return result


def add_related(permissions: list, previous: list | None = None) -> list:
    """Add the related actions of every action that ``previous`` did not already grant for that product.

    On creation every action brings its related ones; on a later update only newly added actions do, so a related
    action that the user removed afterwards stays removed. Only Allow statements are expanded: related actions are
    what an allowed action needs to work, and adding them to a Deny would deny more than the user wrote.
    """
    before: dict[str, set[str]] = {}
    for statement in previous or ():
        if statement.get("effect") != "Allow":
            continue
        for target in statement.get("targets", ()):
            before.setdefault(target.get("product"), set()).update(target.get("actions", ()))
    for statement in permissions:
        if statement["effect"] != "Allow":
            continue
        for target in statement["targets"]:
            product, actions = target["product"], target["actions"]
            new = [a for a in actions if a not in before.get(product, set())]
            expanded = catalog.with_related(product, new)
            target["actions"] = list(dict.fromkeys(actions + [a for a in expanded if a not in actions]))
    return permissions


def warnings(permissions: list) -> list[dict]:
    """Non-blocking findings of a valid document, graded SECURITY_WARNING, WARNING or SUGGESTION."""
    found = []

    def add(severity: str, location: str, message: str) -> None:
        found.append({"severity": severity, "location": location, "message": message})

    for i, statement in enumerate(permissions):
        allow = statement.get("effect") == "Allow"
        condition = statement.get("condition") or {}
        for j, target in enumerate(statement["targets"]):
            place = f"permissions[{i}].targets[{j}]"
            actions, resources = target["actions"], target.get("resourceNrns") or ["*"]
            if allow and not condition and "*" in actions and "*" in resources:
                add("SECURITY_WARNING", place, "allows every action on every resource without a condition")
            if allow and "*" not in resources:
                product_actions = [a for a in statement_actions({"targets": [target]}) if not a.resource_types]
                if product_actions and not any(p in ("*", "View*", "Change*") for p in actions):
                    names = ", ".join(a.name for a in product_actions[:5])
                    add(
                        "WARNING", f"{place}.resourceNrns", f"{names} have no resource type and are only allowed on '*'"
                    )
            duplicates = sorted({a for a in actions if actions.count(a) > 1})
            if duplicates:
                add("SUGGESTION", f"{place}.actions", f"listed more than once: {', '.join(duplicates)}")
            patterns = [p for p in actions if p in ("*", "View*", "Change*")]
            covered = [a for a in actions if a not in patterns and any(action_matches(p, a) for p in patterns)]
            if covered:
                add("SUGGESTION", f"{place}.actions", f"already covered by {patterns[0]}: {', '.join(covered[:5])}")
        if allow and condition:
            actions = statement_actions(statement)
            for key in {k for clauses in condition.values() for k in clauses}:
                excluded = [a.name for a in actions if not catalog.condition_key_applies(a, key)]
                if excluded and len(excluded) < len(actions):
                    add(
                        "WARNING",
                        f"permissions[{i}].condition",
                        f"{key} does not apply to {', '.join(excluded[:5])}"
                        f"{' and more' if len(excluded) > 5 else ''}; this statement cannot allow them",
                    )
    return found


def findings(permissions) -> list[dict]:
    """Every finding of a document: ERRORs when it is invalid, otherwise the graded warnings."""
    errors = problems(permissions)
    if errors:
        return [{"severity": "ERROR", "location": place, "message": message} for place, message in errors]
    return warnings(normalize(permissions))

"""Shape and catalog checks of policy documents, and related-action expansion. Pure Python, no Django.

A document is the ``permissions`` list of the wire format:
``[{"effect": "Allow"|"Deny", "targets": [{"product", "actions", "resourceNrns"}], "condition": {...}}]``.
"""

from iam import catalog, nrn

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
            found.extend(_condition_problems(condition, f"{place}.condition"))
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
            if resource != "*" and not (isinstance(resource, str) and nrn.is_valid(resource)):
                found.append((f"{place}.resourceNrns[{k}]", f"malformed NRN {str(resource)[:120]!r}"))
    return found


def _condition_problems(condition, place: str) -> list[tuple[str, str]]:
    if not isinstance(condition, dict):
        return [(place, "must be an object of operators")]
    found = []
    for operator, clauses in condition.items():
        if not isinstance(clauses, dict) or not clauses:
            found.append((f"{place}.{operator}", "must be an object of condition keys to value lists"))
            continue
        for key, values in clauses.items():
            if not isinstance(values, (list, str, int, float, bool)):
                found.append((f"{place}.{operator}.{key}", "must be a value or a list of values"))
    return found


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
                    "resourceNrns": list(target.get("resourceNrns") or ["*"]),
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
    """Non-blocking findings of a valid document (the full grading comes with the authorization engine)."""
    findings = []
    for i, statement in enumerate(permissions):
        if statement.get("effect") != "Allow" or statement.get("condition"):
            continue
        for j, target in enumerate(statement["targets"]):
            if "*" in target["actions"] and "*" in (target.get("resourceNrns") or ["*"]):
                findings.append(
                    {
                        "severity": "SECURITY_WARNING",
                        "location": f"permissions[{i}].targets[{j}]",
                        "message": "allows every action on every resource without a condition",
                    }
                )
    return findings

"""Evaluating policy documents for one request. Pure Python, no Django.

This is the Sub Account core's evaluator: exact catalog actions, ``View*``, ``Change*`` and ``*``;
resources ``*`` or exact NRNs; Deny beats Allow; nothing matching means denied. Conditions are
evaluated by the authorization engine that replaces this one; until then a statement with a
condition never allows (it cannot be proven to hold) and a Deny with a condition always applies
(failing closed).
"""

from collections.abc import Iterable
from dataclasses import dataclass

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True)
class Request:
    """One (product, action, resource) to decide; resource None for actions without a resource type."""

    product: str
    action: str
    resource: str | None = None


def action_matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    if pattern == "View*":
        return action.startswith("View/")
    if pattern == "Change*":
        return action.startswith("Change/")
    return pattern == action


def resource_matches(pattern: str, resource: str | None) -> bool:
    if pattern == "*":
        return True
    # An action without a resource type can only be granted on "*" (as in AWS IAM).
    return resource is not None and pattern == resource


def _target_matches(target: dict, request: Request) -> bool:
    product = target.get("product")
    if product != "*" and product != request.product:
        return False
    if not any(action_matches(a, request.action) for a in target.get("actions") or ()):
        return False
    resources = target.get("resourceNrns") or ["*"]
    return any(resource_matches(r, request.resource) for r in resources)


def evaluate(statements: Iterable[dict], request: Request) -> str:
    """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for one request against policy statements."""
    allowed = False
    for statement in statements:
        if not any(_target_matches(t, request) for t in statement.get("targets") or ()):
            continue
        has_condition = bool(statement.get("condition"))
        if statement.get("effect") == "Deny":
            return EXPLICIT_DENY
        if statement.get("effect") == "Allow" and not has_condition:
            allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY

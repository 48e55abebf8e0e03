"""What a decision is about and how actions match. Pure Python, no Django.

The request shape and the action-pattern rule shared by the engine (iam/policy/engine.py), the document checks
(iam/policy/document.py) and the endpoint table (iam/gateway/endpoint_actions.py).
"""

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
    """Exact catalog names, ``View*``, ``Change*`` and ``*``."""
    if pattern == "*":
        return True
    if pattern == "View*":
        return action.startswith("View/")
    if pattern == "Change*":
        return action.startswith("Change/")
    return pattern == action

"""The policy simulator: what a principal (or a set of policy documents) may do, and why."""

import uuid
from dataclasses import dataclass

from iam.errors import InvalidInput, NotFound
from iam.gateway.authz import condition_principal_type, principal_context, role_session_forbidden
from iam.gateway.principals import ROLE, sub_account_principal
from iam.models import Account, Role, SubAccount
from iam.policy import catalog
from iam.policy import document as policy_document
from iam.policy.engine import EXPLICIT_DENY, CompiledPolicies, Explanation
from iam.policy.request import Request, action_matches
from iam.selectors import principal_policies, role_policies

MAX_PAIRS = 1000


@dataclass(frozen=True)
class SimulationSubject:
    """Whose permissions are simulated: a sub account, a role, or bare documents."""

    policies: list[tuple[str, list]]
    base_context: dict
    role_session: bool = False  # a role's permissions are what its sessions may do


# A role session's fixed limit shows in explanations as this synthetic Deny statement (see iam.gateway.authz).
ROLE_SESSION_RESTRICTION_STATEMENT = {"policyId": "role-session-restriction", "permissionIndex": 0, "effect": "Deny"}


def subject_for_sub_account(*, account: Account, sub_account: SubAccount) -> SimulationSubject:
    principal = sub_account_principal(sub_account, account)
    context = principal_context(principal)
    context.pop("ncp:SourceIp", None)
    return SimulationSubject(principal_policies(principal), context)


def subject_for_role(*, role: Role) -> SimulationSubject:
    return SimulationSubject(
        role_policies(role_id=role.pk),
        {
            "ncp:principalType": condition_principal_type(ROLE),
            "ncp:principalName": role.name,
            "ncp:principalId": role.role_no,
        },
        role_session=True,
    )


def subject_for_documents(documents) -> SimulationSubject:
    if not isinstance(documents, list) or not documents:
        raise InvalidInput.field("policyDocuments", "must be a non-empty list of permission lists")
    policies = []
    for index, permissions in enumerate(documents):
        problems = policy_document.problems(permissions)
        if problems:
            place, message = problems[0]
            field = f"policyDocuments[{index}]" + place[len("permissions") :]
            raise InvalidInput.field(field, message)
        policies.append((f"document-{index}", policy_document.normalize(permissions)))
    return SimulationSubject(policies, {})


def parse_actions(actions) -> list[tuple[str, str]]:
    """``"SubAccount:View/getSubAccountList"`` or ``{"product", "action"}`` items, each a catalog action."""
    if not isinstance(actions, list) or not actions:
        raise InvalidInput.field("actions", "must be a non-empty list")
    parsed = []
    for index, item in enumerate(actions):
        if isinstance(item, str) and ":" in item:
            product, action = item.split(":", 1)
        elif isinstance(item, dict):
            product, action = item.get("product"), item.get("action")
        else:
            raise InvalidInput.field(f"actions[{index}]", "use 'Product:Action' or {product, action}")
        if not catalog.is_known_action(product, action):
            raise InvalidInput.field(f"actions[{index}]", f"unknown action {product}:{action}")
        parsed.append((product, action))
    return parsed


def simulate(
    *, subject: SimulationSubject, actions: list[tuple[str, str]], resources: list[str], context: dict
) -> list[dict]:
    """For each (action, resource): the decision, the statements that matched and the context keys missing."""
    if len(actions) * len(resources) > MAX_PAIRS:
        raise InvalidInput.field("resourceNrns", f"at most {MAX_PAIRS} action and resource pairs at once")
    compiled = CompiledPolicies(subject.policies)
    full_context = {**subject.base_context, **context}
    own_policies = {policy_id for policy_id, _ in subject.policies}
    results = []
    for product, action in actions:
        for resource in resources:
            request = Request(product, action, None if resource == "*" else resource)
            explanation = compiled.explain(request, full_context)
            if subject.role_session and role_session_forbidden(request, own_policies):
                explanation = Explanation(
                    EXPLICIT_DENY,
                    [*explanation.matched, ROLE_SESSION_RESTRICTION_STATEMENT],
                    explanation.missing_context_keys,
                )
            results.append(
                {
                    "product": product,
                    "action": action,
                    "resourceNrn": resource,
                    "decision": explanation.decision,
                    "matchedStatements": explanation.matched,
                    "missingContextKeys": explanation.missing_context_keys,
                }
            )
    return results


def resources_named(*, subject: SimulationSubject, product: str) -> dict[str, list[str]]:
    """For each catalog action of ``product``: the resource NRNs (patterns) the subject's Allow statements name for
    it, so an action allowed only on some resources can be shown as such (its conditions and Denies still apply)."""
    named: dict[str, list[str]] = {}
    for _, statements in subject.policies:
        for statement in statements or []:
            if not isinstance(statement, dict) or statement.get("effect") != "Allow":
                continue
            for target in statement.get("targets") or []:
                if target.get("product") not in (product, "*"):
                    continue
                patterns = [p for p in target.get("actions") or [] if isinstance(p, str)]
                for action in catalog.actions_for(product):
                    if any(action_matches(p, action.name) for p in patterns):
                        resources = named.setdefault(action.name, [])
                        resources.extend(r for r in target.get("resourceNrns") or [] if r not in resources)
    return named


def find_subject(*, account: Account, sub_account_id=None, role_no=None, documents=None) -> SimulationSubject:
    """The subject named by exactly one of a sub account id, a role number or policy documents."""
    named = [v for v in (sub_account_id, role_no, documents) if v not in (None, "")]
    if len(named) != 1:
        raise InvalidInput.field("subAccountId", "name exactly one of subAccountId, roleNo or policyDocuments")
    if sub_account_id:
        try:
            key = uuid.UUID(str(sub_account_id))
        except ValueError:
            raise NotFound("no such sub account", field_errors=[("subAccountId", "no such sub account")]) from None
        sub = SubAccount.objects.for_account(account).select_related("account").filter(sub_account_id=key).first()
        if sub is None:
            raise NotFound("no such sub account", field_errors=[("subAccountId", "no such sub account")])
        return subject_for_sub_account(account=account, sub_account=sub)
    if role_no:
        role = Role.objects.for_account(account).filter(role_no=str(role_no)).first()
        if role is None:
            raise NotFound("no such role", field_errors=[("roleNo", "no such role")])
        return subject_for_role(role=role)
    return subject_for_documents(documents)

"""Reads with business meaning."""

import uuid

from django.db.models import Q

from iam import nrn
from iam.models import Group, Policy, PolicyAttachment, Role, SubAccount
from iam.principals import ROLE, SUB_ACCOUNT, Principal


def principal_policies(principal: Principal) -> list[tuple[str, list]]:
    """(policy id, statements) of every policy that applies to a principal, one query: a sub account's own and its
    groups', or a role session's role's (whoever is behind the session)."""
    if principal.principal_type == ROLE:
        return role_policies(role_id=principal.role_id) if principal.role_id is not None else []
    if principal.principal_type != SUB_ACCOUNT or principal.sub_account_no is None:
        return []
    rows = (
        Policy.objects.filter(
            Q(attachments__sub_account_id=principal.sub_account_no)
            | Q(attachments__group__memberships__sub_account_id=principal.sub_account_no)
        )
        .distinct()
        .order_by("id")
        .values_list("policy_id", "permissions")
    )
    return [(policy_id, permissions or []) for policy_id, permissions in rows]


def role_policies(*, role_id: int) -> list[tuple[str, list]]:
    """(policy id, statements) of the policies attached to a role."""
    rows = Policy.objects.filter(attachments__role_id=role_id).order_by("id").values_list("policy_id", "permissions")
    return [(policy_id, permissions or []) for policy_id, permissions in rows]


_TAGGED = {
    "SubAccount": (SubAccount, "sub_account_id"),
    "Group": (Group, "group_id"),
    "Policy": (Policy, "policy_id"),
    "Role": (Role, "role_no"),
}


def resource_tags(*, account_id: int, resource_nrn: str) -> dict:
    """The tags of the IAM resource an NRN names, within one account ({} when there is no such resource)."""
    try:
        parsed = nrn.parse(resource_nrn)
    except nrn.InvalidNrn:
        return {}
    model_field = _TAGGED.get(parsed.resource_type)
    if parsed.product != nrn.IAM or model_field is None:
        return {}
    model, field = model_field
    if field in ("sub_account_id", "group_id"):
        try:
            uuid.UUID(parsed.resource_id)
        except ValueError:
            return {}
    row = model.objects.filter(**{field: parsed.resource_id, "account_id": account_id}).values_list("tags", flat=True)
    return next(iter(row), None) or {}


def resource_counts(*, account) -> dict:
    """What the dashboard shows: how many of each resource the account has."""
    return {
        "subAccountCount": SubAccount.objects.for_account(account).count(),
        "groupCount": Group.objects.for_account(account).count(),
        "policyCount": Policy.objects.filter(account=account).count(),
        "roleCount": Role.objects.for_account(account).count(),
    }


def policy_resources(*, policy: Policy, account) -> dict:
    """The sub accounts, groups and roles of this account the policy is attached to."""
    attachments = PolicyAttachment.objects.filter(policy=policy, account=account).select_related(
        "sub_account", "group", "role"
    )
    result = {"subAccounts": [], "groups": [], "roles": []}
    for a in attachments:
        if a.sub_account_id:
            s = a.sub_account
            result["subAccounts"].append(
                {
                    "subAccountId": str(s.sub_account_id),
                    "loginId": s.login_id,
                    "name": s.name,
                    "attachTime": a.create_time,
                }
            )
        elif a.group_id:
            g = a.group
            result["groups"].append({"groupId": str(g.group_id), "groupName": g.name, "attachTime": a.create_time})
        else:
            r = a.role
            result["roles"].append({"roleNo": r.role_no, "roleName": r.name, "attachTime": a.create_time})
    return result


def attached_policies(**target) -> list[Policy]:
    """The policies attached directly to one sub account, group or role."""
    return [a.policy for a in PolicyAttachment.objects.filter(**target).select_related("policy")]

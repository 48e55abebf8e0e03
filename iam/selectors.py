"""Reads with business meaning."""

from django.db.models import Q

from iam.models import Group, Policy, PolicyAttachment, Role, SubAccount
from iam.principals import SUB_ACCOUNT, Principal


def principal_statements(principal: Principal) -> list[dict]:
    """Every statement of the policies that apply to a principal (its own and its groups'), in one query."""
    if principal.principal_type != SUB_ACCOUNT or principal.sub_account_no is None:
        return []
    documents = (
        Policy.objects.filter(
            Q(attachments__sub_account_id=principal.sub_account_no)
            | Q(attachments__group__memberships__sub_account_id=principal.sub_account_no)
        )
        .distinct()
        .values_list("permissions", flat=True)
    )
    return [statement for document in documents for statement in document or ()]


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

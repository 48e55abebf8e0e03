"""User-defined policies: create within the 500 limit, change, delete, attach and detach."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F

from iam import outbox
from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import Account, Group, Policy, PolicyAttachment, Role, SubAccount
from iam.policy import catalog
from iam.policy import document as policy_document
from iam.services import validation
from iam.signals import authz_changed

POLICY_WIRE_NAMES = {"name": "policyName", "permissions": "permissions"}


def _check_document(permissions) -> list:
    found = policy_document.problems(permissions)
    if found:
        raise InvalidInput("; ".join(f"{p}: {m}" for p, m in found[:20]), field_errors=found)
    return policy_document.normalize(permissions)


def _check_name(account: Account, name, exclude_pk=None) -> None:
    if isinstance(name, str) and catalog.get_system_policy(name) is not None:
        raise Conflict("policyName: the name of a system-managed policy", field_errors=[("policyName", "reserved")])
    if Policy.objects.filter(account=account, name=name).exclude(pk=exclude_pk).exists():
        raise Conflict("policyName: already in use", field_errors=[("policyName", "already in use")])


@transaction.atomic
def policy_create(
    *, account: Account, name: str, permissions: list, description: str = "", tags: dict | None = None
) -> Policy:
    """Create a user-defined policy; its actions' related actions are added; at most 500 per account."""
    document = policy_document.add_related(_check_document(permissions))
    policy = Policy(
        account=account,
        name=name,
        policy_type=Policy.USER_CREATED,
        description=description or "",
        permissions=document,
        tags=validation.tags(tags),
    )
    validation.full_clean(policy, POLICY_WIRE_NAMES)
    _check_name(account, name)
    # The conditional increment is the limit: concurrent creates queue on the account's counter row and
    # each sees the committed count, so no more than the limit can ever pass.
    if not Account.objects.filter(pk=account.pk, policy_count__lt=settings.IAM_MAX_POLICIES).update(
        policy_count=F("policy_count") + 1
    ):
        raise QuotaExceeded(f"an account has at most {settings.IAM_MAX_POLICIES} user-defined policies")
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise Conflict("policyName: already in use", field_errors=[("policyName", "already in use")]) from None
    outbox.enqueue("iam.tasks.policy_counter_reconcile_account", account.pk)
    return policy


def _user_policy(policy: Policy) -> None:
    if policy.is_system:
        raise Conflict("system-managed policies cannot be changed or deleted")


@transaction.atomic
def policy_update(*, policy: Policy, **changes) -> Policy:
    """Change a user-defined policy; only actions new to it bring their related actions."""
    _user_policy(policy)
    unknown = set(changes) - {"name", "description", "permissions", "tags"}
    if unknown:
        raise InvalidInput(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    locked = Policy.objects.select_for_update().get(pk=policy.pk)
    if "permissions" in changes:
        changes["permissions"] = policy_document.add_related(
            _check_document(changes["permissions"]), previous=locked.permissions
        )
    if "tags" in changes:
        changes["tags"] = validation.tags(changes["tags"])
    for field, value in changes.items():
        setattr(locked, field, value if value is not None else "")
    validation.full_clean(locked, POLICY_WIRE_NAMES)
    if "name" in changes:
        _check_name(locked.account, locked.name, exclude_pk=locked.pk)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise Conflict("policyName: already in use", field_errors=[("policyName", "already in use")]) from None
    return locked


def _describe_attachments(attachments) -> list[str]:
    described = []
    for a in attachments:
        if a.sub_account_id:
            described.append(f"sub account {a.sub_account.login_id}")
        elif a.group_id:
            described.append(f"group {a.group.name}")
        else:
            described.append(f"role {a.role.name}")
    return described


@transaction.atomic
def policy_delete(*, policy: Policy) -> None:
    """Delete a user-defined policy that is attached nowhere (409 naming the attachments otherwise)."""
    _user_policy(policy)
    locked = Policy.objects.select_for_update().get(pk=policy.pk)
    attachments = list(locked.attachments.select_related("sub_account", "group", "role")[:50])
    if attachments:
        where = _describe_attachments(attachments)
        raise Conflict(
            "the policy is attached to " + ", ".join(where) + "; detach it first",
            field_errors=[("policyId", f"attached to {w}") for w in where],
        )
    locked.delete()
    Account.objects.filter(pk=locked.account_id, policy_count__gt=0).update(policy_count=F("policy_count") - 1)
    outbox.enqueue("iam.tasks.policy_counter_reconcile_account", locked.account_id)


def policies_by_id(account: Account, policy_ids: list[str]) -> list[Policy]:
    """The account's (or system) policies with these ids, 404 naming any that do not exist for it."""
    ids = validation.id_list(policy_ids, "policyIdList")
    found = {p.policy_id: p for p in Policy.objects.for_account(account).filter(policy_id__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"no such policy: {', '.join(missing)}",
            field_errors=[("policyIdList", f"no such policy: {m}") for m in missing],
        )
    return [found[i] for i in ids]


def _target_kwargs(target) -> dict:
    if isinstance(target, SubAccount):
        return {"sub_account": target}
    if isinstance(target, Group):
        return {"group": target}
    if isinstance(target, Role):
        return {"role": target}
    raise TypeError(f"policies attach to sub accounts, groups and roles, not {type(target).__name__}")


@transaction.atomic
def policies_attach(*, target, policy_ids: list[str]) -> int:
    """Attach policies to a sub account, group or role; already attached ones are left as they are."""
    policies = policies_by_id(target.account, policy_ids)
    kwargs = _target_kwargs(target)
    existing = set(PolicyAttachment.objects.filter(**kwargs).values_list("policy_id", flat=True))
    new = [PolicyAttachment(policy=p, account=target.account, **kwargs) for p in policies if p.pk not in existing]
    try:
        with transaction.atomic():
            PolicyAttachment.objects.bulk_create(new)
            if new:
                authz_changed(target.account_id)  # bulk_create sends no post_save
    except IntegrityError:
        raise Conflict("a concurrent change attached the same policy; retry") from None
    return len(new)


@transaction.atomic
def policies_detach(*, target, policy_ids: list[str]) -> int:
    """Detach policies from a sub account, group or role."""
    policies = policies_by_id(target.account, policy_ids)
    deleted, _ = PolicyAttachment.objects.filter(policy__in=policies, **_target_kwargs(target)).delete()
    return deleted


@transaction.atomic
def policy_resources_detach(*, policy: Policy, account: Account, sub_account_ids=(), group_ids=(), role_nos=()) -> int:
    """Detach a policy from the named sub accounts, groups and roles (the policy's side of detaching)."""
    if not (sub_account_ids or group_ids or role_nos):
        raise InvalidInput.field("subAccountIdList", "name at least one sub account, group or role")
    filters = PolicyAttachment.objects.none()
    base = PolicyAttachment.objects.filter(policy=policy, account=account)
    if sub_account_ids:
        filters |= base.filter(sub_account__sub_account_id__in=_as_uuids(sub_account_ids, "subAccountIdList"))
    if group_ids:
        filters |= base.filter(group__group_id__in=_as_uuids(group_ids, "groupIdList"))
    if role_nos:
        filters |= base.filter(role__role_no__in=validation.id_list(list(role_nos), "roleNoList"))
    deleted, _ = PolicyAttachment.objects.filter(pk__in=filters.values("pk")).delete()
    return deleted


def _as_uuids(values, field: str) -> list[str]:
    from iam.services.sub_accounts import _uuids

    return _uuids(validation.id_list(list(values), field), field)


@transaction.atomic
def policy_counter_reconcile(*, account: Account) -> tuple[int, int]:
    """Set the account's policy counter to the number of its user-defined policies; returns (before, after)."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    actual = Policy.objects.filter(account=locked, policy_type=Policy.USER_CREATED).count()
    before = locked.policy_count
    if before != actual:
        Account.objects.filter(pk=locked.pk).update(policy_count=actual)
    return before, actual


def policy_counters_drifted() -> list[int]:
    """Ids of accounts whose counter disagrees with their rows."""
    counts = dict(
        Policy.objects.filter(policy_type=Policy.USER_CREATED)
        .values_list("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    return [pk for pk, stored in Account.objects.values_list("pk", "policy_count") if counts.get(pk, 0) != stored]

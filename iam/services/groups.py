"""Groups and their members."""

from django.conf import settings
from django.db import IntegrityError, transaction

from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import Account, Group, GroupMembership, SubAccount
from iam.services import validation
from iam.services.sub_accounts import _uuids, memberships_add


def _name_taken(account: Account, name: str, exclude_pk=None) -> bool:
    return Group.objects.for_account(account).filter(name=name).exclude(pk=exclude_pk).exists()


@transaction.atomic
def group_create(*, account: Account, name: str, description: str = "", tags: dict | None = None) -> Group:
    """Create a group within the 300 limit."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    group = Group(account=locked, name=name, description=description or "", tags=validation.tags(tags))
    validation.full_clean(group, {"name": "groupName"})
    if _name_taken(locked, name):
        raise Conflict("groupName: already in use", field_errors=[("groupName", "already in use")])
    if Group.objects.for_account(locked).count() >= settings.IAM_MAX_GROUPS:
        raise QuotaExceeded(f"an account has at most {settings.IAM_MAX_GROUPS} groups")
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise Conflict("groupName: already in use", field_errors=[("groupName", "already in use")]) from None
    return group


@transaction.atomic
def group_update(*, group: Group, **changes) -> Group:
    """Change a group's name, description or tags."""
    unknown = set(changes) - {"name", "description", "tags"}
    if unknown:
        raise InvalidInput(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    locked = Group.objects.select_for_update().select_related("account").get(pk=group.pk)
    if "tags" in changes:
        changes["tags"] = validation.tags(changes["tags"])
    for field, value in changes.items():
        setattr(locked, field, value if value is not None or field == "tags" else "")
    validation.full_clean(locked, {"name": "groupName"})
    if "name" in changes and _name_taken(locked.account, locked.name, exclude_pk=locked.pk):
        raise Conflict("groupName: already in use", field_errors=[("groupName", "already in use")])
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise Conflict("groupName: already in use", field_errors=[("groupName", "already in use")]) from None
    return locked


@transaction.atomic
def group_delete(*, group: Group) -> None:
    """Delete a group; its members stay, its policy attachments go."""
    Group.objects.filter(pk=group.pk).delete()


def _sub_accounts_by_id(account: Account, ids: list[str]) -> list[SubAccount]:
    # Ids are compared in their canonical form, so an upper-case or unhyphenated UUID finds its sub account.
    canonical = _uuids(ids, "subAccountIdList")
    found = {
        str(s.sub_account_id): s for s in SubAccount.objects.for_account(account).filter(sub_account_id__in=canonical)
    }
    missing = [given for given, c in zip(ids, canonical, strict=True) if c not in found]
    if missing:
        raise NotFound(
            f"no such sub account: {', '.join(missing)}",
            field_errors=[("subAccountIdList", f"no such sub account: {m}") for m in missing],
        )
    return [found[c] for c in dict.fromkeys(canonical)]


@transaction.atomic
def group_members_add(*, group: Group, sub_account_ids: list[str]) -> int:
    """Add sub accounts to a group (each within its 10-group limit)."""
    ids = validation.id_list(sub_account_ids, "subAccountIdList")
    sub_accounts = _sub_accounts_by_id(group.account, ids)
    return memberships_add(account=group.account, sub_accounts=sub_accounts, groups=[group])


@transaction.atomic
def group_members_remove(*, group: Group, sub_account_ids: list[str]) -> int:
    """Remove sub accounts from a group."""
    ids = validation.id_list(sub_account_ids, "subAccountIdList")
    sub_accounts = _sub_accounts_by_id(group.account, ids)
    deleted, _ = GroupMembership.objects.filter(group=group, sub_account__in=sub_accounts).delete()
    return deleted

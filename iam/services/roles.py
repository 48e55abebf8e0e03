"""Roles: create, change, suspend and delete (targets come with the roles issue; switching is in sts.services)."""

from django.conf import settings
from django.db import IntegrityError, transaction

from iam.errors import Conflict, InvalidInput, QuotaExceeded
from iam.models import AccessKey, Account, Role
from iam.services import validation
from iam.services.accounts import temporary_keys_end

ROLE_WIRE_NAMES = {"name": "roleName", "description": "descCont", "role_type": "roleType"}


@transaction.atomic
def role_create(
    *,
    account: Account,
    name: str,
    role_type: str,
    session_expiration_sec: int | None = None,
    description: str = "",
    tags: dict | None = None,
) -> Role:
    """Create a role."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if role_type == Role.SINGLE_SIGN_ON:
        raise InvalidInput.field("roleType", "Single Sign-On roles are created by Ncloud Single Sign-On")
    if role_type == Role.ACCOUNT and session_expiration_sec is None:
        session_expiration_sec = 3600
    role = Role(
        account=locked,
        name=name,
        role_type=role_type,
        session_expiration_sec=session_expiration_sec,
        description=description or "",
        tags=validation.tags(tags),
    )
    validation.full_clean(role, ROLE_WIRE_NAMES)
    if Role.objects.for_account(locked).filter(name=name).exists():
        raise Conflict("roleName: already in use", field_errors=[("roleName", "already in use")])
    if Role.objects.for_account(locked).count() >= settings.IAM_MAX_ROLES:
        raise QuotaExceeded(f"an account has at most {settings.IAM_MAX_ROLES} roles")
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError:
        raise Conflict("roleName: already in use", field_errors=[("roleName", "already in use")]) from None
    return role


@transaction.atomic
def role_update(*, role: Role, **changes) -> Role:
    """Change a role's name, description, session expiry (Account roles), tags or active state; never its type.

    ``role_type`` may be passed only with the role's current type (a client that echoes the whole role back).
    """
    unknown = set(changes) - {"name", "description", "session_expiration_sec", "tags", "active", "role_type"}
    if unknown:
        raise InvalidInput(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    locked = Role.objects.select_for_update().select_related("account").get(pk=role.pk)
    if "role_type" in changes and changes.pop("role_type") != locked.role_type:
        raise InvalidInput.field("roleType", "the type of a role cannot be changed")
    if "tags" in changes:
        changes["tags"] = validation.tags(changes["tags"])
    for field, value in changes.items():
        setattr(locked, field, value)
    validation.full_clean(locked, ROLE_WIRE_NAMES)
    if (
        "name" in changes
        and Role.objects.for_account(locked.account).filter(name=locked.name).exclude(pk=locked.pk).exists()
    ):
        raise Conflict("roleName: already in use", field_errors=[("roleName", "already in use")])
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise Conflict("roleName: already in use", field_errors=[("roleName", "already in use")]) from None
    if not locked.active:
        # Disabling a role logs its sessions out and "STS also expires": enabling it again does not revive them.
        temporary_keys_end(keys=AccessKey.objects.filter(role=locked))
    return locked


@transaction.atomic
def role_delete(*, role: Role) -> None:
    """Delete a role and its policy attachments."""
    Role.objects.filter(pk=role.pk).delete()

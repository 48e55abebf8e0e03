"""Roles: create, change, suspend and delete, and their targets (the servers of a Server role, the main accounts of
an Account role, the services of a Service role). Switching and sessions are in sts.services."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import AccessKey, Account, Role, RoleAccountTarget, RoleServiceTarget, Server, SubAccount
from iam.services import role_users, validation
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
    by_staff: bool = False,
) -> Role:
    """Create a role. An Account role starts with its own account as its one target. Single Sign-On roles come
    from Ncloud Single Sign-On: only staff (``by_staff``, the admin) create them here."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if role_type == Role.SINGLE_SIGN_ON and not by_staff:
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
    if role.role_type == Role.ACCOUNT:
        RoleAccountTarget.objects.create(role=role, target_account=locked)
    return role


def _not_single_sign_on(role: Role) -> None:
    if role.role_type == Role.SINGLE_SIGN_ON:
        raise InvalidInput.field("roleType", "Single Sign-On roles are managed in Ncloud Single Sign-On")


@transaction.atomic
def role_update(*, role: Role, by_staff: bool = False, **changes) -> Role:
    """Change a role's name, description, session expiry (Account roles), tags or active state; never its type.

    ``role_type`` may be passed only with the role's current type (a client that echoes the whole role back).
    """
    unknown = set(changes) - {"name", "description", "session_expiration_sec", "tags", "active", "role_type"}
    if unknown:
        raise InvalidInput(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    locked = Role.objects.select_for_update().select_related("account").get(pk=role.pk)
    if not by_staff:
        _not_single_sign_on(locked)
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
def role_delete(*, role: Role, by_staff: bool = False) -> None:
    """Delete a role, its policy attachments, targets and sessions (its servers keep running, without a role).
    A Service role that something still uses (an External Access profile, say) is not deleted: 409 with the list."""
    locked = Role.objects.select_for_update().get(pk=role.pk)
    if not by_staff:
        _not_single_sign_on(locked)
    if locked.role_type == Role.SERVICE:
        users = role_users.role_users(locked)
        if users:
            raise Conflict(
                f"the role is still used by: {', '.join(users)}; remove the role from them first",
                field_errors=[("roleNo", f"used by {user}") for user in users],
            )
    Role.objects.filter(pk=locked.pk).delete()


# Targets ----------------------------------------------------------------------------------------------------------


def _of_type(role: Role, role_type: str, what: str) -> None:
    if role.role_type != role_type:
        raise InvalidInput.field("roleType", f"{what} are targets of {role_type} roles only, not {role.role_type}")


def _locked_role(role: Role) -> Role:
    return Role.objects.select_for_update().select_related("account").get(pk=role.pk)


def _servers_named(role: Role, server_instance_nos: list[str]) -> list[Server]:
    """The role's account's servers with these instance numbers, locked; 404 naming the first unknown one."""
    wanted = list(dict.fromkeys(str(no) for no in server_instance_nos))
    if not wanted:
        raise InvalidInput.field("serverInstanceNoList", "name at least one server")
    servers = list(
        Server.objects.for_account(role.account)
        .filter(server_instance_no__in=wanted)
        .select_for_update()
        .order_by("server_instance_no")
    )
    found = {server.server_instance_no for server in servers}
    missing = [no for no in wanted if no not in found]
    if missing:
        raise NotFound(
            f"no such server: {missing[0]}", field_errors=[("serverInstanceNoList", f"no such server: {missing[0]}")]
        )
    return servers


@transaction.atomic
def role_servers_attach(*, role: Role, server_instance_nos: list[str]) -> list[Server]:
    """Give the named servers this Server role. A server has at most one role: one that has another is refused
    (detach that first), so no server's permissions change behind its owner's back."""
    locked = _locked_role(role)
    _of_type(locked, Role.SERVER, "servers")
    servers = _servers_named(locked, server_instance_nos)
    taken = [s for s in servers if s.role_id is not None and s.role_id != locked.pk]
    if taken:
        message = f"server {taken[0].server_instance_no} already has another role"
        raise Conflict(message, field_errors=[("serverInstanceNoList", message)])
    Server.objects.filter(pk__in=[s.pk for s in servers]).update(role=locked)
    return servers


@transaction.atomic
def role_servers_detach(*, role: Role, server_instance_nos: list[str]) -> int:
    """Take this role from the named servers; the keys they read from the metadata endpoint end at once."""
    locked = _locked_role(role)
    _of_type(locked, Role.SERVER, "servers")
    servers = [s for s in _servers_named(locked, server_instance_nos) if s.role_id == locked.pk]
    detached = Server.objects.filter(pk__in=[s.pk for s in servers]).update(role=None)
    temporary_keys_end(keys=AccessKey.objects.filter(role=locked, server__in=servers))
    return detached


def _verified_account(account_name: str, login_id: str) -> Account:
    """The main account called ``account_name`` that ``login_id`` signs in to (its own login ID, which is its
    email, or one of its sub accounts' login IDs). One answer for every mismatch, so the call cannot be used to
    learn which accounts or login IDs exist."""
    refused = InvalidInput.field("loginId", "does not match an account of that name")
    name = (account_name or "").strip()
    login = (login_id or "").strip()
    if not name or not login:
        raise refused
    candidates = Account.objects.filter(name=name, active=True).filter(
        Q(email__iexact=login)
        | Q(pk__in=SubAccount.objects.annotate(l=Lower("login_id")).filter(l=login.lower()).values("account_id"))
    )
    found = list(candidates[:2])
    if len(found) != 1:
        raise refused
    return found[0]


@transaction.atomic
def role_account_attach(
    *, role: Role, account_name: str | None = None, login_id: str | None = None, own: bool = False
) -> Account:
    """Name a main account as a target of this Account role: the own account (``own``), or another one named by its
    account name and verified with a login ID of that account. The target's sub accounts still need their own
    account's policies to allow Change/switchRole on the role before they can switch."""
    locked = _locked_role(role)
    _of_type(locked, Role.ACCOUNT, "main accounts")
    target = locked.account if own else _verified_account(account_name or "", login_id or "")
    RoleAccountTarget.objects.get_or_create(role=locked, target_account=target)
    return target


@transaction.atomic
def role_accounts_detach(*, role: Role, member_nos: list[int]) -> int:
    """Remove main accounts from this Account role's targets; their sub accounts' sessions of it end at once."""
    locked = _locked_role(role)
    _of_type(locked, Role.ACCOUNT, "main accounts")
    if not member_nos:
        raise InvalidInput.field("memberNoList", "name at least one main account")
    targets = RoleAccountTarget.objects.filter(role=locked, target_account__member_no__in=member_nos)
    accounts = list(targets.values_list("target_account_id", flat=True))
    if len(accounts) != len(set(member_nos)):
        raise NotFound(
            "memberNoList: not every account is a target of the role",
            field_errors=[("memberNoList", "not every account is a target of the role")],
        )
    removed = targets.delete()[0]
    temporary_keys_end(keys=AccessKey.objects.filter(role=locked, sub_account__account_id__in=accounts))
    return removed


@transaction.atomic
def role_services_attach(*, role: Role, services: list[str]) -> None:
    """Let these services assume this Service role."""
    locked = _locked_role(role)
    _of_type(locked, Role.SERVICE, "services")
    known = {code for code, _ in RoleServiceTarget.SERVICE_CHOICES}
    if not services:
        raise InvalidInput.field("serviceList", "name at least one service")
    for index, service in enumerate(services):
        if service not in known:
            raise InvalidInput.field(f"serviceList[{index}]", f"must be one of {', '.join(sorted(known))}")
    for service in dict.fromkeys(services):
        RoleServiceTarget.objects.get_or_create(role=locked, service=service)


@transaction.atomic
def role_services_detach(*, role: Role, services: list[str]) -> int:
    """Stop these services from assuming this Service role."""
    locked = _locked_role(role)
    _of_type(locked, Role.SERVICE, "services")
    if not services:
        raise InvalidInput.field("serviceList", "name at least one service")
    return RoleServiceTarget.objects.filter(role=locked, service__in=services).delete()[0]


def role_assumable_by_service(*, role: Role, service: str) -> bool:
    """Whether ``service`` may assume ``role`` (an enabled Service role that names it)."""
    return (
        role.role_type == Role.SERVICE
        and role.active
        and RoleServiceTarget.objects.filter(role=role, service=service).exists()
    )

"""Sub accounts: create, change, suspend, delete, passwords, MFA, group membership and access keys."""

import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import LOGIN_ID_RE, AccessKey, Account, Group, GroupMembership, PasswordHistory, SubAccount
from iam.secrets import generate_password
from iam.services import validation
from iam.services.accounts import access_key_issue, temporary_keys_end
from iam.signals import authz_changed

UPDATABLE_FIELDS = (
    "name",
    "email",
    "memo",
    "active",
    "can_api_gateway_access",
    "can_console_access",
    "use_console_permit_ip",
    "console_permit_ips",
    "use_api_allow_source",
    "api_allow_sources",
    "need_password_reset",
    "is_mfa_mandatory",
    "tags",
)


def login_id_problem(*, account: Account, login_id) -> str | None:
    """Why a login ID cannot be used in this account, or None."""
    if not isinstance(login_id, str) or not LOGIN_ID_RE.match(login_id):
        return "3-60 characters of letters, digits, '.', '@', '_' and '-', starting with a letter"
    if SubAccount.objects.for_account(account).annotate(lid=Lower("login_id")).filter(lid=login_id.lower()).exists():
        return "already in use in this account"
    return None


def _new_password(*, account: Account, login_id: str) -> str:
    """A generated password that passes the same rules as a chosen one, the account's minimum length included."""
    length = max(14, account.password_min_length)
    while True:
        candidate = generate_password(length)
        # A short login ID can turn up inside a random password by chance; draw again rather than break the rule.
        if not validation.password_problems(candidate, min_length=account.password_min_length, login_id=login_id):
            return candidate


def _normalize(values: dict) -> dict:
    if "console_permit_ips" in values:
        values["console_permit_ips"] = validation.console_permit_ips(values["console_permit_ips"])
    if "api_allow_sources" in values:
        values["api_allow_sources"] = validation.api_allow_sources(values["api_allow_sources"])
    if "tags" in values:
        values["tags"] = validation.tags(values["tags"])
    return values


@transaction.atomic
def sub_account_create(
    *,
    account: Account,
    login_id: str,
    name: str,
    email: str,
    password: str | None = None,
    need_password_generate: bool = False,
    **fields,
) -> tuple[SubAccount, str | None]:
    """Create a sub account within the 500 limit; returns it and the generated password (if one was asked for)."""
    unknown = set(fields) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    locked = Account.objects.select_for_update().get(pk=account.pk)
    fields = _normalize(dict(fields))
    sub_account = SubAccount(account=locked, login_id=login_id, name=name, email=email, **fields)
    validation.full_clean(sub_account)
    problem = login_id_problem(account=locked, login_id=login_id)
    if problem:
        raise (Conflict if "in use" in problem else InvalidInput)(
            f"loginId: {problem}", field_errors=[("loginId", problem)]
        )
    generated = None
    if need_password_generate:
        generated = _new_password(account=locked, login_id=login_id)
        sub_account.password = make_password(generated)
        sub_account.need_password_reset = True
    elif password not in (None, ""):
        validation.password(password, min_length=locked.password_min_length, login_id=login_id)
        sub_account.password = make_password(password)
    elif sub_account.can_console_access:
        raise InvalidInput.field("password", "required for console access unless needPasswordGenerate is true")
    if SubAccount.objects.for_account(locked).count() >= settings.IAM_MAX_SUB_ACCOUNTS:
        raise QuotaExceeded(f"an account has at most {settings.IAM_MAX_SUB_ACCOUNTS} sub accounts")
    try:
        with transaction.atomic():
            sub_account.save()
    except IntegrityError:
        raise Conflict(
            "loginId: already in use in this account", field_errors=[("loginId", "already in use")]
        ) from None
    return sub_account, generated


@transaction.atomic
def sub_account_update(*, sub_account: SubAccount, **changes) -> SubAccount:
    """Change a sub account's fields; ``active`` False suspends it (its keys stop working at once)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    locked = SubAccount.objects.select_for_update().select_related("account").get(pk=sub_account.pk)
    for field, value in _normalize(dict(changes)).items():
        setattr(locked, field, value)
    validation.full_clean(locked)
    locked.save()
    if not locked.active:
        # "Its keys and sessions stop working at once", and reactivating it does not revive them.
        temporary_keys_end(keys=AccessKey.objects.filter(sub_account=locked))
    return locked


def sub_account_set_active(*, sub_account: SubAccount, active: bool) -> SubAccount:
    """Suspend (False) or reactivate (True) a sub account."""
    return sub_account_update(sub_account=sub_account, active=active)


@transaction.atomic
def sub_account_delete(*, sub_account: SubAccount) -> None:
    """Delete a sub account with its keys, group memberships and policy attachments."""
    SubAccount.objects.filter(pk=sub_account.pk).delete()


def password_reuse_problem(sub_account: SubAccount, plain: str) -> str | None:
    """Why ``plain`` may not become the sub account's password under its account's reuse prevention (the last N
    passwords, the current one included), or None."""
    count = sub_account.account.password_reuse_prevention
    if count <= 0:
        return None
    hashes = [sub_account.password] if sub_account.password else []
    earlier = PasswordHistory.objects.filter(sub_account=sub_account).values_list("password", flat=True)
    hashes += list(earlier[: count - len(hashes)]) if count > len(hashes) else []
    if any(check_password(plain, encoded) for encoded in hashes):
        return f"must differ from the last {count} passwords (the account's reuse prevention)"
    return None


def password_replace(sub_account: SubAccount, plain: str, now) -> None:
    """Set a new password on a locked row (saved by the caller): the old hash joins the history (the last
    ``PasswordHistory.KEPT`` are kept) and the expiry counts from now."""
    if sub_account.password:
        PasswordHistory.objects.create(sub_account=sub_account, password=sub_account.password, replaced_time=now)
        stale = PasswordHistory.objects.filter(sub_account=sub_account).values_list("pk", flat=True)[
            PasswordHistory.KEPT :
        ]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()
    sub_account.password = make_password(plain)
    sub_account.password_changed_time = now


@transaction.atomic
def sub_account_password_reset(
    *, sub_account: SubAccount, need_password_generate: bool, new_password: str | None = None
) -> str | None:
    """Set a new password (given or generated); returns the generated one, shown only in this response."""
    locked = SubAccount.objects.select_for_update().select_related("account").get(pk=sub_account.pk)
    generated = None
    if need_password_generate:
        generated = _new_password(account=locked.account, login_id=locked.login_id)
        plain = generated
        locked.need_password_reset = True
    else:
        if not new_password:
            raise InvalidInput.field("newPassword", "required unless needPasswordGenerate is true")
        plain = validation.password(
            new_password, field="newPassword", min_length=locked.account.password_min_length, login_id=locked.login_id
        )
        problem = password_reuse_problem(locked, plain)
        if problem:
            raise InvalidInput.field("newPassword", problem)
    # A new password also lifts a sign-in lock left by wrong ones, and its expiry counts from now.
    password_replace(locked, plain, timezone.now())
    locked.login_failed_attempts, locked.login_locked_time = 0, None
    locked.save(
        update_fields=[
            "password",
            "need_password_reset",
            "password_changed_time",
            "login_failed_attempts",
            "login_locked_time",
            "modified_time",
        ]
    )
    return generated


@transaction.atomic
def sub_account_mfa_reset(*, sub_account: SubAccount) -> SubAccount:
    """Forget the sub account's MFA device so it registers a new one at next sign-in."""
    SubAccount.objects.filter(pk=sub_account.pk).update(mfa_secret_encrypted="")
    sub_account.mfa_secret_encrypted = ""
    return sub_account


def _groups_by_id(account: Account, group_ids: list[str], field: str) -> list[Group]:
    # Ids are compared in their canonical form, so an upper-case or unhyphenated UUID finds its group.
    canonical = _uuids(group_ids, field)
    groups = {str(g.group_id): g for g in Group.objects.for_account(account).filter(group_id__in=canonical)}
    missing = [given for given, c in zip(group_ids, canonical, strict=True) if c not in groups]
    if missing:
        raise NotFound(
            f"no such group: {', '.join(missing)}", field_errors=[(field, f"no such group: {m}") for m in missing]
        )
    return [groups[c] for c in dict.fromkeys(canonical)]


def _uuids(values: list[str], field: str) -> list[str]:
    result = []
    for value in values:
        try:
            result.append(str(uuid.UUID(value)))
        except ValueError:
            raise NotFound(f"no such id: {value}", field_errors=[(field, f"no such id: {value}")]) from None
    return result


def memberships_add(*, account: Account, sub_accounts: list[SubAccount], groups: list[Group]) -> int:
    """Add every sub account to every group, within 10 groups per sub account; returns how many were added."""
    locked = list(SubAccount.objects.select_for_update().filter(pk__in=[s.pk for s in sub_accounts]).order_by("pk"))
    added = 0
    for sub_account in locked:
        current = set(GroupMembership.objects.filter(sub_account=sub_account).values_list("group_id", flat=True))
        new = [g for g in groups if g.pk not in current]
        if len(current) + len(new) > settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT:
            raise QuotaExceeded(
                f"sub account {sub_account.login_id} would belong to more than "
                f"{settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT} groups"
            )
        GroupMembership.objects.bulk_create([GroupMembership(group=g, sub_account=sub_account) for g in new])
        added += len(new)
    if added:
        authz_changed(account.pk)  # bulk_create sends no post_save
    return added


@transaction.atomic
def sub_account_groups_add(*, sub_account: SubAccount, group_ids: list[str]) -> int:
    """Put a sub account into groups."""
    group_ids = validation.id_list(group_ids, "groupIdList")
    groups = _groups_by_id(sub_account.account, group_ids, "groupIdList")
    return memberships_add(account=sub_account.account, sub_accounts=[sub_account], groups=groups)


@transaction.atomic
def sub_account_groups_remove(*, sub_account: SubAccount, group_ids: list[str]) -> int:
    """Take a sub account out of groups."""
    group_ids = validation.id_list(group_ids, "groupIdList")
    groups = _groups_by_id(sub_account.account, group_ids, "groupIdList")
    deleted, _ = GroupMembership.objects.filter(sub_account=sub_account, group__in=groups).delete()
    return deleted


# Access keys -----------------------------------------------------------------------------------------------


@transaction.atomic
def access_key_create(*, sub_account: SubAccount) -> tuple[AccessKey, str]:
    """A new key for a sub account (at most 2); the secret is returned only here."""
    locked = SubAccount.objects.select_for_update().select_related("account").get(pk=sub_account.pk)
    count = AccessKey.objects.filter(sub_account=locked, kind=AccessKey.SUB_ACCOUNT).count()
    if count >= settings.IAM_MAX_ACCESS_KEYS_PER_SUB_ACCOUNT:
        raise QuotaExceeded(f"a sub account has at most {settings.IAM_MAX_ACCESS_KEYS_PER_SUB_ACCOUNT} access keys")
    return access_key_issue(account=locked.account, kind=AccessKey.SUB_ACCOUNT, sub_account=locked)


def _key_of(sub_account: SubAccount, access_key) -> AccessKey:
    if not isinstance(access_key, str) or not access_key:
        raise InvalidInput.field("accessKey", "is required")
    key = AccessKey.objects.filter(sub_account=sub_account, kind=AccessKey.SUB_ACCOUNT, access_key=access_key).first()
    if key is None:
        raise NotFound("no such access key for this sub account", field_errors=[("accessKey", "no such access key")])
    return key


@transaction.atomic
def access_key_set_active(*, sub_account: SubAccount, access_key: str, active: bool) -> AccessKey:
    """Enable or disable one of a sub account's keys (disabling one ends the temporary keys it obtained)."""
    if not isinstance(active, bool):
        raise InvalidInput.field("active", "must be true or false")
    key = _key_of(sub_account, access_key)
    AccessKey.objects.filter(pk=key.pk).update(active=active)
    if not active:
        temporary_keys_end(keys=key.issued_keys.all())
    key.active = active
    return key


@transaction.atomic
def access_key_disable(*, key: AccessKey) -> AccessKey:
    """Disable any key (admin action), ending the temporary keys it obtained; a temporary key is ended for good."""
    if key.kind == AccessKey.TEMPORARY:
        temporary_keys_end(keys=AccessKey.objects.filter(pk=key.pk))
    AccessKey.objects.filter(pk=key.pk).update(active=False)
    temporary_keys_end(keys=key.issued_keys.all())
    key.active = False
    return key


@transaction.atomic
def access_key_delete(*, sub_account: SubAccount, access_key: str) -> None:
    """Delete one of a sub account's keys."""
    _key_of(sub_account, access_key).delete()

"""Main accounts, their root access keys and their dashboard settings."""

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from iam.errors import Conflict, InvalidInput, QuotaExceeded
from iam.models import AccessKey, Account, Role
from iam.secrets import encrypt_secret, new_access_key, new_secret_key
from iam.services.validation import full_clean


def _new_member_no() -> int:
    while True:
        candidate = secrets.randbelow(9_000_000) + 1_000_000
        if not Account.objects.filter(member_no=candidate).exists():
            return candidate


def access_key_issue(
    *, account: Account, kind: str, sub_account=None, expire_time=None, **session
) -> tuple[AccessKey, str]:
    """Create a key and its secret; the secret is stored encrypted and returned once, here. ``session`` holds a
    temporary key's role, source_identity_type, source_identity_id and mfa_present."""
    secret = new_secret_key()
    prefix = "" if kind == AccessKey.ROOT else "ncp_iam_"
    key = AccessKey.objects.create(
        access_key=new_access_key(prefix),
        account=account,
        sub_account=sub_account,
        kind=kind,
        secret_encrypted=encrypt_secret(secret),
        expire_time=expire_time,
        **session,
    )
    return key, secret


def temporary_keys_end(*, keys) -> int:
    """End the temporary keys among ``keys`` now, and every key they obtained in turn: each is disabled and
    expired, so re-enabling whatever ended them (a role, a sub account, a parent key) never brings them back."""
    now = timezone.now()
    live = AccessKey.objects.filter(kind=AccessKey.TEMPORARY, expire_time__gt=now)
    ids = list(live.filter(pk__in=keys.values("pk")).values_list("pk", flat=True))
    ended = 0
    while ids:
        ended += AccessKey.objects.filter(pk__in=ids).update(active=False, expire_time=now)
        ids = list(live.filter(issued_by__in=ids).values_list("pk", flat=True))
    return ended


def _use_unrecorded(previous, now, interval: int) -> bool:
    return previous is None or interval <= 0 or (now - previous).total_seconds() >= interval


def access_key_mark_used(*, key: AccessKey, now) -> int:
    """Record that a key (and a role session's role) was used at ``now``: only when the recorded time is older than
    IAM_KEY_LAST_USED_WRITE_SECONDS, so most signed calls write nothing. Returns how many rows it wrote."""
    interval = settings.IAM_KEY_LAST_USED_WRITE_SECONDS
    written = 0
    if _use_unrecorded(key.last_used_time, now, interval):
        written += AccessKey.objects.filter(pk=key.pk).update(last_used_time=now)
        key.last_used_time = now
    if key.role_id is not None and _use_unrecorded(key.role.last_use_time, now, interval):
        written += Role.objects.filter(pk=key.role_id).update(last_use_time=now)
        key.role.last_use_time = now
    return written


@transaction.atomic
def account_create(*, name: str, email: str = "", member_no: int | None = None) -> tuple[Account, AccessKey, str]:
    """Create a main account with one root access key; returns the account, the key and its secret."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput.field("name", "must be 1-100 characters")
    if member_no is not None and Account.objects.filter(member_no=member_no).exists():
        raise Conflict(f"memberNo {member_no} is already in use", field_errors=[("memberNo", "already in use")])
    account = Account(name=name.strip(), email=email or "", member_no=member_no or _new_member_no())
    full_clean(account)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise Conflict("memberNo is already in use", field_errors=[("memberNo", "already in use")]) from None
    key, secret = access_key_issue(account=account, kind=AccessKey.ROOT)
    return account, key, secret


@transaction.atomic
def root_access_key_create(*, account: Account) -> tuple[AccessKey, str]:
    """Another root key for a main account, within the root key limit."""
    Account.objects.select_for_update().get(pk=account.pk)
    if AccessKey.objects.filter(account=account, kind=AccessKey.ROOT).count() >= settings.IAM_MAX_ROOT_ACCESS_KEYS:
        raise QuotaExceeded(f"a main account has at most {settings.IAM_MAX_ROOT_ACCESS_KEYS} root access keys")
    return access_key_issue(account=account, kind=AccessKey.ROOT)


@transaction.atomic
def root_access_key_rotate(*, account: Account) -> tuple[AccessKey, str, list[str]]:
    """Replace every root key of a main account by one new key (their secrets were lost or leaked): the old keys are
    deleted, with the temporary keys they obtained. Returns the new key, its secret and the old access key ids."""
    Account.objects.select_for_update().get(pk=account.pk)
    old = AccessKey.objects.filter(account=account, kind=AccessKey.ROOT)
    old_ids = list(old.values_list("access_key", flat=True))
    old.delete()  # issued_by cascades: what the old keys obtained goes with them
    key, secret = access_key_issue(account=account, kind=AccessKey.ROOT)
    return key, secret, old_ids


@transaction.atomic
def account_update(*, account: Account, **changes) -> Account:
    """Change a main account's name or e-mail."""
    unknown = set(changes) - {"name", "email"}
    if unknown:
        raise InvalidInput(f"fields that cannot be changed here: {', '.join(sorted(unknown))}")
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            raise InvalidInput.field("name", "must be 1-100 characters")
        locked.name = name.strip()
    if "email" in changes:
        locked.email = changes["email"] or ""
    full_clean(locked)
    locked.save(update_fields=[*changes, "modified_time"])
    return locked


@transaction.atomic
def account_set_active(*, account: Account, active: bool) -> Account:
    """Suspend or reactivate a whole main account (its keys stop or resume working at once)."""
    Account.objects.filter(pk=account.pk).update(active=active)
    account.active = active
    return account


SETTINGS_FIELDS = {
    "password": ("password_min_length", "password_expiration_days", "password_reuse_prevention"),
    "login-page": ("login_page_alias",),
    "session": ("session_expiration_minutes",),
    "long-term-unused": ("use_long_term_unused_deactivation", "long_term_unused_days"),
}


@transaction.atomic
def account_settings_update(*, account: Account, wire_names: dict | None = None, **changes) -> Account:
    """Change dashboard settings (password policy, login page alias, session expiry, long-term-unused days);
    ``wire_names`` names the fields in errors as the caller's endpoint spells them."""
    alias_field = (wire_names or {}).get("login_page_alias", "loginPageAlias")
    locked = Account.objects.select_for_update().get(pk=account.pk)
    allowed = {f for fields in SETTINGS_FIELDS.values() for f in fields}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"unknown settings: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(locked, field, value)
    if "login_page_alias" in changes and locked.login_page_alias:
        if Account.objects.filter(login_page_alias=locked.login_page_alias).exclude(pk=locked.pk).exists():
            raise Conflict("that login page alias is already in use", field_errors=[(alias_field, "already in use")])
    full_clean(locked, wire_names)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise Conflict(
            "that login page alias is already in use", field_errors=[(alias_field, "already in use")]
        ) from None
    return locked

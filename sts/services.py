"""STS: temporary access keys. A sub account obtains a short-lived key of its own, or switches to an Account role
and obtains a role session's key; a role session renews its own key. External Access sessions are issued through
``role_session_issue`` too, with the certificate subject as the source identity.

A temporary key signs requests like a permanent one (iam.gateway.authentication) and stops working at its expire time,
when its role is disabled or deleted, when it has not been used for the role's session expiration, or when the sub
account behind it is suspended. Expired keys are deleted by the purge-expired-temporary-keys job.
"""

import hmac
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from iam import audit
from iam.errors import InvalidInput, NotFound, QuotaExceeded
from iam.gateway.principals import MAIN_ACCOUNT, ROLE, Principal
from iam.models import AccessKey, Account, AuditEvent, Role, RoleAccountTarget, Server, SubAccount
from iam.policy import catalog, nrn
from iam.secrets import decrypt_secret
from iam.services.accounts import access_key_issue

MIN_DURATION_SEC = 600
MAX_DURATION_SEC = 43_200
DEFAULT_DURATION_SEC = 3600
SUB_ACCOUNT_SOURCE = "SubAccount"


def _duration(value) -> int:
    if value is None:
        return DEFAULT_DURATION_SEC
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.field("durationSec", "must be a whole number of seconds")
    if not MIN_DURATION_SEC <= value <= MAX_DURATION_SEC:
        raise InvalidInput.field("durationSec", f"must be between {MIN_DURATION_SEC} and {MAX_DURATION_SEC}")
    return value


def mfa_device_nrn(sub_account: SubAccount) -> str:
    """The serial number of a sub account's MFA device, as ``serialNumber`` names it: the OTP device's NRN."""
    return nrn.build(nrn.IAM, sub_account.account.member_no, "MfaDevice", sub_account.sub_account_id)


def _mfa_refused(sub_account: SubAccount, now: datetime, field: str, message: str, *, counts: bool = True):
    """Record a refused MFA code (an audit event; wrong codes in a row lock the device for a while) and raise.
    Called outside any inner transaction, so the count survives the 400 the caller gets."""
    if counts:
        SubAccount.objects.filter(pk=sub_account.pk).update(mfa_failed_attempts=F("mfa_failed_attempts") + 1)
        failures = SubAccount.objects.filter(pk=sub_account.pk).values_list("mfa_failed_attempts", flat=True)[0]
        if failures >= settings.IAM_MFA_MAX_FAILURES:
            SubAccount.objects.filter(pk=sub_account.pk).update(
                mfa_failed_attempts=0, mfa_locked_until=now + timedelta(seconds=settings.IAM_MFA_LOCK_SECONDS)
            )
    audit.record(
        account_id=sub_account.account_id,
        action=f"{catalog.SUB_ACCOUNT}:View/getStsSessionToken",
        resource=nrn.build(nrn.IAM, sub_account.account.member_no, "SubAccount", sub_account.sub_account_id),
        result=AuditEvent.FAILED,
        detail={"reason": f"MFA: {field} {message}"},
    )
    raise InvalidInput.field(field, message)


def _mfa_verified(sub_account: SubAccount | None, serial_number: str, token_code: str, now: datetime) -> bool:
    """True when a valid, unused TOTP code of the caller's MFA device came with the call; False when none came.
    A code is accepted once (its time step is remembered), and IAM_MFA_MAX_FAILURES wrong codes in a row lock
    the device for IAM_MFA_LOCK_SECONDS."""
    if not serial_number and not token_code:
        return False
    if not token_code:
        raise InvalidInput.field("tokenCode", "is required with serialNumber")
    if not serial_number:
        raise InvalidInput.field("serialNumber", "is required with tokenCode")
    if sub_account is None or not sub_account.has_mfa:
        raise InvalidInput.field("serialNumber", "the caller has no MFA device")
    if serial_number.strip() != mfa_device_nrn(sub_account):
        raise InvalidInput.field("serialNumber", "is not the caller's MFA device (GET /credentials shows it)")
    if not (token_code.isascii() and token_code.isdigit() and len(token_code) == 6):
        raise InvalidInput.field("tokenCode", "must be the 6 digits the MFA device shows")
    if sub_account.mfa_locked_until is not None and sub_account.mfa_locked_until > now:
        _mfa_refused(sub_account, now, "tokenCode", "too many wrong codes: try again later", counts=False)
    totp = pyotp.TOTP(decrypt_secret(sub_account.mfa_secret_encrypted))
    current = totp.timecode(now)
    matched = [
        step for step in (current - 1, current, current + 1) if hmac.compare_digest(totp.generate_otp(step), token_code)
    ]
    if not matched:
        _mfa_refused(sub_account, now, "tokenCode", "does not match the MFA device")
    # One use per code: a conditional update, so two requests racing with the same code cannot both pass.
    used = (
        SubAccount.objects.filter(pk=sub_account.pk)
        .filter(Q(mfa_last_step__isnull=True) | Q(mfa_last_step__lt=matched[0]))
        .update(mfa_last_step=matched[0], mfa_failed_attempts=0)
    )
    if not used:
        _mfa_refused(sub_account, now, "tokenCode", "has already been used: wait for the next code")
    return True


def _switchable_role(account: Account, role_nrn) -> Role:
    """The Account role a sub account of ``account`` may switch to: one that names ``account`` as a target (its own
    account's roles name it from creation). Another account's role that does not name ``account`` is simply not
    found, so a caller learns nothing about roles it may not use; its policies were checked before (the caller's
    own account's policies must allow Change/switchRole on the role)."""
    canonical = nrn.canonical_role_nrn(role_nrn)
    if canonical is None:
        raise InvalidInput.field("roleNrn", "must name a role: nrn:PUB:IAM::<memberNo>:Role/<roleNo>")
    parsed = nrn.parse(canonical)
    role = (
        Role.objects.filter(account__member_no=parsed.member_no, role_no=parsed.resource_id)
        .select_related("account")
        .first()
    )
    if role is None:
        raise NotFound("no such role")
    targeted = RoleAccountTarget.objects.filter(role=role, target_account=account).exists()
    if role.account_id != account.pk and not targeted:
        raise NotFound("no such role")
    if role.role_type != Role.ACCOUNT:
        raise InvalidInput.field("roleNrn", "only Account roles can be switched to")
    if not role.active:
        raise InvalidInput.field("roleNrn", "the role is disabled")
    if not targeted:
        raise InvalidInput.field("roleNrn", "the role does not name this account as a target")
    return role


def _check_live_keys(caller: AccessKey, sub_account: SubAccount | None, now: datetime) -> None:
    """At most IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT unexpired temporary keys per sub account (its own and the role
    sessions it started) or, for a session with no sub account behind it, per role and source identity."""
    limit = settings.IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT
    live = AccessKey.objects.filter(kind=AccessKey.TEMPORARY, expire_time__gt=now)
    if sub_account is not None:
        live, owner = live.filter(sub_account=sub_account), "a sub account"
    else:
        live = live.filter(
            role_id=caller.role_id,
            source_identity_type=caller.source_identity_type,
            source_identity_id=caller.source_identity_id,
        )
        owner = "a session's source identity"
    if live.count() >= limit:
        raise QuotaExceeded(f"{owner} has at most {limit} unexpired temporary keys")


@transaction.atomic
def role_session_issue(
    *,
    role: Role,
    source_identity_type: str,
    source_identity_id: str,
    duration_sec: int,
    sub_account: SubAccount | None = None,
    mfa_present: bool = False,
    now: datetime | None = None,
    expire_time: datetime | None = None,
    issued_by: AccessKey | None = None,
    server: Server | None = None,
) -> tuple[AccessKey, str]:
    """A role session's temporary key. Callers check who may take the role on; this checks the role can be used.
    ``issued_by`` is the key that asked for it: disabling or deleting that key ends this session too; ``server``
    the registered server a Server role's key is read by (detaching or deleting it ends the key).

    The role's row is locked and read again here: a disable committing meanwhile either ends this key with the
    others or is seen here, never neither."""
    active = Role.objects.select_for_update().filter(pk=role.pk).values_list("active", flat=True).first()
    if not active:
        raise InvalidInput.field("roleNrn", "the role is disabled")
    now = now or timezone.now()
    expire_time = expire_time or now + timedelta(seconds=_duration(duration_sec))
    return access_key_issue(
        account=role.account,
        kind=AccessKey.TEMPORARY,
        sub_account=sub_account,
        expire_time=expire_time,
        role=role,
        source_identity_type=source_identity_type,
        source_identity_id=source_identity_id,
        mfa_present=mfa_present,
        issued_by=issued_by,
        server=server,
    )


SERVER_SOURCE = "Server"


@transaction.atomic
def server_role_credentials(*, server: Server, now: datetime | None = None) -> tuple[AccessKey, str]:
    """The key a registered server reads from the metadata endpoint: a session of its Server role, with the server
    as the source identity. The same key is handed out until two thirds of its life have passed, then a new one
    (the old one keeps working until it expires, so a client between the two is never cut off). NotFound when the
    server has no usable role (the endpoint answers 404)."""
    # Locks in the order attaching and detaching take them (the role, then its servers), so the two never deadlock;
    # the server is read again under its lock, in case its role changed in between.
    role_id = Server.objects.filter(pk=server.pk).values_list("role_id", flat=True).first()
    if role_id is not None:
        Role.objects.select_for_update().filter(pk=role_id).first()
    locked = Server.objects.select_for_update(of=("self",)).select_related("account", "role").get(pk=server.pk)
    role = locked.role
    if role is None or role.pk != role_id:
        raise NotFound("no role")
    if role is None or role.role_type != Role.SERVER or not role.active or not locked.account.active:
        raise NotFound("no role")
    now = now or timezone.now()
    life = settings.IAM_SERVER_ROLE_KEY_SECONDS
    current = (
        AccessKey.objects.filter(
            server=locked,
            role=role,
            kind=AccessKey.TEMPORARY,
            active=True,
            expire_time__gt=now + timedelta(seconds=life / 3),
        )
        .order_by("-expire_time")
        .first()
    )
    if current is not None:
        return current, decrypt_secret(current.secret_encrypted)
    return role_session_issue(
        role=role,
        source_identity_type=SERVER_SOURCE,
        source_identity_id=locked.server_instance_no,
        duration_sec=life,
        now=now,
        server=locked,
    )


def sts_credential_issue(
    *,
    principal: Principal,
    duration_sec=None,
    serial_number: str = "",
    token_code: str = "",
    role_nrn: str | None = None,
) -> tuple[AccessKey, str]:
    """``POST /api/v1/credentials`` for the calling principal. Authorization (View/getStsSessionToken, and
    Change/switchRole on the role for a switch) happened before; this enforces who may obtain what."""
    duration = _duration(duration_sec)
    now = timezone.now()
    if principal.principal_type == MAIN_ACCOUNT:
        raise InvalidInput.field(
            "accessKey", "only sub accounts and role sessions obtain temporary keys, not a main account's key"
        )
    caller = AccessKey.objects.select_related("account", "sub_account__account", "role").get(
        access_key=principal.access_key
    )
    if principal.principal_type == ROLE and role_nrn:
        # Authorization refuses it first (a role session cannot change roles); say so if it ever gets here.
        raise InvalidInput.field("roleNrn", "a role session cannot switch to another role")
    if principal.principal_type != ROLE and caller.sub_account is None:
        raise InvalidInput.field("accessKey", "this key belongs to no sub account")
    # Before the transaction below: a refused code is counted and audited even though nothing is issued.
    mfa = _mfa_verified(caller.sub_account, serial_number or "", token_code or "", now) or caller.mfa_present
    with transaction.atomic():
        return _issue(caller, principal, duration, mfa, role_nrn, now)


def _issue(caller: AccessKey, principal: Principal, duration: int, mfa: bool, role_nrn, now: datetime):
    sub_account = caller.sub_account
    if sub_account is not None:
        # One sub account at a time mints keys: the live-key count below must not race.
        sub_account = SubAccount.objects.select_for_update().select_related("account").get(pk=sub_account.pk)
    elif caller.role_id is not None:
        Role.objects.select_for_update().get(pk=caller.role_id)
    _check_live_keys(caller, sub_account, now)
    expire_time = now + timedelta(seconds=duration)
    if caller.kind == AccessKey.TEMPORARY:
        expire_time = min(expire_time, caller.expire_time)  # a temporary key never outlives the key that obtained it
    if principal.principal_type == ROLE:  # renewal: the same role, the same identity behind it
        role, source = caller.role, (caller.source_identity_type, caller.source_identity_id)
    elif role_nrn:  # a sub account switching to a role
        role, source = _switchable_role(caller.account, role_nrn), (SUB_ACCOUNT_SOURCE, str(sub_account.sub_account_id))
    else:
        role = None
    if role is not None:
        return role_session_issue(
            role=role,
            source_identity_type=source[0],
            source_identity_id=source[1],
            duration_sec=duration,
            sub_account=sub_account,
            mfa_present=mfa,
            now=now,
            expire_time=expire_time,
            issued_by=caller,
        )
    return access_key_issue(
        account=caller.account,
        kind=AccessKey.TEMPORARY,
        sub_account=sub_account,
        expire_time=expire_time,
        mfa_present=mfa,
        issued_by=caller,
    )


def expired_temporary_keys_delete(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete temporary keys past their expire time, in batches; returns how many."""
    now = now or timezone.now()
    deleted = 0
    while True:
        ids = list(
            AccessKey.objects.filter(kind=AccessKey.TEMPORARY, expire_time__lte=now).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += AccessKey.objects.filter(pk__in=ids).delete()[0]

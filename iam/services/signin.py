"""Sub account console sign-in: the password step and its lockout, the MFA code (and enrolment), the forced password
change, console sessions with their idle expiry, and switching a session into an Account role and back.

Every attempt is in the audit trail under ``Console:*`` actions, never with the password or a code. The page views
(iam.console) only parse forms and call these services.
"""

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from iam import audit
from iam.errors import InvalidInput
from iam.models import (
    LOGIN_ID_RE,
    LOGIN_PAGE_ALIAS_RE,
    Account,
    AuditEvent,
    ConsoleSession,
    PolicyAttachment,
    Role,
    SubAccount,
)
from iam.secrets import decrypt_secret, encrypt_secret
from iam.services import validation
from iam.services.sub_accounts import password_replace, password_reuse_problem

WRONG_CREDENTIALS = "The login ID or password is wrong."
LOCKED_MESSAGE = (
    "This sub account is locked after too many wrong passwords. Ask the main account or an administrator to unlock it."
)
MFA_ISSUER = "NCP IAM"
MAX_MEMBER_NO = 2**63 - 1
# A hash Django can check any password against, for login IDs that do not exist: the answer takes as long.
_ABSENT_PASSWORD_HASH = make_password("never a password of anyone")


class SignInRefused(Exception):
    """A sign-in step refused: ``message`` is for the person, ``reason`` for the audit trail."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _actor(sub_account: SubAccount, ip: str) -> audit.Actor:
    return audit.Actor(sub_account.nrn, "SubAccount", ip)


def _record(sub_account: SubAccount, ip: str, action: str, result: str = AuditEvent.SUCCESS, **detail) -> None:
    audit.record(
        account_id=sub_account.account_id,
        action=f"Console:{action}",
        resource=sub_account.nrn,
        result=result,
        detail=detail,
        actor=_actor(sub_account, ip),
    )


# Settings and rules ------------------------------------------------------------------------------------------------


MAX_PASSWORD_LENGTH = 128  # far past the longest valid one (16): a longer one is wrong without hashing it


def _usable(value, max_length: int) -> bool:
    """Text the database can be asked about (and a hasher can hash): a string, not too long, no NUL or lone
    surrogate."""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(value: str, limit: int) -> str:
    """``value`` as the audit trail can store it."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:limit]


def sign_in_account(alias: str) -> Account | None:
    """The active account whose sign-in page is at ``alias``: its chosen alias, or its member number while it has none."""
    if not _usable(alias, 63) or not LOGIN_PAGE_ALIAS_RE.match(alias):
        return None
    account = Account.objects.filter(login_page_alias=alias, active=True).first()
    if account is None and alias.isdigit() and int(alias) <= MAX_MEMBER_NO:
        account = Account.objects.filter(member_no=int(alias), login_page_alias__isnull=True, active=True).first()
    return account


def lock_active(sub_account: SubAccount, now: datetime) -> bool:
    """Locked by wrong passwords and neither unlocked nor past IAM_SIGNIN_LOCK_SECONDS (0: no time limit)."""
    if sub_account.login_locked_time is None:
        return False
    seconds = settings.IAM_SIGNIN_LOCK_SECONDS
    return seconds <= 0 or sub_account.login_locked_time + timedelta(seconds=seconds) > now


def has_a_policy(sub_account: SubAccount) -> bool:
    """A policy attached to the sub account or to one of its groups."""
    return PolicyAttachment.objects.filter(
        Q(sub_account=sub_account) | Q(group__memberships__sub_account=sub_account)
    ).exists()


def ip_permitted(sub_account: SubAccount, ip: str) -> bool:
    """The console permit IPs, when the sub account uses them, contain ``ip``."""
    if not sub_account.use_console_permit_ip:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in sub_account.console_permit_ips or []:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def password_expired(sub_account: SubAccount, now: datetime) -> bool:
    """The account's password expiry (0: none) has passed since the password was set."""
    days = sub_account.account.password_expiration_days
    if days <= 0:
        return False
    changed = sub_account.password_changed_time or sub_account.create_time
    return changed + timedelta(days=days) <= now


def idle_timeout(account: Account) -> timedelta:
    """How long a console session of the account may go unused (its session policy)."""
    return timedelta(minutes=account.session_expiration_minutes)


def _access_problem(sub_account: SubAccount, ip: str) -> tuple[str, str] | None:
    """Why a sub account that knows its password still may not use the console: (message, audit reason)."""
    if not sub_account.active:
        return "This sub account is suspended.", "suspended"
    if not sub_account.can_console_access:
        return "This sub account may not use the console.", "no console access"
    if not ip_permitted(sub_account, ip):
        return "Sign-in is not allowed from this address.", "source address not in the console permit IPs"
    if not has_a_policy(sub_account):
        return "This sub account has no policy yet: ask the main account to attach one.", "no policy attached"
    return None


# Sessions ---------------------------------------------------------------------------------------------------------


@dataclass
class SignInStep:
    """A session after a sign-in step, and its cookie token when a new one was made."""

    session: ConsoleSession
    token: str | None = None


def _next_stage(sub_account: SubAccount, *, mfa_done: bool, now: datetime) -> str:
    if not mfa_done and sub_account.has_mfa:
        return ConsoleSession.MFA
    if not mfa_done and sub_account.is_mfa_mandatory:
        return ConsoleSession.MFA_ENROL
    if sub_account.need_password_reset or password_expired(sub_account, now):
        return ConsoleSession.PASSWORD_CHANGE
    return ConsoleSession.ACTIVE


def _new_session(sub_account: SubAccount, stage: str, ip: str, now: datetime, *, mfa_present: bool) -> SignInStep:
    token = secrets.token_urlsafe(32)
    session = ConsoleSession.objects.create(
        token_hash=_hash(token),
        sub_account=sub_account,
        stage=stage,
        mfa_present=mfa_present,
        source_ip=ip,
        last_seen_time=now,
        expire_time=_expiry(sub_account.account, stage, now),
    )
    return SignInStep(session, token)


def _expiry(account: Account, stage: str, now: datetime) -> datetime:
    if stage == ConsoleSession.ACTIVE:
        return now + idle_timeout(account)
    return now + timedelta(seconds=settings.IAM_SIGNIN_PENDING_SECONDS)


def _advance(session: ConsoleSession, ip: str, now: datetime, *, mfa_done: bool) -> SignInStep:
    """Move a pending session to its next stage. Reaching ACTIVE replaces it with a session under a new token (the
    cookie of a half-done sign-in never becomes a signed-in one) and records the sign-in."""
    sub_account = SubAccount.objects.select_related("account").get(pk=session.sub_account_id)
    stage = _next_stage(sub_account, mfa_done=mfa_done, now=now)
    if stage != ConsoleSession.ACTIVE:
        session.stage = stage
        session.mfa_present = mfa_done
        session.expire_time = _expiry(sub_account.account, stage, now)
        session.save(update_fields=["stage", "mfa_present", "expire_time"])
        return SignInStep(session)
    session.delete()
    step = _new_session(sub_account, ConsoleSession.ACTIVE, ip, now, mfa_present=mfa_done and sub_account.has_mfa)
    SubAccount.objects.filter(pk=sub_account.pk).update(last_login_time=now)
    _record(sub_account, ip, "signIn", mfa=step.session.mfa_present)
    return step


def sign_in_password(*, account: Account, login_id: str, password: str, ip: str, now=None) -> SignInStep:
    """The first step: login ID and password. More than IAM_SIGNIN_MAX_FAILURES wrong passwords in a row lock the
    sub account (a locked one is refused even with the right password)."""
    now = now or timezone.now()
    login_id = login_id.strip() if isinstance(login_id, str) else ""
    if not _usable(password, MAX_PASSWORD_LENGTH):
        password = ""  # never matches: counted as a wrong password
    refused = None
    with transaction.atomic():
        sub_account = None
        if _usable(login_id, 60) and LOGIN_ID_RE.match(login_id):
            sub_account = (
                SubAccount.objects.select_for_update(of=("self",))
                .select_related("account")
                .filter(account=account, login_id__iexact=login_id)
                .first()
            )
        if sub_account is None:
            login_id = _printable(login_id, 60)
            check_password(password or "", _ABSENT_PASSWORD_HASH)
            audit.record(
                account_id=account.pk,
                action="Console:signIn",
                resource=f"nrn:PUB:IAM::{account.member_no}:SubAccount/*",
                result=AuditEvent.FAILED,
                detail={"reason": "no such login ID", "loginId": login_id},
                actor=audit.Actor(f"signin:{login_id}", "Anonymous", ip),
            )
            refused = SignInRefused(WRONG_CREDENTIALS, "no such login ID")
        elif lock_active(sub_account, now):
            refused = SignInRefused(LOCKED_MESSAGE, "locked after too many wrong passwords")
        elif not sub_account.password or not check_password(password or "", sub_account.password):
            failures = sub_account.login_failed_attempts + 1
            locked = failures > settings.IAM_SIGNIN_MAX_FAILURES
            SubAccount.objects.filter(pk=sub_account.pk).update(
                login_failed_attempts=0 if locked else failures, login_locked_time=now if locked else None
            )
            if locked:
                _record(sub_account, ip, "lockSubAccount", AuditEvent.DENIED, failures=failures)
                refused = SignInRefused(LOCKED_MESSAGE, "wrong password: locked")
            else:
                refused = SignInRefused(WRONG_CREDENTIALS, f"wrong password ({failures} in a row)")
        else:
            if sub_account.login_failed_attempts or sub_account.login_locked_time:
                SubAccount.objects.filter(pk=sub_account.pk).update(login_failed_attempts=0, login_locked_time=None)
            problem = _access_problem(sub_account, ip)
            if problem:
                refused = SignInRefused(*problem)
        if refused is not None:
            if sub_account is not None:
                _record(sub_account, ip, "signIn", AuditEvent.FAILED, reason=refused.reason)
        else:
            stage = _next_stage(sub_account, mfa_done=False, now=now)
            if stage != ConsoleSession.ACTIVE:
                _record(sub_account, ip, "signInPassword", next=stage)
                return _new_session(sub_account, stage, ip, now, mfa_present=False)
            step = _new_session(sub_account, ConsoleSession.ACTIVE, ip, now, mfa_present=False)
            SubAccount.objects.filter(pk=sub_account.pk).update(last_login_time=now)
            _record(sub_account, ip, "signIn", mfa=False)
            return step
    raise refused


def session_for_token(token: str | None, *, ip: str, now=None) -> ConsoleSession | None:
    """The live session of a cookie token, or None. A session past its idle expiry (under the account's current
    session policy), of a suspended sub account, one that lost console access, or from an address outside its
    console permit IPs is ended. A switched role that is disabled or unused for its session expiration is left."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    now = now or timezone.now()
    session = (
        ConsoleSession.objects.select_related("sub_account__account", "role__account")
        .filter(token_hash=_hash(token))
        .first()
    )
    if session is None:
        return None
    sub_account = session.sub_account
    account = sub_account.account
    idle_end = session.last_seen_time + idle_timeout(account)
    ended = None
    if session.expire_time <= now or (session.stage == ConsoleSession.ACTIVE and idle_end <= now):
        ended = "idle timeout"
    elif not (account.active and sub_account.active and sub_account.can_console_access):
        ended = "sub account can no longer use the console"
    elif not ip_permitted(sub_account, ip):
        ended = "source address not in the console permit IPs"
    if ended:
        session.delete()
        _record(sub_account, ip, "endSession", AuditEvent.SUCCESS, reason=ended)
        return None
    if session.role is not None:
        role = session.role
        role_idle = timedelta(seconds=role.session_expiration_sec or 0)
        if not role.active or role.role_type != Role.ACCOUNT or session.last_seen_time + role_idle <= now:
            _record(sub_account, ip, "returnFromRole", reason="role disabled or its session expired", role=role.nrn)
            session.role, session.role_switch_time = None, None
    if session.stage == ConsoleSession.ACTIVE:
        session.last_seen_time = now
        session.expire_time = now + idle_timeout(account)
        session.save(update_fields=["last_seen_time", "expire_time", "role", "role_switch_time"])
        if session.role is not None:
            Role.objects.filter(pk=session.role_id).update(last_use_time=now)
    return session


def sign_out(*, session: ConsoleSession, ip: str) -> None:
    """End a console session."""
    ConsoleSession.objects.filter(pk=session.pk).delete()
    _record(session.sub_account, ip, "signOut")


def console_sessions_purge(*, now=None) -> int:
    """Delete console sessions past their idle expiry; returns how many."""
    now = now or timezone.now()
    deleted, _ = ConsoleSession.objects.filter(expire_time__lte=now).delete()
    return deleted


# MFA --------------------------------------------------------------------------------------------------------------


def totp_matches(sub_account: SubAccount, secret: str, code: str, now: datetime) -> bool:
    """A valid, unused code of ``secret``. Wrong codes count towards the device lock (IAM_MFA_MAX_FAILURES, shared
    with STS); a code is accepted once (its time step is remembered)."""
    code = (code or "").strip().replace(" ", "")
    locked = SubAccount.objects.filter(pk=sub_account.pk, mfa_locked_until__gt=now).exists()
    if locked or not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    matched = [s for s in (current - 1, current, current + 1) if hmac.compare_digest(totp.generate_otp(s), code)]
    if matched:
        used = (
            SubAccount.objects.filter(pk=sub_account.pk)
            .filter(Q(mfa_last_step__isnull=True) | Q(mfa_last_step__lt=matched[0]))
            .update(mfa_last_step=matched[0], mfa_failed_attempts=0)
        )
        if used:
            return True
    SubAccount.objects.filter(pk=sub_account.pk).update(mfa_failed_attempts=F("mfa_failed_attempts") + 1)
    if SubAccount.objects.filter(pk=sub_account.pk, mfa_failed_attempts__gte=settings.IAM_MFA_MAX_FAILURES).exists():
        SubAccount.objects.filter(pk=sub_account.pk).update(
            mfa_failed_attempts=0, mfa_locked_until=now + timedelta(seconds=settings.IAM_MFA_LOCK_SECONDS)
        )
    return False


def sign_in_mfa(*, session: ConsoleSession, code: str, ip: str, now=None) -> SignInStep:
    """The MFA step: a code of the sub account's device."""
    now = now or timezone.now()
    sub_account = session.sub_account
    if session.stage != ConsoleSession.MFA or not sub_account.has_mfa:
        raise SignInRefused("This sign-in is not waiting for an MFA code.", "no MFA step pending")
    if not totp_matches(sub_account, decrypt_secret(sub_account.mfa_secret_encrypted), code, now):
        _record(sub_account, ip, "verifyMfa", AuditEvent.FAILED, reason="wrong, reused or locked code")
        raise SignInRefused("The code is wrong, already used, or the device is locked for a while.", "wrong code")
    _record(sub_account, ip, "verifyMfa")
    return _advance(session, ip, now, mfa_done=True)


def mfa_enrolment_secret(*, session: ConsoleSession) -> str:
    """The secret being enrolled in this session (made on first call, kept encrypted until confirmed)."""
    if session.pending_mfa_secret_encrypted:
        return decrypt_secret(session.pending_mfa_secret_encrypted)
    secret = pyotp.random_base32()
    session.pending_mfa_secret_encrypted = encrypt_secret(secret)
    session.save(update_fields=["pending_mfa_secret_encrypted"])
    return secret


def mfa_provisioning_uri(sub_account: SubAccount, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{sub_account.login_id}@{sub_account.account.sign_in_alias}", issuer_name=MFA_ISSUER
    )


def mfa_enrol(*, session: ConsoleSession, code: str, ip: str, now=None) -> SignInStep:
    """Confirm the enrolment secret with a code: it becomes the sub account's MFA device (replacing any old one)."""
    now = now or timezone.now()
    sub_account = session.sub_account
    if not session.pending_mfa_secret_encrypted:
        raise SignInRefused("Start the enrolment again.", "no enrolment pending")
    if session.stage not in (ConsoleSession.MFA_ENROL, ConsoleSession.ACTIVE):
        raise SignInRefused("This sign-in is not waiting for an MFA enrolment.", "no enrolment step pending")
    secret = decrypt_secret(session.pending_mfa_secret_encrypted)
    SubAccount.objects.filter(pk=sub_account.pk).update(mfa_last_step=None)
    if not totp_matches(sub_account, secret, code, now):
        _record(sub_account, ip, "enrolMfa", AuditEvent.FAILED, reason="wrong code")
        raise SignInRefused("The code does not match: scan the code again and enter the code the app shows.", "wrong")
    SubAccount.objects.filter(pk=sub_account.pk).update(mfa_secret_encrypted=session.pending_mfa_secret_encrypted)
    sub_account.mfa_secret_encrypted = session.pending_mfa_secret_encrypted
    session.pending_mfa_secret_encrypted = ""
    session.mfa_present = True
    session.save(update_fields=["pending_mfa_secret_encrypted", "mfa_present"])
    _record(sub_account, ip, "enrolMfa")
    if session.stage == ConsoleSession.ACTIVE:
        return SignInStep(session)
    return _advance(session, ip, now, mfa_done=True)


# Passwords and lockout ----------------------------------------------------------------------------------------------


def password_change(*, session: ConsoleSession, current_password: str, new_password: str, ip: str, now=None):
    """The sub account changes its own password (the current one first); a forced change then completes sign-in."""
    now = now or timezone.now()
    with transaction.atomic():
        sub_account = SubAccount.objects.select_for_update().select_related("account").get(pk=session.sub_account_id)
        problem = None
        if not _usable(current_password, MAX_PASSWORD_LENGTH) or not check_password(
            current_password, sub_account.password
        ):
            problem = ("currentPassword", "is wrong")
        elif not _usable(new_password, MAX_PASSWORD_LENGTH):
            problem = ("newPassword", "must be 8-16 characters of text")
        elif new_password == current_password:
            problem = ("newPassword", "must differ from the current password")
        else:
            found = validation.password_problems(
                new_password, min_length=sub_account.account.password_min_length, login_id=sub_account.login_id
            )
            reused = password_reuse_problem(sub_account, new_password) if not found else None
            if found:
                problem = ("newPassword", "; ".join(found))
            elif reused:
                problem = ("newPassword", reused)
        if problem is None:
            password_replace(sub_account, new_password, now)
            sub_account.need_password_reset = False
            sub_account.save(update_fields=["password", "need_password_reset", "password_changed_time"])
            _record(sub_account, ip, "changePassword", password="set")
    if problem is not None:
        _record(sub_account, ip, "changePassword", AuditEvent.FAILED, reason=f"{problem[0]} {problem[1]}")
        raise InvalidInput.field(*problem)
    if session.stage == ConsoleSession.PASSWORD_CHANGE:
        return _advance(session, ip, now, mfa_done=session.mfa_present)
    return SignInStep(session)


@transaction.atomic
def sub_account_sign_in_unlock(*, sub_account: SubAccount) -> SubAccount:
    """Lift a lock left by wrong passwords (the main account, or an administrator in the admin)."""
    SubAccount.objects.filter(pk=sub_account.pk).update(login_failed_attempts=0, login_locked_time=None)
    sub_account.login_failed_attempts, sub_account.login_locked_time = 0, None
    return sub_account


# Role switching -----------------------------------------------------------------------------------------------------


def role_switch(*, session: ConsoleSession, role: Role, ip: str, now=None) -> ConsoleSession:
    """Act as ``role`` in this console session (the caller has authorized Change/switchRole on it)."""
    now = now or timezone.now()
    if role.role_type != Role.ACCOUNT or role.account_id != session.sub_account.account_id:
        raise InvalidInput.field("roleNo", "only Account roles of this account can be switched to")
    if not role.active:
        raise InvalidInput.field("roleNo", "the role is disabled")
    ConsoleSession.objects.filter(pk=session.pk).update(role=role, role_switch_time=now)
    Role.objects.filter(pk=role.pk).update(last_use_time=now)
    session.role, session.role_switch_time = role, now
    _record(session.sub_account, ip, "switchRole", role=role.nrn)
    return session


def role_switch_back(*, session: ConsoleSession, ip: str) -> ConsoleSession:
    """Back to the sub account's own permissions."""
    if session.role is not None:
        _record(session.sub_account, ip, "returnFromRole", role=session.role.nrn)
    ConsoleSession.objects.filter(pk=session.pk).update(role=None, role_switch_time=None)
    session.role, session.role_switch_time = None, None
    return session

"""Sub account sign-in at /signin/<alias>/: every rule with its failure path (password, lockout, console access,
permit IPs, no policy, MFA and its enrolment, forced and expired passwords), the session cookie, idle expiry and
the purge task."""

from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from iam.models import AuditEvent, ConsoleSession, SubAccount
from iam.secrets import encrypt_secret
from iam.services import signin
from iam.services.accounts import account_settings_update
from iam.services.groups import group_create
from iam.services.policies import policies_attach, policy_create
from iam.services.sub_accounts import memberships_add, sub_account_create
from iam.tasks import console_sessions_purge_expired

PASSWORD = "Console-Pass-1"
COOKIE = "iam_console"


def make_user(tenant, login_id: str = "alice", *, policy: bool = True, **fields) -> SubAccount:
    fields.setdefault("can_console_access", True)
    sub, _ = sub_account_create(
        account=tenant.account,
        login_id=login_id,
        name=login_id,
        email=f"{login_id}@example.com",
        password=PASSWORD,
        **fields,
    )
    if policy:
        policies_attach(target=sub, policy_ids=[_view_policy(tenant).policy_id])
    return sub


def _view_policy(tenant):
    from iam.models import Policy

    existing = Policy.objects.filter(account=tenant.account, name="viewer").first()
    return existing or policy_create(
        account=tenant.account,
        name="viewer",
        permissions=[
            {
                "effect": "Allow",
                "targets": [
                    {
                        "product": "SubAccount",
                        "actions": ["View/getSubAccountList", "View/getSubAccountDetail"],
                        "resourceNrns": ["*"],
                    }
                ],
            }
        ],
    )


def post_password(client, login_id: str = "alice", password: str = PASSWORD, alias: str = "2942", **extra):
    return client.post(f"/signin/{alias}/", {"login_id": login_id, "password": password}, **extra)


def signed_in(client) -> bool:
    response = client.get("/console/")
    return response.status_code == 200 and b"Welcome" in response.content


def no_password_in_the_audit_trail(*secrets) -> None:
    for event in AuditEvent.objects.all():
        text = f"{event.detail} {event.resource} {event.actor}"
        assert all(secret not in text for secret in (PASSWORD, *secrets)), event


# The page and the password step ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sign_in_page_is_at_the_alias(client, tenant, other_tenant):
    assert client.get("/signin/2942/").status_code == 200
    assert b"Alpha" in client.get("/signin/2942/").content
    assert client.get("/signin/nosuch/").status_code == 404
    account_settings_update(account=tenant.account, login_page_alias="alpha-corp")
    assert client.get("/signin/alpha-corp/").status_code == 200
    # A chosen alias replaces the default one.
    assert client.get("/signin/2942/").status_code == 404
    assert client.get("/signin/?alias=alpha-corp").url == "/signin/alpha-corp/"


@pytest.mark.django_db
def test_a_good_sign_in_opens_the_console_with_its_own_cookie(client, tenant):
    sub = make_user(tenant)
    response = post_password(client)
    assert response.status_code == 302 and response.url == "/console/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert "sessionid" not in response.cookies  # never the staff admin's session
    assert signed_in(client)
    sub.refresh_from_db()
    assert sub.last_login_time is not None
    session = ConsoleSession.objects.get()
    assert session.stage == ConsoleSession.ACTIVE and session.token_hash != cookie.value
    event = AuditEvent.objects.get(action="Console:signIn")
    assert (event.result, event.resource, event.actor, event.source_ip) == (
        AuditEvent.SUCCESS,
        sub.nrn,
        sub.nrn,
        "127.0.0.1",
    )
    no_password_in_the_audit_trail()


@pytest.mark.django_db
def test_the_login_id_is_matched_without_case_and_only_in_the_alias_account(client, tenant, other_tenant):
    make_user(tenant)
    assert post_password(client, login_id="ALICE").url == "/console/"
    response = post_password(Client(), alias="3001")
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_wrong_password_and_an_unknown_login_id_answer_alike(client, tenant):
    make_user(tenant)
    wrong = post_password(client, password="Wrong-Pass-1")
    unknown = post_password(client, login_id="nobody", password="Wrong-Pass-2")
    assert wrong.status_code == unknown.status_code == 401
    assert signin.WRONG_CREDENTIALS.encode() in wrong.content and signin.WRONG_CREDENTIALS.encode() in unknown.content
    assert COOKIE not in wrong.cookies and not ConsoleSession.objects.exists()
    assert not signed_in(client)
    results = list(AuditEvent.objects.filter(action="Console:signIn").values_list("result", "detail"))
    assert [r for r, _ in results] == [AuditEvent.FAILED, AuditEvent.FAILED]
    assert {d["reason"] for _, d in results} == {"wrong password (1 in a row)", "no such login ID"}
    no_password_in_the_audit_trail("Wrong-Pass-1", "Wrong-Pass-2")


# Lockout --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_more_than_five_wrong_passwords_lock_until_unlocked(client, tenant):
    sub = make_user(tenant)
    for _ in range(5):
        assert post_password(client, password="Wrong-Pass-1").status_code == 401
    sub.refresh_from_db()
    assert sub.login_locked_time is None and sub.login_failed_attempts == 5
    response = post_password(client, password="Wrong-Pass-1")  # the sixth
    assert signin.LOCKED_MESSAGE.encode() in response.content
    sub.refresh_from_db()
    assert sub.login_locked_time is not None
    # The right password is refused while locked, however long it lasts (IAM_SIGNIN_LOCK_SECONDS is 0).
    response = post_password(client)
    assert response.status_code == 401 and signin.LOCKED_MESSAGE.encode() in response.content
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="Console:lockSubAccount", result=AuditEvent.DENIED).count() == 1
    signin.sub_account_sign_in_unlock(sub_account=sub)
    assert post_password(client).url == "/console/"


@pytest.mark.django_db
def test_a_good_password_before_the_limit_starts_the_count_again(client, tenant):
    sub = make_user(tenant)
    for _ in range(5):
        post_password(client, password="Wrong-Pass-1")
    assert post_password(client).url == "/console/"
    sub.refresh_from_db()
    assert sub.login_failed_attempts == 0


@pytest.mark.django_db
def test_a_lock_ends_after_the_configured_time(tenant, settings):
    settings.IAM_SIGNIN_LOCK_SECONDS = 600
    sub = make_user(tenant)
    now = timezone.now()
    SubAccount.objects.filter(pk=sub.pk).update(login_locked_time=now - timedelta(seconds=599))
    with pytest.raises(signin.SignInRefused) as refused:
        signin.sign_in_password(account=tenant.account, login_id="alice", password=PASSWORD, ip="127.0.0.1", now=now)
    assert refused.value.message == signin.LOCKED_MESSAGE
    later = now + timedelta(seconds=2)
    step = signin.sign_in_password(account=tenant.account, login_id="alice", password=PASSWORD, ip="1.2.3.4", now=later)
    assert step.session.stage == ConsoleSession.ACTIVE
    sub.refresh_from_db()
    assert sub.login_locked_time is None


# Who may sign in --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, message",
    [
        ({"can_console_access": False}, b"may not use the console"),
        ({"active": False}, b"suspended"),
        ({"use_console_permit_ip": True, "console_permit_ips": ["10.1.0.0/16"]}, b"not allowed from this address"),
    ],
)
def test_the_right_password_is_not_enough(client, tenant, change, message):
    sub = make_user(tenant)
    SubAccount.objects.filter(pk=sub.pk).update(**change)
    response = post_password(client)
    assert response.status_code == 401 and message in response.content
    assert not ConsoleSession.objects.exists() and not signed_in(client)
    assert AuditEvent.objects.get(action="Console:signIn").result == AuditEvent.FAILED


@pytest.mark.django_db
def test_a_sub_account_without_a_policy_cannot_sign_in_until_a_group_gives_it_one(client, tenant):
    sub = make_user(tenant, policy=False)
    response = post_password(client)
    assert response.status_code == 401 and b"no policy" in response.content
    group = group_create(account=tenant.account, name="viewers")
    policies_attach(target=group, policy_ids=[_view_policy(tenant).policy_id])
    memberships_add(account=tenant.account, sub_accounts=[sub], groups=[group])
    assert post_password(client).url == "/console/"


@pytest.mark.django_db
def test_console_permit_ips_read_the_forwarded_address_only_from_trusted_proxies(client, tenant, settings):
    settings.IAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    make_user(tenant, use_console_permit_ip=True, console_permit_ips=["203.0.113.0/24"])
    forged = post_password(client, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert forged.status_code == 401
    response = post_password(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.url == "/console/"
    assert AuditEvent.objects.filter(action="Console:signIn", result=AuditEvent.SUCCESS).get().source_ip == (
        "203.0.113.5"
    )
    # Every console request is held to the permit IPs, not only the sign-in.
    assert client.get("/console/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 200
    assert client.get("/console/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 302
    assert not ConsoleSession.objects.exists()


# Forced and expired passwords -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_need_password_reset_forces_a_change_before_the_console(client, tenant):
    sub = make_user(tenant, need_password_reset=True)
    response = post_password(client)
    assert response.url == "/signin/2942/password"
    # A half-done sign-in is no console session: the console sends it back to its step.
    assert client.get("/console/").url == "/signin/2942/password"
    page = client.get("/signin/2942/password")
    assert b"must choose a new password" in page.content
    bad = client.post(
        "/signin/2942/password",
        {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
    )
    assert bad.status_code == 400 and b"newPassword" in bad.content
    wrong_current = client.post(
        "/signin/2942/password",
        {"current_password": "Nope-Pass-1", "new_password": "Brand-New-2", "new_password_again": "Brand-New-2"},
    )
    assert wrong_current.status_code == 400 and b"currentPassword" in wrong_current.content
    same = client.post(
        "/signin/2942/password",
        {"current_password": PASSWORD, "new_password": PASSWORD, "new_password_again": PASSWORD},
    )
    assert same.status_code == 400
    good = client.post(
        "/signin/2942/password",
        {"current_password": PASSWORD, "new_password": "Brand-New-2", "new_password_again": "Brand-New-2"},
    )
    assert good.url == "/console/"
    assert signed_in(client)
    sub.refresh_from_db()
    assert not sub.need_password_reset and sub.password_changed_time is not None and sub.last_login_time
    no_password_in_the_audit_trail("Brand-New-2", "Nope-Pass-1")
    # The next sign-in goes straight to the console with the new password.
    assert post_password(Client(), password="Brand-New-2").url == "/console/"


@pytest.mark.django_db
def test_an_expired_password_must_be_changed(client, tenant):
    sub = make_user(tenant)
    account_settings_update(account=tenant.account, password_expiration_days=60)
    SubAccount.objects.filter(pk=sub.pk).update(password_changed_time=timezone.now() - timedelta(days=59))
    assert post_password(client).url == "/console/"
    SubAccount.objects.filter(pk=sub.pk).update(password_changed_time=timezone.now() - timedelta(days=61))
    other = Client()
    assert post_password(other).url == "/signin/2942/password"
    assert b"Your password has expired" in other.get("/signin/2942/password").content


# MFA ----------------------------------------------------------------------------------------------------------------


def _with_device(sub) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    SubAccount.objects.filter(pk=sub.pk).update(mfa_secret_encrypted=encrypt_secret(secret))
    return pyotp.TOTP(secret)


@pytest.mark.django_db
def test_a_sub_account_with_mfa_needs_a_code(client, tenant):
    totp = _with_device(make_user(tenant))
    assert post_password(client).url == "/signin/2942/mfa"
    assert client.get("/console/").url == "/signin/2942/mfa"
    wrong = client.post("/signin/2942/mfa", {"code": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 401
    code = totp.now()
    response = client.post("/signin/2942/mfa", {"code": code})
    assert response.url == "/console/" and signed_in(client)
    assert ConsoleSession.objects.get().mfa_present
    # A code is good once: a second sign-in with the same code is refused.
    again = Client()
    post_password(again)
    assert again.post("/signin/2942/mfa", {"code": code}).status_code == 401
    assert AuditEvent.objects.filter(action="Console:verifyMfa", result=AuditEvent.FAILED).count() == 2
    no_password_in_the_audit_trail(code)


@pytest.mark.django_db
def test_mandatory_mfa_enrols_a_device_with_a_qr_code(client, tenant):
    sub = make_user(tenant, is_mfa_mandatory=True)
    assert post_password(client).url == "/signin/2942/mfa/enrol"
    page = client.get("/signin/2942/mfa/enrol")
    assert b"<svg" in page.content
    secret = page.context["secret"]
    assert "no-store" in page["Cache-Control"]
    assert client.post("/signin/2942/mfa/enrol", {"code": "12345"}).status_code == 400
    sub.refresh_from_db()
    assert not sub.has_mfa
    response = client.post("/signin/2942/mfa/enrol", {"code": pyotp.TOTP(secret).now()})
    assert response.url == "/console/"
    sub.refresh_from_db()
    assert sub.has_mfa and ConsoleSession.objects.get().mfa_present
    # The next sign-in asks for a code of that device.
    assert post_password(Client()).url == "/signin/2942/mfa"


@pytest.mark.django_db
def test_mfa_then_the_forced_password_change_then_the_console(client, tenant):
    sub = make_user(tenant, need_password_reset=True)
    totp = _with_device(sub)
    assert post_password(client).url == "/signin/2942/mfa"
    assert client.post("/signin/2942/mfa", {"code": totp.now()}).url == "/signin/2942/password"
    response = client.post(
        "/signin/2942/password",
        {"current_password": PASSWORD, "new_password": "Brand-New-2", "new_password_again": "Brand-New-2"},
    )
    assert response.url == "/console/"
    assert ConsoleSession.objects.get().mfa_present


@pytest.mark.django_db
def test_a_suspended_main_account_has_no_sign_in_page(client, tenant):
    from iam.services.accounts import account_set_active

    make_user(tenant)
    post_password(client)
    account_set_active(account=tenant.account, active=False)
    assert client.get("/signin/2942/").status_code == 404
    assert client.get("/console/").status_code == 302  # and its signed-in sub accounts are signed out
    assert not ConsoleSession.objects.exists()


@pytest.mark.django_db
def test_a_pending_session_of_another_account_or_stage_goes_back_to_the_start(client, tenant, other_tenant):
    _with_device(make_user(tenant))
    post_password(client)
    assert client.get("/signin/3001/mfa").url == "/signin/3001/"
    assert client.get("/signin/2942/password").url == "/signin/2942/"


@pytest.mark.django_db
def test_a_pending_sign_in_expires(client, tenant, settings):
    _with_device(make_user(tenant))
    post_password(client)
    ConsoleSession.objects.update(expire_time=timezone.now() - timedelta(seconds=1))
    assert client.get("/signin/2942/mfa").url == "/signin/2942/"


# Sessions: the cookie, CSRF, idle expiry, the purge ---------------------------------------------------------------


@pytest.mark.django_db
def test_forms_need_the_csrf_token(tenant):
    make_user(tenant)
    client = Client(enforce_csrf_checks=True)
    assert post_password(client).status_code == 403
    page = client.get("/signin/2942/")
    token = page.cookies["csrftoken"].value
    response = client.post("/signin/2942/", {"login_id": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.url == "/console/"
    assert client.post("/console/sign-out").status_code == 403


@pytest.mark.django_db
def test_the_staff_session_and_the_console_session_do_not_stand_in_for_each_other(client, tenant):
    make_user(tenant)
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "Staff-Pass-1"))
    assert client.get("/console/").status_code == 302
    console = Client()
    post_password(console)
    assert signed_in(console)
    assert console.get("/admin/").status_code == 302  # to the admin's own sign-in


@pytest.mark.django_db
def test_an_idle_session_ends_under_the_current_session_policy(client, tenant):
    make_user(tenant)
    post_password(client)
    session = ConsoleSession.objects.get()
    assert session.expire_time - session.last_seen_time == timedelta(minutes=60)
    ConsoleSession.objects.update(last_seen_time=timezone.now() - timedelta(minutes=11))
    assert signed_in(client)  # and the request pushed the expiry back
    ConsoleSession.objects.update(last_seen_time=timezone.now() - timedelta(minutes=11))
    account_settings_update(account=tenant.account, session_expiration_minutes=10)  # shortened: applies at once
    assert client.get("/console/").status_code == 302
    assert not ConsoleSession.objects.exists()
    assert AuditEvent.objects.filter(action="Console:endSession", detail__reason="idle timeout").exists()


@pytest.mark.django_db
def test_sign_out_ends_the_session(client, tenant):
    make_user(tenant)
    post_password(client)
    response = client.post("/console/sign-out")
    assert response.url == "/signin/2942/"
    assert not ConsoleSession.objects.exists() and not signed_in(client)


@pytest.mark.django_db
def test_the_purge_task_deletes_expired_sessions_only(tenant, settings):
    sub = make_user(tenant)
    now = timezone.now()
    for ago in (0, 3601, 7200):
        ConsoleSession.objects.create(
            token_hash=f"{ago:064d}",
            sub_account=sub,
            stage=ConsoleSession.ACTIVE,
            last_seen_time=now - timedelta(seconds=ago),
            expire_time=now - timedelta(seconds=ago) + timedelta(hours=1),
        )
    assert console_sessions_purge_expired.apply().get() == 2
    assert list(ConsoleSession.objects.values_list("token_hash", flat=True)) == [f"{0:064d}"]
    assert console_sessions_purge_expired.apply().get() == 0  # twice is harmless
    assert "purge-expired-console-sessions" in settings.CELERY_BEAT_SCHEDULE
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-console-sessions"]
    assert entry["task"] == "iam.tasks.console_sessions_purge_expired"

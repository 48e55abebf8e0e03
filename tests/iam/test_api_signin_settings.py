"""Sign-in settings on the wire page's paths: the login alias, the password policy, the session policy and the
idle-disable settings; plus unlocking a sub account that wrong passwords locked."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from iam.models import Account, AuditEvent, SubAccount
from iam.services.maintenance import inactive_sub_accounts_disable
from tests.conftest import make_sub_account

ALIAS = "/api/v1/login-alias"
PASSWORD_POLICY = "/api/v1/tenant-settings/sub-account-password-policy"
SESSION_POLICY = "/api/v1/tenant-settings/sub-account-session-policy"
IDLE_DISABLE = "/api/v1/tenant-settings/idle-disable-settings"

ACTIONS = {
    ALIAS: "Change/manageLoginPageSetting",
    PASSWORD_POLICY: "Change/managePasswordSetting",
    SESSION_POLICY: "Change/manageSessionSetting",
    IDLE_DISABLE: "Change/manageLongtermUnusedDeactiveSetting",
}
VALID_PUTS = {
    ALIAS: {"loginAlias": "acme"},
    PASSWORD_POLICY: {"useExpiration": True, "expirationDays": 90},
    SESSION_POLICY: {"idleTimeoutSec": 1800},
    IDLE_DISABLE: {"use": True, "days": 180},
}
COMPLEXITY = {
    "upperCase": True,
    "lowerCase": True,
    "number": True,
    "specialCharacter": True,
    "noWhiteSpace": True,
    "noLoginId": True,
    "maxLength": 16,
}


def _row(account) -> dict:
    return model_to_dict(Account.objects.get(pk=account.pk))


def _field_error(response, status: int, field: str) -> None:
    assert response.status_code == status, response.content
    assert field in [e["field"] for e in response.json()["fieldErrors"]], response.json()


def _denied(response, action: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert (error["errorCode"], error["message"]) == ("210", "Permission Denied")
    assert action in error["details"]


@pytest.mark.django_db
def test_defaults(api, tenant):
    assert api.call("GET", ALIAS, creds=tenant.root).json() == {
        "loginAlias": "2942",
        "defaultAlias": "2942",
        "isDefault": True,
        "signInUrl": "/signin/2942/",
    }
    assert api.call("GET", PASSWORD_POLICY, creds=tenant.root).json() == {
        "useExpiration": False,
        "expirationDays": None,
        "minLength": 8,
        "reusePreventionCount": 0,
        "complexity": COMPLEXITY,
    }
    assert api.call("GET", SESSION_POLICY, creds=tenant.root).json() == {"idleTimeoutSec": 3600}
    assert api.call("GET", IDLE_DISABLE, creds=tenant.root).json() == {"use": False, "days": 90}


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(ACTIONS))
def test_unsigned_is_401_and_changes_nothing(api, tenant, url):
    before = _row(tenant.account)
    assert api.call("GET", url, creds=None).status_code == 401
    assert api.call("PUT", url, VALID_PUTS[url], creds=None).status_code == 401
    assert _row(tenant.account) == before


@pytest.mark.django_db
def test_each_setting_needs_its_own_action(api, tenant):
    _, reader = make_sub_account(tenant, "reader", actions=["View/getResourceCount"])
    before = _row(tenant.account)
    for url, action in ACTIONS.items():
        assert api.call("GET", url, creds=reader).json() == api.call("GET", url, creds=tenant.root).json()
        _denied(api.call("PUT", url, VALID_PUTS[url], creds=reader), action)
        _, writer = make_sub_account(tenant, f"w{action.split('/')[1][:20]}", actions=[action])
        response = api.call("PUT", url, VALID_PUTS[url], creds=writer)
        assert response.status_code == 200, response.content
        for other_url, other_action in ACTIONS.items():
            if other_action != action:
                _denied(api.call("PUT", other_url, VALID_PUTS[other_url], creds=writer), other_action)
    assert _row(tenant.account) != before


@pytest.mark.django_db
def test_changes_are_audited_without_touching_another_account(api, tenant, other_tenant):
    before = _row(other_tenant.account)
    for url, body in VALID_PUTS.items():
        response = api.call("PUT", url, body, creds=tenant.root)
        assert response.status_code == 200, response.content
    assert _row(other_tenant.account) == before
    events = AuditEvent.objects.filter(account=tenant.account, action__startswith="SubAccount:Change/manage")
    assert sorted(e.action for e in events) == sorted(f"SubAccount:{a}" for a in ACTIONS.values())
    assert all(e.result == AuditEvent.SUCCESS for e in events)
    assert not AuditEvent.objects.filter(account=other_tenant.account).exists()


# Login alias ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_alias_set_and_back_to_the_default(api, tenant):
    response = api.call("PUT", ALIAS, {"loginAlias": "acme-corp"}, creds=tenant.root)
    assert response.json() == {
        "loginAlias": "acme-corp",
        "defaultAlias": "2942",
        "isDefault": False,
        "signInUrl": "/signin/acme-corp/",
    }
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias == "acme-corp"
    response = api.call("PUT", ALIAS, {"loginAlias": None}, creds=tenant.root)
    assert response.json()["loginAlias"] == "2942" and response.json()["isDefault"] is True
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias is None


@pytest.mark.django_db
@pytest.mark.parametrize("alias", ["ab", "-acme", "acme-", "Acme", "ac_me", "a" * 64, "3001", "12345"])
def test_login_alias_rules(api, tenant, alias):
    response = api.call("PUT", ALIAS, {"loginAlias": alias}, creds=tenant.root)
    _field_error(response, 400, "loginAlias")
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias is None


@pytest.mark.django_db
def test_login_alias_is_unique(api, tenant, other_tenant):
    assert api.call("PUT", ALIAS, {"loginAlias": "acme"}, creds=other_tenant.root).status_code == 200
    response = api.call("PUT", ALIAS, {"loginAlias": "acme"}, creds=tenant.root)
    _field_error(response, 409, "loginAlias")
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias is None


# Password, session and idle-disable policies ------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_policy_expiry_choices(api, tenant):
    for days in (60, 90, 120, 180):
        response = api.call("PUT", PASSWORD_POLICY, {"useExpiration": True, "expirationDays": days}, creds=tenant.root)
        assert response.json()["expirationDays"] == days
        assert Account.objects.get(pk=tenant.account.pk).password_expiration_days == days
    response = api.call("PUT", PASSWORD_POLICY, {"useExpiration": False, "minLength": 12}, creds=tenant.root)
    assert response.json() == {
        "useExpiration": False,
        "expirationDays": None,
        "minLength": 12,
        "reusePreventionCount": 0,
        "complexity": COMPLEXITY,
    }
    assert Account.objects.get(pk=tenant.account.pk).password_expiration_days == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"useExpiration": True, "expirationDays": 30}, "expirationDays"),
        ({"useExpiration": True}, "expirationDays"),
        ({"minLength": 7}, "minLength"),
        ({"minLength": 17}, "minLength"),
    ],
)
def test_password_policy_refuses_bad_values(api, tenant, body, field):
    before = _row(tenant.account)
    _field_error(api.call("PUT", PASSWORD_POLICY, body, creds=tenant.root), 400, field)
    assert _row(tenant.account) == before


@pytest.mark.django_db
def test_session_policy_choices(api, tenant):
    for seconds in (600, 1800, 3600, 10800):
        response = api.call("PUT", SESSION_POLICY, {"idleTimeoutSec": seconds}, creds=tenant.root)
        assert response.json() == {"idleTimeoutSec": seconds}
        assert Account.objects.get(pk=tenant.account.pk).session_expiration_minutes == seconds // 60
    for bad in (60, 7200, "1800x", None):
        _field_error(api.call("PUT", SESSION_POLICY, {"idleTimeoutSec": bad}, creds=tenant.root), 400, "idleTimeoutSec")
    assert Account.objects.get(pk=tenant.account.pk).session_expiration_minutes == 180


@pytest.mark.django_db
def test_idle_disable_choices_and_the_job_uses_them(api, tenant):
    _field_error(api.call("PUT", IDLE_DISABLE, {"days": 120}, creds=tenant.root), 400, "days")
    assert api.call("PUT", IDLE_DISABLE, {"use": True, "days": 180}, creds=tenant.root).json() == {
        "use": True,
        "days": 180,
    }
    old, _ = make_sub_account(tenant, "old")
    recent, _ = make_sub_account(tenant, "recent")
    now = timezone.now()
    SubAccount.objects.filter(pk=old.pk).update(last_login_time=now - timedelta(days=181))
    SubAccount.objects.filter(pk=recent.pk).update(last_login_time=now - timedelta(days=179))
    # Access keys were made just now: their creation is not a use, but make sure none counts as recent use.
    assert inactive_sub_accounts_disable(now=now) == 1
    assert list(SubAccount.objects.filter(active=False).values_list("login_id", flat=True)) == ["old"]


# Unlocking ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unlock_lifts_a_sign_in_lock(api, tenant, other_tenant):
    sub, _ = make_sub_account(tenant, "locked")
    SubAccount.objects.filter(pk=sub.pk).update(login_locked_time=timezone.now(), login_failed_attempts=3)
    url = f"/api/v1/sub-accounts/{sub.sub_account_id}/unlock"
    _, plain = make_sub_account(tenant, "plain", actions=["View/getSubAccountDetail"])
    _denied(api.call("POST", url, creds=plain), "Change/updateSubAccount")
    assert api.call("POST", url, creds=other_tenant.root).status_code == 404
    assert SubAccount.objects.get(pk=sub.pk).login_locked_time is not None
    response = api.call("POST", url, creds=tenant.root)
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    sub.refresh_from_db()
    assert (sub.login_locked_time, sub.login_failed_attempts) == (None, 0)
    assert AuditEvent.objects.filter(action="SubAccount:Change/updateSubAccount", resource=sub.nrn).exists()


@pytest.mark.django_db
def test_a_password_reset_also_unlocks(api, tenant):
    sub, _ = make_sub_account(tenant, "locked")
    SubAccount.objects.filter(pk=sub.pk).update(login_locked_time=timezone.now())
    url = f"/api/v1/sub-accounts/{sub.sub_account_id}/password"
    response = api.call("PUT", url, {"needPasswordGenerate": True}, creds=tenant.root)
    assert response.status_code == 200, response.content
    sub.refresh_from_db()
    assert sub.login_locked_time is None and sub.need_password_reset and sub.password_changed_time is not None


@pytest.mark.django_db
def test_mfa_methods_of_a_sub_account(api, tenant, other_tenant):
    from iam.secrets import encrypt_secret

    sub, _ = make_sub_account(tenant, "mfauser", is_mfa_mandatory=True)
    url = f"/api/v1/sub-accounts/{sub.sub_account_id}/mfa"
    assert api.call("GET", url, creds=tenant.root).json() == {"isMfaMandatory": True, "mfaList": []}
    SubAccount.objects.filter(pk=sub.pk).update(mfa_secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))
    assert api.call("GET", url, creds=tenant.root).json() == {"isMfaMandatory": True, "mfaList": [{"mfaType": "OTP"}]}
    assert api.call("GET", url, creds=other_tenant.root).status_code == 404
    _, plain = make_sub_account(tenant, "plain", actions=["View/getSubAccountList"])
    _denied(api.call("GET", url, creds=plain), "View/getSubAccountDetail")
    # After a reset the device is gone (the next sign-in enrols a new one, as MFA is mandatory).
    assert api.call("POST", f"{url}/reset", creds=tenant.root).status_code == 200
    assert api.call("GET", url, creds=tenant.root).json()["mfaList"] == []

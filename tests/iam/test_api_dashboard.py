"""The dashboard's resource counts and the account settings (password, login page, session, long-term unused)."""

import pytest
from django.forms.models import model_to_dict

from iam.models import Account, SubAccount
from iam.services.groups import group_create
from iam.services.policies import policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account

DASHBOARD = "/api/v1/dashboard"
PASSWORD = "/api/v1/settings/password"
LOGIN_PAGE = "/api/v1/settings/login-page"
SESSION = "/api/v1/settings/session"
LONG_TERM = "/api/v1/settings/long-term-unused"

SETTINGS_ACTIONS = {
    PASSWORD: "Change/managePasswordSetting",
    LOGIN_PAGE: "Change/manageLoginPageSetting",
    SESSION: "Change/manageSessionSetting",
    LONG_TERM: "Change/manageLongtermUnusedDeactiveSetting",
}
VALID_PUTS = {
    PASSWORD: {"minLength": 10},
    LOGIN_PAGE: {"loginPageAlias": "acme"},
    SESSION: {"sessionExpirationMinutes": 30},
    LONG_TERM: {"use": True, "days": 60},
}


def _settings_row(account) -> dict:
    row = model_to_dict(Account.objects.get(pk=account.pk))
    row.pop("policy_count")
    return row


def _error(response, status: int, field: str | None = None, code: int | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"errorCode", "message", "fieldErrors"}
    if field is not None:
        assert field in [e["field"] for e in body["fieldErrors"]], body
    if code is not None:
        assert body["errorCode"] == code
    return body


def _denied(response, action: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert (error["errorCode"], error["message"]) == ("210", "Permission Denied")
    assert action in error["details"]


def _populate(tenant, *, subs: int, groups: int, policies: int, roles: int) -> None:
    prefix = tenant.account.member_no
    for i in range(subs):
        make_sub_account(tenant, f"user{prefix}x{i}")
    for i in range(groups):
        group_create(account=tenant.account, name=f"group-{i}")
    for i in range(policies):
        policy_create(
            account=tenant.account,
            name=f"policy-{i}",
            permissions=[
                {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["*"], "resourceNrns": ["*"]}]}
            ],
        )
    for i in range(roles):
        role_create(account=tenant.account, name=f"role-{i}", role_type="Server")


# Dashboard ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_of_a_new_account_counts_nothing(api, tenant):
    response = api.call("GET", DASHBOARD, creds=tenant.root)
    assert response.status_code == 200, response.content
    # The seven system-managed policies are not the account's own.
    assert response.json() == {"subAccountCount": 0, "groupCount": 0, "policyCount": 0, "roleCount": 0}


@pytest.mark.django_db
def test_dashboard_counts_exactly_the_callers_resources(api, tenant, other_tenant):
    _populate(tenant, subs=2, groups=3, policies=4, roles=5)
    _populate(other_tenant, subs=1, groups=1, policies=2, roles=0)
    assert api.call("GET", DASHBOARD, creds=tenant.root).json() == {
        "subAccountCount": 2,
        "groupCount": 3,
        "policyCount": 4,
        "roleCount": 5,
    }
    assert api.call("GET", DASHBOARD, creds=other_tenant.root).json() == {
        "subAccountCount": 1,
        "groupCount": 1,
        "policyCount": 2,
        "roleCount": 0,
    }


@pytest.mark.django_db
def test_dashboard_follows_creates_and_deletes(api, tenant):
    api.call("POST", "/api/v1/groups", {"groupName": "dev-team"}, creds=tenant.root)
    role_no = api.call("POST", "/api/v1/roles", {"roleName": "deployer", "roleType": "Server"}, creds=tenant.root)
    api.call("DELETE", f"/api/v1/roles/{role_no.json()['id']}", creds=tenant.root)
    assert api.call("GET", DASHBOARD, creds=tenant.root).json() == {
        "subAccountCount": 0,
        "groupCount": 1,
        "policyCount": 0,
        "roleCount": 0,
    }


@pytest.mark.django_db
def test_dashboard_counts_are_visible_to_a_sub_account_with_get_resource_count(api, tenant):
    _populate(tenant, subs=0, groups=2, policies=0, roles=1)
    _, creds = make_sub_account(tenant, "watcher", actions=["View/getResourceCount"])
    response = api.call("GET", DASHBOARD, creds=creds)
    assert response.status_code == 200, response.content
    # The watcher itself and its generated policy are counted too.
    assert response.json() == {"subAccountCount": 1, "groupCount": 2, "policyCount": 1, "roleCount": 1}


# Settings: reading -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_have_their_defaults(api, tenant):
    assert api.call("GET", PASSWORD, creds=tenant.root).json() == {
        "minLength": 8,
        "expirationDays": 0,
        "reusePreventionCount": 0,
    }
    assert api.call("GET", LOGIN_PAGE, creds=tenant.root).json() == {"loginPageAlias": None}
    assert api.call("GET", SESSION, creds=tenant.root).json() == {"sessionExpirationMinutes": 60}
    assert api.call("GET", LONG_TERM, creds=tenant.root).json() == {"use": False, "days": 90}


# Settings: password ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_put_password_settings(api, tenant, other_tenant):
    body = {"minLength": 12, "expirationDays": 90, "reusePreventionCount": 5}
    response = api.call("PUT", PASSWORD, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == body
    account = Account.objects.get(pk=tenant.account.pk)
    assert (account.password_min_length, account.password_expiration_days, account.password_reuse_prevention) == (
        12,
        90,
        5,
    )
    assert api.call("GET", PASSWORD, creds=tenant.root).json() == body
    # Another account keeps its own settings.
    assert api.call("GET", PASSWORD, creds=other_tenant.root).json()["minLength"] == 8


@pytest.mark.django_db
def test_put_password_settings_partially_keeps_the_rest(api, tenant):
    api.call("PUT", PASSWORD, {"minLength": 10, "expirationDays": 30, "reusePreventionCount": 3}, creds=tenant.root)
    response = api.call("PUT", PASSWORD, {"expirationDays": 0}, creds=tenant.root)
    assert response.json() == {"minLength": 10, "expirationDays": 0, "reusePreventionCount": 3}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"minLength": 8}, {"minLength": 16}, {"expirationDays": 365}, {"reusePreventionCount": 24}]
)
def test_password_settings_bounds_are_inclusive(api, tenant, body):
    response = api.call("PUT", PASSWORD, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json().items() >= body.items()


BAD_SETTINGS = [
    (PASSWORD, {"minLength": 7}, "minLength"),
    (PASSWORD, {"minLength": 17}, "minLength"),
    (PASSWORD, {"minLength": "long"}, "minLength"),
    (PASSWORD, {"minLength": None}, "minLength"),
    (PASSWORD, {"expirationDays": -1}, "expirationDays"),
    (PASSWORD, {"expirationDays": 366}, "expirationDays"),
    (PASSWORD, {"reusePreventionCount": -1}, "reusePreventionCount"),
    (PASSWORD, {"reusePreventionCount": 25}, "reusePreventionCount"),
    (PASSWORD, {"minLength": 12, "reusePreventionCount": 25}, "reusePreventionCount"),
    (LOGIN_PAGE, {"loginPageAlias": "ab"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "-acme"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "acme-"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "Acme"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "ac_me"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "ac me"}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": "a" * 64}, "loginPageAlias"),
    (LOGIN_PAGE, {"loginPageAlias": ""}, "loginPageAlias"),
    (SESSION, {"sessionExpirationMinutes": 9}, "sessionExpirationMinutes"),
    (SESSION, {"sessionExpirationMinutes": 1441}, "sessionExpirationMinutes"),
    (SESSION, {"sessionExpirationMinutes": 0}, "sessionExpirationMinutes"),
    (LONG_TERM, {"use": True, "days": 29}, "days"),
    (LONG_TERM, {"use": True, "days": 366}, "days"),
    (LONG_TERM, {"use": "sometimes"}, "use"),
    (LONG_TERM, {"days": "ninety"}, "days"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, body, field", BAD_SETTINGS, ids=[f"{u.rsplit('/', 1)[1]}-{b}" for u, b, _ in BAD_SETTINGS]
)
def test_bad_settings_are_rejected_and_nothing_changes(api, tenant, url, body, field):
    before = _settings_row(tenant.account)
    shown = api.call("GET", url, creds=tenant.root).json()
    _error(api.call("PUT", url, body, creds=tenant.root), 400, field, 9000)
    assert _settings_row(tenant.account) == before
    assert api.call("GET", url, creds=tenant.root).json() == shown


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(VALID_PUTS))
def test_settings_body_must_be_an_object(api, tenant, url):
    before = _settings_row(tenant.account)
    response = api.call("PUT", url, [VALID_PUTS[url]], creds=tenant.root)
    assert response.status_code == 400, response.content
    assert _settings_row(tenant.account) == before


# Settings: login page ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("alias", ["abc", "acme-corp", "a1-b2-c3", "9lives", "a" * 63])
def test_login_page_alias_accepts_valid_aliases(api, tenant, alias):
    response = api.call("PUT", LOGIN_PAGE, {"loginPageAlias": alias}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"loginPageAlias": alias}
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias == alias


@pytest.mark.django_db
def test_login_page_alias_of_another_account_conflicts(api, tenant, other_tenant):
    assert api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "beta"}, creds=other_tenant.root).status_code == 200
    api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "alpha"}, creds=tenant.root)
    body = _error(
        api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "beta"}, creds=tenant.root), 409, "loginPageAlias", 9011
    )
    assert "already in use" in body["message"]
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias == "alpha"
    assert Account.objects.get(pk=other_tenant.account.pk).login_page_alias == "beta"


@pytest.mark.django_db
def test_login_page_alias_can_be_set_again_and_cleared(api, tenant, other_tenant):
    api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "alpha"}, creds=tenant.root)
    # Setting its own alias again is not a conflict.
    response = api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "alpha"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"loginPageAlias": "alpha"}

    response = api.call("PUT", LOGIN_PAGE, {"loginPageAlias": None}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"loginPageAlias": None}
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias is None
    # A cleared alias is free for another account, and two accounts may both have none.
    assert api.call("PUT", LOGIN_PAGE, {"loginPageAlias": "alpha"}, creds=other_tenant.root).status_code == 200
    assert api.call("PUT", LOGIN_PAGE, {"loginPageAlias": None}, creds=other_tenant.root).status_code == 200
    assert Account.objects.filter(login_page_alias__isnull=True).count() == 2


# Settings: session and long-term unused ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", [10, 1440, 120])
def test_session_expiry(api, tenant, minutes):
    response = api.call("PUT", SESSION, {"sessionExpirationMinutes": minutes}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"sessionExpirationMinutes": minutes}
    assert Account.objects.get(pk=tenant.account.pk).session_expiration_minutes == minutes


@pytest.mark.django_db
def test_long_term_unused_deactivation(api, tenant):
    response = api.call("PUT", LONG_TERM, {"use": True, "days": 30}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"use": True, "days": 30}
    account = Account.objects.get(pk=tenant.account.pk)
    assert (account.use_long_term_unused_deactivation, account.long_term_unused_days) == (True, 30)

    response = api.call("PUT", LONG_TERM, {"days": 365}, creds=tenant.root)
    assert response.json() == {"use": True, "days": 365}
    response = api.call("PUT", LONG_TERM, {"use": False}, creds=tenant.root)
    assert response.json() == {"use": False, "days": 365}


# Settings: who may change them -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_resource_count_may_read_but_not_change_settings(api, tenant):
    _, creds = make_sub_account(tenant, "watcher", actions=["View/getResourceCount"])
    before = _settings_row(tenant.account)
    for url, action in SETTINGS_ACTIONS.items():
        shown = api.call("GET", url, creds=tenant.root).json()
        response = api.call("GET", url, creds=creds)
        assert response.status_code == 200, response.content
        assert response.json() == shown
        _denied(api.call("PUT", url, VALID_PUTS[url], creds=creds), action)
    assert _settings_row(tenant.account) == before


@pytest.mark.django_db
def test_manage_password_setting_may_change_only_password_settings(api, tenant):
    _, creds = make_sub_account(tenant, "pwadmin", actions=["Change/managePasswordSetting"])
    response = api.call("PUT", PASSWORD, {"minLength": 14}, creds=creds)
    assert response.status_code == 200, response.content
    assert response.json()["minLength"] == 14
    assert Account.objects.get(pk=tenant.account.pk).password_min_length == 14
    _denied(api.call("PUT", SESSION, {"sessionExpirationMinutes": 30}, creds=creds), "Change/manageSessionSetting")
    assert Account.objects.get(pk=tenant.account.pk).session_expiration_minutes == 60


@pytest.mark.django_db
def test_settings_of_one_account_are_not_changed_by_another(api, tenant, other_tenant):
    before = _settings_row(other_tenant.account)
    for url, body in VALID_PUTS.items():
        assert api.call("PUT", url, body, creds=tenant.root).status_code == 200
    assert _settings_row(other_tenant.account) == before
    assert api.call("GET", SESSION, creds=other_tenant.root).json() == {"sessionExpirationMinutes": 60}


# Settings are used -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_min_length_applies_to_new_sub_accounts(api, tenant):
    assert api.call("PUT", PASSWORD, {"minLength": 12}, creds=tenant.root).status_code == 200
    body = {"loginId": "shorty", "name": "Shorty", "email": "shorty@example.com", "canConsoleAccess": True}
    response = api.call("POST", "/api/v1/sub-accounts", {**body, "password": "Abcd123!"}, creds=tenant.root)
    error = _error(response, 400, "password", 9000)
    assert "12" in error["message"]
    assert "Abcd123!" not in response.content.decode()
    assert SubAccount.objects.count() == 0

    response = api.call("POST", "/api/v1/sub-accounts", {**body, "password": "Abcd1234!xyz"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert SubAccount.objects.filter(login_id="shorty").exists()

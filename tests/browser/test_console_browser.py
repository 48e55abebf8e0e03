"""Sub account sign-in and the console in a real browser: sign-in, MFA enrolment with its QR code and a later sign-in
with a code, lockout after wrong passwords, the forced password change, switching into a role and back. Each step
saves a screenshot under var/screenshots/ (console-*.png)."""

import time

import pyotp
import pytest

from iam.models import SubAccount
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import sub_account_create
from tests.browser.conftest import VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Pass-1"


def _policy(account, name: str, actions: list[str], resources=("*",)):
    return policy_create(
        account=account,
        name=name,
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": actions, "resourceNrns": list(resources)}],
            }
        ],
    )


@pytest.fixture
def account(transactional_db):
    from iam.services.accounts import account_create, account_settings_update

    account, _, _ = account_create(name="Acme", member_no=2942)
    return account_settings_update(account=account, login_page_alias="acme")


def _user(account, login_id: str = "alice", **fields) -> SubAccount:
    sub, _ = sub_account_create(
        account=account,
        login_id=login_id,
        name=login_id.title(),
        email=f"{login_id}@example.com",
        password=PASSWORD,
        can_console_access=True,
        **fields,
    )
    policies_attach(target=sub, policy_ids=[_policy(account, f"p-{login_id}", ["View/getSubAccountList"]).policy_id])
    return sub


def _sign_in(page, live_server, login_id: str = "alice", password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/signin/acme/")
    page.fill("#login_id", login_id)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _fits(page) -> bool:
    return page.evaluate("w => document.documentElement.scrollWidth <= w", VIEWPORT["width"])


def test_sign_in_see_my_permissions_and_sign_out(page, live_server, account, screenshot_dir):
    _user(account)
    page.goto(f"{live_server.url}/signin/acme/")
    assert page.title() == "Sign in to Acme"
    page.screenshot(path=str(screenshot_dir / "console-01-sign-in.png"))
    _sign_in(page, live_server, password="Wrong-Pass-1")
    assert page.inner_text("#signin-error") == "The login ID or password is wrong."
    assert page.input_value("#login_id") == "alice" and page.input_value("#password") == ""
    page.screenshot(path=str(screenshot_dir / "console-02-wrong-password.png"))
    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/console/")
    assert page.inner_text("#who") == "alice @ Acme"
    assert page.inner_text("#acting-as") == "Sub account alice"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["iam_console"]["httpOnly"] and "sessionid" not in cookies
    page.screenshot(path=str(screenshot_dir / "console-03-home.png"))
    page.click("text=My permissions")
    assert page.inner_text("#allowed-count") == "1"
    page.fill("#action", "Change/createSubAccount")
    page.click("button[type=submit]")
    assert page.inner_text("#checked") == "SubAccount:Change/createSubAccount on *: implicitDeny"
    assert _fits(page)
    page.screenshot(path=str(screenshot_dir / "console-04-permissions.png"), full_page=True)
    page.click("#sign-out")
    page.wait_for_url(f"{live_server.url}/signin/acme/")
    page.goto(f"{live_server.url}/console/")
    assert page.url.endswith("/signin/")


def test_mandatory_mfa_enrolment_then_a_sign_in_with_a_code(page, live_server, account, screenshot_dir):
    sub = _user(account, is_mfa_mandatory=True)
    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/signin/acme/mfa/enrol")
    qr = page.locator("#mfa-qr svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] > 100
    secret = page.inner_text("#mfa-secret")
    page.screenshot(path=str(screenshot_dir / "console-05-mfa-enrol.png"))
    page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.click("button[type=submit]")
    assert "does not match" in page.inner_text("#mfa-error")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    sub.refresh_from_db()
    assert sub.has_mfa
    page.click("#sign-out")
    page.wait_for_url(f"{live_server.url}/signin/acme/")

    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/signin/acme/mfa")
    page.screenshot(path=str(screenshot_dir / "console-06-mfa-code.png"))
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the enrolment used the current code
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    assert "used for this sign-in" in page.inner_text("main")


def test_more_than_five_wrong_passwords_lock_the_sub_account(page, live_server, account, screenshot_dir):
    _user(account)
    for _ in range(5):
        _sign_in(page, live_server, password="Wrong-Pass-1")
        assert page.inner_text("#signin-error") == "The login ID or password is wrong."
    _sign_in(page, live_server, password="Wrong-Pass-1")
    assert "locked after too many wrong passwords" in page.inner_text("#signin-error")
    _sign_in(page, live_server)
    assert "locked after too many wrong passwords" in page.inner_text("#signin-error")
    assert page.url == f"{live_server.url}/signin/acme/"
    page.screenshot(path=str(screenshot_dir / "console-07-locked.png"))


def test_a_first_sign_in_must_change_the_password(page, live_server, account, screenshot_dir):
    _user(account, need_password_reset=True)
    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/signin/acme/password")
    assert page.inner_text("#password-reason") == "You must choose a new password before you continue."
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "weak")
    page.fill("#new_password_again", "weak")
    page.click("button[type=submit]")
    assert "newPassword" in page.inner_text("#password-errors")
    page.screenshot(path=str(screenshot_dir / "console-08-password-change-error.png"))
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "Better-Pass-22")
    page.fill("#new_password_again", "Better-Pass-22")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    page.click("#sign-out")
    _sign_in(page, live_server, password="Better-Pass-22")
    page.wait_for_url(f"{live_server.url}/console/")


def test_switch_into_a_role_and_back(page, live_server, account, screenshot_dir):
    sub = _user(account)
    role = role_create(account=account, name="key-admin", role_type="Account", session_expiration_sec=1800)
    keys = ["View/getSubAccountAccessKey", "Change/createSubAccountAccessKey", "Change/deleteSubAccountAccessKey"]
    policies_attach(target=role, policy_ids=[_policy(account, "key-admin", keys).policy_id])
    policies_attach(target=sub, policy_ids=[_policy(account, "switch", ["Change/switchRole"], [role.nrn]).policy_id])
    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server.url}/console/")
    page.click("text=Access keys")
    page.click("#create-key")
    assert "Permission denied" in page.inner_text("main")

    page.click("text=Switch role")
    page.screenshot(path=str(screenshot_dir / "console-09-roles.png"))
    page.click("button[data-role=key-admin]")
    page.wait_for_url(f"{live_server.url}/console/")
    assert "You are acting as the role key-admin" in page.inner_text("#role-banner")
    assert page.inner_text("#who") == "alice @ Acme as key-admin"
    page.screenshot(path=str(screenshot_dir / "console-10-switched.png"))
    page.click("text=Access keys")
    page.click("#create-key")
    access_key = page.inner_text("#new-access-key")
    assert sub.access_keys.get().access_key == access_key and page.inner_text("#new-secret")
    assert _fits(page)
    page.screenshot(path=str(screenshot_dir / "console-11-key-created-as-role.png"), full_page=True)
    page.click("#return-from-role")
    page.wait_for_url(f"{live_server.url}/console/")
    assert page.locator("#role-banner").count() == 0
    assert page.inner_text("#acting-as") == "Sub account alice"

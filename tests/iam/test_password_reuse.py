"""The account's password reuse prevention: a new password may not be one of the last N (the current one included),
whether the root key sets it through the API or the sub account changes it on the console."""

import pytest

from iam.models import Account, PasswordHistory, SubAccount
from tests.conftest import make_sub_account
from tests.iam.test_console_pages import PASSWORD, console_user

pytestmark = pytest.mark.django_db


def reset(api, tenant, sub, password):
    return api.call(
        "PUT", f"/api/v1/sub-accounts/{sub.sub_account_id}/password", {"newPassword": password}, creds=tenant.root
    )


def test_the_last_n_passwords_cannot_come_back(api, tenant):
    Account.objects.filter(pk=tenant.account.pk).update(password_reuse_prevention=3)
    sub, _ = make_sub_account(tenant, "reuser")
    for password in ("First-Pass-1", "Second-Pass-2", "Third-Pass-3"):
        assert reset(api, tenant, sub, password).status_code == 200
    for reused in ("Third-Pass-3", "Second-Pass-2", "First-Pass-1"):
        refused = reset(api, tenant, sub, reused)
        assert refused.status_code == 400
        assert refused.json()["fieldErrors"] == [
            {
                "field": "newPassword",
                "message": "must differ from the last 3 passwords (the account's reuse prevention)",
            }
        ]
    assert reset(api, tenant, sub, "Fourth-Pass-4").status_code == 200
    assert reset(api, tenant, sub, "First-Pass-1").status_code == 200  # four passwords ago: allowed again
    assert PasswordHistory.objects.filter(sub_account=sub).count() == 4  # every replaced hash, none in clear
    assert not PasswordHistory.objects.filter(password__contains="Pass").exists()


def test_without_reuse_prevention_a_password_may_be_set_again(api, tenant):
    sub, _ = make_sub_account(tenant, "reuser")
    assert reset(api, tenant, sub, "Same-Pass-11").status_code == 200
    assert reset(api, tenant, sub, "Same-Pass-11").status_code == 200


def test_the_history_keeps_only_what_the_setting_can_ask_for(api, tenant):
    Account.objects.filter(pk=tenant.account.pk).update(password_reuse_prevention=1)
    sub, _ = make_sub_account(tenant, "reuser")
    for n in range(PasswordHistory.KEPT + 3):
        assert reset(api, tenant, sub, f"Rotating-{n:02d}a!").status_code == 200
    assert PasswordHistory.objects.filter(sub_account=sub).count() == PasswordHistory.KEPT


def test_the_console_refuses_a_recent_password(tenant):
    Account.objects.filter(pk=tenant.account.pk).update(password_reuse_prevention=2)
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    change = {"current_password": PASSWORD, "new_password": "New-Pass-22", "new_password_again": "New-Pass-22"}
    assert client.post("/console/password", change).url == "/console/"
    back = {"current_password": "New-Pass-22", "new_password": PASSWORD, "new_password_again": PASSWORD}
    refused = client.post("/console/password", back)
    assert refused.status_code == 400 and b"reuse prevention" in refused.content
    sub = SubAccount.objects.get(pk=sub.pk)
    from django.contrib.auth.hashers import check_password

    assert check_password("New-Pass-22", sub.password)


def test_the_password_policy_sets_reuse_prevention(api, tenant):
    uri = "/api/v1/tenant-settings/sub-account-password-policy"
    assert api.call("GET", uri, creds=tenant.root).json()["reusePreventionCount"] == 0
    assert api.call("PUT", uri, {"reusePreventionCount": 5}, creds=tenant.root).status_code == 200
    assert Account.objects.get(pk=tenant.account.pk).password_reuse_prevention == 5
    refused = api.call("PUT", uri, {"reusePreventionCount": 25}, creds=tenant.root)
    assert refused.status_code == 400 and refused.json()["fieldErrors"][0]["field"] == "reusePreventionCount"
    assert Account.objects.get(pk=tenant.account.pk).password_reuse_prevention == 5

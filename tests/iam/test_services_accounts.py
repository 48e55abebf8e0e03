"""Main accounts: creation with a root key, more root keys within the limit, suspension, settings changes, when a
key's use is recorded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from iam.errors import Conflict, InvalidInput, QuotaExceeded
from iam.models import AccessKey, Account
from iam.secrets import decrypt_secret
from iam.services.accounts import (
    access_key_mark_used,
    account_create,
    account_set_active,
    account_settings_update,
    root_access_key_create,
)
from iam.services.roles import role_create
from iam.services.sub_accounts import access_key_create
from sts.services import role_session_issue
from tests.conftest import Credentials, Tenant, make_sub_account

DASHBOARD = "/api/v1/dashboard"


# account_create ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_account_create_makes_an_account_with_one_root_key():
    account, key, secret = account_create(name="  Acme  ", email="ops@acme.example", member_no=4242)
    account.refresh_from_db()
    assert (account.name, account.email, account.member_no, account.active) == ("Acme", "ops@acme.example", 4242, True)
    assert account.policy_count == 0
    assert list(AccessKey.objects.filter(account=account)) == [key]
    assert key.kind == AccessKey.ROOT
    assert key.sub_account is None
    assert key.active is True and key.expire_time is None
    assert not key.access_key.startswith("ncp_iam_")
    assert len(key.access_key) == 20 and key.access_key.isalnum()


@pytest.mark.django_db
def test_root_secret_is_stored_encrypted_and_decrypts_back():
    _, key, secret = account_create(name="Acme")
    stored = AccessKey.objects.get(pk=key.pk).secret_encrypted
    assert len(secret) == 40 and secret.isalnum()
    assert secret not in stored
    assert decrypt_secret(stored) == secret


@pytest.mark.django_db
def test_generated_member_numbers_have_seven_digits_and_differ():
    accounts = [account_create(name=f"Acme {i}")[0] for i in range(20)]
    numbers = [a.member_no for a in accounts]
    assert all(1_000_000 <= n <= 9_999_999 for n in numbers)
    assert all(len(str(n)) == 7 for n in numbers)
    assert len(set(numbers)) == 20


@pytest.mark.django_db
def test_account_create_with_a_taken_member_no_conflicts_and_writes_nothing():
    first, _, _ = account_create(name="First", member_no=5555)
    with pytest.raises(Conflict) as caught:
        account_create(name="Second", member_no=5555)
    assert caught.value.status == 409
    assert "5555" in caught.value.message
    assert caught.value.field_errors == [("memberNo", "already in use")]
    assert list(Account.objects.values_list("name", flat=True)) == ["First"]
    assert AccessKey.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None])
def test_account_create_needs_a_name(name):
    with pytest.raises(InvalidInput) as caught:
        account_create(name=name)
    assert caught.value.field_errors == [("name", "must be 1-100 characters")]
    assert Account.objects.count() == 0
    assert AccessKey.objects.count() == 0


@pytest.mark.django_db
def test_account_create_rejects_a_bad_email():
    with pytest.raises(InvalidInput) as caught:
        account_create(name="Acme", email="not an email")
    assert [f for f, _ in caught.value.field_errors] == ["email"]
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_a_created_root_key_signs_api_calls(api):
    account, key, secret = account_create(name="Acme")
    response = api.call("GET", DASHBOARD, creds=Credentials(key.access_key, secret))
    assert response.status_code == 200, response.content
    assert response.json() == {"subAccountCount": 0, "groupCount": 0, "policyCount": 0, "roleCount": 0}


# root_access_key_create --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_root_keys_are_limited(api, settings):
    settings.IAM_MAX_ROOT_ACCESS_KEYS = 2
    account, first, _ = account_create(name="Acme")
    other, _, _ = account_create(name="Other")
    key, secret = root_access_key_create(account=account)
    assert key.kind == AccessKey.ROOT and key.account == account and key.sub_account is None
    assert key.access_key != first.access_key
    assert decrypt_secret(AccessKey.objects.get(pk=key.pk).secret_encrypted) == secret
    assert api.call("GET", DASHBOARD, creds=Credentials(key.access_key, secret)).status_code == 200

    with pytest.raises(QuotaExceeded) as caught:
        root_access_key_create(account=account)
    assert caught.value.status == 409 and caught.value.error_code == 9012
    assert "2" in caught.value.message
    assert AccessKey.objects.filter(account=account).count() == 2
    # Another account's keys are its own business.
    root_access_key_create(account=other)
    assert AccessKey.objects.filter(account=other, kind=AccessKey.ROOT).count() == 2


@pytest.mark.django_db
def test_sub_account_keys_do_not_count_against_the_root_key_limit(settings):
    settings.IAM_MAX_ROOT_ACCESS_KEYS = 2
    account, _, _ = account_create(name="Acme", member_no=4242)
    tenant = Tenant(account=account, root=None)
    sub, _ = make_sub_account(tenant, "worker")
    access_key_create(sub_account=sub)
    assert AccessKey.objects.filter(account=account, kind=AccessKey.SUB_ACCOUNT).count() == 2
    root_access_key_create(account=account)
    assert AccessKey.objects.filter(account=account, kind=AccessKey.ROOT).count() == 2


@pytest.mark.django_db
def test_a_higher_root_key_limit_allows_more(settings):
    settings.IAM_MAX_ROOT_ACCESS_KEYS = 3
    account, _, _ = account_create(name="Acme")
    root_access_key_create(account=account)
    root_access_key_create(account=account)
    with pytest.raises(QuotaExceeded):
        root_access_key_create(account=account)
    assert AccessKey.objects.filter(account=account).count() == 3


# account_set_active ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_suspending_an_account_stops_its_keys_and_reactivating_restores_them(api, tenant, other_tenant):
    _, sub_creds = make_sub_account(tenant, "worker", actions=["View/getResourceCount"])
    assert api.call("GET", DASHBOARD, creds=tenant.root).status_code == 200
    assert api.call("GET", DASHBOARD, creds=sub_creds).status_code == 200

    returned = account_set_active(account=tenant.account, active=False)
    assert returned.active is False
    assert Account.objects.get(pk=tenant.account.pk).active is False
    for creds in (tenant.root, sub_creds):
        response = api.call("GET", DASHBOARD, creds=creds)
        assert response.status_code == 401, response.content
        assert response.json()["error"]["errorCode"] == "200"
        assert "suspended" in response.json()["error"]["details"]
    # Other accounts are untouched.
    assert api.call("GET", DASHBOARD, creds=other_tenant.root).status_code == 200

    account_set_active(account=tenant.account, active=True)
    assert Account.objects.get(pk=tenant.account.pk).active is True
    assert api.call("GET", DASHBOARD, creds=tenant.root).status_code == 200
    assert api.call("GET", DASHBOARD, creds=sub_creds).status_code == 200


@pytest.mark.django_db
def test_suspending_keeps_the_account_data(tenant):
    make_sub_account(tenant, "worker")
    account_set_active(account=tenant.account, active=False)
    assert AccessKey.objects.filter(account=tenant.account).count() == 2
    assert AccessKey.objects.filter(account=tenant.account, active=True).count() == 2
    assert tenant.account.sub_accounts.count() == 1


# account_settings_update -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_update_changes_only_named_fields(tenant):
    account = account_settings_update(account=tenant.account, password_min_length=12, session_expiration_minutes=30)
    row = Account.objects.get(pk=tenant.account.pk)
    assert (row.password_min_length, row.session_expiration_minutes) == (12, 30)
    assert (row.password_expiration_days, row.long_term_unused_days, row.login_page_alias) == (0, 90, None)
    assert account.password_min_length == 12


@pytest.mark.django_db
def test_settings_update_rejects_unknown_and_invalid_settings(tenant):
    with pytest.raises(InvalidInput) as caught:
        account_settings_update(account=tenant.account, name="Renamed")
    assert "name" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        account_settings_update(account=tenant.account, session_expiration_minutes=5, password_min_length=12)
    assert [f for f, _ in caught.value.field_errors] == ["sessionExpirationMinutes"]
    row = Account.objects.get(pk=tenant.account.pk)
    assert (row.name, row.session_expiration_minutes, row.password_min_length) == ("Alpha", 60, 8)


@pytest.mark.django_db
def test_login_page_alias_is_unique_across_accounts(tenant, other_tenant):
    account_settings_update(account=other_tenant.account, login_page_alias="taken")
    with pytest.raises(Conflict) as caught:
        account_settings_update(account=tenant.account, login_page_alias="taken")
    assert caught.value.field_errors == [("loginPageAlias", "already in use")]
    assert Account.objects.get(pk=tenant.account.pk).login_page_alias is None


@pytest.mark.django_db
def test_account_update_changes_name_and_email_and_refuses_bad_input():
    from iam.errors import InvalidInput
    from iam.services.accounts import account_update

    account, _, _ = account_create(name="Before", member_no=4242)
    updated = account_update(account=account, name="  After  ", email="ops@example.com")
    assert (updated.name, updated.email) == ("After", "ops@example.com")
    with pytest.raises(InvalidInput) as error:
        account_update(account=account, email="not-an-email")
    assert error.value.field_errors[0][0] == "email"
    with pytest.raises(InvalidInput):
        account_update(account=account, name="")
    with pytest.raises(InvalidInput):
        account_update(account=account, member_no=1)
    account.refresh_from_db()
    assert (account.name, account.email, account.member_no) == ("After", "ops@example.com", 4242)


# access_key_mark_used ----------------------------------------------------------------------------------------


def _recorded(key: AccessKey):
    return AccessKey.objects.get(pk=key.pk).last_used_time


def test_a_key_use_is_written_at_most_once_per_interval(tenant, settings, django_assert_num_queries):
    settings.IAM_KEY_LAST_USED_WRITE_SECONDS = 60
    key = AccessKey.objects.get(access_key=tenant.root.access_key)
    start = timezone.now()
    assert access_key_mark_used(key=key, now=start) == 1  # never used: written
    assert _recorded(key) == start
    with django_assert_num_queries(0):
        assert access_key_mark_used(key=key, now=start + timedelta(seconds=59)) == 0
    assert _recorded(key) == start
    # Another process reads the row as written and also leaves it alone within the interval.
    as_read = AccessKey.objects.get(pk=key.pk)
    with django_assert_num_queries(0):
        assert access_key_mark_used(key=as_read, now=start + timedelta(seconds=30)) == 0
    assert access_key_mark_used(key=key, now=start + timedelta(seconds=60)) == 1
    assert _recorded(key) == start + timedelta(seconds=60)


def test_a_zero_interval_writes_every_use(tenant, settings):
    settings.IAM_KEY_LAST_USED_WRITE_SECONDS = 0
    key = AccessKey.objects.get(access_key=tenant.root.access_key)
    start = timezone.now()
    for offset in (0, 1, 2):
        assert access_key_mark_used(key=key, now=start + timedelta(seconds=offset)) == 1
        assert _recorded(key) == start + timedelta(seconds=offset)


def test_a_role_session_records_its_role_use_at_most_once_per_interval(tenant, settings):
    settings.IAM_KEY_LAST_USED_WRITE_SECONDS = 60
    role = role_create(account=tenant.account, name="bench-role", role_type="Account")
    sessions = [
        AccessKey.objects.select_related("role").get(
            pk=role_session_issue(
                role=role, source_identity_type="SubAccount", source_identity_id=f"s{i}", duration_sec=3600
            )[0].pk
        )
        for i in range(2)
    ]
    start = timezone.now()
    assert access_key_mark_used(key=sessions[0], now=start) == 2  # the key and its role
    role.refresh_from_db()
    assert role.last_use_time == start
    # The second session's key was never used, but its role was just now: only the key is written.
    second = AccessKey.objects.select_related("role").get(pk=sessions[1].pk)
    assert access_key_mark_used(key=second, now=start + timedelta(seconds=10)) == 1
    role.refresh_from_db()
    assert role.last_use_time == start
    assert _recorded(second) == start + timedelta(seconds=10)
    assert access_key_mark_used(key=sessions[0], now=start + timedelta(seconds=61)) == 2
    role.refresh_from_db()
    assert role.last_use_time == start + timedelta(seconds=61)

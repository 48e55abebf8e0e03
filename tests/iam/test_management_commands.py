"""The management commands: ``create_account``, ``bootstrap_demo``, and the recovery commands ``rotate_root_key`` and
``reset_staff_password``."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from iam.models import AccessKey, Account, AuditEvent
from iam.secrets import decrypt_secret
from tests.conftest import Credentials

DEMO_MEMBER_NO = 1000001


def _run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# create_account ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_account_prints_working_credentials(api):
    printed = json.loads(_run("create_account", "Acme Corp", "--email", "ops@acme.example"))
    assert set(printed) == {"memberNo", "accessKey", "secretKey"}
    account = Account.objects.get(member_no=printed["memberNo"])
    assert (account.name, account.email) == ("Acme Corp", "ops@acme.example")
    assert 1_000_000 <= printed["memberNo"] <= 9_999_999
    key = AccessKey.objects.get(access_key=printed["accessKey"])
    assert (key.account, key.kind) == (account, AccessKey.ROOT)
    assert decrypt_secret(key.secret_encrypted) == printed["secretKey"]

    response = api.call("GET", "/api/v1/dashboard", creds=Credentials(printed["accessKey"], printed["secretKey"]))
    assert response.status_code == 200, response.content
    assert response.json() == {"subAccountCount": 0, "groupCount": 0, "policyCount": 0, "roleCount": 0}


@pytest.mark.django_db
def test_create_account_with_a_fixed_member_no(api):
    printed = json.loads(_run("create_account", "Acme", "--member-no", "2942"))
    assert printed["memberNo"] == 2942
    creds = Credentials(printed["accessKey"], printed["secretKey"])
    response = api.call("POST", "/api/v1/groups", {"groupName": "dev-team"}, creds=creds)
    assert response.status_code == 200, response.content
    detail = api.call("GET", f"/api/v1/groups/{response.json()['id']}", creds=creds).json()
    assert detail["nrn"] == f"nrn:PUB:IAM::2942:Group/{response.json()['id']}"


@pytest.mark.django_db
def test_create_account_with_a_taken_member_no_fails_clearly():
    first = json.loads(_run("create_account", "First", "--member-no", "5555"))
    with pytest.raises(CommandError) as caught:
        _run("create_account", "Second", "--member-no", "5555")
    assert str(caught.value) == "memberNo 5555 is already in use"
    assert list(Account.objects.values_list("name", flat=True)) == ["First"]
    assert list(AccessKey.objects.values_list("access_key", flat=True)) == [first["accessKey"]]
    assert first["secretKey"] not in str(caught.value)


@pytest.mark.django_db
def test_create_account_with_a_blank_name_fails_clearly():
    with pytest.raises(CommandError) as caught:
        _run("create_account", "   ")
    assert "name" in str(caught.value)
    assert Account.objects.count() == 0


# bootstrap_demo ----------------------------------------------------------------------------------------------


def _bootstrap_json(output: str) -> dict:
    first_line, _, rest = output.partition("\n")
    assert first_line == "Demo credentials (shown only this once):"
    printed, end = json.JSONDecoder().raw_decode(rest)
    assert rest[end:].strip().startswith("Admin: http://127.0.0.1:")
    return printed


@pytest.mark.django_db
def test_bootstrap_demo_creates_the_demo_account_and_staff_user_once(api):
    User = get_user_model()
    printed = _bootstrap_json(_run("bootstrap_demo"))
    assert set(printed) == {"mainAccount", "staff"}

    main = printed["mainAccount"]
    assert main["memberNo"] == DEMO_MEMBER_NO
    account = Account.objects.get(member_no=DEMO_MEMBER_NO)
    assert account.name == "Demo"
    key = AccessKey.objects.get(access_key=main["accessKey"])
    assert (key.account, key.kind) == (account, AccessKey.ROOT)
    response = api.call("GET", "/api/v1/dashboard", creds=Credentials(main["accessKey"], main["secretKey"]))
    assert response.status_code == 200, response.content

    staff = printed["staff"]
    assert staff["username"] == "admin"
    user = User.objects.get(username="admin")
    assert user.is_superuser and user.is_staff
    assert user.check_password(staff["password"])
    assert staff["password"] not in user.password

    second = _run("bootstrap_demo")
    assert main["secretKey"] not in second
    assert staff["password"] not in second
    assert main["accessKey"] not in second
    assert "already exist" in second
    assert Account.objects.filter(member_no=DEMO_MEMBER_NO).count() == 1
    assert AccessKey.objects.filter(account=account).count() == 1
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.get(username="admin").check_password(staff["password"])  # not reset


@pytest.mark.django_db
def test_bootstrap_demo_creates_only_what_is_missing():
    User = get_user_model()
    User.objects.create_superuser("admin", "admin@example.invalid", "kept-password")
    printed = _bootstrap_json(_run("bootstrap_demo"))
    assert set(printed) == {"mainAccount"}
    assert User.objects.get(username="admin").check_password("kept-password")
    assert Account.objects.filter(member_no=DEMO_MEMBER_NO).exists()

    User.objects.filter(username="admin").delete()
    printed = _bootstrap_json(_run("bootstrap_demo"))
    assert set(printed) == {"staff"}
    assert User.objects.get(username="admin").check_password(printed["staff"]["password"])
    assert Account.objects.filter(member_no=DEMO_MEMBER_NO).count() == 1


@pytest.mark.django_db
def test_bootstrap_demo_stores_nothing_when_it_fails_halfway(monkeypatch):
    User = get_user_model()

    def broken(*args, **kwargs):
        raise RuntimeError("user table unavailable")

    monkeypatch.setattr(type(User.objects), "create_superuser", broken)
    out = StringIO()
    with pytest.raises(RuntimeError):
        call_command("bootstrap_demo", stdout=out)
    assert out.getvalue() == ""
    # Neither the account (whose secret was never shown) nor its key was kept: the next run starts afresh.
    assert not Account.objects.filter(member_no=DEMO_MEMBER_NO).exists()
    assert AccessKey.objects.count() == 0
    monkeypatch.undo()
    printed = _bootstrap_json(_run("bootstrap_demo"))
    assert set(printed) == {"mainAccount", "staff"}


@pytest.mark.django_db
def test_bootstrap_demo_prints_the_admin_address_it_is_given(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    printed = _bootstrap_json(_run("bootstrap_demo", "--base-url", "http://127.0.0.1:8001/"))
    assert printed["staff"]["url"] == "http://127.0.0.1:8001/admin/"
    again = _run("bootstrap_demo", "--base-url", "http://127.0.0.1:8001")
    assert "http://127.0.0.1:8001/admin/" in again
    assert ":8000" not in again


@pytest.mark.django_db
def test_bootstrap_demo_defaults_to_the_port_in_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    printed = _bootstrap_json(_run("bootstrap_demo"))
    assert printed["staff"]["url"] == "http://127.0.0.1:8123/admin/"


# rotate_root_key ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotate_root_key_replaces_the_lost_keys_and_prints_the_new_secret_once(api, tenant, caplog):
    second = json.loads(_run("create_account", "Other"))  # another account's key is left alone
    old = tenant.root
    printed = json.loads(_run("rotate_root_key", str(tenant.account.member_no)))
    assert set(printed) == {"memberNo", "accessKey", "secretKey"}
    assert printed["memberNo"] == tenant.account.member_no
    assert printed["accessKey"] != old.access_key

    new = Credentials(printed["accessKey"], printed["secretKey"])
    assert api.call("GET", "/api/v1/dashboard", creds=new).status_code == 200
    assert api.call("GET", "/api/v1/dashboard", creds=old).status_code == 401
    other = Credentials(second["accessKey"], second["secretKey"])
    assert api.call("GET", "/api/v1/dashboard", creds=other).status_code == 200
    roots = AccessKey.objects.filter(account=tenant.account, kind=AccessKey.ROOT)
    assert list(roots.values_list("access_key", flat=True)) == [printed["accessKey"]]

    event = AuditEvent.objects.get(action="Admin:rotateRootAccessKey")
    assert event.account_id == tenant.account.pk
    assert event.actor == "system:rotate_root_key"
    assert event.detail == {
        "rootAccessKey": printed["accessKey"],
        "deletedAccessKeys": [old.access_key],
        "secret": "issued",
    }
    # The secret is printed, never logged nor audited.
    assert printed["secretKey"] not in caplog.text
    assert printed["secretKey"] not in json.dumps(list(AuditEvent.objects.values("detail")))


@pytest.mark.django_db
def test_rotate_root_key_works_at_the_root_key_limit(api, tenant):
    from iam.services.accounts import root_access_key_create

    root_access_key_create(account=tenant.account)  # two root keys: the limit
    printed = json.loads(_run("rotate_root_key", str(tenant.account.member_no)))
    assert AccessKey.objects.filter(account=tenant.account, kind=AccessKey.ROOT).count() == 1
    creds = Credentials(printed["accessKey"], printed["secretKey"])
    assert api.call("GET", "/api/v1/dashboard", creds=creds).status_code == 200


@pytest.mark.django_db
def test_rotate_root_key_of_an_unknown_account_fails_clearly(tenant):
    with pytest.raises(CommandError) as caught:
        _run("rotate_root_key", "4242")
    assert str(caught.value) == "no main account with memberNo 4242"
    assert AccessKey.objects.get(account=tenant.account).access_key == tenant.root.access_key
    assert not AuditEvent.objects.filter(action="Admin:rotateRootAccessKey").exists()


# reset_staff_password ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reset_staff_password_prints_a_new_password_once_that_signs_in(client, caplog):
    User = get_user_model()
    User.objects.create_superuser("admin", "admin@example.invalid", "lost-password-1")
    printed = json.loads(_run("reset_staff_password", "admin"))
    assert set(printed) == {"username", "password"}
    user = User.objects.get(username="admin")
    assert user.check_password(printed["password"])
    assert not user.check_password("lost-password-1")

    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": printed["password"]})
    assert response.status_code == 302 and response.url == "/admin/"

    event = AuditEvent.objects.get(action="Admin:resetStaffPassword")
    assert event.actor == "system:reset_staff_password"
    assert event.detail == {"username": "admin", "password": "generated", "lockoutsCleared": 0}
    assert printed["password"] not in caplog.text
    assert printed["password"] not in json.dumps(list(AuditEvent.objects.values("detail")))


@pytest.mark.django_db
def test_reset_staff_password_of_an_unknown_or_non_staff_user_fails_clearly():
    User = get_user_model()
    User.objects.create_user("visitor", "v@example.invalid", "kept-password-1")
    for username in ("nobody", "visitor"):
        with pytest.raises(CommandError) as caught:
            _run("reset_staff_password", username)
        assert str(caught.value) == f"no staff user named {username!r}"
    assert User.objects.get(username="visitor").check_password("kept-password-1")
    assert not AuditEvent.objects.filter(action="Admin:resetStaffPassword").exists()

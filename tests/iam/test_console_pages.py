"""The sub-account console after sign-in: my permissions (the simulator on my own principal), change password, MFA,
my own access keys (decided by the engine as the API decides them) and switching into an Account role and back."""

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from iam.models import AccessKey, AuditEvent, ConsoleSession, SubAccount
from iam.secrets import decrypt_secret
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import access_key_create, sub_account_create
from tests.iam.test_console_signin import PASSWORD, post_password

KEY_ACTIONS = [
    "View/getSubAccountAccessKey",
    "Change/createSubAccountAccessKey",
    "Change/deleteSubAccountAccessKey",
]


def allow(tenant, name: str, actions: list[str], resources=("*",)):
    return policy_create(
        account=tenant.account,
        name=name,
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": actions, "resourceNrns": list(resources)}],
            }
        ],
    )


def console_user(tenant, actions: list[str], login_id: str = "alice") -> tuple[SubAccount, Client]:
    sub, _ = sub_account_create(
        account=tenant.account,
        login_id=login_id,
        name=login_id,
        email=f"{login_id}@example.com",
        password=PASSWORD,
        can_console_access=True,
    )
    policies_attach(target=sub, policy_ids=[allow(tenant, f"p-{login_id}", actions).policy_id])
    client = Client()
    assert post_password(client, login_id=login_id).url == "/console/"
    return sub, client


# My permissions ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_my_permissions_are_my_own_principals(tenant):
    _, client = console_user(tenant, ["View/getSubAccountList"])
    page = client.get("/console/permissions")
    rows = dict(r for r in ((row["action"], row["decision"]) for row in page.context["table"]))
    assert rows["View/getSubAccountList"] == "allowed"
    assert rows["Change/createSubAccount"] != "allowed"
    assert page.context["allowed_count"] == 1
    checked = client.get("/console/permissions", {"action": "Change/deleteGroup", "resource": "*"})
    assert checked.context["checked"]["decision"] != "allowed"
    unknown = client.get("/console/permissions", {"action": "Change/nothing"})
    assert unknown.context["checked"] is None and b"not a Sub Account action" in unknown.content


# Password and MFA -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_change_my_password(tenant):
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    bad = client.post(
        "/console/password",
        {"current_password": PASSWORD, "new_password": "New-Pass-22", "new_password_again": "Other-Pass-22"},
    )
    assert bad.status_code == 400
    wrong = client.post(
        "/console/password",
        {"current_password": "Wrong-Pass-1", "new_password": "New-Pass-22", "new_password_again": "New-Pass-22"},
    )
    assert wrong.status_code == 400 and b"currentPassword" in wrong.content
    response = client.post(
        "/console/password",
        {"current_password": PASSWORD, "new_password": "New-Pass-22", "new_password_again": "New-Pass-22"},
    )
    assert response.url == "/console/"
    assert post_password(Client(), password="New-Pass-22").url == "/console/"
    assert post_password(Client()).status_code == 401
    events = AuditEvent.objects.filter(action="Console:changePassword").values_list("result", flat=True)
    assert sorted(events) == [AuditEvent.FAILED, AuditEvent.SUCCESS]


@pytest.mark.django_db
def test_enrol_and_replace_my_mfa_device(tenant):
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    page = client.post("/console/mfa", {"step": "start"})
    assert b"<svg" in page.content
    first = page.context["secret"]
    assert client.post("/console/mfa", {"step": "confirm", "code": "99999"}).status_code == 400
    assert client.post("/console/mfa", {"step": "confirm", "code": pyotp.TOTP(first).now()}).url == "/console/"
    sub.refresh_from_db()
    assert sub.has_mfa
    # Replacing: a new secret, confirmed with its own code; the old device stops working.
    page = client.post("/console/mfa", {"step": "start"})
    second = page.context["secret"]
    assert second != first
    SubAccount.objects.filter(pk=sub.pk).update(mfa_last_step=None)
    assert client.post("/console/mfa", {"step": "confirm", "code": pyotp.TOTP(second).now()}).url == "/console/"
    sub.refresh_from_db()
    assert decrypt_secret(sub.mfa_secret_encrypted) == second
    assert AuditEvent.objects.filter(action="Console:enrolMfa", result="Success").count() == 2


# Access keys ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_key_actions_no_keys(tenant):
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    page = client.get("/console/access-keys")
    assert page.context["listed"] is False
    response = client.post("/console/access-keys", {"operation": "create"})
    assert response.status_code == 403
    assert not AccessKey.objects.filter(sub_account=sub).exists()
    denied = AuditEvent.objects.get(action="SubAccount:Change/createSubAccountAccessKey")
    assert (denied.result, denied.resource, denied.actor) == (AuditEvent.DENIED, sub.nrn, sub.nrn)


@pytest.mark.django_db
def test_create_and_rotate_my_access_key(tenant):
    sub, client = console_user(tenant, KEY_ACTIONS)
    page = client.post("/console/access-keys", {"operation": "create"})
    assert page.status_code == 200
    access_key, secret = page.context["new_key"]
    assert "no-store" in page["Cache-Control"]  # the secret is on this page
    assert AccessKey.objects.get(sub_account=sub).access_key == access_key
    rotated = client.post("/console/access-keys", {"operation": "rotate", "access_key": access_key})
    new_key, new_secret = rotated.context["new_key"]
    assert new_key != access_key and new_secret != secret
    assert list(AccessKey.objects.filter(sub_account=sub).values_list("access_key", flat=True)) == [new_key]
    created = AuditEvent.objects.filter(action="SubAccount:Change/createSubAccountAccessKey", result="Success")
    assert created.count() == 2 and all(e.actor == sub.nrn for e in created)
    assert all(secret not in str(e.detail) and new_secret not in str(e.detail) for e in AuditEvent.objects.all())
    # Another sub account's key cannot be rotated from my console.
    other, _ = sub_account_create(
        account=tenant.account, login_id="bob", name="bob", email="bob@example.com", can_console_access=False
    )
    key, _ = access_key_create(sub_account=other)
    response = client.post("/console/access-keys", {"operation": "delete", "access_key": key.access_key})
    assert response.status_code == 400
    assert AccessKey.objects.filter(pk=key.pk).exists()


@pytest.mark.django_db
def test_a_deny_on_my_own_nrn_is_honoured(tenant):
    sub, client = console_user(tenant, KEY_ACTIONS)
    deny = policy_create(
        account=tenant.account,
        name="no-keys",
        permissions=[
            {
                "effect": "Deny",
                "targets": [
                    {
                        "product": "SubAccount",
                        "actions": ["Change/createSubAccountAccessKey"],
                        "resourceNrns": [sub.nrn],
                    }
                ],
            }
        ],
    )
    policies_attach(target=sub, policy_ids=[deny.policy_id])
    assert client.post("/console/access-keys", {"operation": "create"}).status_code == 403
    assert not AccessKey.objects.filter(sub_account=sub).exists()


# Role switching ---------------------------------------------------------------------------------------------------


def _account_role(tenant, name: str, actions: list[str], **fields):
    role = role_create(account=tenant.account, name=name, role_type="Account", session_expiration_sec=600, **fields)
    policies_attach(target=role, policy_ids=[allow(tenant, f"r-{name}"[:30], actions).policy_id])
    return role


@pytest.mark.django_db
def test_switch_into_a_role_act_with_its_permissions_and_return(tenant):
    role = _account_role(tenant, "keymaker", KEY_ACTIONS)
    other = _account_role(tenant, "other-role", ["View/getGroupList"])
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    policies_attach(target=sub, policy_ids=[allow(tenant, "switcher", ["Change/switchRole"], [role.nrn]).policy_id])
    page = client.get("/console/roles")
    offered = {c["role"].name: c["allowed"] for c in page.context["candidates"]}
    assert offered == {"keymaker": True, "other-role": False}
    # Not allowed: refused and audited.
    assert client.post("/console/roles", {"role_no": other.role_no}).url == "/console/roles"
    assert ConsoleSession.objects.get().role is None
    assert AuditEvent.objects.filter(action="SubAccount:Change/switchRole", result="Denied").count() == 1
    # As myself I may not create keys; switched into the role I may.
    assert client.post("/console/access-keys", {"operation": "create"}).status_code == 403
    assert client.post("/console/roles", {"role_no": role.role_no}).url == "/console/"
    home = client.get("/console/")
    assert b"You are acting as the role" in home.content and b"keymaker" in home.content
    assert client.post("/console/access-keys", {"operation": "create"}).status_code == 200
    created = AuditEvent.objects.get(action="SubAccount:Change/createSubAccountAccessKey", result="Success")
    assert created.actor == role.nrn and created.actor_type == "Role"
    perms = client.get("/console/permissions")
    allowed = {r["action"] for r in perms.context["table"] if r["decision"] == "allowed"}
    assert set(KEY_ACTIONS) <= allowed and "Change/switchRole" not in allowed  # the role's, not mine
    # Back to my own permissions.
    assert client.post("/console/roles", {"operation": "return"}).url == "/console/"
    assert b"You are acting as the role" not in client.get("/console/").content
    assert client.post("/console/access-keys", {"operation": "create"}).status_code == 403
    actions = list(
        AuditEvent.objects.filter(action__in=["Console:switchRole", "Console:returnFromRole"]).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["Console:returnFromRole", "Console:switchRole"]


@pytest.mark.django_db
def test_a_disabled_or_idle_role_drops_the_switch(tenant):
    role = _account_role(tenant, "keymaker", KEY_ACTIONS)
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    policies_attach(target=sub, policy_ids=[allow(tenant, "switcher", ["Change/switchRole"], [role.nrn]).policy_id])
    client.post("/console/roles", {"role_no": role.role_no})
    role.active = False
    role.save()
    assert b"You are acting as the role" not in client.get("/console/").content
    assert ConsoleSession.objects.get().role is None
    # Disabled: cannot be switched into.
    assert client.post("/console/roles", {"role_no": role.role_no}).url == "/console/roles"
    assert ConsoleSession.objects.get().role is None
    role.active = True
    role.save()
    client.post("/console/roles", {"role_no": role.role_no})
    assert ConsoleSession.objects.get().role_id == role.pk
    ConsoleSession.objects.update(last_seen_time=timezone.now() - timedelta(seconds=601))
    assert b"You are acting as the role" not in client.get("/console/").content
    assert ConsoleSession.objects.get().role is None


@pytest.mark.django_db
def test_a_server_role_cannot_be_switched_into(tenant):
    server = role_create(account=tenant.account, name="server-role", role_type="Server")
    sub, client = console_user(tenant, ["View/getSubAccountList", "Change/switchRole"])
    assert client.post("/console/roles", {"role_no": server.role_no}).url == "/console/roles"
    assert ConsoleSession.objects.get().role is None
    assert client.get("/console/roles").context["candidates"] == []


@pytest.mark.django_db
def test_another_accounts_role_is_not_found(tenant, other_tenant):
    foreign = role_create(account=other_tenant.account, name="foreign", role_type="Account", session_expiration_sec=600)
    sub, client = console_user(tenant, ["View/getSubAccountList", "Change/switchRole"])
    assert client.post("/console/roles", {"role_no": foreign.role_no}).url == "/console/roles"
    assert ConsoleSession.objects.get().role is None


@pytest.mark.django_db
def test_deleting_the_role_returns_the_session_to_the_sub_account(tenant):
    from iam.services.roles import role_delete

    role = _account_role(tenant, "keymaker", KEY_ACTIONS)
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    policies_attach(target=sub, policy_ids=[allow(tenant, "switcher", ["Change/switchRole"], [role.nrn]).policy_id])
    client.post("/console/roles", {"role_no": role.role_no})
    role_delete(role=role)
    home = client.get("/console/")
    assert home.status_code == 200 and b"You are acting as the role" not in home.content


@pytest.mark.django_db
def test_my_permissions_name_the_resources_an_action_is_allowed_on(tenant):
    role = _account_role(tenant, "keymaker", KEY_ACTIONS)
    sub, client = console_user(tenant, ["View/getSubAccountList"])
    policies_attach(target=sub, policy_ids=[allow(tenant, "switcher", ["Change/switchRole"], [role.nrn]).policy_id])
    rows = {row["action"]: row for row in client.get("/console/permissions").context["table"]}
    assert (rows["Change/switchRole"]["decision"], rows["Change/switchRole"]["named"]) == ("implicitDeny", [role.nrn])
    assert rows["View/getSubAccountList"]["named"] == []  # allowed everywhere: nothing to name
    assert rows["Change/deleteGroup"]["named"] == []
    checked = client.get("/console/permissions", {"action": "Change/switchRole", "resource": role.nrn})
    assert checked.context["checked"]["decision"] == "allowed"

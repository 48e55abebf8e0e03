"""The admin: every page renders without secrets, writes go through the services (limits, counters, validation),
service refusals come back as form errors with nothing written, system policies are read-only, actions work."""

import json
import re
from dataclasses import dataclass

import pytest
from django import forms
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import check_password
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from iam.errors import Conflict
from iam.models import AccessKey, Account, Group, GroupMembership, Policy, PolicyAttachment, Role, SubAccount
from iam.secrets import decrypt_secret, encrypt_secret
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import sub_account_update
from tests.conftest import make_sub_account, make_tenant

ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"
DOC = [
    {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}]}
]
MFA_SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"


def url(model, view: str, *args) -> str:
    return reverse(f"admin:iam_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def form_data(response) -> dict:
    """The POST body a browser would send for the change form in ``response`` (main form and inline formsets)."""
    data = {}

    def add(form):
        for bound in form:
            value = bound.value()
            if isinstance(bound.field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
                continue
            data[bound.html_name] = "" if value is None else value
            if bound.field.show_hidden_initial:
                # Fields with a callable default carry their initial value in a hidden input, as in the page.
                data[bound.html_initial_name] = bound.field.prepare_value(bound.initial)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def inline_formset(response, model, fk_name: str | None = None):
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.model is model and (fk_name is None or formset.fk.name == fk_name):
            return formset
    raise AssertionError(f"no inline of {model.__name__}")


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@dataclass
class World:
    tenant: object
    other: object
    sub: SubAccount
    sub_secret: str
    group: Group
    policy: Policy
    role: Role
    secrets: list[str]


@pytest.fixture
def world(tenant, other_tenant) -> World:
    """One of everything, with every kind of secret stored: root and sub account keys, a password, an MFA seed."""
    sub, creds = make_sub_account(tenant, "alice", policy_ids=[ADMINISTRATOR])
    sub_account_update(sub_account=sub, can_console_access=True)
    SubAccount.objects.filter(pk=sub.pk).update(
        password="md5$fixedsalt$0123456789abcdef0123456789abcdef", mfa_secret_encrypted=encrypt_secret(MFA_SEED)
    )
    group = group_create(account=tenant.account, name="developers")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    policy = policy_create(account=tenant.account, name="reader", permissions=DOC)
    policies_attach(target=group, policy_ids=[policy.policy_id])
    role = role_create(account=tenant.account, name="server-role", role_type="Server")
    policies_attach(target=role, policy_ids=[policy.policy_id])
    make_sub_account(other_tenant, "bob")
    sub.refresh_from_db()
    secrets = [tenant.root.secret, creds.secret, sub.password, sub.mfa_secret_encrypted, MFA_SEED]
    secrets += list(AccessKey.objects.values_list("secret_encrypted", flat=True))
    return World(tenant, other_tenant, sub, creds.secret, group, policy, role, secrets)


def assert_no_secret(response, world: World) -> None:
    content = response.content.decode()
    for secret in world.secrets:
        assert secret not in content


# Pages -----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_changelist_renders_its_rows_and_no_secret(admin_client, world):
    expected = {
        Account: ["2942", "3001"],
        SubAccount: ["alice", "bob"],
        Group: ["developers"],
        Policy: ["reader", "NCP_ADMINISTRATOR"],
        Role: ["server-role"],
        PolicyAttachment: ["group developers", "role server-role", "sub account alice"],
        AccessKey: list(AccessKey.objects.values_list("access_key", flat=True)),
    }
    for model, shown in expected.items():
        response = admin_client.get(url(model, "changelist"))
        assert response.status_code == 200, model
        content = response.content.decode()
        for text in shown:
            assert text in content, (model, text)
        assert_no_secret(response, world)


@pytest.mark.django_db
def test_every_change_page_renders_and_no_secret(admin_client, world):
    root_key = AccessKey.objects.get(account=world.tenant.account, kind=AccessKey.ROOT)
    sub_key = AccessKey.objects.get(sub_account=world.sub)
    pages = [
        (world.tenant.account, [root_key.access_key, "Alpha"]),
        (world.sub, [sub_key.access_key, "alice", "developers", "NCP_ADMINISTRATOR"]),
        (world.group, ["developers", "alice", "reader"]),
        (world.policy, ["reader", "View/getGroupList", "group developers", "role server-role"]),
        (Policy.objects.get(policy_id=ADMINISTRATOR), ["NCP_ADMINISTRATOR", "sub account alice"]),
        (world.role, ["server-role", "reader"]),
        (PolicyAttachment.objects.get(group=world.group), ["reader", "group developers"]),
        (root_key, [root_key.access_key]),
        (sub_key, [sub_key.access_key, "alice"]),
    ]
    for obj, shown in pages:
        response = admin_client.get(url(type(obj), "change", obj.pk))
        assert response.status_code == 200, obj
        content = response.content.decode()
        for text in shown:
            assert text in content, (obj, text)
        assert_no_secret(response, world)
        history = admin_client.get(url(type(obj), "history", obj.pk))
        assert history.status_code == 200
        assert_no_secret(history, world)
    # Delete confirmations list the related rows (keys included).
    for obj, shown in ((world.sub, sub_key.access_key), (sub_key, sub_key.access_key), (world.group, "developers")):
        response = admin_client.get(url(type(obj), "delete", obj.pk))
        assert response.status_code == 200
        assert shown in response.content.decode()
        assert_no_secret(response, world)


@pytest.mark.django_db
def test_add_pages_render_for_service_backed_models_and_not_for_keys_or_attachments(admin_client, world):
    for model in (Account, SubAccount, Group, Policy, Role):
        response = admin_client.get(url(model, "add"))
        assert response.status_code == 200, model
        assert 'name="_save"' in response.content.decode()
    assert admin_client.get(url(AccessKey, "add")).status_code == 403
    assert admin_client.get(url(PolicyAttachment, "add")).status_code == 403


@pytest.mark.django_db
def test_no_form_has_a_field_for_a_secret(admin_client, world):
    checks = [
        (url(SubAccount, "add"), {"password", "mfa_secret_encrypted"}),
        (url(SubAccount, "change", world.sub.pk), {"password", "mfa_secret_encrypted"}),
    ]
    for page, hidden in checks:
        form = admin_client.get(page).context["adminform"].form
        assert not hidden & set(form.fields)
        assert "new_password" in form.fields
    key = AccessKey.objects.get(sub_account=world.sub)
    response = admin_client.get(url(AccessKey, "change", key.pk))
    assert "secret_encrypted" not in response.context["adminform"].form.fields
    assert "secret" not in response.content.decode().lower()


@pytest.mark.django_db
def test_changelists_use_a_constant_number_of_queries(admin_client, world):
    def count(model):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url(model, "changelist")).status_code == 200
        return len(queries)

    models = (Account, SubAccount, Group, Policy, Role, PolicyAttachment, AccessKey)
    before = {model: count(model) for model in models}
    for i in range(3):
        tenant = make_tenant(f"More {i}")
        sub, _ = make_sub_account(tenant, f"user{i}", actions=["View/getGroupList"])
        group = group_create(account=tenant.account, name=f"group{i}")
        group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
        role = role_create(account=tenant.account, name=f"role{i}", role_type="Server")
        policies_attach(target=role, policy_ids=[ADMINISTRATOR])
    after = {model: count(model) for model in models}
    assert after == before


# Search ------------------------------------------------------------------------------------------------------------


def search(admin_client, model, term: str) -> list:
    response = admin_client.get(url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
def test_search_finds_by_the_documented_fields(admin_client, world):
    assert [s.login_id for s in search(admin_client, SubAccount, "alic")] == ["alice"]
    assert [s.login_id for s in search(admin_client, SubAccount, "bob@example")] == ["bob"]
    assert [s.login_id for s in search(admin_client, SubAccount, "3001")] == ["bob"]
    assert search(admin_client, SubAccount, "nobody-like-this") == []
    assert [a.member_no for a in search(admin_client, Account, "2942")] == [2942]
    assert [a.member_no for a in search(admin_client, Account, "Beta")] == [3001]
    assert [p.name for p in search(admin_client, Policy, "reade")] == ["reader"]
    assert [g.name for g in search(admin_client, Group, "develop")] == ["developers"]
    assert [r.name for r in search(admin_client, Role, "server")] == ["server-role"]
    key = AccessKey.objects.get(sub_account=world.sub)
    assert search(admin_client, AccessKey, key.access_key) == [key]
    assert {k.sub_account_id for k in search(admin_client, AccessKey, "alice")} == {world.sub.pk}
    attachments = search(admin_client, PolicyAttachment, "developers")
    assert [(a.policy.name, a.group_id) for a in attachments] == [("reader", world.group.pk)]


@pytest.mark.django_db
def test_search_never_matches_a_secret(admin_client, world):
    for secret in world.secrets:
        for model in (AccessKey, SubAccount, Account):
            assert search(admin_client, model, secret) == [], (model, secret)


@pytest.mark.django_db
def test_list_filters(admin_client, world):
    sub_account_update(sub_account=world.sub, active=False)
    response = admin_client.get(url(SubAccount, "changelist"), {"active__exact": "0"})
    assert [s.login_id for s in response.context["cl"].result_list] == ["alice"]
    response = admin_client.get(url(Policy, "changelist"), {"policy_type__exact": "USER_CREATED"})
    assert [p.name for p in response.context["cl"].result_list] == ["reader"]
    response = admin_client.get(url(AccessKey, "changelist"), {"kind__exact": "ROOT"})
    assert {k.kind for k in response.context["cl"].result_list} == {"ROOT"}
    assert len(response.context["cl"].result_list) == 2


# System policies -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_system_policy_is_read_only(admin_client, world):
    system = Policy.objects.get(policy_id=ADMINISTRATOR)
    before = (system.name, system.description, system.permissions, system.modified_time)
    page = admin_client.get(url(Policy, "change", system.pk))
    content = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in content and 'name="_continue"' not in content
    assert "<title>NCP_ADMINISTRATOR | View policy |" in content
    # The permissions document, shown read-only and indented.
    assert "<pre>[\n  {\n    &quot;effect&quot;: &quot;Allow&quot;" in content
    assert "<textarea" not in content

    response = admin_client.post(url(Policy, "change", system.pk), {"name": "hacked", "permissions": json.dumps(DOC)})
    assert response.status_code == 403
    assert admin_client.get(url(Policy, "delete", system.pk)).status_code == 403
    assert admin_client.post(url(Policy, "delete", system.pk), {"post": "yes"}).status_code == 403
    system.refresh_from_db()
    assert (system.name, system.description, system.permissions, system.modified_time) == before

    # Nor through the bulk delete action, attached (alice has it) or not.
    unattached = Policy.objects.get(policy_id="00000000-0000-4000-8000-000000000007")
    response = admin_client.post(
        url(Policy, "changelist"),
        {"action": "delete_selected", "_selected_action": [system.pk, unattached.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "Cannot delete policies" in response.content.decode()
    response = admin_client.post(
        url(Policy, "changelist"), {"action": "delete_selected", "_selected_action": [unattached.pk], "post": "yes"}
    )
    assert response.status_code == 403
    assert Policy.objects.filter(pk__in=[system.pk, unattached.pk]).count() == 2


# Policies --------------------------------------------------------------------------------------------------------


def policy_post(account, name="writer", permissions=None, **extra):
    return {
        "account": account.pk,
        "name": name,
        "description": "",
        "permissions": permissions if isinstance(permissions, str) else json.dumps(permissions or DOC),
        "tags": "{}",
        **extra,
    }


@pytest.mark.django_db
def test_creating_a_policy_goes_through_the_service_and_counts(admin_client, tenant):
    doc = [
        {
            "effect": "Allow",
            "targets": [{"product": "SubAccount", "actions": ["View/getSubAccountDetail"], "resourceNrns": ["*"]}],
        }
    ]
    response = admin_client.post(url(Policy, "add"), policy_post(tenant.account, permissions=doc))
    assert response.status_code == 302
    policy = Policy.objects.get(account=tenant.account, name="writer")
    # The service added the related action, which a plain model save would not have.
    assert policy.permissions[0]["targets"][0]["actions"] == ["View/getSubAccountDetail", "View/getSubAccountList"]
    assert policy.policy_type == Policy.USER_CREATED
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 1
    assert LogEntry.objects.filter(object_id=str(policy.pk), action_flag=1).count() == 1


@pytest.mark.parametrize(
    "permissions, field_error, echoed",
    [
        ('[{"effect": "Allow", ', "Enter a valid JSON.", "[{&quot;effect&quot;: &quot;Allow&quot;, </textarea>"),
        (
            json.dumps([{"effect": "Maybe", "targets": DOC[0]["targets"]}]),
            "permissions[0].effect: must be Allow or Deny",
            "&quot;effect&quot;: &quot;Maybe&quot;",
        ),
        (
            json.dumps([{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View/nope"]}]}]),
            "permissions[0].targets[0].actions[0]: unknown action 'View/nope' for product SubAccount",
            "&quot;View/nope&quot;",
        ),
        ("", "This field is required.", 'name="permissions"'),
    ],
)
@pytest.mark.django_db
def test_a_bad_permissions_document_is_a_form_error_and_nothing_is_written(
    admin_client, tenant, permissions, field_error, echoed
):
    policies, logs = Policy.objects.count(), LogEntry.objects.count()
    response = admin_client.post(url(Policy, "add"), policy_post(tenant.account, permissions=permissions))
    assert response.status_code == 200
    assert field_error in form_errors(response)["permissions"]
    assert Policy.objects.count() == policies
    assert LogEntry.objects.count() == logs
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 0
    # What was typed is shown again for correcting.
    assert echoed in response.content.decode()


@pytest.mark.django_db
def test_policy_service_refusals_are_form_errors(admin_client, tenant, settings):
    response = admin_client.post(url(Policy, "add"), policy_post(tenant.account, name="NCP_ADMINISTRATOR"))
    assert response.status_code == 200
    assert form_errors(response)["name"] == ["reserved"]

    settings.IAM_MAX_POLICIES = 1
    assert admin_client.post(url(Policy, "add"), policy_post(tenant.account, name="first")).status_code == 302
    response = admin_client.post(url(Policy, "add"), policy_post(tenant.account, name="second"))
    assert response.status_code == 200
    assert form_errors(response)["__all__"] == ["an account has at most 1 user-defined policies"]
    assert list(Policy.objects.filter(account=tenant.account).values_list("name", flat=True)) == ["first"]
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 1


@pytest.mark.django_db
def test_changing_a_policy_goes_through_the_service(admin_client, world):
    page = admin_client.get(url(Policy, "change", world.policy.pk))
    data = form_data(page)
    new_doc = [
        {
            "effect": "Allow",
            "targets": [{"product": "SubAccount", "actions": ["View/getRoleList"], "resourceNrns": ["*"]}],
        }
    ]
    data.update(name="reader2", permissions=json.dumps(new_doc))
    response = admin_client.post(url(Policy, "change", world.policy.pk), data)
    assert response.status_code == 302, form_errors(response)
    world.policy.refresh_from_db()
    assert world.policy.name == "reader2"
    assert world.policy.permissions[0]["targets"][0]["actions"][0] == "View/getRoleList"
    assert world.policy.account_id == world.tenant.account.pk

    data.update(name="reader3", permissions=json.dumps([{"effect": "Allow", "targets": []}]))
    response = admin_client.post(url(Policy, "change", world.policy.pk), data)
    assert response.status_code == 200
    assert form_errors(response)["permissions"] == ["permissions[0].targets: must be a non-empty list"]
    world.policy.refresh_from_db()
    assert world.policy.name == "reader2"


@pytest.mark.django_db
def test_deleting_policies(admin_client, world, monkeypatch):
    account = world.tenant.account
    spare = policy_create(account=account, name="spare", permissions=DOC)
    account.refresh_from_db()
    assert account.policy_count == 2

    # Attached: refused, naming what it is attached to.
    response = admin_client.post(url(Policy, "delete", world.policy.pk), {"post": "yes"})
    assert response.status_code == 200
    assert "Cannot delete policy" in response.content.decode()
    assert "developers" in response.content.decode()
    assert Policy.objects.filter(pk=world.policy.pk).exists()

    # A refusal from the service itself (e.g. attached meanwhile) is a message, and nothing is deleted or logged.
    def refuse(*, policy):
        raise Conflict("the policy is attached to sub account zed; detach it first")

    monkeypatch.setattr("iam.services.policies.policy_delete", refuse)
    response = admin_client.post(url(Policy, "delete", spare.pk), {"post": "yes"})
    assert response.status_code == 302
    assert response.url == url(Policy, "change", spare.pk)
    assert messages_of(response) == ["Not deleted: the policy is attached to sub account zed; detach it first"]
    assert Policy.objects.filter(pk=spare.pk).exists()
    assert not LogEntry.objects.filter(action_flag=3).exists()
    monkeypatch.undo()

    response = admin_client.post(url(Policy, "delete", spare.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Policy.objects.filter(pk=spare.pk).exists()
    account.refresh_from_db()
    assert account.policy_count == 1


@pytest.mark.django_db
def test_a_refused_bulk_delete_deletes_nothing(admin_client, tenant, monkeypatch):
    policies = [policy_create(account=tenant.account, name=f"bulk{i}", permissions=DOC) for i in range(3)]
    from iam.services import policies as policy_services

    real_delete = policy_services.policy_delete

    def delete_but_the_last(*, policy):
        if policy.name == "bulk2":
            raise Conflict("the policy is attached to role r; detach it first")
        real_delete(policy=policy)

    monkeypatch.setattr(policy_services, "policy_delete", delete_but_the_last)
    response = admin_client.post(
        url(Policy, "changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in policies], "post": "yes"},
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Nothing was changed: the policy is attached to role r; detach it first"]
    assert Policy.objects.filter(account=tenant.account).count() == 3
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 3
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_bulk_delete_of_policies_uses_the_service(admin_client, tenant):
    policies = [policy_create(account=tenant.account, name=f"bulk{i}", permissions=DOC) for i in range(2)]
    response = admin_client.post(
        url(Policy, "changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in policies], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Policy.objects.filter(account=tenant.account).exists()
    tenant.account.refresh_from_db()
    assert tenant.account.policy_count == 0


# Accounts --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_an_account_shows_its_root_secret_once(admin_client):
    response = admin_client.post(url(Account, "add"), {"name": "Gamma", "email": "ops@gamma.example", "member_no": ""})
    assert response.status_code == 302
    account = Account.objects.get(name="Gamma")
    key = AccessKey.objects.get(account=account, kind=AccessKey.ROOT)
    secret = decrypt_secret(key.secret_encrypted)
    shown = [m for m in messages_of(response) if key.access_key in m]
    assert len(shown) == 1 and secret in shown[0]
    # The one-time message waits in the server-side session, never in a cookie the browser keeps.
    assert "messages" not in response.cookies
    assert "messages" not in admin_client.cookies

    first = admin_client.get(response.url)
    assert secret in first.content.decode()
    for page in (response.url, url(Account, "change", account.pk), url(AccessKey, "change", key.pk)):
        content = admin_client.get(page).content.decode()
        assert secret not in content
        assert key.secret_encrypted not in content
    assert not any(secret in (e.change_message + e.object_repr) for e in LogEntry.objects.all())


@pytest.mark.django_db
def test_account_create_refusal_is_a_form_error(admin_client, tenant):
    accounts, keys = Account.objects.count(), AccessKey.objects.count()
    response = admin_client.post(url(Account, "add"), {"name": "Dup", "email": "", "member_no": "2942"})
    assert response.status_code == 200
    assert form_errors(response)["member_no"]
    assert (Account.objects.count(), AccessKey.objects.count()) == (accounts, keys)
    assert not messages_of(response)


@pytest.mark.django_db
def test_changing_account_settings_goes_through_the_service(admin_client, tenant, other_tenant):
    Account.objects.filter(pk=other_tenant.account.pk).update(login_page_alias="beta")
    page = admin_client.get(url(Account, "change", tenant.account.pk))
    data = form_data(page)
    data.update(name="Alpha Renamed", password_min_length="12", login_page_alias="alpha")
    response = admin_client.post(url(Account, "change", tenant.account.pk), data)
    assert response.status_code == 302, form_errors(response)
    tenant.account.refresh_from_db()
    assert (tenant.account.name, tenant.account.password_min_length, tenant.account.login_page_alias) == (
        "Alpha Renamed",
        12,
        "alpha",
    )

    data.update(password_min_length="30", name="Never")
    response = admin_client.post(url(Account, "change", tenant.account.pk), data)
    assert response.status_code == 200
    assert form_errors(response)["password_min_length"] == ["must be between 8 and 16"]
    tenant.account.refresh_from_db()
    assert (tenant.account.name, tenant.account.password_min_length) == ("Alpha Renamed", 12)

    # policy_count is the service's counter: not editable here.
    assert "policy_count" not in page.context["adminform"].form.fields


@pytest.mark.django_db
def test_reconcile_policy_counter_action(admin_client, world):
    Account.objects.filter(pk=world.tenant.account.pk).update(policy_count=17)
    response = admin_client.post(
        url(Account, "changelist"),
        {"action": "reconcile_policy_counter", "_selected_action": [world.tenant.account.pk, world.other.account.pk]},
    )
    assert response.status_code == 302
    world.tenant.account.refresh_from_db()
    assert world.tenant.account.policy_count == 1
    assert messages_of(response) == ["Checked 2 policy counter(s); repaired 2942: 17 → 1."]


@pytest.mark.django_db
def test_suspend_and_reactivate_account_actions(admin_client, tenant):
    changelist = url(Account, "changelist")
    admin_client.post(changelist, {"action": "suspend_accounts", "_selected_action": [tenant.account.pk]})
    tenant.account.refresh_from_db()
    assert tenant.account.active is False
    admin_client.post(changelist, {"action": "activate_accounts", "_selected_action": [tenant.account.pk]})
    tenant.account.refresh_from_db()
    assert tenant.account.active is True


@pytest.mark.django_db
def test_accounts_cannot_be_deleted_in_the_admin(admin_client, tenant):
    assert admin_client.post(url(Account, "delete", tenant.account.pk), {"post": "yes"}).status_code == 403
    assert Account.objects.filter(pk=tenant.account.pk).exists()


# Sub accounts ----------------------------------------------------------------------------------------------------


def sub_account_post(account, login_id="carol", **extra):
    data = {
        "account": account.pk,
        "login_id": login_id,
        "name": "Carol",
        "email": "carol@example.com",
        "memo": "",
        "active": "on",
        "can_console_access": "on",
        "console_permit_ips": "[]",
        "api_allow_sources": "[]",
        "tags": "{}",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_creating_a_sub_account_with_a_password(admin_client, tenant):
    response = admin_client.post(url(SubAccount, "add"), sub_account_post(tenant.account, new_password="Str0ng!pass"))
    assert response.status_code == 302
    sub = SubAccount.objects.get(account=tenant.account, login_id="carol")
    assert check_password("Str0ng!pass", sub.password)
    assert sub.can_console_access is True
    assert not any("Str0ng!pass" in m for m in messages_of(response))
    assert not LogEntry.objects.filter(change_message__contains="Str0ng").exists()


@pytest.mark.django_db
def test_creating_a_sub_account_with_a_generated_password_shows_it_once(admin_client, tenant):
    response = admin_client.post(url(SubAccount, "add"), sub_account_post(tenant.account, generate_password="on"))
    assert response.status_code == 302
    sub = SubAccount.objects.get(account=tenant.account, login_id="carol")
    shown = [m for m in messages_of(response) if "Generated password of carol" in m]
    assert len(shown) == 1
    password = re.search(r"carol: (\S+) —", shown[0]).group(1)
    assert check_password(password, sub.password)
    assert sub.need_password_reset is True
    admin_client.get(response.url)  # the message is consumed by the page after the redirect
    assert not messages_of(admin_client.get(url(SubAccount, "change", sub.pk)))


@pytest.mark.parametrize(
    "extra, field, error",
    [
        ({"new_password": "weak"}, "new_password", "must be 8-16 characters"),
        ({}, "new_password", "Console access needs a password (or ask for a generated one)."),
        ({"new_password": "Str0ng!pass", "generate_password": "on"}, "new_password", "not both"),
        ({"new_password": "Str0ng!pass", "login_id": "1bad"}, "login_id", "starting with a letter"),
        ({"new_password": "Str0ng!pass", "console_permit_ips": '["not-an-ip"]'}, "console_permit_ips", "not an IP"),
    ],
)
@pytest.mark.django_db
def test_sub_account_create_refusals_are_form_errors(admin_client, tenant, extra, field, error):
    before = SubAccount.objects.count()
    response = admin_client.post(url(SubAccount, "add"), sub_account_post(tenant.account, **extra))
    assert response.status_code == 200
    assert any(error in e for e in form_errors(response)[field]), form_errors(response)
    assert SubAccount.objects.count() == before
    assert "Str0ng!pass" not in response.content.decode()  # a typed password is never sent back


@pytest.mark.django_db
def test_duplicate_login_id_is_refused(admin_client, world):
    before = SubAccount.objects.count()
    response = admin_client.post(
        url(SubAccount, "add"), sub_account_post(world.tenant.account, login_id="ALICE", new_password="Str0ng!pass")
    )
    assert response.status_code == 200
    assert form_errors(response)
    assert SubAccount.objects.count() == before
    # The same login ID in another account is fine.
    response = admin_client.post(
        url(SubAccount, "add"), sub_account_post(world.other.account, login_id="alice", new_password="Str0ng!pass")
    )
    assert response.status_code == 302
    assert SubAccount.objects.filter(account=world.other.account, login_id="alice").exists()


@pytest.mark.django_db
def test_changing_a_sub_account_and_resetting_its_password(admin_client, world):
    page = admin_client.get(url(SubAccount, "change", world.sub.pk))
    data = form_data(page)
    data.update(name="Alice A", generate_password="on")
    response = admin_client.post(url(SubAccount, "change", world.sub.pk), data)
    assert response.status_code == 302, form_errors(response)
    world.sub.refresh_from_db()
    assert world.sub.name == "Alice A"
    shown = [m for m in messages_of(response) if "Generated password of alice" in m]
    password = re.search(r"alice: (\S+) —", shown[0]).group(1)
    assert check_password(password, world.sub.password)
    # The MFA seed was not touched by saving the form.
    assert decrypt_secret(world.sub.mfa_secret_encrypted) == MFA_SEED

    data = form_data(admin_client.get(url(SubAccount, "change", world.sub.pk)))
    data.update(name="x")
    response = admin_client.post(url(SubAccount, "change", world.sub.pk), data)
    assert response.status_code == 200
    assert form_errors(response)["name"] == ["must be 2-30 characters"]
    world.sub.refresh_from_db()
    assert world.sub.name == "Alice A"


@pytest.mark.django_db
def test_suspend_and_activate_sub_account_actions(admin_client, world):
    changelist = url(SubAccount, "changelist")
    response = admin_client.post(changelist, {"action": "suspend_selected", "_selected_action": [world.sub.pk]})
    assert response.status_code == 302
    assert messages_of(response) == ["Suspended 1 sub account(s)."]
    world.sub.refresh_from_db()
    assert world.sub.active is False
    assert SubAccount.objects.get(login_id="bob").active is True
    admin_client.post(changelist, {"action": "activate_selected", "_selected_action": [world.sub.pk]})
    world.sub.refresh_from_db()
    assert world.sub.active is True


@pytest.mark.django_db
def test_bulk_delete_of_sub_accounts(admin_client, world):
    carol, _ = make_sub_account(world.tenant, "carol")
    response = admin_client.post(
        url(SubAccount, "changelist"),
        {"action": "delete_selected", "_selected_action": [world.sub.pk, carol.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(SubAccount.objects.values_list("login_id", flat=True)) == ["bob"]
    assert not AccessKey.objects.filter(account=world.tenant.account, kind=AccessKey.SUB_ACCOUNT).exists()


@pytest.mark.django_db
def test_deleting_a_sub_account_takes_its_keys_and_attachments(admin_client, world):
    response = admin_client.post(url(SubAccount, "delete", world.sub.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not SubAccount.objects.filter(pk=world.sub.pk).exists()
    assert not AccessKey.objects.filter(sub_account_id=world.sub.pk).exists()
    assert not PolicyAttachment.objects.filter(sub_account_id=world.sub.pk).exists()
    assert not GroupMembership.objects.filter(sub_account_id=world.sub.pk).exists()


# Inlines ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_attaching_and_detaching_policies_inline(admin_client, world):
    other_policy = policy_create(account=world.other.account, name="foreign", permissions=DOC)
    change = url(SubAccount, "change", world.sub.pk)
    page = admin_client.get(change)
    formset = inline_formset(page, PolicyAttachment)
    choices = {str(c[0]) for c in formset.forms[0].fields["policy"].choices if c[0]}
    assert str(world.policy.pk) in choices and str(other_policy.pk) not in choices

    data = form_data(page)
    new_row = len(formset.initial_forms)
    data[f"{formset.prefix}-{new_row}-policy"] = other_policy.pk
    response = admin_client.post(change, data)
    assert response.status_code == 200
    errors = inline_formset(response, PolicyAttachment).errors[new_row]
    assert errors == {"policy": ["Select a valid choice. That choice is not one of the available choices."]}
    assert not PolicyAttachment.objects.filter(policy=other_policy).exists()

    data[f"{formset.prefix}-{new_row}-policy"] = world.policy.pk
    data[f"{formset.prefix}-0-DELETE"] = "on"  # the NCP_ADMINISTRATOR attachment
    response = admin_client.post(change, data)
    assert response.status_code == 302
    attached = PolicyAttachment.objects.filter(sub_account=world.sub)
    assert [(a.policy.name, a.account_id) for a in attached] == [("reader", world.tenant.account.pk)]


@pytest.mark.django_db
def test_group_members_inline_uses_the_membership_limit(admin_client, world, settings):
    carol, _ = make_sub_account(world.tenant, "carol")
    change = url(Group, "change", world.group.pk)
    page = admin_client.get(change)
    formset = inline_formset(page, GroupMembership)
    data = form_data(page)
    data[f"{formset.prefix}-{len(formset.initial_forms)}-sub_account"] = carol.pk
    response = admin_client.post(change, data)
    assert response.status_code == 302
    assert set(world.group.members.values_list("login_id", flat=True)) == {"alice", "carol"}

    # alice is in one group already; with a limit of 1 a second group is refused and nothing is written.
    settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT = 1
    second = group_create(account=world.tenant.account, name="testers")
    change = url(Group, "change", second.pk)
    page = admin_client.get(change)
    formset = inline_formset(page, GroupMembership)
    data = form_data(page)
    data.update(description="should not be saved")
    data[f"{formset.prefix}-0-sub_account"] = world.sub.pk
    response = admin_client.post(change, data)
    assert response.status_code == 200
    assert form_errors(response)["__all__"] == ["sub account alice would belong to more than 1 groups"]
    second.refresh_from_db()
    assert second.description == ""
    assert not second.members.exists()

    # Removing a member.
    change = url(Group, "change", world.group.pk)
    page = admin_client.get(change)
    formset = inline_formset(page, GroupMembership)
    data = form_data(page)
    row = next(i for i, f in enumerate(formset.initial_forms) if f.instance.sub_account_id == carol.pk)
    data[f"{formset.prefix}-{row}-DELETE"] = "on"
    assert admin_client.post(change, data).status_code == 302
    assert set(world.group.members.values_list("login_id", flat=True)) == {"alice"}


# Groups and roles ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_group_create_change_and_delete(admin_client, world):
    response = admin_client.post(
        url(Group, "add"), {"account": world.tenant.account.pk, "name": "ops", "description": "", "tags": "{}"}
    )
    assert response.status_code == 302
    group = Group.objects.get(account=world.tenant.account, name="ops")

    response = admin_client.post(
        url(Group, "add"), {"account": world.tenant.account.pk, "name": "ops", "description": "", "tags": "{}"}
    )
    assert response.status_code == 200
    assert form_errors(response)
    assert Group.objects.filter(account=world.tenant.account, name="ops").count() == 1

    data = form_data(admin_client.get(url(Group, "change", group.pk)))
    data.update(tags='{"team": "ops"}')
    assert admin_client.post(url(Group, "change", group.pk), data).status_code == 302
    group.refresh_from_db()
    assert group.tags == {"team": "ops"}

    data.update(tags='{"team": 5}')
    response = admin_client.post(url(Group, "change", group.pk), data)
    assert response.status_code == 200
    assert form_errors(response)["tags"] == ["Tag “team”: tag values must be strings of at most 128 characters."]

    assert admin_client.post(url(Group, "delete", world.group.pk), {"post": "yes"}).status_code == 302
    assert not Group.objects.filter(pk=world.group.pk).exists()
    assert SubAccount.objects.filter(pk=world.sub.pk).exists()


@pytest.mark.django_db
def test_role_create_and_change(admin_client, tenant):
    add = {"account": tenant.account.pk, "name": "acct-role", "role_type": "Account", "description": "", "tags": "{}"}
    response = admin_client.post(url(Role, "add"), {**add, "session_expiration_sec": "1800"})
    assert response.status_code == 302
    role = Role.objects.get(account=tenant.account, name="acct-role")
    assert role.session_expiration_sec == 1800

    # Staff stand in for Ncloud Single Sign-On: they may create its roles (the API may not).
    response = admin_client.post(url(Role, "add"), {**add, "name": "sso", "role_type": "SingleSignOn"})
    assert response.status_code == 302
    assert Role.objects.get(name="sso").role_type == "SingleSignOn"

    data = form_data(admin_client.get(url(Role, "change", role.pk)))
    data.update(session_expiration_sec="600")
    data.pop("active", None)
    assert admin_client.post(url(Role, "change", role.pk), data).status_code == 302
    role.refresh_from_db()
    assert (role.session_expiration_sec, role.active, role.role_type) == (600, False, "Account")


# Access keys -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_access_keys_are_view_only_and_can_be_disabled(admin_client, world):
    key = AccessKey.objects.get(sub_account=world.sub)
    page = admin_client.get(url(AccessKey, "change", key.pk))
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(url(AccessKey, "change", key.pk), {"active": ""}).status_code == 403
    key.refresh_from_db()
    assert key.active is True

    response = admin_client.post(
        url(AccessKey, "changelist"), {"action": "disable_selected", "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Disabled 1 access key(s)."]
    key.refresh_from_db()
    assert key.active is False
    assert AccessKey.objects.filter(active=True).count() == AccessKey.objects.count() - 1


@pytest.mark.django_db
def test_root_keys_cannot_be_deleted_sub_account_keys_can(admin_client, world):
    root = AccessKey.objects.get(account=world.tenant.account, kind=AccessKey.ROOT)
    assert admin_client.post(url(AccessKey, "delete", root.pk), {"post": "yes"}).status_code == 403
    assert AccessKey.objects.filter(pk=root.pk).exists()
    key = AccessKey.objects.get(sub_account=world.sub)
    assert admin_client.post(url(AccessKey, "delete", key.pk), {"post": "yes"}).status_code == 302
    assert not AccessKey.objects.filter(pk=key.pk).exists()


@pytest.mark.django_db
def test_detaching_from_the_attachment_list(admin_client, world):
    attachment = PolicyAttachment.objects.get(role=world.role)
    assert admin_client.post(url(PolicyAttachment, "delete", attachment.pk), {"post": "yes"}).status_code == 302
    assert not PolicyAttachment.objects.filter(role=world.role).exists()
    assert PolicyAttachment.objects.filter(group=world.group).exists()

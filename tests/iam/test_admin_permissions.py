"""The "effective permissions" admin page of a sub account or a role: every catalog action's decision on '*' and on
the object's own NRN, with the deciding statements by policy name, and a one-request simulator."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from iam.models import AccessKey, Role, SubAccount
from iam.policy import catalog
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account


def _doc(actions, effect="Allow", resources=("*",), condition=None, product="SubAccount"):
    statement = {
        "effect": effect,
        "targets": [{"product": product, "actions": list(actions), "resourceNrns": list(resources)}],
    }
    if condition:
        statement["condition"] = condition
    return statement


def permissions_url(obj) -> str:
    return reverse(f"admin:iam_{obj._meta.model_name}_permissions", args=[obj.pk])


def rows_of(response) -> dict[str, dict]:
    return {f"{row['product']}:{row['action']}": row for row in response.context["rows"]}


@pytest.fixture
def alice(tenant):
    """A sub account with own, group and conditional policies, and one Deny on itself."""
    sub, creds = make_sub_account(tenant, "alice")
    editor = policy_create(
        account=tenant.account,
        name="editor",
        permissions=[
            _doc(["View/getGroupList", "Change/updateSubAccount"]),
            _doc(["Change/updateSubAccount"], effect="Deny", resources=[sub.nrn]),
        ],
    )
    office = policy_create(
        account=tenant.account,
        name="office-only",
        permissions=[_doc(["View/getPolicyList"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}})],
    )
    no_roles = policy_create(account=tenant.account, name="no-roles", permissions=[_doc(["View*"], effect="Deny")])
    policies_attach(target=sub, policy_ids=[editor.policy_id, office.policy_id])
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id)])
    policies_attach(target=group, policy_ids=[no_roles.policy_id])
    sub.refresh_from_db()
    sub.creds = creds
    return sub


@pytest.mark.django_db
def test_the_change_page_links_to_the_permissions_page(admin_client, alice, tenant):
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    for obj in (alice, role):
        page = admin_client.get(reverse(f"admin:iam_{obj._meta.model_name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert f'<a href="{permissions_url(obj)}" class="permissionslink">Effective permissions</a>' in (
            page.content.decode()
        )


@pytest.mark.django_db
def test_sub_account_permissions_show_every_action_with_its_deciding_statements(admin_client, alice):
    response = admin_client.get(permissions_url(alice))
    assert response.status_code == 200
    rows = rows_of(response)
    assert len(rows) == len(catalog.ACTIONS)
    assert {row["product"] for row in rows.values()} == set(catalog.PRODUCTS)

    # The group's "Deny View*" beats the own Allow.
    group_list = rows["SubAccount:View/getGroupList"]
    assert group_list["star"]["decision"] == "explicitDeny"
    assert {"name": "no-roles", "index": 0, "effect": "Deny"} in group_list["star"]["statements"]
    assert {"name": "editor", "index": 0, "effect": "Allow"} in group_list["star"]["statements"]
    assert group_list["own"] is None  # no SubAccount resource

    # Allowed on '*', but the Deny on alice's own NRN wins there.
    update = rows["SubAccount:Change/updateSubAccount"]
    assert update["star"] == {
        "decision": "allowed",
        "statements": [{"name": "editor", "index": 0, "effect": "Allow"}],
        "missing": [],
    }
    assert update["own"]["decision"] == "explicitDeny"
    assert {"name": "editor", "index": 1, "effect": "Deny"} in update["own"]["statements"]

    # Nothing grants it.
    delete = rows["SubAccount:Change/deleteSubAccount"]
    assert (delete["star"]["decision"], delete["star"]["statements"]) == ("implicitDeny", [])
    assert delete["own"]["decision"] == "implicitDeny"
    assert rows["ExternalAccess:Change/createTrustAnchor"]["star"]["decision"] == "implicitDeny"
    assert response.context["allowed_count"] == sum(1 for r in rows.values() if r["star"]["decision"] == "allowed")

    content = response.content.decode()
    assert alice.nrn in content
    assert response.context["policies"] == ["editor", "no-roles", "office-only"]
    row_html = content.split('id="action-SubAccount-changeupdatesubaccount"', 1)[1].split("</tr>", 1)[0]
    assert 'class="star decision-allowed">allowed</td>' in row_html
    assert "editor #0 (Allow)" in row_html and "editor #1 (Deny)" in row_html
    assert '<span class="decision-explicitDeny">explicitDeny</span>' in row_html


@pytest.mark.django_db
def test_a_condition_the_page_cannot_know_is_shown_as_a_missing_key(admin_client, tenant):
    sub, _ = make_sub_account(tenant, "bob")
    office = policy_create(
        account=tenant.account,
        name="office-only",
        permissions=[_doc(["View/getPolicyList"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}})],
    )
    policies_attach(target=sub, policy_ids=[office.policy_id])
    response = admin_client.get(permissions_url(sub))
    policy_list = rows_of(response)["SubAccount:View/getPolicyList"]["star"]
    assert policy_list["decision"] == "implicitDeny"
    assert policy_list["missing"] == ["ncp:SourceIp"]
    row_html = response.content.decode().split('id="action-SubAccount-viewgetpolicylist"', 1)[1].split("</tr>")[0]
    assert "<code>ncp:SourceIp</code>" in row_html


@pytest.mark.django_db
def test_the_simulator_explains_one_request(admin_client, tenant):
    sub, _ = make_sub_account(tenant, "bob")
    office = policy_create(
        account=tenant.account,
        name="office-only",
        permissions=[_doc(["View/getPolicyList"], condition={"IpAddress": {"ncp:SourceIp": ["10.0.0.0/8"]}})],
    )
    policies_attach(target=sub, policy_ids=[office.policy_id])
    page = permissions_url(sub)
    query = {"action": "SubAccount:View/getPolicyList", "resource": "*", "context": '{"ncp:SourceIp": "10.1.2.3"}'}
    response = admin_client.get(page, query)
    assert response.status_code == 200
    assert response.context["result"] == {
        "product": "SubAccount",
        "action": "View/getPolicyList",
        "resource": "*",
        "decision": "allowed",
        "statements": [{"name": "office-only", "index": 0, "effect": "Allow"}],
        "missing": [],
    }
    content = response.content.decode()
    result_html = content.split('id="simulation-result"', 1)[1].split("</div>", 1)[0]
    assert '<span class="decision-allowed">allowed</span>' in result_html
    assert "office-only #0 (Allow)" in result_html

    # From outside the office; and without the key at all.
    outside = admin_client.get(page, {**query, "context": '{"ncp:SourceIp": "192.0.2.1"}'}).context["result"]
    assert (outside["decision"], outside["statements"], outside["missing"]) == ("implicitDeny", [], [])
    unknown = admin_client.get(page, {**query, "context": ""}).context["result"]
    assert (unknown["decision"], unknown["missing"]) == ("implicitDeny", ["ncp:SourceIp"])
    assert (
        "Missing context keys: <code>ncp:SourceIp</code>"
        in admin_client.get(page, {**query, "context": ""}).content.decode()
    )


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"context": '{"ncp:SourceIp": '}, "context", "Enter a valid JSON object"),
        ({"context": '["not", "an", "object"]'}, "context", "Enter a JSON object of condition keys"),
        ({"context": '{"ncp:SourceIp": {"nested": 1}}'}, "context", "Values must be strings"),
        ({"resource": "not-an-nrn"}, "resource", "Enter '*' or an NRN"),
        ({"action": "SubAccount:View/nope"}, "action", "Select a valid choice."),
    ],
)
@pytest.mark.django_db
def test_bad_simulator_input_is_a_form_error(admin_client, alice, query, field, message):
    params = {"action": "SubAccount:View/getGroupList", "resource": "*", "context": "{}", **query}
    response = admin_client.get(permissions_url(alice), params)
    assert response.status_code == 200
    assert response.context["result"] is None
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert message.replace("'", "&#x27;") in response.content.decode()
    # The table is still there.
    assert len(response.context["rows"]) == len(catalog.ACTIONS)


@pytest.mark.django_db
def test_the_simulator_takes_an_nrn(admin_client, alice):
    query = {"action": "SubAccount:Change/updateSubAccount", "resource": alice.nrn, "context": ""}
    result = admin_client.get(permissions_url(alice), query).context["result"]
    assert result["decision"] == "explicitDeny"
    assert {"name": "editor", "index": 1, "effect": "Deny"} in result["statements"]


@pytest.mark.django_db
def test_role_permissions(admin_client, tenant):
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    viewer = policy_create(account=tenant.account, name="viewer", permissions=[_doc(["View/getPolicyList"])])
    guard = policy_create(
        account=tenant.account,
        name="guard",
        permissions=[_doc(["Change/deleteRole"], effect="Deny", resources=[role.nrn]), _doc(["Change/deleteRole"])],
    )
    policies_attach(target=role, policy_ids=[viewer.policy_id, guard.policy_id])
    response = admin_client.get(permissions_url(role))
    assert response.status_code == 200
    rows = rows_of(response)
    assert rows["SubAccount:View/getPolicyList"]["star"] == {
        "decision": "allowed",
        "statements": [{"name": "viewer", "index": 0, "effect": "Allow"}],
        "missing": [],
    }
    assert rows["SubAccount:View/getGroupList"]["star"]["decision"] == "implicitDeny"
    delete = rows["SubAccount:Change/deleteRole"]
    # A role's sessions may never change roles, whatever its policies allow (iam.gateway.authz.role_session_forbidden).
    assert delete["star"] == {
        "decision": "explicitDeny",
        "statements": [
            {"name": "guard", "index": 1, "effect": "Allow"},
            {"name": "role-session-restriction", "index": 0, "effect": "Deny"},
        ],
        "missing": [],
    }
    assert delete["own"]["decision"] == "explicitDeny"
    assert delete["own"]["statements"][0] == {"name": "guard", "index": 0, "effect": "Deny"}
    assert rows["SubAccount:Change/updateSubAccount"]["own"] is None  # not a Role resource
    assert response.context["own_nrn"] == role.nrn

    query = {"action": "SubAccount:View/getGroupList", "resource": "*", "context": ""}
    result = admin_client.get(permissions_url(role), query).context["result"]
    assert (result["decision"], result["statements"]) == ("implicitDeny", [])


@pytest.mark.django_db
def test_a_principal_without_policies_is_denied_everything(admin_client, tenant):
    sub, _ = make_sub_account(tenant, "nobody")
    response = admin_client.get(permissions_url(sub))
    rows = response.context["rows"]
    assert {row["star"]["decision"] for row in rows} == {"implicitDeny"}
    assert response.context["allowed_count"] == 0
    assert "Policies in effect: none." in response.content.decode()


@pytest.mark.django_db
def test_only_staff_with_view_permission_see_it(client, alice, tenant):
    page = permissions_url(alice)
    # Anonymous, and a signed-in user who is not staff: sent to the login page.
    for user in (None, User.objects.create_user("plain", password="pw")):
        if user is not None:
            client.force_login(user)
        response = client.get(page)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    # Staff without the view permission of sub accounts: forbidden.
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(page).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_subaccount"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    response = client.get(page)
    assert response.status_code == 200
    assert len(response.context["rows"]) == len(catalog.ACTIONS)
    # ... but not a role's page without view_role.
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    assert client.get(permissions_url(role)).status_code == 403


@pytest.mark.django_db
def test_an_unknown_object_redirects_with_a_message(admin_client, alice):
    response = admin_client.get(reverse("admin:iam_subaccount_permissions", args=[alice.pk + 1000]))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert SubAccount.objects.filter(pk=alice.pk + 1000).count() == 0


@pytest.mark.django_db
def test_no_secret_on_the_permissions_pages(admin_client, alice, tenant):
    key = AccessKey.objects.get(access_key=alice.creds.access_key)
    SubAccount.objects.filter(pk=alice.pk).update(password="md5$fixedsalt$0123456789abcdef0123456789abcdef")
    secrets = [alice.creds.secret, key.secret_encrypted, tenant.root.secret, "0123456789abcdef0123456789abcdef"]
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    query = {"action": "SubAccount:View/getGroupList", "resource": "*", "context": '{"ncp:SourceIp": "10.0.0.1"}'}
    for page in (permissions_url(alice), permissions_url(role)):
        for params in (None, query):
            content = admin_client.get(page, params).content.decode()
            for secret in secrets:
                assert secret not in content
    assert Role.objects.filter(pk=role.pk).exists()

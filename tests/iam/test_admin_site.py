"""The admin site itself: named after the product, "View site" opens the API docs, the index is a dashboard of each
main account's usage against the limits, Django's groups are labelled staff groups; the structured fields of sub
accounts, groups and policies (one item a line, checked item by item); issuing a sub account's access key with the
secret shown once."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse

from iam.models import AccessKey, AuditEvent, Group, Policy, SubAccount
from iam.secrets import decrypt_secret
from iam.services.groups import group_create
from iam.services.policies import policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import access_key_create
from tests.conftest import Credentials, make_sub_account
from tests.iam.test_admin import DOC, form_data, form_errors, sub_account_post, url

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


# The site -------------------------------------------------------------------------------------------------------


def test_the_site_is_named_after_the_product_and_view_site_opens_the_api_docs(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Django administration" not in page
    assert "Django site admin" not in page
    assert "IAM: Sub Account, STS and External Access administration" in page
    assert '<a href="/api/docs/">View site</a>' in page
    assert admin_client.get("/api/docs/").status_code == 200
    login = admin_client.get(reverse("admin:login")).content.decode()
    assert "Django administration" not in login


def test_the_index_has_one_groups_entry_and_labels_django_groups_as_staff_groups(admin_client):
    response = admin_client.get(reverse("admin:index"))
    apps = {app["app_label"]: app for app in response.context["app_list"]}
    auth_models = {m["object_name"]: m["name"] for m in apps["auth"]["models"]}
    assert auth_models == {"Group": "Staff groups", "User": "Staff users"}
    assert apps["auth"]["name"] == "Staff (admin sign-in)"
    iam_names = [m["name"] for m in apps["iam"]["models"]]
    assert "Groups" in iam_names
    page = response.content.decode()
    assert len(re.findall(r">Groups</a>", page)) == 1
    assert ">Staff groups</a>" in page


def test_the_dashboard_shows_each_accounts_counts_against_the_limits(admin_client, tenant, other_tenant):
    for login in ("alice", "bob", "carol"):
        make_sub_account(tenant, login)
    group_create(account=tenant.account, name="ops")
    policy_create(account=tenant.account, name="reader", permissions=DOC)
    role_create(account=tenant.account, name="server-role", role_type="Server")
    make_sub_account(other_tenant, "dave")

    response = admin_client.get(reverse("admin:index"))
    rows = {row["account"].pk: row["usage"] for row in response.context["usage_rows"]}
    counts = {pk: [(u.label, u.count, u.limit) for u in usage] for pk, usage in rows.items()}
    assert counts[tenant.account.pk] == [
        ("Sub accounts", 3, 500),
        ("Groups", 1, 300),
        ("Policies", 1, 500),
        ("Roles", 1, 500),
    ]
    assert counts[other_tenant.account.pk] == [
        ("Sub accounts", 1, 500),
        ("Groups", 0, 300),
        ("Policies", 0, 500),
        ("Roles", 0, 500),
    ]
    page = response.content.decode()
    assert "Main accounts: usage against the limits" in page
    assert "3 / 500" in page and "1 / 300" in page
    assert reverse("admin:iam_account_change", args=[tenant.account.pk]) in page


def test_the_dashboard_limits_come_from_the_settings_and_flag_accounts_near_them(admin_client, tenant, settings):
    settings.IAM_MAX_SUB_ACCOUNTS = 4
    for login in ("alice", "bob", "carol", "dave"):
        make_sub_account(tenant, login)
    response = admin_client.get(reverse("admin:index"))
    usage = response.context["usage_rows"][0]["usage"][0]
    assert (usage.count, usage.limit, usage.percent, usage.near_limit) == (4, 4, 100, True)
    assert 'class="usage near-limit" data-label="Sub accounts"' in response.content.decode()


def test_the_dashboard_takes_a_fixed_number_of_queries(
    admin_client, tenant, other_tenant, django_assert_max_num_queries
):
    admin_client.get(reverse("admin:index"))  # session and permissions warm
    with django_assert_max_num_queries(12) as captured:
        admin_client.get(reverse("admin:index"))
    few = len(captured)
    for index in range(5):
        make_sub_account(tenant, f"user{index}")
        group_create(account=other_tenant.account, name=f"group{index}")
    with django_assert_max_num_queries(few):
        admin_client.get(reverse("admin:index"))


def test_the_dashboard_is_staff_only(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


# Structured fields ---------------------------------------------------------------------------------------------


def test_sub_account_lists_and_tags_are_entered_one_a_line(admin_client, tenant):
    data = sub_account_post(
        tenant.account,
        new_password="Str0ng!pass",
        use_console_permit_ip="on",
        console_permit_ips="203.0.113.7\n10.0.0.0/24\n",
        use_api_allow_source="on",
        api_allow_sources="IP 198.51.100.0/24\nvpc 12345\n",
        tags="team = platform\ncost-center=1234",
    )
    response = admin_client.post(url(SubAccount, "add"), data)
    assert response.status_code == 302, form_errors(response)
    sub = SubAccount.objects.get(login_id="carol")
    assert sub.console_permit_ips == ["203.0.113.7", "10.0.0.0/24"]
    assert sub.api_allow_sources == [
        {"type": "IP", "source": "198.51.100.0/24"},
        {"type": "VPC", "source": "12345"},
    ]
    assert sub.tags == {"team": "platform", "cost-center": "1234"}

    # The change page shows them the same way, with help and an example, and saving it unchanged changes nothing.
    page = admin_client.get(url(SubAccount, "change", sub.pk))
    text = page.content.decode()
    assert "203.0.113.7\n10.0.0.0/24</textarea>" in text
    assert "IP 198.51.100.0/24\nVPC 12345</textarea>" in text
    assert "team = platform\ncost-center = 1234</textarea>" in text
    assert "One IP address or CIDR block a line" in text
    for label in ("Console access", "API Gateway access", "Console IP allowlist", "MFA required"):
        assert f">{label}</label>" in text
    assert "Example:" in text
    before = AuditEvent.objects.count()
    assert admin_client.post(url(SubAccount, "change", sub.pk), form_data(page)).status_code == 302
    assert AuditEvent.objects.count() == before  # nothing changed: no update event


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("console_permit_ips", "203.0.113.7\nnot-an-ip", "Line 2: not an IP address or CIDR block."),
        ("console_permit_ips", '["10.0.0.1",', "Enter valid JSON"),
        ("api_allow_sources", "IP 10.0.0.0/24\nFTP 10.0.0.1", "Line 2: must be one of IP, VPC, VPC_SERVER."),
        ("api_allow_sources", "VPC abc", "Line 1: must be the numeric VPC number."),
        ("api_allow_sources", "10.0.0.1", "Line 1: write a type and a source"),
        ("tags", "team platform", "Line 1: write a tag as key = value"),
        ("tags", "team = a\nteam = b", "Tag “team” is given twice."),
        ("tags", "team = " + "x" * 129, "Tag “team”: tag values must be strings of at most 128 characters."),
        ("tags", "\n".join(f"k{i} = v" for i in range(21)), "At most 20 tags."),
    ],
)
def test_bad_structured_values_are_field_errors_and_nothing_is_saved(admin_client, tenant, field, value, error):
    response = admin_client.post(
        url(SubAccount, "add"), sub_account_post(tenant.account, new_password="Str0ng!pass", **{field: value})
    )
    assert response.status_code == 200
    assert any(error in message for message in form_errors(response)[field]), form_errors(response)
    assert 'class="errorlist' in response.content.decode()
    assert not SubAccount.objects.filter(login_id="carol").exists()


def test_a_bad_line_on_the_change_page_leaves_the_sub_account_unchanged(admin_client, tenant):
    sub, _ = make_sub_account(tenant, "alice")
    data = form_data(admin_client.get(url(SubAccount, "change", sub.pk)))
    data.update(name="Renamed", console_permit_ips="10.0.0.1\n10.0.0.300")
    response = admin_client.post(url(SubAccount, "change", sub.pk), data)
    assert response.status_code == 200
    assert form_errors(response)["console_permit_ips"] == ["Line 2: not an IP address or CIDR block."]
    sub.refresh_from_db()
    assert (sub.name, sub.console_permit_ips) == ("alice", [])


def test_group_tags_one_a_line_and_a_bad_line_saves_nothing(admin_client, tenant):
    group = group_create(account=tenant.account, name="ops")
    data = form_data(admin_client.get(url(Group, "change", group.pk)))
    data.update(tags="team = ops")
    assert admin_client.post(url(Group, "change", group.pk), data).status_code == 302
    group.refresh_from_db()
    assert group.tags == {"team": "ops"}
    data.update(description="changed", tags="= ops")
    response = admin_client.post(url(Group, "change", group.pk), data)
    assert form_errors(response)["tags"] == ["Line 1: write a tag as key = value, e.g. “team = platform”."]
    group.refresh_from_db()
    assert (group.description, group.tags) == ("", {"team": "ops"})


def test_the_policy_form_explains_the_document_with_an_example(admin_client, tenant):
    page = admin_client.get(url(Policy, "add")).content.decode()
    assert "A JSON list of statements" in page
    assert "View/getGroupList" in page  # the example
    response = admin_client.post(
        url(Policy, "add"),
        {
            "account": tenant.account.pk,
            "name": "bad-doc",
            "description": "",
            "permissions": '[{"effect": "Maybe", "targets": []}]',
            "tags": "",
        },
    )
    assert response.status_code == 200
    assert any(e.startswith("permissions[0]") for e in form_errors(response)["permissions"]), form_errors(response)
    assert not Policy.objects.filter(name="bad-doc").exists()


# Issuing a sub account's access key ----------------------------------------------------------------------------


def issue_url(sub) -> str:
    return reverse("admin:iam_subaccount_issue_access_key", args=[sub.pk])


def test_staff_issue_an_access_key_and_see_its_secret_once(admin_client, api, tenant):
    sub, _ = make_sub_account(tenant, "alice", actions=["View/getSubAccountList"])
    AccessKey.objects.filter(sub_account=sub).delete()
    change = admin_client.get(url(SubAccount, "change", sub.pk)).content.decode()
    assert issue_url(sub) in change and "Issue access key" in change

    response = admin_client.post(issue_url(sub))
    assert response.status_code == 302 and response.url == url(SubAccount, "change", sub.pk)
    key = AccessKey.objects.get(sub_account=sub, kind=AccessKey.SUB_ACCOUNT)
    secret = decrypt_secret(key.secret_encrypted)
    shown = [m for m in messages_of(response) if key.access_key in m]
    assert len(shown) == 1 and secret in shown[0] and "only time" in shown[0]

    # The next page shows it (from the server-side session), the one after does not.
    assert secret in admin_client.get(response.url).content.decode()
    assert secret not in admin_client.get(response.url).content.decode()
    # The key works, and the audit trail says a secret was issued, never which.
    listed = api.call("GET", "/api/v1/sub-accounts", creds=Credentials(key.access_key, secret))
    assert listed.status_code == 200, listed.content
    assert [item["loginId"] for item in listed.json()["items"]] == ["alice"]
    event = AuditEvent.objects.get(action="SubAccount:Change/createSubAccountAccessKey")
    assert event.actor.startswith("staff:")
    assert event.resource == sub.nrn
    assert event.detail == {"accessKey": key.access_key, "secret": "issued"}


def test_issuing_past_the_key_limit_is_refused_with_a_message_and_nothing_issued(admin_client, tenant):
    sub, _ = make_sub_account(tenant, "alice")
    while AccessKey.objects.filter(sub_account=sub, kind=AccessKey.SUB_ACCOUNT).count() < 2:
        access_key_create(sub_account=sub)
    before = set(AccessKey.objects.values_list("access_key", flat=True))
    response = admin_client.post(issue_url(sub))
    assert response.status_code == 302
    assert messages_of(response) == [
        f"No access key was issued: a sub account has at most {settings.IAM_MAX_ACCESS_KEYS_PER_SUB_ACCOUNT} access keys"
    ]
    assert set(AccessKey.objects.values_list("access_key", flat=True)) == before
    assert not AuditEvent.objects.filter(action="SubAccount:Change/createSubAccountAccessKey").exists()


def test_issuing_needs_a_post_and_the_change_permission(client, admin_client, tenant):
    sub, _ = make_sub_account(tenant, "alice")
    before = AccessKey.objects.count()
    assert admin_client.get(issue_url(sub)).status_code == 405
    staff = User.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_subaccount"))
    client.force_login(staff)
    page = client.get(url(SubAccount, "change", sub.pk)).content.decode()
    assert "Issue access key" not in page
    assert client.post(issue_url(sub)).status_code == 403
    unknown = reverse("admin:iam_subaccount_issue_access_key", args=[sub.pk + 1000])
    assert admin_client.post(unknown).status_code == 302
    assert AccessKey.objects.count() == before


def test_the_sub_account_list_has_short_columns(admin_client, tenant):
    make_sub_account(tenant, "alice")
    response = admin_client.get(url(SubAccount, "changelist"))
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', response.content.decode())
    assert headers == ["login_id", "name", "account", "active", "console", "api", "has_mfa", "locked", "last_login"]


def test_the_access_key_and_audit_lists_have_compact_columns(admin_client, tenant):
    from iam import audit
    from iam.models import AuditEvent as Event

    sub, _ = make_sub_account(tenant, "alice")
    with audit.acting_as(audit.Actor("staff:admin", "Staff", "192.0.2.7"), request_id="req-list"):
        audit.record(account_id=tenant.account.pk, action="SubAccount:Change/updateSubAccount", resource=sub.nrn)
    keys = admin_client.get(url(AccessKey, "changelist")).content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', keys)
    assert headers == [
        "access_key",
        "kind",
        "account",
        "sub_account",
        "role",
        "active",
        "created",
        "last_used",
        "expires",
    ]
    key = AccessKey.objects.filter(sub_account=sub).first()
    assert f'<time datetime="{key.create_time.isoformat()}">{key.create_time:%Y-%m-%d %H:%M}</time>' in keys

    trail = admin_client.get(url(Event, "changelist")).content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', trail)
    assert headers == ["when", "actor_name", "action", "resource_name", "result", "source_ip", "account"]
    # The NRN's last part in the list, the whole NRN on hover; the request id on the event's page only.
    tail = f"SubAccount/{sub.sub_account_id}"
    assert f'<span title="{sub.nrn}">{tail}</span>' in trail
    assert "req-list" not in trail
    assert '<span title="staff:admin">staff:admin</span>' in trail

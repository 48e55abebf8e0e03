"""The group endpoints: create (name, tags, the group limit), list, detail, update (with its per-field
authorization), delete, members, policies, and a group's policies applying to its members."""

import re
import uuid

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from iam.models import Group, GroupMembership, Policy, PolicyAttachment, SubAccount
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policy_create
from iam.services.sub_accounts import sub_account_create
from tests.conftest import make_sub_account

URL = "/api/v1/groups"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"  # NCP_ADMINISTRATOR
VIEWER = "00000000-0000-4000-8000-000000000005"  # NCP_SUB_ACCOUNT_VIEWER
LIST_FIELDS = {"groupId", "groupName", "nrn", "description", "tags", "createTime", "modifiedTime"}


def _url(group, suffix: str = "") -> str:
    return f"{URL}/{group.group_id}{suffix}"


def _group(tenant, name: str, **fields) -> Group:
    return group_create(account=tenant.account, name=name, **fields)


def _sub(tenant, login_id: str) -> SubAccount:
    sub, _ = sub_account_create(
        account=tenant.account,
        login_id=login_id,
        name=login_id[:30],
        email=f"{login_id}@example.com",
        can_console_access=False,
    )
    return sub


def _policy(tenant, name: str, actions) -> Policy:
    return policy_create(
        account=tenant.account,
        name=name,
        permissions=[
            {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": ["*"]}]}
        ],
    )


def _fields(response) -> list[str]:
    return [e["field"] for e in response.json()["fieldErrors"]]


def _error(response, status: int, field: str | None = None, code: int | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"errorCode", "message", "fieldErrors"}
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert any(f == field or f.startswith(field + ".") for f in _fields(response)), body
    if code is not None:
        assert body["errorCode"] == code
    return body


def _denied(response, action: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["errorCode"] == "210"
    assert error["message"] == "Permission Denied"
    assert action in error["details"]


def _ok(response, object_id) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(object_id)}


def _row(group) -> dict:
    return model_to_dict(Group.objects.get(pk=group.pk))


def _members(group) -> set[str]:
    return {m.login_id for m in Group.objects.get(pk=group.pk).members.all()}


# Create ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_returns_process_result_and_stores_the_group(api, tenant):
    body = {"groupName": "dev-team", "description": "Developers", "tags": {"team": "infra", "env": ""}}
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    result = response.json()
    assert set(result) == {"success", "id"}
    assert result["success"] is True
    row = Group.objects.get(group_id=uuid.UUID(result["id"]))
    assert row.account == tenant.account
    assert (row.name, row.description, row.tags) == ("dev-team", "Developers", {"team": "infra", "env": ""})
    assert list(row.members.all()) == []


@pytest.mark.django_db
def test_create_with_only_a_name_has_empty_description_and_tags(api, tenant):
    response = api.call("POST", URL, {"groupName": "ops"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    row = Group.objects.get(group_id=response.json()["id"])
    assert (row.name, row.description, row.tags) == ("ops", "", {})


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["abc", "x" * 30, "팀 이름 세글자"])
def test_create_accepts_names_of_3_to_30_characters(api, tenant, name):
    response = api.call("POST", URL, {"groupName": name}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Group.objects.get(group_id=response.json()["id"]).name == name


INVALID_CREATES = [
    ("name too short", {"groupName": "ab"}, "groupName"),
    ("name too long", {"groupName": "x" * 31}, "groupName"),
    ("name empty", {"groupName": ""}, "groupName"),
    ("name missing", {"description": "no name"}, "groupName"),
    ("name null", {"groupName": None}, "groupName"),
    ("description too long", {"groupName": "okname", "description": "d" * 301}, "description"),
    ("too many tags", {"groupName": "okname", "tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
    ("tag key too long", {"groupName": "okname", "tags": {"k" * 129: "v"}}, "tags"),
    ("empty tag key", {"groupName": "okname", "tags": {"": "v"}}, "tags"),
    ("tag value too long", {"groupName": "okname", "tags": {"k": "v" * 129}}, "tags"),
    ("tag value null", {"groupName": "okname", "tags": {"k": None}}, "tags"),
    ("tag value object", {"groupName": "okname", "tags": {"k": {"a": "b"}}}, "tags"),
    ("tags not an object", {"groupName": "okname", "tags": ["a", "b"]}, "tags"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [c[1:] for c in INVALID_CREATES], ids=[c[0] for c in INVALID_CREATES])
def test_create_rejects_bad_input_and_writes_nothing(api, tenant, body, field):
    response = api.call("POST", URL, body, creds=tenant.root)
    body = _error(response, 400, field, 9000)
    assert Group.objects.count() == 0


@pytest.mark.django_db
def test_create_rejects_a_body_that_is_not_an_object(api, tenant):
    response = api.call("POST", URL, [{"groupName": "dev-team"}], creds=tenant.root)
    assert response.status_code == 400, response.content
    assert Group.objects.count() == 0


@pytest.mark.django_db
def test_create_accepts_20_tags_of_maximum_length(api, tenant):
    tags = {f"{i:02d}" + "k" * 126: "v" * 128 for i in range(20)}
    response = api.call("POST", URL, {"groupName": "tagged", "tags": tags}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Group.objects.get(group_id=response.json()["id"]).tags == tags


@pytest.mark.django_db
def test_create_duplicate_name_conflicts_and_writes_nothing(api, tenant):
    existing = _group(tenant, "dev-team", description="first")
    response = api.call("POST", URL, {"groupName": "dev-team", "description": "second"}, creds=tenant.root)
    body = _error(response, 409, "groupName", 9011)
    assert "already in use" in body["message"]
    assert list(Group.objects.values_list("pk", flat=True)) == [existing.pk]
    assert Group.objects.get(pk=existing.pk).description == "first"


@pytest.mark.django_db
def test_the_same_name_may_be_used_by_another_account(api, tenant, other_tenant):
    _group(other_tenant, "dev-team")
    response = api.call("POST", URL, {"groupName": "dev-team"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Group.objects.filter(name="dev-team").count() == 2


@pytest.mark.django_db
def test_group_limit_is_enforced_and_writes_nothing(api, tenant, other_tenant, settings):
    settings.IAM_MAX_GROUPS = 3
    _group(other_tenant, "theirs-1")
    _group(other_tenant, "theirs-2")  # another account's groups do not count
    for i in range(3):
        assert api.call("POST", URL, {"groupName": f"group-{i}"}, creds=tenant.root).status_code == 200
    response = api.call("POST", URL, {"groupName": "group-3"}, creds=tenant.root)
    body = _error(response, 409, code=9012)
    assert "3" in body["message"]
    assert Group.objects.filter(account=tenant.account).count() == 3
    assert not Group.objects.filter(name="group-3").exists()

    # Deleting one makes room again.
    api.call("DELETE", _url(Group.objects.get(name="group-0")), creds=tenant.root)
    assert api.call("POST", URL, {"groupName": "group-3"}, creds=tenant.root).status_code == 200
    assert Group.objects.filter(account=tenant.account).count() == 3


# List --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_is_paginated_in_the_wire_shape(api, tenant):
    for i in range(12):
        _group(tenant, f"group-{i:02d}")
    response = api.call("GET", f"{URL}?page=1&size=5", creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "page": 1,
        "totalPages": 3,
        "totalItems": 12,
        "hasPrevious": True,
        "hasNext": True,
        "isFirst": False,
        "isLast": False,
    }
    assert [g["groupName"] for g in body["items"]] == [f"group-{i:02d}" for i in range(5, 10)]

    last = api.call("GET", f"{URL}?page=2&size=5", creds=tenant.root).json()
    assert [g["groupName"] for g in last["items"]] == ["group-10", "group-11"]
    assert (last["isLast"], last["hasNext"], last["hasPrevious"]) == (True, False, True)

    first = api.call("GET", URL, creds=tenant.root).json()
    assert (first["page"], first["totalPages"], first["isFirst"], first["hasPrevious"]) == (0, 2, True, False)
    assert len(first["items"]) == 10  # default size


@pytest.mark.django_db
def test_list_of_no_groups_is_empty(api, tenant):
    body = api.call("GET", URL, creds=tenant.root).json()
    assert body["totalItems"] == 0
    assert body["items"] == []


@pytest.mark.django_db
def test_list_items_carry_the_group_fields(api, tenant):
    group = _group(tenant, "dev-team", description="Developers", tags={"team": "infra"})
    response = api.call("GET", URL, creds=tenant.root)
    (item,) = response.json()["items"]
    assert set(item) == LIST_FIELDS
    assert item["groupId"] == str(group.group_id)
    assert item["groupName"] == "dev-team"
    assert item["nrn"] == f"nrn:PUB:IAM::2942:Group/{group.group_id}"
    assert item["description"] == "Developers"
    assert item["tags"] == {"team": "infra"}
    assert TIME_RE.match(item["createTime"]) and TIME_RE.match(item["modifiedTime"])


@pytest.mark.django_db
def test_list_searches_by_group_name_or_description(api, tenant):
    _group(tenant, "Dev-Backend", description="servers")
    _group(tenant, "dev-frontend", description="web")
    _group(tenant, "finance", description="dev budget")
    body = api.call("GET", f"{URL}?searchColumn=groupName&searchWord=DEV", creds=tenant.root).json()
    assert body["totalItems"] == 2
    assert sorted(g["groupName"] for g in body["items"]) == ["Dev-Backend", "dev-frontend"]

    body = api.call("GET", f"{URL}?searchColumn=description&searchWord=budget", creds=tenant.root).json()
    assert [g["groupName"] for g in body["items"]] == ["finance"]

    body = api.call("GET", f"{URL}?searchColumn=groupName&searchWord=nothing-like-this", creds=tenant.root).json()
    assert (body["totalItems"], body["items"]) == (0, [])


@pytest.mark.django_db
def test_list_rejects_an_unknown_search_column(api, tenant):
    _group(tenant, "dev-team")
    response = api.call("GET", f"{URL}?searchColumn=nrn&searchWord=dev", creds=tenant.root)
    _error(response, 400, "searchColumn", 9000)


@pytest.mark.django_db
@pytest.mark.parametrize("query, field", [("page=-1", "page"), ("size=0", "size"), ("size=abc", "size")])
def test_list_rejects_bad_paging(api, tenant, query, field):
    _error(api.call("GET", f"{URL}?{query}", creds=tenant.root), 400, field, 9000)


@pytest.mark.django_db
def test_list_shows_only_the_callers_groups(api, tenant, other_tenant):
    mine = _group(tenant, "mine")
    _group(other_tenant, "theirs")
    _group(other_tenant, "mine")  # same name elsewhere
    body = api.call("GET", URL, creds=tenant.root).json()
    assert body["totalItems"] == 1
    assert [g["groupId"] for g in body["items"]] == [str(mine.group_id)]
    body = api.call("GET", f"{URL}?searchColumn=groupName&searchWord=theirs", creds=tenant.root).json()
    assert body["items"] == []


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_groups(api, tenant, django_assert_max_num_queries):
    for i in range(3):
        _group(tenant, f"group-{i:02d}", tags={"n": str(i)})
    with CaptureQueriesContext(connection) as small:
        response = api.call("GET", f"{URL}?size=100", creds=tenant.root)
    assert len(response.json()["items"]) == 3
    for i in range(3, 15):
        group = _group(tenant, f"group-{i:02d}", tags={"n": str(i)})
        group_members_add(group=group, sub_account_ids=[str(_sub(tenant, f"member{i}").sub_account_id)])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api.call("GET", f"{URL}?size=100", creds=tenant.root)
    assert len(response.json()["items"]) == 15


# Detail ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_of_a_new_group(api, tenant):
    group = _group(tenant, "dev-team", description="Developers", tags={"team": "infra"})
    response = api.call("GET", _url(group), creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == LIST_FIELDS | {"subAccounts", "policies"}
    assert body["nrn"] == f"nrn:PUB:IAM::2942:Group/{group.group_id}"
    assert (body["groupId"], body["groupName"]) == (str(group.group_id), "dev-team")
    assert (body["description"], body["tags"]) == ("Developers", {"team": "infra"})
    assert body["subAccounts"] == []
    assert body["policies"] == []


@pytest.mark.django_db
def test_detail_lists_members_and_policies_added_through_the_api(api, tenant):
    group = _group(tenant, "dev-team")
    alice, bob = _sub(tenant, "alice"), _sub(tenant, "bob")
    policy = _policy(tenant, "group-reader", ["View/getGroupList"])
    ids = [str(alice.sub_account_id), str(bob.sub_account_id)]
    _ok(api.call("POST", _url(group, "/sub-accounts"), {"subAccountIdList": ids}, creds=tenant.root), group.group_id)
    _ok(
        api.call("POST", _url(group, "/policies"), {"policyIdList": [policy.policy_id, VIEWER]}, creds=tenant.root),
        group.group_id,
    )
    body = api.call("GET", _url(group), creds=tenant.root).json()
    assert sorted(body["subAccounts"], key=lambda s: s["loginId"]) == [
        {"subAccountId": str(alice.sub_account_id), "loginId": "alice", "name": "alice"},
        {"subAccountId": str(bob.sub_account_id), "loginId": "bob", "name": "bob"},
    ]
    assert sorted(body["policies"], key=lambda p: p["policyName"]) == [
        {"policyId": VIEWER, "policyName": "NCP_SUB_ACCOUNT_VIEWER", "policyType": "SYSTEM_MANAGED"},
        {"policyId": policy.policy_id, "policyName": "group-reader", "policyType": "USER_CREATED"},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("group_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_detail_of_an_unknown_group_is_not_found(api, tenant, group_id):
    _group(tenant, "dev-team")
    _error(api.call("GET", f"{URL}/{group_id}", creds=tenant.root), 404, code=30)


# Update ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rename_changes_only_the_name(api, tenant):
    group = _group(tenant, "dev-team", description="Developers", tags={"team": "infra"})
    _ok(api.call("PUT", _url(group), {"groupName": "platform"}, creds=tenant.root), group.group_id)
    row = Group.objects.get(pk=group.pk)
    assert (row.name, row.description, row.tags) == ("platform", "Developers", {"team": "infra"})
    assert api.call("GET", _url(group), creds=tenant.root).json()["groupName"] == "platform"


@pytest.mark.django_db
def test_rename_to_its_own_name_is_allowed(api, tenant):
    group = _group(tenant, "dev-team")
    _ok(api.call("PUT", _url(group), {"groupName": "dev-team"}, creds=tenant.root), group.group_id)
    assert Group.objects.get(pk=group.pk).name == "dev-team"


@pytest.mark.django_db
def test_rename_to_a_taken_name_conflicts_and_changes_nothing(api, tenant):
    _group(tenant, "ops")
    group = _group(tenant, "dev-team", description="Developers")
    before = _row(group)
    response = api.call("PUT", _url(group), {"groupName": "ops", "description": "changed"}, creds=tenant.root)
    _error(response, 409, "groupName", 9011)
    assert _row(group) == before


@pytest.mark.django_db
def test_rename_to_a_name_used_in_another_account_is_allowed(api, tenant, other_tenant):
    _group(other_tenant, "ops")
    group = _group(tenant, "dev-team")
    _ok(api.call("PUT", _url(group), {"groupName": "ops"}, creds=tenant.root), group.group_id)
    assert Group.objects.get(pk=group.pk).name == "ops"


@pytest.mark.django_db
def test_update_description_and_clear_it(api, tenant):
    group = _group(tenant, "dev-team", description="old", tags={"a": "1"})
    _ok(api.call("PUT", _url(group), {"description": "new text"}, creds=tenant.root), group.group_id)
    assert (Group.objects.get(pk=group.pk).description, Group.objects.get(pk=group.pk).name) == ("new text", "dev-team")
    _ok(api.call("PUT", _url(group), {"description": ""}, creds=tenant.root), group.group_id)
    row = Group.objects.get(pk=group.pk)
    assert (row.description, row.tags) == ("", {"a": "1"})


@pytest.mark.django_db
def test_update_tags_replaces_them(api, tenant):
    group = _group(tenant, "dev-team", description="keep", tags={"a": "1", "b": "2"})
    _ok(api.call("PUT", _url(group), {"tags": {"c": "3"}}, creds=tenant.root), group.group_id)
    row = Group.objects.get(pk=group.pk)
    assert (row.tags, row.description) == ({"c": "3"}, "keep")
    _ok(api.call("PUT", _url(group), {"tags": {}}, creds=tenant.root), group.group_id)
    assert Group.objects.get(pk=group.pk).tags == {}


INVALID_UPDATES = [
    ("name too short", {"groupName": "ab"}, "groupName"),
    ("name too long", {"groupName": "x" * 31}, "groupName"),
    ("name empty", {"groupName": ""}, "groupName"),
    ("description too long", {"description": "d" * 301}, "description"),
    ("description null", {"description": None}, "description"),
    ("too many tags", {"tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
    ("tag value too long", {"tags": {"k": "v" * 129}}, "tags"),
    ("valid name, bad tags", {"groupName": "renamed", "tags": {"k" * 129: "v"}}, "tags"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [c[1:] for c in INVALID_UPDATES], ids=[c[0] for c in INVALID_UPDATES])
def test_update_rejects_bad_input_and_changes_nothing(api, tenant, body, field):
    group = _group(tenant, "dev-team", description="Developers", tags={"team": "infra"})
    before = _row(group)
    _error(api.call("PUT", _url(group), body, creds=tenant.root), 400, field, 9000)
    assert _row(group) == before


@pytest.mark.django_db
def test_update_of_an_unknown_group_is_not_found(api, tenant):
    _error(api.call("PUT", f"{URL}/{uuid.uuid4()}", {"groupName": "renamed"}, creds=tenant.root), 404, code=30)
    assert Group.objects.count() == 0


@pytest.mark.django_db
def test_tags_only_update_needs_tag_group(api, tenant):
    group = _group(tenant, "dev-team", description="old", tags={"a": "1"})
    _, updater = make_sub_account(tenant, "updater", actions=["Change/updateGroup"])
    before = _row(group)
    _denied(api.call("PUT", _url(group), {"tags": {"b": "2"}}, creds=updater), "Change/tagGroup")
    # A body with both kinds of change needs both actions.
    _denied(api.call("PUT", _url(group), {"description": "x", "tags": {"b": "2"}}, creds=updater), "Change/tagGroup")
    assert _row(group) == before
    _ok(api.call("PUT", _url(group), {"description": "new"}, creds=updater), group.group_id)
    assert Group.objects.get(pk=group.pk).description == "new"


@pytest.mark.django_db
def test_tag_group_alone_may_change_tags_but_nothing_else(api, tenant):
    group = _group(tenant, "dev-team", description="old", tags={"a": "1"})
    _, tagger = make_sub_account(tenant, "tagger", actions=["Change/tagGroup"])
    _denied(api.call("PUT", _url(group), {"description": "new"}, creds=tagger), "Change/updateGroup")
    _denied(api.call("PUT", _url(group), {"groupName": "renamed"}, creds=tagger), "Change/updateGroup")
    assert Group.objects.get(pk=group.pk).description == "old"
    # PUT replaces the whole map: dropping tag "a" is an untag, which the tagger may not do.
    _denied(api.call("PUT", _url(group), {"tags": {"b": "2"}}, creds=tagger), "Change/untagGroup")
    assert Group.objects.get(pk=group.pk).tags == {"a": "1"}
    _ok(api.call("PUT", _url(group), {"tags": {"a": "1", "b": "2"}}, creds=tagger), group.group_id)
    row = Group.objects.get(pk=group.pk)
    assert (row.tags, row.name, row.description) == ({"a": "1", "b": "2"}, "dev-team", "old")


@pytest.mark.django_db
def test_untag_group_alone_may_only_drop_tags(api, tenant):
    group = _group(tenant, "dev-team", tags={"a": "1", "b": "2"})
    _, untagger = make_sub_account(tenant, "untagger", actions=["Change/untagGroup"])
    _denied(api.call("PUT", _url(group), {"tags": {"a": "changed"}}, creds=untagger), "Change/tagGroup")
    _ok(api.call("PUT", _url(group), {"tags": {"a": "1"}}, creds=untagger), group.group_id)
    assert Group.objects.get(pk=group.pk).tags == {"a": "1"}


@pytest.mark.django_db
def test_update_permission_can_be_limited_to_one_group_by_nrn(api, tenant):
    allowed, other = _group(tenant, "allowed"), _group(tenant, "other")
    policy = policy_create(
        account=tenant.account,
        name="one-group",
        permissions=[
            {
                "effect": "Allow",
                "targets": [
                    {"product": "SubAccount", "actions": ["Change/updateGroup"], "resourceNrns": [allowed.nrn]}
                ],
            }
        ],
    )
    _, creds = make_sub_account(tenant, "scoped", policy_ids=[policy.policy_id])
    _ok(api.call("PUT", _url(allowed), {"description": "yes"}, creds=creds), allowed.group_id)
    _denied(api.call("PUT", _url(other), {"description": "no"}, creds=creds), "Change/updateGroup")
    assert Group.objects.get(pk=other.pk).description == ""


# Delete ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_removes_the_group_its_memberships_and_attachments_only(api, tenant):
    group = _group(tenant, "dev-team")
    keep = _group(tenant, "keep")
    alice, bob = _sub(tenant, "alice"), _sub(tenant, "bob")
    group_members_add(group=group, sub_account_ids=[str(alice.sub_account_id), str(bob.sub_account_id)])
    group_members_add(group=keep, sub_account_ids=[str(alice.sub_account_id)])
    policy = _policy(tenant, "reader", ["View/getGroupList"])
    policies_attach(target=group, policy_ids=[policy.policy_id, VIEWER])
    policies_attach(target=alice, policy_ids=[policy.policy_id])

    _ok(api.call("DELETE", _url(group), creds=tenant.root), group.group_id)

    assert not Group.objects.filter(pk=group.pk).exists()
    assert set(SubAccount.objects.filter(account=tenant.account).values_list("login_id", flat=True)) == {"alice", "bob"}
    assert not GroupMembership.objects.filter(group_id=group.pk).exists()
    assert list(GroupMembership.objects.values_list("group__name", "sub_account__login_id")) == [("keep", "alice")]
    assert not PolicyAttachment.objects.filter(group_id=group.pk).exists()
    assert list(PolicyAttachment.objects.values_list("policy__name", "sub_account__login_id")) == [("reader", "alice")]
    assert Policy.objects.filter(pk=policy.pk).exists()
    _error(api.call("GET", _url(group), creds=tenant.root), 404, code=30)


@pytest.mark.django_db
def test_delete_of_an_unknown_group_is_not_found(api, tenant):
    group = _group(tenant, "dev-team")
    _error(api.call("DELETE", f"{URL}/{uuid.uuid4()}", creds=tenant.root), 404, code=30)
    assert Group.objects.filter(pk=group.pk).exists()


# Members -----------------------------------------------------------------------------------------------------


def _ids(*subs) -> dict:
    return {"subAccountIdList": [str(s.sub_account_id) for s in subs]}


@pytest.mark.django_db
def test_add_and_remove_members(api, tenant):
    group = _group(tenant, "dev-team")
    alice, bob, carol = _sub(tenant, "alice"), _sub(tenant, "bob"), _sub(tenant, "carol")
    _ok(api.call("POST", _url(group, "/sub-accounts"), _ids(alice, bob), creds=tenant.root), group.group_id)
    assert _members(group) == {"alice", "bob"}

    # Adding again is harmless: no second membership.
    _ok(api.call("POST", _url(group, "/sub-accounts"), _ids(bob, carol), creds=tenant.root), group.group_id)
    assert _members(group) == {"alice", "bob", "carol"}
    assert GroupMembership.objects.filter(group=group).count() == 3

    _ok(api.call("DELETE", _url(group, "/sub-accounts"), _ids(alice, carol), creds=tenant.root), group.group_id)
    assert _members(group) == {"bob"}
    assert SubAccount.objects.filter(account=tenant.account).count() == 3  # removed members stay sub accounts

    # Removing a sub account that is not a member changes nothing.
    _ok(api.call("DELETE", _url(group, "/sub-accounts"), _ids(alice), creds=tenant.root), group.group_id)
    assert _members(group) == {"bob"}


@pytest.mark.django_db
def test_members_are_found_by_an_upper_case_id(api, tenant):
    group = _group(tenant, "dev-team")
    alice = _sub(tenant, "alice")
    body = {"subAccountIdList": [str(alice.sub_account_id).upper()]}
    _ok(api.call("POST", _url(group, "/sub-accounts"), body, creds=tenant.root), group.group_id)
    assert _members(group) == {"alice"}
    # The same id in two spellings is one member.
    other = _group(tenant, "other-team")
    twice = {"subAccountIdList": [str(alice.sub_account_id), alice.sub_account_id.hex.upper()]}
    _ok(api.call("POST", _url(other, "/sub-accounts"), twice, creds=tenant.root), other.group_id)
    assert GroupMembership.objects.filter(group=other).count() == 1
    _ok(api.call("DELETE", _url(group, "/sub-accounts"), body, creds=tenant.root), group.group_id)
    assert _members(group) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_members_with_an_unknown_or_foreign_id_are_not_found_and_nothing_changes(api, tenant, other_tenant, method):
    group = _group(tenant, "dev-team")
    alice, bob = _sub(tenant, "alice"), _sub(tenant, "bob")
    group_members_add(group=group, sub_account_ids=[str(bob.sub_account_id)])
    stranger = _sub(other_tenant, "stranger")
    for bad in (str(uuid.uuid4()), str(stranger.sub_account_id), "not-a-uuid"):
        body = {"subAccountIdList": [str(alice.sub_account_id), str(bob.sub_account_id), bad]}
        response = api.call(method, _url(group, "/sub-accounts"), body, creds=tenant.root)
        error = _error(response, 404, "subAccountIdList", 30)
        assert bad in error["message"]
        assert _members(group) == {"bob"}
    assert GroupMembership.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"subAccountIdList": []}, {}, {"subAccountIdList": "abc"}], ids=["empty", "missing", "not a list"]
)
def test_members_need_a_list_of_ids(api, tenant, body):
    group = _group(tenant, "dev-team")
    _error(api.call("POST", _url(group, "/sub-accounts"), body, creds=tenant.root), 400, "subAccountIdList", 9000)
    assert GroupMembership.objects.count() == 0


@pytest.mark.django_db
def test_members_of_an_unknown_group_are_not_found(api, tenant):
    alice = _sub(tenant, "alice")
    _error(api.call("POST", f"{URL}/{uuid.uuid4()}/sub-accounts", _ids(alice), creds=tenant.root), 404, code=30)
    assert GroupMembership.objects.count() == 0


@pytest.mark.django_db
def test_a_sub_account_belongs_to_a_limited_number_of_groups(api, tenant, settings):
    settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT = 2
    first, second, third = _group(tenant, "first"), _group(tenant, "second"), _group(tenant, "third")
    full, fresh = _sub(tenant, "full"), _sub(tenant, "fresh")
    for group in (first, second):
        group_members_add(group=group, sub_account_ids=[str(full.sub_account_id)])

    response = api.call("POST", _url(third, "/sub-accounts"), _ids(fresh, full), creds=tenant.root)
    body = _error(response, 409, code=9012)
    assert "full" in body["message"] and "2" in body["message"]
    # All or nothing: the sub account that had room was not added either.
    assert _members(third) == set()
    assert GroupMembership.objects.filter(sub_account=full).count() == 2

    # Re-adding to a group it is already in does not count against the limit.
    _ok(api.call("POST", _url(first, "/sub-accounts"), _ids(full, fresh), creds=tenant.root), first.group_id)
    assert _members(first) == {"full", "fresh"}
    # After leaving one group there is room again.
    api.call("DELETE", _url(second, "/sub-accounts"), _ids(full), creds=tenant.root)
    _ok(api.call("POST", _url(third, "/sub-accounts"), _ids(full), creds=tenant.root), third.group_id)
    assert set(GroupMembership.objects.filter(sub_account=full).values_list("group__name", flat=True)) == {
        "first",
        "third",
    }


# Policies ----------------------------------------------------------------------------------------------------


def _attached(group) -> set[str]:
    return set(PolicyAttachment.objects.filter(group=group).values_list("policy__policy_id", flat=True))


@pytest.mark.django_db
def test_attach_and_detach_policies(api, tenant):
    group = _group(tenant, "dev-team")
    mine = _policy(tenant, "reader", ["View/getGroupList"])
    url = _url(group, "/policies")
    _ok(api.call("POST", url, {"policyIdList": [mine.policy_id, ADMINISTRATOR]}, creds=tenant.root), group.group_id)
    assert _attached(group) == {mine.policy_id, ADMINISTRATOR}
    assert PolicyAttachment.objects.get(group=group, policy=mine).account == tenant.account

    # Attaching again keeps one attachment.
    _ok(api.call("POST", url, {"policyIdList": [mine.policy_id]}, creds=tenant.root), group.group_id)
    assert PolicyAttachment.objects.filter(group=group).count() == 2

    _ok(api.call("DELETE", url, {"policyIdList": [ADMINISTRATOR]}, creds=tenant.root), group.group_id)
    assert _attached(group) == {mine.policy_id}
    assert Policy.objects.filter(policy_id=ADMINISTRATOR).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_policies_unknown_or_foreign_are_not_found_and_nothing_changes(api, tenant, other_tenant, method):
    group = _group(tenant, "dev-team")
    mine = _policy(tenant, "reader", ["View/getGroupList"])
    policies_attach(target=group, policy_ids=[VIEWER])
    theirs = _policy(other_tenant, "theirs", ["View/getGroupList"])
    for bad in ("no-such-policy", theirs.policy_id):
        body = {"policyIdList": [mine.policy_id, VIEWER, bad]}
        error = _error(api.call(method, _url(group, "/policies"), body, creds=tenant.root), 404, "policyIdList", 30)
        assert bad in error["message"]
        assert _attached(group) == {VIEWER}


@pytest.mark.django_db
def test_policies_need_a_list_of_ids(api, tenant):
    group = _group(tenant, "dev-team")
    _error(api.call("POST", _url(group, "/policies"), {"policyIdList": []}, creds=tenant.root), 400, "policyIdList")
    assert PolicyAttachment.objects.count() == 0


# A group's policies apply to its members ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_group_policy_grants_its_members_access_until_they_leave(api, tenant):
    group = _group(tenant, "readers")
    policies_attach(target=group, policy_ids=[_policy(tenant, "list-groups", ["View/getGroupList"]).policy_id])
    member, creds = make_sub_account(tenant, "member")

    _denied(api.call("GET", URL, creds=creds), "View/getGroupList")

    _ok(api.call("POST", _url(group, "/sub-accounts"), _ids(member), creds=tenant.root), group.group_id)
    response = api.call("GET", URL, creds=creds)
    assert response.status_code == 200, response.content
    assert [g["groupName"] for g in response.json()["items"]] == ["readers"]
    # Only what the policy allows: creating a group is still denied.
    _denied(api.call("POST", URL, {"groupName": "mine"}, creds=creds), "Change/createGroup")
    assert Group.objects.count() == 1

    _ok(api.call("DELETE", _url(group, "/sub-accounts"), _ids(member), creds=tenant.root), group.group_id)
    _denied(api.call("GET", URL, creds=creds), "View/getGroupList")


@pytest.mark.django_db
def test_detaching_or_deleting_the_group_takes_the_access_away(api, tenant):
    group = _group(tenant, "readers")
    policy = _policy(tenant, "list-groups", ["View/getGroupList"])
    policies_attach(target=group, policy_ids=[policy.policy_id])
    member, creds = make_sub_account(tenant, "member")
    group_members_add(group=group, sub_account_ids=[str(member.sub_account_id)])
    assert api.call("GET", URL, creds=creds).status_code == 200

    api.call("DELETE", _url(group, "/policies"), {"policyIdList": [policy.policy_id]}, creds=tenant.root)
    _denied(api.call("GET", URL, creds=creds), "View/getGroupList")

    policies_attach(target=group, policy_ids=[policy.policy_id])
    assert api.call("GET", URL, creds=creds).status_code == 200
    _ok(api.call("DELETE", _url(group), creds=tenant.root), group.group_id)
    _denied(api.call("GET", URL, creds=creds), "View/getGroupList")

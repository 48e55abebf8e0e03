"""The role endpoints: create (types, session expiry, names), list, detail, update (the type stays), delete and
policies."""

import re

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from iam.models import Policy, PolicyAttachment, Role
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account

URL = "/api/v1/roles"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"  # NCP_ADMINISTRATOR
LIST_FIELDS = {
    "nrn",
    "roleNo",
    "roleName",
    "roleType",
    "sessionExpirationSec",
    "descCont",
    "active",
    "tags",
    "createTime",
    "modifiedTime",
    "lastUseTime",
}


def _url(role, suffix: str = "") -> str:
    return f"{URL}/{role.role_no}{suffix}"


def _role(tenant, name: str, role_type: str = "Server", **fields) -> Role:
    return role_create(account=tenant.account, name=name, role_type=role_type, **fields)


def _policy(tenant, name: str) -> Policy:
    return policy_create(
        account=tenant.account,
        name=name,
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": ["View/getRoleList"], "resourceNrns": ["*"]}],
            }
        ],
    )


def _error(response, status: int, field: str | None = None, code: int | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"errorCode", "message", "fieldErrors"}
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert field in [e["field"] for e in body["fieldErrors"]], body
    if code is not None:
        assert body["errorCode"] == code
    return body


def _ok(response, role) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": role.role_no}


def _denied(response, action: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert (error["errorCode"], error["message"]) == ("210", "Permission Denied")
    assert action in error["details"]


def _row(role) -> dict:
    return model_to_dict(Role.objects.get(pk=role.pk))


# Create ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role_type", ["Server", "Service"])
def test_create_server_and_service_roles(api, tenant, role_type):
    body = {"roleName": f"{role_type.lower()}-role", "roleType": role_type, "descCont": "for jobs", "tags": {"a": "b"}}
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    result = response.json()
    assert set(result) == {"success", "id"} and result["success"] is True
    row = Role.objects.get(role_no=result["id"])
    assert row.account == tenant.account
    assert (row.name, row.role_type, row.description, row.tags) == (body["roleName"], role_type, "for jobs", {"a": "b"})
    assert row.session_expiration_sec is None
    assert row.active is True
    assert row.last_use_time is None


@pytest.mark.django_db
def test_create_account_role_defaults_to_an_hour(api, tenant):
    response = api.call("POST", URL, {"roleName": "switcher", "roleType": "Account"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    row = Role.objects.get(role_no=response.json()["id"])
    assert (row.role_type, row.session_expiration_sec, row.description, row.tags) == ("Account", 3600, "", {})


@pytest.mark.django_db
@pytest.mark.parametrize("seconds", [600, 1800, 3600, 10800])
def test_create_account_role_with_each_allowed_expiry(api, tenant, seconds):
    body = {"roleName": "switcher", "roleType": "Account", "sessionExpirationSec": seconds}
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Role.objects.get(role_no=response.json()["id"]).session_expiration_sec == seconds


@pytest.mark.django_db
@pytest.mark.parametrize("role_type", ["Server", "Service"])
def test_create_other_roles_accept_a_null_expiry(api, tenant, role_type):
    body = {"roleName": "no-expiry", "roleType": role_type, "sessionExpirationSec": None}
    response = api.call("POST", URL, body, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Role.objects.get(role_no=response.json()["id"]).session_expiration_sec is None


INVALID_CREATES = [
    ("single sign-on", {"roleType": "SingleSignOn"}, "roleType"),
    ("unknown type", {"roleType": "User"}, "roleType"),
    ("type in lower case", {"roleType": "server"}, "roleType"),
    ("type missing", {"roleType": None}, "roleType"),
    ("account role, 900 s", {"roleType": "Account", "sessionExpirationSec": 900}, "sessionExpirationSec"),
    ("account role, 0 s", {"roleType": "Account", "sessionExpirationSec": 0}, "sessionExpirationSec"),
    ("account role, 43200 s", {"roleType": "Account", "sessionExpirationSec": 43200}, "sessionExpirationSec"),
    ("account role, text", {"roleType": "Account", "sessionExpirationSec": "long"}, "sessionExpirationSec"),
    ("server role with expiry", {"roleType": "Server", "sessionExpirationSec": 3600}, "sessionExpirationSec"),
    ("service role with expiry", {"roleType": "Service", "sessionExpirationSec": 600}, "sessionExpirationSec"),
    ("name too short", {"roleName": "ab"}, "roleName"),
    ("name too long", {"roleName": "r" * 101}, "roleName"),
    ("name empty", {"roleName": ""}, "roleName"),
    ("name missing", {"roleName": None}, "roleName"),
    ("description too long", {"descCont": "d" * 1001}, "descCont"),
    ("too many tags", {"tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("changes, field", [c[1:] for c in INVALID_CREATES], ids=[c[0] for c in INVALID_CREATES])
def test_create_rejects_bad_input_and_writes_nothing(api, tenant, changes, field):
    body = {"roleName": "a-role", "roleType": "Server", **changes}
    body = {k: v for k, v in body.items() if v is not None or k == "sessionExpirationSec"}
    _error(api.call("POST", URL, body, creds=tenant.root), 400, field, 9000)
    assert Role.objects.count() == 0


@pytest.mark.django_db
def test_single_sign_on_roles_are_refused_with_a_reason(api, tenant):
    body = _error(api.call("POST", URL, {"roleName": "sso", "roleType": "SingleSignOn"}, creds=tenant.root), 400)
    assert "Single Sign-On" in body["message"]
    assert Role.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["abc", "r" * 100])
def test_create_accepts_names_of_3_to_100_characters(api, tenant, name):
    response = api.call("POST", URL, {"roleName": name, "roleType": "Server"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert Role.objects.get(role_no=response.json()["id"]).name == name


@pytest.mark.django_db
def test_create_duplicate_name_conflicts_and_writes_nothing(api, tenant, other_tenant):
    existing = _role(tenant, "deployer")
    _role(other_tenant, "builder")
    body = _error(
        api.call("POST", URL, {"roleName": "deployer", "roleType": "Account"}, creds=tenant.root),
        409,
        "roleName",
        9011,
    )
    assert "already in use" in body["message"]
    assert list(Role.objects.filter(account=tenant.account).values_list("pk", flat=True)) == [existing.pk]
    # A name used by another account is free here.
    assert api.call("POST", URL, {"roleName": "builder", "roleType": "Server"}, creds=tenant.root).status_code == 200


@pytest.mark.django_db
def test_role_limit(api, tenant, settings):
    settings.IAM_MAX_ROLES = 2
    _role(tenant, "one")
    _role(tenant, "two")
    _error(api.call("POST", URL, {"roleName": "three", "roleType": "Server"}, creds=tenant.root), 409, code=9012)
    assert Role.objects.count() == 2


# List --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_is_paginated_in_the_wire_shape(api, tenant):
    for i in range(7):
        _role(tenant, f"role-{i}")
    body = api.call("GET", f"{URL}?page=1&size=3", creds=tenant.root).json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "page": 1,
        "totalPages": 3,
        "totalItems": 7,
        "hasPrevious": True,
        "hasNext": True,
        "isFirst": False,
        "isLast": False,
    }
    assert [r["roleName"] for r in body["items"]] == ["role-3", "role-4", "role-5"]


@pytest.mark.django_db
def test_list_items_carry_the_role_fields(api, tenant):
    role = _role(tenant, "switcher", "Account", session_expiration_sec=1800, description="d", tags={"t": "1"})
    (item,) = api.call("GET", URL, creds=tenant.root).json()["items"]
    assert set(item) == LIST_FIELDS
    assert item["nrn"] == f"nrn:PUB:IAM::2942:Role/{role.role_no}"
    assert (item["roleNo"], item["roleName"], item["roleType"]) == (role.role_no, "switcher", "Account")
    assert (item["sessionExpirationSec"], item["descCont"], item["active"], item["tags"]) == (
        1800,
        "d",
        True,
        {"t": "1"},
    )
    assert TIME_RE.match(item["createTime"]) and TIME_RE.match(item["modifiedTime"])
    assert item["lastUseTime"] is None


@pytest.mark.django_db
def test_list_searches_by_role_name_and_filters_by_type(api, tenant, other_tenant):
    _role(tenant, "Deploy-server")
    _role(tenant, "deploy-account", "Account")
    _role(tenant, "backup", "Service")
    _role(other_tenant, "deploy-theirs")
    body = api.call("GET", f"{URL}?searchColumn=roleName&searchWord=DEPLOY", creds=tenant.root).json()
    assert sorted(r["roleName"] for r in body["items"]) == ["Deploy-server", "deploy-account"]
    assert body["totalItems"] == 2

    body = api.call("GET", f"{URL}?roleType=Account", creds=tenant.root).json()
    assert [r["roleName"] for r in body["items"]] == ["deploy-account"]

    body = api.call("GET", f"{URL}?roleType=Server&searchColumn=roleName&searchWord=deploy", creds=tenant.root).json()
    assert [r["roleName"] for r in body["items"]] == ["Deploy-server"]

    body = api.call("GET", URL, creds=tenant.root).json()
    assert body["totalItems"] == 3  # not the other account's role


@pytest.mark.django_db
def test_list_rejects_an_unknown_type_filter_or_search_column(api, tenant):
    _role(tenant, "deployer")
    response = api.call("GET", f"{URL}?roleType=Robot", creds=tenant.root)
    assert response.status_code == 400, response.content
    assert "roleType" in [e["field"] for e in response.json()["fieldErrors"]]
    _error(api.call("GET", f"{URL}?searchColumn=descCont&searchWord=x", creds=tenant.root), 400, "searchColumn")


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_roles(api, tenant, django_assert_max_num_queries):
    for i in range(3):
        _role(tenant, f"role-{i:02d}")
    with CaptureQueriesContext(connection) as small:
        assert len(api.call("GET", f"{URL}?size=100", creds=tenant.root).json()["items"]) == 3
    for i in range(3, 15):
        policies_attach(target=_role(tenant, f"role-{i:02d}"), policy_ids=[ADMINISTRATOR])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.call("GET", f"{URL}?size=100", creds=tenant.root).json()["items"]) == 15


# Detail ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_shows_the_role_and_its_policies(api, tenant):
    role = _role(tenant, "switcher", "Account", description="switch in")
    response = api.call("GET", _url(role), creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == LIST_FIELDS | {"policies"}
    assert body["nrn"] == f"nrn:PUB:IAM::2942:Role/{role.role_no}"
    assert (body["roleNo"], body["roleName"], body["roleType"]) == (role.role_no, "switcher", "Account")
    assert (body["sessionExpirationSec"], body["descCont"], body["active"]) == (3600, "switch in", True)
    assert TIME_RE.match(body["createTime"]) and TIME_RE.match(body["modifiedTime"])
    assert body["lastUseTime"] is None
    assert body["policies"] == []

    mine = _policy(tenant, "role-reader")
    _ok(
        api.call("POST", _url(role, "/policies"), {"policyIdList": [ADMINISTRATOR, mine.policy_id]}, creds=tenant.root),
        role,
    )
    body = api.call("GET", _url(role), creds=tenant.root).json()
    assert sorted(body["policies"], key=lambda p: p["policyName"]) == [
        {"policyId": ADMINISTRATOR, "policyName": "NCP_ADMINISTRATOR", "policyType": "SYSTEM_MANAGED"},
        {"policyId": mine.policy_id, "policyName": "role-reader", "policyType": "USER_CREATED"},
    ]


@pytest.mark.django_db
def test_detail_of_an_unknown_role_is_not_found(api, tenant):
    _role(tenant, "deployer")
    _error(api.call("GET", f"{URL}/no-such-role", creds=tenant.root), 404, code=30)


# Update ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_description_name_and_active(api, tenant):
    role = _role(tenant, "deployer", description="old", tags={"a": "1"})
    _ok(api.call("PUT", _url(role), {"descCont": "new"}, creds=tenant.root), role)
    row = Role.objects.get(pk=role.pk)
    assert (row.description, row.name, row.active, row.tags) == ("new", "deployer", True, {"a": "1"})

    _ok(api.call("PUT", _url(role), {"roleName": "releaser", "active": False}, creds=tenant.root), role)
    row = Role.objects.get(pk=role.pk)
    assert (row.name, row.active, row.description, row.role_type) == ("releaser", False, "new", "Server")
    assert api.call("GET", _url(role), creds=tenant.root).json()["active"] is False

    _ok(api.call("PUT", _url(role), {"active": True, "tags": {"b": "2"}}, creds=tenant.root), role)
    row = Role.objects.get(pk=role.pk)
    assert (row.active, row.tags) == (True, {"b": "2"})


@pytest.mark.django_db
def test_update_session_expiry_of_an_account_role(api, tenant):
    role = _role(tenant, "switcher", "Account")
    _ok(api.call("PUT", _url(role), {"sessionExpirationSec": 10800}, creds=tenant.root), role)
    assert Role.objects.get(pk=role.pk).session_expiration_sec == 10800


@pytest.mark.django_db
def test_update_with_the_same_role_type_is_accepted(api, tenant):
    role = _role(tenant, "switcher", "Account")
    _ok(api.call("PUT", _url(role), {"roleType": "Account", "descCont": "echoed"}, creds=tenant.root), role)
    row = Role.objects.get(pk=role.pk)
    assert (row.role_type, row.description) == ("Account", "echoed")


INVALID_UPDATES = [
    ("another type", "Account", {"roleType": "Server"}, "roleType"),
    ("another type with other changes", "Server", {"roleType": "Account", "descCont": "x"}, "roleType"),
    ("single sign-on type", "Server", {"roleType": "SingleSignOn"}, "roleType"),
    ("unknown type", "Server", {"roleType": "Robot"}, "roleType"),
    ("expiry not allowed", "Account", {"sessionExpirationSec": 7200}, "sessionExpirationSec"),
    ("expiry null on account role", "Account", {"sessionExpirationSec": None}, "sessionExpirationSec"),
    ("expiry on server role", "Server", {"sessionExpirationSec": 3600}, "sessionExpirationSec"),
    ("name too short", "Server", {"roleName": "ab"}, "roleName"),
    ("name too long", "Server", {"roleName": "r" * 101}, "roleName"),
    ("active not a boolean", "Server", {"active": "sometimes"}, "active"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role_type, body, field", [c[1:] for c in INVALID_UPDATES], ids=[c[0] for c in INVALID_UPDATES]
)
def test_update_rejects_bad_input_and_changes_nothing(api, tenant, role_type, body, field):
    role = _role(tenant, "a-role", role_type, description="keep")
    before = _row(role)
    _error(api.call("PUT", _url(role), body, creds=tenant.root), 400, field, 9000)
    assert _row(role) == before


@pytest.mark.django_db
def test_rename_to_a_taken_name_conflicts_and_changes_nothing(api, tenant):
    _role(tenant, "taken")
    role = _role(tenant, "deployer", description="keep")
    before = _row(role)
    _error(
        api.call("PUT", _url(role), {"roleName": "taken", "descCont": "x"}, creds=tenant.root), 409, "roleName", 9011
    )
    assert _row(role) == before
    _ok(api.call("PUT", _url(role), {"roleName": "deployer"}, creds=tenant.root), role)  # its own name


@pytest.mark.django_db
def test_tags_only_update_needs_tag_role(api, tenant):
    role = _role(tenant, "deployer", tags={"a": "1"})
    _, updater = make_sub_account(tenant, "updater", actions=["Change/updateRole"])
    _denied(api.call("PUT", _url(role), {"tags": {"b": "2"}}, creds=updater), "Change/tagRole")
    assert Role.objects.get(pk=role.pk).tags == {"a": "1"}
    _ok(api.call("PUT", _url(role), {"descCont": "ok"}, creds=updater), role)
    assert Role.objects.get(pk=role.pk).description == "ok"


@pytest.mark.django_db
def test_update_of_an_unknown_role_is_not_found(api, tenant):
    _error(api.call("PUT", f"{URL}/no-such-role", {"descCont": "x"}, creds=tenant.root), 404, code=30)


# Delete ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_removes_the_role_and_its_attachments_but_not_the_policies(api, tenant):
    role, keep = _role(tenant, "deployer"), _role(tenant, "keep")
    mine = _policy(tenant, "role-reader")
    policies_attach(target=role, policy_ids=[mine.policy_id, ADMINISTRATOR])
    policies_attach(target=keep, policy_ids=[mine.policy_id])
    _ok(api.call("DELETE", _url(role), creds=tenant.root), role)
    assert not Role.objects.filter(pk=role.pk).exists()
    assert not PolicyAttachment.objects.filter(role_id=role.pk).exists()
    assert list(PolicyAttachment.objects.values_list("role__name", "policy__name")) == [("keep", "role-reader")]
    assert Policy.objects.filter(pk=mine.pk).exists()
    _error(api.call("GET", _url(role), creds=tenant.root), 404, code=30)
    _error(api.call("DELETE", _url(role), creds=tenant.root), 404, code=30)


# Policies ----------------------------------------------------------------------------------------------------


def _attached(role) -> set[str]:
    return set(PolicyAttachment.objects.filter(role=role).values_list("policy__policy_id", flat=True))


@pytest.mark.django_db
def test_attach_and_detach_policies(api, tenant):
    role = _role(tenant, "deployer")
    mine = _policy(tenant, "role-reader")
    url = _url(role, "/policies")
    _ok(api.call("POST", url, {"policyIdList": [mine.policy_id, ADMINISTRATOR]}, creds=tenant.root), role)
    assert _attached(role) == {mine.policy_id, ADMINISTRATOR}
    _ok(api.call("POST", url, {"policyIdList": [ADMINISTRATOR]}, creds=tenant.root), role)
    assert PolicyAttachment.objects.filter(role=role).count() == 2
    _ok(api.call("DELETE", url, {"policyIdList": [mine.policy_id]}, creds=tenant.root), role)
    assert _attached(role) == {ADMINISTRATOR}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_policies_unknown_or_foreign_are_not_found_and_nothing_changes(api, tenant, other_tenant, method):
    role = _role(tenant, "deployer")
    policies_attach(target=role, policy_ids=[ADMINISTRATOR])
    mine, theirs = _policy(tenant, "mine"), _policy(other_tenant, "theirs")
    for bad in ("no-such-policy", theirs.policy_id):
        body = {"policyIdList": [mine.policy_id, ADMINISTRATOR, bad]}
        error = _error(api.call(method, _url(role, "/policies"), body, creds=tenant.root), 404, "policyIdList", 30)
        assert bad in error["message"]
        assert _attached(role) == {ADMINISTRATOR}


@pytest.mark.django_db
def test_policies_need_a_list_of_ids(api, tenant):
    role = _role(tenant, "deployer")
    _error(api.call("POST", _url(role, "/policies"), {"policyIdList": []}, creds=tenant.root), 400, "policyIdList")
    _error(api.call("POST", _url(role, "/policies"), {}, creds=tenant.root), 400, "policyIdList")
    assert PolicyAttachment.objects.count() == 0

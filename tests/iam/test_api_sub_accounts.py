"""The sub account endpoints: create, list, detail, update (with its per-field authorization), delete, password and
MFA resets, groups and policies from the sub account's side, and the join checks."""

import re
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from iam.gateway.authentication import REFUSED
from iam.models import AccessKey, Group, GroupMembership, PolicyAttachment, SubAccount
from iam.services.groups import group_create, group_members_add, group_members_remove
from iam.services.policies import policies_attach, policy_create
from iam.services.sub_accounts import sub_account_create
from iam.services.validation import password_problems
from tests.conftest import make_sub_account

URL = "/api/v1/sub-accounts"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
VIEWER = "00000000-0000-4000-8000-000000000005"  # NCP_SUB_ACCOUNT_VIEWER
MANAGER = "00000000-0000-4000-8000-000000000004"  # NCP_SUB_ACCOUNT_MANAGER

FULL_BODY = {
    "loginId": "alice.w@dev-1",
    "name": "Alice W",
    "email": "alice@example.com",
    "memo": "on call in March",
    "canAPIGatewayAccess": True,
    "canConsoleAccess": True,
    "useConsolePermitIp": True,
    "consolePermitIps": ["10.0.0.1", "192.168.1.7/24"],
    "useApiAllowSource": True,
    "apiAllowSources": [{"type": "IP", "source": "10.1.2.3"}, {"type": "VPC", "source": "1234"}],
    "needPasswordReset": True,
    "isMfaMandatory": True,
    "password": "Str0ng!Pass",
    "tags": {"team": "infra", "env": ""},
}
NORMALIZED_IPS = ["10.0.0.1", "192.168.1.0/24"]
NORMALIZED_SOURCES = [{"type": "IP", "source": "10.1.2.3/32"}, {"type": "VPC", "source": "1234"}]


def _url(sub) -> str:
    return f"{URL}/{sub.sub_account_id}"


def _body(**changes) -> dict:
    body = {"loginId": "bobby", "name": "Bobby", "email": "bobby@example.com", "canConsoleAccess": False}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _plain(tenant, login_id: str, **fields) -> SubAccount:
    """A sub account without keys or policies (no console password); ``fields`` are then set on the row."""
    sub, _ = sub_account_create(
        account=tenant.account,
        login_id=login_id,
        name=login_id[:30],
        email=f"{login_id}@ex.com",
        can_console_access=False,
    )
    if fields:
        SubAccount.objects.filter(pk=sub.pk).update(**fields)
        sub.refresh_from_db()
    return sub


def _field_names(response) -> list[str]:
    return [e["field"] for e in response.json()["fieldErrors"]]


def _denied(response, action: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["errorCode"] == "210"
    assert error["message"] == "Permission Denied"
    assert action in error["details"]


def _auth_failed(response, details: str) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["errorCode"] == "200"
    assert details in response.json()["error"]["details"]


def _row(sub) -> dict:
    return model_to_dict(SubAccount.objects.get(pk=sub.pk))


def _policy(tenant, name, actions, resources=("*",), effect="Allow"):
    return policy_create(
        account=tenant.account,
        name=name,
        permissions=[
            {
                "effect": effect,
                "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": list(resources)}],
            }
        ],
    )


# Create ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_stores_every_field_as_sent(api, tenant):
    response = api.call("POST", URL, FULL_BODY, creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "id"}
    assert body["success"] is True
    row = SubAccount.objects.get(sub_account_id=uuid.UUID(body["id"]))
    assert row.account == tenant.account
    assert row.login_id == "alice.w@dev-1"
    assert row.name == "Alice W"
    assert row.email == "alice@example.com"
    assert row.memo == "on call in March"
    assert row.active is True
    assert row.can_api_gateway_access is True
    assert row.can_console_access is True
    assert row.use_console_permit_ip is True
    assert row.console_permit_ips == NORMALIZED_IPS
    assert row.use_api_allow_source is True
    assert row.api_allow_sources == NORMALIZED_SOURCES
    assert row.need_password_reset is True
    assert row.is_mfa_mandatory is True
    assert row.tags == {"team": "infra", "env": ""}
    assert row.password != "Str0ng!Pass"
    assert check_password("Str0ng!Pass", row.password)
    assert "Str0ng!Pass" not in response.content.decode()


@pytest.mark.django_db
def test_create_defaults_and_false_flags(api, tenant):
    response = api.call(
        "POST",
        URL,
        _body(canAPIGatewayAccess=False, needPasswordReset=False, isMfaMandatory=False, active=False),
        creds=tenant.root,
    )
    assert response.status_code == 200, response.content
    row = SubAccount.objects.get(sub_account_id=response.json()["id"])
    assert (row.active, row.can_api_gateway_access, row.can_console_access) == (False, False, False)
    assert (row.need_password_reset, row.is_mfa_mandatory, row.use_api_allow_source) == (False, False, False)
    assert (row.memo, row.tags, row.console_permit_ips, row.api_allow_sources) == ("", {}, [], [])
    assert not row.password  # no console access, no password


@pytest.mark.django_db
def test_create_with_generated_password(api, tenant):
    response = api.call(
        "POST", URL, _body(canConsoleAccess=True, needPasswordGenerate=True, needPasswordReset=False), creds=tenant.root
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "id", "generatedPassword"}
    generated = body["generatedPassword"]
    assert password_problems(generated, login_id="bobby") == []
    row = SubAccount.objects.get(sub_account_id=body["id"])
    assert row.password != generated
    assert generated not in row.password
    assert check_password(generated, row.password)
    assert row.need_password_reset is True  # a generated password must be changed at first sign-in


@pytest.mark.django_db
def test_generated_password_meets_a_raised_minimum_length(api, tenant):
    tenant.account.password_min_length = 16
    tenant.account.save()
    response = api.call("POST", URL, _body(canConsoleAccess=True, needPasswordGenerate=True), creds=tenant.root)
    assert response.status_code == 200, response.content
    generated = response.json()["generatedPassword"]
    assert len(generated) == 16
    assert password_problems(generated, min_length=16, login_id="bobby") == []


@pytest.mark.django_db
def test_create_accepts_a_memo_of_exactly_300_bytes(api, tenant):
    response = api.call("POST", URL, _body(memo="가" * 100), creds=tenant.root)  # 100 chars, 300 bytes
    assert response.status_code == 200, response.content
    assert SubAccount.objects.get(sub_account_id=response.json()["id"]).memo == "가" * 100


@pytest.mark.django_db
@pytest.mark.parametrize("login_id", ["abc", "Z" + "a" * 59, "a.b@c_d-e", "User01"])
def test_create_accepts_valid_login_ids(api, tenant, login_id):
    response = api.call("POST", URL, _body(loginId=login_id), creds=tenant.root)
    assert response.status_code == 200, response.content
    assert SubAccount.objects.get(sub_account_id=response.json()["id"]).login_id == login_id


INVALID_CREATES = [
    ("login id too short", {"loginId": "ab"}, "loginId"),
    ("login id too long", {"loginId": "a" * 61}, "loginId"),
    ("login id starts with a digit", {"loginId": "1abc"}, "loginId"),
    ("login id starts with a dot", {"loginId": ".abc"}, "loginId"),
    ("login id with a space", {"loginId": "ab cd"}, "loginId"),
    ("login id with a bad character", {"loginId": "ab#cd"}, "loginId"),
    ("login id with a non-ascii letter", {"loginId": "abcé"}, "loginId"),
    ("login id missing", {"loginId": None}, "loginId"),
    ("name too short", {"name": "A"}, "name"),
    ("name too long", {"name": "n" * 31}, "name"),
    ("name missing", {"name": None}, "name"),
    ("email too short", {"email": "a@b.c"}, "email"),
    ("email too long", {"email": "e" * 95 + "@x.com"}, "email"),
    ("memo over 300 bytes in 101 characters", {"memo": "가" * 101}, "memo"),
    ("memo over 300 ascii characters", {"memo": "m" * 301}, "memo"),
    ("password too short", {"password": "Sh0rt!x"}, "password"),
    ("password too long", {"password": "Abcdefgh1!abcdefg"}, "password"),
    ("password without upper case", {"password": "lower1!case"}, "password"),
    ("password without lower case", {"password": "UPPER1!CASE"}, "password"),
    ("password without digit", {"password": "NoDigits!!"}, "password"),
    ("password without special", {"password": "NoSpecial12"}, "password"),
    ("password containing the login id", {"password": "xBOBBY1!z"}, "password"),
    ("console access without password", {"canConsoleAccess": True}, "password"),
    ("console access with empty password", {"canConsoleAccess": True, "password": ""}, "password"),
    ("21 tags", {"tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
    ("tag key of 129 characters", {"tags": {"k" * 129: "v"}}, "tags"),
    ("tag value of 129 characters", {"tags": {"k": "v" * 129}}, "tags"),
    ("tags not an object", {"tags": ["a"]}, "tags"),
    ("bad console ip", {"consolePermitIps": ["10.0.0.300"]}, "consolePermitIps[0]"),
    ("bad console cidr", {"consolePermitIps": ["10.0.0.1", "10.0.0.0/33"]}, "consolePermitIps[1]"),
    ("bad allow source type", {"apiAllowSources": [{"type": "DNS", "source": "x"}]}, "apiAllowSources[0].type"),
    ("bad allow source ip", {"apiAllowSources": [{"type": "IP", "source": "nope"}]}, "apiAllowSources[0].source"),
    ("non-numeric vpc", {"apiAllowSources": [{"type": "VPC", "source": "vpc-a"}]}, "apiAllowSources[0].source"),
    ("missing allow source", {"apiAllowSources": [{"type": "IP"}]}, "apiAllowSources[0].source"),
    ("flag not a boolean", {"canAPIGatewayAccess": "perhaps"}, "canAPIGatewayAccess"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "field"), [c[1:] for c in INVALID_CREATES], ids=[c[0] for c in INVALID_CREATES])
def test_create_rejects_invalid_input(api, tenant, changes, field):
    before = SubAccount.objects.count()
    response = api.call("POST", URL, _body(**changes), creds=tenant.root)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errorCode"] == 9000
    assert body["message"]
    names = _field_names(response)
    assert any(name == field or name.startswith(field + ".") for name in names), names
    assert SubAccount.objects.count() == before


@pytest.mark.django_db
def test_password_error_never_echoes_the_password(api, tenant):
    response = api.call("POST", URL, _body(password="xBOBBY1!z"), creds=tenant.root)
    assert response.status_code == 400
    assert "xBOBBY1!z" not in response.content.decode()
    assert "login ID" in response.json()["fieldErrors"][0]["message"]


@pytest.mark.django_db
def test_create_with_a_taken_login_id_is_a_conflict(api, tenant, other_tenant):
    _plain(tenant, "Bobby")
    _plain(other_tenant, "carol")
    before = SubAccount.objects.count()
    response = api.call("POST", URL, _body(loginId="bOBBY"), creds=tenant.root)
    assert response.status_code == 409, response.content
    assert response.json()["errorCode"] == 9011
    assert _field_names(response) == ["loginId"]
    assert SubAccount.objects.count() == before
    # Login IDs are unique within an account only.
    response = api.call("POST", URL, _body(loginId="carol"), creds=tenant.root)
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_create_beyond_the_sub_account_limit_is_refused(api, tenant, other_tenant, settings):
    settings.IAM_MAX_SUB_ACCOUNTS = 3
    for login_id in ("one", "two"):
        _plain(tenant, login_id)
    for login_id in ("xx1", "xx2", "xx3"):
        _plain(other_tenant, login_id)  # another account's sub accounts do not count
    assert api.call("POST", URL, _body(loginId="three"), creds=tenant.root).status_code == 200
    response = api.call("POST", URL, _body(loginId="four"), creds=tenant.root)
    assert response.status_code == 409, response.content
    assert response.json()["errorCode"] == 9012
    assert "3" in response.json()["message"]
    assert SubAccount.objects.for_account(tenant.account).count() == 3
    assert not SubAccount.objects.filter(login_id="four").exists()


# List --------------------------------------------------------------------------------------------------------


def _many(tenant, count: int, start: int = 0) -> list[SubAccount]:
    return [_plain(tenant, f"user{i:02d}") for i in range(start, start + count)]


LIST_KEYS = {
    "subAccountId", "subAccountNo", "nrn", "loginId", "name", "email", "memo", "active", "canAPIGatewayAccess",
    "canConsoleAccess", "useConsolePermitIp", "consolePermitIps", "useApiAllowSource", "apiAllowSources",
    "needPasswordReset", "isMfaMandatory", "hasMfa", "tags", "createTime", "modifiedTime", "lastLoginTime",
}  # fmt: skip


@pytest.mark.django_db
def test_list_default_page(api, tenant):
    subs = _many(tenant, 3)
    response = api.call("GET", URL, creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "page": 0,
        "totalPages": 1,
        "totalItems": 3,
        "hasPrevious": False,
        "hasNext": False,
        "isFirst": True,
        "isLast": True,
    }
    assert [i["loginId"] for i in body["items"]] == ["user00", "user01", "user02"]
    item = body["items"][0]
    assert set(item) == LIST_KEYS
    assert item["subAccountId"] == str(subs[0].sub_account_id)
    assert item["subAccountNo"] == subs[0].sub_account_no
    assert item["nrn"] == f"nrn:PUB:IAM::2942:SubAccount/{subs[0].sub_account_id}"
    assert TIME_RE.match(item["createTime"]) and TIME_RE.match(item["modifiedTime"])
    assert "password" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected", "names"),
    [
        (
            "page=1&size=2",
            {"page": 1, "totalPages": 3, "totalItems": 5, "hasPrevious": True, "hasNext": True},
            ["user02", "user03"],
        ),
        (
            "page=2&size=2",
            {"page": 2, "totalPages": 3, "totalItems": 5, "hasPrevious": True, "hasNext": False},
            ["user04"],
        ),
        (
            "page=0&size=2",
            {"page": 0, "totalPages": 3, "totalItems": 5, "hasPrevious": False, "hasNext": True},
            ["user00", "user01"],
        ),
        (
            "size=5",
            {"page": 0, "totalPages": 1, "totalItems": 5, "hasPrevious": False, "hasNext": False},
            ["user00", "user01", "user02", "user03", "user04"],
        ),
        ("page=7&size=2", {"page": 7, "totalPages": 3, "totalItems": 5, "hasPrevious": True, "hasNext": False}, []),
    ],
)
def test_list_pagination_math(api, tenant, query, expected, names):
    _many(tenant, 5)
    body = api.call("GET", f"{URL}?{query}", creds=tenant.root).json()
    assert {k: body[k] for k in expected} == expected
    assert body["isFirst"] is (expected["page"] == 0)
    assert body["isLast"] is (not expected["hasNext"])
    assert [i["loginId"] for i in body["items"]] == names


@pytest.mark.django_db
def test_list_of_an_empty_account(api, tenant):
    body = api.call("GET", URL, creds=tenant.root).json()
    assert body["items"] == [] and body["totalItems"] == 0 and body["totalPages"] == 0
    assert body["hasNext"] is False and body["hasPrevious"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [("page=-1", "page"), ("page=abc", "page"), ("size=0", "size"), ("size=101", "size"), ("size=x", "size")],
)
def test_list_rejects_bad_page_parameters(api, tenant, query, field):
    response = api.call("GET", f"{URL}?{query}", creds=tenant.root)
    assert response.status_code == 400, response.content
    assert _field_names(response) == [field]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "word", "names"),
    [
        ("loginId", "ALI", ["alice", "malia"]),
        ("name", "smith", ["bob"]),
        ("email", "corp.example", ["malia"]),
        ("loginId", "nobody", []),
    ],
)
def test_list_search(api, tenant, other_tenant, column, word, names):
    for login_id, name, email in (
        ("alice", "Alice Jones", "alice@example.com"),
        ("bob", "Bob Smith", "bob@example.com"),
        ("malia", "Malia", "malia@corp.example.com"),
    ):
        sub_account_create(account=tenant.account, login_id=login_id, name=name, email=email, can_console_access=False)
    sub_account_create(
        account=other_tenant.account, login_id="alison", name="Alison Smith", email="a@corp.example.com",
        can_console_access=False,
    )  # fmt: skip
    body = api.call("GET", f"{URL}?{urlencode({'searchColumn': column, 'searchWord': word})}", creds=tenant.root).json()
    assert sorted(i["loginId"] for i in body["items"]) == names
    assert body["totalItems"] == len(names)


@pytest.mark.django_db
def test_list_search_with_an_unknown_column_is_refused(api, tenant):
    response = api.call("GET", f"{URL}?searchColumn=password&searchWord=x", creds=tenant.root)
    assert response.status_code == 400, response.content
    assert _field_names(response) == ["searchColumn"]
    assert "loginId" in response.json()["fieldErrors"][0]["message"]


@pytest.mark.django_db
def test_list_filters(api, tenant):
    _plain(tenant, "on1", can_api_gateway_access=True)
    _plain(tenant, "off1", active=False)
    _plain(tenant, "off2", active=False, can_api_gateway_access=True)
    _plain(tenant, "plain")

    def names(query):
        response = api.call("GET", f"{URL}?{query}", creds=tenant.root)
        assert response.status_code == 200, response.content
        return [i["loginId"] for i in response.json()["items"]]

    assert names("active=false") == ["off1", "off2"]
    assert names("active=true") == ["on1", "plain"]
    assert names("canAPIGatewayAccess=true") == ["on1", "off2"]
    assert names("canAPIGatewayAccess=false") == ["off1", "plain"]
    assert names("active=true&canAPIGatewayAccess=true") == ["on1"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["active=maybe", "canAPIGatewayAccess=2", "canConsoleAccess=yes"])
def test_a_bad_filter_value_is_a_400_not_an_unfiltered_list(api, tenant, query):
    _plain(tenant, "off1", active=False)
    response = api.call("GET", f"{URL}?{query}", creds=tenant.root)
    assert response.status_code == 400
    assert _field_names(response) == [query.split("=")[0]]


@pytest.mark.django_db
def test_list_filtered_by_group(api, tenant):
    a, _, c = _plain(tenant, "aaa"), _plain(tenant, "bbb"), _plain(tenant, "ccc")
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(c.sub_account_id), str(a.sub_account_id)])
    body = api.call("GET", f"{URL}?groupId={group.group_id}", creds=tenant.root).json()
    assert [i["loginId"] for i in body["items"]] == ["aaa", "ccc"] and body["totalItems"] == 2
    body = api.call("GET", f"{URL}?groupId={uuid.uuid4()}", creds=tenant.root).json()
    assert body["items"] == [] and body["totalItems"] == 0
    response = api.call("GET", f"{URL}?groupId=nope", creds=tenant.root)
    assert response.status_code == 400
    assert _field_names(response) == ["groupId"]


@pytest.mark.django_db
def test_list_never_shows_another_accounts_sub_accounts(api, tenant, other_tenant):
    _plain(tenant, "mine")
    _plain(other_tenant, "theirs")
    _plain(other_tenant, "theirs2")
    body = api.call("GET", URL, creds=tenant.root).json()
    assert [i["loginId"] for i in body["items"]] == ["mine"]
    assert body["totalItems"] == 1
    body = api.call("GET", URL, creds=other_tenant.root).json()
    assert [i["loginId"] for i in body["items"]] == ["theirs", "theirs2"]


@pytest.mark.django_db
def test_list_runs_a_constant_number_of_queries(api, tenant, django_assert_max_num_queries):
    for sub in _many(tenant, 3):
        sub.tags = {"a": "b"}
        sub.save()
    api.call("GET", f"{URL}?size=50", creds=tenant.root)  # the key's first use is written once, then not again
    with CaptureQueriesContext(connection) as few:
        response = api.call("GET", f"{URL}?size=50", creds=tenant.root)
    assert len(response.json()["items"]) == 3
    _many(tenant, 12, start=3)
    with django_assert_max_num_queries(len(few)) as many:
        response = api.call("GET", f"{URL}?size=50", creds=tenant.root)
    assert len(response.json()["items"]) == 15
    assert len(many) == len(few)


# Detail ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_has_every_field_groups_and_policies(api, tenant):
    created = api.call("POST", URL, FULL_BODY, creds=tenant.root).json()
    sub = SubAccount.objects.get(sub_account_id=created["id"])
    group = group_create(account=tenant.account, name="ops")
    group_members_add(group=group, sub_account_ids=[created["id"]])
    own = _policy(tenant, "readers", ["View/getGroupList"])
    policies_attach(target=sub, policy_ids=[own.policy_id, VIEWER])

    response = api.call("GET", f"{URL}/{created['id']}", creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    for key in ("createTime", "modifiedTime"):
        assert TIME_RE.match(body.pop(key)), key
    assert body == {
        "subAccountId": created["id"],
        "subAccountNo": sub.sub_account_no,
        "nrn": f"nrn:PUB:IAM::2942:SubAccount/{created['id']}",
        "loginId": "alice.w@dev-1",
        "name": "Alice W",
        "email": "alice@example.com",
        "memo": "on call in March",
        "active": True,
        "canAPIGatewayAccess": True,
        "canConsoleAccess": True,
        "useConsolePermitIp": True,
        "consolePermitIps": NORMALIZED_IPS,
        "useApiAllowSource": True,
        "apiAllowSources": NORMALIZED_SOURCES,
        "needPasswordReset": True,
        "isMfaMandatory": True,
        "hasMfa": False,
        "tags": {"team": "infra", "env": ""},
        "lastLoginTime": None,
        "groups": [{"groupId": str(group.group_id), "groupName": "ops"}],
        "policies": [
            {"policyId": own.policy_id, "policyName": "readers", "policyType": "USER_CREATED"},
            {"policyId": VIEWER, "policyName": "NCP_SUB_ACCOUNT_VIEWER", "policyType": "SYSTEM_MANAGED"},
        ],
    }


@pytest.mark.django_db
def test_detail_last_login_time_format(api, tenant):
    sub = _plain(tenant, "seen")
    SubAccount.objects.filter(pk=sub.pk).update(last_login_time="2026-11-27T13:21:00.123456Z")
    body = api.call("GET", _url(sub), creds=tenant.root).json()
    assert body["lastLoginTime"] == "2026-11-27T13:21:00Z"
    assert body["groups"] == [] and body["policies"] == []


# Update ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_changes_only_the_fields_sent(api, tenant):
    sub = _plain(tenant, "target", memo="old memo")
    before = _row(sub)
    changes = {
        "name": "New Name",
        "email": "new@example.com",
        "memo": "가" * 100,
        "canConsoleAccess": True,
        "useConsolePermitIp": True,
        "consolePermitIps": ["172.16.0.9/12"],
        "needPasswordReset": True,
        "isMfaMandatory": True,
        "tags": {"k": "v"},
    }
    response = api.call("PUT", _url(sub), changes, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    after = _row(sub)
    assert after["name"] == "New Name"
    assert after["email"] == "new@example.com"
    assert after["memo"] == "가" * 100
    assert after["can_console_access"] is True
    assert after["use_console_permit_ip"] is True
    assert after["console_permit_ips"] == ["172.16.0.0/12"]
    assert after["need_password_reset"] is True and after["is_mfa_mandatory"] is True
    assert after["tags"] == {"k": "v"}
    unchanged = {"login_id", "active", "can_api_gateway_access", "use_api_allow_source", "api_allow_sources"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


@pytest.mark.django_db
def test_update_with_an_empty_body_changes_nothing(api, tenant):
    sub = _plain(tenant, "target")
    before = _row(sub)
    response = api.call("PUT", _url(sub), {}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert _row(sub) == before


@pytest.mark.django_db
def test_suspending_stops_the_sub_accounts_own_keys_at_once(api, tenant):
    sub, creds = make_sub_account(tenant, "worker", policy_ids=[VIEWER])
    assert api.call("GET", URL, creds=creds).status_code == 200

    response = api.call("PUT", _url(sub), {"active": False}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert SubAccount.objects.get(pk=sub.pk).active is False
    for method, uri in (("GET", URL), ("GET", _url(sub)), ("GET", "/api/v1/groups")):
        response = api.call(method, uri, creds=creds)
        _auth_failed(response, "sub account is suspended")
        assert response.json()["error"]["details"] == "sub account is suspended"
    assert api.call("GET", f"{URL}?active=false", creds=tenant.root).json()["items"][0]["loginId"] == "worker"

    response = api.call("PUT", _url(sub), {"active": True}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert api.call("GET", URL, creds=creds).status_code == 200


@pytest.mark.django_db
def test_turning_off_api_gateway_access_stops_its_keys(api, tenant):
    sub, creds = make_sub_account(tenant, "worker", policy_ids=[VIEWER])
    assert api.call("PUT", _url(sub), {"canAPIGatewayAccess": False}, creds=tenant.root).status_code == 200
    _auth_failed(api.call("GET", URL, creds=creds), "canAPIGatewayAccess")
    assert api.call("PUT", _url(sub), {"canAPIGatewayAccess": True}, creds=tenant.root).status_code == 200
    assert api.call("GET", URL, creds=creds).status_code == 200


@pytest.mark.django_db
def test_api_allow_sources_restrict_where_its_keys_work(api, tenant):
    sub, creds = make_sub_account(tenant, "worker", policy_ids=[VIEWER])
    elsewhere = {"useApiAllowSource": True, "apiAllowSources": [{"type": "IP", "source": "10.0.0.0/8"}]}
    assert api.call("PUT", _url(sub), elsewhere, creds=tenant.root).status_code == 200
    _auth_failed(api.call("GET", URL, creds=creds), "allow sources")

    vpc_only = {"apiAllowSources": [{"type": "VPC", "source": "127"}]}
    assert api.call("PUT", _url(sub), vpc_only, creds=tenant.root).status_code == 200
    _auth_failed(api.call("GET", URL, creds=creds), "allow sources")

    here = {"apiAllowSources": [{"type": "IP", "source": "10.0.0.0/8"}, {"type": "IP", "source": "127.0.0.0/24"}]}
    assert api.call("PUT", _url(sub), here, creds=tenant.root).status_code == 200
    assert api.call("GET", URL, creds=creds).status_code == 200

    # With the setting off, the list is kept but not enforced.
    assert api.call("PUT", _url(sub), elsewhere | {"useApiAllowSource": False}, creds=tenant.root).status_code == 200
    assert api.call("GET", URL, creds=creds).status_code == 200
    assert SubAccount.objects.get(pk=sub.pk).api_allow_sources == [{"type": "IP", "source": "10.0.0.0/8"}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"loginId": "renamed"}, "loginId"),
        ({"name": "Fine", "loginId": "renamed"}, "loginId"),
        ({"password": "Str0ng!Pass"}, "password"),
        ({"needPasswordGenerate": True}, "needPasswordGenerate"),
    ],
)
def test_update_refuses_fields_that_cannot_change_here(api, tenant, body, field):
    sub = _plain(tenant, "target")
    before = _row(sub)
    response = api.call("PUT", _url(sub), body, creds=tenant.root)
    assert response.status_code == 400, response.content
    assert field in _field_names(response)
    assert _row(sub) == before


INVALID_UPDATES = [
    ("name too short", {"name": "A"}, "name"),
    ("name too long", {"name": "n" * 31}, "name"),
    ("name null", {"name": None}, "name"),
    ("email too short", {"email": "a@b"}, "email"),
    ("memo over 300 bytes", {"memo": "é" * 151}, "memo"),
    ("21 tags", {"tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
    ("tag key too long", {"tags": {"k" * 129: "v"}}, "tags"),
    ("bad console ip", {"useConsolePermitIp": True, "consolePermitIps": ["300.1.1.1"]}, "consolePermitIps[0]"),
    ("bad source type", {"apiAllowSources": [{"type": "HOST", "source": "1"}]}, "apiAllowSources[0].type"),
    ("bad source ip", {"apiAllowSources": [{"type": "IP", "source": "1.2.3"}]}, "apiAllowSources[0].source"),
    ("active not boolean", {"active": "sometimes"}, "active"),
    ("valid and invalid together", {"name": "Valid Name", "email": "x"}, "email"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [c[1:] for c in INVALID_UPDATES], ids=[c[0] for c in INVALID_UPDATES])
def test_update_rejects_invalid_values_and_changes_nothing(api, tenant, body, field):
    sub = _plain(tenant, "target")
    before = _row(sub)
    response = api.call("PUT", _url(sub), body, creds=tenant.root)
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == 9000
    names = _field_names(response)
    assert any(name == field or name.startswith(field + ".") for name in names), names
    assert _row(sub) == before


@pytest.mark.django_db
def test_update_with_a_body_that_is_not_an_object(api, tenant):
    sub = _plain(tenant, "target")
    before = _row(sub)
    response = api.call("PUT", _url(sub), ["name", "x"], creds=tenant.root)
    assert response.status_code == 400
    assert _field_names(response) == ["body"]
    assert _row(sub) == before


# Update: which action each change needs -----------------------------------------------------------------------


@pytest.mark.django_db
def test_update_permission_alone_renames_but_cannot_suspend_or_set_sources(api, tenant):
    target = _plain(tenant, "target")
    _, updater = make_sub_account(tenant, "updater", actions=["Change/updateSubAccount"])

    response = api.call("PUT", _url(target), {"name": "Renamed", "isMfaMandatory": True}, creds=updater)
    assert response.status_code == 200, response.content
    assert SubAccount.objects.get(pk=target.pk).name == "Renamed"

    before = _row(target)
    _denied(api.call("PUT", _url(target), {"name": "Again", "active": False}, creds=updater), "suspendSubAccount")
    _denied(api.call("PUT", _url(target), {"active": True}, creds=updater), "suspendSubAccount")
    sources = {"apiAllowSources": [{"type": "IP", "source": "127.0.0.1"}]}
    _denied(api.call("PUT", _url(target), sources, creds=updater), "manageSubAccountAllowSourceSetting")
    _denied(
        api.call("PUT", _url(target), {"useApiAllowSource": True}, creds=updater), "manageSubAccountAllowSourceSetting"
    )
    _denied(
        api.call("PUT", _url(target), {"consolePermitIps": ["1.2.3.4"]}, creds=updater),
        "manageSubAccountAllowSourceSetting",
    )
    _denied(api.call("PUT", _url(target), {"tags": {"a": "b"}}, creds=updater), "tagSubAccount")
    assert _row(target) == before


@pytest.mark.django_db
def test_suspend_permission_alone_suspends_but_cannot_rename(api, tenant):
    target, target_creds = make_sub_account(tenant, "target", policy_ids=[VIEWER])
    _, suspender = make_sub_account(tenant, "suspender", actions=["Change/suspendSubAccount"])

    _denied(api.call("PUT", _url(target), {"name": "Renamed"}, creds=suspender), "updateSubAccount")
    _denied(api.call("PUT", _url(target), {"active": False, "name": "Renamed"}, creds=suspender), "updateSubAccount")
    assert SubAccount.objects.get(pk=target.pk).active is True

    response = api.call("PUT", _url(target), {"active": False}, creds=suspender)
    assert response.status_code == 200, response.content
    row = SubAccount.objects.get(pk=target.pk)
    assert (row.active, row.name) == (False, "target")
    _auth_failed(api.call("GET", URL, creds=target_creds), "sub account is suspended")


@pytest.mark.django_db
def test_allow_source_permission_sets_sources(api, tenant):
    target = _plain(tenant, "target")
    _, manager = make_sub_account(tenant, "netadmin", actions=["Change/manageSubAccountAllowSourceSetting"])
    body = {"useApiAllowSource": True, "apiAllowSources": [{"type": "IP", "source": "10.0.0.0/8"}]}
    response = api.call("PUT", _url(target), body, creds=manager)
    assert response.status_code == 200, response.content
    assert SubAccount.objects.get(pk=target.pk).api_allow_sources == [{"type": "IP", "source": "10.0.0.0/8"}]
    _denied(api.call("PUT", _url(target), body | {"memo": "x"}, creds=manager), "updateSubAccount")


@pytest.mark.django_db
def test_a_policy_on_one_sub_accounts_nrn_grants_that_one_only(api, tenant):
    one = _plain(tenant, "one")
    two = _plain(tenant, "two")
    policy = _policy(tenant, "onlyone", ["View/getSubAccountDetail"], resources=[one.nrn])
    _, reader = make_sub_account(tenant, "reader", policy_ids=[policy.policy_id])

    response = api.call("GET", _url(one), creds=reader)
    assert response.status_code == 200, response.content
    assert response.json()["loginId"] == "one"
    response = api.call("GET", _url(two), creds=reader)
    _denied(response, "View/getSubAccountDetail")
    assert two.nrn in response.json()["error"]["details"]
    # The same id written in another form names the same resource.
    assert api.call("GET", f"{URL}/{str(one.sub_account_id).upper()}", creds=reader).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", [str.upper, lambda s: s.replace("-", ""), lambda s: "{" + s + "}"])
def test_a_deny_on_an_nrn_cannot_be_dodged_by_spelling_the_id_differently(api, tenant, spelling):
    secret = _plain(tenant, "secret")
    other = _plain(tenant, "other")
    deny = _policy(tenant, "nosecret", ["View/getSubAccountDetail"], resources=[secret.nrn], effect="Deny")
    _, reader = make_sub_account(tenant, "reader", actions=["View/getSubAccountDetail"], policy_ids=[deny.policy_id])

    assert api.call("GET", _url(other), creds=reader).status_code == 200
    _denied(api.call("GET", _url(secret), creds=reader), "View/getSubAccountDetail")
    _denied(api.call("GET", f"{URL}/{spelling(str(secret.sub_account_id))}", creds=reader), "getSubAccountDetail")


@pytest.mark.django_db
def test_a_deny_in_a_group_policy_beats_a_direct_allow(api, tenant):
    target = _plain(tenant, "target")
    reader, creds = make_sub_account(tenant, "reader", actions=["View/getSubAccountDetail"])
    assert api.call("GET", _url(target), creds=creds).status_code == 200

    deny = _policy(tenant, "nodetail", ["View/getSubAccountDetail"], effect="Deny")
    group = group_create(account=tenant.account, name="restricted")
    group_members_add(group=group, sub_account_ids=[str(reader.sub_account_id)])
    policies_attach(target=group, policy_ids=[deny.policy_id])

    _denied(api.call("GET", _url(target), creds=creds), "View/getSubAccountDetail")
    # The list is not denied, and the allowed related action still works.
    assert api.call("GET", URL, creds=creds).status_code == 200

    group_members_remove(group=group, sub_account_ids=[str(reader.sub_account_id)])
    assert api.call("GET", _url(target), creds=creds).status_code == 200


# Delete ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_removes_the_sub_account_its_keys_memberships_and_attachments(api, tenant):
    sub, creds = make_sub_account(tenant, "leaver", policy_ids=[VIEWER], actions=["View/getGroupList"])
    keep, keep_creds = make_sub_account(tenant, "stayer", policy_ids=[VIEWER])
    group = group_create(account=tenant.account, name="team")
    group_members_add(group=group, sub_account_ids=[str(sub.sub_account_id), str(keep.sub_account_id)])
    policies_attach(target=group, policy_ids=[MANAGER])
    assert api.call("GET", URL, creds=creds).status_code == 200

    response = api.call("DELETE", _url(sub), creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    assert not SubAccount.objects.filter(pk=sub.pk).exists()
    assert not AccessKey.objects.filter(sub_account_id=sub.pk).exists()
    assert not GroupMembership.objects.filter(sub_account_id=sub.pk).exists()
    assert not PolicyAttachment.objects.filter(sub_account_id=sub.pk).exists()
    _auth_failed(api.call("GET", URL, creds=creds), REFUSED)
    assert api.call("GET", _url(sub), creds=tenant.root).status_code == 404
    # Everything else stays.
    assert Group.objects.filter(pk=group.pk).exists()
    assert list(group.members.all()) == [keep]
    assert PolicyAttachment.objects.filter(group=group).count() == 1
    assert PolicyAttachment.objects.filter(sub_account=keep).count() == 1
    assert api.call("GET", URL, creds=keep_creds).status_code == 200


# Password reset ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_reset_generated(api, tenant):
    sub = _plain(tenant, "target", can_console_access=True)
    response = api.call("PUT", f"{_url(sub)}/password", {"needPasswordGenerate": True}, creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "generatedPassword"} and body["success"] is True
    generated = body["generatedPassword"]
    assert password_problems(generated, login_id="target") == []
    row = SubAccount.objects.get(pk=sub.pk)
    assert row.password != generated and check_password(generated, row.password)
    assert row.need_password_reset is True


@pytest.mark.django_db
def test_password_reset_given(api, tenant):
    sub = _plain(tenant, "target")
    response = api.call("PUT", f"{_url(sub)}/password", {"newPassword": "N3w!Passw"}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    row = SubAccount.objects.get(pk=sub.pk)
    assert row.password != "N3w!Passw" and check_password("N3w!Passw", row.password)
    assert row.need_password_reset is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"newPassword": "Sh0rt!"},
        {"newPassword": "nouppercase1!"},
        {"newPassword": "NoSpecial123"},
        {"newPassword": "xTARGET1!y"},
        {"newPassword": "Has space1!"},
        {"newPassword": ""},
        {},
        {"needPasswordGenerate": False},
    ],
)
def test_password_reset_rejects_bad_or_missing_passwords(api, tenant, body):
    sub, _ = sub_account_create(
        account=tenant.account, login_id="target", name="Target", email="t@example.com", password="0ld!Passw"
    )
    before = SubAccount.objects.get(pk=sub.pk).password
    response = api.call("PUT", f"{_url(sub)}/password", body, creds=tenant.root)
    assert response.status_code == 400, response.content
    assert _field_names(response) == ["newPassword"]
    assert SubAccount.objects.get(pk=sub.pk).password == before


@pytest.mark.django_db
def test_password_reset_honours_the_accounts_minimum_length(api, tenant):
    tenant.account.password_min_length = 12
    tenant.account.save()
    sub = _plain(tenant, "target")
    response = api.call("PUT", f"{_url(sub)}/password", {"newPassword": "Ab1!abcdefg"}, creds=tenant.root)
    assert response.status_code == 400
    assert "12-16" in response.json()["fieldErrors"][0]["message"]
    response = api.call("PUT", f"{_url(sub)}/password", {"needPasswordGenerate": True}, creds=tenant.root)
    assert len(response.json()["generatedPassword"]) >= 12


# MFA reset ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mfa_reset_forgets_the_device(api, tenant):
    sub = _plain(tenant, "target", mfa_secret_encrypted="gAAAA-encrypted-totp-secret")
    other = _plain(tenant, "other", mfa_secret_encrypted="gAAAA-other")
    assert api.call("GET", _url(sub), creds=tenant.root).json()["hasMfa"] is True

    response = api.call("POST", f"{_url(sub)}/mfa/reset", creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    assert SubAccount.objects.get(pk=sub.pk).mfa_secret_encrypted == ""
    assert api.call("GET", _url(sub), creds=tenant.root).json()["hasMfa"] is False
    assert SubAccount.objects.get(pk=other.pk).mfa_secret_encrypted == "gAAAA-other"


# Groups from the sub account's side --------------------------------------------------------------------------


def _groups(tenant, *names) -> list[Group]:
    return [group_create(account=tenant.account, name=n) for n in names]


def _member_of(sub) -> set[str]:
    return {g.name for g in Group.objects.filter(memberships__sub_account=sub)}


@pytest.mark.django_db
def test_add_and_remove_groups(api, tenant):
    sub = _plain(tenant, "target")
    g1, g2, g3 = _groups(tenant, "alpha", "beta", "gamma")
    uri = f"{_url(sub)}/groups"
    response = api.call("POST", uri, {"groupIdList": [str(g1.group_id), str(g2.group_id)]}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    assert _member_of(sub) == {"alpha", "beta"}
    detail = api.call("GET", _url(sub), creds=tenant.root).json()
    assert sorted(g["groupName"] for g in detail["groups"]) == ["alpha", "beta"]

    # Adding again is harmless; a new one is added alongside.
    response = api.call("POST", uri, {"groupIdList": [str(g1.group_id), str(g3.group_id)]}, creds=tenant.root)
    assert response.status_code == 200
    assert _member_of(sub) == {"alpha", "beta", "gamma"}
    assert GroupMembership.objects.filter(sub_account=sub).count() == 3

    response = api.call("DELETE", uri, {"groupIdList": [str(g2.group_id)]}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert _member_of(sub) == {"alpha", "gamma"}
    assert Group.objects.filter(pk=g2.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_unknown_or_foreign_groups_are_not_found(api, tenant, other_tenant, method):
    sub = _plain(tenant, "target")
    (mine,) = _groups(tenant, "mine")
    (theirs,) = _groups(other_tenant, "theirs")
    if method == "DELETE":
        group_members_add(group=mine, sub_account_ids=[str(sub.sub_account_id)])
    before = set(GroupMembership.objects.values_list("group_id", "sub_account_id"))
    for bad in (str(uuid.uuid4()), str(theirs.group_id), "not-a-uuid"):
        response = api.call(
            method, f"{_url(sub)}/groups", {"groupIdList": [str(mine.group_id), bad]}, creds=tenant.root
        )
        assert response.status_code == 404, response.content
        assert response.json()["errorCode"] == 30
        assert _field_names(response) == ["groupIdList"]
        assert bad in response.json()["fieldErrors"][0]["message"]
        assert set(GroupMembership.objects.values_list("group_id", "sub_account_id")) == before


@pytest.mark.django_db
def test_group_ids_in_another_spelling_are_found(api, tenant):
    sub = _plain(tenant, "target")
    (group,) = _groups(tenant, "alpha")
    body = {"groupIdList": [str(group.group_id).upper()]}
    response = api.call("POST", f"{_url(sub)}/groups", body, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert _member_of(sub) == {"alpha"}


@pytest.mark.django_db
def test_group_limit_per_sub_account(api, tenant, settings):
    settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT = 2
    sub = _plain(tenant, "target")
    fresh = _plain(tenant, "fresh")
    g1, g2, g3 = _groups(tenant, "alpha", "beta", "gamma")
    ids = [str(g.group_id) for g in (g1, g2, g3)]
    assert api.call("POST", f"{_url(sub)}/groups", {"groupIdList": ids[:2]}, creds=tenant.root).status_code == 200

    response = api.call("POST", f"{_url(sub)}/groups", {"groupIdList": [ids[2]]}, creds=tenant.root)
    assert response.status_code == 409, response.content
    assert response.json()["errorCode"] == 9012
    assert _member_of(sub) == {"alpha", "beta"}
    # Groups it already belongs to do not count twice.
    assert api.call("POST", f"{_url(sub)}/groups", {"groupIdList": ids[:2]}, creds=tenant.root).status_code == 200

    response = api.call("POST", f"{_url(fresh)}/groups", {"groupIdList": ids}, creds=tenant.root)
    assert response.status_code == 409
    assert _member_of(fresh) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"groupIdList": []}, {}, {"groupIdList": "abc"}, {"groupIdList": [None]}])
def test_group_list_must_be_a_non_empty_list(api, tenant, body):
    sub = _plain(tenant, "target")
    _groups(tenant, "alpha")
    for method in ("POST", "DELETE"):
        response = api.call(method, f"{_url(sub)}/groups", body, creds=tenant.root)
        assert response.status_code == 400, response.content
        assert [f.split("[")[0] for f in _field_names(response)] == ["groupIdList"]
    assert GroupMembership.objects.count() == 0


# Policies from the sub account's side ------------------------------------------------------------------------


def _attached(sub) -> list[str]:
    return sorted(PolicyAttachment.objects.filter(sub_account=sub).values_list("policy__policy_id", flat=True))


@pytest.mark.django_db
def test_attach_and_detach_policies(api, tenant):
    sub, creds = make_sub_account(tenant, "target")
    own = _policy(tenant, "grouplister", ["View/getGroupList"])
    uri = f"{_url(sub)}/policies"
    assert api.call("GET", URL, creds=creds).status_code == 401

    response = api.call("POST", uri, {"policyIdList": [own.policy_id, VIEWER]}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": str(sub.sub_account_id)}
    assert _attached(sub) == sorted([own.policy_id, VIEWER])
    assert api.call("GET", URL, creds=creds).status_code == 200  # the system policy now applies
    assert {p["policyName"] for p in api.call("GET", _url(sub), creds=tenant.root).json()["policies"]} == {
        "grouplister",
        "NCP_SUB_ACCOUNT_VIEWER",
    }

    response = api.call("POST", uri, {"policyIdList": [VIEWER, own.policy_id]}, creds=tenant.root)
    assert response.status_code == 200
    assert PolicyAttachment.objects.filter(sub_account=sub).count() == 2

    response = api.call("DELETE", uri, {"policyIdList": [VIEWER]}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert _attached(sub) == [own.policy_id]
    _denied(api.call("GET", URL, creds=creds), "View/getSubAccountList")
    # Detaching what is not attached changes nothing.
    assert api.call("DELETE", uri, {"policyIdList": [VIEWER]}, creds=tenant.root).status_code == 200
    assert _attached(sub) == [own.policy_id]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_unknown_or_foreign_policies_are_not_found(api, tenant, other_tenant, method):
    sub = _plain(tenant, "target")
    own = _policy(tenant, "mine", ["View/getGroupList"])
    theirs = _policy(other_tenant, "theirs", ["View/getGroupList"])
    if method == "DELETE":
        policies_attach(target=sub, policy_ids=[own.policy_id, VIEWER])
    before = _attached(sub)
    for bad in (str(uuid.uuid4()), theirs.policy_id, "nope"):
        body = {"policyIdList": [VIEWER if method == "POST" else own.policy_id, bad]}
        response = api.call(method, f"{_url(sub)}/policies", body, creds=tenant.root)
        assert response.status_code == 404, response.content
        assert _field_names(response) == ["policyIdList"]
        assert bad in response.json()["message"]
        assert _attached(sub) == before
    assert not PolicyAttachment.objects.filter(policy=theirs).exists()


@pytest.mark.django_db
def test_policy_list_must_be_a_non_empty_list(api, tenant):
    sub = _plain(tenant, "target")
    response = api.call("POST", f"{_url(sub)}/policies", {"policyIdList": []}, creds=tenant.root)
    assert response.status_code == 400
    assert _field_names(response) == ["policyIdList"]
    assert not PolicyAttachment.objects.exists()


# Join checks -------------------------------------------------------------------------------------------------


def _check(api, tenant, name: str, **params):
    query = f"?{urlencode(params)}" if params else ""
    response = api.call("GET", f"/api/v1/join/{name}{query}", creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "message"}
    return body


@pytest.mark.django_db
def test_check_login_id(api, tenant, other_tenant):
    _plain(tenant, "Taken.One")
    _plain(other_tenant, "theirs")
    assert _check(api, tenant, "check-login-id", loginId="free.one") == {"success": True, "message": "available"}
    assert _check(api, tenant, "check-login-id", loginId="theirs") == {"success": True, "message": "available"}
    taken = _check(api, tenant, "check-login-id", loginId="tAKEN.oNE")
    assert taken["success"] is False and "in use" in taken["message"]
    for invalid in ("1abc", "ab", "a b c", "x" * 61, ""):
        body = _check(api, tenant, "check-login-id", loginId=invalid)
        assert body["success"] is False and "starting with a letter" in body["message"], invalid
    assert SubAccount.objects.count() == 2


@pytest.mark.django_db
def test_check_password(api, tenant):
    assert _check(api, tenant, "check-password", password="Abcdef1!") == {"success": True, "message": "acceptable"}
    body = _check(api, tenant, "check-password", password="abc")
    assert body["success"] is False
    for problem in ("8-16 characters", "upper-case", "digit", "special"):
        assert problem in body["message"]
    assert "lower-case" not in body["message"]
    body = _check(api, tenant, "check-password", password="Abcdefgh1!abcdefg")
    assert body == {"success": False, "message": "must be 8-16 characters"}
    assert _check(api, tenant, "check-password")["success"] is False
    tenant.account.password_min_length = 10
    tenant.account.save()
    assert _check(api, tenant, "check-password", password="Abcdef1!") == {
        "success": False,
        "message": "must be 10-16 characters",
    }

"""Bad ids and bytes never answer 500: each finding of the hostile-input review, on the wire and in the audit trail.

PostgreSQL refuses NUL characters and lone surrogates and overflows on values longer than their column, so run these
with DATABASE_URL set too. Calls are signed over the URI exactly as sent and carry it in RAW_URI, as gunicorn does.
"""

import io
import json
import logging
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import override_settings
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from iam.api.parsers import GuardedJSONParser
from iam.errors import InvalidInput
from iam.gateway.signing import signed_headers
from iam.models import AccessKey, AuditEvent, Group, GroupMembership, Policy
from iam.policy import nrn
from iam.services.groups import group_create
from iam.services.policies import policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account

NUL_MESSAGE = "must not contain NUL characters"
SURROGATE_MESSAGE = "must be valid Unicode text (no lone surrogate)"


def send(creds, method: str, uri: str, body=None, *, raw: bytes | None = None, secret: str | None = None):
    headers = signed_headers(creds.access_key, secret or creds.secret, method, uri)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    meta["RAW_URI"] = uri
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    return APIClient().generic(method, uri, data=data, content_type="application/json", **meta)


def field_error(field: str, message: str) -> dict:
    return {"errorCode": 9000, "message": f"{field}: {message}", "fieldErrors": [{"field": field, "message": message}]}


def refusal(tenant) -> AuditEvent:
    return AuditEvent.objects.get(account=tenant.account, action="Gateway:validateRequest")


@pytest.fixture
def denied(tenant):
    """A sub account that may use the API and is allowed nothing."""
    return make_sub_account(tenant, "prober")


@pytest.fixture
def group(tenant):
    return group_create(account=tenant.account, name="team", tags={"team": "a"})


@pytest.fixture
def policy(tenant):
    return policy_create(account=tenant.account, name="readers", permissions=_document("*"))


def _document(resource: str, condition: dict | None = None) -> list:
    statement = {
        "effect": "Allow",
        "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": [resource]}],
    }
    if condition is not None:
        statement["condition"] = condition
    return [statement]


# NUL in a path id --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["root", "denied"])
@pytest.mark.parametrize(
    "method, uri, body, field",
    [
        ("PUT", "/api/v1/groups/abc%00def", {"groupName": "renamed"}, "groupId"),
        ("DELETE", "/api/v1/policies/x%00y", None, "policyId"),
        ("GET", "/api/v1/sub-accounts/%00", None, "subAccountId"),
    ],
)
def test_nul_in_a_path_id_is_a_400_naming_it_and_is_audited(tenant, denied, group, caller, method, uri, body, field):
    creds = tenant.root if caller == "root" else denied[1]
    response = send(creds, method, uri, body)
    assert response.status_code == 400
    assert response.json() == field_error(field, NUL_MESSAGE)
    event = refusal(tenant)
    assert event.result == AuditEvent.DENIED
    root_nrn = f"nrn:PUB:IAM::{tenant.account.member_no}:MainAccount/{tenant.account.member_no}"
    assert event.actor == (root_nrn if caller == "root" else denied[0].nrn)
    path = uri.split("?")[0].replace("%00", "\\x00")
    assert event.resource == path
    assert event.detail == {
        "reason": f"{field}: {NUL_MESSAGE}",
        "method": method,
        "path": path,
        "status": 400,
    }
    assert Group.objects.get(pk=group.pk).name == "team"


def test_a_refused_signature_on_a_nul_path_is_audited(tenant):
    """A known key with a wrong signature is a denied request of its account, whatever bytes the path holds."""
    response = send(tenant.root, "GET", "/api/v1/groups/a%00b", secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "200"
    event = AuditEvent.objects.get(action="Gateway:authenticate")
    assert event.detail["path"] == "/api/v1/groups/a\\x00b"


# Over-long ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["root", "denied"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(
    "collection, entity",
    [("sub-accounts", "sub account"), ("groups", "group"), ("policies", "policy"), ("roles", "role")],
)
def test_an_id_longer_than_its_column_is_not_found_and_is_audited(tenant, denied, caller, method, collection, entity):
    creds = tenant.root if caller == "root" else denied[1]
    response = send(creds, method, f"/api/v1/{collection}/{'a' * 450}")
    assert response.status_code == 404
    assert response.json() == {"errorCode": 30, "message": f"no such {entity}", "fieldErrors": []}
    event = refusal(tenant)
    assert event.detail["status"] == 404
    assert len(event.resource) == AuditEvent._meta.get_field("resource").max_length
    assert event.resource.startswith(f"/api/v1/{collection}/aaa") and event.resource.endswith("…")


def test_an_audit_event_id_longer_than_a_bigint_is_not_found(tenant):
    response = send(tenant.root, "GET", f"/api/v1/audit-events/{'9' * 450}")
    assert response.status_code == 404
    assert refusal(tenant).detail["status"] == 404


def test_over_long_ids_in_a_body_are_refused_by_name_and_audited(tenant):
    """Body ids are authorized before the serializer reads them: the denial (or the failed change) is recorded with
    the NRN cut to the audit trail's column."""
    member_no = tenant.account.member_no
    # May add sub accounts to groups, but only to groups it cannot name: the group in the body is what is denied.
    allowed = policy_create(
        account=tenant.account,
        name="joiner",
        permissions=[
            {
                "effect": "Allow",
                "targets": [
                    {
                        "product": "SubAccount",
                        "actions": ["Change/addSubAccountToGroup"],
                        "resourceNrns": [f"nrn:PUB:IAM::{member_no}:SubAccount/*"],
                    }
                ],
            }
        ],
    )
    sub, creds = make_sub_account(tenant, "joiner", policy_ids=[allowed.policy_id])
    uri = f"/api/v1/sub-accounts/{sub.sub_account_id}/groups"
    body = {"groupIdList": ["a" * 450]}
    column = AuditEvent._meta.get_field("resource").max_length

    refused = send(creds, "POST", uri, body)
    assert refused.status_code == 401
    assert refused.json()["error"]["errorCode"] == "210"
    event = AuditEvent.objects.get(result=AuditEvent.DENIED)
    assert event.resource == f"nrn:PUB:IAM::{member_no}:Group/{'a' * 450}"[:column]

    rejected = send(tenant.root, "POST", uri, body)
    assert rejected.status_code == 400
    assert [e["field"] for e in rejected.json()["fieldErrors"]] == ["groupIdList[0]"]
    failed = AuditEvent.objects.filter(result=AuditEvent.FAILED).order_by("id")
    assert [len(e.resource) for e in failed] == [len(sub.nrn), column]  # on the sub account and on the group
    assert not GroupMembership.objects.exists()


# NUL in query values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["sub-accounts", "groups", "policies", "roles", "audit-events"])
def test_nul_in_a_query_value_is_a_400_naming_the_parameter(tenant, collection):
    response = send(tenant.root, "GET", f"/api/v1/{collection}?searchWord=%00")
    assert response.status_code == 400
    assert response.json() == field_error("searchWord", NUL_MESSAGE)
    assert refusal(tenant).detail["reason"] == f"searchWord: {NUL_MESSAGE}"


def test_nul_in_the_access_key_to_delete_is_refused_and_deletes_nothing(tenant):
    sub, creds = make_sub_account(tenant, "keyholder")
    response = send(tenant.root, "DELETE", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys?accessKey=%00")
    assert response.status_code == 400
    assert response.json() == field_error("accessKey", NUL_MESSAGE)
    assert AccessKey.objects.filter(access_key=creds.access_key).exists()


# NUL, lone surrogates and infinities in bodies -----------------------------------------------------------------


def test_nul_in_group_ids_is_refused_by_position(tenant, group):
    sub, _ = make_sub_account(tenant, "member")
    uri = f"/api/v1/sub-accounts/{sub.sub_account_id}/groups"
    response = send(tenant.root, "POST", uri, {"groupIdList": [str(group.group_id), "x\x00"]})
    assert response.status_code == 400
    assert response.json() == field_error("groupIdList[1]", NUL_MESSAGE)
    assert not GroupMembership.objects.exists()


def test_nul_in_role_numbers_is_refused_by_position(tenant, policy):
    uri = f"/api/v1/policies/{policy.policy_id}/resources"
    response = send(tenant.root, "DELETE", uri, {"roleNoList": ["\x00"]})
    assert response.status_code == 400
    assert response.json() == field_error("roleNoList[0]", NUL_MESSAGE)


def test_nul_in_a_tag_key_is_refused_and_creates_nothing(tenant):
    response = send(tenant.root, "POST", "/api/v1/groups", {"groupName": "tagged", "tags": {"te\x00am": "a"}})
    assert response.status_code == 400
    assert response.json() == field_error("tags", f"a key {NUL_MESSAGE}")
    assert not Group.objects.filter(name="tagged").exists()


@pytest.mark.parametrize(
    "document, field, message",
    [
        (_document("nrn:PUB:IAM::2942:Group/a\x00"), "permissions[0].targets[0].resourceNrns[0]", NUL_MESSAGE),
        (_document("nrn:PUB:IAM::2942:Group/\ud800"), "permissions[0].targets[0].resourceNrns[0]", SURROGATE_MESSAGE),
        (
            _document("*", {"StringEquals": {"ncp:principalType": ["SubAccount", "x\x00"]}}),
            "permissions[0].condition.StringEquals.ncp:principalType[1]",
            NUL_MESSAGE,
        ),
    ],
    ids=["nul-nrn", "surrogate-nrn", "nul-condition-value"],
)
@pytest.mark.parametrize("endpoint", ["create", "update", "validation"])
def test_unstorable_text_in_a_policy_is_refused_where_it_is(tenant, policy, endpoint, document, field, message):
    method, uri, body = {
        "create": ("POST", "/api/v1/policies", {"policyName": "hostile", "permissions": document}),
        "update": ("PUT", f"/api/v1/policies/{policy.policy_id}", {"permissions": document}),
        "validation": ("POST", "/api/v1/policy/validation", {"permissions": document}),
    }[endpoint]
    response = send(tenant.root, method, uri, body)
    assert response.status_code == 400
    assert response.json() == field_error(field, message)
    assert Policy.objects.get(pk=policy.pk).permissions == _document("*")
    assert not Policy.objects.filter(name="hostile").exists()


def test_a_number_that_overflows_to_infinity_is_refused(tenant):
    """1e400 parses to infinity, which no JSON column stores."""
    condition = {"NumericLessThan": {"ncp:principalType": [1e400]}}
    raw = json.dumps({"policyName": "infinite", "permissions": _document("*", condition)}).replace("Infinity", "1e400")
    response = send(tenant.root, "POST", "/api/v1/policies", raw=raw.encode())
    assert response.status_code == 400
    assert response.json() == field_error(
        "permissions[0].condition.NumericLessThan.ncp:principalType[0]", "must be a finite number"
    )
    assert not Policy.objects.filter(name="infinite").exists()


def test_nul_in_the_role_to_switch_to_issues_nothing(tenant):
    role = role_create(account=tenant.account, name="operators", role_type="Account")
    role_nrn = nrn.build(nrn.IAM, tenant.account.member_no, "Role", role.role_no)
    sub, creds = make_sub_account(tenant, "switcher", actions=["View/getStsSessionToken", "Change/switchRole"])
    keys_before = AccessKey.objects.count()
    response = send(creds, "POST", "/api/v1/credentials", {"roleNrn": role_nrn + "\x00"})
    assert response.status_code == 400
    assert response.json() == field_error("roleNrn", NUL_MESSAGE)
    assert AccessKey.objects.count() == keys_before
    assert refusal(tenant).actor == sub.nrn


# Deep JSON -------------------------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "uri, field",
    [
        ("/api/v1/groups", "groupName"),
        ("/api/v1/policy/validation", "permissions"),
        ("/api/v1/policy/simulation", "actions"),
    ],
)
def test_json_nested_a_thousand_levels_is_a_400(tenant, uri, field):
    raw = b'{"' + field.encode() + b'": ' + _nested(1000) + b"}"
    response = send(tenant.root, "POST", uri, raw=raw)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "errorCode": "100",
            "message": "Bad Request Exception",
            "details": "JSON is nested deeper than 32 levels",
        }
    }
    assert refusal(tenant).detail["status"] == 400
    assert not Group.objects.exists()


def _parse(raw: bytes):
    return GuardedJSONParser().parse(io.BytesIO(raw), parser_context={})


def test_the_parser_takes_32_levels_and_refuses_33():
    assert _parse(_nested(32)) == json.loads(_nested(32))
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        _parse(_nested(33))
    deep_objects = b'{"a":' * 33 + b"1" + b"}" * 33
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        _parse(deep_objects)
    # Brackets inside strings nest nothing.
    assert _parse(b'{"a": "' + _nested(100) + b'"}') == {"a": _nested(100).decode()}


def test_the_parser_finds_surrogates_whatever_the_charset():
    """A charset such as unicode_escape decodes a lone surrogate without any JSON escape: still refused by name."""
    raw = b'{"name": "\\ud800"}'
    with pytest.raises(InvalidInput) as refused:
        GuardedJSONParser().parse(io.BytesIO(raw), parser_context={"encoding": "unicode_escape"})
    assert refused.value.field_errors == [("name", SURROGATE_MESSAGE)]


def test_the_parser_refuses_nesting_the_decoder_cannot_follow():
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        _parse(_nested(100_000))


@override_settings(IAM_JSON_MAX_DEPTH=3)
def test_the_depth_limit_is_a_setting():
    assert _parse(b'{"a": [[1]]}') == {"a": [[1]]}
    with pytest.raises(ParseError, match="deeper than 3 levels"):
        _parse(b'{"a": [[[1]]]}')


# The database down -----------------------------------------------------------------------------------------


@pytest.fixture
def dead_database(db, monkeypatch):
    """The API's connection points at a database that does not answer (a closed port, or a file that cannot be
    opened on SQLite), while the test's own connection stays as it was."""
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-directory/db.sqlite3"
    else:
        settings_dict.update(
            HOST="127.0.0.1", PORT="9", OPTIONS={**settings_dict.get("OPTIONS", {}), "connect_timeout": 2}
        )
    original = connections["default"]
    dead = type(original)(settings_dict, "default")
    connections["default"] = dead
    yield dead
    connections["default"] = original
    dead.close()


def _assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content) == {
        "error": {
            "errorCode": "500",
            "message": "Endpoint Error",
            "details": "the service's database is unavailable: retry later",
        }
    }


@pytest.mark.parametrize(
    "method, uri, body", [("GET", "/api/v1/groups", None), ("POST", "/api/v1/groups", {"groupName": "during-outage"})]
)
def test_a_dead_database_is_a_503_with_retry_after(tenant, dead_database, caplog, method, uri, body):
    caplog.set_level(logging.WARNING)
    response = send(tenant.root, method, uri, body)
    _assert_unavailable(response)
    assert "database unavailable (OperationalError)" in caplog.text
    assert "nonexistent-directory" not in caplog.text and "port 9" not in caplog.text


@pytest.fixture
def failing_queries(tenant):
    """Every query raises OperationalError, as when the server goes away mid-request (undone before the test's
    transaction is rolled back, which needs the cursor)."""
    from django.db import OperationalError
    from django.db.backends import utils

    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with (
        mock.patch.object(utils.CursorWrapper, "execute", refuse),
        mock.patch.object(utils.CursorDebugWrapper, "execute", refuse),
    ):
        yield


def test_the_database_failing_during_authentication_is_a_503(tenant, failing_queries):
    _assert_unavailable(send(tenant.root, "GET", "/api/v1/sub-accounts"))


def test_the_database_failing_during_a_change_is_a_503_and_changes_nothing(tenant, monkeypatch):
    from django.db import OperationalError

    def refuse(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("iam.api.views.groups.services.group_create", refuse)
    _assert_unavailable(send(tenant.root, "POST", "/api/v1/groups", {"groupName": "during-outage"}))
    assert not Group.objects.exists()


def test_the_schema_documents_the_503():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, method in (("/api/v1/groups", "get"), ("/api/v1/groups", "post"), ("/api/v1/credentials", "post")):
        response = schema["paths"][path][method]["responses"]["503"]
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayErrorSchema"}

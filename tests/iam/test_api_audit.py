"""The audit trail endpoints (GET /audit-events, GET /audit-events/{eventId}) and what the API records in it:
changes with their outcome, denials, secret issues (never the secret), nothing for reads; filters, tenancy, order
and pages. Also iam.audit.clean_detail."""

import datetime as dt
import json
import re
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iam import audit
from iam.models import AuditEvent, SubAccount
from iam.services.groups import group_create
from iam.services.policies import policy_create
from tests.conftest import make_sub_account

URL = "/api/v1/audit-events"
ROOT = "nrn:PUB:IAM::2942:MainAccount/2942"
ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"
SUB_ACCOUNT_MANAGER = "00000000-0000-4000-8000-000000000004"
SUB_ACCOUNT_VIEWER = "00000000-0000-4000-8000-000000000005"
FIELDS = {"eventId", "time", "actor", "actorType", "action", "resource", "result", "sourceIp", "requestId", "detail"}
PAGE_FIELDS = {"page", "totalPages", "totalItems", "hasPrevious", "hasNext", "isFirst", "isLast", "items"}
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NEW_SUB = {"loginId": "newone", "name": "New one", "email": "new@example.com", "canConsoleAccess": False}
UTC = dt.UTC


def _sub_nrn(sub_account_id) -> str:
    return f"nrn:PUB:IAM::2942:SubAccount/{sub_account_id}"


def _list(api, creds, query: str = "") -> dict:
    response = api.call("GET", f"{URL}?size=100{'&' + query if query else ''}", creds=creds)
    assert response.status_code == 200, response.content
    return response.json()


def _items(api, creds, query: str = "") -> list[dict]:
    return _list(api, creds, query)["items"]


def _create_sub(api, creds, body=None, **headers):
    return api.call("POST", "/api/v1/sub-accounts", body or NEW_SUB, creds=creds, headers=headers or None)


def _at(moment: dt.datetime) -> str:
    return quote(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


# What a change records ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sub_account_create_records_who_what_where_and_how(api, tenant):
    assert AuditEvent.objects.count() == 0
    before = dt.datetime.now(UTC).replace(microsecond=0)
    response = _create_sub(api, tenant.root)
    assert response.status_code == 200, response.content
    created = response.json()["id"]

    body = _list(api, tenant.root)
    assert body["totalItems"] == 1
    event = body["items"][0]
    assert set(event) == FIELDS
    assert isinstance(event["eventId"], int)
    assert TIME_RE.match(event["time"])
    assert before <= dt.datetime.fromisoformat(event["time"]) <= dt.datetime.now(UTC)
    assert {k: v for k, v in event.items() if k not in ("eventId", "time")} == {
        "actor": ROOT,
        "actorType": "MainAccount",
        "action": "SubAccount:Change/createSubAccount",
        "resource": _sub_nrn(created),
        "result": "Success",
        "sourceIp": "127.0.0.1",
        "requestId": response["X-Request-Id"],
        "detail": {"method": "POST", "path": "/api/v1/sub-accounts", "status": 200},
    }
    assert SubAccount.objects.get(sub_account_id=created).nrn == event["resource"]


@pytest.mark.django_db
def test_the_callers_request_id_is_kept(api, tenant):
    response = _create_sub(api, tenant.root, **{"X-Request-Id": "trace-42.a_b"})
    assert response["X-Request-Id"] == "trace-42.a_b"
    assert [e["requestId"] for e in _items(api, tenant.root)] == ["trace-42.a_b"]


@pytest.mark.django_db
def test_a_sub_account_is_recorded_as_itself(api, tenant):
    sub, creds = make_sub_account(tenant, "creator", actions=["Change/createGroup"])
    response = api.call("POST", "/api/v1/groups", {"groupName": "team"}, creds=creds)
    assert response.status_code == 200, response.content
    (event,) = _items(api, tenant.root)
    assert (event["actor"], event["actorType"]) == (sub.nrn, "SubAccount")
    assert event["actor"] == _sub_nrn(sub.sub_account_id)
    assert event["action"] == "SubAccount:Change/createGroup"
    assert event["resource"] == f"nrn:PUB:IAM::2942:Group/{response.json()['id']}"


@pytest.mark.django_db
def test_a_change_needing_several_actions_records_each(api, tenant):
    sub, _ = make_sub_account(tenant, "target")
    response = api.call(
        "PUT", f"/api/v1/sub-accounts/{sub.sub_account_id}", {"name": "Renamed", "tags": {"t": "1"}}, creds=tenant.root
    )
    assert response.status_code == 200, response.content
    events = _items(api, tenant.root)
    assert sorted(e["action"] for e in events) == [
        "SubAccount:Change/tagSubAccount",
        "SubAccount:Change/updateSubAccount",
    ]
    assert {e["resource"] for e in events} == {sub.nrn}
    assert {e["requestId"] for e in events} == {response["X-Request-Id"]}


@pytest.mark.django_db
def test_a_conflicting_create_is_recorded_as_failed_with_its_error_code(api, tenant):
    make_sub_account(tenant, "taken")
    before = SubAccount.objects.count()
    response = _create_sub(api, tenant.root, {**NEW_SUB, "loginId": "taken"})
    assert response.status_code == 409, response.content
    assert SubAccount.objects.count() == before
    (event,) = _items(api, tenant.root)
    assert event["result"] == "Failed"
    assert event["action"] == "SubAccount:Change/createSubAccount"
    assert event["resource"] == "*"  # nothing was created, so there is no resource to name
    assert event["detail"] == {
        "method": "POST",
        "path": "/api/v1/sub-accounts",
        "status": response.status_code,
        "errorCode": response.json()["errorCode"],
    }


@pytest.mark.django_db
def test_invalid_input_is_recorded_as_failed(api, tenant):
    response = _create_sub(api, tenant.root, {**NEW_SUB, "loginId": "1-starts-with-a-digit"})
    assert response.status_code == 400, response.content
    (event,) = _items(api, tenant.root)
    assert (event["result"], event["detail"]["status"]) == ("Failed", 400)
    assert event["detail"]["errorCode"] == response.json()["errorCode"]
    assert SubAccount.objects.count() == 0


@pytest.mark.django_db
def test_a_change_on_an_unknown_id_is_recorded_as_failed_on_that_resource(api, tenant):
    missing = "0f0f0f0f-0000-4000-8000-000000000000"
    response = api.call("DELETE", f"/api/v1/sub-accounts/{missing}", creds=tenant.root)
    assert response.status_code == 404
    (event,) = _items(api, tenant.root)
    assert (event["action"], event["resource"], event["result"]) == (
        "SubAccount:Change/deleteSubAccount",
        _sub_nrn(missing),
        "Failed",
    )
    assert event["detail"]["errorCode"] == 30


# Denials -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_denied_change_is_recorded_once_as_denied(api, tenant, no_policy_user):
    sub, creds = no_policy_user
    response = _create_sub(api, creds)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "210"
    # root reads it; the refused call is a denial only, not also a failed change
    events = _items(api, tenant.root)
    assert len(events) == 1, events
    event = events[0]
    assert {k: v for k, v in event.items() if k not in ("eventId", "time", "requestId")} == {
        "actor": sub.nrn,
        "actorType": "SubAccount",
        "action": "SubAccount:Change/createSubAccount",
        "resource": "*",
        "result": "Denied",
        "sourceIp": "127.0.0.1",
        "detail": {"reason": "implicitDeny", "method": "POST", "path": "/api/v1/sub-accounts"},
    }
    assert event["requestId"] == response["X-Request-Id"]
    assert SubAccount.objects.count() == 1  # only the no-policy user itself


@pytest.mark.django_db
def test_a_denial_names_the_resource_and_reads_are_recorded_too(api, tenant, no_policy_user):
    target, _ = make_sub_account(tenant, "target")
    _, creds = no_policy_user
    assert api.call("DELETE", f"/api/v1/sub-accounts/{target.sub_account_id}", creds=creds).status_code == 401
    assert api.call("GET", f"/api/v1/sub-accounts/{target.sub_account_id}", creds=creds).status_code == 401
    events = _items(api, tenant.root)
    assert [(e["action"], e["resource"], e["result"], e["detail"]["method"]) for e in events] == [
        ("SubAccount:View/getSubAccountDetail", target.nrn, "Denied", "GET"),
        ("SubAccount:Change/deleteSubAccount", target.nrn, "Denied", "DELETE"),
    ]
    assert SubAccount.objects.filter(pk=target.pk).exists()


@pytest.mark.django_db
def test_an_explicit_deny_is_recorded_with_its_reason(api, tenant):
    deny = policy_create(
        account=tenant.account,
        name="no-groups",
        permissions=[
            {
                "effect": "Deny",
                "targets": [{"product": "SubAccount", "actions": ["Change/createGroup"], "resourceNrns": ["*"]}],
            }
        ],
    )
    _, creds = make_sub_account(tenant, "boxed", policy_ids=[ADMINISTRATOR, deny.policy_id])
    assert api.call("POST", "/api/v1/groups", {"groupName": "team"}, creds=creds).status_code == 401
    (event,) = _items(api, tenant.root)
    assert (event["action"], event["result"]) == ("SubAccount:Change/createGroup", "Denied")
    assert event["detail"]["reason"] != "implicitDeny"
    assert event["detail"]["reason"]


# Secrets -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_access_key_issue_is_recorded_without_its_secret(api, tenant):
    sub, _ = make_sub_account(tenant, "keyholder")
    response = api.call("POST", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys", creds=tenant.root)
    assert response.status_code == 200, response.content
    issued = response.json()
    assert issued["keySecret"]

    listing = api.call("GET", URL, creds=tenant.root)
    (event,) = listing.json()["items"]
    assert event["action"] == "SubAccount:Change/createSubAccountAccessKey"
    assert event["resource"] == sub.nrn
    assert event["detail"] == {
        "method": "POST",
        "path": f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys",
        "status": 200,
        "accessKey": issued["accessKey"],
        "secret": "issued",
    }
    detail = api.call("GET", f"{URL}/{event['eventId']}", creds=tenant.root)
    for text in (listing.content.decode(), detail.content.decode()):
        assert issued["accessKey"] in text
        assert issued["keySecret"] not in text
    stored = json.dumps(list(AuditEvent.objects.values("detail", "resource", "actor")))
    assert issued["keySecret"] not in stored


@pytest.mark.django_db
def test_generated_and_chosen_passwords_are_recorded_as_such_never_by_value(api, tenant):
    generated = _create_sub(api, tenant.root, {**NEW_SUB, "canConsoleAccess": True, "needPasswordGenerate": True})
    assert generated.status_code == 200, generated.content
    chosen_password = "Chosen#Pass12"
    chosen = _create_sub(
        api,
        tenant.root,
        {**NEW_SUB, "loginId": "second", "canConsoleAccess": True, "password": chosen_password},
    )
    assert chosen.status_code == 200, chosen.content
    generated_password = generated.json()["generatedPassword"]
    assert generated_password

    listing = api.call("GET", URL, creds=tenant.root)
    by_resource = {e["resource"]: e for e in listing.json()["items"]}
    assert by_resource[_sub_nrn(generated.json()["id"])]["detail"]["password"] == "generated"
    assert by_resource[_sub_nrn(chosen.json()["id"])]["detail"]["password"] == "set"
    text = listing.content.decode()
    assert generated_password not in text
    assert chosen_password not in text


@pytest.mark.django_db
def test_password_resets_are_recorded_as_generated_or_reset(api, tenant):
    sub, _ = make_sub_account(tenant, "console", can_console_access=True, need_password_generate=True)
    url = f"/api/v1/sub-accounts/{sub.sub_account_id}/password"
    generated = api.call("PUT", url, {"needPasswordGenerate": True}, creds=tenant.root)
    assert generated.status_code == 200, generated.content
    new_password = "Another#Pass34"
    reset = api.call("PUT", url, {"needPasswordGenerate": False, "newPassword": new_password}, creds=tenant.root)
    assert reset.status_code == 200, reset.content

    listing = api.call("GET", URL, creds=tenant.root)
    events = listing.json()["items"]
    assert [(e["action"], e["resource"], e["detail"]["password"]) for e in events] == [
        ("SubAccount:Change/resetSubAccountPassword", sub.nrn, "reset"),
        ("SubAccount:Change/resetSubAccountPassword", sub.nrn, "generated"),
    ]
    text = listing.content.decode()
    assert generated.json()["generatedPassword"] not in text
    assert new_password not in text


# Reads record nothing ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reads_record_nothing(api, tenant):
    sub, _ = make_sub_account(tenant, "seen")
    group = group_create(account=tenant.account, name="grp")
    for uri in (
        "/api/v1/sub-accounts",
        f"/api/v1/sub-accounts/{sub.sub_account_id}",
        f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys",
        "/api/v1/groups",
        f"/api/v1/groups/{group.group_id}",
        "/api/v1/policies",
        "/api/v1/roles",
        "/api/v1/dashboard",
        "/api/v1/settings/password",
        "/api/v1/join/check-password?password=Abcdef1%21",
        URL,
    ):
        assert api.call("GET", uri, creds=tenant.root).status_code == 200, uri
    assert AuditEvent.objects.count() == 0


# The endpoints -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_is_the_listed_event(api, tenant):
    _create_sub(api, tenant.root)
    (listed,) = _items(api, tenant.root)
    response = api.call("GET", f"{URL}/{listed['eventId']}", creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == listed


@pytest.mark.django_db
def test_unknown_event_ids_are_not_found(api, tenant):
    response = api.call("GET", f"{URL}/987654", creds=tenant.root)
    assert response.status_code == 404
    assert response.json() == {"errorCode": 30, "message": "no such audit event", "fieldErrors": []}
    huge = api.call("GET", f"{URL}/{'9' * 30}", creds=tenant.root)
    assert huge.status_code == 404
    assert huge.json()["errorCode"] == 30
    not_a_number = api.call("GET", f"{URL}/abc", creds=tenant.root)
    assert not_a_number.status_code == 404
    assert not_a_number.json()["error"]["errorCode"] == "300"


@pytest.mark.django_db
def test_the_trail_is_read_only(api, tenant):
    _create_sub(api, tenant.root)
    (event,) = _items(api, tenant.root)
    before = list(AuditEvent.objects.values())
    for method, uri, body in (
        ("POST", URL, {"action": "x"}),
        ("DELETE", f"{URL}/{event['eventId']}", None),
        ("PUT", f"{URL}/{event['eventId']}", {"result": "Success"}),
    ):
        # Even root is refused: the trail has no method that changes it.
        response = api.call(method, uri, body, creds=tenant.root)
        assert response.status_code == 405, (method, response.content)
        assert response.json()["errorCode"] == 405
    assert list(AuditEvent.objects.values()) == before


# Tenancy -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_accounts_events_are_never_listed_nor_found(api, tenant, other_tenant):
    mine = _create_sub(api, tenant.root)
    theirs = _create_sub(api, other_tenant.root)
    assert mine.status_code == theirs.status_code == 200
    with audit.acting_as(audit.SYSTEM):
        audit.record(account_id=None, action="System:somethingGlobal")

    events = _items(api, tenant.root)
    assert [e["resource"] for e in events] == [_sub_nrn(mine.json()["id"])]
    their_events = _items(api, other_tenant.root)
    assert [e["resource"] for e in their_events] == [f"nrn:PUB:IAM::3001:SubAccount/{theirs.json()['id']}"]
    assert their_events[0]["actor"] == "nrn:PUB:IAM::3001:MainAccount/3001"

    response = api.call("GET", f"{URL}/{their_events[0]['eventId']}", creds=tenant.root)
    assert response.status_code == 404
    assert response.json()["errorCode"] == 30
    system_event = AuditEvent.objects.get(account__isnull=True)
    assert api.call("GET", f"{URL}/{system_event.pk}", creds=tenant.root).status_code == 404
    # filters do not reach across accounts either
    assert _items(api, tenant.root, f"actor={quote(their_events[0]['actor'])}") == []


# Order, pages, query count -------------------------------------------------------------------------------------


def _record(tenant, count: int, *, time=None, action: str = "SubAccount:Change/createGroup") -> None:
    with audit.acting_as(audit.Actor(ROOT, "MainAccount", "10.0.0.1")):
        audit.record_many(
            [
                audit.event(account_id=tenant.account.pk, action=action, resource=f"r{i}", time=time)
                for i in range(count)
            ]
        )


@pytest.mark.django_db
def test_newest_first_and_same_time_by_id(api, tenant):
    for login_id in ("first", "second", "third"):
        assert _create_sub(api, tenant.root, {**NEW_SUB, "loginId": login_id}).status_code == 200
    events = AuditEvent.objects.order_by("id")
    base = dt.datetime(2025, 6, 1, tzinfo=UTC)
    # the first created is made the newest; the other two share a time
    AuditEvent.objects.filter(pk=events[0].pk).update(time=base + dt.timedelta(hours=1))
    AuditEvent.objects.filter(pk__in=[events[1].pk, events[2].pk]).update(time=base)
    ids = [e["eventId"] for e in _items(api, tenant.root)]
    assert ids == [events[0].pk, events[2].pk, events[1].pk]


@pytest.mark.django_db
def test_pages_in_the_wire_format(api, tenant):
    _record(tenant, 12)
    first = _list(api, tenant.root).get("items")
    assert len(first) == 12
    response = api.call("GET", f"{URL}?page=1&size=5", creds=tenant.root)
    body = response.json()
    assert set(body) == PAGE_FIELDS
    assert {k: v for k, v in body.items() if k != "items"} == {
        "page": 1,
        "totalPages": 3,
        "totalItems": 12,
        "hasPrevious": True,
        "hasNext": True,
        "isFirst": False,
        "isLast": False,
    }
    assert body["items"] == first[5:10]
    last = api.call("GET", f"{URL}?page=2&size=5", creds=tenant.root).json()
    assert (last["isLast"], last["hasNext"], len(last["items"])) == (True, False, 2)
    default = api.call("GET", URL, creds=tenant.root).json()
    assert (default["page"], len(default["items"]), default["totalPages"]) == (0, 10, 2)
    bad = api.call("GET", f"{URL}?size=1000", creds=tenant.root)
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["fieldErrors"]] == ["size"]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_events(api, tenant, django_assert_max_num_queries):
    _record(tenant, 2)
    with CaptureQueriesContext(connection) as small:
        assert len(_items(api, tenant.root)) == 2
    _record(tenant, 40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(_items(api, tenant.root)) == 42


# Filters -----------------------------------------------------------------------------------------------------


@pytest.fixture
def mixed_trail(api, tenant, no_policy_user):
    """Events of three actors and results: root creates a sub account, a group maker creates a group, a no-policy
    user is denied, and a failed create."""
    _, group_maker = make_sub_account(tenant, "groupmaker", actions=["Change/createGroup"])
    created = _create_sub(api, tenant.root).json()["id"]
    assert api.call("POST", "/api/v1/groups", {"groupName": "team"}, creds=group_maker).status_code == 200
    assert _create_sub(api, no_policy_user[1], {**NEW_SUB, "loginId": "other"}).status_code == 401
    assert _create_sub(api, tenant.root).status_code == 409  # the login id is taken now
    assert api.call("PUT", f"/api/v1/sub-accounts/{created}", {"memo": "m"}, creds=tenant.root).status_code == 200
    return {
        "created": _sub_nrn(created),
        "group_maker": SubAccount.objects.get(login_id="groupmaker").nrn,
        "no_policy": no_policy_user[0].nrn,
    }


def _summary(api, tenant, query: str) -> list[tuple[str, str, str]]:
    return [(e["action"].split("/")[-1], e["result"], e["resource"]) for e in _items(api, tenant.root, query)]


@pytest.mark.django_db
def test_filter_by_actor(api, tenant, mixed_trail):
    events = _items(api, tenant.root, f"actor={quote(mixed_trail['group_maker'])}")
    assert [(e["action"], e["actor"]) for e in events] == [
        ("SubAccount:Change/createGroup", mixed_trail["group_maker"])
    ]
    root_events = _items(api, tenant.root, f"actor={quote(ROOT)}")
    assert len(root_events) == 3 and {e["actor"] for e in root_events} == {ROOT}
    assert _items(api, tenant.root, f"actor={quote(ROOT[:-1])}") == []  # exact, not a prefix


@pytest.mark.django_db
def test_filter_by_action(api, tenant, mixed_trail):
    assert _summary(api, tenant, "action=SubAccount:Change/createSubAccount") == [
        ("createSubAccount", "Failed", "*"),
        ("createSubAccount", "Denied", "*"),
        ("createSubAccount", "Success", mixed_trail["created"]),
    ]
    assert _summary(api, tenant, "action=Change/createSubAccount") == []  # the product is part of the name


@pytest.mark.django_db
def test_filter_by_resource(api, tenant, mixed_trail):
    assert _summary(api, tenant, f"resource={quote(mixed_trail['created'])}") == [
        ("updateSubAccount", "Success", mixed_trail["created"]),
        ("createSubAccount", "Success", mixed_trail["created"]),
    ]
    assert _items(api, tenant.root, f"resource={quote(mixed_trail['created'][:-4])}") == []


@pytest.mark.django_db
def test_filter_by_result(api, tenant, mixed_trail):
    assert _summary(api, tenant, "result=Denied") == [("createSubAccount", "Denied", "*")]
    assert _summary(api, tenant, "result=Failed") == [("createSubAccount", "Failed", "*")]
    assert [e[0] for e in _summary(api, tenant, "result=Success")] == [
        "updateSubAccount",
        "createGroup",
        "createSubAccount",
    ]


@pytest.mark.django_db
def test_filters_combine(api, tenant, mixed_trail):
    query = f"actor={quote(ROOT)}&action=SubAccount:Change/createSubAccount&result=Success"
    assert _summary(api, tenant, query) == [("createSubAccount", "Success", mixed_trail["created"])]
    body = _list(api, tenant.root, query + "&searchColumn=action&searchWord=group")
    assert body["totalItems"] == 0


@pytest.mark.django_db
def test_search_word_in_a_column(api, tenant, mixed_trail):
    events = _items(api, tenant.root, "searchColumn=action&searchWord=creategroup")
    assert [e["action"] for e in events] == ["SubAccount:Change/createGroup"]
    bad = api.call("GET", f"{URL}?searchColumn=detail&searchWord=x", creds=tenant.root)
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["fieldErrors"]] == ["searchColumn"]


@pytest.mark.django_db
def test_filter_by_time_window(api, tenant):
    for login_id in ("first", "second", "third"):
        assert _create_sub(api, tenant.root, {**NEW_SUB, "loginId": login_id}).status_code == 200
    t0 = dt.datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    times = [t0, t0 + dt.timedelta(hours=1), t0 + dt.timedelta(hours=2)]
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    for pk, moment in zip(ids, times, strict=True):
        AuditEvent.objects.filter(pk=pk).update(time=moment)

    def window(query: str) -> list[int]:
        return [e["eventId"] for e in _items(api, tenant.root, query)]

    assert window(f"from={_at(times[1])}") == [ids[2], ids[1]]  # from is inclusive
    assert window(f"to={_at(times[1])}") == [ids[0]]  # to is exclusive
    assert window(f"from={_at(times[0])}&to={_at(times[2])}") == [ids[1], ids[0]]
    assert window(f"from={_at(times[2] + dt.timedelta(seconds=1))}") == []
    # other spellings of the same instants: an offset, fractions of a second
    assert window(f"from={quote('2025-01-01T09:30:00+09:00')}") == [ids[2], ids[1]]
    assert window(f"to={quote('2025-01-01T00:00:00.001Z')}") == [ids[0]]
    assert [e["time"] for e in _items(api, tenant.root)] == [
        "2025-01-01T02:00:00Z",
        "2025-01-01T01:00:00Z",
        "2025-01-01T00:00:00Z",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("from=2025-13-01T00:00:00Z", "from"),
        ("to=2025-01-01T25:00:00Z", "to"),
        ("result=success", "result"),
        ("result=Error", "result"),
    ],
)
def test_bad_filter_values_are_refused_naming_the_parameter(api, tenant, query, field):
    _record(tenant, 1)
    response = api.call("GET", f"{URL}?{query}", creds=tenant.root)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errorCode"] == 9000
    assert [e["field"] for e in body["fieldErrors"]] == [field]
    assert field in body["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=9999-12-31T23:59:59-23:59", "from"),
        ("to=0001-01-01T00:00:00%2B01:00", "to"),
        ("to=9999-06-01T00:00:00Z", "to"),
    ],
)
def test_times_outside_the_calendar_in_utc_are_refused(api, tenant, query, field):
    response = api.call("GET", f"{URL}?{query}", creds=tenant.root)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["fieldErrors"]] == [field]


@pytest.mark.django_db
def test_an_offset_postgresql_cannot_store_is_read_as_the_same_time_in_utc(api, tenant):
    _record(tenant, 1)
    # +16:00 is valid ISO 8601 and Python, past PostgreSQL's +15:59: the filter compares in UTC.
    after = api.call("GET", f"{URL}?from=2000-01-01T00:00:00%2B16:00", creds=tenant.root)
    assert after.status_code == 200, after.content
    assert after.json()["totalItems"] == 1
    before = api.call("GET", f"{URL}?to=2000-01-01T00:00:00-16:00", creds=tenant.root)
    assert before.status_code == 200 and before.json()["totalItems"] == 0


# Who may read the trail ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("policy_id", [SUB_ACCOUNT_VIEWER, SUB_ACCOUNT_MANAGER, ADMINISTRATOR])
def test_viewers_managers_and_administrators_read_the_trail(api, tenant, policy_id):
    _create_sub(api, tenant.root)
    _, creds = make_sub_account(tenant, "reader", policy_ids=[policy_id])
    events = _items(api, tenant.root)
    assert _items(api, creds) == events
    assert len(events) == 1
    response = api.call("GET", f"{URL}/{events[0]['eventId']}", creds=creds)
    assert response.status_code == 200
    assert response.json() == events[0]


@pytest.mark.django_db
def test_the_extension_action_alone_grants_reading(api, tenant):
    _, creds = make_sub_account(tenant, "auditor", actions=["View/getAuditEventList"])
    _create_sub(api, tenant.root)
    assert [e["action"] for e in _items(api, creds)] == ["SubAccount:Change/createSubAccount"]
    # and nothing else
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 401


@pytest.mark.django_db
def test_other_view_actions_do_not_grant_reading_and_the_refusal_is_recorded(api, tenant):
    sub, creds = make_sub_account(tenant, "lister", actions=["View/getSubAccountList", "View/getSubAccountDetail"])
    response = api.call("GET", URL, creds=creds)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "210"
    (event,) = _items(api, tenant.root)
    assert (event["actor"], event["action"], event["resource"], event["result"]) == (
        sub.nrn,
        "SubAccount:View/getAuditEventList",
        "*",
        "Denied",
    )


@pytest.mark.django_db
def test_an_explicit_deny_of_the_extension_action_wins(api, tenant):
    deny = policy_create(
        account=tenant.account,
        name="no-audit",
        permissions=[
            {
                "effect": "Deny",
                "targets": [{"product": "SubAccount", "actions": ["View/getAuditEventList"], "resourceNrns": ["*"]}],
            }
        ],
    )
    _, creds = make_sub_account(tenant, "admin", policy_ids=[ADMINISTRATOR, deny.policy_id])
    assert api.call("GET", URL, creds=creds).status_code == 401
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 200


# iam.audit.clean_detail ------------------------------------------------------------------------------------------


def test_clean_detail_drops_keys_that_name_secrets():
    detail = {
        "accessKey": "ncp_iam_ABC",
        "secret": "s3cr3t",
        "keySecret": "s3cr3t",
        "Password": "hunter2",
        "newPassword": "hunter2",
        "sessionToken": "tok",
        "signature": "sig",
        "mfaCode": "123456",
        "status": 200,
    }
    assert audit.clean_detail(detail) == {"accessKey": "ncp_iam_ABC", "status": 200}
    assert detail["secret"] == "s3cr3t"  # a copy: the input is untouched


def test_clean_detail_keeps_the_words_that_say_what_happened():
    detail = {"secret": "issued", "password": "generated", "newPassword": "set", "oldPassword": "reset"}
    assert audit.clean_detail(detail) == detail
    assert audit.clean_detail({"password": "Issued"}) == {}  # the marker words exactly, nothing that resembles them
    assert audit.clean_detail({"password": None}) == {}


def test_clean_detail_cleans_nested_objects():
    detail = {"request": {"loginId": "a", "password": "hunter2", "inner": {"keySecret": "x", "ok": 1}}, "n": 1}
    assert audit.clean_detail(detail) == {"request": {"loginId": "a", "inner": {"ok": 1}}, "n": 1}
    assert audit.clean_detail({"secrets": {"a": 1}}) == {}  # a secret-named key goes with everything under it


def test_clean_detail_of_nothing():
    assert audit.clean_detail(None) == {}
    assert audit.clean_detail({}) == {}


@pytest.mark.django_db
def test_recorded_events_are_cleaned(tenant):
    with audit.acting_as(audit.Actor(ROOT, "MainAccount", "10.1.2.3"), request_id="req-1"):
        event = audit.record(
            account_id=tenant.account.pk,
            action="SubAccount:Change/createSubAccountAccessKey",
            detail={"accessKey": "ncp_iam_X", "keySecret": "plain", "secret": "issued"},
        )
    event.refresh_from_db()
    assert event.detail == {"accessKey": "ncp_iam_X", "secret": "issued"}
    assert (event.actor, event.actor_type, event.source_ip, event.request_id) == (
        ROOT,
        "MainAccount",
        "10.1.2.3",
        "req-1",
    )


@pytest.mark.django_db
def test_reads_made_with_post_record_nothing_and_attachments_name_their_ids(api, tenant):
    doc = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]
    assert api.call("POST", "/api/v1/policy/validation", {"permissions": doc}, creds=tenant.root).status_code == 200
    assert not AuditEvent.objects.exists()
    sub_id = api.call(
        "POST",
        "/api/v1/sub-accounts",
        {"loginId": "target", "name": "Target", "email": "t@example.com", "canConsoleAccess": False},
        creds=tenant.root,
    ).json()["id"]
    viewer = "00000000-0000-4000-8000-000000000005"
    api.call("POST", f"/api/v1/sub-accounts/{sub_id}/policies", {"policyIdList": [viewer]}, creds=tenant.root)
    attach = AuditEvent.objects.get(action="SubAccount:Change/addPolicyToSubAccount")
    assert attach.detail["policyIdList"] == [viewer]
    assert attach.resource == f"nrn:PUB:IAM::2942:SubAccount/{sub_id}"

"""A sub account's access keys: issue (secret shown once), list (never the secret), enable/disable, delete, the
2-key limit, and how the keys then authenticate (v1 and v2 signatures, expiry, suspended main account)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from iam.gateway.authentication import REFUSED
from iam.gateway.signing import SIGNATURE_V1_HEADER, SIGNATURE_V2_HEADER, signed_headers
from iam.models import AccessKey
from iam.secrets import decrypt_secret
from iam.services.accounts import account_set_active
from tests.conftest import Credentials, make_sub_account

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
VIEWER = "00000000-0000-4000-8000-000000000005"  # NCP_SUB_ACCOUNT_VIEWER
LIST = "/api/v1/sub-accounts"


def _keys_url(sub) -> str:
    return f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys"


def _bodiless(api, method: str, uri: str, creds: Credentials):
    """A signed call with no body at all (the shared client sends the text "None" when given no body)."""
    meta = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in signed_headers(creds.access_key, creds.secret, method, uri).items()
    }
    return api.client.generic(method, uri, data="", **meta)


def _auth_failed(response, details: str) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == {"errorCode": "200", "message": "Authentication Failed", "details": details}


@pytest.fixture
def worker(tenant):
    """A sub account that may list sub accounts, with the one key make_sub_account gives it."""
    return make_sub_account(tenant, "worker", policy_ids=[VIEWER])


@pytest.mark.django_db
def test_create_returns_the_secret_once_and_stores_it_encrypted(api, tenant, worker):
    sub, _ = worker
    response = api.call("POST", _keys_url(sub), creds=tenant.root)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"accessKey", "keySecret", "createTime"}
    assert body["accessKey"].startswith("ncp_iam_") and len(body["accessKey"]) > len("ncp_iam_")
    assert TIME_RE.match(body["createTime"])
    row = AccessKey.objects.get(access_key=body["accessKey"])
    assert (row.kind, row.sub_account_id, row.account_id) == (AccessKey.SUB_ACCOUNT, sub.pk, tenant.account.pk)
    assert row.active is True and row.expire_time is None and row.last_used_time is None
    assert row.secret_encrypted != body["keySecret"]
    assert body["keySecret"] not in row.secret_encrypted
    assert decrypt_secret(row.secret_encrypted) == body["keySecret"]


@pytest.mark.django_db
def test_the_new_secret_signs_requests_as_that_sub_account(api, tenant, worker):
    sub, _ = worker
    body = api.call("POST", _keys_url(sub), creds=tenant.root).json()
    creds = Credentials(body["accessKey"], body["keySecret"])
    response = api.call("GET", LIST, creds=creds)
    assert response.status_code == 200, response.content
    assert [i["loginId"] for i in response.json()["items"]] == ["worker"]
    # The sub account's policies apply to it, not the root's powers.
    response = api.call("POST", _keys_url(sub), creds=creds)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "210"
    assert AccessKey.objects.filter(sub_account=sub).count() == 2


@pytest.mark.django_db
def test_list_shows_keys_without_secrets(api, tenant, worker):
    sub, first = worker
    second = api.call("POST", _keys_url(sub), creds=tenant.root).json()
    other, other_creds = make_sub_account(tenant, "other")
    response = api.call("GET", _keys_url(sub), creds=tenant.root)
    assert response.status_code == 200, response.content
    items = response.json()
    assert [i["accessKey"] for i in items] == [first.access_key, second["accessKey"]]
    for item in items:
        assert set(item) == {"accessKey", "active", "createTime", "lastUsedTime"}
        assert item["active"] is True
        assert TIME_RE.match(item["createTime"])
    text = response.content.decode()
    for secret in (first.secret, second["keySecret"], other_creds.secret):
        assert secret not in text
    assert other_creds.access_key not in text
    for row in AccessKey.objects.filter(sub_account=sub):
        assert row.secret_encrypted not in text


@pytest.mark.django_db
def test_last_used_time_is_set_when_the_key_is_used(api, tenant, worker):
    sub, creds = worker
    assert api.call("GET", _keys_url(sub), creds=tenant.root).json()[0]["lastUsedTime"] is None
    before = timezone.now().replace(microsecond=0)
    assert api.call("GET", LIST, creds=creds).status_code == 200
    item = api.call("GET", _keys_url(sub), creds=tenant.root).json()[0]
    assert TIME_RE.match(item["lastUsedTime"])
    row = AccessKey.objects.get(access_key=creds.access_key)
    assert before <= row.last_used_time <= timezone.now()


@pytest.mark.django_db
def test_a_third_key_is_refused(api, tenant, worker):
    sub, _ = worker
    assert api.call("POST", _keys_url(sub), creds=tenant.root).status_code == 200
    before = set(AccessKey.objects.values_list("access_key", flat=True))
    response = api.call("POST", _keys_url(sub), creds=tenant.root)
    assert response.status_code == 409, response.content
    assert response.json()["errorCode"] == 9012
    assert "2" in response.json()["message"]
    assert set(AccessKey.objects.values_list("access_key", flat=True)) == before
    # Another sub account has its own allowance.
    other, _ = make_sub_account(tenant, "other")
    assert api.call("POST", _keys_url(other), creds=tenant.root).status_code == 200


@pytest.mark.django_db
def test_disable_and_enable_a_key(api, tenant, worker):
    sub, creds = worker
    response = api.call("PUT", _keys_url(sub), {"accessKey": creds.access_key, "active": False}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": creds.access_key}
    assert AccessKey.objects.get(access_key=creds.access_key).active is False
    _auth_failed(api.call("GET", LIST, creds=creds), "access key is disabled")
    assert api.call("GET", _keys_url(sub), creds=tenant.root).json()[0]["active"] is False

    response = api.call("PUT", _keys_url(sub), {"accessKey": creds.access_key, "active": True}, creds=tenant.root)
    assert response.status_code == 200, response.content
    assert AccessKey.objects.get(access_key=creds.access_key).active is True
    assert api.call("GET", LIST, creds=creds).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"active": False}, "accessKey"),
        ({"accessKey": "x"}, "active"),
        ({"accessKey": "x", "active": "sometimes"}, "active"),
    ],
)
def test_key_state_change_needs_a_key_and_a_boolean(api, tenant, worker, body, field):
    sub, creds = worker
    if body.get("accessKey") == "x":
        body = body | {"accessKey": creds.access_key}
    response = api.call("PUT", _keys_url(sub), body, creds=tenant.root)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["fieldErrors"]] == [field]
    assert AccessKey.objects.get(access_key=creds.access_key).active is True


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["body", "query"])
def test_delete_a_key(api, tenant, worker, where):
    sub, creds = worker
    second = api.call("POST", _keys_url(sub), creds=tenant.root).json()
    if where == "body":
        response = api.call("DELETE", _keys_url(sub), {"accessKey": creds.access_key}, creds=tenant.root)
    else:
        response = _bodiless(api, "DELETE", f"{_keys_url(sub)}?accessKey={creds.access_key}", tenant.root)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "id": creds.access_key}
    assert list(AccessKey.objects.filter(sub_account=sub).values_list("access_key", flat=True)) == [second["accessKey"]]
    _auth_failed(api.call("GET", LIST, creds=creds), REFUSED)
    assert api.call("GET", LIST, creds=Credentials(second["accessKey"], second["keySecret"])).status_code == 200
    # Room for a new key again.
    assert api.call("POST", _keys_url(sub), creds=tenant.root).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("body", [None, {}, {"accessKey": ""}])
def test_delete_without_a_key_is_refused(api, tenant, worker, body):
    sub, _ = worker
    if body is None:
        response = _bodiless(api, "DELETE", _keys_url(sub), tenant.root)
    else:
        response = api.call("DELETE", _keys_url(sub), body, creds=tenant.root)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["fieldErrors"]] == ["accessKey"]
    assert AccessKey.objects.filter(sub_account=sub).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_unknown_or_another_sub_accounts_key_is_not_found(api, tenant, other_tenant, worker, method):
    sub, _ = worker
    _, sibling = make_sub_account(tenant, "sibling")
    _, foreign = make_sub_account(other_tenant, "foreign")
    for access_key in ("ncp_iam_DOESNOTEXIST0000000", sibling.access_key, foreign.access_key, tenant.root.access_key):
        body = {"accessKey": access_key, "active": False} if method == "PUT" else {"accessKey": access_key}
        response = api.call(method, _keys_url(sub), body, creds=tenant.root)
        assert response.status_code == 404, response.content
        assert response.json()["errorCode"] == 30
        assert [e["field"] for e in response.json()["fieldErrors"]] == ["accessKey"]
    for creds in (sibling, foreign, tenant.root):
        assert AccessKey.objects.get(access_key=creds.access_key).active is True
    assert api.call("GET", LIST, creds=sibling).status_code == 401  # no policy, but the key still authenticates
    assert api.call("GET", LIST, creds=sibling).json()["error"]["errorCode"] == "210"


@pytest.mark.django_db
def test_keys_of_another_sub_account_are_not_listed(api, tenant, worker):
    sub, creds = worker
    _, sibling = make_sub_account(tenant, "sibling")
    items = api.call("GET", _keys_url(sub), creds=tenant.root).json()
    assert [i["accessKey"] for i in items] == [creds.access_key]


@pytest.mark.django_db
def test_the_v1_signature_header_is_accepted(api, tenant, worker):
    _, creds = worker
    headers = signed_headers(creds.access_key, creds.secret, "GET", LIST)
    headers[SIGNATURE_V1_HEADER] = headers.pop(SIGNATURE_V2_HEADER)
    response = api.call("GET", LIST, creds=None, headers=headers)
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["loginId"] == "worker"
    headers[SIGNATURE_V1_HEADER] = signed_headers(creds.access_key, "wrong", "GET", LIST)[SIGNATURE_V2_HEADER]
    _auth_failed(api.call("GET", LIST, creds=None, headers=headers), REFUSED)


@pytest.mark.django_db
def test_an_expired_key_is_refused(api, tenant, worker):
    _, creds = worker
    AccessKey.objects.filter(access_key=creds.access_key).update(expire_time=timezone.now() - timedelta(seconds=1))
    _auth_failed(api.call("GET", LIST, creds=creds), "access key has expired")
    AccessKey.objects.filter(access_key=creds.access_key).update(expire_time=timezone.now() + timedelta(minutes=5))
    assert api.call("GET", LIST, creds=creds).status_code == 200


@pytest.mark.django_db
def test_keys_of_a_suspended_main_account_are_refused(api, tenant, other_tenant, worker):
    _, creds = worker
    _, theirs = make_sub_account(other_tenant, "theirs", policy_ids=[VIEWER])
    account_set_active(account=tenant.account, active=False)
    _auth_failed(api.call("GET", LIST, creds=creds), "account is suspended")
    _auth_failed(api.call("GET", LIST, creds=tenant.root), "account is suspended")
    assert api.call("GET", LIST, creds=theirs).status_code == 200
    account_set_active(account=tenant.account, active=True)
    assert api.call("GET", LIST, creds=creds).status_code == 200


@pytest.mark.django_db
def test_a_sub_account_with_the_key_actions_manages_keys(api, tenant, worker):
    sub, _ = worker
    _, manager = make_sub_account(
        tenant,
        "keyadmin",
        actions=[
            "View/getSubAccountAccessKey",
            "Change/createSubAccountAccessKey",
            "Change/manageSubAccountAccessKeyState",
        ],
    )
    created = api.call("POST", _keys_url(sub), creds=manager)
    assert created.status_code == 200, created.content
    new_key = created.json()["accessKey"]
    assert len(api.call("GET", _keys_url(sub), creds=manager).json()) == 2
    assert api.call("PUT", _keys_url(sub), {"accessKey": new_key, "active": False}, creds=manager).status_code == 200
    response = api.call("DELETE", _keys_url(sub), {"accessKey": new_key}, creds=manager)
    assert response.status_code == 401
    assert "deleteSubAccountAccessKey" in response.json()["error"]["details"]
    assert AccessKey.objects.filter(access_key=new_key, active=False).exists()

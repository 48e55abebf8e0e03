"""Real NCP clients as installed from PyPI, each signing the URI its own way, against this service.

- httpx-ncloud signs ``/path?`` (a bare trailing ``?``) for a call without a query, and sends ``/path``.
- ncloud-server (NCP's generated SDK) signs query values raw (``searchWord=ops team``) and sends them encoded.
"""

import json

import httpx
import pytest
from django.test import Client
from httpx_ncloud import NcloudClient
from ncloud_server.api_client import ApiClient
from ncloud_server.configuration import Configuration
from ncloud_server.rest import ApiException

from iam.models import SubAccount
from iam.services.groups import group_create
from tests.conftest import make_sub_account, make_tenant


def _django_transport() -> httpx.MockTransport:
    """Hands each request httpx-ncloud built (signed headers, URI as sent) to Django's test client, in-process and
    inside the test's transaction."""
    django_client = Client()

    def handle(request: httpx.Request) -> httpx.Response:
        sent = request.url.raw_path.decode("ascii")
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in request.headers.items()}
        meta.pop("HTTP_CONTENT_TYPE", None)
        response = django_client.generic(
            request.method,
            sent,
            data=request.content,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            RAW_URI=sent,
            **meta,
        )
        return httpx.Response(response.status_code, headers=dict(response.items()), content=response.content)

    return httpx.MockTransport(handle)


def _httpx_ncloud(access_key: str, secret: str) -> NcloudClient:
    return NcloudClient(
        access_key=access_key, secret_key=secret, transport=_django_transport(), base_url="http://testserver"
    )


@pytest.fixture
def httpx_client(tenant):
    with _httpx_ncloud(tenant.root.access_key, tenant.root.secret) as client:
        yield client


@pytest.mark.django_db
def test_httpx_ncloud_calls_without_a_query_are_accepted(httpx_client, tenant):
    response = httpx_client.get("/api/v1/dashboard")
    assert response.status_code == 200, response.text
    assert response.json()["subAccountCount"] == 0


@pytest.mark.django_db
def test_httpx_ncloud_calls_with_a_query_and_writes_are_accepted(httpx_client, tenant):
    group_create(account=tenant.account, name="ops team", description="")
    listed = httpx_client.get("/api/v1/groups", params={"searchColumn": "groupName", "searchWord": "ops team"})
    assert listed.status_code == 200, listed.text
    assert [g["groupName"] for g in listed.json()["items"]] == ["ops team"]
    created = httpx_client.post("/api/v1/groups", json={"groupName": "platform", "groupDescription": "x"})
    assert created.status_code == 200, created.text
    assert created.json()["success"] is True


@pytest.mark.django_db
def test_httpx_ncloud_with_the_wrong_secret_is_refused(tenant):
    with _httpx_ncloud(tenant.root.access_key, "not-the-secret") as client:
        assert client.get("/api/v1/dashboard").status_code == 401


def _ncloud_sdk(base_url: str, access_key: str, secret: str) -> ApiClient:
    configuration = Configuration()
    configuration.host = f"{base_url}/api/v1"
    configuration.access_key = access_key
    configuration.secret_key = secret
    return ApiClient(configuration)


def _sdk_get(client: ApiClient, path: str, query: list[tuple[str, str]]):
    # Connection: close, so the live server's request thread ends with the call, not later in another test.
    response, status, _ = client.call_api(
        path,
        "GET",
        query_params=query,
        header_params={"Connection": "close"},
        auth_settings=["x-ncp-iam"],
        _preload_content=False,
    )
    return status, response.data


@pytest.mark.django_db(transaction=True)
def test_ncloud_sdk_signs_raw_query_values_and_is_accepted(live_server):
    tenant = make_tenant("Sdk", member_no=4100)
    make_sub_account(tenant, "alice")
    SubAccount.objects.filter(login_id="alice").update(name="Alice Reader")
    make_sub_account(tenant, "bob")
    client = _ncloud_sdk(live_server.url, tenant.root.access_key, tenant.root.secret)
    status, body = _sdk_get(
        client, "/sub-accounts", [("searchColumn", "name"), ("searchWord", "Alice Reader"), ("page", "0")]
    )
    assert status == 200
    assert [item["loginId"] for item in json.loads(body)["items"]] == ["alice"]


@pytest.mark.django_db(transaction=True)
def test_ncloud_sdk_with_the_wrong_secret_is_refused(live_server):
    tenant = make_tenant("Sdk", member_no=4101)
    client = _ncloud_sdk(live_server.url, tenant.root.access_key, "not-the-secret")
    with pytest.raises(ApiException) as refused:
        _sdk_get(client, "/sub-accounts", [("searchWord", "Alice Reader")])
    assert refused.value.status == 401

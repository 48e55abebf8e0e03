"""The metadata endpoint: a registered server reads its Server role's id, then a key of that role, exactly as NCP's
Python SDK does (list, then the id); the key signs API calls with the role's policies, is the same until it nears
expiry, and ends with the role, the server or the attachment. Anyone else gets 404 and an empty body."""

import json
from datetime import timedelta

import pytest
import urllib3
from django.test import Client
from django.utils import timezone

from iam.gateway.signing import signed_headers
from iam.models import AccessKey, AuditEvent, Server
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create, role_servers_attach, role_update
from iam.services.servers import server_create, server_delete
from sts.services import server_role_credentials
from tests.conftest import Credentials

LIST = "/latest/meta-data/iam/security-credentials"


def _server_with_role(tenant, *, ip="10.0.0.5", actions=("View/getSubAccountList",), active=True):
    role = role_create(account=tenant.account, name="web-role", role_type="Server")
    policy = policy_create(
        account=tenant.account,
        name="web-policy",
        permissions=[
            {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": ["*"]}]}
        ],
    )
    policies_attach(target=role, policy_ids=[policy.policy_id])
    server, token = server_create(
        account=tenant.account, server_instance_no="3003", name="web-3", private_ip=ip, with_metadata_token=True
    )
    role_servers_attach(role=role, server_instance_nos=["3003"])
    return role, Server.objects.get(pk=server.pk), token


def _read(client: Client, ip="10.0.0.5", **headers):
    """What the SDK's MetadataApiClient does: GET the list URL (trailing slash), the body is the role id, then GET
    the list URL + id and parse the JSON."""
    listed = client.get(LIST + "/", REMOTE_ADDR=ip, headers=headers)
    if listed.status_code != 200:
        return listed, None
    role_id = listed.content.decode("utf-8")
    return listed, client.get(LIST + "/" + role_id, REMOTE_ADDR=ip, headers=headers)


def _creds(response) -> Credentials:
    body = json.loads(response.content)
    return Credentials(body["AccessKeyId"], body["SecretAccessKey"])


@pytest.mark.django_db
def test_a_registered_server_reads_its_role_id_then_a_key_that_signs_with_the_roles_policies(api, tenant):
    role, server, _ = _server_with_role(tenant)
    client = Client()
    listed, keys = _read(client)
    assert listed.status_code == 200
    assert listed["Content-Type"].startswith("text/plain")
    assert listed.content == role.role_no.encode()  # the whole body is the id: no newline
    assert client.get(LIST, REMOTE_ADDR="10.0.0.5").content == role.role_no.encode()
    assert keys.status_code == 200 and keys["Content-Type"] == "application/json"
    assert keys["Cache-Control"] == "no-store"
    body = json.loads(keys.content)
    assert set(body) == {"AccessKeyId", "SecretAccessKey", "Expiration"}
    expiration = timezone.datetime.fromisoformat(body["Expiration"].replace("Z", "+00:00"))
    assert timedelta(hours=5) < expiration - timezone.now() <= timedelta(hours=6)
    key = AccessKey.objects.get(access_key=body["AccessKeyId"])
    assert (key.kind, key.role, key.server, key.source_identity_type, key.source_identity_id) == (
        "TEMPORARY",
        role,
        server,
        "Server",
        "3003",
    )
    creds = _creds(keys)
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 200
    denied = api.call("GET", "/api/v1/groups", creds=creds)
    assert denied.status_code == 401 and "View/getGroupList" in denied.json()["error"]["details"]
    event = AuditEvent.objects.filter(result=AuditEvent.DENIED, action="SubAccount:View/getGroupList").get()
    assert event.actor == f"{role.nrn}/Server/3003" and event.actor_type == "Role"


@pytest.mark.django_db
def test_the_same_key_until_two_thirds_of_its_life_then_a_new_one(tenant, settings):
    _server_with_role(tenant)
    client = Client()
    first = json.loads(_read(client)[1].content)
    assert json.loads(_read(client)[1].content) == first
    assert AccessKey.objects.filter(server__isnull=False).count() == 1
    # Two thirds of its life gone: the next read hands out a new key; the old one works until it expires.
    life = settings.IAM_SERVER_ROLE_KEY_SECONDS
    AccessKey.objects.filter(access_key=first["AccessKeyId"]).update(
        expire_time=timezone.now() + timedelta(seconds=life / 3 - 1)
    )
    second = json.loads(_read(client)[1].content)
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert AccessKey.objects.get(access_key=first["AccessKeyId"]).active
    assert json.loads(_read(client)[1].content) == second


@pytest.mark.django_db
def test_rotation_comes_well_before_the_sdk_refreshes(tenant, settings):
    """NCP's SDK refreshes 15 minutes before Expiration: a new key must be there by then."""
    _, server, _ = _server_with_role(tenant)
    now = timezone.now()
    key, _ = server_role_credentials(server=server, now=now)
    life = settings.IAM_SERVER_ROLE_KEY_SECONDS
    later = now + timedelta(seconds=life * 2 / 3 + 1)
    assert key.expire_time - later > timedelta(minutes=15)
    renewed, _ = server_role_credentials(server=server, now=later)
    assert renewed.pk != key.pk


@pytest.mark.django_db
@pytest.mark.parametrize("ip", ["10.0.0.6", "", "not-an-ip"])
def test_an_unregistered_caller_gets_404_and_nothing_else(tenant, ip):
    _server_with_role(tenant)
    for url in (LIST, LIST + "/", LIST + "/anything"):
        response = Client().get(url, REMOTE_ADDR=ip)
        assert (response.status_code, response.content) == (404, b"")
    assert not AccessKey.objects.filter(server__isnull=False).exists()


@pytest.mark.django_db
def test_a_wrong_role_id_a_server_without_role_or_a_disabled_role_get_404(api, tenant):
    role, server, _ = _server_with_role(tenant)
    client = Client()
    assert client.get(LIST + "/not-the-role", REMOTE_ADDR="10.0.0.5").status_code == 404
    creds = _creds(_read(client)[1])
    role_update(role=role, active=False)
    assert _read(client)[0].status_code == 404
    assert client.get(f"{LIST}/{role.role_no}", REMOTE_ADDR="10.0.0.5").status_code == 404
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 401  # ended at once
    role_update(role=role, active=True)
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 401  # and for good
    fresh = _creds(_read(client)[1])
    assert fresh.access_key != creds.access_key
    assert api.call("GET", "/api/v1/sub-accounts", creds=fresh).status_code == 200


@pytest.mark.django_db
def test_detaching_the_server_or_deleting_it_ends_its_key(api, tenant):
    role, server, _ = _server_with_role(tenant)
    client = Client()
    creds = _creds(_read(client)[1])
    response = api.call(
        "DELETE",
        f"/api/v1/roles/{role.role_no}/entities/servers",
        {"serverInstanceNoList": ["3003"]},
        creds=tenant.root,
    )
    assert response.status_code == 200
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 401
    assert _read(client)[0].status_code == 404
    role_servers_attach(role=role, server_instance_nos=["3003"])
    creds = _creds(_read(client)[1])
    server_delete(server=server)
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 401
    assert not AccessKey.objects.filter(access_key=creds.access_key).exists()


@pytest.mark.django_db
def test_the_token_header_names_the_server_wherever_it_calls_from(tenant, settings):
    role, _, token = _server_with_role(tenant)
    listed, keys = _read(Client(), ip="192.0.2.99", **{"X-Ncloud-Metadata-Token": token})
    assert listed.content == role.role_no.encode() and keys.status_code == 200
    # A wrong token names nobody, even from the server's own address.
    assert _read(Client(), **{"X-Ncloud-Metadata-Token": token + "x"})[0].status_code == 404
    assert _read(Client(), **{"X-Ncloud-Metadata-Token": ""})[0].status_code == 404
    settings.IAM_METADATA_BY_ADDRESS = False
    assert _read(Client())[0].status_code == 404
    assert _read(Client(), ip="192.0.2.99", **{"X-Ncloud-Metadata-Token": token})[0].status_code == 200


@pytest.mark.django_db
def test_an_address_two_accounts_registered_names_nobody(tenant, other_tenant):
    _server_with_role(tenant)
    server_create(account=other_tenant.account, server_instance_no="9", name="theirs", private_ip="10.0.0.5")
    assert _read(Client())[0].status_code == 404


@pytest.mark.django_db
def test_the_trusted_proxys_forwarded_address_identifies_the_server(tenant, settings):
    settings.IAM_TRUSTED_PROXIES = ["127.0.0.1/32"]
    role, _, _ = _server_with_role(tenant)
    response = Client().get(LIST, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.5")
    assert response.content == role.role_no.encode()
    spoofed = Client().get(LIST, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.0.0.5")
    assert spoofed.status_code == 404


@pytest.mark.django_db
def test_only_get_and_head(tenant):
    _server_with_role(tenant)
    assert Client().post(LIST, REMOTE_ADDR="10.0.0.5").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_ncp_python_sdk_flow_over_http_then_a_signed_call(live_server):
    """NCP's ncloud_apikey MetadataApiClient, step by step over real HTTP (urllib3, its User-Agent, the base URL
    from NCLOUD_METADATA_ENDPOINT + '/latest/meta-data/iam/security-credentials/'), then a call signed with the key."""
    from tests.conftest import make_tenant

    tenant = make_tenant("Http", member_no=7007)
    role, _, _ = _server_with_role(tenant, ip="127.0.0.1")
    env = {"NCLOUD_METADATA_ENDPOINT": live_server.url}
    base = env["NCLOUD_METADATA_ENDPOINT"] + "/latest/meta-data/iam/security-credentials/"
    http = urllib3.PoolManager(headers={"User-Agent": "ncloud-sdk"}, retries=2)
    resp = http.request("GET", base)
    assert resp.status == 200
    role_id = resp.data.decode("utf-8")
    assert role_id == role.role_no
    resp = http.request("GET", base + role_id)
    assert resp.status == 200
    creds = json.loads(resp.data.decode("utf-8"))
    expiration = timezone.datetime.fromisoformat(creds["Expiration"])  # what dateutil's parse() reads too
    assert expiration.tzinfo is not None
    uri = "/api/v1/sub-accounts"
    headers = signed_headers(creds["AccessKeyId"], creds["SecretAccessKey"], "GET", uri)
    signed = http.request("GET", live_server.url + uri, headers=headers)
    assert signed.status == 200, signed.data
    # The role's policies decide: its one action passes, anything else is refused.
    uri = "/api/v1/groups"
    refused = http.request(
        "GET", live_server.url + uri, headers=signed_headers(creds["AccessKeyId"], creds["SecretAccessKey"], "GET", uri)
    )
    assert refused.status == 401 and b"View/getGroupList" in refused.data


@pytest.mark.django_db
def test_a_role_disabled_between_the_lookup_and_the_issue_is_404(tenant, monkeypatch):
    role, _, _ = _server_with_role(tenant)
    from sts import metadata

    def disabled_meanwhile(*, server):
        from iam.errors import InvalidInput

        raise InvalidInput.field("roleNrn", "the role is disabled")

    monkeypatch.setattr(metadata, "server_role_credentials", disabled_meanwhile)
    response = Client().get(f"{LIST}/{role.role_no}", REMOTE_ADDR="10.0.0.5")
    assert (response.status_code, response.content) == (404, b"")


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "x" * 5000, "%00", "../../etc/passwd", "%ED%A0%80"])
def test_hostile_tokens_and_role_ids_get_404_never_a_5xx(tenant, bad):
    role, _, token = _server_with_role(tenant)
    client = Client()
    assert client.get(f"{LIST}/{bad}", HTTP_X_NCLOUD_METADATA_TOKEN=token).status_code == 404
    assert client.get(LIST, HTTP_X_NCLOUD_METADATA_TOKEN=bad).status_code == 404
    assert not AccessKey.objects.filter(role=role).exists()

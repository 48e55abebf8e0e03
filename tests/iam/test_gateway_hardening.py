"""The gateway against a hostile caller: replayed signed writes, one refusal body for every signature failure,
aggregated refusal events, a per-source limit on failed signatures, no caching of responses, HTTPS settings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

from iam.gateway import replay
from iam.gateway.authentication import REFUSED
from iam.gateway.signing import now_millis, signed_headers, uri_variants
from iam.models import AccessKey, AuditEvent, UsedSignature
from iam.services.groups import group_create
from iam.tasks import used_signatures_purge_expired
from tests.conftest import Credentials, make_sub_account

ROOT = Path(__file__).resolve().parents[2]


def _send(api, method: str, uri: str, headers: dict, body=None, remote_addr: str = "127.0.0.1"):
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    data = json.dumps(body) if body is not None else ""
    return api.client.generic(
        method, uri, data=data, content_type="application/json", RAW_URI=uri, REMOTE_ADDR=remote_addr, **meta
    )


def _refusals(tenant) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(account=tenant.account, action="Gateway:authenticate").order_by("id"))


@pytest.fixture
def group(tenant):
    return group_create(account=tenant.account, name="ops", description="benign")


# --- replayed signed writes ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_write_replayed_with_another_body_is_refused(api, tenant, group):
    uri = f"/api/v1/groups/{group.group_id}"
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "PUT", uri)
    first = _send(api, "PUT", uri, headers, {"description": "still benign"})
    assert first.status_code == 200, first.content
    replayed = _send(api, "PUT", uri, headers, {"groupName": "hijacked"})
    assert replayed.status_code == 401
    assert replayed.json()["error"] == {"errorCode": "200", "message": "Authentication Failed", "details": REFUSED}
    group.refresh_from_db()
    assert (group.name, group.description) == ("ops", "still benign")
    assert [e.detail["reason"] for e in _refusals(tenant)] == [
        "signature already used: a signed write is accepted once"
    ]


@pytest.mark.django_db
def test_a_replayed_credentials_call_issues_one_secret_only(api, tenant):
    _, creds = make_sub_account(tenant, "worker", actions=["View/getStsSessionToken"])
    uri = "/api/v1/credentials"
    headers = signed_headers(creds.access_key, creds.secret, "POST", uri)
    assert _send(api, "POST", uri, headers, {}).status_code == 200
    assert _send(api, "POST", uri, headers, {}).status_code == 401
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY).count() == 1


@pytest.mark.django_db
def test_a_fresh_signature_of_the_same_write_is_accepted(api, tenant, group):
    uri = f"/api/v1/groups/{group.group_id}"
    for description in ("one", "two"):
        response = api.call("PUT", uri, {"description": description}, creds=tenant.root)
        assert response.status_code == 200, response.content
    group.refresh_from_db()
    assert group.description == "two"


@pytest.mark.django_db
def test_reads_stay_replayable(api, tenant):
    uri = "/api/v1/groups"
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", uri)
    assert [_send(api, "GET", uri, headers).status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.django_db
def test_replay_protection_can_be_turned_off(api, tenant, group, settings):
    settings.IAM_REPLAY_PROTECTION = False
    uri = f"/api/v1/groups/{group.group_id}"
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "PUT", uri)
    assert _send(api, "PUT", uri, headers, {"description": "a"}).status_code == 200
    assert _send(api, "PUT", uri, headers, {"description": "b"}).status_code == 200


@pytest.mark.django_db
def test_the_database_store_refuses_a_replay_when_no_shared_cache_is_configured(api, tenant, group, monkeypatch):
    monkeypatch.setattr(replay, "_shared_cache", lambda: False)
    uri = f"/api/v1/groups/{group.group_id}"
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "PUT", uri)
    assert _send(api, "PUT", uri, headers, {"description": "a"}).status_code == 200
    assert UsedSignature.objects.count() == 1
    assert _send(api, "PUT", uri, headers, {"description": "b"}).status_code == 401


@pytest.mark.django_db
def test_a_dead_shared_cache_falls_back_to_the_database(tenant, monkeypatch):
    def dead(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(replay, "_shared_cache", lambda: True)
    monkeypatch.setattr(replay.cache, "add", dead)
    stamp = int(now_millis())
    assert replay.signature_first_use(access_key="k", signature="s", timestamp_millis=stamp) is True
    assert replay.signature_first_use(access_key="k", signature="s", timestamp_millis=stamp) is False
    assert replay.signature_first_use(access_key="k", signature="other", timestamp_millis=stamp) is True
    assert UsedSignature.objects.count() == 2


@pytest.mark.django_db
def test_the_shared_cache_store_refuses_a_second_use(monkeypatch):
    monkeypatch.setattr(replay, "_shared_cache", lambda: True)  # the local cache stands in for Redis here
    stamp = int(now_millis())
    assert replay.signature_first_use(access_key="k", signature="s", timestamp_millis=stamp) is True
    assert replay.signature_first_use(access_key="k", signature="s", timestamp_millis=stamp) is False
    assert UsedSignature.objects.count() == 1  # the database records it too


@pytest.mark.django_db
def test_a_signature_used_before_a_shared_cache_outage_stays_used_during_and_after_it(monkeypatch):
    monkeypatch.setattr(replay, "_shared_cache", lambda: True)
    stamp = int(now_millis())
    assert replay.signature_first_use(access_key="k", signature="before", timestamp_millis=stamp) is True

    def dead(*args, **kwargs):
        raise ConnectionError("cache is down")

    with monkeypatch.context() as outage:
        outage.setattr(replay.cache, "add", dead)
        assert replay.signature_first_use(access_key="k", signature="before", timestamp_millis=stamp) is False
        assert replay.signature_first_use(access_key="k", signature="during", timestamp_millis=stamp) is True
    cache.clear()  # the cache comes back empty (a restarted Redis keeps nothing)
    assert replay.signature_first_use(access_key="k", signature="during", timestamp_millis=stamp) is False
    assert replay.signature_first_use(access_key="k", signature="before", timestamp_millis=stamp) is False


@pytest.mark.django_db
def test_expired_used_signatures_are_purged(monkeypatch):
    monkeypatch.setattr(replay, "_shared_cache", lambda: False)
    old_stamp = int(now_millis()) - 20 * 60 * 1000
    for stamp, signature in ((old_stamp, "old"), (int(now_millis()), "fresh")):
        assert replay.signature_first_use(access_key="k", signature=signature, timestamp_millis=stamp)
    assert used_signatures_purge_expired() == 1
    assert UsedSignature.objects.count() == 1


# --- one body for every signature failure ---------------------------------------------------------------------


@pytest.mark.django_db
def test_unknown_key_bad_signature_and_bad_timestamps_read_the_same(api, tenant):
    uri = "/api/v1/groups"
    good = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", uri)
    cases = {
        "unknown key": signed_headers("NO-SUCH-KEY-0000000", tenant.root.secret, "GET", uri),
        "bad signature": signed_headers(tenant.root.access_key, "wrong-secret", "GET", uri),
        "stale timestamp": signed_headers(
            tenant.root.access_key, tenant.root.secret, "GET", uri, timestamp=str(int(now_millis()) - 600_000)
        ),
        "malformed timestamp": {**good, "x-ncp-apigw-timestamp": "yesterday"},
    }
    bodies = {name: _send(api, "GET", uri, headers).content for name, headers in cases.items()}
    assert len(set(bodies.values())) == 1, bodies
    assert json.loads(next(iter(bodies.values())))["error"]["details"] == REFUSED
    # The reasons are in the key's own audit trail (the unknown key names no account).
    assert [e.detail["reason"] for e in _refusals(tenant)] == [
        "signature does not match",
        "timestamp is more than 5 minutes from the server clock",
        "x-ncp-apigw-timestamp must be milliseconds since the epoch",
    ]


@pytest.mark.django_db
def test_after_a_valid_signature_the_refusal_says_why(api, tenant):
    AccessKey.objects.filter(access_key=tenant.root.access_key).update(active=False)
    response = api.call("GET", "/api/v1/groups", creds=tenant.root)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "access key is disabled"


# --- refusal events aggregated, failures limited per source -----------------------------------------------------


@pytest.mark.django_db
def test_repeated_refusals_of_one_key_are_one_event_with_a_count(api, tenant):
    wrong = Credentials(tenant.root.access_key, "wrong-secret")
    for _ in range(5):
        assert api.call("GET", "/api/v1/groups", creds=wrong).status_code == 401
    stale = signed_headers(
        tenant.root.access_key, tenant.root.secret, "GET", "/api/v1/groups", timestamp=str(int(now_millis()) - 600_000)
    )
    assert _send(api, "GET", "/api/v1/groups", stale).status_code == 401
    events = _refusals(tenant)
    assert [(e.detail["reason"], e.detail["count"]) for e in events] == [
        ("signature does not match", 5),
        ("timestamp is more than 5 minutes from the server clock", 1),
    ]
    assert "wrong-secret" not in str([e.detail for e in events])


@pytest.mark.django_db
def test_a_source_that_keeps_failing_is_limited_and_others_are_not(api, tenant, settings):
    settings.IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE = 3
    uri = "/api/v1/groups"
    wrong = signed_headers(tenant.root.access_key, "wrong-secret", "GET", uri)
    assert [_send(api, "GET", uri, wrong, remote_addr="203.0.113.9").status_code for _ in range(3)] == [401] * 3
    # Now a failure from that source answers 429 and is recorded no more ...
    limited = _send(api, "GET", uri, wrong, remote_addr="203.0.113.9")
    assert limited.status_code == 429
    assert limited.json()["error"]["errorCode"] == "420"
    assert _refusals(tenant)[0].detail["count"] == 3
    # ... while a good signature from it (another client behind the same NAT) and other sources still get through.
    good = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", uri)
    assert _send(api, "GET", uri, good, remote_addr="203.0.113.9").status_code == 200
    assert _send(api, "GET", uri, wrong, remote_addr="198.51.100.7").status_code == 401
    cache.clear()  # the minute has passed
    assert _send(api, "GET", uri, wrong, remote_addr="203.0.113.9").status_code == 401


@pytest.mark.django_db
def test_unknown_keys_count_towards_the_source_limit(api, tenant, settings):
    settings.IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE = 2
    uri = "/api/v1/groups"
    for n in range(2):
        assert _send(api, "GET", uri, signed_headers(f"GUESS-{n}", "x", "GET", uri)).status_code == 401
    assert _send(api, "GET", uri, signed_headers("GUESS-3", "x", "GET", uri)).status_code == 429
    wrong = signed_headers(tenant.root.access_key, "wrong-secret", "GET", uri)
    assert _send(api, "GET", uri, wrong).status_code == 429  # the same answer for a known key
    good = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", uri)
    assert _send(api, "GET", uri, good).status_code == 200


def _via_proxy(api, uri, headers, forwarded_for: str, proxy: str = "10.0.0.5"):
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return api.client.generic("GET", uri, RAW_URI=uri, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for, **meta)


@pytest.mark.django_db
def test_behind_trusted_proxies_the_caller_is_the_forwarded_address(api, tenant, settings):
    settings.IAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE = 2
    uri = "/api/v1/groups"
    wrong = signed_headers(tenant.root.access_key, "wrong-secret", "GET", uri)
    # The left-most hop is whatever the client wrote; the nearest untrusted hop is who reached our proxies.
    for _ in range(2):
        assert _via_proxy(api, uri, wrong, "1.2.3.4, 203.0.113.9, 10.0.0.7").status_code == 401
    assert _via_proxy(api, uri, wrong, "5.6.7.8, 203.0.113.9").status_code == 429
    assert _via_proxy(api, uri, wrong, "198.51.100.7").status_code == 401  # another caller behind the same proxy
    # One event for the key and reason this minute, from the first caller, counting the later one too.
    assert [(e.source_ip, e.detail["count"]) for e in _refusals(tenant)] == [("203.0.113.9", 3)]


@pytest.mark.django_db
def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(api, tenant, settings):
    settings.IAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    sub, creds = make_sub_account(tenant, "fenced", actions=["View/getGroupList"])
    sub.use_api_allow_source = True
    sub.api_allow_sources = [{"type": "IP", "source": "203.0.113.0/24"}]
    sub.save()
    uri = "/api/v1/groups"
    # From a trusted proxy, the forwarded caller is inside the allow sources ...
    assert (
        _via_proxy(api, uri, signed_headers(creds.access_key, creds.secret, "GET", uri), "203.0.113.9").status_code
        == 200
    )
    # ... but a peer that is not a proxy cannot claim an address by sending the header itself.
    spoofed = _via_proxy(
        api, uri, signed_headers(creds.access_key, creds.secret, "GET", uri), "203.0.113.9", proxy="192.0.2.1"
    )
    assert spoofed.status_code == 401
    assert "allow sources" in spoofed.json()["error"]["details"]


# --- clients that sign the URI a little differently ------------------------------------------------------------


def test_the_accepted_uri_spellings_are_exactly_these():
    assert uri_variants("/api/v1/dashboard") == ("/api/v1/dashboard", "/api/v1/dashboard?")
    assert uri_variants("/a?searchWord=Alice+Reader&x=%2Fy") == (
        "/a?searchWord=Alice+Reader&x=%2Fy",
        "/a?searchWord=Alice Reader&x=/y",
    )
    # Decoding never adds a separator: an encoded & or = keeps the query as sent only.
    assert uri_variants("/a?active%3Dtrue") == ("/a?active%3Dtrue",)
    assert uri_variants("/a?x=1%26active=false&y=a+b") == ("/a?x=1%26active=false&y=a+b",)
    assert uri_variants("/a?page=0") == ("/a?page=0",)
    assert uri_variants("/a%20b?") == ("/a%20b?",)  # the path is never rewritten


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "signed", "status"),
    [
        ("/api/v1/groups", "/api/v1/groups?", 200),
        (
            "/api/v1/groups?searchColumn=groupName&searchWord=ops+team",
            "/api/v1/groups?searchColumn=groupName&searchWord=ops team",
            200,
        ),
        (
            "/api/v1/groups?searchColumn=groupName&searchWord=ops%20team",
            "/api/v1/groups?searchColumn=groupName&searchWord=ops team",
            200,
        ),
        # nothing wider: another query, another path, a trailing ? on a URI that has a query, a decoded path
        ("/api/v1/groups?searchWord=a", "/api/v1/groups?searchWord=b", 401),
        ("/api/v1/groups", "/api/v1/groups/", 401),
        ("/api/v1/groups?page=0", "/api/v1/groups?page=0?", 401),
        ("/api/v1/groups?page=0", "/api/v1/groups", 401),
        ("/api/v1/groups?", "/api/v1/groups", 401),
        ("/api/v1/groups?searchWord%3Dops", "/api/v1/groups?searchWord=ops", 401),
    ],
)
def test_a_signature_over_a_near_spelling_of_the_uri(api, tenant, sent, signed, status):
    group_create(account=tenant.account, name="ops team", description="")
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", signed)
    response = _send(api, "GET", sent, headers)
    assert response.status_code == status, response.content
    if status == 200 and "searchWord" in sent:
        assert [g["groupName"] for g in response.json()["items"]] == ["ops team"]


# --- responses, HTTPS -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_responses_are_never_cached(api, tenant):
    sub, _ = make_sub_account(tenant, "keys")
    created = api.call("POST", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys", creds=tenant.root)
    assert created.status_code == 200, created.content
    assert created.json()["keySecret"]
    listed = api.call("GET", "/api/v1/groups", creds=tenant.root)
    unknown = api.call("GET", "/api/v1/no-such-route", creds=None)
    for response in (created, listed, unknown):
        assert "no-store" in response["Cache-Control"], response


def _deploy_check(env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_ENV": "production", **env},
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr


def test_hsts_and_the_https_redirect_are_read_from_the_environment():
    base = {
        "SECRET_KEY": "x" * 60 + "-not-a-real-key-but-long-and-varied-0123456789",
        "IAM_SECRET_ENCRYPTION_KEY": "n3ZC3ggW3YyTOPsYJlB7wNbRScbx0kwFmpO0QI2nwT4=",
        "ALLOWED_HOSTS": "iam.example.com",
    }
    defaults = _deploy_check(base)
    assert "W004" in defaults and "W008" not in defaults  # HTTPS redirect on by default; HSTS waits for the operator
    configured = _deploy_check({**base, "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true"})
    assert "W004" not in configured and "W005" not in configured and "W008" not in configured
    off = _deploy_check({**base, "SECURE_SSL_REDIRECT": "false"})
    assert "W008" in off


@pytest.mark.django_db
@pytest.mark.parametrize("access_key", ["AB\x00CD", "K" * 450])
def test_an_access_key_that_cannot_exist_is_refused_like_an_unknown_one(api, tenant, access_key):
    headers = signed_headers(access_key, "x", "GET", "/api/v1/groups")
    response = _send(api, "GET", "/api/v1/groups", headers)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == REFUSED

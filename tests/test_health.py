"""/healthz and /readyz: no signature needed, 503 with the failing check, never a secret in the answer."""

import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from iam.models import WorkerHeartbeat

BROKER_PASSWORD = "broker-pa55word"
UNREACHABLE_BROKER = f"redis://:{BROKER_PASSWORD}@127.0.0.1:1/0"


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def embedded_broker(settings):
    """The readiness tests below are about the database and the worker; the broker check is tested on its own."""
    settings.CELERY_BROKER_URL = "filesystem://"


def beat(seconds_ago: float, name: str = "worker-1") -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(name=name, beat_time=timezone.now() - timedelta(seconds=seconds_ago))


@pytest.mark.django_db
def test_healthz_answers_ok_without_a_signature_or_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert response["X-Request-Id"]


@pytest.mark.django_db
def test_readyz_is_ready_with_the_database_the_broker_and_a_fresh_heartbeat(client, embedded_broker, settings):
    settings.READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60
    beat(seconds_ago=300, name="old-worker")
    beat(seconds_ago=10, name="live-worker")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    age = body["checks"]["worker"].pop("ageSeconds")
    assert 10 <= age < 20
    assert body.pop("authzCache") == {"entries": 0, "size": settings.IAM_AUTHZ_CACHE_SIZE, "evictions": 0}
    assert body == {
        "status": "ready",
        "checks": {
            "database": {"status": "ok"},
            "broker": {"status": "ok"},
            "worker": {"status": "ok", "maxAgeSeconds": 60},
        },
    }


@pytest.mark.django_db
def test_readyz_is_not_ready_without_any_heartbeat(client, embedded_broker, settings):
    settings.READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "authzCache" in response.json()  # information only, whatever the checks
    assert {k: v for k, v in response.json().items() if k != "authzCache"} == {
        "status": "not ready",
        "checks": {
            "database": {"status": "ok"},
            "broker": {"status": "ok"},
            "worker": {"status": "error", "error": "NoHeartbeat", "maxAgeSeconds": 60},
        },
    }


@pytest.mark.django_db
def test_readyz_is_not_ready_when_the_newest_heartbeat_is_too_old(client, embedded_broker, settings):
    settings.READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60
    beat(seconds_ago=75)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    worker = body["checks"]["worker"]
    assert (worker["status"], worker["error"], worker["maxAgeSeconds"]) == ("error", "StaleHeartbeat", 60)
    assert 75 <= worker["ageSeconds"] < 90
    assert body["checks"]["database"] == {"status": "ok"}

    # The threshold comes from the setting: the same heartbeat is fresh enough for a laxer one.
    settings.READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 120
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_not_ready_when_the_broker_is_unreachable_and_never_shows_its_url(client, settings):
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    beat(seconds_ago=1)
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5, "the broker check must give up quickly"
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["worker"]["status"] == "ok"
    assert body["checks"]["broker"] == {"status": "error", "error": "OperationalError"}
    text = response.content.decode()
    for leak in (BROKER_PASSWORD, "redis://", "127.0.0.1", "Connection refused"):
        assert leak not in text


@pytest.mark.django_db
def test_readyz_names_only_the_error_class_when_the_database_fails(client, embedded_broker, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError('connection to server failed: password authentication failed for user "iam"')

    def broken_heartbeat():
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("iam.api.views.health.connection.cursor", broken_cursor)
    monkeypatch.setattr("iam.api.views.health.last_worker_heartbeat", broken_heartbeat)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "authzCache" in response.json()  # information only, whatever the checks
    assert {k: v for k, v in response.json().items() if k != "authzCache"} == {
        "status": "not ready",
        "checks": {
            "database": {"status": "error", "error": "OperationalError"},
            "broker": {"status": "ok"},
            "worker": {"status": "error", "error": "OperationalError"},
        },
    }
    assert "password" not in response.content.decode()


@pytest.mark.django_db
def test_probes_ignore_api_signatures_and_accept_only_safe_methods(client, embedded_broker):
    beat(seconds_ago=1)
    headers = {"HTTP_X_NCP_IAM_ACCESS_KEY": "unknown", "HTTP_X_NCP_APIGW_SIGNATURE_V2": "bad"}
    assert client.get("/healthz", **headers).status_code == 200
    assert client.get("/readyz", **headers).status_code == 200
    assert client.head("/readyz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db
def test_probes_are_not_in_the_openapi_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/sub-accounts" in paths
    assert not [path for path in paths if "healthz" in path or "readyz" in path]


@pytest.mark.django_db
def test_the_configured_broker_answers(client):
    """With REDIS_URL set (CI) this connects to the real Redis; on embedded defaults the file broker is always there."""
    beat(seconds_ago=1)
    response = client.get("/readyz")
    assert response.json()["checks"]["broker"] == {"status": "ok"}
    assert response.status_code == 200


@pytest.mark.django_db
def test_readyz_shows_the_authorization_caches_evictions(client, embedded_broker, settings, api):
    from iam.gateway.authz import get_authorizer
    from tests.conftest import make_sub_account, make_tenant

    authorizer = get_authorizer()
    authorizer.compiled_cache.size = 1  # this process's cache, for the test (the fixture clears it again)
    try:
        tenant = make_tenant("Alpha", member_no=2942)
        for login in ("first", "second", "third"):
            _, creds = make_sub_account(tenant, login, actions=["View/getGroupList"])
            assert api.call("GET", "/api/v1/groups", creds=creds).status_code == 200
        shown = client.get("/readyz").json()["authzCache"]
        assert shown == {"entries": 1, "size": 1, "evictions": 2}
    finally:
        authorizer.compiled_cache.size = settings.IAM_AUTHZ_CACHE_SIZE

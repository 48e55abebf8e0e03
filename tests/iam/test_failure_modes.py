"""What the API does when things outside it fail: the shared cache (Redis) is down, or a bug strikes mid-change."""

import pytest

from iam.models import AccessKey, AuditEvent, Group
from tests.conftest import make_sub_account


class _DeadRedis:
    """What django's RedisCache does when Redis is down: every call raises."""

    def get(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    set = get


@pytest.mark.django_db
def test_sub_account_calls_work_with_the_shared_cache_down(api, tenant, monkeypatch):
    _, creds = make_sub_account(tenant, "worker", actions=["Change/createGroup", "View/getGroupList"])
    monkeypatch.setattr("iam.gateway.authz.cache", _DeadRedis())
    response = api.call("POST", "/api/v1/groups", {"groupName": "made-anyway"}, creds=creds)
    assert response.status_code == 200, response.content
    assert Group.objects.filter(name="made-anyway").exists()
    assert api.call("GET", "/api/v1/groups", creds=creds).status_code == 200


@pytest.mark.django_db
def test_an_unexpected_error_after_a_write_rolls_the_write_back(api, tenant, monkeypatch):
    sub, _ = make_sub_account(tenant, "victim")
    before = AccessKey.objects.filter(sub_account=sub).count()

    def broken(*args, **kwargs):
        raise RuntimeError("bug after the key was written")

    # The key is created by the service, then serializing the answer fails.
    monkeypatch.setattr("iam.api.views.sub_accounts.s.serializers.DateTimeField.to_representation", broken)
    response = api.call("POST", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys", creds=tenant.root)
    assert response.status_code == 500
    assert response.json()["error"]["errorCode"] == "900"
    assert AccessKey.objects.filter(sub_account=sub).count() == before
    event = AuditEvent.objects.get(action="SubAccount:Change/createSubAccountAccessKey")
    assert event.result == "Failed"
    assert "secret" not in event.detail

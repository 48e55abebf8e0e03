"""Server roles under parallel requests (PostgreSQL only): a server takes one role however many attach it at once,
and servers reading the metadata endpoint at once all get the one key, not one each."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from iam.models import AccessKey, Server
from iam.services.roles import role_create, role_servers_attach
from iam.services.servers import server_create
from tests.conftest import SignedClient

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serializes writers, so it cannot show a race",
    ),
]


def in_parallel(calls) -> list:
    """Run each callable at the same moment in its own thread (and database connection); their results in order."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results: list = [None] * len(calls)

    def worker(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:  # asserted on below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung (deadlock?)"
    assert [r for r in results if isinstance(r, Exception)] == []
    return results


def test_a_server_takes_one_role_when_many_attach_it_at_once(tenant):
    server_create(account=tenant.account, server_instance_no="6006", name="raced")
    roles = [role_create(account=tenant.account, name=f"srv-{i}", role_type="Server") for i in range(8)]

    def attach(role):
        def call():
            response = SignedClient().call(
                "POST",
                f"/api/v1/roles/{role.role_no}/entities/servers",
                {"serverInstanceNoList": ["6006"]},
                creds=tenant.root,
            )
            return response.status_code

        return call

    statuses = in_parallel([attach(role) for role in roles])
    assert sorted(statuses) == [200] + [409] * 7
    winner = roles[statuses.index(200)]
    assert Server.objects.get().role_id == winner.pk


def test_servers_reading_at_once_get_the_one_key(tenant):
    role = role_create(account=tenant.account, name="srv", role_type="Server")
    server_create(account=tenant.account, server_instance_no="6007", name="reader", private_ip="10.6.0.7")
    role_servers_attach(role=role, server_instance_nos=["6007"])

    def read():
        response = Client().get(f"/latest/meta-data/iam/security-credentials/{role.role_no}", REMOTE_ADDR="10.6.0.7")
        return response.status_code, json.loads(response.content)["AccessKeyId"]

    results = in_parallel([read] * 10)
    assert {status for status, _ in results} == {200}
    assert len({key for _, key in results}) == 1
    assert AccessKey.objects.filter(server__isnull=False).count() == 1


def test_reads_racing_a_detach_neither_deadlock_nor_leave_a_live_key(tenant):
    from django.utils import timezone

    from iam.services.roles import role_servers_detach

    role = role_create(account=tenant.account, name="srv", role_type="Server")
    server_create(account=tenant.account, server_instance_no="6008", name="racer", private_ip="10.6.0.8")
    role_servers_attach(role=role, server_instance_nos=["6008"])

    def read():
        return (
            Client()
            .get(f"/latest/meta-data/iam/security-credentials/{role.role_no}", REMOTE_ADDR="10.6.0.8")
            .status_code
        )

    def detach():
        role_servers_detach(role=role, server_instance_nos=["6008"])
        return "detached"

    results = in_parallel([read] * 6 + [detach])
    assert results[-1] == "detached"
    assert set(results[:-1]) <= {200, 404}
    live = AccessKey.objects.filter(server__isnull=False, active=True, expire_time__gt=timezone.now())
    assert not live.exists()

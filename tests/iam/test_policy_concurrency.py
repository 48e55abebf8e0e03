"""The 500-policy limit and unique names hold when creates really run in parallel (PostgreSQL only).

Each thread has its own database connection and sends a real signed request; a barrier releases them together.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

from iam.models import Account, Policy
from tests.conftest import SignedClient

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serializes writers, so it cannot show a race",
    ),
]

DOC = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]


def create_in_parallel(creds, names: list[str]) -> list:
    """POST /policies once per name, all at the same moment; returns (status, body) or the exception per call."""
    barrier = threading.Barrier(len(names), timeout=60)
    results: list = [None] * len(names)

    def worker(index: int) -> None:
        try:
            client = SignedClient()
            connection.ensure_connection()
            barrier.wait()
            response = client.call(
                "POST", "/api/v1/policies", {"policyName": names[index], "permissions": DOC}, creds=creds
            )
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # recorded and asserted on below: a thread must not swallow a failure
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a create hung (deadlock?)"
    errors = [r for r in results if not isinstance(r, tuple)]
    assert errors == [], errors
    return results


def test_the_policy_limit_holds_under_parallel_creates(tenant):
    limit = settings.IAM_MAX_POLICIES
    assert limit == 500
    account = tenant.account
    Policy.objects.bulk_create(
        Policy(account=account, name=f"existing{i:03d}", policy_type=Policy.USER_CREATED, permissions=DOC)
        for i in range(480)
    )
    Account.objects.filter(pk=account.pk).update(policy_count=480)

    results = create_in_parallel(tenant.root, [f"parallel{i:02d}" for i in range(50)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 20 + [409] * 30, statuses
    created = {body["id"] for status, body in results if status == 200}
    assert all(body["success"] is True for status, body in results if status == 200)
    refused = [body for status, body in results if status == 409]
    assert {body["errorCode"] for body in refused} == {9012}
    assert all("at most 500" in body["message"] for body in refused)
    account.refresh_from_db()
    assert Policy.objects.filter(account=account).count() == 500
    assert account.policy_count == 500
    assert (
        set(Policy.objects.filter(account=account, name__startswith="parallel").values_list("policy_id", flat=True))
        == created
    )


def test_parallel_creates_with_the_same_name_make_one_policy(tenant):
    results = create_in_parallel(tenant.root, ["same-name"] * 20)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 19, statuses
    refused = [body for status, body in results if status == 409]
    assert {body["errorCode"] for body in refused} == {9011}
    assert all(body["fieldErrors"] == [{"field": "policyName", "message": "already in use"}] for body in refused)
    account = Account.objects.get(pk=tenant.account.pk)
    assert list(Policy.objects.filter(account=account).values_list("name", flat=True)) == ["same-name"]
    assert account.policy_count == 1

"""The scheduled jobs and the outbox through a real Celery worker on PostgreSQL and Redis.

Each job is queued to the worker started by the ``worker`` fixture; its effect is read from the database (the worker
shares the test database, so these tests commit: ``transaction=True``). No ``serialized_rollback``: these tests do not
use the seeded system policies, and restoring the serialized rows after another transactional test's flush (which
re-creates content types under new ids) fails on the content types' unique key.
"""

import io
import json
import socket
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from iam.models import AccessKey, Account, AuditEvent, OutboxMessage, Policy, SubAccount, WorkerHeartbeat
from iam.services.policies import policy_create
from iam.tasks import (
    audit_events_purge_old,
    inactive_sub_accounts_disable_all,
    outbox_relay,
    policy_counter_reconcile_all,
    worker_heartbeat,
)
from sts.tasks import expired_temporary_keys_purge
from tests.conftest import make_sub_account, make_tenant
from tests.integration.conftest import AVAILABLE, NEEDS, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.real_broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not AVAILABLE, reason=NEEDS),
]

RECONCILE = "iam.tasks.policy_counter_reconcile_account"
SUSPEND = "SubAccount:Change/suspendSubAccount"
DOC = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def counters() -> dict[int, tuple[int, int]]:
    """member_no -> (stored policy counter, user-defined policy rows)."""
    return {
        a.member_no: (a.policy_count, Policy.objects.filter(account=a, policy_type=Policy.USER_CREATED).count())
        for a in Account.objects.all()
    }


def events(action: str) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action=action)
        .order_by("id")
        .values_list("account_id", "actor", "actor_type", "detail")
    )


def test_the_worker_runs_the_heartbeat_and_readyz_sees_it(worker, client):
    assert WorkerHeartbeat.objects.count() == 0
    assert client.get("/readyz").json()["checks"]["worker"]["error"] == "NoHeartbeat"
    marker = timezone.now()
    worker_heartbeat.apply_async()
    beat = wait_for(lambda: WorkerHeartbeat.objects.filter(beat_time__gt=marker).first(), "a heartbeat")
    assert beat.name == socket.gethostname()

    worker_heartbeat.apply_async()
    wait_for(lambda: WorkerHeartbeat.objects.filter(beat_time__gt=beat.beat_time).exists(), "a second heartbeat")
    assert WorkerHeartbeat.objects.count() == 1

    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["worker"]["status"] == "ok"


def test_policy_counter_reconcile_all_repairs_drift_once(worker):
    first, second = make_tenant("Alpha", member_no=2942), make_tenant("Beta", member_no=3001)
    for name in ("one", "two"):
        policy_create(account=first.account, name=name, permissions=DOC)
    policy_create(account=second.account, name="one", permissions=DOC)
    worker.drain()  # the creates queued their own counter checks; let them run before the counter drifts
    Account.objects.filter(pk=first.account.pk).update(policy_count=9)
    assert counters() == {2942: (9, 2), 3001: (1, 1)}

    policy_counter_reconcile_all.apply_async()
    wait_for(lambda: counters() == {2942: (2, 2), 3001: (1, 1)}, "the counter to be repaired")
    repaired = events("System:reconcilePolicyCounter")
    assert repaired == [(first.account.pk, "system:policy_counter_reconcile", "System", {"was": 9, "now": 2})]

    policy_counter_reconcile_all.apply_async()
    worker.drain()
    assert counters() == {2942: (2, 2), 3001: (1, 1)}
    assert events("System:reconcilePolicyCounter") == repaired


def test_inactive_sub_accounts_disable_all_disables_stale_sub_accounts_once(worker, api):
    tenant = make_tenant("Alpha", member_no=2942)
    Account.objects.filter(pk=tenant.account.pk).update(
        use_long_term_unused_deactivation=True, long_term_unused_days=30
    )
    stale, stale_creds = make_sub_account(tenant, "stale", actions=["View/getSubAccountList"])
    used, _ = make_sub_account(tenant, "used")
    make_sub_account(tenant, "new")
    SubAccount.objects.filter(pk__in=[stale.pk, used.pk]).update(create_time=ago(60))
    AccessKey.objects.filter(sub_account=used).update(last_used_time=ago(2))

    inactive_sub_accounts_disable_all.apply_async()
    wait_for(lambda: not SubAccount.objects.get(pk=stale.pk).active, "the stale sub account to be disabled")
    assert dict(SubAccount.objects.values_list("login_id", "active")) == {"stale": False, "used": True, "new": True}
    disabled = events(SUSPEND)
    assert disabled == [
        (
            tenant.account.pk,
            "system",
            "System",
            {"reason": "unused for more than 30 days", "job": "inactive_sub_accounts_disable"},
        )
    ]
    response = api.call("GET", "/api/v1/sub-accounts", creds=stale_creds)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "sub account is suspended"

    inactive_sub_accounts_disable_all.apply_async()
    worker.drain()
    assert dict(SubAccount.objects.values_list("login_id", "active")) == {"stale": False, "used": True, "new": True}
    assert events(SUSPEND) == disabled


def test_audit_events_purge_old_deletes_events_past_retention_once(worker, settings):
    tenant = make_tenant("Alpha", member_no=2942)
    old = [
        AuditEvent.objects.create(
            time=ago(400 + n),
            account=tenant.account,
            actor="x",
            actor_type="System",
            action="System:old",
            result="Success",
        )
        for n in range(3)
    ]
    recent = AuditEvent.objects.create(
        time=ago(30), account=tenant.account, actor="x", actor_type="System", action="System:recent", result="Success"
    )
    assert settings.AUDIT_RETENTION_DAYS == 365  # the worker runs with the default retention

    audit_events_purge_old.apply_async()
    wait_for(lambda: not AuditEvent.objects.filter(action="System:old").exists(), "the old events to be purged")
    remaining = set(AuditEvent.objects.values_list("id", flat=True))
    assert recent.pk in remaining
    assert not remaining & {e.pk for e in old}

    audit_events_purge_old.apply_async()
    worker.drain()
    assert set(AuditEvent.objects.values_list("id", flat=True)) == remaining


def test_expired_temporary_keys_purge_deletes_expired_keys_once(worker, api):
    tenant = make_tenant("Alpha", member_no=2942)
    _, creds = make_sub_account(tenant, "sts", actions=["View/getStsSessionToken"])
    issued = [api.call("POST", "/api/v1/credentials", {}, creds=creds).json()["accessKey"] for _ in range(2)]
    AccessKey.objects.filter(access_key=issued[0]).update(expire_time=ago(1))

    expired_temporary_keys_purge.apply_async()
    wait_for(lambda: not AccessKey.objects.filter(access_key=issued[0]).exists(), "the expired key to be purged")
    assert set(AccessKey.objects.filter(account=tenant.account).values_list("access_key", flat=True)) == {
        tenant.root.access_key,
        creds.access_key,
        issued[1],
    }
    purged = events("System:purgeExpiredTemporaryKeys")
    assert purged == [(None, "system:expired_temporary_keys_purge", "System", {"deleted": 1})]

    expired_temporary_keys_purge.apply_async()
    worker.drain()
    assert AccessKey.objects.filter(access_key=issued[1]).exists()
    assert events("System:purgeExpiredTemporaryKeys") == purged


def test_outbox_relay_sends_pending_messages_and_the_worker_runs_them(worker):
    tenant = make_tenant("Alpha", member_no=2942)
    policy_create(account=tenant.account, name="one", permissions=DOC)
    worker.drain()  # the create queued its own counter check; let it run before the counter drifts
    OutboxMessage.objects.all().delete()  # only the message below is pending
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=4)
    message = OutboxMessage.objects.create(task=RECONCILE, args=[tenant.account.pk])

    outbox_relay.apply_async()
    # The worker's relay sends the message; the worker then runs it and repairs the counter.
    wait_for(lambda: counters() == {2942: (1, 1)}, "the relayed reconcile to run")
    message.refresh_from_db()
    assert (message.dispatch_time is not None, message.attempts, message.last_error) == (True, 0, "")
    repaired = events("System:reconcilePolicyCounter")
    assert repaired == [(tenant.account.pk, "system:policy_counter_reconcile", "System", {"was": 4, "now": 1})]

    outbox_relay.apply_async()
    worker.drain()
    worker.drain()  # anything the second relay had sent would have run before this second heartbeat
    assert events("System:reconcilePolicyCounter") == repaired
    assert OutboxMessage.objects.filter(dispatch_time__isnull=True).count() == 0


def test_with_redis_unavailable_an_api_write_succeeds_and_its_work_runs_once_redis_is_back(worker, api):
    tenant = make_tenant("Alpha", member_no=2942)
    body = {"policyName": "offline", "permissions": DOC}
    with worker.broker_down():
        started = time.monotonic()
        response = api.call("POST", "/api/v1/policies", body, creds=tenant.root)
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    policy = Policy.objects.get(account=tenant.account, name="offline")
    assert response.json() == {"success": True, "id": policy.policy_id}
    # The request does not wait out connection retries to a broker that is down (it took ~6 s before the outbox
    # failed fast); 4 s leaves a slow CI machine plenty of room.
    assert elapsed < 4
    message = OutboxMessage.objects.get()
    assert (message.task, message.args, message.dispatch_time, message.attempts) == (
        RECONCILE,
        [tenant.account.pk],
        None,
        1,
    )
    assert "OperationalError" in message.last_error and "127.0.0.1:1" in message.last_error
    # Let the counter drift so the follow-up's effect shows.
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=6)

    # Redis is back. Nothing reached the worker while it was down:
    worker.drain()
    assert counters() == {2942: (6, 1)}
    assert events("System:reconcilePolicyCounter") == []

    out = io.StringIO()
    call_command("outbox_relay", "--once", stdout=out)
    assert json.loads(out.getvalue()) == {"sent": 1, "pending": 0}
    wait_for(lambda: counters() == {2942: (1, 1)}, "the follow-up to run")
    message.refresh_from_db()
    assert message.dispatch_time is not None
    assert message.attempts == 1
    assert events("System:reconcilePolicyCounter") == [
        (tenant.account.pk, "system:policy_counter_reconcile", "System", {"was": 6, "now": 1})
    ]

"""The transactional outbox: a message is written with the change, sent after commit, kept pending when the broker
refuses it, and sent by the relay (oldest first) once the broker takes it again."""

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from iam import outbox
from iam.models import Account, OutboxMessage, Policy
from iam.tasks import outbox_relay

RECONCILE = "iam.tasks.policy_counter_reconcile_account"
DOC = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]


def pending(task: str, *args, **kwargs) -> OutboxMessage:
    return OutboxMessage.objects.create(task=task, args=list(args), kwargs=kwargs)


def state(message: OutboxMessage) -> tuple:
    message.refresh_from_db()
    return message.dispatch_time is not None, message.attempts, message.last_error


def broker_refusing(monkeypatch, refuse=lambda message: True):
    """Replace the publisher with one that records each attempt and raises ConnectionError where ``refuse`` says."""
    attempts = []

    def publish(message):
        attempts.append(message.task)
        if refuse(message):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("iam.outbox._publish", publish)
    return attempts


@pytest.mark.django_db
def test_enqueue_in_a_transaction_that_rolls_back_leaves_no_message(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                outbox.enqueue(RECONCILE, 1)
                assert OutboxMessage.objects.count() == 1
                raise RuntimeError("the change failed")
    assert OutboxMessage.objects.count() == 0
    assert callbacks == []
    assert published == []


@pytest.mark.django_db
def test_after_commit_the_message_is_published_and_marked_sent(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = outbox.enqueue(RECONCILE, 42, reason="test")
        # Not sent before the commit callbacks run.
        assert published == []
        assert state(message) == (False, 0, "")
    assert len(callbacks) == 1
    assert published == [(RECONCILE, [42], {"reason": "test"})]
    assert state(message) == (True, 0, "")

    # Dispatching a sent message again sends nothing.
    assert outbox.dispatch(message.pk) is True
    assert published == [(RECONCILE, [42], {"reason": "test"})]


@pytest.mark.django_db
@pytest.mark.real_broker
def test_a_publish_failure_leaves_the_message_pending_with_the_error(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    attempts = broker_refusing(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="iam.outbox"):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                message = outbox.enqueue(RECONCILE, 7)
    assert attempts == [RECONCILE]
    assert state(message) == (False, 1, "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    assert [r.getMessage() for r in caplog.records if r.name == "iam.outbox"] == [
        f"outbox: broker refused message {message.pk} (ConnectionError); the relay will retry"
    ]

    assert outbox.dispatch(message.pk) is False
    assert state(message)[:2] == (False, 2)


@pytest.mark.django_db
def test_relay_sends_pending_messages_oldest_first_and_stops_at_the_first_failure(monkeypatch):
    already_sent = pending("iam.tasks.sent_before")
    OutboxMessage.objects.filter(pk=already_sent.pk).update(dispatch_time=timezone.now())
    first, second, third, fourth = (pending(f"iam.tasks.t{n}", n) for n in range(1, 5))
    attempts = broker_refusing(monkeypatch, refuse=lambda message: message.task == "iam.tasks.t3")

    assert outbox.relay() == (2, 2)
    assert attempts == ["iam.tasks.t1", "iam.tasks.t2", "iam.tasks.t3"]
    assert [state(m)[:2] for m in (first, second, third, fourth)] == [(True, 0), (True, 0), (False, 1), (False, 0)]

    # The broker is back: the rest go, still oldest first; nothing sent is sent again.
    attempts = broker_refusing(monkeypatch, refuse=lambda message: False)
    assert outbox.relay() == (2, 0)
    assert attempts == ["iam.tasks.t3", "iam.tasks.t4"]
    assert all(state(m)[0] for m in (first, second, third, fourth))
    assert outbox.relay() == (0, 0)


@pytest.mark.django_db
def test_relay_sends_at_most_its_limit(published):
    for n in range(5):
        pending(f"iam.tasks.t{n}")
    assert outbox.relay(limit=3) == (3, 2)
    assert [task for task, _, _ in published] == ["iam.tasks.t0", "iam.tasks.t1", "iam.tasks.t2"]


@pytest.mark.django_db
def test_the_outbox_relay_task_returns_how_many_it_sent(published):
    pending(RECONCILE, 1)
    pending(RECONCILE, 2)
    assert outbox_relay() == 2
    assert published == [(RECONCILE, [1], {}), (RECONCILE, [2], {})]
    assert OutboxMessage.objects.filter(dispatch_time__isnull=True).count() == 0
    assert outbox_relay() == 0


@pytest.mark.django_db
def test_a_policy_create_through_the_api_queues_the_counter_check(
    api, tenant, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.call("POST", "/api/v1/policies", {"policyName": "queued", "permissions": DOC}, creds=tenant.root)
    assert response.status_code == 200
    policy = Policy.objects.get(account=tenant.account, name="queued")
    assert response.json() == {"success": True, "id": policy.policy_id}
    assert published == [(RECONCILE, [tenant.account.pk], {})]
    message = OutboxMessage.objects.get()
    assert (message.task, message.args, message.kwargs) == (RECONCILE, [tenant.account.pk], {})
    assert state(message) == (True, 0, "")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.call("DELETE", f"/api/v1/policies/{policy.policy_id}", creds=tenant.root)
    assert response.status_code == 200
    assert published == [(RECONCILE, [tenant.account.pk], {})] * 2


@pytest.mark.django_db
@pytest.mark.real_broker
def test_with_the_broker_down_an_api_write_still_succeeds_and_its_work_waits(
    api, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    attempts = broker_refusing(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.call(
            "POST", "/api/v1/policies", {"policyName": "offline", "permissions": DOC}, creds=tenant.root
        )
    assert response.status_code == 200
    policy = Policy.objects.get(account=tenant.account, name="offline")
    assert response.json() == {"success": True, "id": policy.policy_id}
    assert Account.objects.get(pk=tenant.account.pk).policy_count == 1
    assert attempts == [RECONCILE]
    message = OutboxMessage.objects.get()
    assert (message.args, message.dispatch_time, message.attempts) == ([tenant.account.pk], None, 1)
    assert message.last_error.startswith("ConnectionError: ")


@pytest.mark.django_db
@pytest.mark.real_broker
def test_an_unexpected_failure_while_dispatching_does_not_fail_the_committed_change(
    api, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    def dispatch_breaks(message_id):
        raise RuntimeError("the outbox table is locked")

    monkeypatch.setattr("iam.outbox.dispatch", dispatch_breaks)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.call("POST", "/api/v1/policies", {"policyName": "robust", "permissions": DOC}, creds=tenant.root)
    assert response.status_code == 200
    assert Policy.objects.filter(account=tenant.account, name="robust").count() == 1
    assert OutboxMessage.objects.filter(dispatch_time__isnull=True).count() == 1


@pytest.mark.django_db
def test_purge_sent_forgets_only_messages_sent_before_the_time():
    now = timezone.now()
    old_sent, new_sent, old_pending = pending("iam.tasks.a"), pending("iam.tasks.b"), pending("iam.tasks.c")
    OutboxMessage.objects.filter(pk=old_sent.pk).update(dispatch_time=now - timedelta(days=10))
    OutboxMessage.objects.filter(pk=new_sent.pk).update(dispatch_time=now - timedelta(hours=1))
    OutboxMessage.objects.filter(pk=old_pending.pk).update(create_time=now - timedelta(days=30))

    assert outbox.purge_sent(before=now - timedelta(days=1)) == 1
    assert set(OutboxMessage.objects.values_list("task", flat=True)) == {"iam.tasks.b", "iam.tasks.c"}
    assert outbox.purge_sent(before=now - timedelta(days=1)) == 0

"""``manage.py outbox_relay``: one pass with --once, or a loop that stops cleanly on SIGTERM/SIGINT."""

import json
import logging
import os
import signal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from iam import outbox
from iam.models import OutboxMessage

RECONCILE = "iam.tasks.policy_counter_reconcile_account"


def run(*args) -> str:
    out = StringIO()
    call_command("outbox_relay", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def pending_ids() -> list[int]:
    return list(OutboxMessage.objects.filter(dispatch_time__isnull=True).values_list("pk", flat=True))


@pytest.fixture
def broker(monkeypatch):
    """A stand-in for the Celery broker: records what is published, refuses everything while ``down`` is set."""

    class Broker:
        down = False
        sent: list = []

        @classmethod
        def publish(cls, message):
            if cls.down:
                raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            cls.sent.append((message.task, message.args, message.kwargs))

    Broker.sent = []
    monkeypatch.setattr("iam.outbox._publish", Broker.publish)
    return Broker


@pytest.fixture
def sigterm_recorder():
    """Stands in for the test process's own SIGTERM handler (so a stray signal cannot end the test run) and lets a
    test check that the command puts back the handler it found."""
    received = []

    def handler(signum, frame):
        received.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield handler, received
    for signum, old in previous.items():
        signal.signal(signum, old)


@pytest.mark.django_db
@pytest.mark.real_broker
def test_once_sends_the_pending_messages_and_prints_the_counts(broker):
    outbox.enqueue(RECONCILE, 1)
    outbox.enqueue(RECONCILE, 2, reason="drift")
    assert len(pending_ids()) == 2

    assert json.loads(run("--once")) == {"sent": 2, "pending": 0}
    assert broker.sent == [(RECONCILE, [1], {}), (RECONCILE, [2], {"reason": "drift"})]
    assert pending_ids() == []

    # Nothing is sent twice.
    assert json.loads(run("--once")) == {"sent": 0, "pending": 0}
    assert len(broker.sent) == 2


@pytest.mark.django_db
@pytest.mark.real_broker
def test_once_with_the_broker_down_leaves_the_messages_pending_and_still_exits_0(broker):
    first = outbox.enqueue(RECONCILE, 1)
    second = outbox.enqueue(RECONCILE, 2)
    broker.down = True

    assert json.loads(run("--once")) == {"sent": 0, "pending": 2}
    assert broker.sent == []
    assert pending_ids() == [first.pk, second.pk]
    first.refresh_from_db()
    assert (first.attempts, first.last_error) == (
        1,
        "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
    )
    # The relay stops at the first refusal: the next message was not tried.
    second.refresh_from_db()
    assert second.attempts == 0

    broker.down = False
    assert json.loads(run("--once")) == {"sent": 2, "pending": 0}
    assert [args for _, args, _ in broker.sent] == [[1], [2]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.real_broker
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_loop_relays_every_interval_and_stops_cleanly_on_a_signal(
    broker, monkeypatch, sigterm_recorder, caplog, stop_signal
):
    own_handler, received = sigterm_recorder
    outbox.enqueue(RECONCILE, 1)  # autocommit: sent at once by dispatch after commit
    waiting = OutboxMessage.objects.create(task=RECONCILE, args=[2])  # as if the broker had refused it
    passes = []
    real_relay = outbox.relay

    def relay_then_stop(**kwargs):
        if len(passes) > 10:
            raise RuntimeError("the loop did not stop on the signal")
        result = real_relay(**kwargs)
        passes.append(result)
        if len(passes) == 1:
            OutboxMessage.objects.create(task=RECONCILE, args=[3])  # written while the relay sleeps
        if len(passes) == 2:
            os.kill(os.getpid(), stop_signal)
        return result

    monkeypatch.setattr("iam.outbox.relay", relay_then_stop)
    with caplog.at_level(logging.DEBUG, logger="iam.outbox.relay"):
        assert run("--interval", "0.05") == ""

    assert passes == [(1, 0), (1, 0)]
    assert [args for _, args, _ in broker.sent] == [[1], [2], [3]]
    waiting.refresh_from_db()
    assert waiting.dispatch_time is not None
    assert received == []  # the command handled the signal itself ...
    assert signal.getsignal(signal.SIGTERM) is own_handler  # ... and put the previous handlers back
    assert signal.getsignal(signal.SIGINT) is own_handler
    messages = [r.getMessage() for r in caplog.records if r.name == "iam.outbox.relay"]
    assert messages == [
        "outbox relay: started, a pass every 0.05 s",
        "outbox relay: 1 sent, 0 pending",
        "outbox relay: 1 sent, 0 pending",
        "outbox relay: stopped",
    ]
    counts = [(r.sent, r.pending) for r in caplog.records if hasattr(r, "sent")]
    assert counts == [(1, 0), (1, 0)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.real_broker
def test_the_loop_survives_a_database_error_and_tries_again(broker, monkeypatch, sigterm_recorder, caplog):
    OutboxMessage.objects.create(task=RECONCILE, args=[1])
    calls = []
    real_relay = outbox.relay

    def flaky_relay(**kwargs):
        calls.append(len(calls))
        if len(calls) > 10:
            raise RuntimeError("the loop did not stop on the signal")
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        os.kill(os.getpid(), signal.SIGTERM)
        return real_relay(**kwargs)

    monkeypatch.setattr("iam.outbox.relay", flaky_relay)
    with caplog.at_level(logging.INFO, logger="iam.outbox.relay"):
        run("--interval", "0.05")
    assert len(calls) == 2
    assert broker.sent == [(RECONCILE, [1], {})]
    assert pending_ids() == []
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "outbox relay: pass failed (OperationalError); retrying next pass"
    ]


@pytest.mark.django_db
@pytest.mark.real_broker
def test_an_idle_pass_logs_at_debug_only(broker, caplog, monkeypatch, sigterm_recorder):
    passes = []

    def relay_nothing(**kwargs):
        passes.append(1)
        if len(passes) > 10:
            raise RuntimeError("the loop did not stop on the signal")
        os.kill(os.getpid(), signal.SIGTERM)
        return 0, 0

    monkeypatch.setattr("iam.outbox.relay", relay_nothing)
    monkeypatch.setattr("iam.management.commands.outbox_relay.close_old_connections", lambda: None)
    with caplog.at_level(logging.DEBUG, logger="iam.outbox.relay"):
        run("--interval", "0.05")
    idle = [r for r in caplog.records if r.getMessage() == "outbox relay: 0 sent, 0 pending"]
    assert [r.levelno for r in idle] == [logging.DEBUG]


def test_a_non_positive_interval_is_refused():
    with pytest.raises(CommandError, match="must be more than 0"):
        run("--interval", "0")

"""The transactional outbox: follow-up work is a row written with the change, sent to the broker after commit, and
sent again by the relay until the broker takes it. Tasks are idempotent, so a message sent twice does no harm."""

import logging

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from iam.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(task: str, *args, **kwargs) -> OutboxMessage:
    """Queue ``task(*args, **kwargs)`` as part of the current transaction; it is sent once the transaction commits."""
    message = OutboxMessage.objects.create(task=task, args=list(args), kwargs=kwargs)
    # robust: the change is committed whatever happens here; a failure to send must not turn it into an error
    # response (the message stays pending and the relay sends it).
    transaction.on_commit(lambda: dispatch(message.pk), robust=True)
    return message


def _publish(message: OutboxMessage) -> None:
    app = current_app._get_current_object()
    with app.producer_or_acquire() as producer:
        # Fail at once when the broker is down instead of retrying the connection for seconds inside the request
        # that wrote the message: it stays pending and the relay sends it when the broker is back.
        producer.connection.ensure_connection(max_retries=0)
        app.send_task(message.task, args=message.args, kwargs=message.kwargs, retry=False, producer=producer)


def dispatch(message_id: int) -> bool:
    """Send one pending message; on a broker failure, note it and leave the message for the relay."""
    message = OutboxMessage.objects.filter(pk=message_id, dispatch_time__isnull=True).first()
    if message is None:
        return True
    try:
        _publish(message)
    except Exception as exc:  # noqa: BLE001 - any failure to publish leaves the message pending; nothing is lost
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=message.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        logger.warning("outbox: broker refused message %s (%s); the relay will retry", message.pk, type(exc).__name__)
        return False
    OutboxMessage.objects.filter(pk=message.pk, dispatch_time__isnull=True).update(dispatch_time=timezone.now())
    return True


def relay(*, limit: int = 500) -> tuple[int, int]:
    """Send pending messages oldest first, stopping at the first broker failure; returns (sent, still pending)."""
    sent = 0
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(dispatch_time__isnull=True).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        for message in list(pending[:limit]):
            if not dispatch(message.pk):
                break
            sent += 1
    return sent, OutboxMessage.objects.filter(dispatch_time__isnull=True).count()


def purge_sent(*, before) -> int:
    """Forget messages sent before a time."""
    deleted, _ = OutboxMessage.objects.filter(dispatch_time__lt=before).delete()
    return deleted

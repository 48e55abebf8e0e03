"""STS jobs: thin, idempotent Celery wrappers around sts.services."""

from celery import shared_task

from iam import audit
from iam.tasks import RETRY
from sts.services import expired_temporary_keys_delete


@shared_task(**RETRY)
def expired_temporary_keys_purge() -> int:
    """Delete STS temporary keys past their expire time (they already stopped working then); returns how many."""
    deleted = expired_temporary_keys_delete()
    if deleted:
        with audit.acting_as(audit.Actor("system:expired_temporary_keys_purge", "System")):
            audit.record(account_id=None, action="System:purgeExpiredTemporaryKeys", detail={"deleted": deleted})
    return deleted

"""Thin Celery wrappers around the Sub Account services. Each takes ids and plain values, does nothing when its rows
are gone, is harmless when run twice, and retries only on named temporary errors."""

import logging
import socket

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from iam import audit, outbox
from iam.gateway import replay
from iam.models import Account
from iam.services.maintenance import audit_events_purge, inactive_sub_accounts_disable, worker_heartbeat_record
from iam.services.policies import policy_counter_reconcile, policy_counters_drifted
from iam.services.signin import console_sessions_purge

logger = logging.getLogger(__name__)

# Temporary failures worth another try: the database or the network went away for a moment.
TEMPORARY_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY = {
    "autoretry_for": TEMPORARY_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


def _as_system(job: str):
    return audit.acting_as(audit.Actor(f"system:{job}", "System"))


@shared_task(**RETRY)
def policy_counter_reconcile_account(account_id: int) -> int:
    """Repair one account's policy counter; returns the drift it found (0 when it was right)."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return 0
    with _as_system("policy_counter_reconcile"):
        before, after = policy_counter_reconcile(account=account)
        if before != after:
            logger.warning(
                "policy counter drift repaired", extra={"account_id": account_id, "was": before, "now": after}
            )
            audit.record(
                account_id=account_id,
                action="System:reconcilePolicyCounter",
                resource=f"nrn:PUB:IAM::{account.member_no}:Account/{account.member_no}",
                detail={"was": before, "now": after},
            )
    return after - before


@shared_task(**RETRY)
def policy_counter_reconcile_all() -> int:
    """Find accounts whose policy counter drifted from their rows and repair each; returns how many."""
    drifted = policy_counters_drifted()
    for account_id in drifted:
        policy_counter_reconcile_account(account_id)
    return len(drifted)


@shared_task(**RETRY)
def inactive_sub_accounts_disable_all() -> int:
    """Disable the sub accounts unused for longer than their account allows; returns how many."""
    with _as_system("inactive_sub_accounts_disable"):
        return inactive_sub_accounts_disable()


@shared_task(**RETRY)
def audit_events_purge_old() -> int:
    """Delete audit events past the retention period; returns how many (the purge itself is recorded)."""
    deleted = audit_events_purge(older_than_days=settings.AUDIT_RETENTION_DAYS)
    if deleted:
        with _as_system("audit_events_purge"):
            audit.record(
                account_id=None,
                action="System:purgeAuditEvents",
                detail={"deleted": deleted, "retentionDays": settings.AUDIT_RETENTION_DAYS},
            )
    return deleted


@shared_task(**RETRY)
def worker_heartbeat() -> None:
    """Proves to /readyz that a worker is consuming tasks."""
    worker_heartbeat_record(name=socket.gethostname())


@shared_task(**RETRY)
def outbox_relay() -> int:
    """Send outbox messages that could not be sent when they were written; returns how many were sent."""
    sent, _ = outbox.relay()
    return sent


@shared_task(**RETRY)
def used_signatures_purge_expired() -> int:
    """Forget the used signatures (database store) whose timestamp window has passed; returns how many."""
    return replay.used_signatures_purge()


@shared_task(**RETRY)
def console_sessions_purge_expired() -> int:
    """Delete console sessions past their idle expiry; returns how many."""
    return console_sessions_purge()

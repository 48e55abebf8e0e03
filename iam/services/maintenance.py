"""Scheduled upkeep: disabling long-term-unused sub accounts, purging old audit events, worker heartbeats."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone

from iam import audit
from iam.models import AccessKey, Account, AuditEvent, SubAccount, WorkerHeartbeat
from iam.services.accounts import temporary_keys_end

CHUNK = 5000


def _stale_sub_accounts(*, days: int, cutoff):
    """Active sub accounts of active accounts set to ``days`` whose last sign-in (or, never signed in, creation) and
    every key use are older than ``cutoff``."""
    recent_key_use = AccessKey.objects.filter(sub_account=OuterRef("pk"), last_used_time__gte=cutoff)
    return (
        SubAccount.objects.filter(
            active=True,
            account__active=True,
            account__use_long_term_unused_deactivation=True,
            account__long_term_unused_days=days,
        )
        .annotate(last_seen=Coalesce("last_login_time", "create_time"))
        .filter(last_seen__lt=cutoff)
        .exclude(Exists(recent_key_use))
    )


def inactive_sub_accounts_disable(*, now=None) -> int:
    """Make inactive every active sub account whose last sign-in and last key use are both older than its account's
    long-term-unused days (accounts that turned the setting on); returns how many. Set-based: one read of the ids
    per distinct setting, then per chunk a locked re-check, one UPDATE and bulk audit events."""
    now = now or timezone.now()
    disabled = 0
    settings_in_use = set(
        Account.objects.filter(active=True, use_long_term_unused_deactivation=True)
        .order_by()
        .values_list("long_term_unused_days", flat=True)
        .distinct()
    )
    for days in sorted(settings_in_use):
        cutoff = now - timedelta(days=days)
        ids = list(_stale_sub_accounts(days=days, cutoff=cutoff).values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            with transaction.atomic():
                # Lock and re-check the chunk: a concurrent run, a sign-in or a key use since the read above means
                # that sub account is neither disabled nor recorded again.
                rows = list(
                    _stale_sub_accounts(days=days, cutoff=cutoff)
                    .select_for_update(of=("self",))
                    .filter(pk__in=ids[start : start + CHUNK])
                    .values_list("pk", "account_id", "account__member_no", "sub_account_id")
                )
                if not rows:
                    continue
                SubAccount.objects.filter(pk__in=[r[0] for r in rows]).update(active=False, modified_time=now)
                temporary_keys_end(keys=AccessKey.objects.filter(sub_account_id__in=[r[0] for r in rows]))
                audit.record_many(
                    [
                        audit.event(
                            account_id=account_id,
                            action="SubAccount:Change/suspendSubAccount",
                            resource=f"nrn:PUB:IAM::{member_no}:SubAccount/{sub_id}",
                            detail={
                                "reason": f"unused for more than {days} days",
                                "job": "inactive_sub_accounts_disable",
                            },
                            actor=audit.SYSTEM,
                            time=now,
                        )
                        for _, account_id, member_no, sub_id in rows
                    ]
                )
            disabled += len(rows)
    return disabled


def audit_events_purge(*, older_than_days: int, now=None) -> int:
    """Delete audit events older than the retention period, in chunks; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    deleted = 0
    while True:
        ids = list(AuditEvent.objects.filter(time__lt=cutoff).order_by("id").values_list("id", flat=True)[:CHUNK])
        if not ids:
            return deleted
        count, _ = AuditEvent.objects.filter(id__in=ids).delete()
        deleted += count


def worker_heartbeat_record(*, name: str, now=None) -> WorkerHeartbeat:
    """Note that a worker is alive and running tasks."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_time": now or timezone.now()})
    return heartbeat


def last_worker_heartbeat():
    return WorkerHeartbeat.objects.order_by("-beat_time").values_list("beat_time", flat=True).first()

"""Thin Celery wrappers around the Sub Account services."""

import logging

from celery import shared_task

from iam.models import Account
from iam.services.policies import policy_counter_reconcile, policy_counters_drifted

logger = logging.getLogger(__name__)


@shared_task
def policy_counter_reconcile_account(account_id: int) -> None:
    """Repair one account's policy counter."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return
    before, after = policy_counter_reconcile(account=account)
    if before != after:
        logger.warning("policy counter drift repaired", extra={"account_id": account_id, "was": before, "now": after})


@shared_task
def policy_counter_reconcile_all() -> int:
    """Find accounts whose policy counter drifted from their rows and repair each; returns how many."""
    drifted = policy_counters_drifted()
    for account_id in drifted:
        policy_counter_reconcile_account(account_id)
    return len(drifted)

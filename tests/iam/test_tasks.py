"""The Sub Account tasks, called as plain functions (no worker): counter repair."""

import logging

import pytest

from iam.models import Account, Policy
from iam.services.policies import policy_create
from iam.tasks import policy_counter_reconcile_account, policy_counter_reconcile_all
from tests.conftest import make_tenant

DOC = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]


def counters() -> dict[int, tuple[int, int]]:
    """member_no -> (stored counter, actual user-defined policy rows)."""
    return {
        a.member_no: (a.policy_count, Policy.objects.filter(account=a, policy_type=Policy.USER_CREATED).count())
        for a in Account.objects.all()
    }


@pytest.mark.django_db
def test_reconcile_all_repairs_drifted_counters_and_a_second_run_changes_nothing(tenant, other_tenant, caplog):
    third = make_tenant("Gamma", member_no=3002)
    for name in ("one", "two", "three"):
        policy_create(account=tenant.account, name=name, permissions=DOC)
    policy_create(account=other_tenant.account, name="one", permissions=DOC)
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=7)  # too high
    Account.objects.filter(pk=third.account.pk).update(policy_count=2)  # no rows at all
    assert counters() == {2942: (7, 3), 3001: (1, 1), 3002: (2, 0)}

    with caplog.at_level(logging.WARNING, logger="iam.tasks"):
        assert policy_counter_reconcile_all() == 2
    assert counters() == {2942: (3, 3), 3001: (1, 1), 3002: (0, 0)}
    assert [r.message for r in caplog.records if r.name == "iam.tasks"] == ["policy counter drift repaired"] * 2

    assert policy_counter_reconcile_all() == 0
    assert counters() == {2942: (3, 3), 3001: (1, 1), 3002: (0, 0)}


@pytest.mark.django_db
def test_reconcile_all_repairs_a_counter_that_is_too_low(tenant):
    for name in ("one", "two"):
        policy_create(account=tenant.account, name=name, permissions=DOC)
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=0)
    assert policy_counter_reconcile_all() == 1
    assert counters() == {2942: (2, 2)}


@pytest.mark.django_db
def test_reconcile_one_account_is_quiet_for_a_missing_account(tenant):
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=5)
    assert policy_counter_reconcile_account(tenant.account.pk + 1000) == 0
    assert counters() == {2942: (5, 0)}
    policy_counter_reconcile_account(tenant.account.pk)
    assert counters() == {2942: (0, 0)}

"""Scheduled upkeep without a worker: disabling long-term-unused sub accounts, purging old audit events, heartbeats,
the tasks that wrap them (called as functions) and their retries on temporary errors."""

import socket
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from iam.models import AccessKey, Account, AuditEvent, SubAccount, WorkerHeartbeat
from iam.services import maintenance
from iam.services.maintenance import (
    audit_events_purge,
    inactive_sub_accounts_disable,
    last_worker_heartbeat,
    worker_heartbeat_record,
)
from iam.services.policies import policy_create
from iam.services.sub_accounts import access_key_create
from iam.tasks import (
    audit_events_purge_old,
    inactive_sub_accounts_disable_all,
    policy_counter_reconcile_account,
    worker_heartbeat,
)
from tests.conftest import make_sub_account, make_tenant

SUSPEND = "SubAccount:Change/suspendSubAccount"
DOC = [{"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}]


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def turn_on(tenant, days: int) -> None:
    Account.objects.filter(pk=tenant.account.pk).update(
        use_long_term_unused_deactivation=True, long_term_unused_days=days
    )


def sub(tenant, login_id: str, *, created_days_ago: float, login_days_ago: float | None = None, key_days_ago=None):
    """A sub account created (and signed in, and its key last used) the given number of days ago."""
    sub_account, creds = make_sub_account(tenant, login_id, actions=["View/getSubAccountList"])
    SubAccount.objects.filter(pk=sub_account.pk).update(
        create_time=ago(created_days_ago),
        last_login_time=None if login_days_ago is None else ago(login_days_ago),
    )
    AccessKey.objects.filter(sub_account=sub_account).update(
        last_used_time=None if key_days_ago is None else ago(key_days_ago)
    )
    return sub_account, creds


def active_by_login() -> dict[str, bool]:
    return dict(SubAccount.objects.values_list("login_id", "active"))


def suspend_events():
    return AuditEvent.objects.filter(action=SUSPEND).order_by("id")


# inactive_sub_accounts_disable


@pytest.mark.django_db
def test_only_accounts_with_the_setting_on_are_touched_and_each_uses_its_own_days(tenant, other_tenant):
    third = make_tenant("Gamma", member_no=3002)
    turn_on(tenant, 90)
    turn_on(third, 30)
    # other_tenant keeps the setting off (the default), with the same 90-day default.
    sub(tenant, "a100", created_days_ago=100)
    sub(tenant, "a80", created_days_ago=80)
    sub(other_tenant, "b400", created_days_ago=400)
    sub(third, "c40", created_days_ago=40)
    sub(third, "c20", created_days_ago=20)
    assert Account.objects.get(pk=other_tenant.account.pk).long_term_unused_days == 90

    assert inactive_sub_accounts_disable() == 2
    assert active_by_login() == {"a100": False, "a80": True, "b400": True, "c40": False, "c20": True}


@pytest.mark.django_db
def test_a_recent_sign_in_or_a_recent_key_use_keeps_a_sub_account_active(tenant):
    turn_on(tenant, 90)
    sub(tenant, "signedin", created_days_ago=200, login_days_ago=10)
    sub(tenant, "keyused", created_days_ago=200, login_days_ago=120, key_days_ago=10)
    sub(tenant, "oldlogin", created_days_ago=200, login_days_ago=100)
    sub(tenant, "oldkey", created_days_ago=200, key_days_ago=100)
    sub(tenant, "oldboth", created_days_ago=200, login_days_ago=95, key_days_ago=91)
    # Never signed in and no key use: counted from creation.
    sub(tenant, "never", created_days_ago=200)
    sub(tenant, "nevernew", created_days_ago=10)
    assert inactive_sub_accounts_disable() == 4
    assert active_by_login() == {
        "signedin": True,
        "keyused": True,
        "oldlogin": False,
        "oldkey": False,
        "oldboth": False,
        "never": False,
        "nevernew": True,
    }


@pytest.mark.django_db
def test_a_second_key_used_recently_is_enough(tenant):
    turn_on(tenant, 30)
    sub_account, _ = sub(tenant, "twokeys", created_days_ago=100, key_days_ago=60)
    second, _ = access_key_create(sub_account=sub_account)
    AccessKey.objects.filter(pk=second.pk).update(last_used_time=ago(1))
    assert inactive_sub_accounts_disable() == 0
    assert active_by_login() == {"twokeys": True}
    AccessKey.objects.filter(pk=second.pk).update(last_used_time=ago(31))
    assert inactive_sub_accounts_disable() == 1
    assert active_by_login() == {"twokeys": False}


@pytest.mark.django_db
def test_the_disabled_sub_accounts_key_is_refused_by_the_api(api, tenant):
    turn_on(tenant, 90)
    sub_account, creds = sub(tenant, "stale", created_days_ago=100)
    response = api.call("GET", "/api/v1/sub-accounts", creds=creds)
    assert response.status_code == 200
    assert [item["loginId"] for item in response.json()["items"]] == ["stale"]
    # That call used the key; age the use again so only the job decides.
    AccessKey.objects.filter(sub_account=sub_account).update(last_used_time=ago(100))

    assert inactive_sub_accounts_disable() == 1
    response = api.call("GET", "/api/v1/sub-accounts", creds=creds)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"errorCode": "200", "message": "Authentication Failed", "details": "sub account is suspended"}
    }
    # The main account's root key still works.
    assert api.call("GET", "/api/v1/sub-accounts", creds=tenant.root).status_code == 200


@pytest.mark.django_db
def test_one_system_audit_event_per_disabled_sub_account_and_a_second_run_changes_nothing(tenant, other_tenant):
    turn_on(tenant, 90)
    turn_on(other_tenant, 60)
    first, _ = sub(tenant, "first", created_days_ago=100)
    second, _ = sub(tenant, "second", created_days_ago=100, login_days_ago=95)
    sub(tenant, "kept", created_days_ago=100, login_days_ago=1)
    third, _ = sub(other_tenant, "third", created_days_ago=61)
    now = timezone.now()

    assert inactive_sub_accounts_disable(now=now) == 3
    events = list(suspend_events())
    assert sorted((e.account_id, e.resource) for e in events) == sorted(
        [
            (tenant.account.pk, f"nrn:PUB:IAM::2942:SubAccount/{first.sub_account_id}"),
            (tenant.account.pk, f"nrn:PUB:IAM::2942:SubAccount/{second.sub_account_id}"),
            (other_tenant.account.pk, f"nrn:PUB:IAM::3001:SubAccount/{third.sub_account_id}"),
        ]
    )
    for event in events:
        assert (event.actor, event.actor_type, event.result, event.time) == ("system", "System", "Success", now)
    assert {e.resource.rsplit("/", 1)[1]: e.detail["reason"] for e in events} == {
        str(first.sub_account_id): "unused for more than 90 days",
        str(second.sub_account_id): "unused for more than 90 days",
        str(third.sub_account_id): "unused for more than 60 days",
    }
    modified = dict(SubAccount.objects.values_list("login_id", "modified_time"))
    assert modified["first"] == modified["third"] == now

    assert inactive_sub_accounts_disable() == 0
    assert suspend_events().count() == 3
    assert dict(SubAccount.objects.values_list("login_id", "modified_time")) == modified
    assert active_by_login() == {"first": False, "second": False, "kept": True, "third": False}


@pytest.mark.django_db
def test_suspended_main_accounts_are_skipped(tenant, other_tenant):
    turn_on(tenant, 30)
    turn_on(other_tenant, 30)
    sub(tenant, "insuspended", created_days_ago=100)
    sub(other_tenant, "inactive", created_days_ago=100)
    Account.objects.filter(pk=tenant.account.pk).update(active=False)

    assert inactive_sub_accounts_disable() == 1
    assert active_by_login() == {"insuspended": True, "inactive": False}
    assert [e.account_id for e in suspend_events()] == [other_tenant.account.pk]


@pytest.mark.django_db
def test_the_job_works_through_many_chunks(tenant, monkeypatch):
    monkeypatch.setattr(maintenance, "CHUNK", 2)
    turn_on(tenant, 30)
    for n in range(5):
        sub(tenant, f"user{n}", created_days_ago=40)
    sub(tenant, "fresh", created_days_ago=5)
    with CaptureQueriesContext(connection) as queries:
        assert inactive_sub_accounts_disable() == 5
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "iam_subaccount"')]
    assert len(updates) == 3
    assert active_by_login() == {**{f"user{n}": False for n in range(5)}, "fresh": True}
    assert suspend_events().count() == 5


# audit_events_purge


def make_event(days_ago: float, account=None) -> AuditEvent:
    return AuditEvent.objects.create(
        time=ago(days_ago), account=account, actor="system", actor_type="System", action="System:test", result="Success"
    )


@pytest.mark.django_db
def test_purge_deletes_only_events_older_than_the_cutoff_in_chunks(tenant, monkeypatch):
    monkeypatch.setattr(maintenance, "CHUNK", 2)
    old = [make_event(400 + n, tenant.account) for n in range(5)]
    kept = [make_event(10), make_event(364, tenant.account), make_event(0)]
    before_others = set(AuditEvent.objects.exclude(action="System:test").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert audit_events_purge(older_than_days=365) == 5
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "iam_auditevent"')]
    assert len(deletes) == 3  # 2 + 2 + 1
    remaining = set(AuditEvent.objects.values_list("id", flat=True))
    assert remaining == {e.pk for e in kept} | before_others
    assert not remaining & {e.pk for e in old}

    assert audit_events_purge(older_than_days=365) == 0
    assert set(AuditEvent.objects.values_list("id", flat=True)) == remaining


@pytest.mark.django_db
def test_purge_with_nothing_old_deletes_nothing():
    make_event(1)
    assert audit_events_purge(older_than_days=30) == 0
    assert AuditEvent.objects.count() == 1


# worker heartbeats


@pytest.mark.django_db
def test_worker_heartbeat_record_keeps_one_row_per_worker_with_its_last_beat():
    assert last_worker_heartbeat() is None
    early = ago(1)
    worker_heartbeat_record(name="w1", now=early)
    later = timezone.now()
    beat = worker_heartbeat_record(name="w1", now=later)
    assert (beat.name, beat.beat_time) == ("w1", later)
    worker_heartbeat_record(name="w2", now=early)
    assert dict(WorkerHeartbeat.objects.values_list("name", "beat_time")) == {"w1": later, "w2": early}
    assert last_worker_heartbeat() == later


# the tasks, called as functions


@pytest.mark.django_db
def test_inactive_sub_accounts_disable_all_task(tenant):
    turn_on(tenant, 30)
    sub(tenant, "old", created_days_ago=45)
    sub(tenant, "new", created_days_ago=15)
    assert inactive_sub_accounts_disable_all() == 1
    assert active_by_login() == {"old": False, "new": True}
    assert [(e.actor, e.actor_type) for e in suspend_events()] == [("system", "System")]
    assert inactive_sub_accounts_disable_all() == 0
    assert suspend_events().count() == 1


@pytest.mark.django_db
def test_audit_events_purge_old_uses_the_retention_setting(settings):
    forty, twenty, one = make_event(40), make_event(20), make_event(1)
    settings.AUDIT_RETENTION_DAYS = 30
    assert audit_events_purge_old() == 1
    purges = AuditEvent.objects.filter(action="System:purgeAuditEvents")
    assert set(AuditEvent.objects.exclude(action="System:purgeAuditEvents").values_list("id", flat=True)) == {
        twenty.pk,
        one.pk,
    }
    assert [(p.actor, p.detail) for p in purges] == [("system:audit_events_purge", {"deleted": 1, "retentionDays": 30})]
    settings.AUDIT_RETENTION_DAYS = 10
    assert audit_events_purge_old() == 1
    assert set(AuditEvent.objects.exclude(action="System:purgeAuditEvents").values_list("id", flat=True)) == {one.pk}
    assert forty.pk not in set(AuditEvent.objects.values_list("id", flat=True))
    # Nothing left to purge: nothing deleted, nothing recorded.
    assert audit_events_purge_old() == 0
    assert AuditEvent.objects.filter(action="System:purgeAuditEvents").count() == 2


@pytest.mark.django_db
def test_worker_heartbeat_task_records_this_host():
    before = timezone.now()
    worker_heartbeat()
    beat = WorkerHeartbeat.objects.get()
    assert beat.name == socket.gethostname()
    assert before <= beat.beat_time <= timezone.now()


@pytest.mark.django_db
def test_policy_counter_reconcile_account_records_an_event_only_when_it_repairs_drift(tenant):
    policy_create(account=tenant.account, name="one", permissions=DOC)
    reconcile = AuditEvent.objects.filter(action="System:reconcilePolicyCounter")

    assert policy_counter_reconcile_account(tenant.account.pk) == 0
    assert reconcile.count() == 0

    Account.objects.filter(pk=tenant.account.pk).update(policy_count=5)
    assert policy_counter_reconcile_account(tenant.account.pk) == -4
    assert Account.objects.get(pk=tenant.account.pk).policy_count == 1
    event = reconcile.get()
    assert (event.account_id, event.actor, event.actor_type, event.result) == (
        tenant.account.pk,
        "system:policy_counter_reconcile",
        "System",
        "Success",
    )
    assert event.resource == "nrn:PUB:IAM::2942:Account/2942"
    assert event.detail == {"was": 5, "now": 1}

    assert policy_counter_reconcile_account(tenant.account.pk) == 0
    assert reconcile.count() == 1


# retries


def test_a_temporary_error_is_retried_until_the_task_succeeds(monkeypatch):
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return 7

    monkeypatch.setattr("iam.tasks.inactive_sub_accounts_disable", flaky)
    result = inactive_sub_accounts_disable_all.apply()
    assert len(calls) == 2
    assert result.successful()
    assert result.get() == 7


def test_a_temporary_error_that_persists_fails_after_the_retry_limit(monkeypatch):
    calls = []

    def down(**kwargs):
        calls.append(kwargs)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("iam.tasks.inactive_sub_accounts_disable", down)
    result = inactive_sub_accounts_disable_all.apply()
    assert len(calls) == 1 + inactive_sub_accounts_disable_all.max_retries == 6
    assert result.failed()
    assert isinstance(result.result, OperationalError)


def test_other_errors_are_not_retried(monkeypatch):
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        raise ValueError("a bug, not a blip")

    monkeypatch.setattr("iam.tasks.inactive_sub_accounts_disable", broken)
    result = inactive_sub_accounts_disable_all.apply()
    assert len(calls) == 1
    assert result.failed()
    assert isinstance(result.result, ValueError)
    assert str(result.result) == "a bug, not a blip"

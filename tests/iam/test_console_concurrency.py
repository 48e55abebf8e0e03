"""The sign-in lock holds when wrong passwords really arrive in parallel (PostgreSQL only): each is counted, so
parallel guessing gets no more tries than one at a time."""

import threading

import pytest
from django.db import connection
from django.test import Client

from iam.models import AuditEvent, SubAccount
from tests.iam.test_console_signin import make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serializes writers, so it cannot show a race",
    ),
]


def test_parallel_wrong_passwords_are_all_counted_and_lock(tenant, settings):
    sub = make_user(tenant)
    attempts = settings.IAM_SIGNIN_MAX_FAILURES + 3
    barrier = threading.Barrier(attempts, timeout=60)
    results: list = [None] * attempts

    def worker(index: int) -> None:
        try:
            client = Client()
            connection.ensure_connection()
            barrier.wait()
            response = client.post("/signin/2942/", {"login_id": "alice", "password": f"Wrong-Pass-{index}"})
            results[index] = response.status_code
        except Exception as exc:  # asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [401] * attempts
    sub.refresh_from_db()
    assert sub.login_locked_time is not None
    # Exactly one attempt, the one past the limit, locked it; the ones after it met the lock.
    assert AuditEvent.objects.filter(action="Console:lockSubAccount").count() == 1
    reasons = [e.detail["reason"] for e in AuditEvent.objects.filter(action="Console:signIn")]
    assert sorted(r for r in reasons if r.startswith("wrong password (")) == sorted(
        f"wrong password ({n} in a row)" for n in range(1, settings.IAM_SIGNIN_MAX_FAILURES + 1)
    )
    assert SubAccount.objects.get(pk=sub.pk).login_failed_attempts == 0

"""The live temporary-key limit and one-use MFA codes hold when requests really run in parallel (PostgreSQL only)."""

import threading

import pyotp
import pytest
from django.db import connection

from iam.models import AccessKey, SubAccount
from iam.secrets import encrypt_secret
from tests.conftest import SignedClient, make_sub_account

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serializes writers, so it cannot show a race",
    ),
]

STS = "View/getStsSessionToken"


def obtain_in_parallel(creds, bodies: list[dict]) -> list[tuple[int, dict]]:
    """POST /credentials once per body, all at the same moment."""
    barrier = threading.Barrier(len(bodies), timeout=60)
    results: list = [None] * len(bodies)

    def worker(index: int) -> None:
        try:
            client = SignedClient()
            connection.ensure_connection()
            barrier.wait()
            response = client.call("POST", "/api/v1/credentials", bodies[index], creds=creds)
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # asserted on below: a thread must not swallow a failure
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung (deadlock?)"
    errors = [r for r in results if not isinstance(r, tuple)]
    assert errors == [], errors
    return results


def test_the_live_key_limit_holds_under_parallel_requests(tenant, settings):
    settings.IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT = 3
    sub, creds = make_sub_account(tenant, "racer", actions=[STS])
    results = obtain_in_parallel(creds, [{}] * 20)
    assert sorted(status for status, _ in results) == [200] * 3 + [409] * 17
    assert {body["errorCode"] for status, body in results if status == 409} == {9012}
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY, sub_account=sub).count() == 3


def test_one_mfa_code_sent_in_parallel_is_accepted_once(tenant):
    secret = pyotp.random_base32()
    sub, creds = make_sub_account(tenant, "mfaracer", actions=[STS])
    SubAccount.objects.filter(pk=sub.pk).update(mfa_secret_encrypted=encrypt_secret(secret))
    device = f"nrn:PUB:IAM::{tenant.account.member_no}:MfaDevice/{sub.sub_account_id}"
    code = pyotp.TOTP(secret).now()
    results = obtain_in_parallel(creds, [{"serialNumber": device, "tokenCode": code}] * 10)
    assert sorted(status for status, _ in results) == [200] + [400] * 9
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY, mfa_present=True).count() == 1

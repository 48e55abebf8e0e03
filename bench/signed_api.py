"""Signed API calls per second: GET /api/v1/sub-accounts/{id} through Django's test client, in process.

Measures the whole request path (signature check, key lookup and secret decryption, policy evaluation, the query
and the serializer) without a network or a WSGI server, on SQLite in a temporary folder:
(a) the main account's root key, which needs no policy evaluation;
(b) a sub account whose access comes from policies (direct and through a group, with a Deny statement to weigh).
Prints requests per second and p50/p99 latency in ms. No assertions: it is a measuring tool (`make bench`).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(data_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    # Embedded defaults only: the benchmark never touches a developer's database, broker or var/.
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DEBUG"):
        os.environ.pop(name, None)
    os.environ["DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_fixtures():
    """One account with its root key; one sub account with policies (direct and through a group) and its key."""
    from iam.services.accounts import account_create
    from iam.services.groups import group_create
    from iam.services.policies import policies_attach, policy_create
    from iam.services.sub_accounts import access_key_create, sub_account_create, sub_account_groups_add

    account, root_key, root_secret = account_create(name="Bench", member_no=4242)
    sub, _ = sub_account_create(
        account=account, login_id="bench.viewer", name="Bench viewer", email="bench@example.com",
        can_api_gateway_access=True, can_console_access=False,
    )  # fmt: skip
    viewer = policy_create(
        account=account,
        name="bench-viewer",
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}],
            },
            {
                "effect": "Deny",
                "targets": [{"product": "SubAccount", "actions": ["Change/deleteSubAccount"], "resourceNrns": ["*"]}],
            },
        ],
    )
    # NCP_SUB_ACCOUNT_VIEWER (system policy 5) directly, a user policy through a group.
    policies_attach(target=sub, policy_ids=["00000000-0000-4000-8000-000000000005"])
    group = group_create(account=account, name="bench-group")
    sub_account_groups_add(sub_account=sub, group_ids=[str(group.group_id)])
    policies_attach(target=group, policy_ids=[viewer.policy_id])
    sub_key, sub_secret = access_key_create(sub_account=sub)
    return sub, (root_key.access_key, root_secret), (sub_key.access_key, sub_secret)


def measure(client, uri: str, access_key: str, secret: str, n: int) -> dict:
    from iam.gateway.signing import signed_headers

    def one() -> float:
        headers = signed_headers(access_key, secret, "GET", uri)
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        start = time.perf_counter()
        response = client.get(uri, **meta)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"GET {uri} answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    for _ in range(min(50, n)):  # warm-up: imports, caches, SQLite pages
        one()
    latencies = []
    wall = time.perf_counter()
    for _ in range(n):
        latencies.append(one())
    wall = time.perf_counter() - wall
    latencies.sort()
    return {
        "n": n,
        "rps": n / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "mean": statistics.fmean(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per case (default 2000)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="iam-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection
        from django.test import Client

        sub, root, sub_creds = make_fixtures()
        uri = f"/api/v1/sub-accounts/{sub.sub_account_id}"
        client = Client()
        cases = [("root key", root), ("sub account with policies", sub_creds)]
        print(f"Signed GET {uri.replace(str(sub.sub_account_id), '{id}')}, Django test client, {connection.vendor}")
        print(f"{'caller':<28}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
        for label, (access_key, secret) in cases:
            result = measure(client, uri, access_key, secret, args.n)
            print(
                f"{label:<28}{result['n']:>9}{result['rps']:>10.0f}"
                f"{result['p50']:>9.2f}{result['p99']:>9.2f}{result['mean']:>9.2f}"
            )
        connection.close()


if __name__ == "__main__":
    main()

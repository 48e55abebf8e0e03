"""How long the disable-inactive-sub-accounts job takes on 100,000 sub accounts.

Creates the sub accounts with bulk_create across a few main accounts that turned long-term-unused deactivation on
(different day settings, most sub accounts stale; some recently signed in, some with a recently used key, and one
account with the setting off), runs ``inactive_sub_accounts_disable`` once and prints how many it disabled and the
seconds, then runs it again (nothing left to do) and prints those seconds.

Its own database only, never a developer's or the tests': with DATABASE_URL pointing at PostgreSQL it uses the
database ``bench_iam`` on that server (created when missing, emptied before each run); otherwise SQLite in a
temporary folder. No assertions: it is a measuring tool.

    .venv/bin/python bench/inactive_disable.py [-n 100000] [--accounts 5]
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "bench_iam"


def bench_database_url(data_dir: str) -> str:
    """A PostgreSQL database of the benchmark's own on the DATABASE_URL server, or SQLite in ``data_dir``."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        return f"sqlite:///{data_dir}/bench.sqlite3"
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", [BENCH_DB]).fetchone() is None:
            conn.execute(f'create database "{BENCH_DB}"')
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def setup_django(database_url: str, data_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    for name in ("REDIS_URL", "DJANGO_ENV", "DEBUG"):
        os.environ.pop(name, None)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if name != BENCH_DB and not name.startswith(data_dir):
        raise SystemExit(f"refusing to use database {name!r}: the benchmark only uses its own")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def populate(total: int, accounts: int) -> dict:
    """``total`` sub accounts spread over ``accounts`` main accounts (the last one with the setting off)."""
    from django.utils import timezone

    from iam.models import AccessKey, Account, SubAccount

    now = timezone.now()
    days_choices = [30, 60, 90, 180, 365]
    Account.objects.bulk_create(
        [
            Account(
                member_no=900_000 + i,
                name=f"Bench {i}",
                use_long_term_unused_deactivation=i < accounts - 1 or accounts == 1,
                long_term_unused_days=days_choices[i % len(days_choices)],
            )
            for i in range(accounts)
        ]
    )
    account_list = list(Account.objects.order_by("member_no"))
    per_account = total // accounts
    batch = []
    for i, account in enumerate(account_list):
        count = per_account if i < accounts - 1 else total - per_account * (accounts - 1)
        batch.extend(
            SubAccount(account=account, login_id=f"user{n:06d}", name=f"user{n}", email=f"user{n}@example.com")
            for n in range(count)
        )
    SubAccount.objects.bulk_create(batch, batch_size=5000)
    del batch

    # bulk_create stamps create_time now; age them afterwards: 90% stale, 10% new.
    SubAccount.objects.update(create_time=now - timedelta(days=400))
    ids = list(SubAccount.objects.order_by("pk").values_list("pk", flat=True))
    fresh = ids[::10]
    for start in range(0, len(fresh), 5000):
        SubAccount.objects.filter(pk__in=fresh[start : start + 5000]).update(create_time=now)
    # Stale by creation but signed in yesterday (every 20th), or with a key used yesterday (every 25th).
    signed_in = ids[1::20]
    for start in range(0, len(signed_in), 5000):
        SubAccount.objects.filter(pk__in=signed_in[start : start + 5000]).update(
            last_login_time=now - timedelta(days=1)
        )
    owners = dict(SubAccount.objects.values_list("pk", "account_id"))
    AccessKey.objects.bulk_create(
        [
            AccessKey(
                access_key=f"BENCH{pk:015d}",
                account_id=owners[pk],
                sub_account_id=pk,
                kind=AccessKey.SUB_ACCOUNT,
                secret_encrypted="not-a-real-secret",
                last_used_time=now - timedelta(days=1),
            )
            for pk in ids[2::25]
        ],
        batch_size=5000,
    )
    return {
        "sub_accounts": SubAccount.objects.count(),
        "accounts": accounts,
        "keys": AccessKey.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="sub accounts to create (default 100000)")
    parser.add_argument("--accounts", type=int, default=5, help="main accounts to spread them over (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="iam-bench-") as data_dir:
        database_url = bench_database_url(data_dir)
        setup_django(database_url, data_dir)
        from django.db import connection

        from iam.models import AuditEvent, SubAccount
        from iam.services.maintenance import inactive_sub_accounts_disable

        started = time.perf_counter()
        counts = populate(args.n, args.accounts)
        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; created {counts['sub_accounts']} "
            f"sub accounts in {counts['accounts']} accounts, {counts['keys']} keys "
            f"({time.perf_counter() - started:.1f} s)"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("analyze")

        started = time.perf_counter()
        disabled = inactive_sub_accounts_disable()
        first = time.perf_counter() - started
        print(
            f"first run: disabled {disabled} sub accounts in {first:.2f} s "
            f"({AuditEvent.objects.count()} audit events, {SubAccount.objects.filter(active=True).count()} still active)"
        )

        started = time.perf_counter()
        again = inactive_sub_accounts_disable()
        second = time.perf_counter() - started
        print(f"second run: disabled {again} in {second:.2f} s")
        connection.close()


if __name__ == "__main__":
    main()

"""A signed read through gunicorn, as served: latency and throughput against the unauthenticated health check.

In one run, on one server: migrates the configured database, creates its own data there (a main account with its root
key; a sub account with a key, a group and a few policies attached directly and through the group; a few more sub
accounts so the list has rows), starts gunicorn with the Procfile's ``web`` line (``gunicorn config.wsgi``, 2 workers,
127.0.0.1 and a free port), waits for ``/healthz``, then sends a bounded number of requests from this process, one at
a time, each case twice: a new TCP connection per request, and one keep-alive connection (reopened whenever the server
closes it; the reuse count says how often it did not):

- ``GET /healthz`` (no signature, no database),
- ``GET /api/v1/sub-accounts`` signed with the sub account's key and with the root key,
- ``PUT /api/v1/groups/{id}`` changing the description, signed with the root key (each write signed afresh).

Prints p50/p95/p99 (ms) and req/s per case, and the target: signed read p50 <= 1.5 x healthz p50 + 1 ms. gunicorn is
stopped at the end whatever happens; the data it made is deleted.

``--profile`` instead profiles the signed read in this process (Django's test client, same database and cache, no
server): the SQL statements of one request, then cProfile's top functions by cumulative time over many requests.

DATABASE_URL and REDIS_URL come from the environment (PostgreSQL and Redis); without them the defaults below. No
assertions: it is a measuring tool.
"""

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/h_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
READ_URI = "/api/v1/sub-accounts"


def without_password(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    for name in ("DJANGO_ENV", "DEBUG"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def describe_settings() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return (
        f"DATABASE_URL={without_password(os.environ['DATABASE_URL'])} ({db['ENGINE'].rsplit('.', 1)[-1]}, "
        f"CONN_MAX_AGE={db.get('CONN_MAX_AGE')}, CONN_HEALTH_CHECKS={db.get('CONN_HEALTH_CHECKS')})\n"
        f"REDIS_URL={without_password(os.environ['REDIS_URL'])} (cache {settings.CACHES['default']['BACKEND']})"
    )


def make_fixtures() -> dict:
    """A main account and its root key; a sub account with a key, policies directly and through a group."""
    from iam.services.accounts import account_create
    from iam.services.groups import group_create
    from iam.services.policies import policies_attach, policy_create
    from iam.services.sub_accounts import access_key_create, sub_account_create, sub_account_groups_add

    account, root_key, root_secret = account_create(name="Bench signed read")
    tag = uuid.uuid4().hex[:8]
    subs = [
        sub_account_create(
            account=account, login_id=f"bench.{tag}.{i}", name=f"Bench {i}", email=f"bench{i}@example.com",
            can_api_gateway_access=True, can_console_access=False,
        )[0]
        for i in range(5)
    ]  # fmt: skip
    viewer = policy_create(
        account=account,
        name=f"bench-viewer-{tag}",
        permissions=[
            {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]},
            {
                "effect": "Deny",
                "targets": [{"product": "SubAccount", "actions": ["Change/deleteSubAccount"], "resourceNrns": ["*"]}],
            },
        ],
    )
    reader = policy_create(
        account=account,
        name=f"bench-groups-{tag}",
        permissions=[
            {
                "effect": "Allow",
                "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}],
            }
        ],
    )
    sub = subs[0]
    # NCP_SUB_ACCOUNT_VIEWER (system policy 5) and a user policy directly, another user policy through a group.
    policies_attach(target=sub, policy_ids=["00000000-0000-4000-8000-000000000005", reader.policy_id])
    group = group_create(account=account, name=f"bench-group-{tag}", description="bench")
    sub_account_groups_add(sub_account=sub, group_ids=[str(group.group_id)])
    policies_attach(target=group, policy_ids=[viewer.policy_id])
    sub_key, sub_secret = access_key_create(sub_account=sub)
    return {
        "account": account,
        "group_id": str(group.group_id),
        "root": (root_key.access_key, root_secret),
        "sub": (sub_key.access_key, sub_secret),
    }


def drop_fixtures(account) -> None:
    from iam.models import PolicyAttachment

    PolicyAttachment.objects.filter(account=account).delete()  # attachments protect their policies
    account.delete()


# --- the server -------------------------------------------------------------------------------------------------


def procfile_web_line() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit("Procfile has no web line")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn started from the Procfile's web line in its own process group; stop() ends that group."""

    def __init__(self, workers: int, log_path: Path):
        self.port = free_port()
        self.command = procfile_web_line()
        env = dict(os.environ)
        env.update(
            WEB_HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            # The Procfile's lines may already start with exec (for the platform's shell): exec once either way.
            ["sh", "-c", self.command if self.command.startswith("exec ") else "exec " + self.command],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see its log")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz in time")

    def worker_cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master's worker processes (Linux /proc)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a process that just ended
            if int(fields[1]) == self.process.pid:  # ppid
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self.log.close()


# --- the client -------------------------------------------------------------------------------------------------


def headers_for(creds, method: str, uri: str) -> dict:
    from iam.gateway.signing import signed_headers

    if creds is None:
        return {}
    return signed_headers(creds[0], creds[1], method, uri)  # a new timestamp, so a new signature, every call


def run_case(server: Server, method: str, uri: str, creds, body_for, n: int, warmup: int, keep_alive: bool) -> dict:
    """n requests one after the other (after ``warmup`` unmeasured ones). Signing is outside the timed part; so is
    the client's own work in the server's CPU time, which a busy host disturbs far less than wall-clock latency."""
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30) if keep_alive else None
    reused = 0
    latencies = []
    wall = 0.0
    cpu_start = None
    for i in range(warmup + n):
        if i == warmup:
            cpu_start = server.worker_cpu_seconds()
        body = body_for(i) if body_for else None
        headers = headers_for(creds, method, uri)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if not keep_alive:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        was_open = connection.sock is not None
        start = time.perf_counter()
        connection.request(method, uri, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"{method} {uri} answered {response.status}: {content[:300]!r}")
        if not keep_alive:
            connection.close()
        if i >= warmup:
            latencies.append(elapsed)
            wall += elapsed
            reused += was_open
    cpu = server.worker_cpu_seconds() - cpu_start
    if connection is not None:
        connection.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(n * p))] * 1000

    return {
        "n": n,
        "p50": statistics.median(latencies) * 1000,
        "p95": pct(0.95),
        "p99": pct(0.99),
        "rps": n / wall,
        "reused": reused,
        "cpu": cpu / n * 1000,
    }


def benchmark(args, fixtures: dict) -> None:
    group_uri = f"/api/v1/groups/{fixtures['group_id']}"
    counter = iter(range(10**9))

    def description(_i: int) -> str:
        return json.dumps({"description": f"bench write {next(counter)}"})

    cases = [
        ("healthz (no signature)", "GET", "/healthz", None, None),
        ("signed read, sub key", "GET", READ_URI, fixtures["sub"], None),
        ("signed read, root key", "GET", READ_URI, fixtures["root"], None),
        ("signed write, root key", "PUT", group_uri, fixtures["root"], description),
    ]
    with tempfile.TemporaryDirectory(prefix="iam-bench-") as tmp:
        log_path = Path(tmp) / "gunicorn.log"
        server = Server(args.workers, log_path)
        try:
            print(f"gunicorn: {server.command}  (PORT={server.port}, WEB_CONCURRENCY={args.workers})")
            print("host load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
            server.wait_ready()
            results = {}
            print(
                f"{'case':<24}{'connection':<12}{'requests':>9}{'reused':>8}"
                f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}{'server CPU ms/req':>19}"
            )
            for keep_alive in (False, True):
                mode = "keep-alive" if keep_alive else "new"
                for label, method, uri, creds, body_for in cases:
                    r = run_case(server, method, uri, creds, body_for, args.n, args.warmup, keep_alive)
                    results[(label, mode)] = r
                    print(
                        f"{label:<24}{mode:<12}{r['n']:>9}{r['reused']:>8}"
                        f"{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}{r['rps']:>8.0f}{r['cpu']:>19.2f}",
                        flush=True,
                    )
            print("target: signed read p50 <= 1.5 x healthz p50 + 1 ms")
            for mode in ("new", "keep-alive"):
                limit = 1.5 * results[("healthz (no signature)", mode)]["p50"] + 1
                for label in ("signed read, sub key", "signed read, root key"):
                    p50 = results[(label, mode)]["p50"]
                    verdict = "met" if p50 <= limit else "NOT met"
                    print(f"  {label:<24}{mode:<12} p50 {p50:6.2f} ms vs {limit:6.2f} ms: {verdict}")
            # The same target on the server's CPU time, which the other processes of a busy host disturb less.
            for mode in ("new", "keep-alive"):
                limit = 1.5 * results[("healthz (no signature)", mode)]["cpu"] + 1
                for label in ("signed read, sub key", "signed read, root key"):
                    cpu = results[(label, mode)]["cpu"]
                    verdict = "met" if cpu <= limit else "NOT met"
                    print(f"  {label:<24}{mode:<12} CPU {cpu:6.2f} ms vs {limit:6.2f} ms: {verdict} (server CPU)")
        except BaseException:
            server.stop()
            sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
            raise
        server.stop()


# --- the profile ------------------------------------------------------------------------------------------------


def profile(args, fixtures: dict) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def read(creds):
        headers = headers_for(creds, "GET", READ_URI)
        response = client.get(READ_URI, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {READ_URI} answered {response.status_code}: {response.content[:300]!r}")

    for _ in range(args.warmup):
        client.get("/healthz")
    start = time.perf_counter()
    for _ in range(args.n):
        client.get("/healthz")
    print(f"healthz: {(time.perf_counter() - start) / args.n * 1000:.2f} ms a request unprofiled (test client)")
    for label in ("sub", "root"):
        creds = fixtures[label]
        for _ in range(args.warmup):
            read(creds)
        with CaptureQueriesContext(connection) as queries:
            read(creds)
        print(f"\n{label} key: {len(queries.captured_queries)} SQL statements in one signed read")
        for query in queries.captured_queries:
            sql = re.sub(r"\s+", " ", query["sql"])
            print(f"  {float(query['time']) * 1000:6.2f} ms  {sql[:150]}")
        start = time.perf_counter()
        for _ in range(args.n):
            read(creds)
        plain = (time.perf_counter() - start) / args.n * 1000
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            read(creds)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        print(f"{label} key: {plain:.2f} ms a request unprofiled (test client, {args.n} requests)")
        print_phases(stats, args.n)
        stats.sort_stats("cumulative").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


# (label, file name ending, function, calling function or None): where a signed read spends its time. The profiled
# figures carry cProfile's overhead, so compare them with one another, not with the unprofiled time.
PHASES = [
    ("whole request (test client)", "bench/signed_read.py", "read", None),
    ("  Django handler + middleware", "django/core/handlers/base.py", "get_response", None),
    ("  DRF view dispatch", "rest_framework/views.py", "dispatch", None),
    ("    authentication", "iam/gateway/authentication.py", "authenticate", None),
    ("      key look-up (ORM first())", "django/db/models/query.py", "first", "_authenticate"),
    ("      key look-up (selector)", "iam/selectors.py", "access_key_for_signature", "_authenticate"),
    ("      Fernet decrypt", "iam/secrets.py", "decrypt_secret", "_authenticate"),
    ("      HMAC verify", "iam/gateway/signing.py", "verify", "verify_request"),
    ("      last-used UPDATE", "django/db/models/query.py", "update", "_authenticate"),
    ("      access_key_mark_used", "iam/services/accounts.py", "access_key_mark_used", "_authenticate"),
    ("      audit.set_actor", "iam/audit.py", "set_actor", "_authenticate"),
    ("    permission (catalog action)", "iam/gateway/permissions.py", "has_permission", None),
    ("      requests_for", "iam/gateway/endpoint_actions.py", "requests_for", "has_permission"),
    ("      authorize", "iam/gateway/authz.py", "authorize", "has_permission"),
    ("        compiled_for", "iam/gateway/authz.py", "compiled_for", "authorize"),
    ("        shared cache (Redis)", "iam/gateway/authz.py", "_documents", None),
    ("    list view", "rest_framework/mixins.py", "list", None),
    ("      filter_queryset", "rest_framework/generics.py", "filter_queryset", "list"),
    ("        FilterSet form (no filter given)", "django_filters/filterset.py", "is_valid", None),
    ("      pagination count()", "django/db/models/query.py", "count", "paginate_queryset"),
    ("      paginate (count + page query)", "iam/api/pagination.py", "paginate_queryset", None),
    ("      serialization", "rest_framework/serializers.py", "data", "list"),
    ("        serializer fields (deepcopy)", "rest_framework/serializers.py", "fields", None),
    ("    finalize_response", "iam/api/views/base.py", "finalize_response", None),
    ("  JSON rendering", "rest_framework/response.py", "rendered_content", None),
    ("  all SQL (execute)", "django/db/backends/utils.py", "execute", None),
    ("  new DB connections", "django/db/backends/base/base.py", "connect", None),
    ("  logging (handle)", "logging/__init__.py", "handle", None),
]


def print_phases(stats: pstats.Stats, n: int) -> None:
    """Cumulative ms a request in each phase (through the given caller only, when one is named)."""
    rows = stats.stats  # {(file, line, function): (cc, nc, tottime, cumtime, callers)}
    total = None
    print(f"  {'phase (profiled)':<38}{'ms/request':>11}{'share':>8}")
    for label, file_end, function, caller in PHASES:
        cumulative = 0.0
        for (file, _line, name), (_cc, _nc, _tt, ct, callers) in rows.items():
            if name != function or not file.endswith(file_end):
                continue
            if caller is None:
                cumulative += ct
            else:
                cumulative += sum(edge[3] for (_f, _l, who), edge in callers.items() if who == caller)
        ms = cumulative / n * 1000
        total = total or ms
        print(f"  {label:<38}{ms:>11.3f}{ms / total:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="measured requests per case (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests first (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--profile", action="store_true", help="profile the signed read in process instead")
    parser.add_argument("--top", type=int, default=45, help="functions --profile prints (default 45)")
    args = parser.parse_args()

    setup_django()
    print(describe_settings())
    fixtures = make_fixtures()
    try:
        if args.profile:
            profile(args, fixtures)
        else:
            benchmark(args, fixtures)
    finally:
        drop_fixtures(fixtures["account"])


if __name__ == "__main__":
    main()

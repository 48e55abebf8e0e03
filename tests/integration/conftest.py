"""A real Celery worker for the integration tests, on PostgreSQL and Redis.

The worker is a subprocess (``celery -A config worker --pool=solo``) on the test database that pytest-django created,
consuming a queue of its own on a Redis database of its own: the test process's cache is cleared (FLUSHDB) before
every test, so the broker must not share its database, and the unique queue keeps parallel runs apart. The worker is
started once per session, answers a ping before any test uses it, and is stopped at the end.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
AVAILABLE = urlsplit(DATABASE_URL).scheme in ("postgres", "postgresql", "pgsql") and bool(REDIS_URL)
NEEDS = (
    "needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL=redis://... "
    "(CI sets DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0)"
)
START_TIMEOUT_SECONDS = 60
WAIT_SECONDS = 30
# A broker address where nothing listens: "Redis is down".
DEAD_BROKER_URL = "redis://127.0.0.1:1/0"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def worker_redis_url(url: str) -> str:
    """The same Redis server, another database than the test process's cache (9, or 10 when that is 9)."""
    parts = urlsplit(url)
    current = parts.path.strip("/") or "0"
    return urlunsplit(parts._replace(path="/10" if current == "9" else "/9"))


def wait_for(predicate, what: str, timeout: float = WAIT_SECONDS, interval: float = 0.2):
    """Poll ``predicate`` until it returns something true (and return that), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def use_broker(app, url: str) -> None:
    """Point this process's Celery app at another broker, dropping pooled connections to the old one."""
    from kombu import pools

    app.conf.broker_url = url
    pools.reset()  # closes the pooled connections and forgets the pools (they are kept per broker address)
    app._pool = None
    app.amqp._producer_pool = None


class Worker:
    """The running worker: its queue and broker, and helpers to wait for it."""

    def __init__(self, app, process: subprocess.Popen, queue: str, nodename: str, broker_url: str, log: Path):
        self.app = app
        self.process = process
        self.queue = queue
        self.nodename = nodename
        self.broker_url = broker_url
        self.log = log

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def drain(self) -> None:
        """Wait until everything queued so far has run: the solo worker runs its queue one task at a time, in order,
        so once a heartbeat queued now has been recorded, every task queued before it has finished."""
        from django.utils import timezone

        from iam.models import WorkerHeartbeat
        from iam.tasks import worker_heartbeat

        marker = timezone.now()
        worker_heartbeat.apply_async()
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(beat_time__gt=marker).exists() or not self.alive(),
            "the worker to run the tasks queued before a heartbeat",
        )
        assert self.alive(), f"the worker died:\n{self.log_tail()}"

    @contextmanager
    def broker_down(self):
        """While inside, this process publishes to a broker address where nothing listens."""
        use_broker(self.app, DEAD_BROKER_URL)
        try:
            yield
        finally:
            use_broker(self.app, self.broker_url)


def _die_with_parent() -> None:
    """In the worker, before exec: on Linux, get SIGTERM if pytest itself dies, so no worker is left behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand, then exit
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def start_worker(app, queue: str, log: Path, extra_env: dict | None = None) -> Worker:
    """Start a Celery worker subprocess on the test database consuming ``queue``; returns once it answers a ping."""
    from django.db import connection

    test_database = connection.settings_dict["NAME"]
    broker_url = worker_redis_url(REDIS_URL)
    nodename = f"{queue}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": with_database(DATABASE_URL, test_database),
        "REDIS_URL": broker_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue,
        "-n",
        nodename,
        "--without-mingle",
        "--without-gossip",
        "-l",
        "info",
        # Command-line configuration: what the worker itself queues (the outbox relay's messages) goes to its queue.
        "--",
        f"task_default_queue={queue}",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    running = Worker(app, process, queue, nodename, broker_url, log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not app.control.ping(destination=[nodename], timeout=1.0):
        if not running.alive():
            pytest.fail(f"the Celery worker exited with {process.returncode}:\n{running.log_tail()}")
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"the Celery worker did not answer a ping in {START_TIMEOUT_SECONDS} s:\n{running.log_tail()}")
    return running


@pytest.fixture(scope="session")
def worker(django_db_setup, tmp_path_factory):
    """A Celery worker subprocess on the test database; this process routes its tasks to the worker's queue."""
    if not AVAILABLE:
        pytest.skip(NEEDS)
    from config.celery import app

    broker_url = worker_redis_url(REDIS_URL)
    queue = f"iam-test-{uuid.uuid4().hex[:12]}"
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    use_broker(app, broker_url)
    app.conf.task_default_queue = queue
    running = None
    try:
        running = start_worker(app, queue, tmp_path_factory.mktemp("worker") / "worker.log")
        yield running
    finally:
        if running is not None:
            _stop(running.process)
        _forget_queue(broker_url, queue)
        use_broker(app, saved[0])
        app.conf.task_default_queue = saved[1]


def _forget_queue(broker_url: str, queue: str) -> None:
    """Remove what the run left in Redis for its queue."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

#!/usr/bin/env python3
"""Proves that what production installs runs the background work: `requirements.txt` alone, no dev extras.

Creates a fresh virtualenv, installs only requirements.txt into it, migrates a database of its own on the given
PostgreSQL server, then starts the Procfile's web, worker, beat and relay processes (honcho, as `make run` does) from
that virtualenv against PostgreSQL and Redis. It writes one pending outbox message for the worker heartbeat task
(as a change that could not reach the broker would leave it) and waits until the relay has sent it, the worker has
run it, and /readyz answers 200 (database, broker and a recent worker heartbeat). Then it stops everything.

Standard library only. Exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HEARTBEAT_TASK = "iam.tasks.worker_heartbeat"


def say(message: str) -> None:
    print(f"[plain-install] {message}", flush=True)


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], env: dict, timeout: float = 600) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise CheckFailed(
            f"{' '.join(cmd[:3])} ... exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


def recreate_database(database_url: str, name: str) -> str:
    """A database of this check's own on the same server (dropped and created anew), so no other data is touched."""
    parts = urlsplit(database_url)
    admin_env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    base = [
        "-w",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(["dropdb", *base, "--if-exists", "--force", name], env=admin_env, check=True)
    subprocess.run(["createdb", *base, name], env=admin_env, check=True)
    return urlunsplit(parts._replace(path=f"/{name}"))


def readyz(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except ValueError:
            return error.code, {}
    except (OSError, ValueError):
        return 0, {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="a Redis database of its own")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for the task to run")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="iam-plain-install-"))
    venv = workdir / "venv"
    say(f"fresh virtualenv in {venv}; installing requirements.txt only")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.txt")], check=True)

    database_url = recreate_database(args.database_url, "iam_plain_install")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "DATA_DIR": str(workdir / "data"),
            "PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            # The heartbeat must come from the message below, sent by the relay process, not from beat's own schedule.
            "SCHEDULE_WORKER_HEARTBEAT_SECONDS": "0",
            "SCHEDULE_OUTBOX_RELAY_SECONDS": "0",
        }
    )
    (workdir / "data").mkdir()
    python = str(venv / "bin" / "python")
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    say(f"migrated {urlsplit(database_url).path.lstrip('/')}; starting web (:{port}), worker, beat and relay")
    log_path = workdir / "processes.log"
    with open(log_path, "wb") as log:
        processes = subprocess.Popen(
            [str(venv / "bin" / "honcho"), "start", "--no-colour", "-p", str(port), "web", "worker", "beat", "relay"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    failure = None
    try:
        message_id = run(
            [
                python,
                "manage.py",
                "shell",
                "--no-imports",
                "-c",
                "from iam.models import OutboxMessage, WorkerHeartbeat; WorkerHeartbeat.objects.all().delete(); "
                f"print(OutboxMessage.objects.create(task={HEARTBEAT_TASK!r}).pk)",
            ],
            env,
        ).strip()
        say(f"wrote pending outbox message {message_id} for {HEARTBEAT_TASK}; waiting for relay, worker and /readyz")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + args.timeout
        status, body = 0, {}
        while time.monotonic() < deadline:
            if processes.poll() is not None:
                raise CheckFailed(f"the processes exited early with status {processes.returncode}")
            status, body = readyz(base)
            if status == 200:
                break
            time.sleep(1)
        if status != 200:
            raise CheckFailed(f"/readyz did not answer 200 within {args.timeout:.0f} s (last: {status} {body})")
        dispatched = run(
            [
                python,
                "manage.py",
                "shell",
                "--no-imports",
                "-c",
                "from iam.models import OutboxMessage; "
                f"print(OutboxMessage.objects.filter(pk={message_id}, dispatch_time__isnull=False).exists())",
            ],
            env,
        ).strip()
        if dispatched != "True":
            raise CheckFailed(f"outbox message {message_id} was not marked as sent by the relay")
        say(f"ok: the relay sent the message, the worker ran it, /readyz answered 200: {json.dumps(body)[:300]}")
    except (CheckFailed, subprocess.TimeoutExpired) as error:
        failure = str(error)
    finally:
        if processes.poll() is None:
            os.killpg(processes.pid, signal.SIGTERM)
            try:
                processes.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(processes.pid, signal.SIGKILL)
                processes.wait(timeout=10)
    log_tail = [
        line
        for line in log_path.read_text(errors="replace").splitlines()
        if "UserWarning" not in line and "mw_instance" not in line
    ][-80:]
    shutil.rmtree(workdir, ignore_errors=True)
    if failure:
        say(f"FAILED: {failure}")
        print("[plain-install] last lines of the process log:", *log_tail, sep="\n  ", flush=True)
        return 1
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Smoke test of the README's run command: `make run` on embedded defaults, then a few real HTTP calls.

Starts `PORT=<port> make run` (port 8001 by default, so that a wrong default address shows) in its own process
group with DATA_DIR in a temporary folder and without DATABASE_URL or REDIS_URL (so SQLite and the file broker are
used and a developer's var/ is left alone), waits until /api/schema/ answers 200, checks that every address it
printed names that port, reads the demo credentials that `make run` prints once, makes one signed call
(GET /api/v1/dashboard), checks that the admin login page and its CSS load, and that /api/docs/ loads its assets
from this server. Then it presses Ctrl-C: SIGINT to the process group, as a terminal does. Everything must stop within
--stop-timeout seconds with no process killed (honcho's SIGKILL), every process exiting 0, the recipe exiting 0
(make prints no error; make itself then ends by the SIGINT it was sent, as GNU make always does), no ERROR or
Traceback line in the whole log, nothing left running and the port free.

Standard library only. Exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER_NAME = "IAM_RUN_SMOKE_MARKER"


def say(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


class SmokeFailure(Exception):
    pass


def redact(text: str) -> str:
    """The run log holds the demo secret and password: never echo them."""
    text = re.sub(r'("(?:secretKey|password)"\s*:\s*")[^"]*(")', r"\1<redacted>\2", text)
    return text


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def sign(secret: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    message = f"{method} {uri}\n{timestamp}\n{access_key}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class AssetLinks(HTMLParser):
    """Collects <link href> and <script src> URLs of a page."""

    def __init__(self):
        super().__init__()
        self.stylesheets: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
            if "stylesheet" in (attrs.get("rel") or ""):
                self.stylesheets.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])


def parse_credentials(log_text: str) -> dict:
    index = log_text.find("Demo credentials")
    if index < 0:
        raise SmokeFailure("`make run` did not print the demo credentials")
    start = log_text.find("{", index)
    try:
        creds, _ = json.JSONDecoder().raw_decode(log_text[start:])
        main = creds["mainAccount"]
        return {"memberNo": main["memberNo"], "accessKey": main["accessKey"], "secretKey": main["secretKey"]}
    except (ValueError, KeyError, TypeError) as error:
        raise SmokeFailure(f"could not parse the demo credentials ({type(error).__name__})") from None


def processes_with_marker(token: str) -> list[int]:
    """Every process whose environment carries this run's marker (all that `make run` started, wherever they went)."""
    needle = f"{MARKER_NAME}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


PROCESSES = ("web", "worker", "beat", "relay")
ERROR_LINE = re.compile(
    r'"level": "(ERROR|CRITICAL)"|\[(ERROR|CRITICAL)\]|\bTraceback \(most recent call last\)|\bERROR\b'
)


def interrupt(process: subprocess.Popen, timeout: float) -> float | None:
    """Ctrl-C: SIGINT to the process group (make, the recipe's shell, honcho). Seconds until make ended, or None."""
    started = time.monotonic()
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        return 0.0
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.monotonic() - started


def check_clean_stop(log_text: str, returncode: int | None, elapsed: float | None, timeout: float) -> None:
    """What Ctrl-C must leave behind: a prompt stop, every process exiting 0, nothing killed, no error lines."""
    if elapsed is None:
        raise SmokeFailure(f"`make run` did not stop within {timeout:.0f} s of Ctrl-C")
    # GNU make re-raises the SIGINT it got once its recipe is done; 0 if it was not delivered to make.
    if returncode not in (0, -signal.SIGINT):
        raise SmokeFailure(f"`make run` ended with status {returncode} after Ctrl-C (expected 0 or SIGINT)")
    shutdown = log_text[log_text.find("SIGINT received") :] if "SIGINT received" in log_text else ""
    if not shutdown:
        raise SmokeFailure("honcho never said 'SIGINT received'")
    if "sending SIGKILL" in shutdown:
        raise SmokeFailure("honcho had to SIGKILL a process that did not stop within its 5 s")
    for name in PROCESSES:
        stopped = re.search(rf"\b{name}\.1 stopped \(rc=(-?\d+)\)", shutdown)
        if stopped is None:
            raise SmokeFailure(f"honcho did not report {name} stopped")
        if stopped.group(1) != "0":
            raise SmokeFailure(f"{name} exited with rc={stopped.group(1)} on Ctrl-C (expected 0)")
    if re.search(r"^make: \*\*\*", log_text, re.M):
        raise SmokeFailure("make reported an error: the recipe (honcho) did not exit 0")
    errors = [line for line in log_text.splitlines() if ERROR_LINE.search(line)]
    if errors:
        raise SmokeFailure(f"{len(errors)} ERROR/Traceback line(s) in the log, the first: {redact(errors[0])[:300]}")
    say(f"ok: Ctrl-C stopped everything in {elapsed:.1f} s: {', '.join(PROCESSES)} exited 0, nothing killed")


def check_printed_port(log_text: str, port: int) -> None:
    """Every address `make run` printed is the one it serves on."""
    base = f"http://127.0.0.1:{port}"
    if f"Serving on {base}/" not in log_text:
        raise SmokeFailure(f"`make run` did not print 'Serving on {base}/'")
    if f'"url": "{base}/admin/"' not in log_text:
        raise SmokeFailure(f"the staff login is not printed for {base}/admin/")
    wrong = sorted(set(re.findall(r"https?://(?:127\.0\.0\.1|localhost):(\d+)", log_text)) - {str(port)})
    if wrong:
        raise SmokeFailure(f"`make run` printed addresses on port(s) {', '.join(wrong)}, not {port}")
    say(f"ok: every address printed names port {port}")


def stop(process: subprocess.Popen, token: str) -> list[int]:
    """What is left after a failed check: SIGTERM to the process group, then sweep up stragglers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    deadline = time.monotonic() + 15
    leftovers = processes_with_marker(token)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = processes_with_marker(token)
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftovers


def check_server(base: str, log_path: Path, process: subprocess.Popen, timeout: float) -> None:
    say(f"waiting (at most {timeout:.0f} s) for {base}/api/schema/ to answer 200")
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise SmokeFailure(f"`make run` exited early with status {process.returncode}")
        try:
            status, body, _ = http_get(f"{base}/api/schema/", timeout=5)
            if status == 200:
                break
        except OSError:
            status = None
        if time.monotonic() - started > timeout:
            raise SmokeFailure(f"{base}/api/schema/ did not answer 200 within {timeout:.0f} s (last: {status})")
        time.sleep(1)
    say(f"ok: /api/schema/ answered 200 after {time.monotonic() - started:.1f} s ({len(body)} bytes)")
    if b"openapi" not in body:
        raise SmokeFailure("/api/schema/ does not look like an OpenAPI document")

    # The credentials are printed before the servers start, so they are in the log by now.
    log_text = log_path.read_text(errors="replace")
    check_printed_port(log_text, int(base.rsplit(":", 1)[1]))
    creds = parse_credentials(log_text)
    say(f"ok: demo credentials printed (memberNo {creds['memberNo']}, access key {creds['accessKey']})")

    uri = "/api/v1/dashboard"
    timestamp = str(int(time.time() * 1000))
    headers = {
        "x-ncp-apigw-timestamp": timestamp,
        "x-ncp-iam-access-key": creds["accessKey"],
        "x-ncp-apigw-signature-v2": sign(creds["secretKey"], "GET", uri, timestamp, creds["accessKey"]),
    }
    status, body, _ = http_get(base + uri, headers=headers)
    if status != 200:
        raise SmokeFailure(f"signed GET {uri} answered {status}: {body[:300]!r}")
    try:
        counts = json.loads(body)
    except ValueError:
        raise SmokeFailure(f"signed GET {uri} did not answer JSON: {body[:200]!r}") from None
    say(f"ok: signed GET {uri} answered 200: {json.dumps(counts, sort_keys=True)[:200]}")

    status, _, _ = http_get(base + uri)
    if status != 401:
        raise SmokeFailure(f"unsigned GET {uri} answered {status}, expected 401")
    say(f"ok: unsigned GET {uri} answered 401")

    for page, needs_css in (("/admin/login/", True), ("/api/docs/", True)):
        status, body, _ = http_get(base + page)
        if status != 200:
            raise SmokeFailure(f"{page} answered {status}")
        links = AssetLinks()
        links.feed(body.decode("utf-8", "replace"))
        if needs_css and not links.stylesheets:
            raise SmokeFailure(f"{page} links no stylesheet")
        for url in links.assets:
            if re.match(r"^(https?:)?//", url):
                raise SmokeFailure(f"{page} loads {url} from another site")
            asset_status, asset_body, asset_headers = http_get(base + url)
            if asset_status != 200 or not asset_body:
                raise SmokeFailure(f"{page} asset {url} answered {asset_status}")
            if url in links.stylesheets and "text/css" not in asset_headers.get("Content-Type", ""):
                raise SmokeFailure(f"{page} stylesheet {url} served as {asset_headers.get('Content-Type')}")
        say(f"ok: {page} answered 200 and its {len(links.assets)} assets ({len(links.stylesheets)} stylesheets) 200")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001, help="port for the web process (another if busy)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the server to answer")
    parser.add_argument("--stop-timeout", type=float, default=10, help="seconds Ctrl-C may take to stop everything")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data folder and log (they hold the demo secrets)"
    )
    args = parser.parse_args()

    port = args.port
    if not port_free(port):
        holder = ""
        if shutil.which("ss"):
            holder = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout.strip()
        port = free_port()
        say(f"port {args.port} is busy ({holder or 'held by another process'}); using port {port} instead")

    workdir = Path(tempfile.mkdtemp(prefix="iam-run-smoke-"))
    data_dir = workdir / "data"
    log_path = workdir / "make-run.log"
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT", "MAKEFLAGS")}
    env.update({"DATA_DIR": str(data_dir), "PORT": str(port), MARKER_NAME: token, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"

    say(f"starting `make run` (DATA_DIR={data_dir}, port {port}, no DATABASE_URL/REDIS_URL); log: {log_path}")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            # PORT from the environment, as the README says (`PORT=8001 make run`).
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    failure = None
    try:
        check_server(base, log_path, process, args.timeout)
        say("pressing Ctrl-C (SIGINT to the process group of `make run`)")
        elapsed = interrupt(process, args.stop_timeout)
        check_clean_stop(log_path.read_text(errors="replace"), process.poll(), elapsed, args.stop_timeout)
    except SmokeFailure as error:
        failure = str(error)
    except Exception as error:  # an unexpected error still must not leave the servers running
        failure = f"unexpected {type(error).__name__}: {error}"
    finally:
        if process.poll() is None:
            say("stopping what is left of `make run` (SIGTERM to its process group)")
        leftovers = stop(process, token)
    if leftovers:
        failure = failure or f"processes left running after stop (killed): {leftovers}"
    if not port_free(port):
        failure = failure or f"port {port} still in use after stop"
    if processes_with_marker(token):
        failure = failure or "processes still running after SIGKILL"
    elapsed = time.monotonic() - started

    if failure:
        say(f"FAILED after {elapsed:.0f} s: {failure}")
        tail = redact(log_path.read_text(errors="replace")).splitlines()[-60:]
        print("[smoke] last lines of the `make run` log:", *tail, sep="\n  ", flush=True)
    else:
        say(f"ok: nothing left running; run smoke test passed in {elapsed:.0f} s")
    # The folder holds the demo secrets (in the log and the database): keep it only when asked.
    if args.keep:
        say(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())

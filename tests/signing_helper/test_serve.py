"""``serve``: the renewal rule (on an injected clock), the endpoint's answers as NCP's SDKs read them, and the
command itself as a process against the fake sessions server."""

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.metadata import CredentialCache, MetadataServer
from ncp_signing_helper.session import Credentials

from tests.signing_helper.conftest import HELPER_ROOT, SESSION_FLAGS

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


class Fetcher:
    """Issues keys numbered 1, 2, ... lasting ``lifetime`` from the clock's time; or fails when told to."""

    def __init__(self, clock, lifetime=timedelta(hours=1)):
        self.clock, self.lifetime, self.calls, self.fail = clock, lifetime, 0, False

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise HelperError("the sessions server is down")
        return Credentials(f"AK{self.calls}", f"secret-{self.calls}", self.clock() + self.lifetime)


def test_the_same_keys_until_16_minutes_before_expiry_then_new_ones():
    clock = Clock()
    fetch = Fetcher(clock)
    cache = CredentialCache(fetch, clock=clock)

    assert cache.get().access_key_id == "AK1"
    clock.advance(minutes=43, seconds=59)  # 16 min 1 s left
    assert cache.get().access_key_id == "AK1"
    assert fetch.calls == 1
    clock.advance(seconds=2)  # 15 min 59 s left: inside the window NCP's Python SDK renews in
    assert cache.get().access_key_id == "AK2"
    assert cache.get().access_key_id == "AK2"
    assert fetch.calls == 2


def test_a_short_session_renews_at_half_its_life():
    clock = Clock()
    fetch = Fetcher(clock, lifetime=timedelta(seconds=600))
    cache = CredentialCache(fetch, clock=clock)
    cache.get()
    clock.advance(seconds=299)
    assert cache.get().access_key_id == "AK1"
    clock.advance(seconds=2)
    assert cache.get().access_key_id == "AK2"


def test_a_failed_renewal_serves_the_old_keys_while_they_work(capsys):
    clock = Clock()
    fetch = Fetcher(clock)
    cache = CredentialCache(fetch, clock=clock)
    cache.get()
    clock.advance(minutes=50)
    fetch.fail = True
    assert cache.get().access_key_id == "AK1"
    err = capsys.readouterr().err
    assert "renewing the keys failed, serving the current ones: the sessions server is down" in err
    assert "secret-1" not in err

    clock.advance(minutes=10)  # expired now
    with pytest.raises(HelperError, match="the sessions server is down"):
        cache.get()
    fetch.fail = False
    assert cache.get().access_key_id == "AK4"  # the next call tries again (calls 2 and 3 failed)
    assert fetch.calls == 4


@pytest.fixture
def endpoint():
    """A MetadataServer on a free loopback port, for role 77, fed by a Fetcher on the real clock."""
    fetch = Fetcher(lambda: datetime.now(UTC))
    server = MetadataServer(("127.0.0.1", 0), CredentialCache(fetch), "77")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, fetch
    server.shutdown()
    server.server_close()
    thread.join()


def get(url, headers=None, method="GET"):
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type"), error.read()


def test_the_role_id_as_plain_text_without_a_newline(endpoint):
    server, _ = endpoint
    # The Python SDK asks with a trailing slash and uses the whole body; the Go SDK reads the first line.
    for path in ("/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials"):
        assert get(server.url + path) == (200, "text/plain", b"77")


def test_the_keys_in_ncps_metadata_shape(endpoint):
    server, fetch = endpoint
    status, content_type, body = get(server.url + "/latest/meta-data/iam/security-credentials/77")
    assert (status, content_type) == (200, "application/json")
    document = json.loads(body)
    assert sorted(document) == ["AccessKeyId", "Expiration", "SecretAccessKey"]
    assert (document["AccessKeyId"], document["SecretAccessKey"]) == ("AK1", "secret-1")
    assert datetime.strptime(document["Expiration"], "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339, as Go's time.Time wants
    # Asked again: the same keys, no new session.
    assert json.loads(get(server.url + "/latest/meta-data/iam/security-credentials/77")[2]) == document
    assert fetch.calls == 1


def test_other_paths_roles_and_methods_get_nothing(endpoint):
    server, fetch = endpoint
    assert get(server.url + "/latest/meta-data/iam/security-credentials/78")[0] == 404
    assert get(server.url + "/latest/meta-data/")[0] == 404
    assert get(server.url + "/latest/meta-data/iam/security-credentials/77", method="POST")[0] == 405
    assert fetch.calls == 0


def test_a_request_for_another_host_name_is_refused(endpoint):
    """A page that rebinds its own name to 127.0.0.1 still sends that name as Host."""
    server, fetch = endpoint
    path = "/latest/meta-data/iam/security-credentials/77"
    status, _, body = get(server.url + path, headers={"Host": "attacker.example"})
    assert status == 403
    assert b"secret" not in body
    assert get(server.url + path, headers={"Host": f"localhost:{server.server_address[1]}"})[0] == 200
    assert fetch.calls == 1


def test_no_session_to_be_had_is_a_503_without_details(endpoint, capsys):
    server, fetch = endpoint
    fetch.fail = True
    status, _, body = get(server.url + "/latest/meta-data/iam/security-credentials/77")
    assert status == 503
    assert json.loads(body) == {"Code": "CredentialsUnavailable", "Message": "no session could be obtained"}
    assert "no keys to serve: the sessions server is down" in capsys.readouterr().err


def _start_serve(sessions, workload, *extra):
    env = {**os.environ, "PYTHONPATH": str(HELPER_ROOT)}
    argv = [sys.executable, "-m", "ncp_signing_helper", "serve", "--port", "0", *workload.flags(), *SESSION_FLAGS]
    return subprocess.Popen(
        [*argv, "--endpoint", sessions.url, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_the_serve_command_hands_sdks_the_keys_of_a_verified_session(sessions, workload):
    process = _start_serve(sessions, workload)
    try:
        banner = process.stderr.readline()
        assert banner.startswith("ncp-signing-helper: serving the keys of role 77 on http://127.0.0.1:"), banner
        base = banner.rsplit("NCLOUD_METADATA_ENDPOINT=", 1)[1].rstrip(")\n")
        # What NCP's Python SDK does with NCLOUD_METADATA_ENDPOINT=base (ncloud_apikey/metadata_api.py):
        role_id = get(base + "/latest/meta-data/iam/security-credentials/")[2].decode("utf-8")
        status, _, body = get(base + "/latest/meta-data/iam/security-credentials/" + role_id)
        assert status == 200
        access_key, secret, expire = sessions.issued[0]
        assert json.loads(body) == {
            "AccessKeyId": access_key,
            "SecretAccessKey": secret,
            "Expiration": expire.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        assert sessions.refused == []
        assert len(sessions.received) == 1  # obtained once, at start
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert secret not in banner + err


def test_the_serve_command_stops_at_start_when_no_session_is_granted(sessions, rsa_workload):
    sessions.answers.append((401, b'{"error": {"errorCode": "200", "message": "Authentication Failed"}}'))
    process = _start_serve(sessions, rsa_workload)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert out == ""
    assert err.endswith("refused the session: HTTP 401: errorCode 200: Authentication Failed\n")

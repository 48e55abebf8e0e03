"""``credential-process`` against a fake sessions server that verifies every request: the JSON on stdout, and on
every failure a clear line on stderr, a non-zero exit and no secret."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from ncp_signing_helper.cli import main

from tests.signing_helper.conftest import PROFILE_NRN, ROLE_NRN, SESSION_FLAGS, TRUST_ANCHOR_NRN


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_keys_of_a_verified_session(capsys, sessions, workload):
    code, out, err = run(capsys, "credential-process", *workload.flags(), *SESSION_FLAGS, "--endpoint", sessions.url)

    assert (code, err, sessions.refused) == (0, "", [])
    access_key, secret, expire = sessions.issued[0]
    assert json.loads(out) == {
        "Version": 1,
        "AccessKeyId": access_key,
        "SecretAccessKey": secret,
        "Expiration": expire.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert out.endswith("}\n") and out.count("\n") == 1
    (received,) = sessions.received
    assert received.body == {
        "durationSeconds": 3600,
        "trustAnchorNrn": TRUST_ANCHOR_NRN,
        "profileNrn": PROFILE_NRN,
        "roleNrn": ROLE_NRN,
    }
    assert received.certificate == workload.certificate
    expected = "X509-RSA-SHA256" if workload.kind == "rsa" else "X509-ECDSA-SHA256"
    assert received.headers["x-ncp-iam-x509-algorithm"] == expected
    assert "x-ncp-iam-x509-chain" not in received.headers


def test_sends_intermediates_and_the_duration_asked_for(capsys, sessions, workload):
    code, out, err = run(
        capsys,
        "credential-process",
        *workload.flags(intermediates=True),
        *SESSION_FLAGS,
        "--duration-seconds",
        "900",
        "--endpoint",
        sessions.url + "/",  # a trailing slash is not doubled
    )
    assert (code, err, sessions.refused) == (0, "", [])
    (received,) = sessions.received
    assert received.chain == [workload.intermediate]
    assert received.body["durationSeconds"] == 900
    expiration = datetime.strptime(json.loads(out)["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=890) < expiration - datetime.now(UTC) <= timedelta(seconds=900)


def test_an_expire_time_with_an_offset_is_printed_in_utc(capsys, sessions, rsa_workload):
    body = {"credential": {"accessKey": "AK", "keySecret": "S3cr3t", "expireTime": "2030-01-02T12:00:00+09:00"}}
    sessions.answers.append((201, json.dumps(body).encode()))
    code, out, _ = run(capsys, "credential-process", *rsa_workload.flags(), *SESSION_FLAGS, "--endpoint", sessions.url)
    assert code == 0
    assert json.loads(out)["Expiration"] == "2030-01-02T03:00:00Z"


def _fails(capsys, sessions, workload, *extra):
    code, out, err = run(capsys, "credential-process", *workload.flags(), *SESSION_FLAGS, *extra)
    assert code == 1
    assert out == ""
    assert err.startswith("ncp-signing-helper: error: ") and err.count("\n") == 1
    return err


def test_an_http_error_shows_the_servers_message(capsys, sessions, rsa_workload):
    refusal = {"error": {"errorCode": "200", "message": "Authentication Failed", "details": "certificate has expired"}}
    sessions.answers.append((401, json.dumps(refusal).encode()))
    err = _fails(capsys, sessions, rsa_workload, "--endpoint", sessions.url)
    assert err == (
        f"ncp-signing-helper: error: {sessions.url}/auth/v1/sessions refused the session: HTTP 401: "
        "errorCode 200: Authentication Failed - certificate has expired\n"
    )


def test_an_external_access_error_body_shows_its_message(capsys, sessions, rsa_workload):
    refusal = {"error": {"errorCode": "400", "message": "durationSeconds exceeds the profile's", "requestId": "r-1"}}
    sessions.answers.append((400, json.dumps(refusal).encode()))
    err = _fails(capsys, sessions, rsa_workload, "--endpoint", sessions.url)
    assert err.endswith("HTTP 400: errorCode 400: durationSeconds exceeds the profile's\n")


def test_a_non_json_error_shows_the_start_of_its_text(capsys, sessions, rsa_workload):
    sessions.answers.append((502, b"<html>Bad Gateway</html>\n"))
    err = _fails(capsys, sessions, rsa_workload, "--endpoint", sessions.url)
    assert err.endswith("refused the session: HTTP 502: <html>Bad Gateway</html>\n")


def test_a_network_error_says_the_server_cannot_be_reached(capsys, closed_port_url, rsa_workload):
    err = _fails(capsys, None, rsa_workload, "--endpoint", closed_port_url)
    assert err.startswith(f"ncp-signing-helper: error: cannot reach {closed_port_url}/auth/v1/sessions: ")
    assert "refused" in err.lower()


def test_an_endpoint_that_is_not_http_is_refused_before_any_request(capsys, rsa_workload):
    err = _fails(capsys, None, rsa_workload, "--endpoint", "ftp://example.test")
    assert (
        err == "ncp-signing-helper: error: the endpoint must be an http:// or https:// URL, not 'ftp://example.test'\n"
    )


@pytest.mark.parametrize(
    "credential",
    [
        {"accessKey": "AK", "keySecret": "TopSecretValue123"},  # no expireTime
        {"accessKey": "AK", "keySecret": "TopSecretValue123", "expireTime": "TopSecretValue123 soon"},
        {"accessKey": "", "keySecret": "TopSecretValue123", "expireTime": "2030-01-01T00:00:00Z"},
    ],
)
def test_a_malformed_success_body_is_an_error_that_does_not_echo_the_secret(capsys, sessions, rsa_workload, credential):
    sessions.answers.append((201, json.dumps({"credential": credential}).encode()))
    err = _fails(capsys, sessions, rsa_workload, "--endpoint", sessions.url)
    assert "TopSecretValue123" not in err
    assert f"{sessions.url}/auth/v1/sessions answered HTTP 201" in err


def test_file_errors_come_before_any_request(capsys, sessions, tmp_path, rsa_workload):
    code, out, err = run(
        capsys,
        "credential-process",
        "--certificate",
        str(tmp_path / "missing.pem"),
        "--private-key",
        str(rsa_workload.key_path),
        *SESSION_FLAGS,
        "--endpoint",
        sessions.url,
    )
    assert (code, out) == (1, "")
    assert (
        err
        == f"ncp-signing-helper: error: cannot read the certificate file {tmp_path / 'missing.pem'}: No such file or directory\n"
    )
    assert sessions.received == sessions.refused == []


@pytest.mark.parametrize("duration", ["599", "43201", "ten"])
def test_a_duration_out_of_range_is_a_usage_error(capsys, rsa_workload, duration):
    with pytest.raises(SystemExit) as exited:
        main(["credential-process", *rsa_workload.flags(), *SESSION_FLAGS, "--duration-seconds", duration])
    assert exited.value.code == 2
    assert "--duration-seconds" in capsys.readouterr().err


def test_a_missing_nrn_is_a_usage_error(capsys, rsa_workload):
    with pytest.raises(SystemExit) as exited:
        main(["credential-process", *rsa_workload.flags(), "--role-nrn", ROLE_NRN, "--profile-nrn", PROFILE_NRN])
    assert exited.value.code == 2
    assert "--trust-anchor-nrn" in capsys.readouterr().err


def test_version_and_help(capsys):
    from ncp_signing_helper import __version__

    assert run(capsys, "version") == (0, f"ncp-signing-helper {__version__}\n", "")
    code, out, _ = run(capsys, "help")
    assert code == 0
    for command in ("credential-process", "serve", "update", "version", "help"):
        assert command in out
    code, out, _ = run(capsys, "help", "credential-process")
    assert code == 0 and "--trust-anchor-nrn" in out and "--role-nrn" in out
    with pytest.raises(SystemExit) as exited:
        main(["help", "nonsense"])
    assert exited.value.code == 2


def test_control_characters_in_the_servers_message_do_not_reach_the_terminal(capsys, sessions, rsa_workload):
    refusal = {"error": {"errorCode": "200", "message": "Authentication\x1b[2J Failed\nsecond line"}}
    sessions.answers.append((401, json.dumps(refusal).encode()))
    err = _fails(capsys, sessions, rsa_workload, "--endpoint", sessions.url)
    assert err.endswith("HTTP 401: errorCode 200: Authentication [2J Failed second line\n")

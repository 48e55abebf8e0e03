"""The signing helper (signing_helper/, its own package) against the real service: a certificate of the account's
private CA becomes keys on stdout, and those keys sign an API call with the Service role's policies."""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from iam.gateway.signing import signed_headers
from tests.conftest import make_tenant
from tests.external_access import pki
from tests.external_access.test_sessions import Workload

HELPER_ROOT = Path(__file__).resolve().parents[2] / "signing_helper"
if str(HELPER_ROOT) not in sys.path:
    sys.path.insert(0, str(HELPER_ROOT))

from ncp_signing_helper import cli  # noqa: E402


def get(base_url: str, uri: str, access_key: str, secret: str) -> int:
    request = urllib.request.Request(base_url + uri, headers=signed_headers(access_key, secret, "GET", uri))
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_credential_process_gets_keys_that_sign_api_calls(live_server, tmp_path, capsys):
    workload = Workload(make_tenant("Alpha", member_no=2942))
    certificate_file, key_file = tmp_path / "workload.pem", tmp_path / "workload.key"
    certificate_file.write_text(pki.pem(workload.certificate))
    key_file.write_bytes(
        workload.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    flags = ["--certificate", str(certificate_file), "--private-key", str(key_file)]
    flags += ["--trust-anchor-nrn", workload.anchor.nrn, "--profile-nrn", workload.profile.nrn]
    flags += ["--role-nrn", workload.role.nrn, "--duration-seconds", "900", "--endpoint", live_server.url]
    assert cli.main(["credential-process", *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["Version"] == 1 and out["AccessKeyId"] and out["Expiration"].endswith("Z")
    assert get(live_server.url, "/api/v1/groups", out["AccessKeyId"], out["SecretAccessKey"]) == 200
    assert get(live_server.url, "/api/v1/sub-accounts", out["AccessKeyId"], out["SecretAccessKey"]) == 401
    # A profile that no longer holds the role: the helper exits non-zero with the server's reason on stderr.
    from external_access.services import profiles

    profiles.profile_update(profile=workload.profile, role_ids=[])
    assert cli.main(["credential-process", *flags]) != 0
    captured = capsys.readouterr()
    assert captured.out == "" and "the profile holds no such role" in captured.err

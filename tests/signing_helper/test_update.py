"""``update``: the keys in ``~/.ncloud/configure`` as NCP's SDKs read them, every other line kept, mode 0600, and
renewed in a loop (on an injected clock and sleep)."""

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ncp_signing_helper.cli import main
from ncp_signing_helper.configure import configure_path, run_update, update_text, write_credentials
from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.session import Credentials

from tests.signing_helper.conftest import SESSION_FLAGS

KEYS = Credentials("AKNEW", "SecretNew123", datetime(2030, 1, 1, tzinfo=UTC))


def read_like_ncp_sdks(text: str) -> tuple[str, str]:
    """How NCP's Python SDK (ncloud_apikey PropertiesParser / ConfigFileProvider) reads the file: every
    ``name = value`` line not starting with '#', split at '=', the last one of a name wins; the Go SDK's
    ConfigFileProvider does the same, section headers ignored by both."""
    values = {}
    for line in text.splitlines(keepends=True):
        if line == "" or len(line) < 3 or line[0] == "#":
            continue
        parts = line.strip().split("=")
        if len(parts) < 2:
            continue
        values[parts[0].strip()] = parts[1].strip()
    return values["ncloud_access_key_id"], values["ncloud_secret_access_key"]


def test_a_new_file_gets_a_default_section():
    text, warnings = update_text("", "DEFAULT", KEYS)
    assert text == "[DEFAULT]\nncloud_access_key_id = AKNEW\nncloud_secret_access_key = SecretNew123\n"
    assert warnings == []
    assert read_like_ncp_sdks(text) == ("AKNEW", "SecretNew123")


def test_the_profiles_keys_are_replaced_in_place_and_every_other_line_kept():
    before = (
        "# my NCP settings\n"
        "[DEFAULT]\n"
        "ncloud_access_key_id = AKOLD\n"
        "ncloud_secret_access_key=OldSecret\n"
        "ncloud_api_url = https://ncloud.apigw.ntruss.com\n"
        "\n"
        "[staging]\n"
        "ncloud_api_url = https://staging.example\n"
    )
    text, warnings = update_text(before, "DEFAULT", KEYS)
    assert text == (
        "# my NCP settings\n"
        "[DEFAULT]\n"
        "ncloud_access_key_id = AKNEW\n"
        "ncloud_secret_access_key = SecretNew123\n"
        "ncloud_api_url = https://ncloud.apigw.ntruss.com\n"
        "\n"
        "[staging]\n"
        "ncloud_api_url = https://staging.example\n"
    )
    assert warnings == []
    assert read_like_ncp_sdks(text) == ("AKNEW", "SecretNew123")


def test_another_profile_is_written_without_touching_default():
    before = "[DEFAULT]\nncloud_access_key_id = AKMINE\nncloud_secret_access_key = Mine\n\n[other]\nregion = KR\n"
    text, warnings = update_text(before, "other", KEYS)
    assert text == (
        "[DEFAULT]\nncloud_access_key_id = AKMINE\nncloud_secret_access_key = Mine\n\n"
        "[other]\nregion = KR\nncloud_access_key_id = AKNEW\nncloud_secret_access_key = SecretNew123\n"
    )
    assert warnings == []  # [other] is last: the SDKs read its keys


def test_a_missing_profile_is_appended_after_a_blank_line():
    before = "[DEFAULT]\nncloud_access_key_id = AKMINE\nncloud_secret_access_key = Mine"  # no final newline
    text, _ = update_text(before, "workload", KEYS)
    assert text == (
        "[DEFAULT]\nncloud_access_key_id = AKMINE\nncloud_secret_access_key = Mine\n\n"
        "[workload]\nncloud_access_key_id = AKNEW\nncloud_secret_access_key = SecretNew123\n"
    )


def test_a_file_without_headers_is_the_default_profile():
    text, warnings = update_text("ncloud_access_key_id=AKOLD\nncloud_secret_access_key=Old\n", "DEFAULT", KEYS)
    assert text == "ncloud_access_key_id = AKNEW\nncloud_secret_access_key = SecretNew123\n"
    assert warnings == []


def test_keys_missing_from_an_existing_section_go_before_its_trailing_blank_lines():
    before = "[DEFAULT]\nncloud_api_url = https://x\n\n[b]\nregion = KR\n"
    text, _ = update_text(before, "DEFAULT", KEYS)
    assert text == (
        "[DEFAULT]\nncloud_api_url = https://x\nncloud_access_key_id = AKNEW\nncloud_secret_access_key = SecretNew123\n"
        "\n[b]\nregion = KR\n"
    )


def test_duplicate_key_lines_in_the_profile_leave_exactly_one():
    before = "[DEFAULT]\nncloud_access_key_id = A1\nncloud_access_key_id = A2\nncloud_secret_access_key = S\n"
    text, _ = update_text(before, "DEFAULT", KEYS)
    assert text.count("ncloud_access_key_id") == 1
    assert read_like_ncp_sdks(text) == ("AKNEW", "SecretNew123")


def test_a_later_profile_with_keys_is_warned_about():
    before = "[DEFAULT]\nncloud_access_key_id = A\nncloud_secret_access_key = S\n\n[old]\nncloud_access_key_id = B\n"
    text, warnings = update_text(before, "DEFAULT", KEYS)
    assert "ncloud_access_key_id = B" in text  # not ours to change
    assert warnings == [
        "profile [old] comes after [DEFAULT] and sets ncloud_access_key_id too: NCP's Python and Go SDKs read "
        "the last one in the file, whatever its profile, so they will not use these keys"
    ]


def test_keys_the_file_cannot_carry_are_refused():
    with pytest.raises(HelperError, match="nothing written"):
        update_text("", "DEFAULT", Credentials("AK", "se=cret", KEYS.expiration))
    with pytest.raises(HelperError, match="nothing written"):
        update_text("", "DEFAULT", Credentials("AK\n[x]", "secret", KEYS.expiration))


def test_the_file_is_written_0600_in_a_0700_folder(tmp_path):
    path = tmp_path / "home" / ".ncloud" / "configure"
    write_credentials(path, "DEFAULT", KEYS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_like_ncp_sdks(path.read_text()) == ("AKNEW", "SecretNew123")


def test_an_existing_readable_file_becomes_0600(tmp_path):
    path = tmp_path / "configure"
    path.write_text("[DEFAULT]\nncloud_api_url = https://x\n")
    path.chmod(0o644)
    write_credentials(path, "DEFAULT", KEYS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "ncloud_api_url = https://x" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["configure"]  # no temporary file left behind


def test_an_unwritable_place_is_a_clear_error(tmp_path):
    (tmp_path / ".ncloud").write_text("a file where the folder should be")
    with pytest.raises(HelperError) as raised:
        write_credentials(tmp_path / ".ncloud" / "configure", "DEFAULT", KEYS)
    assert str(raised.value) == f"cannot write {tmp_path / '.ncloud' / 'configure'}: File exists"


def test_the_path_is_home_ncloud_configure(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert configure_path() == tmp_path / ".ncloud" / "configure"


class StopLoop(Exception):
    pass


def test_the_loop_renews_before_expiry_and_retries_a_failure(tmp_path, capsys):
    now = [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    issued = []

    def fetch():
        if len(issued) == 1 and not getattr(fetch, "failed", False):
            fetch.failed = True
            raise HelperError("the sessions server is down")
        issued.append(Credentials(f"AK{len(issued) + 1}", f"Secret{len(issued) + 1}", now[0] + timedelta(hours=1)))
        return issued[-1]

    slept, contents = [], []
    path = tmp_path / ".ncloud" / "configure"

    def sleep(seconds):
        contents.append(path.read_text())
        slept.append(seconds)
        if len(slept) == 3:
            raise StopLoop
        now[0] += timedelta(seconds=seconds)

    with pytest.raises(StopLoop):
        run_update(fetch, path=path, profile="DEFAULT", once=False, clock=lambda: now[0], sleep=sleep)

    # Keys 1 written; sleep until 16 min before expiry; the renewal fails: retry in a minute; keys 2 written.
    assert slept == [44 * 60, 60, 44 * 60]
    assert read_like_ncp_sdks(contents[0]) == ("AK1", "Secret1")
    assert contents[1] == contents[0]
    assert read_like_ncp_sdks(contents[2]) == ("AK2", "Secret2")
    err = capsys.readouterr().err
    assert "the sessions server is down; trying again in 60 s" in err
    assert (
        f"wrote the keys of [DEFAULT] to {path}; they expire at 2030-01-01T13:00:00Z, renewed at 2030-01-01T12:44:00Z\n"
    ) in err
    assert "Secret1" not in err and "Secret2" not in err


def test_update_once_through_the_command(capsys, sessions, rsa_workload, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = Path(tmp_path) / ".ncloud" / "configure"
    config.parent.mkdir()
    config.write_text("[DEFAULT]\nncloud_api_url = https://ncloud.apigw.ntruss.com\n")

    code = main(["update", "--once", *rsa_workload.flags(), *SESSION_FLAGS, "--endpoint", sessions.url])

    out, err = capsys.readouterr()
    assert (code, out, sessions.refused) == (0, "", [])
    access_key, secret, expire = sessions.issued[0]
    text = config.read_text()
    assert read_like_ncp_sdks(text) == (access_key, secret)
    assert "ncloud_api_url = https://ncloud.apigw.ntruss.com" in text
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert err == (
        f"ncp-signing-helper: wrote the keys of [DEFAULT] to {config}; they expire at "
        f"{expire.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    )


def test_update_once_fails_with_the_servers_reason_and_writes_nothing(
    capsys, sessions, rsa_workload, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    sessions.answers.append((403, b'{"error": {"errorCode": "403", "message": "the profile is disabled"}}'))
    code = main(["update", "--once", *rsa_workload.flags(), *SESSION_FLAGS, "--endpoint", sessions.url])
    assert code == 1
    assert capsys.readouterr().err.endswith("HTTP 403: errorCode 403: the profile is disabled\n")
    assert not (tmp_path / ".ncloud").exists()


def test_a_symlinked_file_keeps_its_link_and_its_target_is_rewritten(tmp_path):
    target = tmp_path / "dotfiles" / "ncloud-configure"
    target.parent.mkdir()
    target.write_text("[DEFAULT]\nncloud_api_url = https://x\n")
    link = tmp_path / ".ncloud" / "configure"
    link.parent.mkdir()
    link.symlink_to(target)
    write_credentials(link, "DEFAULT", KEYS)
    assert link.is_symlink()
    assert read_like_ncp_sdks(target.read_text()) == ("AKNEW", "SecretNew123")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

"""``update``: the keys written to ``~/.ncloud/configure``, where NCP's SDKs and CLI read them, and kept fresh.

The file is ``name = value`` lines, optionally under ``[profile]`` section headers. NCP's Python SDK (ncloud_apikey)
and Go SDK (ncloud/credentials) ignore the headers: they read every ``ncloud_access_key_id`` /
``ncloud_secret_access_key`` line of the file and the last one wins. So the keys go into the profile's section, every
other line stays as it was, and a warning says when a later section's keys would win over them in those SDKs.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.metadata import CredentialCache
from ncp_signing_helper.session import Credentials

ACCESS_KEY_NAME = "ncloud_access_key_id"
SECRET_KEY_NAME = "ncloud_secret_access_key"
DEFAULT_PROFILE = "DEFAULT"
RETRY_SECONDS = 60
_SECTION = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")


def configure_path() -> Path:
    """``$HOME/.ncloud/configure``, the path both SDKs open."""
    return Path.home() / ".ncloud" / "configure"


def _key_name(line: str) -> str | None:
    if "=" not in line or line.lstrip().startswith("#"):
        return None
    return line.split("=", 1)[0].strip()


def _sections(lines: list[str]) -> list[str]:
    """The profile each line belongs to; lines before any header count as DEFAULT."""
    section, sections = DEFAULT_PROFILE, []
    for line in lines:
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
        sections.append(section)
    return sections


def update_text(text: str, profile: str, credentials: Credentials) -> tuple[str, list[str]]:
    """The file's new text with the profile's keys replaced (or added), and warnings for the user."""
    for value in (credentials.access_key_id, credentials.secret_access_key):
        if any(ch in value for ch in "=\r\n") or value != value.strip():
            raise HelperError("the session's keys hold characters the configure file cannot carry; nothing written")
    new_values = {ACCESS_KEY_NAME: credentials.access_key_id, SECRET_KEY_NAME: credentials.secret_access_key}
    lines = text.splitlines()
    sections = _sections(lines)

    written, out = set(), []
    for line, section in zip(lines, sections, strict=True):
        name = _key_name(line)
        if section == profile and name in new_values:
            if name not in written:  # a duplicate goes: the SDKs would read the last one
                out.append(f"{name} = {new_values[name]}")
                written.add(name)
        else:
            out.append(line)

    missing = [f"{name} = {new_values[name]}" for name in (ACCESS_KEY_NAME, SECRET_KEY_NAME) if name not in written]
    if missing:
        out_sections = _sections(out)
        positions = [index for index, section in enumerate(out_sections) if section == profile]
        if positions:  # after the profile's last line, before the blank lines that end it
            at = positions[-1] + 1
            while at > positions[0] and not out[at - 1].strip():
                at -= 1
            out[at:at] = missing
        else:
            if out and out[-1].strip():
                out.append("")
            out += [f"[{profile}]", *missing]

    # What NCP's Python and Go SDKs will read: the last access key line of the whole file.
    read_by_sdks = None
    for line, section in zip(out, _sections(out), strict=True):
        if _key_name(line) == ACCESS_KEY_NAME:
            read_by_sdks = section
    warnings = []
    if read_by_sdks != profile:
        warnings.append(
            f"profile [{read_by_sdks}] comes after [{profile}] and sets {ACCESS_KEY_NAME} too: NCP's Python and Go "
            "SDKs read the last one in the file, whatever its profile, so they will not use these keys"
        )
    return "\n".join(out) + "\n", warnings


def write_credentials(path: Path, profile: str, credentials: Credentials) -> list[str]:
    """Replace the profile's keys in the file, atomically, leaving it (and only it) readable by its owner: 0600."""
    path = Path(os.path.realpath(path))  # a symlinked configure file stays a symlink: its target is rewritten
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        new_text, warnings = update_text(text, profile, credentials)
        # A temporary file in the same folder, created 0600, then renamed over the old one: a reader never sees
        # half a file, and the secret is never in a file others can read, not even for a moment.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".configure.", text=True)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(new_text)
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise HelperError(f"cannot write {path}: {error.strerror or error}") from None
    return warnings


def run_update(
    fetch: Callable[[], Credentials],
    *,
    path: Path,
    profile: str,
    once: bool,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write fresh keys, then (unless ``once``) sleep until they are due for renewal and write the next ones, for
    ever. A failed renewal is reported and retried a minute later; with ``once`` it is raised."""
    warned = False
    while True:
        try:
            obtained_at = clock()
            credentials = fetch()
            warnings = write_credentials(path, profile, credentials)
        except HelperError as error:
            if once:
                raise
            print(f"ncp-signing-helper: {error}; trying again in {RETRY_SECONDS} s", file=sys.stderr)
            sleep(RETRY_SECONDS)
            continue
        for warning in [] if warned else warnings:
            print(f"ncp-signing-helper: warning: {warning}", file=sys.stderr)
        warned = True
        refresh_at = CredentialCache.refresh_time(credentials, obtained_at).astimezone(UTC)  # as ``serve`` renews
        print(
            f"ncp-signing-helper: wrote the keys of [{profile}] to {path}; they expire at "
            f"{credentials.expiration_text}" + ("" if once else f", renewed at {refresh_at:%Y-%m-%dT%H:%M:%SZ}"),
            file=sys.stderr,
        )
        if once:
            return
        sleep(max((refresh_at - clock()).total_seconds(), 1.0))

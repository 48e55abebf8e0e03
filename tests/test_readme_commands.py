"""README.md promises two set-up commands and a runnable signing example; the Makefile and CI must keep them true."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from iam.gateway.signing import signed_headers
from iam.models import AccessKey, Group, Policy, PolicyAttachment, SubAccount
from tests.conftest import make_sub_account

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
CI_RUN = ROOT / ".ci" / "run"
SETUP_COMMANDS = ["make run", "make test"]
# Commands that set a project up by hand; the README leaves all of that to the two make targets.
MANUAL_SETUP = re.compile(r"^\s*(pip3? install|python3? -m (venv|pip)|virtualenv|uv |poetry )")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def code_blocks(text: str, language: str | None = None) -> list[str]:
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)
    return [body for lang, body in blocks if language is None or lang == language]


def command_lines(text: str) -> list[str]:
    return [
        line.strip()
        for block in code_blocks(text)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", MAKEFILE, re.M))


def test_quick_start_has_exactly_the_two_setup_commands():
    assert command_lines(section("Quick start")) == SETUP_COMMANDS


def test_no_other_setup_steps_anywhere_in_the_readme():
    shell_lines = [
        line
        for lang in ("sh", "bash", "console", "")
        for block in code_blocks(README, lang)
        for line in block.splitlines()
    ]
    manual = [line for line in shell_lines if MANUAL_SETUP.match(line)]
    assert manual == []
    # Only the Quick start blocks hold make commands meant to be typed.
    make_lines = [line for line in command_lines(README) if line.startswith("make ")]
    assert make_lines == SETUP_COMMANDS


def test_makefile_has_the_named_targets():
    targets = makefile_targets()
    for command in SETUP_COMMANDS:
        assert command.split()[1] in targets
    assert {"help", "install", "run", "test", "lint", "schema", "bench", "migrate"} <= targets
    # Both set-up commands build the venv themselves: their recipes depend on an install stamp.
    assert re.search(r"^run: \$\(RUN_STAMP\)", MAKEFILE, re.M)
    assert re.search(r"^test: \$\(DEV_STAMP\)", MAKEFILE, re.M)
    assert "$(PYTHON) -m venv $(VENV)" in MAKEFILE


def test_make_run_uses_the_procfile_through_honcho():
    procfile = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert sorted(procfile) == ["beat", "relay", "release", "web", "worker"]
    # Each command replaces its shell (exec), so honcho's SIGTERM reaches the program, not a shell that dies first
    # and leaves the program behind, and honcho reports the program's own exit status.
    assert all(command.startswith("exec ") for command in procfile.values()), procfile
    commands = {name: command.removeprefix("exec ") for name, command in procfile.items()}
    assert commands["relay"] == "python manage.py outbox_relay"
    assert commands["release"] == "python manage.py migrate --noinput"
    assert commands["web"].startswith("gunicorn config.wsgi ")
    assert "${PORT:-8000}" in commands["web"]
    assert commands["worker"].startswith("celery -A config worker")
    # No pool child processes by default: a SIGTERM to the worker's process group would kill them mid-shutdown.
    assert "--pool ${WORKER_POOL:-threads}" in commands["worker"]
    assert commands["beat"].startswith("celery -A config beat")
    run_recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", MAKEFILE, re.M).group(1)
    assert "honcho start --no-colour release" in run_recipe
    assert "manage.py bootstrap_demo" in run_recipe
    assert re.search(r"honcho start .*\\\n\t+web worker beat relay", run_recipe) or re.search(
        r"honcho start .*web worker beat relay", run_recipe
    )
    # The admin address printed once is the one the web process listens on.
    assert 'bootstrap_demo --base-url "http://127.0.0.1:$(PORT)"' in run_recipe


def test_ci_runs_the_readme_test_command():
    assert CI_RUN.exists()
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable"
    text = CI_RUN.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    lines = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert any(re.fullmatch(r"make (--no-print-directory )?test", line) for line in lines)
    # ... against real servers, and then the run command's smoke test on embedded defaults.
    assert "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/test" in lines
    assert "export REDIS_URL=redis://127.0.0.1:6379/0" in lines
    assert any("scripts/smoke_run.py" in line and "env -u DATABASE_URL -u REDIS_URL" in line for line in lines)


def _run_example(heading: str, live_server, tenant, timeout: float = 120):
    """Runs the one Python example under ``heading`` as printed, with the tenant's root key, against the server."""
    examples = code_blocks(section(heading), "python")
    assert len(examples) == 1
    env = {
        **os.environ,
        "IAM_URL": live_server.url,
        "IAM_ACCESS_KEY": tenant.root.access_key,
        "IAM_SECRET_KEY": tenant.root.secret,
    }
    result = subprocess.run(
        [sys.executable, "-c", examples[0]], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return examples[0], env, result


@pytest.mark.django_db(transaction=True)
def test_readme_signing_example_runs_against_a_live_server(live_server, tenant):
    """The README's Python example, as printed, lists the sub accounts of the account whose keys it is given."""
    make_sub_account(tenant, "readme.user")
    example, env, result = _run_example("Signing a request by hand", live_server, tenant)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["page"] == 0
    assert page["totalItems"] == 1
    assert [item["loginId"] for item in page["items"]] == ["readme.user"]

    # The same example with a wrong secret is refused by the server.
    wrong_secret = tenant.root.secret[:-1] + ("0" if tenant.root.secret[-1] != "0" else "1")
    result = subprocess.run(
        [sys.executable, "-c", example],
        env={**env, "IAM_SECRET_KEY": wrong_secret},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "HTTP Error 401" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_readme_worked_example_runs_against_a_live_server(live_server, tenant, other_tenant):
    """The README's integrator example, as printed: sub account, group, policy, attachments, a key, an allowed and
    a denied call, and STS keys, all in the account whose root key it is given."""
    _, _, result = _run_example("A worked example: a sub account with its own key", live_server, tenant)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:-1] == [
        "create sub account: 200",
        "create group: 200",
        "create policy: 200",
        "attach policy: 200",
        "add member: 200",
        "create access key: 200",
        "allowed: list groups: 200",
        "denied: list sub accounts: 401",
        "   210 Permission Denied",
        "get STS keys: 200",
        "allowed with the STS key: list groups: 200",
    ]
    summary = json.loads(lines[-1])
    assert summary["groups"] == ["deployers"]
    assert summary["denied"] == "210"

    sub = SubAccount.objects.get(account=tenant.account, login_id="deploy-bot")
    assert str(sub.sub_account_id) == summary["subAccountId"]
    assert (sub.can_api_gateway_access, sub.can_console_access) == (True, False)
    group = Group.objects.get(account=tenant.account, name="deployers")
    assert str(group.group_id) == summary["groupId"]
    assert list(group.memberships.values_list("sub_account", flat=True)) == [sub.pk]
    policy = Policy.objects.get(account=tenant.account, name="read-groups-and-sts")
    assert policy.policy_id == summary["policyId"]
    assert list(PolicyAttachment.objects.filter(group=group).values_list("policy", flat=True)) == [policy.pk]
    key = AccessKey.objects.get(access_key=summary["accessKey"])
    assert (key.kind, key.sub_account_id) == (AccessKey.SUB_ACCOUNT, sub.pk)
    sts = AccessKey.objects.get(access_key=summary["stsAccessKey"])
    assert (sts.kind, sts.sub_account_id, sts.issued_by_id) == (AccessKey.TEMPORARY, sub.pk, key.pk)
    assert 890 <= (sts.expire_time - sts.create_time).total_seconds() <= 910
    # Nothing landed in the other account.
    assert not SubAccount.objects.filter(account=other_tenant.account).exists()

    # The example says a body needs its Content-Type: without it the same call is refused.
    uri = "/api/v1/groups"
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "POST", uri)
    request = urllib.request.Request(live_server.url + uri, data=b'{"groupName": "x-team"}', headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 415
    assert not Group.objects.filter(name="x-team").exists()

    # Run twice, the first step answers 409 (the login id is taken), as the README says.
    _, _, again = _run_example("A worked example: a sub account with its own key", live_server, tenant)
    assert again.returncode != 0
    assert "create sub account: 409" in again.stdout

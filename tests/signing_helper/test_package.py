"""The helper as a package of its own: it imports nothing of the server, its one dependency stays in step with the
server's pin, and ``pip install`` of the folder gives a working ``ncp-signing-helper`` command in a fresh venv
that has no Django."""

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.signing_helper.conftest import HELPER_ROOT, SESSION_FLAGS

REPO = HELPER_ROOT.parent
PACKAGE = HELPER_ROOT / "ncp_signing_helper"


def test_the_package_imports_only_the_standard_library_cryptography_and_itself():
    offending = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("cryptography", "ncp_signing_helper"):
                    offending.append(f"{path.name}:{node.lineno} imports {name}")
    assert offending == []


def test_its_one_dependency_admits_the_servers_pinned_cryptography():
    project = tomllib.loads((HELPER_ROOT / "pyproject.toml").read_text())["project"]
    (dependency,) = [Requirement(text) for text in project["dependencies"]]
    assert dependency.name == "cryptography"
    pins = [
        line.split("#")[0].strip().split("==")[1]
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.startswith("cryptography==")
    ]
    assert len(pins) == 1
    assert dependency.specifier.contains(pins[0]), (str(dependency.specifier), pins[0])
    assert project["scripts"] == {"ncp-signing-helper": "ncp_signing_helper.cli:main"}


def _venv_with_only_cryptography(folder: Path) -> Path:
    """A venv without pip or Django whose only packages are cryptography and what it needs, linked from ours."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    target = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = Path(sysconfig.get_path("purelib"))
    for pattern in ("cryptography", "cryptography-*.dist-info", "cffi", "cffi-*.dist-info", "_cffi_backend*"):
        for entry in ours.glob(pattern):
            (target / entry.name).symlink_to(entry)
    for pattern in ("pycparser", "pycparser-*.dist-info"):
        for entry in ours.glob(pattern):
            (target / entry.name).symlink_to(entry)
    return python


def test_pip_install_gives_a_command_that_works_without_django(tmp_path, sessions, rsa_workload):
    source = tmp_path / "signing_helper"  # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(HELPER_ROOT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    python = _venv_with_only_cryptography(tmp_path / "venv")

    # `pip install ./signing_helper`, run by our pip for the new venv (which has none of its own).
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if (
        installed.returncode != 0
        and "No matching distribution found for setuptools" in installed.stdout + installed.stderr
    ):
        pytest.skip("no package index to build from (pip install builds with setuptools from the index)")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # Its dependency was already satisfied by the linked cryptography: nothing else came in.
    assert "Installing collected packages: ncp-signing-helper\n" in installed.stdout

    command = tmp_path / "venv" / "bin" / "ncp-signing-helper"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    no_django = subprocess.run([python, "-c", "import django"], capture_output=True, text=True, env=env)
    assert "No module named 'django'" in no_django.stderr

    version = subprocess.run([command, "version"], capture_output=True, text=True, env=env, timeout=60)
    assert (version.returncode, version.stdout, version.stderr) == (0, "ncp-signing-helper 0.1.0\n", "")

    process = subprocess.run(
        [command, "credential-process", *rsa_workload.flags(), *SESSION_FLAGS, "--endpoint", sessions.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (process.returncode, process.stderr, sessions.refused) == (0, "", [])
    access_key, secret, _ = sessions.issued[0]
    document = json.loads(process.stdout)
    assert (document["AccessKeyId"], document["SecretAccessKey"]) == (access_key, secret)

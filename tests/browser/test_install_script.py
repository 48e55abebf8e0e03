"""scripts/install_browser.sh, which CI calls before the tests: Debian's chromium, installed once."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_browser.sh"


def test_the_script_installs_debians_chromium_without_recommends_and_never_playwrights_browsers():
    assert os.access(SCRIPT, os.X_OK)
    lines = [line.strip() for line in SCRIPT.read_text().splitlines() if not line.strip().startswith("#")]
    assert lines[0] == "set -euo pipefail"
    assert "$SUDO apt-get update" in lines
    assert "$SUDO apt-get install -y --no-install-recommends chromium" in lines
    assert lines.index("$SUDO apt-get update") < lines.index(
        "$SUDO apt-get install -y --no-install-recommends chromium"
    )
    assert not any("playwright install" in line for line in lines)


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: the script would install it")
def test_the_script_does_nothing_when_chromium_is_there():
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "/usr/bin/chromium is installed" in result.stdout
    assert "apt-get" not in result.stdout + result.stderr

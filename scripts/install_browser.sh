#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser, Playwright driving /usr/bin/chromium). Idempotent: does
# nothing when /usr/bin/chromium is there. Playwright's own browser download (`playwright install`) is never used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "[install_browser] /usr/bin/chromium is installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "[install_browser] installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version

#!/usr/bin/env bash
# Install the headless browser the console-widget tests (tests/web/) drive (idempotent).
#
#   scripts/install-browser.sh            install Debian's chromium and the Python Playwright client
#   scripts/install-browser.sh --check    exit 0 when both are present, 1 otherwise; install nothing
#
# Browsers cannot be downloaded from a browser vendor here, so `playwright install` is never run:
# Playwright (a normal PyPI package, in the `dev` extra) launches the system browser through
# `executable_path="/usr/bin/chromium"` (see tests/web/conftest.py).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PANICDX_PYTHON:-$repo_root/.venv/bin/python}"
chromium_bin=/usr/bin/chromium

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi

have_chromium() { [ -x "$chromium_bin" ]; }
have_playwright() { [ -x "$python" ] && "$python" -c "import playwright.sync_api" >/dev/null 2>&1; }

if [ "${1:-}" = "--check" ]; then
    have_chromium && have_playwright
    exit $?
fi

if ! have_chromium; then
    # The package lists may be missing or stale on a fresh machine: refresh them only when apt
    # does not know the package, so a re-run stays fast and offline-friendly.
    if ! apt-cache show chromium >/dev/null 2>&1; then
        $sudo_cmd apt-get update -qq
    fi
    # fonts-liberation gives the page readable fonts; without any font package the screenshots
    # show boxes instead of letters on a minimal image.
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
        chromium fonts-liberation fonts-dejavu-core >/dev/null
fi
# (stderr: Debian's launcher script prints a harmless shell warning on some machines)
"$chromium_bin" --version 2>/dev/null

if ! have_playwright; then
    if [ ! -x "$python" ]; then
        echo "install-browser: no Python at $python; run scripts/setup.sh --dev first" >&2
        exit 1
    fi
    "$python" -m pip install --quiet "playwright>=1.40"
fi
"$python" -c "import importlib.metadata as m; print('playwright', m.version('playwright'))"

#!/usr/bin/env bash
# Install everything panicdx needs into ./.venv (idempotent; safe to run again).
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --dev    plus the test and lint tools and drgn (the debuginfo extra)
# Installs Python 3.11 and venv from Debian's packages when the machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev,debuginfo]"

python=""
for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    echo "setup: installing Python 3 from Debian's packages" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    python=python3
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# Re-install only when the project's requirements changed since the last run.
stamp=".venv/.panicdx-installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".${extras}"
    touch "$stamp"
fi

# The default classifier model is built from the knowledge base, not downloaded; it is rebuilt
# when missing, unloadable, or trained on a knowledge base other than the one checked out.
if ! .venv/bin/python -c '
from classifier.artifact import load_model
from knowledge_base.loader import load_knowledge_base
raise SystemExit(load_model().kb_version != load_knowledge_base().version)
' >/dev/null 2>&1; then
    echo "setup: training the default classifier model (about a minute)" >&2
    .venv/bin/panicdx train --rebuild-corpus
fi

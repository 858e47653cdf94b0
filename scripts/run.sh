#!/usr/bin/env bash
# Install panicdx and diagnose the example panic logs (or the files given as arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$#" -eq 0 ]; then
    set -- examples/*.log
fi
exec .venv/bin/panicdx diagnose "$@"

#!/usr/bin/env bash
# Install panicdx and run it on its embedded defaults (SQLite, a local blob directory and an
# in-process worker pool, all under ./panicdx-data):
#   scripts/run.sh            diagnose the example panic logs, then serve the API and the
#                             console at http://127.0.0.1:8000/ (the first start prints an
#                             admin key; Ctrl-C stops it)
#   scripts/run.sh FILE...    only diagnose the given logs or crash dumps
# PANICDX_HOST / PANICDX_PORT change where the server listens.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$#" -gt 0 ]; then
    exec .venv/bin/panicdx diagnose "$@"
fi
.venv/bin/panicdx diagnose examples/*.log
exec .venv/bin/panicdx serve --data-dir ./panicdx-data \
    --host "${PANICDX_HOST:-127.0.0.1}" --port "${PANICDX_PORT:-8000}"

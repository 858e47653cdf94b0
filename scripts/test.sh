#!/usr/bin/env bash
# Install panicdx with its dev tools, then run lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
echo "== ruff" && .venv/bin/ruff check .
echo "== ruff format" && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest -n 2 "$@"

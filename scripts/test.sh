#!/usr/bin/env bash
# Install panicdx with its dev tools and everything its tests talk to, then run lint, type
# checks and the whole test suite. Installs (idempotent, each step skips what is there):
#   - the virtualenv with the dev and debuginfo extras (scripts/setup.sh --dev);
#   - Debian's QEMU, busybox, makedumpfile and a cloud kernel for the real crash dumps
#     (scripts/install-dump-tools.sh), and that kernel's debug info for the drgn tier
#     (scripts/install-debuginfo.sh);
#   - Debian's Chromium for the widget's browser tests (scripts/install-browser.sh);
#   - starts PostgreSQL, Redis and RabbitMQ when they are installed but stopped.
# Because this script installs every prerequisite, the tests that need one are told to fail
# rather than skip when it is missing (PANICDX_REQUIRE_*); export one as 0 to allow skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
kernel_dir="$(scripts/install-dump-tools.sh | tail -n 1)"
# The kernel release the dumps are built from: linux-image-<release>_<version>.
release="$(basename "$kernel_dir")"
release="${release#linux-image-}"
release="${release%%_*}"
scripts/install-debuginfo.sh "$release"
scripts/install-browser.sh
scripts/start-services.sh

export PANICDX_REQUIRE_POSTGRES="${PANICDX_REQUIRE_POSTGRES:-1}"
export PANICDX_REQUIRE_REDIS="${PANICDX_REQUIRE_REDIS:-1}"
export PANICDX_REQUIRE_RABBITMQ="${PANICDX_REQUIRE_RABBITMQ:-1}"
export PANICDX_REQUIRE_DUMPS="${PANICDX_REQUIRE_DUMPS:-1}"
export PANICDX_REQUIRE_DEBUGINFO="${PANICDX_REQUIRE_DEBUGINFO:-1}"
export PANICDX_REQUIRE_BROWSER="${PANICDX_REQUIRE_BROWSER:-1}"

echo "== ruff" && .venv/bin/ruff check .
echo "== ruff format" && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest -n 2 "$@"

"""Real crash dumps for the vmcore tests: built once per machine, then reused from the cache.

The session fixture `real_dumps` builds (or reuses) the dumps with tests.dumps.build_dumps.
Without QEMU or the guest kernel (scripts/install-dump-tools.sh not run) the dump tests skip
with the reason, unless PANICDX_REQUIRE_DUMPS=1, which turns the skip into a failure (CI sets
it). PANICDX_DUMPS_ALL=1 runs every crash kind instead of the default five.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dumps.build_dumps import ensure_dumps
from tests.dumps.selection import dumps_required, kinds_under_test
from tests.dumps.toolchain import ToolchainMissing


@pytest.fixture(scope="session")
def real_dumps() -> dict[str, Path]:
    """Kind name -> its dump directory (see tests/dumps/cache.py for the files in it)."""
    try:
        built = ensure_dumps(kinds_under_test())
    except ToolchainMissing as missing:
        if dumps_required():
            pytest.fail(f"PANICDX_REQUIRE_DUMPS=1 but real dumps cannot be built: {missing}")
        pytest.skip(f"real crash dumps cannot be built here: {missing}")
    return {result.kind: result.directory for result in built}

"""Which crash kinds the tests run, and whether missing tools fail them, from the environment.

- PANICDX_DUMPS_ALL=1: every kind (else the default five, the set CI runs);
- PANICDX_REQUIRE_DUMPS=1: a machine that cannot build the dumps fails the tests instead of
  skipping them.
"""

from __future__ import annotations

import os

from tests.dumps.kinds import ALL_KINDS, DEFAULT_KINDS


def env_flag(name: str) -> bool:
    """True when environment variable `name` is set to anything but empty, 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no"}


def kinds_under_test() -> tuple[str, ...]:
    """Every kind with PANICDX_DUMPS_ALL=1, else the default set."""
    return ALL_KINDS if env_flag("PANICDX_DUMPS_ALL") else DEFAULT_KINDS


def dumps_required() -> bool:
    """True when PANICDX_REQUIRE_DUMPS=1: missing tools must fail, not skip."""
    return env_flag("PANICDX_REQUIRE_DUMPS")

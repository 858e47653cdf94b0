"""Run the installed `panicdx` command on the fixture dumps, as an operator would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The console script of the interpreter running the tests (the project's virtualenv).
PANICDX = Path(sys.executable).with_name("panicdx")
# Generous: the goal is about a second per dump; this only stops a hang from stalling CI.
CLI_TIMEOUT_S = 300


def run_panicdx(*args: str) -> subprocess.CompletedProcess[str]:
    """`panicdx ARGS...` with no stdin, its output captured as text; never raises on exit code.

    Undecodable output bytes are replaced, so a garbled log shows up in an assertion message
    rather than as a UnicodeDecodeError.
    """
    return subprocess.run(
        [str(PANICDX), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=CLI_TIMEOUT_S,
        check=False,
    )

"""Add debug-info evidence (tier "vmcore-debuginfo") to a dump's extracted log, when it can.

The evidence comes from `vmcore_parsers.debuginfo` (debug info located by build id or
release and checked, read with drgn, or with the `crash` utility as a fallback). Every way
this can fall short (drgn not installed, no debug info for the release, a vmlinux of another
build, a dump form drgn cannot open) leaves the log as it was, at tier "vmcore-dmesg", with
warnings that say which.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from vmcore_parsers.debuginfo import collect_debuginfo_evidence

if TYPE_CHECKING:
    from vmcore_parsers.extract import ExtractedLog


def add_debuginfo_report(
    result: ExtractedLog, dump: Path, scratch: Path, explicit: Path | None
) -> ExtractedLog:
    """`result` with `debug_report` and tier "vmcore-debuginfo", or with warnings why not.

    `dump` is the uncompressed dump `result` was read from, `scratch` a directory for a
    converted copy drgn can open, `explicit` the `--debuginfo` path (None: only the store in
    $PANICDX_DEBUGINFO_DIR, the distribution paths and debuginfod are searched). The evidence's
    warnings are appended either way. Never raises on a bad dump or missing debug info.
    """
    evidence = collect_debuginfo_evidence(dump, debuginfo=explicit, scratch=scratch)
    warnings = (*result.warnings, *evidence.warnings)
    if not evidence.found_anything:
        return dataclasses.replace(result, warnings=warnings)
    return dataclasses.replace(
        result, tier="vmcore-debuginfo", debug_report=evidence.text(), warnings=warnings
    )

"""Add drgn's report (tier "vmcore-debuginfo") to a dump's extracted log, when it can be had.

Every way this can fall short (drgn not installed, no debug info for the release, a vmlinux
of another build, a dump form drgn cannot open) leaves the log as it was, at tier
"vmcore-dmesg", with a warning that says which.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from vmcore_parsers.dumps.debuginfo import find_debuginfo, search_roots
from vmcore_parsers.errors import InputError

if TYPE_CHECKING:
    from vmcore_parsers.extract import ExtractedLog


def add_debuginfo_report(
    result: ExtractedLog, dump: Path, scratch: Path, explicit: Path | None
) -> ExtractedLog:
    """`result` with `debug_report` and tier "vmcore-debuginfo", or with a warning why not."""
    try:
        import drgn  # noqa: F401
    except ImportError:
        return _warn(result, "drgn is not installed (pip install 'panicdx[debuginfo]')")
    files = find_debuginfo(result.kernel_release, explicit)
    if files is None:
        searched = ", ".join(
            str(root) for root in search_roots(explicit, result.kernel_release or "")
        )
        return _warn(
            result,
            f"no debug info for kernel {result.kernel_release or '(unknown release)'} "
            f"(looked in {searched}): set --debuginfo or PANICDX_DEBUGINFO_DIR",
        )
    from vmcore_parsers.dumps.deep import collect, debuginfo_matches, open_program, render

    try:
        prog = open_program(dump, files, scratch)
    except InputError as exc:
        return _warn(result, f"debug info not used: {exc.message}")
    if not debuginfo_matches(prog):
        return _warn(result, f"{files.vmlinux} is not the debug info of this dump's kernel")
    report = collect(prog)
    return dataclasses.replace(
        result,
        tier="vmcore-debuginfo",
        debug_report=render(report),
        warnings=(*result.warnings, *report.warnings),
    )


def _warn(result: ExtractedLog, warning: str) -> ExtractedLog:
    return dataclasses.replace(result, warnings=(*result.warnings, warning))

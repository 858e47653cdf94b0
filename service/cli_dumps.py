"""`panicdx dmesg FILE`: print the kernel log of any supported input.

A log prints as it is; a crash dump (ELF, kdump-compressed, flattened, compressed or in a
crash-directory tar) prints the log decoded from its printk ring buffer, the same text as
`makedumpfile --dump-dmesg`. Warnings go to stderr, so stdout is the log alone. With
`--deep`, drgn's report (tier "vmcore-debuginfo") follows the log when debug info is found.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vmcore_parsers.errors import InputError
from vmcore_parsers.intake import DEFAULT_MAX_LOG_BYTES

EXIT_INPUT_ERROR = 1


def dmesg(
    file: Annotated[
        Path,
        typer.Argument(
            help="A kernel log or crash dump (detected by content); '-': a log on stdin."
        ),
    ],
    sandbox: Annotated[
        bool,
        typer.Option(help="Read the file in a child process with CPU, memory and time limits."),
    ] = False,
    max_size: Annotated[
        int, typer.Option(help="Largest log accepted, in bytes.", min=1)
    ] = DEFAULT_MAX_LOG_BYTES,
    deep: Annotated[
        bool,
        typer.Option(
            help="Also read the dump with drgn and the kernel's debug info; print its report "
            "(crashed stack, blocked tasks, CPUs, memory, modules) after the log."
        ),
    ] = False,
    debuginfo: Annotated[
        Path | None,
        typer.Option(
            help="vmlinux or debug-info directory for --deep (default: PANICDX_DEBUGINFO_DIR, "
            "then /usr/lib/debug)."
        ),
    ] = None,
) -> None:
    """Print the kernel log of a log file or crash dump (no debuginfo needed)."""
    from vmcore_parsers.extract import extract_file, extract_file_sandboxed
    from vmcore_parsers.sandbox import SandboxLimits

    stderr = Console(stderr=True, soft_wrap=True)  # error lines stay whole for scripts and logs
    deep = deep or debuginfo is not None
    try:
        if str(file) == "-":  # a log on a pipe; dumps need a file (random access)
            from vmcore_parsers.intake import read_log_file

            sys.stdout.write(read_log_file(file, max_size).text)
            return
        if sandbox:
            limits = SandboxLimits.for_debuginfo() if deep else SandboxLimits()
            result = extract_file_sandboxed(
                file,
                SandboxLimits(
                    cpu_seconds=limits.cpu_seconds,
                    memory_bytes=limits.memory_bytes,
                    wall_seconds=limits.wall_seconds,
                    max_log_bytes=max_size,
                ),
                deep=deep,
                debuginfo=debuginfo,
            )
        else:
            result = extract_file(file, max_log_bytes=max_size, deep=deep, debuginfo=debuginfo)
    except InputError as exc:
        stderr.print(
            f"[bold red]panicdx:[/] {escape(f'{exc.message} [{exc.code}]')}", highlight=False
        )
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    for warning in result.warnings:
        stderr.print(f"[yellow]panicdx: warning:[/] {escape(warning)}", highlight=False)
    sys.stdout.write(result.text)
    if result.debug_report is not None:
        sys.stdout.write(f"\n==== {result.tier}: drgn with debug info ====\n\n")
        sys.stdout.write(result.debug_report + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add the `dmesg` command to the panicdx CLI."""
    app.command("dmesg")(dmesg)

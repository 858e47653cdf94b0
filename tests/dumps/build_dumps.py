"""Build (or reuse) the real crash dumps the vmcore tests run on.

    python -m tests.dumps.build_dumps                       # the default kinds, 256 MiB guests
    python -m tests.dumps.build_dumps --kinds all           # every kind
    python -m tests.dumps.build_dumps --kinds sysrq,oom --memory 4G --out /srv/dumps

Needs scripts/install-dump-tools.sh to have run. Dumps go to $PANICDX_DUMP_CACHE (default
~/.cache/panicdx/dumps), one directory per kernel release and kind; a kind whose cached build
has the current cache key is reused, not rebuilt (use --force to rebuild).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tests.dumps import cache
from tests.dumps.build import BuildError, GuestImage, build_kind, prepare_guest
from tests.dumps.debuginfo import (
    COMPLETE_STAMP,
    DebuginfoError,
    debuginfo_root,
    fetch_debuginfo,
    install_crash_module,
)
from tests.dumps.guest import GuestError
from tests.dumps.initramfs import CRASH_MODULE_NAME
from tests.dumps.kinds import ALL_KINDS, DEFAULT_KINDS, KINDS_BY_NAME
from tests.dumps.toolchain import Toolchain, ToolchainMissing, find_toolchain

# Seconds from `cont` to GUEST_PANICKED before a boot counts as failed. The slowest kind
# (hung-task: detection needs two 10 s hung-task periods) panics in about 25 s under TCG.
DEFAULT_PANIC_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class BuiltKind:
    """One kind's dump directory and whether this run built it (False: reused from cache)."""

    kind: str
    directory: Path
    built: bool


def parse_kinds(text: str) -> list[str]:
    """`default`, `all`, or a comma-separated list of kind names; raises ValueError on others."""
    if text == "default":
        return list(DEFAULT_KINDS)
    if text == "all":
        return list(ALL_KINDS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS_BY_NAME]
    if unknown or not names:
        raise ValueError(
            f"unknown crash kind(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(ALL_KINDS)}"
        )
    return names


def ensure_dumps(
    kinds: Sequence[str],
    *,
    memory: str = cache.DEFAULT_MEMORY,
    out: Path | None = None,
    force: bool = False,
    toolchain: Toolchain | None = None,
    console: Console | None = None,
    panic_timeout: float = DEFAULT_PANIC_TIMEOUT_S,
) -> list[BuiltKind]:
    """Build every kind in `kinds` that has no current cached build; return all directories.

    `out` None means the cache root. When the release's debug info tree is there (see
    tests/dumps/debuginfo.py), its copy of the crash module is brought up to date with the one
    the dumps loaded. Raises ToolchainMissing when the tools are not installed, GuestError or
    BuildError when a build fails.
    """
    toolchain = toolchain or find_toolchain()
    root = out or cache.cache_root()
    release = toolchain.kernel.release
    # One builder at a time per release: parallel test workers (pytest -n) or a second session
    # wait here, then find the dumps current instead of rebuilding them under each other.
    with cache.build_lock(root / release):
        results = _build_missing(
            toolchain,
            kinds,
            root,
            memory=memory,
            force=force,
            console=console or Console(stderr=True),
            panic_timeout=panic_timeout,
        )
        # Under the lock: no other worker rebuilds the module while it is copied.
        refresh_crash_module_debuginfo(root, release)
        return results


def _built_crash_module(root: Path, release: str) -> Path:
    """Where `prepare_guest` leaves the crash module of the dumps under `root`."""
    return root / release / ".build" / "crashmod" / f"{CRASH_MODULE_NAME}.ko"


def refresh_crash_module_debuginfo(root: Path, release: str) -> None:
    """Copy the dumps' crash module into the release's debug info tree when both are there.

    The caller holds the build lock. Only a fetched tree (its stamp) is completed: a module
    alone must not pass for the kernel's debug info.
    """
    debuginfo = debuginfo_root(root, release)
    module = _built_crash_module(root, release)
    if (debuginfo / COMPLETE_STAMP).is_file() and module.is_file():
        install_crash_module(debuginfo, release, module)


def _build_missing(
    toolchain: Toolchain,
    kinds: Sequence[str],
    root: Path,
    *,
    memory: str,
    force: bool,
    console: Console,
    panic_timeout: float,
) -> list[BuiltKind]:
    key = cache.cache_key(toolchain, memory)
    release = toolchain.kernel.release
    targets = [(kind, cache.kind_dir(root, release, kind, memory)) for kind in kinds]
    todo = [(kind, path) for kind, path in targets if force or not cache.is_current(path, key)]
    results = [BuiltKind(kind, path, False) for kind, path in targets]
    if not todo:
        return results

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        overall = progress.add_task("real dumps", total=len(todo))
        progress.update(overall, description="building the crash module and initramfs")
        guest: GuestImage = prepare_guest(toolchain, root / release / ".build")
        for kind, path in todo:
            progress.update(overall, description=f"{kind}: boot, crash, dump ({memory})")
            build_kind(
                toolchain,
                guest,
                KINDS_BY_NAME[kind],
                memory=memory,
                directory=path,
                key=key,
                panic_timeout=panic_timeout,
            )
            progress.advance(overall)
        progress.update(overall, description="real dumps ready")
    built = {kind for kind, _ in todo}
    return [BuiltKind(kind, path, kind in built) for kind, path in targets]


def ensure_debuginfo(toolchain: Toolchain | None = None, out: Path | None = None) -> Path:
    """Fetch the guest kernel's debug info into the cache (once); returns its sysroot-like root.

    Raises ToolchainMissing, BuildError (crash module) or DebuginfoError.
    """
    toolchain = toolchain or find_toolchain()
    root = out or cache.cache_root()
    release = toolchain.kernel.release
    # The dump builders' lock: the crash module is not rebuilt under a running dump build.
    with cache.build_lock(root / release):
        module = _built_crash_module(root, release)
        if not module.is_file():
            module = prepare_guest(toolchain, root / release / ".build").crash_module
        return fetch_debuginfo(toolchain, root, module)


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    *,
    kinds: Annotated[
        str,
        typer.Option(help="'default', 'all', or comma-separated kinds: " + ", ".join(ALL_KINDS)),
    ] = "default",
    memory: Annotated[
        str, typer.Option(help="guest memory in QEMU's syntax, e.g. 256M or 4G")
    ] = cache.DEFAULT_MEMORY,
    out: Annotated[
        Path | None,
        typer.Option(help="output root instead of $PANICDX_DUMP_CACHE / ~/.cache/panicdx/dumps"),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="rebuild even when a current build is cached")
    ] = False,
    panic_timeout: Annotated[
        float, typer.Option(help="seconds to wait for each guest to panic")
    ] = DEFAULT_PANIC_TIMEOUT_S,
    debuginfo: Annotated[
        bool,
        typer.Option(
            help="also fetch the guest kernel's debug info (~280 MB download, 590 MB kept)"
        ),
    ] = False,
) -> None:
    """Build the real crash dumps (or reuse current cached ones) and list where they are."""
    console = Console()
    try:
        names = parse_kinds(kinds)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--kinds") from None
    started = time.monotonic()
    try:
        results = ensure_dumps(
            names,
            memory=memory,
            out=out,
            force=force,
            console=console,
            panic_timeout=panic_timeout,
        )
        debuginfo_dir = ensure_debuginfo(out=out) if debuginfo else None
    except (ToolchainMissing, GuestError, BuildError, DebuginfoError, ValueError) as error:
        console.print(f"[red]build_dumps: {error}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for result in results:
        state = "built" if result.built else "cached"
        console.print(
            f"{result.kind:16} {state:6} {result.directory}", highlight=False, soft_wrap=True
        )
    if debuginfo_dir is not None:
        console.print(
            f"{'debuginfo':16} {'ready':6} {debuginfo_dir}", highlight=False, soft_wrap=True
        )
    console.print(f"total {time.monotonic() - started:.1f} s", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(app())

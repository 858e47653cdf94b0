"""Find a kernel's debug info (vmlinux and module .ko files with DWARF) on this machine.

Looked for, in order: an explicit path (a vmlinux file, or a directory laid out like a
distribution's `/usr/lib/debug`, or a store of such directories per release), the store named
by $PANICDX_DEBUGINFO_DIR, then the distribution paths. drgn checks the build id of what is
found against the dump, so a wrong file is ignored, not trusted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Beyond this many module files a directory is not a kernel's debug tree.
MAX_MODULE_FILES = 20_000


@dataclass(frozen=True)
class DebuginfoFiles:
    """The vmlinux with DWARF and the module debug files found beside it."""

    vmlinux: Path
    modules: tuple[Path, ...]


def _vmlinux_candidates(root: Path, release: str) -> list[Path]:
    return [
        root / "usr" / "lib" / "debug" / "boot" / f"vmlinux-{release}",
        root / "usr" / "lib" / "debug" / "lib" / "modules" / release / "vmlinux",
        root / "lib" / "modules" / release / "build" / "vmlinux",
        root / "boot" / f"vmlinux-{release}",
        root / f"vmlinux-{release}",
        root / "vmlinux",
    ]


def _modules(root: Path, release: str) -> tuple[Path, ...]:
    found: list[Path] = []
    for directory in (
        root / "usr" / "lib" / "debug" / "lib" / "modules" / release,
        root / "lib" / "modules" / release,
    ):
        if directory.is_dir():
            for path in directory.rglob("*"):
                if path.name.endswith((".ko", ".ko.debug")) and path.is_file():
                    found.append(path)
                    if len(found) >= MAX_MODULE_FILES:
                        return tuple(found)
    return tuple(found)


def search_roots(explicit: Path | None, release: str) -> list[Path]:
    """The directories searched for `release`, most specific first."""
    roots: list[Path] = []
    for base in (explicit, _store()):
        if base is not None and base.is_dir():
            roots += [base / release, base]
    roots.append(Path("/"))
    return roots


def _store() -> Path | None:
    configured = os.environ.get("PANICDX_DEBUGINFO_DIR")
    return Path(configured) if configured else None


def find_debuginfo(release: str | None, explicit: Path | None = None) -> DebuginfoFiles | None:
    """The debug files for kernel `release`, or None when none were found.

    `explicit` may name a vmlinux file (modules are then looked for in the usual places) or a
    directory. A release of None (the dump did not say) finds only an explicit vmlinux file.
    """
    if explicit is not None and explicit.is_file():
        modules = _modules(explicit.parent, release) if release else ()
        return DebuginfoFiles(explicit, modules)
    if not release:
        return None
    for root in search_roots(explicit, release):
        for candidate in _vmlinux_candidates(root, release):
            if candidate.is_file():
                return DebuginfoFiles(candidate, _modules(root, release))
    return None

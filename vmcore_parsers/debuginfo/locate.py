"""Find the kernel's debug info for a dump, by build id or release, and check it belongs.

Looked for in this order, the first file whose build id matches the dump's wins:
1. an explicit path (`--debuginfo`): a vmlinux with DWARF, or a directory used both as a store
   (below) and as a root holding a distribution's `usr/lib/debug` tree;
2. the store named by $PANICDX_DEBUGINFO_DIR: `<dir>/<release>/vmlinux` (or a distribution tree
   under `<dir>/<release>/`), and `<dir>/.build-id/xx/yyyy.debug`;
3. the distribution paths: `/usr/lib/debug/boot/vmlinux-<release>`,
   `/usr/lib/debug/lib/modules/<release>/vmlinux`, `/usr/lib/debug/.build-id/xx/yyyy.debug`.
A file whose build id differs from the dump's is reported in a warning and not used: drgn would
otherwise symbolize with the wrong addresses. debuginfod (when $DEBUGINFOD_URLS is set) is left
to drgn, which asks it by build id when nothing local matched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vmcore_parsers.debuginfo.buildid import file_build_id

STORE_ENV = "PANICDX_DEBUGINFO_DIR"
DEBUGINFOD_ENV = "DEBUGINFOD_URLS"
# Beyond this many files a module directory is not a kernel's debug tree; stop walking.
MAX_MODULE_FILES = 20_000


@dataclass(frozen=True)
class DebuginfoFiles:
    """A vmlinux with DWARF and the module debug files found beside it.

    `origin` is "explicit", "store" or "distribution"; `build_id` is the vmlinux's (None when
    it has no build id note, so it could only be matched by release).
    """

    vmlinux: Path
    origin: str
    build_id: str | None
    modules: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LocateResult:
    """What was found (None: nothing usable), the places looked at and the warnings."""

    files: DebuginfoFiles | None
    searched: tuple[Path, ...]
    warnings: tuple[str, ...]


def configured_store() -> Path | None:
    """The debuginfo store directory from $PANICDX_DEBUGINFO_DIR, or None when unset."""
    value = os.environ.get(STORE_ENV, "").strip()
    return Path(value) if value else None


def debuginfod_configured() -> bool:
    """True when $DEBUGINFOD_URLS names at least one server (drgn may then download)."""
    return bool(os.environ.get(DEBUGINFOD_ENV, "").strip())


def _build_id_path(directory: Path, build_id: str) -> Path:
    return directory / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"


def _distribution_paths(root: Path, release: str | None, build_id: str | None) -> list[Path]:
    debug = root / "usr" / "lib" / "debug"
    paths = []
    if build_id:
        paths.append(_build_id_path(debug, build_id))
    if release:
        paths += [
            debug / "boot" / f"vmlinux-{release}",
            debug / "lib" / "modules" / release / "vmlinux",
        ]
    return paths


def _store_paths(store: Path, release: str | None, build_id: str | None) -> list[Path]:
    paths = []
    if build_id:
        paths.append(_build_id_path(store, build_id))
    if release:
        paths += [store / release / "vmlinux", store / release / f"vmlinux-{release}"]
        paths += _distribution_paths(store / release, release, None)
    return paths


def candidates(
    release: str | None,
    build_id: str | None,
    explicit: Path | None = None,
    store: Path | None = None,
    root: Path = Path("/"),
) -> list[tuple[Path, str]]:
    """Every place a vmlinux may be, most specific first, each with its origin.

    `root` is where the distribution paths live (a test points it at a temporary tree).
    """
    found: list[tuple[Path, str]] = []
    if explicit is not None:
        if explicit.is_dir():
            found += [(p, "explicit") for p in _store_paths(explicit, release, build_id)]
            found += [(p, "explicit") for p in _distribution_paths(explicit, release, build_id)]
            found.append((explicit / "vmlinux", "explicit"))
        else:
            found.append((explicit, "explicit"))
    if store is not None:
        found += [(p, "store") for p in _store_paths(store, release, build_id)]
    found += [(p, "distribution") for p in _distribution_paths(root, release, build_id)]
    unique: dict[Path, str] = {}
    for path, origin in found:
        unique.setdefault(path, origin)
    return list(unique.items())


def locate_debuginfo(
    release: str | None,
    build_id: str | None,
    explicit: Path | None = None,
    store: Path | None = None,
    root: Path = Path("/"),
) -> LocateResult:
    """The dump kernel's vmlinux and module debug files; `files` None when none matched.

    `build_id` is the dump's (VMCOREINFO `BUILD-ID`); when it is None (kernels before 5.9 do
    not record it) a file is matched by release alone and a warning says so. A file with
    another build id, or an explicit path that does not exist, is a warning, never an error.
    """
    build_id = build_id.lower() if build_id else None
    warnings: list[str] = []
    if explicit is not None and not explicit.exists():
        warnings.append(f"--debuginfo {explicit}: no such file or directory")
    looked: list[Path] = []
    for path, origin in candidates(release, build_id, explicit, store, root):
        looked.append(path)
        if not path.is_file():
            continue
        found_id = file_build_id(path)
        if build_id and found_id and found_id != build_id:
            warnings.append(
                f"{path} has build id {found_id}, the dump's kernel {build_id}: not used"
            )
            continue
        if found_id is None:
            warnings.append(f"{path} has no build id note; matched by kernel release only")
        elif build_id is None:
            warnings.append("the dump states no build id; debug info matched by release only")
        modules = module_files(_module_roots(path, release, explicit, store))
        return LocateResult(
            DebuginfoFiles(path, origin, found_id, modules), tuple(looked), tuple(warnings)
        )
    return LocateResult(None, tuple(looked), tuple(warnings))


def _module_roots(
    vmlinux: Path, release: str | None, explicit: Path | None, store: Path | None
) -> list[Path]:
    if not release:
        return []
    roots = []
    for base in (explicit if explicit and explicit.is_dir() else None, store):
        if base is not None:
            roots += [base / release, base / "usr" / "lib" / "debug" / "lib" / "modules" / release]
    # A vmlinux inside a distribution tree: its modules sit in the same tree.
    for parent in vmlinux.parents:
        if parent.name == "debug" and parent.parent.name == "lib":
            roots.append(parent / "lib" / "modules" / release)
            break
    return roots


def module_files(roots: list[Path]) -> tuple[Path, ...]:
    """Module debug files (`*.ko`, `*.ko.debug`) under `roots`, at most MAX_MODULE_FILES."""
    found: dict[Path, None] = {}
    for directory in roots:
        if not directory.is_dir():
            continue
        for path in directory.rglob("*.ko*"):
            if path.name.endswith((".ko", ".ko.debug")) and path.is_file():
                found[path] = None
                if len(found) >= MAX_MODULE_FILES:
                    return tuple(found)
    return tuple(found)

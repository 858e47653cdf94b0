"""Where real dumps are cached, and the key that says whether a cached dump is still current.

Layout: `<root>/<kernel-release>/<kind>/` for the default 256 MiB guest, and
`<root>/<kernel-release>/<kind>-<memory>/` for other sizes (e.g. `sysrq-4G`). Each directory
holds the three dump forms, the reference kernel logs, the console capture and `meta.json`.
`<root>` is $PANICDX_DUMP_CACHE, default ~/.cache/panicdx/dumps. Dumps never go into git.

The cache key hashes every build input: the source files that shape a dump (DUMP_SOURCES,
including the crash module), the guest kernel package and version, the QEMU and makedumpfile
versions, and the memory size. A dump whose meta.json names another key is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.dumps.makedumpfile_ref import MAKEDUMPFILE_FORMS
from tests.dumps.toolchain import Toolchain

DEFAULT_MEMORY = "256M"
PACKAGE_DIR = Path(__file__).resolve().parent

ELF_DUMP = "vmcore.elf"
KDUMP_ZLIB_DUMP = "vmcore.kdump-zlib"
MAKEDUMPFILE_DUMP = "vmcore.makedumpfile-c-d31"
# The forms every kind is built in (form name -> file name): QEMU's two, then makedumpfile's.
# The first three are the set the issue names (ELF, kdump-zlib, makedumpfile -c -d 31).
DUMP_FORMS: dict[str, str] = {
    "elf": ELF_DUMP,
    "kdump-zlib": KDUMP_ZLIB_DUMP,
    **{form: f"vmcore.{form}" for form in MAKEDUMPFILE_FORMS},
}
DMESG_REFERENCE = "dmesg.makedumpfile.txt"
CONSOLE_LOG = "console.log"
META = "meta.json"


def cache_root() -> Path:
    """The dump cache root ($PANICDX_DUMP_CACHE overrides ~/.cache/panicdx/dumps)."""
    override = os.environ.get("PANICDX_DUMP_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "panicdx" / "dumps"


def kind_dir(root: Path, release: str, kind: str, memory: str) -> Path:
    """The directory holding one kind's dumps for one kernel release and memory size."""
    suffix = "" if memory == DEFAULT_MEMORY else f"-{memory}"
    return root / release / f"{kind}{suffix}"


def _tool_version(program: Path, flag: str) -> str:
    completed = subprocess.run(
        [str(program), flag], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (completed.stdout or completed.stderr).strip().splitlines()
    return lines[0] if lines else ""


# The files whose content decides what a dump holds. The others (NOT_DUMP_SOURCES) are left
# out on purpose: editing the CLI or the bookkeeping must not throw away built dumps.
DUMP_SOURCES: tuple[str, ...] = (
    "crashmod/crashmod.c",
    "crashmod/Kbuild",
    "crashmod/Makefile",
    "kinds.py",
    "initramfs.py",
    "guest.py",
    "build.py",
    "elf_fixup.py",
    "makedumpfile_ref.py",
)
NOT_DUMP_SOURCES: tuple[str, ...] = (
    "__init__.py",
    "build_dumps.py",
    "buildid_elf.py",  # test helper: stand-in debug files, not part of any dump
    "cache.py",
    "debuginfo.py",
    "install_debuginfo.py",  # fills the debuginfo tree for scripts/install-debuginfo.sh
    "panicdx_cli.py",  # test helper: runs panicdx on the dumps
    "selection.py",
    "toolchain.py",
)


def source_digest() -> str:
    """sha256 over DUMP_SOURCES (names and contents), in a fixed order."""
    digest = hashlib.sha256()
    for name in DUMP_SOURCES:
        digest.update(name.encode() + b"\0")
        digest.update((PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


def cache_key(toolchain: Toolchain, memory: str) -> str:
    """The hash of every build input (see the module docstring), as 16 hex digits."""
    inputs = {
        "source": source_digest(),
        "kernel": f"{toolchain.kernel.package} {toolchain.kernel.version}",
        "qemu": _tool_version(toolchain.qemu, "--version"),
        "makedumpfile": _tool_version(toolchain.makedumpfile, "--version"),
        "memory": memory,
    }
    encoded = json.dumps(inputs, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def read_meta(directory: Path) -> dict[str, Any] | None:
    """The meta.json of a kind directory, or None when missing or unreadable."""
    try:
        meta = json.loads((directory / META).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_current(directory: Path, key: str) -> bool:
    """True when `directory` holds a complete build made with cache key `key`."""
    meta = read_meta(directory)
    if meta is None or meta.get("cache_key") != key:
        return False
    needed = [*DUMP_FORMS.values(), DMESG_REFERENCE, CONSOLE_LOG]
    return all((directory / name).is_file() for name in needed)


@contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory`/.lock (created if needed) for the block.

    The lock is advisory (flock) and released by the kernel if the holder dies, so a killed
    build never leaves a stale lock behind.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

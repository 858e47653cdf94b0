"""Opt-in (PANICDX_DUMPS_DEBUGINFO=1): the fetched debug info belongs to the dumped kernel.

Fetching it downloads about 280 MB, so it does not run by default. The vmlinux build id must
equal the BUILD-ID that VMCOREINFO carries in every dump, or drgn/crash would refuse the pair.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dumps.build_dumps import ensure_debuginfo
from tests.dumps.cache import ELF_DUMP
from tests.dumps.debuginfo import vmlinux_path
from tests.dumps.selection import env_flag

pytestmark = pytest.mark.skipif(
    not env_flag("PANICDX_DUMPS_DEBUGINFO"),
    reason="downloads ~280 MB of kernel debug info; set PANICDX_DUMPS_DEBUGINFO=1 to run",
)


def vmcoreinfo_build_id(elf_dump: Path) -> str:
    with elf_dump.open("rb") as handle:
        head = handle.read(1 << 16)
    match = re.search(rb"\nBUILD-ID=([0-9a-f]+)\n", head)
    assert match is not None, "no VMCOREINFO BUILD-ID in the dump's notes"
    return match.group(1).decode()


def test_vmlinux_build_id_matches_every_dump(real_dumps: dict[str, Path]) -> None:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.fail("readelf (binutils) is needed; scripts/install-dump-tools.sh installs gcc")
    root = ensure_debuginfo()
    release = next(iter(real_dumps.values())).parent.name
    vmlinux = vmlinux_path(root, release)
    notes = subprocess.run(
        [readelf, "-n", str(vmlinux)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    match = re.search(r"Build ID: ([0-9a-f]+)", notes)
    assert match is not None
    for kind, directory in real_dumps.items():
        assert vmcoreinfo_build_id(directory / ELF_DUMP) == match.group(1), kind
    crash_module = root / "usr/lib/debug/lib/modules" / release / "extra" / "panicdx_crash.ko"
    sections = subprocess.run(
        [readelf, "-S", str(crash_module)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert ".debug_info" in sections

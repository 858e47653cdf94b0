"""The sandbox's child dies with its parent: a worker killed mid-extraction leaves nothing behind.

A real parent process runs a slow sandboxed extraction with generous limits; the test kills
the parent with SIGKILL (no cleanup code of it runs) and expects the child to be gone within a
few seconds, long before its own CPU or wall-clock limit.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dumpfactory import FakeKernel, write_kdump

Write = Callable[..., Path]
# 2 Mi page frames = the memory scan's 8 GiB budget: the child needs tens of seconds.
SLOW_PAGE_COUNT = 2 << 20
CHILD_GONE_WITHIN = 5.0

PARENT = """
import sys
from pathlib import Path
from vmcore_parsers.sandbox import SandboxLimits, run_sandboxed
run_sandboxed(Path(sys.argv[1]), SandboxLimits(cpu_seconds=600, wall_seconds=600.0))
"""


def slow_dump(kernel: FakeKernel) -> bytes:
    """A small kdump file that takes long to read: no VMCOREINFO note and a huge page count.

    The reader then scans "memory" for the kernel's VMCOREINFO text, page by page, through
    millions of page frames the bitmap does not hold.
    """
    data = bytearray(write_kdump(kernel, with_vmcoreinfo=False))
    struct.pack_into("<I", data, 424 + 16, SLOW_PAGE_COUNT)  # max_mapnr, 32-bit
    struct.pack_into("<QQ", data, 4096 + 88, SLOW_PAGE_COUNT, SLOW_PAGE_COUNT)  # 64-bit copies
    return bytes(data)


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")  # a zombie has died


def _cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _sandbox_child_of(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if fields is not None and int(fields[1]) == parent and b"vmcore_parsers.sandbox" in command:
            return int(entry.name)
    return None


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signals are Linux-only")
def test_child_dies_when_its_parent_is_killed(panic_kernel: FakeKernel, write: Write) -> None:
    dump = write(slow_dump(panic_kernel))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(dump)])
    child = None
    try:
        deadline = time.monotonic() + 60
        while child is None and time.monotonic() < deadline and parent.poll() is None:
            child = _sandbox_child_of(parent.pid)
            time.sleep(0.05)
        assert child is not None, "the sandbox child never started"
        # Let it get past its imports and into reading the dump.
        while _cpu_seconds(child) < 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(child) and parent.poll() is None, "the extraction ended too soon"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        gone_by = time.monotonic() + CHILD_GONE_WITHIN
        while _alive(child) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not _alive(child), f"the sandbox child outlived its parent by {CHILD_GONE_WITHIN} s"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)

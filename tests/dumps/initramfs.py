"""Build the fixture guest's initramfs: static busybox, a few modules and an /init that crashes.

The archive is written here in the kernel's "newc" cpio format (what usr/gen_init_cpio
writes), so device nodes need no root privileges and the bytes are reproducible (every mtime is
0): the same inputs give the same initramfs, and the dump cache key stays stable.

The same initramfs serves every crash kind: /init reads the kind from the `panicdx_kind`
environment variable, which the kernel passes on from its command line.
"""

from __future__ import annotations

import gzip
import lzma
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zstandard

# Loaded in this order before crashing. qemu_fw_cfg publishes VMCOREINFO to QEMU's vmcoreinfo
# device (without it the dump has no VMCOREINFO note); pvpanic-mmio drives the ISA pvpanic
# device, which tells QEMU the guest panicked (pvpanic is its shared core).
GUEST_MODULES: tuple[str, ...] = ("qemu_fw_cfg", "pvpanic-mmio")

CRASH_MODULE_NAME = "panicdx_crash"

# /init prints this when the crash action itself failed (e.g. the crash module's init returned
# an error because the kernel survived), so the host can stop waiting for a panic at once.
CRASH_FAILED_MARKER = "panicdx-init: the crash action failed"
# /init prints this when the host is to crash the guest from outside (trigger "host-nmi").
READY_FOR_HOST_MARKER = "panicdx-init: ready for the host's crash"

INIT_SCRIPT = r"""#!/bin/busybox sh
# panicdx fixture guest: load the drivers QEMU's dump needs, then crash the kernel on purpose.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for module in @MODULES@; do
    insmod "/lib/modules/$module.ko" || echo "panicdx-init: insmod $module failed"
done
echo "panicdx-init: crash kind: $panicdx_kind (trigger: $panicdx_trigger)"
case "$panicdx_trigger" in
sysrq)
    echo c > /proc/sysrq-trigger || echo "@FAILED@: sysrq" ;;
oom)
    # ramfs pages can be neither reclaimed nor swapped: the OOM killer must run.
    mkdir -p /mnt && mount -t ramfs ramfs /mnt && cat /dev/zero > /mnt/fill
    echo "@FAILED@: oom" ;;
module)
    # hung-task and soft-lockup return at once and panic later, from a kernel thread.
    insmod /lib/modules/@CRASH_MODULE@.ko kind="$panicdx_kind" || echo "@FAILED@: $panicdx_kind" ;;
host-nmi)
    echo "@READY@" ;;
*)
    echo "@FAILED@: unknown trigger '$panicdx_trigger'" ;;
esac
# PID 1 must not exit (that would be a different panic); the host times out instead.
while :; do sleep 3600; done
"""


@dataclass(frozen=True)
class Entry:
    """One archive member: a directory, a regular file, a symlink or a character device."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def module_dependencies(module: bytes) -> list[str]:
    """The `depends=` list from a module's .modinfo section ([] when it depends on nothing)."""
    match = re.search(rb"(?:^|\x00)depends=([^\x00]*)\x00", module)
    if match is None or not match.group(1):
        return []
    return match.group(1).decode().split(",")


def read_module(modules_dir: Path, name: str) -> bytes:
    """The uncompressed bytes of module `name` under `modules_dir` (.ko, .ko.xz or .ko.zst).

    Module names use - and _ interchangeably, as modprobe does.
    """
    wanted = {name.replace("-", "_")}
    for path in modules_dir.rglob("*.ko*"):
        stem = path.name.split(".ko")[0]
        if stem.replace("-", "_") not in wanted:
            continue
        raw = path.read_bytes()
        if path.name.endswith(".ko.xz"):
            return lzma.decompress(raw)
        if path.name.endswith(".ko.zst"):
            return zstandard.ZstdDecompressor().stream_reader(raw).read()
        if path.name.endswith(".ko"):
            return raw
    raise FileNotFoundError(f"module {name} not found under {modules_dir}")


def modules_in_load_order(modules_dir: Path, names: Iterable[str]) -> list[tuple[str, bytes]]:
    """`names` and everything they depend on, dependencies first, each with its bytes."""
    ordered: list[tuple[str, bytes]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        key = name.replace("-", "_")
        if key in seen:
            return
        seen.add(key)
        data = read_module(modules_dir, name)
        for dependency in module_dependencies(data):
            visit(dependency)
        ordered.append((key, data))

    for name in names:
        visit(name)
    return ordered


def initramfs_entries(busybox: Path, modules_dir: Path, crash_module: Path) -> list[Entry]:
    """Every member of the fixture initramfs, parents before children."""
    modules = modules_in_load_order(modules_dir, GUEST_MODULES)
    init = (
        INIT_SCRIPT.replace("@MODULES@", " ".join(name for name, _ in modules))
        .replace("@CRASH_MODULE@", CRASH_MODULE_NAME)
        .replace("@FAILED@", CRASH_FAILED_MARKER)
        .replace("@READY@", READY_FOR_HOST_MARKER)
    )
    entries = [
        Entry(directory, stat.S_IFDIR | 0o755)
        for directory in ("bin", "dev", "lib", "lib/modules", "mnt", "proc", "sys")
    ]
    entries += [
        # The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
        Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        Entry("bin/busybox", stat.S_IFREG | 0o755, busybox.read_bytes()),
        Entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
        Entry("init", stat.S_IFREG | 0o755, init.encode()),
        Entry(
            f"lib/modules/{CRASH_MODULE_NAME}.ko", stat.S_IFREG | 0o644, crash_module.read_bytes()
        ),
    ]
    entries += [
        Entry(f"lib/modules/{name}.ko", stat.S_IFREG | 0o644, data) for name, data in modules
    ]
    return entries


def newc_archive(entries: Iterable[Entry]) -> bytes:
    """`entries` as a cpio "newc" archive with its TRAILER!!! record."""
    out = bytearray()
    for inode, entry in enumerate([*entries, Entry("TRAILER!!!", 0)], start=1):
        name = entry.path.encode() + b"\x00"
        fields = (
            inode if entry.path != "TRAILER!!!" else 0,
            entry.mode,
            0,  # uid
            0,  # gid
            2 if stat.S_ISDIR(entry.mode) else 1,  # nlink
            0,  # mtime: fixed, for reproducible archives
            len(entry.data),
            0,  # devmajor
            0,  # devminor
            entry.rdev[0],
            entry.rdev[1],
            len(name),
            0,  # check
        )
        out += b"070701" + b"".join(b"%08X" % field for field in fields) + name
        out += b"\x00" * (-len(out) % 4)
        out += entry.data
        out += b"\x00" * (-len(out) % 4)
    return bytes(out)


def build_initramfs(busybox: Path, modules_dir: Path, crash_module: Path, output: Path) -> Path:
    """Write the gzip-compressed initramfs to `output` and return it."""
    archive = newc_archive(initramfs_entries(busybox, modules_dir, crash_module))
    # mtime=0: the gzip header would otherwise carry the build time.
    output.write_bytes(gzip.compress(archive, compresslevel=6, mtime=0))
    return output

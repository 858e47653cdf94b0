"""Build one kind's real dumps: crash the guest, dump it with QEMU, convert with makedumpfile.

For each kind the directory gets (names in tests.dumps.cache):
- vmcore.elf: QEMU `dump-guest-memory` format elf, bytes exactly as QEMU wrote them;
- vmcore.kdump-zlib: format kdump-zlib (QEMU 7.2 writes makedumpfile's flattened stream);
- vmcore.makedumpfile-c-d31, -l-d31, -E-d31, -F-c-d31: makedumpfile's forms of the ELF dump
  (made from a header-repaired copy; see makedumpfile_ref.MAKEDUMPFILE_FORMS);
- dmesg.makedumpfile.txt: `makedumpfile --dump-dmesg` of the (repaired) ELF dump, the
  reference every form's `panicdx dmesg` must equal (all forms hold the same memory);
- dmesg.makedumpfile-*.txt: the same from each makedumpfile form it can read, as cross-checks;
- console.log: the serial console; meta.json: what was built, how, and what makedumpfile said.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.dumps import cache
from tests.dumps.elf_fixup import makedumpfile_readable_copy
from tests.dumps.guest import GuestBoot, HostAction, crash_and_dump
from tests.dumps.initramfs import (
    CRASH_FAILED_MARKER,
    CRASH_MODULE_NAME,
    READY_FOR_HOST_MARKER,
    build_initramfs,
)
from tests.dumps.kinds import CrashKind, foreign_failures, kernel_cmdline
from tests.dumps.makedumpfile_ref import (
    MAKEDUMPFILE_FORMS,
    MAKEDUMPFILE_READABLE,
    MakedumpfileResult,
    convert,
    dump_dmesg,
    rearrange_flattened,
)
from tests.dumps.toolchain import Toolchain

MAKE_TIMEOUT_S = 600
KDUMP_ZLIB_DMESG = "dmesg.makedumpfile-kdump-zlib.txt"


def form_dmesg(form: str) -> str:
    """The file holding makedumpfile --dump-dmesg of one makedumpfile-written form."""
    return f"dmesg.{form}.txt"


class BuildError(RuntimeError):
    """A step of the dump build failed (the message says which and why)."""


@dataclass(frozen=True)
class GuestImage:
    """The crash module and initramfs shared by every kind of one build."""

    crash_module: Path
    initramfs: Path


def build_crash_module(toolchain: Toolchain, work_dir: Path) -> Path:
    """Compile tests/dumps/crashmod against the guest kernel's headers; returns the .ko path."""
    source = cache.PACKAGE_DIR / "crashmod"
    build_dir = work_dir / "crashmod"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(source, build_dir)
    completed = subprocess.run(
        [str(toolchain.make), "-C", str(toolchain.kernel.headers_dir), f"M={build_dir}", "modules"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_S,
        check=False,
    )
    module = build_dir / f"{CRASH_MODULE_NAME}.ko"
    if completed.returncode != 0 or not module.is_file():
        raise BuildError(f"building the crash module failed:\n{completed.stdout}{completed.stderr}")
    return module


def prepare_guest(toolchain: Toolchain, work_dir: Path) -> GuestImage:
    """Build the crash module and the initramfs into `work_dir`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    module = build_crash_module(toolchain, work_dir)
    initramfs = build_initramfs(
        toolchain.busybox, toolchain.kernel.modules_dir, module, work_dir / "initramfs.cpio.gz"
    )
    return GuestImage(module, initramfs)


def _has_vmcoreinfo_note(elf_dump: Path) -> bool:
    # QEMU writes its notes (PRSTATUS, QEMU, then VMCOREINFO) right after the headers.
    with elf_dump.open("rb") as handle:
        return b"VMCOREINFO\x00" in handle.read(1 << 16)


def _result(result: MakedumpfileResult) -> dict[str, Any]:
    return {"ok": result.ok, "messages": result.messages}


def derive_with_makedumpfile(makedumpfile_bin: Path, directory: Path) -> dict[str, Any]:
    """Make makedumpfile's forms and the reference logs from the dumps QEMU wrote in `directory`.

    Returns what makedumpfile said at each step. Raises BuildError when the ELF reference log
    or a form cannot be made (without them the dumps are no use as fixtures).
    """
    elf_dump = directory / cache.ELF_DUMP
    makedumpfile: dict[str, Any] = {}
    scratch = directory / ".scratch"
    scratch.mkdir(exist_ok=True)
    try:
        repaired = makedumpfile_readable_copy(elf_dump, scratch / "vmcore.elf.repaired")
        reference = dump_dmesg(makedumpfile_bin, repaired, directory / cache.DMESG_REFERENCE)
        makedumpfile["dump_dmesg_elf_original"] = _result(
            dump_dmesg(makedumpfile_bin, elf_dump, scratch / "dmesg.original.txt")
        )
        makedumpfile["dump_dmesg_elf_repaired"] = _result(reference)
        if not reference.ok:
            raise BuildError(
                f"makedumpfile --dump-dmesg failed on the ELF dump:\n{reference.messages}"
            )

        for form in MAKEDUMPFILE_FORMS:
            output = directory / cache.DUMP_FORMS[form]
            converted = convert(makedumpfile_bin, repaired, output, form)
            makedumpfile[f"convert_{form}"] = _result(converted)
            if not converted.ok or not output.is_file():
                raise BuildError(f"makedumpfile ({form}) failed:\n{converted.messages}")
            output.chmod(0o444)
            if form in MAKEDUMPFILE_READABLE:
                # Cross-check: the conversion must keep the whole kernel log.
                makedumpfile[f"dump_dmesg_{form}"] = _result(
                    dump_dmesg(makedumpfile_bin, output, directory / form_dmesg(form))
                )

        # QEMU's kdump formats are flattened streams: makedumpfile must rearrange them first,
        # and then trips over QEMU 7.2's wrong phys_base (recorded, not fatal).
        rearranged = scratch / "vmcore.kdump-zlib.rearranged"
        rearrange = rearrange_flattened(
            makedumpfile_bin, directory / cache.KDUMP_ZLIB_DUMP, rearranged
        )
        makedumpfile["rearrange_kdump_zlib"] = _result(rearrange)
        if rearrange.ok:
            makedumpfile["dump_dmesg_kdump_zlib"] = _result(
                dump_dmesg(makedumpfile_bin, rearranged, directory / KDUMP_ZLIB_DMESG)
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for text_file in directory.glob("*.txt"):
        text_file.chmod(0o644)  # makedumpfile writes 0600
    return makedumpfile


def build_kind(
    toolchain: Toolchain,
    guest: GuestImage,
    kind: CrashKind,
    *,
    memory: str,
    directory: Path,
    key: str,
    panic_timeout: float,
    attempts: int = 3,
) -> dict[str, Any]:
    """Build one kind like build_kind_once, booting again while its log shows a foreign failure.

    An emulated guest on a busy host can hit a failure of its own (a stall, a lockup) before
    the crash under test; such a dump would test the wrong thing. Raises BuildError when every
    attempt shows one.
    """
    foreign: list[str] = []
    for _ in range(attempts):
        meta = build_kind_once(
            toolchain,
            guest,
            kind,
            memory=memory,
            directory=directory,
            key=key,
            panic_timeout=panic_timeout,
        )
        foreign = meta["foreign_failures"]
        if not foreign:
            return meta
    (directory / cache.META).unlink(missing_ok=True)  # never leave it looking current
    raise BuildError(
        f"{kind.name}: every one of {attempts} boots showed another failure before the crash "
        f"under test ({', '.join(foreign)}); see {directory / cache.DMESG_REFERENCE}"
    )


def build_kind_once(
    toolchain: Toolchain,
    guest: GuestImage,
    kind: CrashKind,
    *,
    memory: str,
    directory: Path,
    key: str,
    panic_timeout: float,
) -> dict[str, Any]:
    """Crash, dump and post-process one kind into `directory`; returns the meta written.

    Raises GuestError when the guest does not panic, BuildError from derive_with_makedumpfile.
    """
    started = time.monotonic()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    elf_dump = directory / cache.ELF_DUMP
    kdump_dump = directory / cache.KDUMP_ZLIB_DUMP
    cmdline = kernel_cmdline(kind)
    boot = GuestBoot(
        qemu=toolchain.qemu,
        vmlinuz=toolchain.kernel.vmlinuz,
        initramfs=guest.initramfs,
        cmdline=cmdline,
        memory=memory,
        serial_log=directory / cache.CONSOLE_LOG,
    )
    run = crash_and_dump(
        boot,
        {"elf": elf_dump, "kdump-zlib": kdump_dump},
        panic_timeout=panic_timeout,
        failure_marker=CRASH_FAILED_MARKER,
        host_action=HostAction(READY_FOR_HOST_MARKER, "inject-nmi")
        if kind.trigger == "host-nmi"
        else None,
    )
    for dump in (elf_dump, kdump_dump):
        dump.chmod(0o444)  # QEMU creates them 0400; the fixtures are meant to be shared read-only

    makedumpfile = derive_with_makedumpfile(toolchain.makedumpfile, directory)
    qemu_messages = directory / (cache.CONSOLE_LOG + ".qemu")
    if qemu_messages.is_file() and qemu_messages.stat().st_size == 0:
        qemu_messages.unlink()
    reference_text = (directory / cache.DMESG_REFERENCE).read_text(errors="replace")
    same_log = {
        form: (directory / form_dmesg(form)).read_text(errors="replace") == reference_text
        for form in sorted(MAKEDUMPFILE_READABLE)
        if (directory / form_dmesg(form)).is_file()
    }
    meta: dict[str, Any] = {
        "kind": kind.name,
        "description": kind.description,
        "expected_category": kind.category,
        "memory": memory,
        "kernel_release": toolchain.kernel.release,
        "kernel_package": toolchain.kernel.package,
        "kernel_package_version": toolchain.kernel.version,
        "kernel_cmdline": cmdline,
        "qemu_version": run.qemu_version,
        "panic_event": dict(run.panic_event),
        "seconds_to_panic": round(run.seconds_to_panic, 2),
        "build_seconds": round(time.monotonic() - started, 2),
        "build_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "cache_key": key,
        "files": {**cache.DUMP_FORMS, "dmesg_reference": cache.DMESG_REFERENCE},
        "sizes": {
            form: (directory / name).stat().st_size for form, name in cache.DUMP_FORMS.items()
        },
        "elf_has_vmcoreinfo_note": _has_vmcoreinfo_note(elf_dump),
        "dmesg_reference_lines": len(reference_text.splitlines()),
        "foreign_failures": foreign_failures(kind, reference_text),
        # makedumpfile --dump-dmesg of each form it can read, compared with the reference.
        "dmesg_equals_reference": same_log,
        "makedumpfile": makedumpfile,
    }
    (directory / cache.META).write_text(json.dumps(meta, indent=2) + "\n")
    return meta

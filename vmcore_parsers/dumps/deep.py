"""The "vmcore-debuginfo" tier: what drgn adds to a dump's log when debug info is present.

The functions take a drgn `Program` first (`prog`), as drgn's helpers do. Each piece of the
report is read by its own getter, and a getter that fails (a structure this kernel lays out
differently, a page filtered out of the dump) becomes a warning, never a failure: debug info
only ever adds evidence.

drgn reads ELF and kdump-compressed dumps; what it refuses (a flattened stream, QEMU's
kdump forms with their wrong header fields) is converted into a scratch file first, streamed.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmcore_parsers.dumps.debuginfo import DebuginfoFiles
from vmcore_parsers.dumps.detect import dump_format
from vmcore_parsers.dumps.dmesg import find_vmcoreinfo
from vmcore_parsers.dumps.elf_writer import write_elf
from vmcore_parsers.dumps.flattened import FlattenedSource
from vmcore_parsers.dumps.kdump import KdumpCompressed
from vmcore_parsers.dumps.source import ByteSource, FileSource
from vmcore_parsers.errors import DumpCorrupt, InputTooLarge

MAX_BLOCKED_TASKS = 20
MAX_TOP_TASKS = 5
_CHUNK = 8 << 20


@dataclass
class DeepReport:
    """Sections of the drgn report, each None when it could not be read (see `warnings`)."""

    panic_message: str | None = None
    taint: str | None = None
    crashed_thread: str | None = None
    cpus: str | None = None
    blocked_tasks: str | None = None
    memory: str | None = None
    modules: str | None = None
    warnings: list[str] = field(default_factory=list)


def convert_for_drgn(path: Path, scratch: Path) -> Path:
    """A copy of the dump drgn can open, written into `scratch`.

    A flattened stream is reassembled; a kdump-compressed dump (reassembled or not) is
    rewritten as an ELF core, which sidesteps the header fields QEMU gets wrong. Raises
    `DumpCorrupt` when the dump is neither.
    """
    source: ByteSource = FileSource(path)
    try:
        name = dump_format(source.read(0, min(source.size, 64)))
        flattened = name == "makedumpfile-flattened"
        if flattened:
            source = FlattenedSource(source)
            name = dump_format(source.read(0, min(source.size, 64)))
        if name == "kdump-compressed":
            image = KdumpCompressed(source)
            info = find_vmcoreinfo(image, [])
            return write_elf(image, info.text, scratch / "for-drgn.elf")
        if flattened:
            return _copy(source, scratch / "reassembled.vmcore")
        raise DumpCorrupt("drgn cannot open this ELF dump and there is nothing to convert")
    finally:
        source.close()


def _copy(source: ByteSource, target: Path) -> Path:
    if source.size > shutil.disk_usage(target.parent).free:
        raise InputTooLarge("no room to reassemble the flattened dump for drgn")
    with target.open("wb") as out:
        for offset in range(0, source.size, _CHUNK):
            out.write(source.read(offset, min(_CHUNK, source.size - offset)))
    return target


def open_program(dump: Path, files: DebuginfoFiles, scratch: Path) -> Any:
    """A drgn Program on `dump` with `files` loaded; raise `DumpCorrupt` if drgn cannot open it.

    When drgn (libkdumpfile) refuses the dump as it is, a converted copy is tried.
    """
    import drgn

    prog = drgn.Program()
    try:
        prog.set_core_dump(str(dump))
    except Exception:  # drgn raises OSError, ValueError or plain Exception
        converted = convert_for_drgn(dump, scratch)
        prog = drgn.Program()
        try:
            prog.set_core_dump(str(converted))
        except Exception as exc:
            raise DumpCorrupt(f"drgn cannot open the dump: {exc}") from None
    # Modules without debug files are expected: the kernel's own info is what matters.
    with contextlib.suppress(drgn.MissingDebugInfoError):
        prog.load_debug_info([str(files.vmlinux), *(str(m) for m in files.modules)])
    return prog


def debuginfo_matches(prog: Any) -> bool:
    """True when the vmlinux loaded is the dump's kernel (drgn skips a build-id mismatch)."""
    try:
        prog["init_task"]
    except LookupError:
        return False
    return True


def collect(prog: Any) -> DeepReport:
    """Every section of the report, each independently."""
    report = DeepReport()
    getters: list[tuple[str, Callable[[Any], str | None]]] = [
        ("panic_message", panic_message),
        ("taint", taint),
        ("crashed_thread", crashed_thread),
        ("cpus", cpus),
        ("blocked_tasks", blocked_tasks),
        ("memory", memory_summary),
        ("modules", modules),
    ]
    for name, getter in getters:
        try:
            setattr(report, name, getter(prog))
        except Exception as exc:  # drgn raises many error types; each is one missing section
            report.warnings.append(f"debuginfo: {name.replace('_', ' ')} unavailable ({exc})")
    return report


def panic_message(prog: Any) -> str | None:
    """The panic message the kernel recorded, or None when it did not panic."""
    from drgn.helpers.linux.panic import panic_message as message

    raw = message(prog)
    return raw.decode(errors="replace").strip() if raw else None


def taint(prog: Any) -> str:
    """The taint flags as letters (empty when untainted)."""
    from drgn.helpers.linux.panic import tainted

    return str(tainted(prog)).strip()


def crashed_thread(prog: Any) -> str:
    """The crashed thread's symbolized stack (function, file:line)."""
    thread = prog.crashed_thread()
    task = thread.object
    header = f"PID: {thread.tid}  COMM: {task.comm.string_().decode(errors='replace')}"
    return f"{header}\n{thread.stack_trace()}"


def cpus(prog: Any) -> str:
    """What each online CPU was running."""
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr

    lines = []
    for cpu in for_each_online_cpu(prog):
        task = cpu_curr(prog, cpu)
        comm = task.comm.string_().decode(errors="replace")
        lines.append(f"CPU {cpu}: PID {task.pid.value_()} {comm}")
    return "\n".join(lines)


def blocked_tasks(prog: Any) -> str:
    """Tasks in uninterruptible sleep (D state) with their stacks, at most MAX_BLOCKED_TASKS."""
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_state_to_char

    blocks: list[str] = []
    total = 0
    for task in for_each_task(prog):
        if task_state_to_char(task) != "D":
            continue
        total += 1
        if len(blocks) < MAX_BLOCKED_TASKS:
            comm = task.comm.string_().decode(errors="replace")
            blocks.append(f"PID: {task.pid.value_()}  COMM: {comm}\n{prog.stack_trace(task)}")
    if total > len(blocks):
        blocks.append(f"... and {total - len(blocks)} more")
    return "\n".join(blocks) if blocks else "none"


def memory_summary(prog: Any) -> str:
    """Total and free memory, and the tasks with the largest resident sets."""
    from drgn.helpers.linux.mm import task_rss, totalram_pages
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.vmstat import nr_free_pages

    try:
        page = prog["PAGE_SIZE"].value_()
    except LookupError:
        page = 4096
    mib = page / (1 << 20)
    total, free = totalram_pages(prog) * mib, nr_free_pages(prog) * mib
    lines = [f"total RAM: {total:.0f} MiB, free: {free:.0f} MiB"]
    sizes = []
    for task in for_each_task(prog):
        if task.mm:
            rss = task_rss(prog, task)
            pages = sum(value for value in rss if isinstance(value, int))
            sizes.append((pages, task.pid.value_(), task.comm.string_().decode(errors="replace")))
    for pages, pid, comm in sorted(sizes, reverse=True)[:MAX_TOP_TASKS]:
        lines.append(f"PID {pid} {comm}: {pages * mib:.1f} MiB resident")
    return "\n".join(lines)


def modules(prog: Any) -> str:
    """Loaded modules, with their taint letters when the kernel records them."""
    from drgn.helpers.linux.module import for_each_module, module_taints

    names = []
    for module in for_each_module(prog):
        name = module.name.string_().decode(errors="replace")
        try:
            flags = module_taints(module)
        except Exception:  # older kernels keep no per-module taint
            flags = ""
        names.append(f"{name} ({flags})" if flags else name)
    return ", ".join(names) if names else "none"


def render(report: DeepReport) -> str:
    """The report as text, one titled section per field that could be read."""
    sections = [
        ("Panic message", report.panic_message),
        ("Taint", report.taint or "not tainted" if report.taint is not None else None),
        ("Crashed thread", report.crashed_thread),
        ("CPUs", report.cpus),
        ("Tasks blocked in D state", report.blocked_tasks),
        ("Memory", report.memory),
        ("Modules", report.modules),
    ]
    return "\n\n".join(f"== {title} ==\n{body}" for title, body in sections if body is not None)

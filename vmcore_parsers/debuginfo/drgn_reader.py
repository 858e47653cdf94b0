"""Read the debug-info tier's evidence out of a dump with drgn.

Functions that take a drgn `Program` take it first as `prog`, as drgn's own helpers do. Each
field of `DebuginfoEvidence` has its own getter in `FIELD_GETTERS`; a getter that fails (a
structure this kernel lays out differently, a page `-d 31` filtered out) leaves its field None
with a warning, and the other fields are still read.

drgn opens ELF dumps and, through libkdumpfile, kdump-compressed and flattened makedumpfile
files. It refuses QEMU's own kdump formats (their header lacks fields libkdumpfile needs):
those are converted to an ELF copy in the scratch directory with the dump readers'
`convert_for_drgn`, and a warning says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from vmcore_parsers.debuginfo.evidence import (
    CpuTask,
    DebuginfoEvidence,
    Frame,
    MemorySummary,
    ModuleInfo,
    SlabUsage,
    TaskMemory,
    TaskStack,
)
from vmcore_parsers.debuginfo.locate import DebuginfoFiles, debuginfod_configured
from vmcore_parsers.dumps.drgn_copy import convert_for_drgn
from vmcore_parsers.errors import InputError

MAX_BLOCKED_TASKS = 20
MAX_FRAMES = 64
MAX_TOP_TASKS = 5
MAX_TOP_SLABS = 5
_WARNING_CHARS = 300  # drgn's messages can list hundreds of modules; keep warnings readable


class DrgnUnavailable(Exception):
    """drgn could not open the dump or use the debug info; the message says why."""


def open_program(dump: Path, scratch: Path, warnings: list[str]) -> Any:
    """A drgn Program on `dump` (no debug info loaded yet).

    Falls back to an ELF copy written into `scratch` when drgn refuses the dump's form, noting
    it in `warnings`. Raises `DrgnUnavailable` when neither opens.
    """
    import drgn

    prog = drgn.Program()
    try:
        prog.set_core_dump(str(dump))
        return prog
    except Exception as exc:  # drgn raises OSError, ValueError or a bare Exception
        first_error = _short(exc)
    try:
        converted = convert_for_drgn(dump, scratch)
    except InputError as exc:
        raise DrgnUnavailable(
            f"drgn cannot open this dump ({first_error}) and it cannot be converted ({exc.message})"
        ) from None
    prog = drgn.Program()
    try:
        prog.set_core_dump(str(converted))
    except Exception as exc:
        raise DrgnUnavailable(f"drgn cannot open this dump: {_short(exc)}") from None
    warnings.append(
        f"drgn (libkdumpfile) cannot open this dump form as it is ({first_error}); "
        "read from a converted ELF copy"
    )
    return prog


def load_debug_info(prog: Any, files: DebuginfoFiles | None, warnings: list[str]) -> Path:
    """Load `files` into `prog`; return the vmlinux drgn accepted.

    drgn itself checks each file's build id against the running kernel's. When no local file
    was given or accepted and $DEBUGINFOD_URLS is set, drgn asks debuginfod. Module files are
    tried only for the modules that were loaded. Raises `DrgnUnavailable` when the kernel's
    own debug info could not be loaded (the tier then has nothing to add).
    """
    import drgn

    if files is not None:
        with contextlib.suppress(drgn.MissingDebugInfoError):
            prog.load_debug_info([str(files.vmlinux)])
    main = _main_module(prog)
    if _lacks_debug_info(main) and debuginfod_configured():
        prog.set_enabled_debug_info_finders(["debuginfod"])
        try:
            prog.load_debug_info(main=True)
        except drgn.MissingDebugInfoError as exc:
            warnings.append(f"debuginfod has no debug info for this kernel: {_short(exc)}")
        main = _main_module(prog)
    if main is None or _lacks_debug_info(main):
        if files is not None:
            raise DrgnUnavailable(f"drgn did not accept {files.vmlinux} for this dump's kernel")
        raise DrgnUnavailable("no debug info for this dump's kernel")
    if files is not None and files.modules:
        # The module list is read from the kernel's memory, which needs its debug info first.
        loaded = {module.name for module, _ in prog.loaded_modules()}
        paths = [str(p) for p in files.modules if _module_name(p) in loaded]
        with contextlib.suppress(drgn.MissingDebugInfoError):
            # Modules without debug files are expected: the kernel's own info matters most.
            prog.load_debug_info(paths)
    missing = sorted(
        module.name
        for module, _ in prog.loaded_modules()
        if module is not main and module.wants_debug_file()
    )
    if missing:
        warnings.append(f"no debug info for modules: {', '.join(missing)}")
    return Path(main.debug_file_path)


def _main_module(prog: Any) -> Any:
    try:
        return prog.main_module()
    except LookupError:  # not created until debug info for it was looked for
        return None


def _lacks_debug_info(module: Any) -> bool:
    import drgn

    return module is None or module.debug_file_status != drgn.ModuleFileStatus.HAVE


def _module_name(path: Path) -> str:
    return path.name.split(".ko", 1)[0].replace("-", "_")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _WARNING_CHARS else text[:_WARNING_CHARS] + "..."


# --- field getters: each takes prog and returns the field's value (None: not available) ---


def panic_message(prog: Any) -> str | None:
    """The panic's log line as drgn finds it in the kernel log (`Kernel panic - not syncing:
    ...` or `Oops: ...`); None when the kernel did not panic."""
    from drgn.helpers.linux.panic import panic_message as message

    raw = message(prog)
    if not raw:
        return None
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return text.strip() or None


def taint(prog: Any) -> str:
    """The kernel's taint flags as `print_tainted()` shows them ("" when untainted)."""
    from drgn.helpers.linux.panic import tainted

    return str(tainted(prog)).strip()


def crashed_thread(prog: Any) -> TaskStack:
    """The thread that crashed (panicked or oopsed), with its symbolized stack."""
    from drgn.helpers.linux.sched import task_cpu

    thread = prog.crashed_thread()
    task = thread.object
    cpu: int | None
    try:
        cpu = int(task_cpu(task))
    except Exception:  # task_cpu reads fields some configurations lack
        cpu = None
    return TaskStack(
        pid=int(thread.tid),
        comm=_comm(task),
        state=_state(task),
        frames=stack_frames(prog, thread.stack_trace()),
        cpu=cpu,
    )


def blocked_tasks(prog: Any) -> tuple[tuple[TaskStack, ...], int]:
    """Tasks in uninterruptible sleep (D) with their stacks (at most MAX_BLOCKED_TASKS), and
    how many there were in all."""
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_state_to_char

    kept: list[TaskStack] = []
    total = 0
    for task in for_each_task(prog):
        if task_state_to_char(task) != "D":
            continue
        total += 1
        if len(kept) < MAX_BLOCKED_TASKS:
            frames = stack_frames(prog, prog.stack_trace(task))
            kept.append(TaskStack(int(task.pid), _comm(task), "D", frames))
    return tuple(kept), total


def cpus(prog: Any) -> tuple[CpuTask, ...]:
    """What each online CPU was running."""
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr

    running = []
    for cpu in for_each_online_cpu(prog):
        task = cpu_curr(prog, cpu)
        running.append(CpuTask(int(cpu), int(task.pid), _comm(task), _state(task)))
    return tuple(running)


def memory(prog: Any) -> MemorySummary:
    """Total and free memory, the biggest tasks by RSS and (when readable) slab caches."""
    from drgn.helpers.linux.mm import task_rss, totalram_pages
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.vmstat import nr_free_pages

    page = _page_size(prog)
    sizes: list[TaskMemory] = []
    for task in for_each_task(prog):
        if task.mm:
            pages = int(task_rss(prog, task).total)
            sizes.append(TaskMemory(int(task.pid), _comm(task), pages * page))
    sizes.sort(key=lambda t: t.rss_bytes, reverse=True)
    return MemorySummary(
        total_bytes=int(totalram_pages(prog)) * page,
        free_bytes=int(nr_free_pages(prog)) * page,
        top_tasks=tuple(sizes[:MAX_TOP_TASKS]),
        top_slabs=_top_slabs(prog, page),
    )


def _top_slabs(prog: Any, page: int) -> tuple[SlabUsage, ...]:
    from drgn.helpers.linux.slab import (
        for_each_slab_cache,
        slab_cache_pages_per_slab,
        slab_cache_usage,
    )

    usages = []
    for cache in for_each_slab_cache(prog):
        try:  # SLUB without CONFIG_SLUB_DEBUG keeps no counts; skip such a cache
            slabs = slab_cache_usage(cache).num_slabs
            size = int(slabs) * int(slab_cache_pages_per_slab(cache)) * page
        except Exception:
            continue
        usages.append(SlabUsage(cache.name.string_().decode(errors="replace"), size))
    usages.sort(key=lambda s: s.bytes, reverse=True)
    return tuple(usages[:MAX_TOP_SLABS])


def modules(prog: Any) -> tuple[ModuleInfo, ...]:
    """Loaded modules with the taint letters each one set."""
    from drgn.helpers.linux.module import for_each_module, module_taints

    found = []
    for module in for_each_module(prog):
        try:
            flags = str(module_taints(module))
        except Exception:  # kernels before 4.10 keep no per-module taint (commit 7fd8329ba5)
            flags = ""
        found.append(ModuleInfo(module.name.string_().decode(errors="replace"), flags))
    return tuple(found)


def stack_frames(prog: Any, trace: Iterable[Any]) -> tuple[Frame, ...]:
    """drgn stack frames as `Frame`s (inlined frames included), at most MAX_FRAMES, up to the
    first frame with a zero pc."""
    frames: list[Frame] = []
    for frame in trace:
        # A zero pc means the unwinder left the stack (past a module's freed init code, say);
        # what follows is stack garbage.
        if len(frames) >= MAX_FRAMES or int(frame.pc) == 0:
            break
        frames.append(_frame(prog, frame))
    return tuple(frames)


def _frame(prog: Any, frame: Any) -> Frame:
    pc = int(frame.pc)
    function, offset, size = frame.name, None, None
    with contextlib.suppress(LookupError):
        symbol = frame.symbol()
        function = function or symbol.name
        offset, size = pc - int(symbol.address), int(symbol.size)
    file: str | None = None
    line: int | None = None
    with contextlib.suppress(LookupError):
        file, line, _column = frame.source()
    module: str | None = None
    with contextlib.suppress(LookupError):
        owner = prog.module(pc)
        if owner.name != "kernel":  # drgn's name for the main module (vmlinux)
            module = owner.name
    return Frame(pc, function, offset, size, file, line, module)


def _comm(task: Any) -> str:
    return str(task.comm.string_().decode(errors="replace"))


def _state(task: Any) -> str | None:
    from drgn.helpers.linux.sched import task_state_to_char

    try:
        return str(task_state_to_char(task))
    except Exception:  # the task's state field layout is unknown to drgn
        return None


def _page_size(prog: Any) -> int:
    try:
        return int(prog["PAGE_SIZE"].value_())
    except (LookupError, ValueError):
        return 4096


def _set_blocked(evidence: DebuginfoEvidence, value: tuple[tuple[TaskStack, ...], int]) -> None:
    evidence.blocked_tasks, evidence.blocked_total = value


# field name -> (getter, how to store its value); the order is the order of the report.
FIELD_GETTERS: dict[str, tuple[Callable[[Any], Any], Callable[[DebuginfoEvidence, Any], None]]] = {
    "panic message": (panic_message, lambda e, v: setattr(e, "panic_message", v)),
    "taint": (taint, lambda e, v: setattr(e, "taint", v)),
    "crashed thread": (crashed_thread, lambda e, v: setattr(e, "crashed_thread", v)),
    "blocked tasks": (blocked_tasks, _set_blocked),
    "cpus": (cpus, lambda e, v: setattr(e, "cpus", v)),
    "memory": (memory, lambda e, v: setattr(e, "memory", v)),
    "modules": (modules, lambda e, v: setattr(e, "modules", v)),
}


def read_fields(prog: Any, evidence: DebuginfoEvidence) -> None:
    """Fill `evidence` field by field; a field that cannot be read becomes a warning."""
    for name, (getter, store) in FIELD_GETTERS.items():
        try:
            store(evidence, getter(prog))
        except Exception as exc:  # drgn raises FaultError, LookupError, ValueError, ...
            evidence.warnings.append(f"debuginfo: {name} not available ({_short(exc)})")

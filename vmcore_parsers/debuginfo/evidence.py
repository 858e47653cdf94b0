"""What the debug-info tier found in a dump, and its rendering as kernel-log-like text.

No drgn here: the dataclasses are filled by `drgn_reader` (or by `crash_tool`) and rendered as
text in the kernel's own shapes (a `Call Trace:` block with `<TASK>` markers, the
`task:... state:D` header `sched_show_task()` prints), so the same pure parser that reads an
uploaded log reads this too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Frame:
    """One stack frame; a field is None when drgn could not tell (no symbol, no line info)."""

    address: int
    function: str | None = None
    offset: int | None = None  # from the start of the function's symbol
    size: int | None = None  # of the function's symbol
    file: str | None = None
    line: int | None = None
    module: str | None = None  # None for the kernel image itself

    def render(self) -> str:
        """One call-trace line: `func+0x1c/0x40 [mod]`, or `func (file.c:12)` with line info."""
        if self.function is None:
            return f"0x{self.address:x}"
        if self.file is not None and self.line is not None:
            text = f"{self.function} ({self.file}:{self.line})"
            return f"{text} {self.module}" if self.module else text
        text = self.function
        if self.offset is not None and self.size is not None:
            text += f"+0x{self.offset:x}/0x{self.size:x}"
        return f"{text} [{self.module}]" if self.module else text


@dataclass(frozen=True)
class TaskStack:
    """A task and its stack; `state` is the ps letter (R, S, D, ...) or None when unknown."""

    pid: int
    comm: str
    state: str | None
    frames: tuple[Frame, ...]
    cpu: int | None = None


@dataclass(frozen=True)
class CpuTask:
    """The task a CPU was running when the dump was taken."""

    cpu: int
    pid: int
    comm: str
    state: str | None


@dataclass(frozen=True)
class TaskMemory:
    """One task's resident set."""

    pid: int
    comm: str
    rss_bytes: int


@dataclass(frozen=True)
class SlabUsage:
    """One slab cache and the memory its slabs hold."""

    name: str
    bytes: int


@dataclass(frozen=True)
class MemorySummary:
    """Totals and the biggest users; a total is None when it could not be read."""

    total_bytes: int | None
    free_bytes: int | None
    top_tasks: tuple[TaskMemory, ...] = ()
    top_slabs: tuple[SlabUsage, ...] = ()


@dataclass(frozen=True)
class ModuleInfo:
    """A loaded module and its taint letters ("" when it taints nothing)."""

    name: str
    taint: str


@dataclass
class DebuginfoEvidence:
    """The debug-info tier's findings for one dump.

    Every field is None when it could not be read (`warnings` says why); `source` is "drgn" or
    "crash"; `vmlinux` the debug file used.
    """

    source: str
    vmlinux: Path | None = None
    kernel_release: str | None = None
    build_id: str | None = None
    panic_message: str | None = None  # the whole line, e.g. "Kernel panic - not syncing: ..."
    taint: str | None = None
    crashed_thread: TaskStack | None = None
    blocked_tasks: tuple[TaskStack, ...] | None = None
    blocked_total: int | None = None  # D-state tasks seen, beyond those kept in blocked_tasks
    cpus: tuple[CpuTask, ...] | None = None
    memory: MemorySummary | None = None
    modules: tuple[ModuleInfo, ...] | None = None
    raw_text: str | None = None  # a source's own output (crash's), when it has no fields
    warnings: list[str] = field(default_factory=list)

    def text_sections(self) -> list[tuple[str, str]]:
        """(title, text) for each field that was read, in the kernel log's own shapes.

        The crashed thread's section is a header line plus a `Call Trace:` block the log
        parser reads like an oops; blocked tasks are rendered as `sched_show_task()` prints
        them. Fields that are None are left out (their warning says why).
        """
        sections: list[tuple[str, str]] = []
        if self.panic_message is not None:
            sections.append(("panic message", self.panic_message))
        if self.crashed_thread is not None:
            sections.append(("crashed thread", self._crashed_text(self.crashed_thread)))
        if self.blocked_tasks is not None:
            sections.append(("blocked tasks", self._blocked_text(self.blocked_tasks)))
        if self.cpus is not None:
            lines = [
                f"CPU: {cpu.cpu} PID: {cpu.pid} Comm: {cpu.comm} State: {cpu.state or '?'}"
                for cpu in self.cpus
            ]
            sections.append(("cpus", "\n".join(lines)))
        if self.memory is not None:
            sections.append(("memory", _memory_text(self.memory)))
        if self.modules is not None:
            sections.append(("modules", _modules_text(self.modules)))
        if self.raw_text is not None:
            sections.append((f"{self.source} output", self.raw_text))
        return sections

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the sandbox pipe and the diagnosis JSON); paths as strings."""
        data = asdict(self)
        data["vmlinux"] = str(self.vmlinux) if self.vmlinux is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DebuginfoEvidence:
        """Rebuild from `to_dict` output (already parsed from JSON)."""

        def stack(item: dict[str, Any] | None) -> TaskStack | None:
            if item is None:
                return None
            frames = tuple(Frame(**frame) for frame in item["frames"])
            return TaskStack(item["pid"], item["comm"], item["state"], frames, item.get("cpu"))

        memory = data.get("memory")
        blocked = data.get("blocked_tasks")
        cpus = data.get("cpus")
        modules = data.get("modules")
        return cls(
            source=str(data["source"]),
            vmlinux=Path(data["vmlinux"]) if data.get("vmlinux") else None,
            kernel_release=data.get("kernel_release"),
            build_id=data.get("build_id"),
            panic_message=data.get("panic_message"),
            taint=data.get("taint"),
            crashed_thread=stack(data.get("crashed_thread")),
            blocked_tasks=None if blocked is None else tuple(filter(None, map(stack, blocked))),
            blocked_total=data.get("blocked_total"),
            cpus=None if cpus is None else tuple(CpuTask(**cpu) for cpu in cpus),
            memory=None
            if memory is None
            else MemorySummary(
                memory["total_bytes"],
                memory["free_bytes"],
                tuple(TaskMemory(**task) for task in memory["top_tasks"]),
                tuple(SlabUsage(**slab) for slab in memory["top_slabs"]),
            ),
            modules=None if modules is None else tuple(ModuleInfo(**m) for m in modules),
            raw_text=data.get("raw_text"),
            warnings=[str(w) for w in data.get("warnings", [])],
        )

    @property
    def found_anything(self) -> bool:
        """True when at least one field (or a source's raw output) was read."""
        return any(
            value is not None
            for value in (
                self.panic_message,
                self.taint,
                self.crashed_thread,
                self.blocked_tasks,
                self.cpus,
                self.memory,
                self.modules,
                self.raw_text,
            )
        )

    def text(self) -> str:
        """All sections, each under a `==== title ====` line."""
        return "\n\n".join(f"==== {title} ====\n{body}" for title, body in self.text_sections())

    def _crashed_text(self, task: TaskStack) -> str:
        tainted = f"Tainted: {self.taint}" if self.taint else "Not tainted"
        release = f" {self.kernel_release}" if self.kernel_release else ""
        cpu = task.cpu if task.cpu is not None else "?"
        header = f"CPU: {cpu} PID: {task.pid} Comm: {task.comm} {tainted}{release}"
        return "\n".join([header, *_trace_lines(task.frames)])

    @staticmethod
    def _blocked_text(tasks: tuple[TaskStack, ...]) -> str:
        if not tasks:
            return "no task in D state"
        blocks = []
        for task in tasks:
            header = f"task:{task.comm:<15.15} state:{task.state or '?'} pid:{task.pid}"
            blocks.append("\n".join([header, *_trace_lines(task.frames)]))
        return "\n".join(blocks)


def _trace_lines(frames: tuple[Frame, ...]) -> list[str]:
    return ["Call Trace:", " <TASK>", *(f" {frame.render()}" for frame in frames), " </TASK>"]


def _mib(value: int) -> str:
    return f"{value / (1 << 20):.1f} MiB"


def _memory_text(memory: MemorySummary) -> str:
    lines = []
    if memory.total_bytes is not None:
        lines.append(f"MemTotal: {_mib(memory.total_bytes)}")
    if memory.free_bytes is not None:
        lines.append(f"MemFree: {_mib(memory.free_bytes)}")
    if memory.top_tasks:
        lines.append("Largest tasks by resident memory:")
        lines += [f"  pid {t.pid} {t.comm}: {_mib(t.rss_bytes)}" for t in memory.top_tasks]
    if memory.top_slabs:
        lines.append("Largest slab caches:")
        lines += [f"  {s.name}: {_mib(s.bytes)}" for s in memory.top_slabs]
    return "\n".join(lines)


def _modules_text(modules: tuple[ModuleInfo, ...]) -> str:
    if not modules:
        return "Modules linked in: (none)"
    names = [f"{m.name}({m.taint})" if m.taint else m.name for m in modules]
    return "Modules linked in: " + " ".join(names)

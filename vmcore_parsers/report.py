"""The `PanicReport`: everything the parser learned from one kernel log.

A report is plain data. The parser (`vmcore_parsers.parse`) builds it from text with no I/O;
the vmcore readers build the same report from the text they extract, so everything downstream
(knowledge base, classifier, diagnosis) sees one shape whatever the input was.

Line numbers are 1-based and refer to the lines of the *original* input text, so that evidence
can be shown to the user exactly where it is in the file they uploaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CrashType(StrEnum):
    """The closed set of crash shapes the parser recognises.

    Finer than the taxonomy categories (several crash types map to one category, see
    `CRASH_TYPE_CATEGORY`); values are stable strings used in golden files and features.
    """

    NULL_DEREF = "null-deref"
    PAGING_FAULT = "paging-fault"
    GPF = "general-protection-fault"
    BUG = "bug"
    WARNING = "warning"
    KASAN = "kasan"
    KFENCE = "kfence"
    LIST_CORRUPTION = "list-corruption"
    BAD_PAGE_STATE = "bad-page-state"
    SLAB_CORRUPTION = "slab-corruption"
    USERCOPY = "usercopy"
    STACK_PROTECTOR = "stack-protector"
    STACK_OVERFLOW = "stack-overflow"
    DOUBLE_FAULT = "double-fault"
    DIVIDE_ERROR = "divide-error"
    SCHEDULING_WHILE_ATOMIC = "scheduling-while-atomic"
    SLEEP_IN_ATOMIC = "sleep-in-atomic"
    LOCKDEP = "lockdep"
    SPINLOCK = "spinlock"
    SOFT_LOCKUP = "soft-lockup"
    HARD_LOCKUP = "hard-lockup"
    RCU_STALL = "rcu-stall"
    HUNG_TASK = "hung-task"
    OOM = "oom"
    MACHINE_CHECK = "machine-check"
    DEVICE_ERROR = "device-error"
    NMI = "nmi"
    SYSRQ = "sysrq"
    LKDTM = "lkdtm"
    INIT_DIED = "init-died"
    MOUNT_ROOT = "mount-root"
    NO_INIT = "no-init"
    FS_ERROR = "fs-error"
    OOPS = "oops"
    PANIC = "panic"


# Which taxonomy category a crash type points to when nothing more specific is known.
# `oops` and `panic` are shapes the parser recognised without learning why: they say "unknown".
CRASH_TYPE_CATEGORY: dict[CrashType, str] = {
    CrashType.NULL_DEREF: "null-deref",
    CrashType.PAGING_FAULT: "bad-access",
    CrashType.GPF: "bad-access",
    CrashType.BUG: "assertion",
    CrashType.WARNING: "warning",
    CrashType.KASAN: "memory-corruption",
    CrashType.KFENCE: "memory-corruption",
    CrashType.LIST_CORRUPTION: "memory-corruption",
    CrashType.BAD_PAGE_STATE: "memory-corruption",
    CrashType.SLAB_CORRUPTION: "memory-corruption",
    CrashType.USERCOPY: "memory-corruption",
    CrashType.STACK_PROTECTOR: "stack-corruption",
    CrashType.STACK_OVERFLOW: "stack-corruption",
    CrashType.DOUBLE_FAULT: "stack-corruption",
    CrashType.DIVIDE_ERROR: "divide-error",
    CrashType.SCHEDULING_WHILE_ATOMIC: "atomic-context",
    CrashType.SLEEP_IN_ATOMIC: "atomic-context",
    CrashType.LOCKDEP: "atomic-context",
    CrashType.SPINLOCK: "atomic-context",
    CrashType.SOFT_LOCKUP: "soft-lockup",
    CrashType.HARD_LOCKUP: "hard-lockup",
    CrashType.RCU_STALL: "rcu-stall",
    CrashType.HUNG_TASK: "hung-task",
    CrashType.OOM: "oom",
    CrashType.MACHINE_CHECK: "hardware-mce",
    CrashType.DEVICE_ERROR: "hardware-device",
    CrashType.NMI: "nmi",
    CrashType.SYSRQ: "manual-crash",
    CrashType.LKDTM: "manual-crash",
    CrashType.INIT_DIED: "init-died",
    CrashType.MOUNT_ROOT: "boot-failure",
    CrashType.NO_INIT: "boot-failure",
    CrashType.FS_ERROR: "fs-error",
    CrashType.OOPS: "unknown",
    CrashType.PANIC: "unknown",
}


class EventKind(StrEnum):
    """Kinds of noteworthy lines seen before (or around) the crash."""

    OOM_KILL = "oom-kill"
    HUNG_TASK = "hung-task"
    SOFT_LOCKUP = "soft-lockup"
    HARD_LOCKUP = "hard-lockup"
    RCU_STALL = "rcu-stall"
    MACHINE_CHECK = "machine-check"
    HARDWARE_ERROR = "hardware-error"
    EDAC = "edac"
    FS_ERROR = "fs-error"
    IO_ERROR = "io-error"
    NVIDIA_XID = "nvidia-xid"
    PCIE_AER = "pcie-aer"
    DEVICE_ERROR = "device-error"
    WARNING = "warning"
    OOPS = "oops"
    NMI = "nmi"
    PANIC = "panic"


@dataclass(slots=True)
class LogLine:
    """One line of the log after its transport prefix (timestamp, host, level) was removed.

    `number` is the 1-based line number in the original input; `text` is the kernel's own
    message; `timestamp` is seconds since boot when the log carried one (None otherwise);
    `caller` is the printk caller id (`T123` for a task, `C1` for a CPU) when the kernel was
    built with CONFIG_PRINTK_CALLER; `kernel` is False for lines that came from user space
    (other programs in a syslog or journal, service noise on a serial console).
    """

    number: int
    text: str
    timestamp: float | None = None
    caller: str | None = None
    kernel: bool = True


@dataclass(slots=True)
class Frame:
    """One call-trace frame: `function+offset/size [module]`.

    `reliable` is False for frames printed with a leading `?` (the unwinder guessed them).
    `module` is None for frames in the core kernel image.
    """

    function: str
    offset: str | None = None
    size: str | None = None
    module: str | None = None
    reliable: bool = True

    def __str__(self) -> str:
        text = self.function
        if self.module:
            text += f" [{self.module}]"
        return text if self.reliable else "? " + text


@dataclass(slots=True)
class Event:
    """A noteworthy line: `kind`, the line number in the input and its text."""

    kind: EventKind
    line: int
    text: str


@dataclass(slots=True)
class PanicReport:
    """What one kernel log says about a crash.

    Optional fields are None (or empty) when the log does not show them; `corrupted` with a
    `corrupted_reason` means the crash was recognised but the log is damaged or truncated
    (e.g. a call trace cut off), so some fields may be missing or partial.
    """

    title: str
    crash_type: CrashType
    # The header line of the first failure (the cause), and the final panic line (the symptom).
    first_failure: LogLine | None = None
    panic_line: LogLine | None = None
    guilty_frame: str | None = None
    call_trace: list[Frame] = field(default_factory=list)
    fault_address: str | None = None
    ip_symbol: str | None = None
    ip_module: str | None = None
    kernel_release: str | None = None
    taint: str | None = None
    taint_flags: list[str] = field(default_factory=list)
    hardware: str | None = None
    cpu: int | None = None
    comm: str | None = None
    pid: int | None = None
    modules: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    arch: str | None = None
    log_format: str = "unknown"
    corrupted: bool = False
    corrupted_reason: str | None = None
    signature: str = ""
    # The kernel's messages with transport prefixes removed, in input order. The report body
    # (lines from the first failure to the end of the crash) is `report_lines()`.
    lines: list[LogLine] = field(default_factory=list)
    report_start: int = 0  # index into `lines` where the first failure starts
    report_end: int = 0  # index into `lines` one past the end of the crash report

    def report_lines(self) -> list[LogLine]:
        """The lines of the crash report itself (first failure to end of crash)."""
        return self.lines[self.report_start : self.report_end]

    @property
    def category_hint(self) -> str:
        """The taxonomy category the crash type alone points to (`unknown` for bare panics)."""
        return CRASH_TYPE_CATEGORY[self.crash_type]

    def to_dict(self, include_lines: bool = False) -> dict[str, Any]:
        """A JSON-ready dict of the report; the full `lines` only when `include_lines`."""
        # Built field by field: dataclasses.asdict deep-copies every log line first, which
        # cost more than parsing the log itself.
        data: dict[str, Any] = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _STRUCTURED_FIELDS
        }
        data["crash_type"] = self.crash_type.value
        data["first_failure"] = _line_dict(self.first_failure)
        data["panic_line"] = _line_dict(self.panic_line)
        data["taint_flags"] = list(self.taint_flags)
        data["modules"] = list(self.modules)
        data["call_trace"] = [
            {
                "function": f.function,
                "offset": f.offset,
                "size": f.size,
                "module": f.module,
                "reliable": f.reliable,
            }
            for f in self.call_trace
        ]
        data["events"] = [
            {"kind": e.kind.value, "line": e.line, "text": e.text} for e in self.events
        ]
        if include_lines:
            data["lines"] = [_line_dict(line) for line in self.lines]
        return data


_STRUCTURED_FIELDS = frozenset(
    {
        "crash_type",
        "first_failure",
        "panic_line",
        "taint_flags",
        "modules",
        "call_trace",
        "events",
        "lines",
    }
)


def _line_dict(line: LogLine | None) -> dict[str, Any] | None:
    if line is None:
        return None
    return {
        "number": line.number,
        "text": line.text,
        "timestamp": line.timestamp,
        "caller": line.caller,
        "kernel": line.kernel,
    }

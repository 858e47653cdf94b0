"""Ranked data tables that describe every crash shape the parser knows.

Adding a panic family means adding a row here, not writing a function (see CONVENTIONS.md §2;
the idea follows syzkaller's `pkg/report/linux.go`).

There are three tables:

* `REPORT_ROWS`: lines that start a crash report (an oops header, a detector's report, a fatal
  hardware report, a filesystem or device error). Each row has a literal `needle` (the cheap
  prefilter: the row's regex is only tried on lines that contain it), a regex, the crash type,
  a title template, an example line, a *tier* (how strongly the report says "this is the
  cause", used by `parse.py` to choose the first failure) and a *specificity* (which row names a
  cluster of header lines printed together, e.g. `list_del corruption` + `kernel BUG at` +
  `invalid opcode`).
* `PANIC_ROWS`: `Kernel panic - not syncing: ...` lines. A panic line is the symptom; a row says
  which report types it confirms as the cause (`causes`) and what the crash is when no such
  report is in the log.
* `EVENT_ROWS`: lines worth keeping as evidence that are not crashes (OOM kills, I/O errors,
  EDAC, AER, ...). Report and panic rows produce events too.

ORDER MATTERS. For one line, the first row (in table order) whose needle is in the line and
whose regex matches wins. Specific shapes therefore come before generic ones: the 6.10+
`Oops: general protection fault` and `Oops: divide error` headers must be caught by their own
rows before the generic `Oops:` row; lockdep's `WARNING: possible ... locking` before plain
`WARNING:`; the `panic_on_warn`/`hung_task`/OOM panic rows before the catch-all panic row.
`tests/vmcore_parsers/test_oops_table.py` checks that each row's example is matched by that row
first, so a row shadowed by an earlier one fails the suite.

Regex macros (expanded by `compile_pattern`, the one compile function):

* `{FUNC}`  a kernel symbol, captured as `func` (`ext4_lookup`, `foo.isra.0`, `bar.cold`);
* `{FRAME}` `{FUNC}+0x1c/0x40` with an optional ` [module]`, captured as `func` and `mod`, or a
  frame decoded by `scripts/decode_stacktrace.sh` (`{FUNC} (path/file.c:123)`);
* `{ADDR}`  a hexadecimal address (with or without `0x`, or `(null)`), captured as `addr`;
* `{PC}`    an optional old-style `[<ffffffff81234567>]` program counter;
* `{COMM}`  a task name (may contain `/`, `:`, spaces), captured as `comm`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from vmcore_parsers.report import CrashType, EventKind

_MACROS: dict[str, str] = {
    # `func+0x1c/0x40 [mod]` as printed, or `func (fs/ext4/inode.c:123 ...) mod` as rewritten by
    # scripts/decode_stacktrace.sh (offsets replaced by source lines, module name unbracketed).
    "{FRAME}": r"(?P<func>[A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+"
    r"(?:\s+\[(?P<mod>[\w-]+)[^\]]*\])?|\s\((?:[^()\s]+:\d+\s?)+\))",
    "{FUNC}": r"(?P<func>[A-Za-z_.$][\w.$]*)",
    "{ADDR}": r"(?P<addr>\(null\)|(?:0x)?[0-9a-fA-F]{1,16})",
    "{PC}": r"(?:\[<[0-9a-fA-F]+>\]\s*)?",
    "{COMM}": r"(?P<comm>.+?)",
    # A call-trace frame line's head (an optional `[<pc>]`, then 32-bit ARM's `(`) and what
    # follows the function name in every printed shape (`+0x1c/0x40`, ARM's `) from`, decoded
    # `func (file.c:12)`). A `? ` mark (an unreliable stack guess) does not fit between them.
    "{AT}": r"^\s*(?:\[<[0-9a-fA-F]+>\]\s*)?\(?",
    "{OFF}": r"(?:\.[\w.]+)?(?:\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+|\) from |\s\()",
    # A `? ` mark, for the frames that count even as a stack guess (see `TRACE_ROWS`).
    "{GUESS}": r"(?:\?\s+)?",
}


def compile_pattern(source: str) -> re.Pattern[str]:
    """Expand the regex macros in `source` and compile it (see the module docstring)."""
    for macro, expansion in _MACROS.items():
        source = source.replace(macro, expansion)
    return re.compile(source)


class Tier(IntEnum):
    """How strongly a report says "this is the crash" (lower = stronger).

    FATAL: an oops, BUG, memory-corruption report, fatal hardware report or manual crash.
    DETECTOR: a watchdog or debug check that reports and usually lets the kernel go on
    (lockups, stalls, hung tasks, sleeping in atomic context, lockdep).
    NOTICE: filesystem errors, device errors, corrected machine checks: a failure only when
    nothing else in the log is.
    WARNING: `WARN()` reports: the cause only when they lead to the panic (panic_on_warn) or
    when nothing else went wrong.
    """

    FATAL = 0
    DETECTOR = 1
    NOTICE = 2
    WARNING = 3


# The event kind a report row produces when it does not name one itself.
_TYPE_EVENT: dict[CrashType, EventKind] = {
    CrashType.HUNG_TASK: EventKind.HUNG_TASK,
    CrashType.SOFT_LOCKUP: EventKind.SOFT_LOCKUP,
    CrashType.HARD_LOCKUP: EventKind.HARD_LOCKUP,
    CrashType.RCU_STALL: EventKind.RCU_STALL,
    CrashType.WARNING: EventKind.WARNING,
    CrashType.LOCKDEP: EventKind.WARNING,
    CrashType.OOM: EventKind.OOM_KILL,
    CrashType.MACHINE_CHECK: EventKind.MACHINE_CHECK,
    CrashType.FS_ERROR: EventKind.FS_ERROR,
    CrashType.NMI: EventKind.NMI,
    CrashType.PANIC: EventKind.PANIC,
}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One report-header shape. See the module docstring for the meaning of the fields.

    `title` is a template over the regex's named groups (and the follow-up line's groups);
    `guilty` says a guilty frame is expected (and looked for); `frame_in_title` (default: same
    as `guilty`) makes the parser append ` in <guilty frame>`. `follow` is a regex searched
    in the next few lines for extra groups (KASAN's `Read of size 8 at addr ...`).
    `needs_trace` says a complete report of this shape carries a call trace, so a report
    without one is marked corrupted.
    """

    name: str
    needle: str
    pattern: str
    crash_type: CrashType
    title: str
    example: str
    tier: Tier = Tier.FATAL
    specificity: int = 2
    guilty: bool = True
    needs_trace: bool = True
    event: EventKind | None = None
    follow: str | None = None
    frame_in_title: bool | None = None
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    follow_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    event_kind: EventKind = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_pattern(self.pattern))
        follow = compile_pattern(self.follow) if self.follow else None
        object.__setattr__(self, "follow_regex", follow)
        kind = self.event or _TYPE_EVENT.get(self.crash_type, EventKind.OOPS)
        object.__setattr__(self, "event_kind", kind)
        if self.frame_in_title is None:
            object.__setattr__(self, "frame_in_title", self.guilty)


@dataclass(frozen=True, slots=True)
class PanicRow:
    """One `Kernel panic - not syncing:` shape.

    `causes`: report types this panic confirms as the cause when one precedes it (the
    hung-task report before `hung_task: blocked tasks`). `anchor`: when the panic itself is
    the crash, the event kind whose nearest preceding line starts the report (the
    `invoked oom-killer` line before a panic_on_oom panic). `specific`: the panic line names
    a reason by itself (OOM, init died, root fs); a generic one (`Fatal exception`) says an
    oops report should precede it, and `consequence` marks it corrupted when none does.
    """

    name: str
    pattern: str
    crash_type: CrashType
    title: str
    example: str
    causes: frozenset[CrashType] = frozenset()
    anchor: EventKind | None = None
    specific: bool = True
    consequence: bool = False
    guilty: bool = False
    frame_in_title: bool = True
    needle: str = "Kernel panic - not syncing"
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Anchored: `---[ end Kernel panic - not syncing: ... ]---` repeats the panic text and
        # must not count as a second panic. The crash(8) utility's `sys` output quotes the panic
        # message: `PANIC: "Kernel panic - not syncing: ..."`.
        anchor = r'^\s*(?:PANIC: ")?'
        object.__setattr__(self, "regex", compile_pattern(anchor + self.pattern))


@dataclass(frozen=True, slots=True)
class EventRow:
    """A line worth keeping as evidence that does not start a crash report."""

    name: str
    needle: str
    pattern: str | None
    kind: EventKind
    example: str
    regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = compile_pattern(self.pattern) if self.pattern else None
        object.__setattr__(self, "regex", regex)


_C = CrashType
_T = Tier

# The tables are laid out by hand, a row per entry, so that a diff shows one changed row.
# fmt: off

REPORT_ROWS: tuple[ReportRow, ...] = (
    # --- manual crashes: the trigger line names the cause of whatever oops follows. -----------
    ReportRow(
        "sysrq-crash", "Trigger a crash", r"^\s*(?:sysrq: )?(?:SysRq ?: )?Trigger a crash",
        _C.SYSRQ, "kernel panic: sysrq triggered crash", "sysrq: Trigger a crash",
        specificity=5, frame_in_title=False,
    ),
    # SysRq-F (drivers/tty/sysrq.c `.action_msg = "Manual OOM execution"`) runs the OOM killer
    # on request. Before 4.3 (mm/oom_kill.c "Do not panic for oom kills triggered by sysrq")
    # it also honoured vm.panic_on_oom, so the OOM panic that follows it was asked for: the
    # panic row confirms it as the cause. Alone it is only a requested OOM kill (a detector).
    ReportRow(
        "sysrq-manual-oom", "Manual OOM execution",
        r"(?:^\s*|SysRq ?: |sysrq: )Manual OOM execution", _C.SYSRQ,
        "sysrq: manual OOM kill (SysRq-F)", "SysRq : Manual OOM execution", tier=_T.DETECTOR,
        specificity=5, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "lkdtm", "lkdtm: Performing direct entry",
        r"lkdtm: Performing direct entry (?P<test>\w+)",
        _C.LKDTM, "lkdtm: {test}", "lkdtm: Performing direct entry BUG", specificity=5,
        guilty=False,
    ),
    # --- sanitizers ----------------------------------------------------------------------------
    ReportRow(
        "kasan", "BUG: KASAN:", r"BUG: KASAN: (?P<bugtype>[\w-]+(?: or [\w-]+)?)(?: in {FRAME})?",
        _C.KASAN, "KASAN: {bugtype} {access}",
        "BUG: KASAN: use-after-free in tcp_retransmit_timer+0x2d58/0x2e40",
        specificity=4, follow=r"^\s*(?P<access>Read|Write) of size \d+ at addr {ADDR}",
    ),
    ReportRow(
        "kfence", "BUG: KFENCE:", r"BUG: KFENCE: (?P<bugtype>[\w -]+?) in {FRAME}",
        _C.KFENCE, "KFENCE: {bugtype}",
        "BUG: KFENCE: use-after-free read in ext4_xattr_ibody_get+0x1a8/0x260",
        specificity=4, follow=r"(?:read|write) at 0x(?P<addr>[0-9a-f]+)",
    ),
    # The body of a KASAN report, for excerpts that lost its `BUG: KASAN:` header (mm/kasan/
    # report.c prints these lines only in a report). Specificity 1: the header names it.
    ReportRow(
        "kasan-object", "The buggy address", r"^\s*The buggy address (?:belongs to|is located)",
        _C.KASAN, "KASAN: invalid access",
        "The buggy address belongs to the object at ffff888012345600", specificity=1,
        guilty=False, needs_trace=False,
    ),
    ReportRow(
        "kasan-shadow", "Memory state around the buggy address",
        r"^\s*Memory state around the buggy address", _C.KASAN, "KASAN: invalid access",
        "Memory state around the buggy address:", specificity=1, guilty=False,
        needs_trace=False,
    ),
    # --- memory corruption detectors ---------------------------------------------------------
    ReportRow(
        "list-del-corruption", "list_del corruption", r"^\s*list_del corruption",
        _C.LIST_CORRUPTION, "BUG: corrupted list",
        "list_del corruption. prev->next should be ffff9e5a4c8e1018, but was dead000000000100",
        specificity=3,
    ),
    ReportRow(
        "list-add-corruption", "list_add corruption", r"^\s*list_add corruption",
        _C.LIST_CORRUPTION, "BUG: corrupted list",
        "list_add corruption. next->prev should be prev (ffff88810a2b3c40), but was "
        "0000000000000000. (next=ffff88810a2b3c48).",
        specificity=3,
    ),
    ReportRow(
        "list-double-add", "list_add double add", r"^\s*list_add double add",
        _C.LIST_CORRUPTION, "BUG: corrupted list",
        "list_add double add: new=ffff8881046e2a00, prev=ffff8881046e2a00, next=ffff88810",
        specificity=3,
    ),
    ReportRow(
        "bad-page-state", "BUG: Bad page state", r"BUG: Bad page state in process {COMM}\s+pfn",
        _C.BAD_PAGE_STATE, "BUG: Bad page state",
        "BUG: Bad page state in process kswapd0  pfn:1a3f05", guilty=False,
    ),
    ReportRow(
        "bad-page-map", "BUG: Bad page map", r"BUG: Bad page map in process {COMM}\s+pte",
        _C.BAD_PAGE_STATE, "BUG: Bad page map",
        "BUG: Bad page map in process java  pte:8000000c7f0b5067 pmd:1c23d6067", guilty=False,
    ),
    # `dump_page()`'s reason line of a bad page (mm/page_alloc.c `bad_page()`), for excerpts
    # that lost the `BUG: Bad page state` header above it. VM_BUG_ON_PAGE and KASAN dump pages
    # too, with their own reasons: those are their reports, not a bad page. Specificity 1: with
    # the header present, the header names the report.
    ReportRow(
        "bad-page-reason", "page dumped because: ",
        r"page dumped because: (?!VM_BUG_ON|kasan)", _C.BAD_PAGE_STATE,
        "BUG: Bad page state", "page dumped because: nonzero mapcount", specificity=1,
        guilty=False,
    ),
    ReportRow(
        "bad-rss", "BUG: Bad rss-counter state", r"BUG: Bad rss-counter state",
        _C.BAD_PAGE_STATE, "BUG: Bad rss-counter state",
        "BUG: Bad rss-counter state mm:00000000b4f3c6e5 type:MM_ANONPAGES val:-1",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "slub", "BUG ", r"^\s*BUG (?P<cache>[\w-]+) \([^)]*\): (?P<problem>[\w ]+)",
        _C.SLAB_CORRUPTION, "BUG: slab {problem} in {cache}",
        "BUG kmalloc-128 (Tainted: G    B   OE     ): Poison overwritten", guilty=False,
    ),
    # The rest of a SLUB debug report, for excerpts that lost its `BUG <cache> (...)` header:
    # the object's allocation/free records, the slab line and the `FIX` repair lines.
    ReportRow(
        "slub-info", "INFO: ",
        r"^\s*INFO: (?:(?:Allocated|Freed) in \S+(?: \[[\w-]+\])? age=|Slab 0x[0-9a-f]+ objects=)",
        _C.SLAB_CORRUPTION, "BUG: slab corruption",
        "INFO: Allocated in foo_alloc+0x20/0x40 [foo] age=12 cpu=0 pid=123",
        specificity=1, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "slub-fix", "FIX ", r"^\s*FIX [\w-]+: (?:Restoring|Marking|Object at)",
        _C.SLAB_CORRUPTION, "BUG: slab corruption",
        "FIX kmalloc-64: Restoring 0xffff88003a8b1c40-0xffff88003a8b1c43=0xcc",
        specificity=1, guilty=False, needs_trace=False,
    ),
    # 2.6 kernels printed a bad page without the `BUG: ` prefix.
    ReportRow(
        "bad-page-state-old", "Bad page state in process",
        r"^\s*Bad page state in process", _C.BAD_PAGE_STATE, "BUG: Bad page state",
        "Bad page state in process 'java'", guilty=False,
    ),
    ReportRow(
        "slab-old", "Slab corruption", r"^\s*Slab corruption \([^)]*\): (?P<cache>[\w-]+)",
        _C.SLAB_CORRUPTION, "BUG: slab corruption in {cache}",
        "Slab corruption (Not tainted): kmalloc-512 start=ffff88003c1d8000, len=512",
        guilty=False,
    ),
    ReportRow(
        "usercopy", "usercopy: Kernel memory",
        r"usercopy: Kernel memory (?P<dir>exposure|overwrite) attempt",
        _C.USERCOPY, "BUG: bad usercopy",
        "usercopy: Kernel memory exposure attempt detected from SLUB object 'kmalloc-64' "
        "(offset 0, size 100)!",
        specificity=3,
    ),
    # --- stack problems ------------------------------------------------------------------------
    # 4.x prints `BUG: stack guard page was hit`; since 4.20 the stack is named (`TASK`, `IRQ`,
    # `NMI`, `#DF`, ...), which puts the needle mid-word: the row hangs off `BUG: ` instead.
    ReportRow(
        "stack-guard", "BUG: ", r"BUG: (?:\S+ )?stack guard page was hit at",
        _C.STACK_OVERFLOW, "BUG: stack guard page was hit",
        "BUG: TASK stack guard page was hit at 00000000f3e1b9e4 (stack is 00000000b1a2c3d4..)",
        specificity=3,
    ),
    ReportRow(
        "stack-overflow", "kernel stack overflow", r"kernel stack overflow",
        _C.STACK_OVERFLOW, "kernel stack overflow",
        "kernel stack overflow (double-fault): 0000 [#1] SMP", specificity=3,
    ),
    # 2.6 x86 (`die()`, when the end-of-stack canary is gone): printed with the oops the
    # overflow caused, which it names (specificity 4, over the fault header).
    ReportRow(
        "stack-overran", "Thread overran stack", r"Thread overran stack, or stack corrupted",
        _C.STACK_OVERFLOW, "kernel stack overflow", "Thread overran stack, or stack corrupted",
        specificity=4, guilty=False,
    ),
    ReportRow(
        "arm64-stack-overflow", "Insufficient stack space",
        r"Insufficient stack space to handle exception", _C.STACK_OVERFLOW,
        "kernel stack overflow", "Insufficient stack space to handle exception!",
        specificity=3,
    ),
    # x86 prints `PANIC: double fault, error_code: ...` (behind `traps: ` in newer kernels), then
    # dies with `double fault: 0000 [#1]`, which 6.10+ prefixes with `Oops: `.
    ReportRow(
        "double-fault", "double fault", r"^\s*(?:traps: )?(?:PANIC: |Oops: )?double fault[:,]",
        _C.DOUBLE_FAULT, "double fault", "PANIC: double fault, error_code: 0x0",
    ),

    # --- x86 exceptions (6.10+ prefixes them with `Oops: `, hence unanchored `Oops: `?) ------
    # x86's #SS: a stack-segment fault, in the kernel almost always a non-canonical address
    # used through %rsp or %rbp (a corrupted pointer), reported like a GPF.
    ReportRow(
        "stack-segment", "stack segment", r"^\s*(?:Oops: )?stack segment: [0-9a-f]{4}",
        _C.GPF, "stack segment fault", "stack segment: 0000 [#1] SMP NOPTI",
    ),
    ReportRow(
        "divide-error", "divide error", r"^\s*(?:Oops: )?divide error: [0-9a-f]{4}",
        _C.DIVIDE_ERROR, "divide error", "divide error: 0000 [#1] SMP PTI",
    ),
    # 32-bit ARM has no divide trap: the libgcc helpers call `__div0()` (arch/arm/lib/div0),
    # which prints this line and a stack, and the kernel carries on with a bogus quotient.
    ReportRow(
        "arm-div0", "Division by zero in kernel", r"^\s*Division by zero in kernel",
        _C.DIVIDE_ERROR, "divide error", "Division by zero in kernel.", tier=_T.DETECTOR,
    ),
    ReportRow(
        "gpf", "general protection fault",
        r"^\s*(?:Oops: )?general protection fault(?:, (?:probably|maybe) for "
        r"(?:non-canonical )?address {ADDR})?(?::|\s*$)",
        _C.GPF, "general protection fault",
        "general protection fault, probably for non-canonical address 0xdead000000000122: "
        "0000 [#1] PREEMPT SMP NOPTI",
    ),
    ReportRow(
        "null-deref", "BUG: kernel NULL pointer dereference",
        r"BUG: kernel NULL pointer dereference, address: {ADDR}",
        _C.NULL_DEREF, "BUG: kernel NULL pointer dereference",
        "BUG: kernel NULL pointer dereference, address: 0000000000000008", specificity=3,
    ),
    ReportRow(
        "null-deref-old", "BUG: unable to handle kernel NULL pointer dereference",
        r"BUG: unable to handle kernel NULL pointer dereference at\s+{ADDR}",
        _C.NULL_DEREF, "BUG: kernel NULL pointer dereference",
        "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
        specificity=3,
    ),
    # The ARM fault handlers print `Unable to handle kernel %s at virtual address %lx`. The
    # address is optional in the arm rows: a console captured at 80 columns wraps the line
    # right in it (`... at virtual addre` / `ss 00000004`).
    ReportRow(
        "null-deref-arm", "Unable to handle kernel NULL pointer dereference",
        r"^\s*Unable to handle kernel NULL pointer dereference(?: at virtual address {ADDR})?",
        _C.NULL_DEREF, "BUG: kernel NULL pointer dereference",
        "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008",
        specificity=3,
    ),
    ReportRow(
        "paging-fault", "BUG: unable to handle page fault for address",
        r"BUG: unable to handle page fault for address: {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "BUG: unable to handle page fault for address: ffffb3c1c0a3f000", specificity=3,
    ),
    ReportRow(
        "paging-request", "BUG: unable to handle kernel paging request",
        r"BUG: unable to handle kernel paging request at {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "BUG: unable to handle kernel paging request at ffffc90000f4a000",
        specificity=3,
    ),
    # powerpc (arch/powerpc/mm/fault.c): since 5.x `BUG: Kernel NULL pointer dereference on
    # read at 0x00000010` and `BUG: Unable to handle kernel data access on write at ...` /
    # `... instruction fetch`; before, `Unable to handle kernel paging request for data at
    # address 0x00000000`, which says NULL only through its address (see `parse.py`).
    ReportRow(
        "ppc-null-deref", "BUG: Kernel NULL pointer dereference",
        r"BUG: Kernel NULL pointer dereference (?:on (?:read|write) )?at {ADDR}",
        _C.NULL_DEREF, "BUG: kernel NULL pointer dereference",
        "BUG: Kernel NULL pointer dereference on read at 0x00000010", specificity=3,
    ),
    ReportRow(
        "ppc-bad-access", "BUG: Unable to handle kernel",
        r"BUG: Unable to handle kernel (?:data access|instruction fetch|unknown fault)"
        r"(?: on (?:read|write|execute))? at {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "BUG: Unable to handle kernel data access on read at 0xc00800000a5b0000", specificity=3,
    ),
    ReportRow(
        "ppc-paging-request-old", "Unable to handle kernel paging request",
        r"^\s*Unable to handle kernel paging request for (?:data|instruction fetch|unknown "
        r"fault) at address {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "Unable to handle kernel paging request for data at address 0x00000000", specificity=3,
    ),
    # MIPS (arch/mips/mm/fault.c): `CPU 0 Unable to handle kernel paging request at virtual
    # address 00000004, epc == ..., ra == ...`, NULL or not by the address alone.
    ReportRow(
        "mips-paging-request", "CPU ",
        r"^\s*CPU \d+ Unable to handle kernel paging request at virtual address {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "CPU 0 Unable to handle kernel paging request at virtual address 00000004, epc == "
        "80123456, ra == 80123400", specificity=3,
    ),
    ReportRow(
        "paging-request-arm", "Unable to handle kernel paging request",
        r"^\s*Unable to handle kernel paging request(?: at virtual address {ADDR})?",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "Unable to handle kernel paging request at virtual address ffff800011a3b000",
        specificity=3,
    ),
    # Permission faults (arch/arm64/mm/fault.c `__do_kernel_fault`, 32-bit ARM since 5.16):
    # a write to read-only memory, an instruction fetch from non-executable memory (a jump
    # through a corrupted function pointer), a read of unreadable memory.
    ReportRow(
        "arm-permission-fault", "Unable to handle kernel ",
        r"^\s*Unable to handle kernel (?:write to read-only memory|execute from non-executable "
        r"memory|read from unreadable memory)(?: at virtual address {ADDR})?",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "Unable to handle kernel execute from non-executable memory at virtual address "
        "ffff00003f87bdc0",
        specificity=3,
    ),
    ReportRow(
        "arm64-uaccess", "Unable to handle kernel access to user memory",
        r"Unable to handle kernel access to user memory .*at virtual address {ADDR}",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "Unable to handle kernel access to user memory outside uaccess routines at virtual "
        "address 0000ffff8a3c2000",
        specificity=3,
    ),
    ReportRow(
        "arm64-sea", "synchronous external abort",
        r"Internal error: synchronous external abort", _C.MACHINE_CHECK,
        "synchronous external abort", "Internal error: synchronous external abort: 96000210 "
        "[#1] SMP",
    ),
    # arm64 before 4.15 reported an SError through the generic bad-mode handler.
    ReportRow(
        "arm64-bad-mode-serror", "Bad mode in Error handler",
        r"Bad mode in Error handler detected on CPU(?P<cpu>\d+)", _C.MACHINE_CHECK,
        "SError Interrupt",
        "Bad mode in Error handler detected on CPU0, code 0xbf000002 -- SError",
        guilty=False, needs_trace=False, specificity=3,
    ),
    ReportRow(
        "arm64-serror", "SError Interrupt on CPU", r"SError Interrupt on CPU(?P<cpu>\d+)",
        _C.MACHINE_CHECK, "SError Interrupt", "SError Interrupt on CPU3, code 0xbf000002 -- "
        "SError", guilty=False, needs_trace=False,
    ),
    # --- assertions --------------------------------------------------------------------------
    # The list debugging checks' BUG_ON (lib/list_debug.c), when the `list_del corruption` line
    # above it was lost: the category is the corruption it caught, not the assertion mechanism.
    ReportRow(
        "kernel-bug-list-debug", "kernel BUG at",
        r"kernel BUG at (?P<file>(?:\S*/)?lib/list_debug\.c):(?P<line>\d+)",
        _C.LIST_CORRUPTION, "list corruption", "kernel BUG at lib/list_debug.c:53!",
    ),
    ReportRow(
        "kernel-bug", "kernel BUG at", r"kernel BUG at (?P<file>[^:\s]+):(?P<line>\d+)",
        _C.BUG, "kernel BUG", "kernel BUG at fs/ext4/inode.c:2723!",
    ),
    ReportRow(
        "arm64-bug", "Internal error: Oops - BUG", r"Internal error: Oops - BUG",
        _C.BUG, "kernel BUG", "Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP",
    ),
    # MIPS: a `break` trap for BUG() dies with `die_if_kernel("Kernel bug detected", regs)`,
    # printed as `Kernel bug detected[#1]:` (arch/mips/kernel/traps.c).
    ReportRow(
        "mips-bug", "Kernel bug detected", r"^\s*Kernel bug detected\[#\d+\]",
        _C.BUG, "kernel BUG", "Kernel bug detected[#1]:",
    ),
    # Assertions of out-of-tree filesystems that do not call BUG(): OpenZFS's SPL prints the
    # failed `VERIFY`/`ASSERT` and `PANIC at file:line:func()`, then parks the thread (or panics
    # with spl_panic_halt); Lustre prints the failed `ASSERTION( ... )` and `LBUG`.
    ReportRow(
        "spl-panic", "PANIC at ", r"^\s*PANIC at (?P<file>[\w.-]+):(?P<line>\d+):{FUNC}\(\)",
        _C.BUG, "SPL assertion", "PANIC at zfs_vfsops.c:583:zfs_space_delta_cb()",
    ),
    ReportRow(
        "spl-verify", "VERIFY", r"^\s*VERIFY\d?\(.*\) failed", _C.BUG, "SPL assertion",
        "VERIFY3(sa.sa_magic == 0x2F505A) failed (24 == 3100762)", specificity=3,
    ),
    ReportRow(
        "lustre-assertion", "LustreError", r"LustreError: .*\bASSERTION\(.*\) failed",
        _C.BUG, "Lustre assertion",
        "LustreError: 2105:0:(osd_handler.c:1234:osd_trans_start()) ASSERTION( !th->th_locked ) "
        "failed: ", specificity=3,
    ),
    ReportRow(
        "lustre-lbug", "LustreError", r"LustreError: .*\bLBUG\s*$", _C.BUG, "Lustre assertion",
        "LustreError: 2105:0:(osd_handler.c:1234:osd_trans_start()) LBUG",
    ),
    ReportRow(
        "invalid-opcode", "invalid opcode", r"^\s*(?:Oops: )?invalid opcode: [0-9a-f]{4}",
        _C.BUG, "invalid opcode", "invalid opcode: 0000 [#1] SMP NOPTI", specificity=1,
    ),
    # --- atomic context and locking ----------------------------------------------------------
    # CONFIG_DEBUG_PREEMPT's check (lib/smp_processor_id.c): a per-CPU access from code that
    # can be preempted and migrated, i.e. a missing preempt_disable() around it.
    ReportRow(
        "preemptible-per-cpu", "BUG: using ",
        r"BUG: using (?:smp_processor_id|__this_cpu_\w+|this_cpu_\w+)\(\) in preemptible",
        _C.SLEEP_IN_ATOMIC, "BUG: per-CPU access in preemptible code",
        "BUG: using smp_processor_id() in preemptible [00000000] code: tp/45",
        tier=_T.DETECTOR,
    ),
    ReportRow(
        "sched-atomic", "BUG: scheduling while atomic",
        r"BUG: scheduling while atomic: {COMM}/(?P<pid>\d+)/0x[0-9a-f]+",
        _C.SCHEDULING_WHILE_ATOMIC, "BUG: scheduling while atomic",
        "BUG: scheduling while atomic: kworker/0:2/1783/0x00000002", tier=_T.DETECTOR,
    ),
    ReportRow(
        "sleep-atomic", "BUG: sleeping function called from invalid context",
        r"BUG: sleeping function called from invalid context",
        _C.SLEEP_IN_ATOMIC, "BUG: sleeping function called from invalid context",
        "BUG: sleeping function called from invalid context at mm/slab.h:421",
        tier=_T.DETECTOR,
    ),
    ReportRow(
        "lockdep-deadlock", "WARNING: possible",
        r"WARNING: possible (?:recursive locking|circular locking dependency|irq lock "
        r"inversion dependency) detected",
        _C.LOCKDEP, "possible deadlock",
        "WARNING: possible circular locking dependency detected", tier=_T.DETECTOR,
    ),
    ReportRow(
        "lockdep-deadlock-old", "INFO: possible",
        r"\[ INFO: possible (?:recursive locking|circular locking dependency|irq lock "
        r"inversion dependency) detected",
        _C.LOCKDEP, "possible deadlock",
        "[ INFO: possible circular locking dependency detected ]", tier=_T.DETECTOR,
    ),
    ReportRow(
        "lockdep-inconsistent", "inconsistent lock state",
        r"(?:WARNING: |\[ INFO: )inconsistent lock state",
        _C.LOCKDEP, "inconsistent lock state", "WARNING: inconsistent lock state",
        tier=_T.DETECTOR,
    ),
    ReportRow(
        "lockdep-other", "WARNING: ",
        r"^\s*WARNING: (?P<what>bad unlock balance|held lock freed|lock held when returning to "
        r"user space|suspicious RCU usage|nested lock was not taken|held lock freed)",
        _C.LOCKDEP, "WARNING: {what}", "WARNING: bad unlock balance detected!",
        tier=_T.DETECTOR,
    ),
    # Old lockdep banners (`[ BUG: bad unlock balance detected! ]`, 2.6-4.x) and the checks
    # that print `BUG:` headers of their own: a lock or preempt count leaked by a work item,
    # a lock taken in the wrong wait context.
    ReportRow(
        "lockdep-old-bug", "BUG: ",
        r"\[ BUG: (?P<what>bad unlock balance|held lock freed|lock held when returning to user "
        r"space|Invalid wait context|bad contention detected|looking up invalid subclass|"
        r"MAX_LOCK_DEPTH too low)",
        _C.LOCKDEP, "lockdep: {what}", "[ BUG: Invalid wait context ]", tier=_T.DETECTOR,
    ),
    ReportRow(
        "workqueue-leak", "BUG: workqueue leaked lock or atomic",
        r"BUG: workqueue leaked lock or atomic", _C.LOCKDEP,
        "BUG: workqueue leaked lock or atomic",
        "BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/123", tier=_T.DETECTOR,
    ),
    ReportRow(
        "spinlock", "BUG: spinlock",
        r"BUG: spinlock (?P<what>[\w ]+?) on CPU#(?P<cpu>\d+)(?:, {COMM}/(?P<pid>\d+))?",
        _C.SPINLOCK, "BUG: spinlock {what}",
        "BUG: spinlock lockup suspected on CPU#3, kworker/3:1/214", tier=_T.DETECTOR,
    ),
    # --- watchdogs ------------------------------------------------------------------------------
    ReportRow(
        "soft-lockup", "BUG: soft lockup",
        r"BUG: soft lockup - CPU#(?P<cpu>\d+) stuck for \d+s! \[{COMM}:(?P<pid>\d+)\]",
        _C.SOFT_LOCKUP, "BUG: soft lockup",
        "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:214]",
        tier=_T.DETECTOR,
    ),
    # 2.6.18 (RHEL 5) wording.
    ReportRow(
        "soft-lockup-old", "BUG: soft lockup detected",
        r"BUG: soft lockup detected on CPU#(?P<cpu>\d+)",
        _C.SOFT_LOCKUP, "BUG: soft lockup", "BUG: soft lockup detected on CPU#1!",
        tier=_T.DETECTOR,
    ),
    ReportRow(
        "hard-lockup", "Watchdog detected hard LOCKUP",
        r"Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)",
        _C.HARD_LOCKUP, "BUG: hard lockup",
        "NMI watchdog: Watchdog detected hard LOCKUP on cpu 9", tier=_T.DETECTOR,
    ),
    # 2.6.18-2.6.37 x86 NMI watchdog (arch/x86/kernel/nmi.c `die_nmi`).
    ReportRow(
        "hard-lockup-old", "NMI Watchdog detected LOCKUP",
        r"NMI Watchdog detected LOCKUP on CPU (?P<cpu>\d+)", _C.HARD_LOCKUP, "BUG: hard lockup",
        "NMI Watchdog detected LOCKUP on CPU 3", tier=_T.DETECTOR,
    ),
    # powerpc's own watchdog (arch/powerpc/kernel/watchdog.c): `Watchdog CPU:59 Hard LOCKUP`
    # (4.13-5.x), then `watchdog: CPU 3 self-detected hard LOCKUP @ ...` and `watchdog: CPU 3
    # detected hard LOCKUP on other CPUs 8`.
    ReportRow(
        "hard-lockup-ppc", "Watchdog CPU:", r"Watchdog CPU:(?P<cpu>\d+) Hard LOCKUP",
        _C.HARD_LOCKUP, "BUG: hard lockup", "Watchdog CPU:59 Hard LOCKUP", tier=_T.DETECTOR,
    ),
    ReportRow(
        "hard-lockup-ppc-new", "CPU ",
        r"(?:^\s*|: )CPU (?P<cpu>\d+) (?:self-)?detected hard LOCKUP", _C.HARD_LOCKUP,
        "BUG: hard lockup", "watchdog: CPU 3 self-detected hard LOCKUP @ plpar_hcall+0x1c/0x30",
        tier=_T.DETECTOR,
    ),
    # 2.6.36 to 3.2 named the flavour after its state structure (`INFO: rcu_sched_state
    # detected stall on CPU 0 (t=15000 jiffies)`, kernel/rcutree.c `rsp->name`).
    ReportRow(
        "rcu-stall", "INFO: rcu_",
        r"INFO: rcu_(?:sched|preempt|bh)(?:_state)? (?:self-)?detected (?:expedited )?stalls?",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "rcu: INFO: rcu_preempt self-detected stall on CPU", tier=_T.DETECTOR,
    ),
    # `rcu_check_gp_kthread_starvation()` (kernel/rcu/tree_stall.h) is only ever printed inside
    # a stall warning: it identifies the stall when an excerpt starts below the `INFO:` line.
    ReportRow(
        "rcu-kthread-starved", "rcu_",
        r"^\s*(?:rcu: )?rcu_(?:sched|preempt|bh) kthread starved for \d+ jiffies",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "rcu: rcu_preempt kthread starved for 16758 jiffies! g-951 f0x2 RCU_GP_WAIT_FQS(5) "
        "->state=0x0 ->cpu=3",
        tier=_T.DETECTOR, specificity=1, guilty=False, needs_trace=False,
    ),
    # Other lines only an RCU stall warning prints (kernel/rcu/tree_stall.h), for excerpts that
    # start below its `INFO:` line: the stall summary `(detected by N, t=N jiffies, ...)`, the
    # per-CPU lines, the blocked-tasks line, the grace-period kthread's stack dump header, the
    # timer-wakeup and `All QSes seen` diagnostics. Specificity 1: the header names the report.
    ReportRow(
        "rcu-stall-summary", "(detected by", r"^\s*\(detected by \d+, t=\d+ jiffies",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "\t(detected by 2, t=21002 jiffies, g=8813, q=150)",
        tier=_T.DETECTOR, specificity=1, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "rcu-stall-detail", "rcu: ",
        r"^\s*rcu:\s+(?:\d+-\S+: \(.*\) idle=|Tasks blocked on level-|"
        r"RCU grace-period kthread stack dump|Stack dump where RCU GP kthread last ran|"
        r"rcu_(?:sched|preempt|bh) kthread timer wakeup didn't happen)",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "rcu: \t3-...!: (1 GPs behind) idle=4e2/0/0x1 softirq=1234/1235 fqs=0",
        tier=_T.DETECTOR, specificity=1, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "rcu-qs-seen", "All QSes seen", r"All QSes seen, last rcu_\w+ kthread activity",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "All QSes seen, last rcu_sched kthread activity 21003 (4295123456-4295102453), "
        "jiffies_till_next_fqs=3, root ->qsmask 0x0",
        tier=_T.DETECTOR, specificity=1, guilty=False, needs_trace=False,
    ),
    # Classic RCU of 2.6.2x-2.6.3x (kernel/rcuclassic.c, rcutree's first versions).
    ReportRow(
        "rcu-stall-classic", "INFO: RCU detected CPU",
        r"INFO: RCU detected CPU (?:\d+ stall|stalls?:)", _C.RCU_STALL,
        "INFO: rcu detected stall", "INFO: RCU detected CPU 2 stall (t=4295537000/2500 jiffies)",
        tier=_T.DETECTOR,
    ),
    ReportRow(
        "rcu-tasks-stall", "INFO: rcu_tasks", r"INFO: rcu_tasks(?:_\w+)? detected stalls",
        _C.RCU_STALL, "INFO: rcu detected stall",
        "INFO: rcu_tasks detected stalls on tasks:", tier=_T.DETECTOR,
    ),
    ReportRow(
        "hung-task", "INFO: task ",
        r"INFO: task {COMM}:(?P<pid>\d+) (?:blocked|can't die) for more than \d+ seconds",
        _C.HUNG_TASK, "INFO: task hung",
        "INFO: task jbd2/dm-0-8:612 blocked for more than 122 seconds.", tier=_T.DETECTOR,
    ),
    # The advice line only the hung-task detector prints (kernel/hung_task.c), right below its
    # header: it stands in for a header an excerpt lost. Specificity 1: with the header present
    # both lines form one report and the header names it.
    ReportRow(
        "hung-task-advice", "hung_task_timeout_secs",
        r"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"? disables this message",
        _C.HUNG_TASK, "INFO: task hung",
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        tier=_T.DETECTOR, specificity=1,
    ),
    ReportRow(
        "workqueue-lockup", "BUG: workqueue lockup", r"BUG: workqueue lockup",
        _C.HUNG_TASK, "BUG: workqueue lockup",
        "BUG: workqueue lockup - pool cpus=3 node=0 flags=0x0 nice=0 stuck for 43s!",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    # --- OOM: not a crash by itself; only the panic (or a dead end) makes it one ---------------
    ReportRow(
        "oom-no-killable", "Out of memory and no killable processes",
        r"^\s*Out of memory and no killable processes", _C.OOM,
        "kernel panic: Out of memory and no killable processes",
        "Out of memory and no killable processes...", tier=_T.DETECTOR, guilty=False,
        needs_trace=False,
    ),
    # --- machine checks and hardware -----------------------------------------------------------
    ReportRow(
        "mce", "Machine Check",
        r"(?:\[Hardware Error\]: )?CPU (?P<cpu>\d+): Machine Check(?: Exception)?:",
        _C.MACHINE_CHECK, "Machine Check Exception",
        "mce: [Hardware Error]: CPU 0: Machine Check Exception: 5 Bank 4: be00000000800400",
        guilty=False, needs_trace=False,
    ),
    ReportRow(
        "mce-logged", "Machine check events logged", r"Machine check events logged",
        _C.MACHINE_CHECK, "Machine check events logged",
        "mce: [Hardware Error]: Machine check events logged", tier=_T.NOTICE, guilty=False,
        needs_trace=False,
    ),
    ReportRow(
        "ghes-fatal", "[Hardware Error]", r"\[Hardware Error\]: event severity: fatal",
        _C.MACHINE_CHECK, "Hardware error (fatal)",
        "{1}[Hardware Error]: event severity: fatal", guilty=False, needs_trace=False,
        event=EventKind.HARDWARE_ERROR,
    ),
    # A firmware-first (APEI GHES) record that is not fatal: corrected or recoverable. Its
    # `section_type` says what failed (drivers/firmware/efi/cper.c): memory and processor
    # sections are machine-check material, PCIe sections a device error. Notices, like a
    # corrected machine check; a fatal record is `ghes-fatal` above.
    ReportRow(
        "ghes-memory", "[Hardware Error]",
        r"\[Hardware Error\]:\s+section_type: (?P<section>memory error|[\w ]*processor error)",
        _C.MACHINE_CHECK, "Hardware error: {section}",
        "{1}[Hardware Error]:  section_type: memory error", tier=_T.NOTICE, guilty=False,
        needs_trace=False, event=EventKind.HARDWARE_ERROR,
    ),
    ReportRow(
        "ghes-pcie", "[Hardware Error]", r"\[Hardware Error\]:\s+section_type: PCIe error",
        _C.DEVICE_ERROR, "Hardware error: PCIe error",
        "{0}[Hardware Error]:  section_type: PCIe error", tier=_T.NOTICE, guilty=False,
        needs_trace=False, event=EventKind.HARDWARE_ERROR,
    ),
    # mm/memory-failure.c (pr_fmt "Memory failure: "): a page the hardware reported as
    # poisoned (an uncorrected memory error the kernel contained by isolating the page).
    ReportRow(
        "memory-failure", "Memory failure: ", r"Memory failure: (?:0x)?[0-9a-f]+: ",
        _C.MACHINE_CHECK, "Memory failure: hardware poisoned page",
        "Memory failure: 0x2b1c83: recovery action for dirty LRU page: Recovered",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.HARDWARE_ERROR,
    ),
    # Uncorrectable device errors rank as fatal reports: a GPU that fell off the bus or a PCIe
    # link that failed explains the hung tasks and panics that follow it, even when the kernel
    # itself carried on. Recoverable ones (corrected AER, application-level Xids) are notices.
    ReportRow(
        "aer-fatal", "Uncorrect", r"AER: (?:Multiple )?Uncorrect(?:ed|able) \((?P<sev>Fatal)\)",
        _C.DEVICE_ERROR, "PCIe AER: Uncorrected (Fatal) error",
        "pcieport 0000:00:1c.0: AER: Uncorrected (Fatal) error received: 0000:02:00.0",
        guilty=False, needs_trace=False, event=EventKind.PCIE_AER,
    ),
    # Non-fatal uncorrectable errors are fatal to the device when the AER core cannot recover it
    # (drivers/pci/pcie/err.c: `device recovery failed`; 4.x aerdrv: `AER: Device recovery
    # failed`): the device is gone as surely as after a fatal error.
    ReportRow(
        "aer-recovery-failed", "AER: ", r"AER: [Dd]evice recovery failed",
        _C.DEVICE_ERROR, "PCIe AER: device recovery failed",
        "pcieport 0000:00:1c.0: AER: device recovery failed",
        guilty=False, needs_trace=False, event=EventKind.PCIE_AER,
    ),
    # The driver's wording varies by version: `GPU at PCI:... has fallen off the bus.`, `GPU
    # 0000:3b:00.0: GPU has fallen off the bus.`, and a three-line `The NVIDIA GPU ... / (PCI ID:
    # ...) installed in this system has / fallen off the bus and is not responding to commands.`
    # whose last line holds the words. Xid lines have their own rows below.
    ReportRow(
        "nvidia-off-bus", "NVRM: ", r"NVRM: (?!Xid)(?:.*\s)?fallen off the bus",
        _C.DEVICE_ERROR, "NVRM: GPU has fallen off the bus",
        "NVRM: GPU at PCI:0000:3b:00: GPU-5f3e0c1a-91b2-7d44-0a6e-2b9c8d7e6f50 has fallen off "
        "the bus.",
        guilty=False, needs_trace=False, event=EventKind.NVIDIA_XID,
    ),
    ReportRow(
        # Xids NVIDIA documents as hardware failures: uncorrectable ECC (48, 63/64 row remapping
        # failures, 92, 94, 95), GPU off the bus (79), NVLink (74), PMU/GSP halts (61, 62, 119,
        # 120).
        "nvidia-xid-fatal", "NVRM: Xid",
        r"NVRM: Xid \([^)]*\): (?P<xid>48|61|62|64|74|79|92|94|95|119|120)\b",
        _C.DEVICE_ERROR, "NVRM: Xid {xid}",
        "NVRM: Xid (PCI:0000:3b:00): 79, pid=2871, GPU has fallen off the bus.",
        guilty=False, needs_trace=False, event=EventKind.NVIDIA_XID,
    ),
    # Any other AER report (corrected, or uncorrected and recovered): the link or device is
    # failing but the kernel coped, so it is a notice, like a corrected machine check. The
    # severity comes from `aer_print_error()` (`PCIe Bus Error: severity=%s, type=%s, (%s)`).
    ReportRow(
        "aer-bus-error", "PCIe Bus Error", r"PCIe Bus Error: severity=(?P<sev>[A-Za-z() -]+?),",
        _C.DEVICE_ERROR, "PCIe Bus Error: severity={sev}",
        "pcieport 0000:00:1d.0: AER: PCIe Bus Error: severity=Corrected, type=Data Link Layer, "
        "(Transmitter ID)",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.PCIE_AER,
    ),
    ReportRow(
        "nvidia-xid", "NVRM: Xid", r"NVRM: Xid \([^)]*\): (?P<xid>\d+)",
        _C.DEVICE_ERROR, "NVRM: Xid {xid}",
        "NVRM: Xid (PCI:0000:01:00): 13, Graphics SM Warp Exception on (GPC 0, TPC 1, SM 0)",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.NVIDIA_XID,
    ),
    # --- boot stopped in the initramfs ----------------------------------------------------------
    # The root device never appeared: dracut (RHEL, Fedora, SUSE) and initramfs-tools (Debian,
    # Ubuntu) stop in an emergency shell instead of panicking, so these console lines are the
    # report. Detector tier: a kernel report earlier in the log (a driver oops) is the cause.
    ReportRow(
        "dracut-no-root", "dracut",
        r"dracut(?:-initqueue)?\[\d+\]: Warning: (?:Could not boot|/dev/\S+ does not exist)",
        _C.MOUNT_ROOT, "Boot failure: root device not found (dracut)",
        "dracut-initqueue[312]: Warning: /dev/mapper/rhel-root does not exist",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "initramfs-no-root", "Gave up waiting for root", r"Gave up waiting for root",
        _C.MOUNT_ROOT, "Boot failure: root device not found (initramfs)",
        "Gave up waiting for root file system device.  Common problems:",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "initramfs-alert", "ALERT!", r"ALERT!\s+\S+ does not exist\.\s+Dropping to a shell",
        _C.MOUNT_ROOT, "Boot failure: root device not found (initramfs)",
        "ALERT!  UUID=0e1c2d3f-1111-2222-3333-444455556666 does not exist.  Dropping to a shell!",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    # The kernel's own words before it panics on the root device (init/do_mounts.c), for logs
    # that end before the panic line.
    ReportRow(
        "vfs-no-root-device", "VFS: Cannot open root device",
        r"VFS: Cannot open root device", _C.MOUNT_ROOT, "Boot failure: cannot open root device",
        'VFS: Cannot open root device "sda1" or unknown-block(0,0): error -6',
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "vfs-no-root-fs", "No filesystem could mount root",
        r"No filesystem could mount root", _C.MOUNT_ROOT,
        "Boot failure: no filesystem could mount root",
        "No filesystem could mount root, tried:  ext3 ext2 ext4 vfat",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    # The initramfs could not mount the root device: mkinitcpio (Arch) and busybox-based ones.
    ReportRow(
        "mkinitcpio-no-root", "ERROR: Failed to mount the real root device",
        r"ERROR: Failed to mount the real root device", _C.MOUNT_ROOT,
        "Boot failure: root device not mounted (initramfs)",
        "ERROR: Failed to mount the real root device.",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    ReportRow(
        "initramfs-mount-root-failed", "mount: mounting",
        r"mount: mounting \S+ on /(?:root|new_root|sysroot) failed", _C.MOUNT_ROOT,
        "Boot failure: root device not mounted (initramfs)",
        "mount: mounting /dev/mmcblk0p2 on /root failed: No such device",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    # --- NMIs ------------------------------------------------------------------------------------
    ReportRow(
        "nmi-unknown", "Uhhuh. NMI received for unknown reason",
        r"NMI received for unknown reason [0-9a-f]+ on CPU (?P<cpu>\d+)",
        _C.NMI, "NMI received for unknown reason",
        "Uhhuh. NMI received for unknown reason 3d on CPU 0.", tier=_T.DETECTOR, guilty=False,
        needs_trace=False,
    ),
    ReportRow(
        "nmi-serr", "NMI: PCI system error", r"NMI: PCI system error \(SERR\)",
        _C.NMI, "NMI: PCI system error (SERR)",
        "NMI: PCI system error (SERR) for reason a1 on CPU 0.", tier=_T.DETECTOR,
        guilty=False, needs_trace=False,
    ),
    ReportRow(
        "nmi-iock", "NMI: IOCK error", r"NMI: IOCK error",
        _C.NMI, "NMI: IOCK error", "NMI: IOCK error (debug interrupt?) for reason 71 on CPU 0.",
        tier=_T.DETECTOR, guilty=False, needs_trace=False,
    ),
    # --- filesystems -----------------------------------------------------------------------------
    ReportRow(
        "ext4-error", "EXT",
        r"EXT[234]-fs error \(device (?P<dev>[^)]+)\)(?::| in:?) {FUNC}(?::\d+)?:",
        _C.FS_ERROR, "EXT4-fs error",
        "EXT4-fs error (device sda1): ext4_lookup:1700: inode #2: comm ls: deleted inode "
        "referenced: 12",
        tier=_T.NOTICE, needs_trace=False,
    ),
    ReportRow(
        "xfs-internal", "Internal error",
        r"XFS \((?P<dev>[^)]+)\): Internal error .* Caller {FRAME}",
        _C.FS_ERROR, "XFS internal error",
        "XFS (sdb1): Internal error XFS_WANT_CORRUPTED_GOTO at line 1662 of file "
        "fs/xfs/libxfs/xfs_alloc.c.  Caller xfs_free_ag_extent+0x3f6/0x870 [xfs]",
        tier=_T.NOTICE, needs_trace=False,
    ),
    ReportRow(
        "xfs-corruption", "XFS (",
        r"XFS \((?P<dev>[^)]+)\): (?:Corruption|Metadata corruption|Metadata CRC error)",
        _C.FS_ERROR, "XFS: metadata corruption",
        "XFS (dm-0): Corruption detected. Unmount and run xfs_repair", tier=_T.NOTICE,
        guilty=False, needs_trace=False,
    ),
    ReportRow(
        "xfs-assert", "XFS: Assertion failed", r"XFS: Assertion failed",
        _C.FS_ERROR, "XFS: Assertion failed",
        "XFS: Assertion failed: xfs_is_shutdown(mp), file: fs/xfs/xfs_trans.c, line: 962",
        specificity=3,
    ),
    ReportRow(
        "btrfs-error", "BTRFS",
        r"BTRFS(?:: error| error| critical) \(device (?P<dev>[^)]+)\)(?:: | in ){FUNC}?",
        _C.FS_ERROR, "BTRFS error",
        "BTRFS: error (device sda1) in btrfs_run_delayed_refs:2150: errno=-5 IO failure",
        tier=_T.NOTICE, guilty=False, needs_trace=False,
    ),
    # --- generic shapes: must stay last --------------------------------------------------------
    ReportRow(
        "arm64-oops", "Internal error: Oops", r"Internal error: Oops",
        _C.OOPS, "Oops", "Internal error: Oops: 96000005 [#1] PREEMPT SMP", specificity=1,
    ),
    # `Oops: <4 hex digits> [#n]` is what x86 (and s390, with ` ilc:N`) print when a kernel-mode
    # page fault cannot be fixed up (`page_fault_oops` / `no_context` call `__die("Oops")`): the
    # other traps die with their own name. The `BUG: unable to handle ...` line printed before it
    # names the report when it is there (specificity 3); when a pasted log lost it, the bare
    # header still says "bad memory access" (a NULL one when CR2 is in the first page, see
    # `parse.py`).
    ReportRow(
        "oops-page-fault", "Oops: ",
        r"^\s*Oops: (?:Oops: )?(?P<code>[0-9a-f]{4}) (?:ilc:\d )?\[#\d+\]",
        _C.PAGING_FAULT, "BUG: unable to handle kernel paging request",
        "Oops: 0002 [#1] SMP NOPTI", specificity=1,
    ),
    # 6.10+ prefixes every x86 trap's die line with `Oops: ` (`Oops: stack segment: 0000 [#1]`);
    # powerpc prints `Oops: Kernel access of bad area, sig: 11 [#1]`.
    ReportRow(
        "oops", "Oops: ", r"^\s*Oops: (?:[0-9a-f]{4}|.*\[#\d+\])",
        _C.OOPS, "Oops", "Oops: Kernel access of bad area, sig: 11 [#1]", specificity=1,
    ),
    ReportRow(
        "bug-generic", "BUG: ", r"BUG: (?P<what>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)*)",
        _C.BUG, "BUG: {what}", "BUG: Dentry 00000000c8b1f4a3{i=0,n=/} still in use",
        tier=_T.DETECTOR, specificity=1,
    ),
    ReportRow(
        "warning", "WARNING: ",
        r"^\s*WARNING: (?:CPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) )?at "
        r"(?P<file>\S+)(?:\s+{FRAME})?",
        _C.WARNING, "WARNING",
        "WARNING: CPU: 6 PID: 2210 at net/mac80211/sta_info.c:1400 "
        "__sta_info_destroy_part2+0x14a/0x150 [mac80211]",
        tier=_T.WARNING,
    ),
    ReportRow(
        "warning-new", "WARNING: ",
        r"^\s*WARNING: (?P<file>\S+:\d+) at {FRAME}, CPU#(?P<cpu>\d+): {COMM}/(?P<pid>\d+)",
        _C.WARNING, "WARNING", "WARNING: net/core/dev.c:3351 at skb_warn_bad_offload+0x8e/0xa0, "
        "CPU#1: swapper/1/0",
        tier=_T.WARNING,
    ),
)

PANIC_ROWS: tuple[PanicRow, ...] = (
    PanicRow(
        "panic-stack-protector",
        # `in: %pB` names the function (decoded by decode_stacktrace.sh in some reports); 32-bit
        # and older kernels print a bare address (`in: 802e62f8`), the trace then names it.
        r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in:\s*"
        r"(?:{FRAME})?",
        _C.STACK_PROTECTOR, "kernel panic: stack-protector: Kernel stack is corrupted",
        "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
        "tcp_sendmsg_locked+0xd8e/0xda0",
        guilty=True,
    ),
    PanicRow(
        "panic-stack-end", r"Kernel panic - not syncing: corrupted stack end detected",
        _C.STACK_OVERFLOW, "kernel panic: corrupted stack end detected inside scheduler",
        "Kernel panic - not syncing: corrupted stack end detected inside scheduler",
        causes=frozenset({_C.STACK_OVERFLOW}),
    ),
    PanicRow(
        "panic-stack-overflow", r"Kernel panic - not syncing: kernel stack overflow",
        _C.STACK_OVERFLOW, "kernel panic: kernel stack overflow",
        "Kernel panic - not syncing: kernel stack overflow",
        causes=frozenset({_C.STACK_OVERFLOW, _C.DOUBLE_FAULT}),
    ),
    PanicRow(
        "panic-on-warn", r"Kernel panic - not syncing: (?:kernel: )?panic_on_warn set",
        _C.WARNING, "kernel panic: panic_on_warn set",
        "Kernel panic - not syncing: kernel: panic_on_warn set ...",
        causes=frozenset({_C.WARNING, _C.LOCKDEP, _C.SLEEP_IN_ATOMIC}),
        specific=False, consequence=True,
    ),
    PanicRow(
        "panic-hung-task", r"Kernel panic - not syncing: hung_task: blocked tasks",
        _C.HUNG_TASK, "INFO: task hung", "Kernel panic - not syncing: hung_task: blocked tasks",
        causes=frozenset({_C.HUNG_TASK}), specific=False, consequence=True,
    ),
    PanicRow(
        "panic-soft-lockup", r"Kernel panic - not syncing: softlockup: hung tasks",
        _C.SOFT_LOCKUP, "BUG: soft lockup",
        "Kernel panic - not syncing: softlockup: hung tasks",
        causes=frozenset({_C.SOFT_LOCKUP}), specific=False, consequence=True,
    ),
    PanicRow(
        "panic-hard-lockup", r"Kernel panic - not syncing: (?:Hard LOCKUP|Watchdog detected hard)",
        _C.HARD_LOCKUP, "BUG: hard lockup", "Kernel panic - not syncing: Hard LOCKUP",
        causes=frozenset({_C.HARD_LOCKUP}), specific=False, consequence=True,
    ),
    PanicRow(
        "panic-rcu-stall", r"Kernel panic - not syncing: RCU Stall",
        _C.RCU_STALL, "INFO: rcu detected stall", "Kernel panic - not syncing: RCU Stall",
        causes=frozenset({_C.RCU_STALL}), specific=False, consequence=True,
    ),
    PanicRow(
        # `Out of mem` alone: consoles cut the panic line mid-word more often than not.
        "panic-oom", r"Kernel panic - not syncing: (?P<reason>Out of mem.*?)\s*$",
        _C.OOM, "kernel panic: {reason}",
        "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
        causes=frozenset({_C.OOM, _C.SYSRQ}), anchor=EventKind.OOM_KILL,
    ),
    PanicRow(
        "panic-oom-deadlocked", r"Kernel panic - not syncing: System is deadlocked on memory",
        _C.OOM, "kernel panic: System is deadlocked on memory",
        "Kernel panic - not syncing: System is deadlocked on memory",
        causes=frozenset({_C.OOM}), anchor=EventKind.OOM_KILL,
    ),
    PanicRow(
        "panic-mce",
        r"Kernel panic - not syncing: (?P<reason>(?:Fatal (?:local )?[Mm]achine check|Machine "
        r"check|Timeout: Not all CPUs entered broadcast exception handler|Fatal hardware error|"
        r"Uncorrected hardware memory error|Asynchronous SError Interrupt|MCE:).*?)\s*$",
        _C.MACHINE_CHECK, "kernel panic: {reason}",
        "Kernel panic - not syncing: Fatal machine check",
        causes=frozenset({_C.MACHINE_CHECK}),
    ),
    PanicRow(
        "panic-nmi",
        r"Kernel panic - not syncing: (?P<reason>(?:NMI(?: IOCK error)?: Not continuing|An NMI "
        r"occurred|NMI: Not continuing).*?)\s*$",
        _C.NMI, "kernel panic: {reason}", "Kernel panic - not syncing: NMI: Not continuing",
        causes=frozenset({_C.NMI}),
    ),
    PanicRow(
        "panic-sysrq", r"Kernel panic - not syncing: sysrq triggered crash",
        _C.SYSRQ, "kernel panic: sysrq triggered crash",
        "Kernel panic - not syncing: sysrq triggered crash", causes=frozenset({_C.SYSRQ}),
        guilty=True, frame_in_title=False,
    ),
    PanicRow(
        "panic-init",
        r"Kernel panic - not syncing: (?P<reason>Attempted to kill init!.*?)\s*$",
        _C.INIT_DIED, "kernel panic: {reason}",
        "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
        # An initramfs that could not mount the root device exits, killing init: the boot
        # failure is the cause, the init panic its consequence.
        causes=frozenset({_C.MOUNT_ROOT}),
    ),
    PanicRow(
        "panic-root",
        r"Kernel panic - not syncing: (?P<reason>VFS: Unable to mount root.*?)\s*$",
        _C.MOUNT_ROOT, "kernel panic: {reason}",
        "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
    ),
    PanicRow(
        "panic-no-init",
        r"Kernel panic - not syncing: (?P<reason>(?:No working init found|No init found|"
        r"Requested init \S+ failed).*?)\s*$",
        _C.NO_INIT, "kernel panic: {reason}",
        "Kernel panic - not syncing: No working init found.  Try passing init= option to "
        "kernel. See Linux Documentation/admin-guide/init.rst for guidance.",
    ),
    PanicRow(
        "panic-fs",
        r"Kernel panic - not syncing: (?P<reason>(?:EXT[234]-fs|XFS|BTRFS|F2FS|JBD2)\b.*?)\s*$",
        _C.FS_ERROR, "kernel panic: {reason}",
        "Kernel panic - not syncing: EXT4-fs (device sda1): panic forced after error",
        causes=frozenset({_C.FS_ERROR}),
    ),
    PanicRow(
        "panic-fatal-exception",
        r"Kernel panic - not syncing: (?P<reason>.*(?:Fatal exception|Aiee, killing interrupt "
        r"handler|Attempted to kill the idle task).*?)\s*$",
        _C.OOPS, "kernel panic: {reason}",
        "Kernel panic - not syncing: Fatal exception in interrupt",
        specific=False, consequence=True,
    ),
    PanicRow(
        "panic", r"Kernel panic - not syncing:\s*(?P<reason>.*?)\s*$",
        _C.PANIC, "kernel panic: {reason}", "Kernel panic - not syncing: Machine halted.",
        specific=False,
    ),
)

EVENT_ROWS: tuple[EventRow, ...] = (
    EventRow(
        "oom-invoked", "invoked oom-killer", None, EventKind.OOM_KILL,
        "chromium invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE), order=0",
    ),
    EventRow(
        "oom-killed", "Out of memory: Kill", None, EventKind.OOM_KILL,
        "Out of memory: Killed process 40211 (java) total-vm:31012345kB, anon-rss:2999808kB",
    ),
    EventRow(
        "memcg-oom", "Memory cgroup out of memory", None, EventKind.OOM_KILL,
        "Memory cgroup out of memory: Killed process 1234 (python3) total-vm:1234kB",
    ),
    # The other lines of mm/oom_kill.c that say a kill happened, for excerpts without the
    # `Out of memory:` line: the vm.oom_kill_allocating_task wording, the kill line of 2.6-4.x
    # kernels (printed on its own line below `Kill process ... or sacrifice child`), the 5.x
    # one-line summary, and the OOM reaper's report.
    EventRow(
        "oom-allocating-task", "Out of memory (oom_kill_allocating_task)", None,
        EventKind.OOM_KILL,
        "Out of memory (oom_kill_allocating_task): Kill process 1234 (java) score 0 or "
        "sacrifice child",
    ),
    EventRow(
        "oom-killed-process", "Killed process ", r"^\s*Killed process \d+ \(.*\).*total-vm",
        EventKind.OOM_KILL,
        "Killed process 1234 (java) total-vm:12345678kB, anon-rss:9876543kB, file-rss:0kB",
    ),
    EventRow(
        "oom-kill-summary", "oom-kill:constraint=", None, EventKind.OOM_KILL,
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
        "global_oom,task_memcg=/,task=java,pid=4567,uid=1000",
    ),
    EventRow(
        "oom-reaper", "oom_reaper: reaped process", None, EventKind.OOM_KILL,
        "oom_reaper: reaped process 4567 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    ),
    # An allocation the page allocator could not satisfy (`warn_alloc`): memory exhausted
    # (or too fragmented for the order asked), the OOM killer's territory.
    EventRow(
        "page-allocation-failure", "page allocation failure",
        r"page allocation failure: order:\d+", EventKind.OOM_KILL,
        "swapper/21: page allocation failure: order:0, mode:0x20",
    ),
    # A memory cgroup's OOM report (`mem_cgroup_print_oom_meminfo()`): its usage against its
    # limit and its statistics, printed only when the cgroup ran out.
    EventRow(
        "memcg-oom-usage", "memory: usage ",
        r"^\s*memory: usage \d+kB, limit \d+kB, failcnt \d+", EventKind.OOM_KILL,
        "memory: usage 4194304kB, limit 4194304kB, failcnt 2084326",
    ),
    EventRow(
        "memcg-oom-stats", "Memory cgroup stats for", None, EventKind.OOM_KILL,
        "Memory cgroup stats for /kubepods/burstable/pod84c5437e:",
    ),
    # The task table only the OOM killer's `dump_tasks()` prints (its columns changed over the
    # years: nr_ptes, pgtables_bytes). Not a kill: `_cut_oom_report` looks past it.
    EventRow(
        "oom-task-table", "pid ]", r"^\s*\[\s*pid\s*\]\s+uid\s+tgid\s+total_vm\s+rss",
        EventKind.OOM_KILL,
        "[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    ),
    EventRow("mce-line", "mce: ", r"\bmce: ", EventKind.MACHINE_CHECK,
             "mce: CPU2: Core temperature above threshold, cpu clock throttled"),
    EventRow(
        "hardware-error", "[Hardware Error]", None, EventKind.HARDWARE_ERROR,
        "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0",
    ),
    EventRow("edac", "EDAC", r"^\s*EDAC\b", EventKind.EDAC,
             "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0"),
    EventRow(
        "ext4-fs", "EXT", r"EXT[234]-fs \([^)]*\): (?:Remounting filesystem read-only|"
        r"panic forced|previous I/O error|error count|Delayed block allocation failed|"
        r"This should not happen|I/O error|error loading journal|group descriptors corrupted|"
        r"warning: mounting fs with errors|failed to convert unwritten|"
        r"ext4_check_descriptors:|.*[Cc]orrupt|.*checksum|.*[Ii]nconsisten)", EventKind.FS_ERROR,
        "EXT4-fs (sda1): Remounting filesystem read-only",
    ),
    EventRow(
        "xfs", "XFS", r"XFS \([^)]*\): (?:.*[Ss]hutting down|metadata I/O error|log I/O error|"
        r"Filesystem has been shut down|xfs_do_force_shutdown|.*failed|Please umount|"
        r"xfs_log_force: error|.*[Cc]orrupt|Internal error)|XFS: (?:Internal error|.*[Cc]orrupt)",
        EventKind.FS_ERROR,
        "XFS (dm-3): metadata I/O error in \"xfs_trans_read_buf_map\" at daddr 0x2 len 1 "
        "error 5",
    ),
    EventRow("btrfs-warning", "BTRFS warning", r"BTRFS warning .*(?:csum failed|corrupt)",
             EventKind.FS_ERROR, "BTRFS warning (device sda1): csum failed root 5 ino 257"),
    EventRow("jbd2", "JBD2: ", r"JBD2: .*(?:[Ee]rror|abort|[Ii]nvalid checksum|recovery failed)",
             EventKind.FS_ERROR, "JBD2: Detected IO errors while flushing file data on sda1-8"),
    EventRow("btrfs-readonly", "BTRFS", r"BTRFS.*(?:forced readonly|Transaction aborted)",
             EventKind.FS_ERROR, "BTRFS info (device sda1): forced readonly"),
    # ext3's `Remounting filesystem read-only` (2.6 kernels print it without a prefix).
    EventRow("remount-ro", "Remounting filesystem read-only", None, EventKind.FS_ERROR,
             "Remounting filesystem read-only"),
    # Errors of the other on-disk filesystems (each one's own error printk).
    EventRow("squashfs-error", "SQUASHFS error", None, EventKind.FS_ERROR,
             "SQUASHFS error: xz decompression failed, data probably corrupt"),
    EventRow("exfat-error", "exFAT-fs (", r"exFAT-fs \([^)]*\): (?:error|Filesystem has been "
             r"set read-only)", EventKind.FS_ERROR,
             "exFAT-fs (sdb1): error, invalid access to FAT (entry 0x00000000)"),
    EventRow("fat-error", "FAT-fs (", r"FAT-fs \([^)]*\): (?:error|Filesystem has been set "
             r"read-only)", EventKind.FS_ERROR,
             "FAT-fs (sdb1): error, fat_get_cluster: invalid cluster chain (i_pos 0)"),
    EventRow("f2fs-error", "F2FS-fs (", r"F2FS-fs \([^)]*\): .*(?:[Ee]rror|fsck|[Cc]orrupt|"
             r"[Mm]ismatch|[Ii]nconsistent|[Ii]nvalid|[Ww]rong)", EventKind.FS_ERROR,
             "F2FS-fs (mmcblk0p9): Need to run fsck: Ignore..."),
    EventRow("ubifs-error", "UBIFS error", None, EventKind.FS_ERROR,
             "UBIFS error (ubi0:0 pid 123): ubifs_read_node: bad node type (255 but expected 1)"),
    EventRow("gfs2-withdraw", "GFS2: fsid=", r"GFS2: fsid=\S+ (?:fatal:|.*withdr[ae]w)",
             EventKind.FS_ERROR, "GFS2: fsid=mycluster:gfs0.0: fatal: invalid metadata block"),
    EventRow("journal-abort", "Aborting journal", None, EventKind.FS_ERROR,
             "Aborting journal on device sda1-8."),
    # Before `io-error`: its needle sits mid-line, where only this row's needle lets the scan
    # find it.
    EventRow("buffer-io-error", "Buffer I/O error", None, EventKind.IO_ERROR,
             "Buffer I/O error on dev sda1, logical block 0, lost async page write"),
    EventRow("io-error", "I/O error", None, EventKind.IO_ERROR,
             "blk_update_request: I/O error, dev sda, sector 2048 op 0x0:(READ)"),
    EventRow("medium-error", "critical medium error", None, EventKind.IO_ERROR,
             "critical medium error, dev sdb, sector 123456 op 0x0:(READ) flags 0x0"),
    # Storage controllers and adapters that gave up: the NVMe controller gone from the bus
    # (CSTS all ones) or not coming back from a reset, the SCSI and ATA error handlers giving
    # up on a device, a SAS HBA resetting a device or target, a RAID controller locked up or
    # its firmware faulted, a NIC's hardware hung, a Mellanox adapter failing its health
    # checks. Events, not reports: a filesystem error or an oops in the same log is the report
    # (the project files an fs error on a failing disk under fs-error); with nothing else in
    # the log they stand in as a device failure (`EVENT_ONLY_ROWS`).
    EventRow("nvme-removed", "Removing after probe failure", None, EventKind.DEVICE_ERROR,
             "nvme nvme0: Removing after probe failure status: -19"),
    EventRow("nvme-reset-failed", "Device not ready; aborting reset", None,
             EventKind.DEVICE_ERROR, "nvme nvme0: Device not ready; aborting reset, CSTS=0x1"),
    EventRow("nvme-io-timeout", "I/O ", r"I/O \d+ (?:\(\S+\) )?QID \d+ timeout",
             EventKind.DEVICE_ERROR, "nvme nvme0: I/O 123 QID 4 timeout, aborting"),
    EventRow("nvme-controller-down", "controller is down; will reset", None,
             EventKind.DEVICE_ERROR,
             "nvme nvme0: controller is down; will reset: CSTS=0xffffffff, PCI_STATUS=0x10"),
    EventRow("scsi-device-offlined", "Device offlined", r"Device offlined - not ready after",
             EventKind.DEVICE_ERROR,
             "scsi 0:0:1:0: Device offlined - not ready after error recovery"),
    EventRow("scsi-offline-io", "rejecting I/O to offline device", None,
             EventKind.DEVICE_ERROR, "sd 0:0:1:0: rejecting I/O to offline device"),
    # ATA commands that timed out (the `res ... Emask 0x4 (timeout)` half of a failed command's
    # record) and ports the error handler froze: a disk or link that stopped answering. A
    # command the disk answered with an error (a bad sector) is neither.
    EventRow("ata-timeout", "res ", r"^\s*res [0-9a-f]{2}/\S+ Emask 0x[0-9a-f]+ \(timeout\)",
             EventKind.DEVICE_ERROR,
             "         res 40/00:00:00:00:00/00:00:00:00:00/00 Emask 0x4 (timeout)"),
    EventRow("ata-frozen", "exception Emask", r"exception Emask 0x[0-9a-f]+ .*\bfrozen",
             EventKind.DEVICE_ERROR,
             "ata2.00: exception Emask 0x0 SAct 0x1f SErr 0x0 action 0x6 frozen"),
    # The SCSI error handler escalating on a command that timed out: task abort, then device,
    # target, bus and host resets (the LSI/Broadcom mpt drivers print each attempt).
    EventRow("sas-reset", "attempting ",
             r"attempting (?:task abort|device reset|target reset|bus reset|host reset)",
             EventKind.DEVICE_ERROR,
             "mpt2sas3: attempting device reset! scmd(ffff8814605d2100)"),
    EventRow("raid-controller-lockup", "controller lockup detected", None,
             EventKind.DEVICE_ERROR,
             "hpsa 0000:03:00.0: controller lockup detected: 0x00130000 after 30"),
    EventRow("megaraid-fault", "FW in FAULT state", None, EventKind.DEVICE_ERROR,
             "megaraid_sas 0000:02:00.0: FW in FAULT state!!"),
    # Two rows with whole-phrase needles: a bare `Detected ` would make every boot log's
    # `tsc: Detected ... MHz processor` line a candidate.
    EventRow("nic-hardware-hang", "Detected Hardware Unit Hang", None, EventKind.DEVICE_ERROR,
             "e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:"),
    EventRow("nic-tx-hang", "Detected Tx Unit Hang", None, EventKind.DEVICE_ERROR,
             "ixgbe 0000:03:00.0 eth2: Detected Tx Unit Hang"),
    EventRow("mlx5-health", "device's health compromised", None, EventKind.DEVICE_ERROR,
             "mlx5_core 0000:5e:00.0: device's health compromised - reached miss count"),
    EventRow("sas-fault-state", "fault_state(", r"fault_state\(0x[0-9a-fA-F]+\)!",
             EventKind.DEVICE_ERROR, "mpt3sas_cm0: fault_state(0x5862)!"),
    EventRow("megasas-reset", "RESET cmd=", r"megasas: RESET cmd=", EventKind.DEVICE_ERROR,
             "sd 2:2:0:0: [sda] megasas: RESET cmd=28 retries=0"),
    EventRow("sas-diag-reset", "sending diag reset", None, EventKind.DEVICE_ERROR,
             "mpt3sas_cm0: sending diag reset !!"),
    EventRow("scsi-probe-failure", "failure at ", r"failure at drivers/scsi/",
             EventKind.DEVICE_ERROR,
             "mpt2sas_cm0: failure at drivers/scsi/mpt3sas/mpt3sas_scsih.c:8592/_scsih_probe()!"),
    # A GPU that stopped answering its driver (amdgpu's ring tests and timeouts, its resets).
    EventRow("gpu-ring-failure", "ring ", r"ring \S+ (?:test failed|timeout)",
             EventKind.DEVICE_ERROR,
             "[drm:gfx_v9_0_ring_test_ring [amdgpu]] *ERROR* amdgpu: ring 9 test failed"),
    EventRow("gpu-reset", "GPU reset", r"GPU reset(?: begin|\(\d+\) (?:failed|succeeded)|$)",
             EventKind.DEVICE_ERROR, "amdgpu 0005:03:00.0: GPU reset"),
    EventRow("aer", "AER:", None, EventKind.PCIE_AER,
             "pcieport 0000:00:01.0: AER: Corrected error received: 0000:01:00.0"),
    EventRow("nmi-dazed", "Dazed and confused", None, EventKind.NMI,
             "Dazed and confused, but trying to continue"),
    EventRow("warning-other", "WARNING:", r"^\s*WARNING:", EventKind.WARNING,
             "WARNING: The mand mount option has been deprecated"),
)

# Not a table row: an OOM-killer report whose outcome (a kill, or a panic) never made it into
# the log. The kernel always ends that report with one of the two, so a log that stops inside it
# was cut off while the machine was dying; `parse.py` reports it as a corrupted OOM crash.
OOM_CUT_ROW = ReportRow(
    "oom-report-cut", "invoked oom-killer", r"invoked oom-killer", _C.OOM,
    "Out of memory: OOM-killer report cut off",
    "systemd-udevd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0",
    tier=_T.DETECTOR, guilty=False, needs_trace=False,
)

# Not a scan row: the lone `CR2: <address>` line x86 prints after a page fault's register dump
# (`page_fault_oops()` / `no_context()`, just before `---[ end trace`); other traps print CR2
# only inside the `CR2: ... CR3: ... CR4:` register line. A log with no report header and no
# panic line but such a line is the tail of a page-fault oops whose header the excerpt lost;
# `parse.py` starts the report at the earliest register-dump or trace line above it and, like a
# bare `Oops:` header, calls an address in the first page a NULL pointer dereference.
HEADERLESS_FAULT_ROW = ReportRow(
    "headerless-page-fault", "CR2: ", r"^\s*CR2: (?P<addr>[0-9a-fA-F]{8,16})\s*$",
    _C.PAGING_FAULT, "BUG: unable to handle kernel paging request", "CR2: 000000000001e2cb",
)

# Not a scan row: `sched_show_task()` of a task in uninterruptible sleep (the 5.x+ `task:NAME
# state:D` line), which the hung-task detector prints below its header. A log with no report,
# no panic line and no header-less trace or event, but such a task, is a hung-task report whose
# header the excerpt lost; `parse.py` marks it corrupted. sysrq-w (`Show Blocked State`) prints
# the same lines on request, so a log that says so is not read this way.
BLOCKED_TASK_ROW = ReportRow(
    "blocked-task-state", "task:", r"^\s*task:\S.*?\sstate:D\s+stack:",
    _C.HUNG_TASK, "INFO: task hung",
    "task:kworker/u16:2   state:D stack:    0 pid: 1234 ppid:     2 flags:0x00004000",
    tier=_T.DETECTOR,
)

# Not scan rows either: when a log holds no crash report, no panic line and no cut OOM report,
# its most serious event stands in as the first failure. The machine died (or the capture was
# cut) before the kernel printed a report, and that event is the best evidence left; the report
# is marked corrupted so the diagnosis carries the doubt. `event` is the kind of event a row
# reads and `pattern` what the event's line must also say. Order matters: the first row with a
# matching event wins, ordered by how surely the event alone explains a dead machine (a fatal
# hardware error over OOM kills over filesystem errors). I/O errors, warnings and corrected
# hardware errors are left out: on their own they do not explain a crash.
EVENT_ONLY_ROWS: tuple[ReportRow, ...] = (
    ReportRow(
        "event-only-fatal-hardware-error", "[Hardware Error]",
        r"(?i)\b(?:fatal|uncorrect(?:ed|able))\b", _C.MACHINE_CHECK,
        "Hardware error: fatal error reported, no panic line",
        "{1}[Hardware Error]: event severity: fatal",
        tier=_T.FATAL, guilty=False, needs_trace=False, event=EventKind.HARDWARE_ERROR,
    ),
    ReportRow(
        "event-only-fatal-machine-check", "mce: ",
        r"(?i)\b(?:fatal|uncorrect(?:ed|able))\b", _C.MACHINE_CHECK,
        "Machine check: uncorrected error reported, no panic line",
        "mce: Uncorrected hardware memory error in user-access at 3f6b1e400",
        tier=_T.FATAL, guilty=False, needs_trace=False, event=EventKind.MACHINE_CHECK,
    ),
    # An uncorrected memory error reported by the memory controller's EDAC driver.
    ReportRow(
        "event-only-edac-uncorrected", "EDAC",
        r"\bUE\b|(?i:\buncorrect(?:ed|able)\b|\bfatal\b)", _C.MACHINE_CHECK,
        "EDAC: uncorrected memory error reported, no panic line",
        "EDAC MC1: 1 UE memory read error on CPU_SrcID#1_MC#0_Chan#0_DIMM#0 (channel:0 slot:0)",
        tier=_T.FATAL, guilty=False, needs_trace=False, event=EventKind.EDAC,
    ),
    ReportRow(
        "event-only-oom-kill", "out of memory",
        r"(?i)out of memory(?: \([^)]*\))?: kill|^\s*killed process \d+|oom-kill:|"
        r"oom_reaper: reaped|\[\s*pid\s*\]\s+uid\s+tgid|page allocation failure|"
        r"^\s*memory: usage|Memory cgroup stats for", _C.OOM,
        "Out of memory: processes killed by the OOM killer, no panic line",
        "Out of memory: Killed process 40211 (java) total-vm:31012345kB, anon-rss:2999808kB",
        tier=_T.DETECTOR, guilty=False, needs_trace=False, event=EventKind.OOM_KILL,
    ),
    ReportRow(
        "event-only-fs-error", "fs", r".", _C.FS_ERROR,
        "Filesystem error, no panic line",
        "EXT4-fs (sda1): Remounting filesystem read-only",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.FS_ERROR,
    ),
    ReportRow(
        "event-only-device-failure", "nvme", r".", _C.DEVICE_ERROR,
        "Device failure: controller or adapter gave up, no panic line",
        "nvme nvme0: Removing after probe failure status: -19",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.DEVICE_ERROR,
    ),
    # Corrected hardware errors last: a log that holds nothing else is a report of failing
    # hardware (a DIMM logging ECC errors, a CPU bank logging machine checks), which is what a
    # kernel engineer files it under, though on their own they did not stop the machine.
    ReportRow(
        "event-only-machine-check", "mce: ",
        r"\[Hardware Error\]|Machine [Cc]heck", _C.MACHINE_CHECK,
        "Machine check: hardware error logged, no panic line",
        "mce: [Hardware Error]: CPU 0: Machine Check: 0 Bank 5: be00000000800400",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.MACHINE_CHECK,
    ),
    ReportRow(
        "event-only-hardware-error", "[Hardware Error]", r".", _C.MACHINE_CHECK,
        "Hardware error: corrected error logged, no panic line",
        "[Hardware Error]: Corrected error, no action required.",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.HARDWARE_ERROR,
    ),
    ReportRow(
        "event-only-edac", "EDAC",
        r"\b(?:CE|UE)\b|ECC|(?i:error)", _C.MACHINE_CHECK,
        "EDAC: memory errors reported, no panic line",
        "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0)",
        tier=_T.NOTICE, guilty=False, needs_trace=False, event=EventKind.EDAC,
    ),
)

# Not table rows either: frames that only a detector's or a trap handler's own report prints
# reliably. A pasted excerpt often starts inside the report, below its header line; when a log
# holds no report header and no panic line at all, `parse.py` takes the first of these frames
# (by line) as the report's type and marks the report corrupted (header missing). A `?` frame is
# a stack guess: it counts only for functions that run just to report the problem (`guess`),
# since a stale address of one of them still means the report was printed; functions that also
# run when nothing is wrong (the watchdog timers, might_sleep's check) must be reliable frames,
# as old x86 kernels without frame pointers mark every frame `?`. One row per function, the
# function name as the needle; order does not matter (the earliest line wins).
TRACE_ROWS: tuple[ReportRow, ...] = tuple(
    ReportRow(
        f"trace-{func.strip('_')}", func, r"{AT}" + ("{GUESS}" if guess else "") + func + r"{OFF}",
        crash_type, title, f" [<ffffffff8112a4b5>] {func}+0x9c/0x130", tier=_T.DETECTOR,
        guilty=False, needs_trace=False,
    )
    for func, guess, crash_type, title in (
        # The perf NMI watchdog's callback (kernel/watchdog_perf.c), which calls the hard lockup
        # check (`watchdog_hardlockup_check` since 6.6), only dumps a stack for a hard lockup.
        ("watchdog_overflow_callback", False, _C.HARD_LOCKUP, "BUG: hard lockup"),
        ("watchdog_hardlockup_check", False, _C.HARD_LOCKUP, "BUG: hard lockup"),
        # The soft lockup hrtimer: a reliable frame only in softlockup_panic's own trace.
        ("watchdog_timer_fn", False, _C.SOFT_LOCKUP, "BUG: soft lockup"),
        ("rcu_dump_cpu_stacks", True, _C.RCU_STALL, "INFO: rcu detected stall"),
        ("print_cpu_stall", True, _C.RCU_STALL, "INFO: rcu detected stall"),
        ("__schedule_bug", True, _C.SCHEDULING_WHILE_ATOMIC, "BUG: scheduling while atomic"),
        ("___might_sleep", False, _C.SLEEP_IN_ATOMIC,
         "BUG: sleeping function called from invalid context"),
        ("__might_resched", False, _C.SLEEP_IN_ATOMIC,
         "BUG: sleeping function called from invalid context"),
        ("do_double_fault", True, _C.DOUBLE_FAULT, "double fault"),
        ("exc_double_fault", True, _C.DOUBLE_FAULT, "double fault"),
        ("df_debug", True, _C.DOUBLE_FAULT, "double fault"),
        ("__stack_chk_fail", True, _C.STACK_PROTECTOR,
         "kernel panic: stack-protector: Kernel stack is corrupted"),
        ("sysrq_handle_crash", True, _C.SYSRQ, "kernel panic: sysrq triggered crash"),
        ("kasan_report", True, _C.KASAN, "KASAN: invalid access"),
        ("kfence_report_error", True, _C.KFENCE, "KFENCE: invalid access"),
        # 6.6+ checks list operations inline and calls these only when a check fails.
        ("__list_add_valid_or_report", False, _C.LIST_CORRUPTION, "list corruption"),
        ("__list_del_entry_valid_or_report", False, _C.LIST_CORRUPTION, "list corruption"),
        # The reporting functions of other detectors (each runs only to print its report).
        ("bad_page", True, _C.BAD_PAGE_STATE, "BUG: Bad page state"),
        ("slab_err", True, _C.SLAB_CORRUPTION, "BUG: slab corruption"),
        ("object_err", True, _C.SLAB_CORRUPTION, "BUG: slab corruption"),
        ("usercopy_abort", True, _C.USERCOPY, "usercopy: kernel memory exposure or overwrite"),
        ("print_circular_bug", True, _C.LOCKDEP, "possible circular locking dependency"),
        ("print_deadlock_bug", True, _C.LOCKDEP, "possible recursive locking detected"),
        ("spin_dump", True, _C.SPINLOCK, "BUG: spinlock"),
        ("check_hung_uninterruptible_tasks", False, _C.HUNG_TASK, "INFO: task hung"),
        ("rcu_check_gp_kthread_starvation", True, _C.RCU_STALL, "INFO: rcu detected stall"),
        ("handle_stack_overflow", True, _C.STACK_OVERFLOW, "kernel stack overflow"),
        # WARN(): `__warn` prints the report; the slowpath helpers called it before 4.x.
        ("__warn", True, _C.WARNING, "WARNING"),
        ("warn_slowpath_common", True, _C.WARNING, "WARNING"),
        ("warn_slowpath_fmt", True, _C.WARNING, "WARNING"),
        ("warn_slowpath_null", True, _C.WARNING, "WARNING"),
        # Trap handlers, as the panic's own trace shows them below `oops_end`. Since 6.2 x86
        # marks the frames above an exception's pt_regs `?`, so a guess counts for these too.
        ("do_machine_check", True, _C.MACHINE_CHECK, "Machine Check Exception"),
        ("exc_machine_check", True, _C.MACHINE_CHECK, "Machine Check Exception"),
        ("mce_panic", True, _C.MACHINE_CHECK, "Machine Check Exception"),
        ("do_divide_error", True, _C.DIVIDE_ERROR, "divide error"),
        ("exc_divide_error", True, _C.DIVIDE_ERROR, "divide error"),
        ("unknown_nmi_error", True, _C.NMI, "NMI received for unknown reason"),
        ("io_check_error", True, _C.NMI, "NMI: IOCK error"),
        ("pci_serr_error", True, _C.NMI, "NMI: PCI system error (SERR)"),
        ("do_general_protection", True, _C.GPF, "general protection fault"),
        ("exc_general_protection", True, _C.GPF, "general protection fault"),
        ("page_fault_oops", True, _C.PAGING_FAULT, "BUG: unable to handle kernel paging request"),
        ("no_context", True, _C.PAGING_FAULT, "BUG: unable to handle kernel paging request"),
    )
)

# Lines the parser needs to locate besides report, panic and event rows: they bound call
# traces (so that two header lines with a trace between them are not merged into one report)
# and give the kernel release and hardware when no `CPU:` / `Hardware name:` line does.
MARKERS: dict[str, str] = {
    "Call Trace:": "trace",
    "Call trace:": "trace",
    "---[ end trace": "end",
    "Linux version ": "version",
    "DMI: ": "dmi",
}

# Frames that are never the guilty one: the machinery that reports, traps, schedules, locks,
# allocates and dispatches rather than the code with the bug. Matched against the symbol with
# compiler suffixes (`.cold`, `.isra.0`, `.constprop.0`, ...) removed. Order does not matter
# here; what matters is that the parser walks frames from the faulting IP outwards.
NEVER_GUILTY: tuple[str, ...] = (
    # printing and dumping
    r"dump_stack(?:_lvl)?", r"__dump_stack", r"show_stack", r"show_regs", r"dump_backtrace",
    r"unwind_backtrace", r"c_backtrace",
    r"show_trace_log_lvl", r"show_stack_log_lvl", r"print_trace_address", r"_?printk",
    r"vprintk.*", r"dump_header",
    # panic, warn, bug and trap handling (x86 and arm64)
    r"panic", r"nmi_panic", r"__warn", r"__warn_printk", r"warn_slowpath.*", r"report_bug",
    r"handle_bug", r"do_trap", r"do_error_trap", r"do_invalid_op", r"do_divide_error",
    r"do_general_protection", r"do_double_fault", r"do_int3", r"exc_.*", r"asm_exc_.*",
    r"invalid_op", r"divide_error", r"general_protection", r"page_fault", r"async_page_fault",
    r"do_page_fault", r"__do_page_fault", r"do_user_addr_fault", r"do_kern_addr_fault",
    r"handle_page_fault", r"kernelmode_fixup_or_oops", r"page_fault_oops", r"no_context",
    r"__bad_area.*", r"bad_area.*", r"spurious_kernel_fault", r"oops_begin", r"oops_end",
    r"__die", r"__die_body", r"die", r"die_kernel_fault", r"do_mem_abort",
    r"do_translation_fault", r"do_bad_area", r"__do_kernel_fault", r"do_alignment_fault",
    r"el1_abort", r"el1_da", r"el1_undef", r"el1_inv", r"el1_dbg", r"el1_sync.*",
    r"el1h_64_sync.*", r"bug_handler", r"bug_brk_handler", r"brk_handler", r"call_break_hook",
    r"do_debug_exception", r"arm64_notify_die", r"do_undefinstr", r"do_el1_undef",
    r"__stack_chk_fail", r"check_panic_on_warn", r"usercopy_abort",
    # sanitizers and debug checks
    r"kasan_.*", r"__kasan_.*", r"__asan_.*", r"asan_.*", r"check_memory_region.*",
    r"print_address_description.*", r"print_report", r"kfence_.*", r"__kfence_.*",
    r"kmsan_.*", r"__msan_.*", r"ubsan_.*", r"__ubsan_.*", r"kcsan_.*", r"__tsan_.*",
    r"__list_add_valid.*", r"__list_del_entry_valid.*", r"__list_del_entry", r"list_del",
    r"list_del_init", r"__list_add", r"list_add", r"list_add_tail", r"__list_del",
    r"__check_heap_object", r"check_heap_object", r"__check_object_size", r"check_object_size",
    r"bad_page", r"free_pages_check_bad", r"check_new_page_bad", r"free_page_is_bad.*",
    r"__might_sleep", r"___might_sleep", r"__might_resched", r"__might_fault", r"might_fault",
    r"__cant_sleep", r"__schedule_bug", r"schedule_debug",
    # lockdep
    r"lockdep_.*", r"__lock_acquire", r"lock_acquire", r"lock_release", r"__lock_release",
    r"lock_acquired", r"lock_contended", r"print_circular_bug.*", r"print_deadlock_bug",
    r"check_noncircular", r"check_prev_add", r"check_prevs_add", r"check_deadlock",
    r"validate_chain", r"mark_lock.*", r"print_usage_bug", r"valid_state", r"mark_usage",
    r"print_lock.*", r"debug_check_no_locks_freed", r"lock_is_held_type",
    # lock primitives: in a lockup the spinning is the symptom, the caller holds the story
    r"_raw_spin_.*", r"_raw_read_.*", r"_raw_write_.*", r"__raw_spin_.*", r"do_raw_spin_.*",
    r"spin_dump", r"spin_bug", r"queued_spin_lock_slowpath", r"native_queued_spin_lock_slowpath",
    r"__pv_queued_spin_lock_slowpath", r"pv_queued_spin_lock_slowpath",
    r"queued_read_lock_slowpath", r"queued_write_lock_slowpath", r"__mutex_lock.*",
    r"mutex_lock.*", r"mutex_unlock", r"__mutex_unlock_slowpath", r"rwsem_down_.*",
    r"down_read.*", r"down_write.*", r"__down.*", r"down", r"down_timeout", r"up_read",
    r"up_write", r"__rwsem_.*", r"rt_mutex_.*", r"__rt_mutex_.*", r"percpu_down_.*",
    # scheduling and waiting
    r"schedule", r"__schedule", r"schedule_timeout.*", r"schedule_preempt_disabled",
    r"schedule_hrtimeout.*", r"io_schedule.*", r"__wait_on_bit.*", r"out_of_line_wait_on_bit.*",
    r"bit_wait.*", r"wait_for_completion.*", r"__wait_for_common", r"wait_for_common.*",
    r"do_wait_for_common", r"wait_on_page_bit.*", r"folio_wait_bit.*", r"preempt_schedule.*",
    r"freezable_schedule.*", r"__wait_on_buffer", r"wait_on_buffer", r"__lock_buffer",
    r"lock_buffer", r"__lock_page.*", r"lock_page.*", r"__folio_lock.*", r"folio_lock.*",
    r"wait_woken", r"__wait_event.*", r"prepare_to_wait.*", r"msleep.*", r"usleep_range.*",
    r"ssleep",
    # interrupts, timers, watchdogs
    r"watchdog_timer_fn", r"watchdog_overflow_callback", r"__perf_event_overflow",
    r"perf_event_overflow", r"handle_pmi_common", r"intel_pmu_handle_irq", r"amd_pmu_.*",
    r"perf_event_nmi_handler", r"nmi_handle", r"default_do_nmi", r"do_nmi", r"end_repeat_nmi",
    r"__hrtimer_run_queues", r"hrtimer_interrupt", r"__sysvec_.*", r"sysvec_.*",
    r"asm_sysvec_.*", r"apic_timer_interrupt", r"smp_apic_timer_interrupt",
    r"local_apic_timer_interrupt", r"irq_exit.*", r"__irq_exit_rcu", r"do_softirq.*",
    r"__do_softirq", r"handle_softirqs", r"common_interrupt", r"asm_common_interrupt",
    r"do_IRQ", r"ret_from_intr", r"tick_sched_handle", r"tick_sched_timer",
    r"tick_nohz_handler", r"tick_nohz_highres_handler", r"update_process_times",
    r"scheduler_tick", r"sched_tick", r"nmi_cpu_backtrace.*", r"nmi_trigger_cpumask_backtrace",
    r"arch_trigger_cpumask_backtrace", r"trigger_.*_backtrace", r"gic_handle_irq",
    r"el1_interrupt", r"el1h_64_irq.*", r"el1_irq", r"call_on_irq_stack",
    r"do_interrupt_handler", r"handle_domain_irq", r"generic_handle_.*",
    # RCU internals
    r"rcu_dump_cpu_stacks", r"print_cpu_stall.*", r"print_other_cpu_stall.*",
    r"check_cpu_stall.*", r"rcu_pending", r"rcu_sched_clock_irq", r"rcu_check_callbacks",
    r"rcu_core", r"rcu_core_si", r"rcu_do_batch", r"rcu_process_callbacks",
    # task entry and kernel threads
    r"ret_from_fork.*", r"kthread", r"worker_thread", r"process_one_work",
    r"process_scheduled_works", r"smpboot_thread_fn", r"entry_SYSCALL_64.*", r"do_syscall_64",
    r"do_syscall_x64", r"x64_sys_call", r"el0_svc.*", r"el0t_64_sync.*", r"invoke_syscall",
    r"do_el0_svc", r"ret_to_user", r"system_call_fastpath",
    # allocators: the caller of kmalloc/kfree is where the bug is
    r"kfree", r"kmem_cache_free", r"__slab_free", r"slab_free.*", r"do_slab_free",
    r"free_debug_processing", r"check_bytes_and_report", r"check_object", r"object_err",
    r"slab_err", r"print_trailer", r"on_freelist", r"__kmalloc.*", r"kmalloc.*",
    r"kmem_cache_alloc.*", r"__kmem_cache_alloc.*", r"slab_alloc.*", r"___slab_alloc",
    r"__slab_alloc.*", r"kzalloc", r"krealloc", r"kvfree", r"kvmalloc.*",
    r"_copy_to_user", r"_copy_from_user", r"copy_to_user", r"copy_from_user",
    r"copy_user_.*", r"rep_movs_alternative", r"__arch_copy_(?:from|to)_user",
    r"raw_copy_(?:from|to)_user", r"__copy_(?:from|to)_user.*", r"copy_(?:from|to)_user_nofault",
)

# fmt: on

NEVER_GUILTY_RE: re.Pattern[str] = re.compile("(?:" + "|".join(NEVER_GUILTY) + r")\Z")

# Frames that end a complete call trace: a trace whose last frame is one of these was not cut
# off even if the log ends right after it.
ROOT_FRAMES_RE: re.Pattern[str] = re.compile(
    r"(?:ret_from_fork.*|entry_SYSCALL.*|kthread|start_kernel|secondary_startup.*|"
    r"start_secondary|cpu_startup_entry|rest_init|x86_64_start_.*|el0t_64_.*|ret_to_user|"
    r"el0_svc.*|__primary_switched|secondary_start_kernel|system_call_fastpath|"
    r"common_startup_64|kernel_init)\Z"
)

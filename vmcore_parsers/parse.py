"""The oops parser: a pure function from kernel log text to a `PanicReport`.

`parse_log(text)` normalises the text (`vmcore_parsers.logformat`) and calls
`parse_lines(lines)`, which does the work in four steps:

1. **Scan once.** Two trie-shaped regexes over the joined text (one at line heads, one after
   `: `) find the few lines that hold a needle of the tables in `oops_table` (report headers,
   panic lines, events, trace markers); only those lines are classified, each by the first
   matching row.
2. **Cluster.** Header lines printed together (`list_del corruption`, `kernel BUG at ...`,
   `invalid opcode`; `BUG: kernel NULL pointer dereference` ... `Oops: 0002 [#1]`) become one
   report, named by its strongest, then most specific row. A call trace between two headers,
   or more than two seconds, separates them.
3. **Choose the first failure** (the cause, not the last symptom); see `_RANK_*` below.
4. **Read the report**: RIP/pc, call trace, `CPU:`/`Tainted:` line, hardware, modules,
   fault address, guilty frame; decide whether the log is corrupted.

Nothing here does I/O or raises on bad text: damaged logs give a report with `corrupted` set.
"""

from __future__ import annotations

import bisect
import operator
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar

from ahocorasick_rs import AhoCorasick

from vmcore_parsers.logformat import normalize, unwrap_columns
from vmcore_parsers.oops_table import (
    BLOCKED_TASK_ROW,
    EVENT_ONLY_ROWS,
    EVENT_ROWS,
    HEADERLESS_FAULT_ROW,
    MARKERS,
    NEVER_GUILTY_RE,
    OOM_CUT_ROW,
    PANIC_ROWS,
    REPORT_ROWS,
    ROOT_FRAMES_RE,
    TRACE_ROWS,
    EventRow,
    PanicRow,
    ReportRow,
    Tier,
)
from vmcore_parsers.report import CrashType, Event, EventKind, Frame, LogLine, PanicReport
from vmcore_parsers.signature import crash_signature
from vmcore_parsers.taint import taint_letters

# --- first-failure ranking ---------------------------------------------------------------------
# Lower wins; ties go to the earliest line. Only reports printed before the (first) panic line
# compete, because whatever comes after the panic cannot have caused it.
#   0  a fatal report: oops, BUG, sanitizer or corruption report, fatal hardware report, manual
#      crash trigger. An oops explains the hung tasks, lockups and panics that follow it.
#   1  a detector report that the panic line names as its reason (hung task before
#      `hung_task: blocked tasks`, soft lockup before `softlockup: hung tasks`, warning before
#      `panic_on_warn set`, OOM dead end before `System is deadlocked on memory`).
#   2  the panic line itself when it names its own reason (OOM, init died, root fs, MCE).
#   3  other detector reports (lockups, stalls, hung tasks, atomic-context bugs, lockdep).
#   4  notices: filesystem errors, recoverable device errors, corrected machine checks
#      (uncorrectable device errors are fatal reports, rank 0: see `oops_table`).
#   5  a panic line that names no report (`Fatal exception` whose oops is missing, or a bare
#      `Kernel panic - not syncing: <driver message>`).
#   6  warnings: harmless unless they lead to the panic or nothing else went wrong.
# With none of these, an OOM-killer report that the log cuts off before its kill or panic is
# reported as a corrupted OOM crash (`OOM_CUT_ROW`); then an excerpt cut below its report header
# is typed by a detector-only frame (`TRACE_ROWS`); then the most serious event (a fatal
# hardware error, OOM kills, filesystem errors: `EVENT_ONLY_ROWS`) stands in for the missing
# report. Anything else gives None.
_RANK_FATAL = 0
_RANK_CONFIRMED = 1
_RANK_SPECIFIC_PANIC = 2
_RANK_BY_TIER = {Tier.FATAL: 0, Tier.DETECTOR: 3, Tier.NOTICE: 4, Tier.WARNING: 6}
_RANK_GENERIC_PANIC = 5

# Header lines closer than this (with no call trace between) belong to one report: arm64
# prints ~12 lines of abort decoding between `Unable to handle ...` and `Internal error: Oops`.
_MERGE_WINDOW = 16
_MERGE_SECONDS = 2.0
# A bare x86 `Oops: 0002 [#1]` page-fault header (see `oops_table`) whose fault address (CR2) lies
# in the first page is a NULL pointer dereference.
_BARE_PAGE_FAULT_ROW = "oops-page-fault"
_NULL_DEREF_TITLE = "BUG: kernel NULL pointer dereference"
# The same holds for a header-less page fault: the lone CR2 line, or the fault handler's frame.
_TRACE_FAULT_ROWS = frozenset({"trace-page_fault_oops", "trace-no_context"})
# And so do the fault headers of architectures that print the address without saying NULL:
# powerpc before 5.x, MIPS.
_FAULT_ROWS_NAMED_BY_CR2 = frozenset(
    {
        _BARE_PAGE_FAULT_ROW,
        HEADERLESS_FAULT_ROW.name,
        "ppc-paging-request-old",
        "mips-paging-request",
        *_TRACE_FAULT_ROWS,
    }
)
_FIRST_PAGE = 0x1000
# How far from the first failure the report's own lines (CPU:, RIP:, Call Trace:) are looked for.
_CONTEXT_LINES = 400
# How many lines after a header may hold its follow-up line (KASAN's `Read of size ...`).
_FOLLOW_LINES = 4
# Unrecognised lines tolerated inside a call trace before it is considered finished (console
# interleaving without caller ids can drop a foreign line into a trace).
_TRACE_NOISE = 2
_TRACE_MAX = 300
_HEADERLESS_TRACE_LINES = 4
# How many further traces to try when the first one has no usable frame.
_LATER_TRACES = 3


def _trie_regex(words: list[str]) -> str:
    """One regex matching any of `words`, shaped as a trie so that the regex engine does not try
    every word at every position (the prefilter runs over the whole log)."""
    trie: dict[str, dict[str, object]] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}

    def build(node: dict[str, dict[str, object]]) -> str:
        alternatives = [
            re.escape(char) + build(child)  # type: ignore[arg-type]
            for char, child in sorted(node.items())
            if char
        ]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_NEEDLES: list[str] = sorted(
    {row.needle for row in REPORT_ROWS}
    | {row.needle for row in PANIC_ROWS}
    | {row.needle for row in EVENT_ROWS}
    | set(MARKERS)
)
# Finding candidate lines fast. Python's `re` tries every alternative at every position of an
# alternation (about 20 us per KB for the ~80 needles), so the scan only looks where a kernel
# message can start; a pattern that begins with a literal (`\n`, `: `) lets `re` skip to the
# next occurrence of it in C (about 2 us per KB for both passes):
#   1. at the head of a line (after blanks, a `{1}` GHES record number or `[ ` of old lockdep);
#   2. after `: ` (or `: "`), for messages printed behind a prefix (`watchdog: BUG: soft lockup`,
#      `rcu: INFO: rcu_preempt ...`, `pcieport 0000:00:1c.0: AER: ...`, `sysrq: Trigger ...`);
#   3. plain `str.find` for needles that follow a task name (`X invoked oom-killer`).
# Every row's needle must therefore sit at one of those places in the line; the lookahead
# yields the longest needle there and _CLOSURE adds the shorter needles inside it.
# `test_oops_table` checks that each row's example line is found this way.
_NEEDLE_TRIE = _trie_regex(_NEEDLES)
# No needle starts with a blank, `{`, `[ ` or `"`, so the prefixes before it are matched
# possessively, and a needle's first character is checked before the trie is tried.
assert not any(n[0] in ' \t{"' or n.startswith("[ ") for n in _NEEDLES)
_FIRST = "(?=[" + re.escape("".join(sorted({n[0] for n in _NEEDLES}))) + "])"
_HEAD = re.compile(r"\n[ \t]*+(?:\{\d+\}|\[ )?+" + _FIRST + "(?=(" + _NEEDLE_TRIE + "))")
# (`: "` too: the crash(8) utility's `sys` output quotes the panic message, `PANIC: "BUG: ..."`.)
_COLON = re.compile(r": \"?+" + _FIRST + "(?=(" + _NEEDLE_TRIE + "))")
_FIND_KEYS: tuple[str, ...] = ("invoked oom-killer", "hung_task_timeout_secs")
_CLOSURE: dict[str, frozenset[str]] = {
    needle: frozenset(other for other in _NEEDLES if other in needle) for needle in _NEEDLES
}


@dataclass(frozen=True, slots=True)
class _Plan:
    """The rows worth trying on a line, given the needles it contains (in table order)."""

    panics: tuple[PanicRow, ...]
    reports: tuple[ReportRow, ...]
    events: tuple[EventRow, ...]
    markers: tuple[str, ...]


@lru_cache(maxsize=1024)
def _plan(needles: frozenset[str]) -> _Plan:
    return _Plan(
        tuple(r for r in PANIC_ROWS if r.needle in needles),
        tuple(r for r in REPORT_ROWS if r.needle in needles),
        tuple(r for r in EVENT_ROWS if r.needle in needles),
        tuple(MARKERS[n] for n in needles if n in MARKERS),
    )


_NEEDLE_PLANS: dict[str, _Plan] = {needle: _plan(_CLOSURE[needle]) for needle in _NEEDLES}


# --- the report's own lines -----------------------------------------------------------------
_FRAME_BODY = r"(?P<func>[A-Za-z_.$][\w.$]*)\+(?P<off>0x[0-9a-fA-F]+)/(?P<size>0x[0-9a-fA-F]+)"
_MODULE = r"(?:\s+\[(?P<mod>[\w-]+)[^\]]*\])?"
_FRAME_LINE = re.compile(r"\s*(?:\[<[0-9a-fA-F]+>\]\s*)?(?P<q>\?\s*)?" + _FRAME_BODY + _MODULE)
_OFFSETS = r"(?:\+(?P<off>0x[0-9a-fA-F]+)/(?P<size>0x[0-9a-fA-F]+))?"
# A frame rewritten by scripts/decode_stacktrace.sh: `func (fs/ext4/inode.c:123 ...) [mod]`, the
# offsets replaced by source lines and the module name printed after them (bracketed or not).
_DECODED_FRAME_LINE = re.compile(
    r"\s*(?P<q>\?\s*)?(?P<func>[A-Za-z_.$][\w.$]*)" + _OFFSETS + r"\s\((?:[^()\s]+:\d+\s?)+\)"
    r"(?:\s+\[?(?P<mod>[\w-]+)\]?)?\s*$"
)
# 32-bit ARM prints one call per line: `[<c0107f1c>] (func+0x1c/0x40 [mod]) from [<c0108a2c>]
# (caller+0x10/0x14)`; since 4.x the first function has no offset (the previous line's `from`
# part gives it). The first function is the frame.
_ARM_FRAME_LINE = re.compile(
    r"\s*\[<[0-9a-fA-F]+>\]\s*\((?P<func>[A-Za-z_.$][\w.$]*)"
    + _OFFSETS
    + r"(?:\s+\[(?P<mod>[\w-]+)\])?\)\s+from\s+\[<"
)
# How far after the header a 32-bit ARM trace (which has no `Call Trace:` line) is looked for.
_ARM_TRACE_LINES = 80
# The crash(8) utility's `bt`: `[exception RIP: generic_rx_handler+67]` (decimal offset).
_CRASH_RIP_LINE = re.compile(
    r"\s*\[exception RIP: (?P<func>[A-Za-z_.$][\w.$]*)(?:\+(?P<off>\d+))?\]"
)
_IP_LINE = re.compile(
    r"\s*(?:(?:RIP|EIP|IP)(?::\s*|\s+)(?:[0-9a-f]{4}:)?(?:\[<[0-9a-fA-F]+>\]\s*)*"
    r"|pc\s*:\s*(?:\[<[0-9a-fA-F]+>\]\s*)?|PC is at\s+)"
    r"(?:" + _FRAME_BODY + _MODULE + ")?"
)
_REGISTER_LINE = re.compile(
    r"\s*(?:(?:R[A-Z0-9]{1,2}|E[A-Z]{2}|[CDEFGS]S|CR\d|DR\d|ORIG_RAX|EFLAGS|[xr]\d{1,2}|sp|lr|"
    r"pstate|fp)\s*:|RSP\s+<|Stack:|Code:\s)"
)
_CPU_LINE = re.compile(
    r"\bCPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.+?)"
    r"(?: Kdump: loaded)? (?:Not tainted|Tainted:)"
)
_OLD_PID_LINE = re.compile(r"^\s*Pid: (?P<pid>\d+), comm: (?P<comm>\S+)")
_TAINT_LINE = re.compile(
    r"(?:Not tainted|Tainted: (?P<taint>[A-Z ]*?))\s+(?:-+\s+)*(?P<rel>\d+\.\d+[^\s]*)"
)
_LINUX_VERSION = re.compile(r"Linux version (?P<rel>\d+\.\d+\S*)")
_CR2_LINE = re.compile(r"^\s*CR2: (?P<addr>[0-9a-fA-F]+)")
_HARDWARE_LINE = re.compile(r"Hardware name: (?P<hw>.*)")
_DMI_LINE = re.compile(r"\s*DMI: (?P<hw>.+)")
_MODULE_TOKEN = re.compile(r"[\w-]+(?:\([A-Z+-]+\))?")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TRACE_MARKERS = frozenset(
    {
        "<IRQ>",
        "</IRQ>",
        "<TASK>",
        "<NMI>",
        "</NMI>",
        "<EOI>",
        "<#DF>",
        "<EOE>",
        "<SOFTIRQ>",
        "</SOFTIRQ>",
    }
)
_TRACE_TERMINATORS = (
    "---[ end",
    "Modules linked in",
    "Kernel panic",
    "Kernel Offset",
    "CPU: ",
    "Hardware name",
    "Allocated by task",
    "Freed by task",
    "The buggy address",
    "Memory state around",
    "Sending NMI",
    "NMI backtrace",
    "INFO: ",
    "Mem-Info",
    "Showing ",
    "Dumping ftrace",
    "Rebooting in",
    "==================",
)
_ARM64_FRAMES = ("el0_", "el1_", "__arm64_sys_", "do_el0_svc", "invoke_syscall")
_X86_FRAMES = ("entry_SYSCALL_64", "do_syscall_64", "__x64_sys_", "asm_", "x64_sys_call")
_REPORT_END_MARKERS = ("---[ end Kernel panic", "Kernel Offset:", "Rebooting in")
_SEPARATORS = ("------------[ cut here ]------------", "==================")
_COMPILER_SUFFIX = re.compile(r"\..*\Z")
# A pasted excerpt's first line that lost its time stamp, or the stamp's `[` (`17.5] Oops ...`).
_CUT_STAMP = re.compile(r"^\s*(?:\[?\s*\d+\.\d+\]\s?)?")


def _match_frame(text: str) -> tuple[Frame, bool] | None:
    """The call-trace frame on this line in any of its printed shapes (x86/arm64 as printed,
    decoded by decode_stacktrace.sh, 32-bit ARM) and whether it was the 32-bit ARM shape."""
    match = _FRAME_LINE.match(text)
    arm32 = False
    if match is None and "(" in text:
        match = _DECODED_FRAME_LINE.match(text)
        if match is None and " from " in text:
            match = _ARM_FRAME_LINE.match(text)
            arm32 = True
    if match is None:
        return None
    reliable = arm32 or not match["q"]  # (32-bit ARM frames have no `?` mark)
    return Frame(match["func"], match["off"], match["size"], match["mod"], reliable), arm32


def _excerpt_head(lines: list[LogLine]) -> str | None:
    """The first line of a pasted excerpt that lost its time stamp (or part of it).

    The log shape tells kernel lines by their prefix, so such a line comes out as foreign text,
    though it is usually the report's header (`BUG: unable to handle ...`, `divide error: ...`,
    the panic line). It counts as the kernel's when the very next line is a time-stamped kernel
    line; the text returned has the stamp's remains removed.
    """
    if len(lines) < 2 or lines[0].kernel or not lines[1].kernel or lines[1].timestamp is None:
        return None
    return _CUT_STAMP.sub("", lines[0].text, count=1)


@dataclass(slots=True)
class _Hit:
    index: int  # into `lines`
    row: ReportRow
    groups: dict[str, str]


@dataclass(slots=True)
class _Cluster:
    start: int
    last: int
    primary: _Hit
    tier: Tier
    members: list[_Hit] = field(default_factory=list)


@dataclass(slots=True)
class _PanicHit:
    index: int
    row: PanicRow
    groups: dict[str, str]


@dataclass(slots=True)
class _Scan:
    joined: str  # "\n" + the lines joined by "\n"
    texts: list[str]  # the lines' texts (the excerpt head's text for a cut first line)
    # Offsets in `joined` of lines first, first + 1, ... (see `_window`): the report's lines.
    starts: list[int] = field(default_factory=list)
    first: int = 0
    hits: list[_Hit] = field(default_factory=list)
    panics: list[_PanicHit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    event_index: list[int] = field(default_factory=list)  # `lines` index of each event
    boundaries: list[int] = field(default_factory=list)  # trace starts and end-of-trace lines
    trace_starts: list[int] = field(default_factory=list)
    matched: dict[int, str] = field(default_factory=dict)  # line index -> name of its row
    version: str | None = None
    dmi: str | None = None  # the boot-time `DMI:` line: the hardware when no dump names it


@dataclass(slots=True)
class _Trace:
    frames: list[Frame] = field(default_factory=list)
    ip: Frame | None = None  # the interrupted IP when a `RIP:` line sits inside the trace
    start: int = -1
    end: int = -1  # index of the last line that belonged to the trace
    cut_off: bool = False
    arm32: bool = False  # frames in 32-bit ARM's `[<pc>] (func) from [<lr>] (caller)` shape


def parse_log(text: str) -> PanicReport | None:
    """Parse kernel log text of any supported shape into a `PanicReport`.

    Returns None when the log shows no panic, oops or crash report and no event serious enough
    to stand in for one (an ordinary boot log, a log with only I/O errors or warnings). Never
    raises on damaged text: a truncated or garbled crash gives a report with `corrupted=True`
    and a `corrupted_reason`.
    """
    log = normalize(text)
    report = parse_lines(log.lines, log.format)
    if report is None:
        # A log exported from a log store (CSV, tab-separated columns), a container runtime's
        # log lines or a Markdown list: read once more with each line cut to its message.
        unwrapped = unwrap_columns(text)
        if unwrapped is not None:
            log = normalize(unwrapped)
            report = parse_lines(log.lines, log.format)
    return report


def parse_lines(lines: list[LogLine], log_format: str = "unknown") -> PanicReport | None:
    """Parse already normalised lines (see `logformat.normalize`) into a `PanicReport`.

    `log_format` is recorded in the report. Returns None when no crash report or panic line
    is found; see `parse_log`.
    """
    scan = _scan(lines)
    clusters = _cluster(lines, scan)
    panic = scan.panics[0] if scan.panics else None

    chosen: _Cluster | None = None
    best: tuple[int, int] | None = None
    for cluster in clusters:
        if panic is not None and cluster.start >= panic.index:
            break
        rank = _RANK_BY_TIER[cluster.tier]
        if panic is not None and rank and cluster.primary.row.crash_type in panic.row.causes:
            rank = _RANK_CONFIRMED
        if best is None or (rank, cluster.start) < best:
            chosen, best = cluster, (rank, cluster.start)
    if panic is not None:
        panic_rank = _RANK_SPECIFIC_PANIC if panic.row.specific else _RANK_GENERIC_PANIC
        if best is None or (panic_rank, panic.index) < best:
            chosen = None
    elif chosen is None:
        chosen = (
            _cut_oom_report(scan)
            or _headerless_trace(scan)
            or _headerless_fault(scan)
            or _event_only(scan)
            or _blocked_task(scan)
        )
        if chosen is None:
            return None
    report = _build(lines, log_format, scan, chosen, panic)
    if chosen is not None and chosen.primary.row is OOM_CUT_ROW:
        report.corrupted = True
        report.corrupted_reason = "the log ends inside an OOM-killer report (no kill, no panic)"
    elif chosen is not None and chosen.primary.row in TRACE_ROWS:
        report.corrupted = True
        report.corrupted_reason = (
            f"the report's header is missing; its type is read from the {chosen.primary.row.needle}"
            " frame of the call trace"
        )
    elif chosen is not None and chosen.primary.row is HEADERLESS_FAULT_ROW:
        report.corrupted = True
        report.corrupted_reason = (
            "the report's header is missing; the lone CR2 line after the register dump says "
            "it was a page fault"
        )
    elif chosen is not None and chosen.primary.row is BLOCKED_TASK_ROW:
        report.corrupted = True
        report.corrupted_reason = (
            "the report's header is missing; a task blocked in uninterruptible sleep (state D) "
            "is listed without it"
        )
    elif chosen is not None and chosen.primary.row in EVENT_ONLY_ROWS:
        report.corrupted = True
        report.corrupted_reason = (
            "no crash report or panic line in the log; its most serious event "
            f"({chosen.primary.row.event_kind.value}) stands in for one"
        )
    return report


def _event_only(scan: _Scan) -> _Cluster | None:
    """The first event of the first `EVENT_ONLY_ROWS` row that has one, for a log with no crash
    report and no panic line; None when the log has no such event."""
    for row in EVENT_ONLY_ROWS:
        for event, index in zip(scan.events, scan.event_index, strict=True):
            if event.kind is row.event and row.regex.search(event.text):
                hit = _Hit(index, row, {})
                return _Cluster(index, index, hit, row.tier, [hit])
    return None


# Lines of an x86 oops' register dump and trace: where a header-less report starts.
_OOPS_BODY_LINE = re.compile(
    r"^\s*(?:RIP:|RIP \s*\[<|Call Trace:|Stack:|Modules linked in:|"
    r"CR2: [0-9a-fA-F]+ CR3:|RSP:|Code:)"
)


def _headerless_fault(scan: _Scan) -> _Cluster | None:
    """The tail of a page-fault oops whose header was lost (see `HEADERLESS_FAULT_ROW`): the
    report starts at the earliest oops body line within `_CONTEXT_LINES` above the lone CR2
    line; None when the log has no lone CR2 line."""
    offset = scan.joined.find("CR2: ")
    while offset >= 0:
        index = scan.joined.count("\n", 0, offset) - 1
        found = HEADERLESS_FAULT_ROW.regex.search(scan.texts[index])
        if found:
            start = index
            for above in range(index - 1, max(-1, index - _CONTEXT_LINES), -1):
                if _OOPS_BODY_LINE.match(scan.texts[above]):
                    start = above
            hit = _Hit(start, HEADERLESS_FAULT_ROW, {"addr": found["addr"]})
            return _Cluster(start, start, hit, HEADERLESS_FAULT_ROW.tier, [hit])
        offset = scan.joined.find("CR2: ", offset + 5)
    return None


def _blocked_task(scan: _Scan) -> _Cluster | None:
    """The first `task:NAME state:D` line of a log with nothing else to go on, unless the log
    is a sysrq-w listing (see `BLOCKED_TASK_ROW`); None when there is none."""
    if "Show Blocked State" in scan.joined:
        return None
    offset = scan.joined.find("state:D")
    while offset >= 0:
        index = scan.joined.count("\n", 0, offset) - 1
        if BLOCKED_TASK_ROW.regex.search(scan.texts[index]):
            hit = _Hit(index, BLOCKED_TASK_ROW, {})
            return _Cluster(index, index, hit, BLOCKED_TASK_ROW.tier, [hit])
        offset = scan.joined.find("state:D", offset + 7)
    return None


def _headerless_trace(scan: _Scan) -> _Cluster | None:
    """The earliest frame of `TRACE_ROWS` in a log that holds no report header and no panic
    line (an excerpt pasted from inside a report); None when there is none."""
    # One Aho-Corasick pass finds every row's function name (a `str.find` per row costs a
    # scan of the whole log per row). WARN() frames count only when no other report's frame
    # is there: 3.x kernels reported a hard lockup through WARN() in the NMI watchdog's
    # callback, whose frames come first.
    found = _TRACE_NEEDLES.find_matches_as_indexes(scan.joined, overlapping=True)
    found.sort(key=_START)
    best: dict[bool, _Hit] = {}
    index, counted = -1, 0  # line `index` holds offset `counted` (the leading newline)
    for row_number, start, _end in found:
        row = TRACE_ROWS[row_number]
        warning = row.crash_type is CrashType.WARNING
        if warning in best:
            continue
        index += scan.joined.count("\n", counted, start)
        counted = start
        if row.regex.search(scan.texts[index]):
            best[warning] = _Hit(index, row, {})
            if not warning:
                break
    hit = best.get(False) or best.get(True)
    if hit is None:
        return None
    hit = _warning_from_watchdog(scan, hit)
    return _Cluster(hit.index, hit.index, hit, hit.row.tier, [hit])


_TRACE_NEEDLES = AhoCorasick([row.needle for row in TRACE_ROWS])
_START = operator.itemgetter(1)


def _warning_from_watchdog(scan: _Scan, hit: _Hit) -> _Hit:
    """A WARN() frame whose caller, a few frames down, is the NMI watchdog's callback is the
    3.x hard-lockup report (`WARN(..., "Watchdog detected hard LOCKUP")`): on those kernels
    without frame pointers every frame is a `?` guess, which the watchdog row alone does not
    trust, but next to the WARN() it called it is the report's own frame."""
    if hit.row.crash_type is not CrashType.WARNING:
        return hit
    for index in range(hit.index + 1, min(len(scan.texts), hit.index + 4)):
        if _WATCHDOG_CALLER.search(scan.texts[index]):
            return _Hit(index, _HARD_LOCKUP_TRACE_ROW, {})
    return hit


_WATCHDOG_CALLER = re.compile(r"\bwatchdog_overflow_callback\+0x")
_HARD_LOCKUP_TRACE_ROW = next(
    row for row in TRACE_ROWS if row.name == "trace-watchdog_overflow_callback"
)


# Event rows of an OOM report's body, printed before its kill (see `oops_table.EVENT_ROWS`).
_OOM_REPORT_BODY = frozenset({"oom-task-table", "memcg-oom-usage", "memcg-oom-stats"})


def _cut_oom_report(scan: _Scan) -> _Cluster | None:
    """A last `invoked oom-killer` report with neither a kill nor a panic after it: the log was
    cut while the kernel was out of memory (see `OOM_CUT_ROW`)."""
    for position in range(len(scan.events) - 1, -1, -1):
        if scan.events[position].kind is not EventKind.OOM_KILL:
            continue
        index = scan.event_index[position]
        if scan.matched.get(index) in _OOM_REPORT_BODY:
            continue  # part of the report, printed before its kill
        if scan.matched.get(index) != "oom-invoked":
            return None  # the last OOM event is a kill: the OOM report completed
        hit = _Hit(index, OOM_CUT_ROW, {})
        return _Cluster(index, index, hit, OOM_CUT_ROW.tier, [hit])
    return None


def _scan(lines: list[LogLine]) -> _Scan:
    """Classify every line that contains a needle: one regex pass over the joined text."""
    texts = [line.text for line in lines]
    head = _excerpt_head(lines)
    if head is not None:
        texts[0] = head
    # A leading newline lets the line-head pattern see the first line too.
    joined = "\n" + "\n".join(texts)
    scan = _Scan(joined=joined, texts=texts)
    # (offset in `joined`, needle) of every candidate; the offset lies in the needle's line.
    found = [(match.end(), match.group(1)) for match in _HEAD.finditer(joined)]
    found += [(match.start(), match.group(1)) for match in _COLON.finditer(joined)]
    for key in _FIND_KEYS:
        position = joined.find(key)
        while position >= 0:
            found.append((position, key))
            position = joined.find(key, position + len(key))
    if not found:
        return scan
    found.sort()
    count = len(lines)
    position = 0
    index, counted = -1, 0  # line `index` holds offset `counted` (the leading newline)
    while position < len(found):
        offset, needle = found[position]
        position += 1
        limit = joined.find("\n", offset)
        if limit < 0:
            limit = len(joined)
        more: list[str] | None = None
        while position < len(found) and found[position][0] < limit:
            if more is None:
                more = [needle]
            more.append(found[position][1])
            position += 1
        index += joined.count("\n", counted, offset)
        counted = offset
        if index >= count:
            continue
        line = lines[index]
        if not line.kernel and not (index == 0 and head is not None):
            continue
        text = texts[index]
        kind = _CLASSES.get(text)
        if kind is None:
            kind = _classify(text, _NEEDLE_PLANS[needle] if more is None else _plan_of(more))
            if len(_CLASSES) >= _CLASSES_MAX:
                _CLASSES.clear()
            _CLASSES[text] = kind
        if kind is _NOTHING:
            continue
        _apply(scan, kind, line, index)
    return scan


@dataclass(frozen=True, slots=True)
class _Class:
    """What one line is (a pure function of its text, so cached across logs by text)."""

    boundaries: int = 0  # how many trace / end-of-trace markers it holds
    traces: int = 0  # how many trace markers
    version: str | None = None
    dmi: str | None = None
    panic: tuple[PanicRow, dict[str, str]] | None = None
    report: tuple[ReportRow, dict[str, str]] | None = None
    event: EventRow | None = None


_NOTHING = _Class()
_CLASSES: dict[str, _Class] = {}
_CLASSES_MAX = 16384


def _plan_of(needles: list[str]) -> _Plan:
    closure: set[str] = set()
    for needle in needles:
        closure |= _CLOSURE[needle]
    return _plan(frozenset(closure))


def _classify(text: str, plan: _Plan) -> _Class:
    boundaries = traces = 0
    version = dmi = None
    for marker in plan.markers:
        if marker == "version":
            if version is None and (found := _LINUX_VERSION.search(text)):
                version = found.group("rel")
        elif marker == "dmi":
            if dmi is None and (found_dmi := _DMI_LINE.match(text)):
                dmi = found_dmi.group("hw").strip()
        elif marker in ("trace", "end"):
            boundaries += 1
            if marker == "trace":
                traces += 1
    panic = report = event = None
    done = False
    if plan.panics:
        panic = _first_match(plan.panics, text)
        # Either a panic, or the `---[ end Kernel panic ... ]---` echo of one: nothing else.
        done = "Kernel panic - not syncing" in text
    if not done:
        report = _first_match(plan.reports, text)
        if report is None:
            for row in plan.events:
                if row.regex is None or row.regex.search(text):
                    event = row
                    break
    kind = _Class(boundaries, traces, version, dmi, panic, report, event)
    return _NOTHING if kind == _NOTHING else kind


def _apply(scan: _Scan, kind: _Class, line: LogLine, index: int) -> None:
    """Record line `index`, classified as `kind`, in the scan."""
    if kind.version is not None and scan.version is None:
        scan.version = kind.version
    if kind.dmi is not None and scan.dmi is None:
        scan.dmi = kind.dmi
    for _ in range(kind.boundaries):
        scan.boundaries.append(index)
    for _ in range(kind.traces):
        scan.trace_starts.append(index)
    if kind.panic is not None:
        panic_row, panic_groups = kind.panic
        scan.panics.append(_PanicHit(index, panic_row, dict(panic_groups)))
        scan.matched[index] = panic_row.name
        _add_event(scan, EventKind.PANIC, line, index)
    if kind.report is not None:
        row, groups = kind.report
        scan.hits.append(_Hit(index, row, dict(groups)))
        scan.matched[index] = row.name
        _add_event(scan, row.event_kind, line, index)
    elif kind.event is not None:
        _add_event(scan, kind.event.kind, line, index)
        scan.matched[index] = kind.event.name


_Row = TypeVar("_Row", ReportRow, PanicRow)


def classify_line(text: str) -> str | None:
    """The name of the table row (report, panic or event) that claims this one kernel line, or
    None when no row does. Uses exactly the scan `parse_lines` uses; the table self-tests call
    it to prove that no row is shadowed by an earlier one."""
    return _scan([LogLine(1, text)]).matched.get(0)


def _first_match(rows: tuple[_Row, ...], text: str) -> tuple[_Row, dict[str, str]] | None:
    for row in rows:
        match = row.regex.search(text)
        if match:
            return row, {k: v for k, v in match.groupdict().items() if v is not None}
    return None


def _add_event(scan: _Scan, kind: EventKind, line: LogLine, index: int) -> None:
    scan.events.append(Event(kind, line.number, line.text.strip()))
    scan.event_index.append(index)


def _far_apart(first: LogLine, second: LogLine) -> bool:
    """Lines printed seconds apart are separate reports even when nothing lies between them."""
    if first.timestamp is None or second.timestamp is None:
        return False
    return second.timestamp - first.timestamp > _MERGE_SECONDS


def _cluster(lines: list[LogLine], scan: _Scan) -> list[_Cluster]:
    """Group header lines printed together into one report each (see the module docstring)."""
    clusters: list[_Cluster] = []
    for hit in scan.hits:
        current = clusters[-1] if clusters else None
        if (
            current is not None
            and hit.index - current.last <= _MERGE_WINDOW
            and not _boundary_between(scan.boundaries, current.last, hit.index)
            and not _far_apart(lines[current.last], lines[hit.index])
        ):
            current.members.append(hit)
            current.last = hit.index
            current.tier = min(current.tier, hit.row.tier)
            # The strongest line names the report; among equals, the most specific one.
            primary = current.primary.row
            if (hit.row.tier, -hit.row.specificity) < (primary.tier, -primary.specificity):
                current.primary = hit
            continue
        clusters.append(_Cluster(hit.index, hit.index, hit, hit.row.tier, [hit]))
    return clusters


def _boundary_between(boundaries: list[int], low: int, high: int) -> bool:
    position = bisect.bisect_right(boundaries, low)
    return position < len(boundaries) and boundaries[position] < high


def _build(
    lines: list[LogLine],
    log_format: str,
    scan: _Scan,
    chosen: _Cluster | None,
    panic: _PanicHit | None,
) -> PanicReport:
    """Read the chosen report (or the panic line standing alone) into a `PanicReport`."""
    groups: dict[str, str] = {}
    corrupted_reason: str | None = None
    if chosen is not None:
        hit = chosen.primary
        start = chosen.start
        crash_type = hit.row.crash_type
        template = hit.row.title
        want_frame, frame_in_title = hit.row.guilty, bool(hit.row.frame_in_title)
        needs_trace = hit.row.needs_trace
        # The primary row's groups win; the other header lines fill what it lacks.
        groups.update(hit.groups)
        for member in chosen.members:
            for key, value in member.groups.items():
                groups.setdefault(key, value)
            _follow(lines, member, groups)
    else:
        assert panic is not None  # parse_lines only builds with a report or a panic line
        start = panic.index
        if panic.row.anchor is not None:
            start = _anchor(scan, panic.row.anchor, panic.index, start)
        crash_type = panic.row.crash_type
        template = panic.row.title
        want_frame, frame_in_title = panic.row.guilty, panic.row.frame_in_title
        needs_trace = False
        groups.update(panic.groups)
        if panic.row.consequence:
            corrupted_reason = "the panic line names a crash report that is missing from the log"
            if crash_type is CrashType.OOPS and _bug_instruction_before(lines, panic.index):
                crash_type, template = CrashType.BUG, "kernel BUG"
                corrupted_reason = (
                    "the report's header is missing; its Code: line shows the trap "
                    "instruction of BUG() at the faulting address"
                )

    # Panic after the first failure; report lines run from the first failure to the panic's end.
    panic_line = lines[panic.index] if panic is not None and panic.index >= start else None
    report_start = _back_to_separator(lines, start)
    context_end = min(len(lines), start + _CONTEXT_LINES)
    caller = lines[start].caller

    trace = _find_trace(lines, scan, start, context_end, caller)
    found_ip = _find_ip(
        lines, start, trace.start if trace.start >= 0 else min(context_end, start + 60)
    )
    ip, ip_line = found_ip if found_ip is not None else (trace.ip, None)
    if ip is not None and ip_line is None and trace.ip is not None:
        ip_line = "RIP:"

    if want_frame and _guilty(groups.get("func"), ip, trace.frames) is None and trace.start >= 0:
        # The first trace can hold only guesses (`?` frames of an RCU stall's task dump); the
        # NMI backtrace printed after it is the one that says where the CPU was.
        trace, ip, ip_line = _later_trace(
            lines, scan, trace, end=context_end, groups=groups, current=(ip, ip_line)
        )

    report = PanicReport(title="", crash_type=crash_type, log_format=log_format, lines=lines)
    report.first_failure = lines[start]
    report.panic_line = panic_line
    report.call_trace = trace.frames
    if ip is not None:
        report.ip_symbol, report.ip_module = ip.function, ip.module
    _window(scan, start, context_end)
    _read_context(lines, scan, start=start, end=context_end, report=report, groups=groups)
    if report.kernel_release is None:
        report.kernel_release = scan.version
    if report.hardware is None:
        report.hardware = scan.dmi
    report.fault_address = groups.get("addr") or _cr2(scan, start, context_end, crash_type)
    if (
        chosen is not None
        and chosen.primary.row.name in _FAULT_ROWS_NAMED_BY_CR2
        and _in_first_page(report.fault_address)
    ):
        # What the lost `BUG: ...` line would have said: x86 calls a fault below PAGE_SIZE a
        # NULL pointer dereference (`show_fault_oops`).
        report.crash_type = CrashType.NULL_DEREF
        template = _NULL_DEREF_TITLE
    elif (
        chosen is not None
        and chosen.primary.row.name in _TRACE_FAULT_ROWS
        and report.fault_address is None
    ):
        # A kernel page fault known only from the fault handler's frame, with no address left
        # in the excerpt: NULL or wild cannot be told, so the report stays an unnamed oops.
        report.crash_type = CrashType.OOPS
        template = "Oops"
    elif report.crash_type in (CrashType.GPF, CrashType.PAGING_FAULT) and _list_poison(
        lines, start, min(context_end, start + _REGISTER_LINES), report.fault_address
    ):
        # A fault on LIST_POISON1/2 is a list entry used after list_del(): list corruption,
        # which CONFIG_DEBUG_LIST would have reported by name.
        report.crash_type = CrashType.LIST_CORRUPTION
        template = "list corruption: fault on a list poison value in {frame}"
    report.arch = _arch(lines, trace, ip_line, lines[start].text, report.kernel_release)
    report.events = scan.events

    if want_frame:
        report.guilty_frame = _guilty(groups.get("func"), ip, trace.frames)
    frame = report.guilty_frame if frame_in_title else None
    report.title = _render(template, groups, frame)

    end = max(start + 1, trace.end + 1)
    if panic_line is not None and panic is not None:
        end = max(end, panic.index + 1, _panic_end(lines, panic.index))
    elif trace.end >= 0:
        end = max(end, _end_trace_marker(lines, trace.end))
    report.report_start, report.report_end = report_start, min(end, len(lines))

    if corrupted_reason is None:
        if needs_trace and not trace.frames and ip is None and panic_line is None:
            corrupted_reason = "crash report without a call trace (log cut off?)"
        elif trace.cut_off and panic_line is None:
            corrupted_reason = "call trace cut off at the end of the log"
        elif want_frame and needs_trace and report.guilty_frame is None:
            corrupted_reason = "no guilty frame in the RIP or call trace"
    report.corrupted = corrupted_reason is not None
    report.corrupted_reason = corrupted_reason
    report.signature = crash_signature(report)
    return report


def _follow(lines: list[LogLine], hit: _Hit, groups: dict[str, str]) -> None:
    regex = hit.row.follow_regex
    if regex is None:
        return
    for line in lines[hit.index + 1 : hit.index + 1 + _FOLLOW_LINES]:
        match = regex.search(line.text)
        if match:
            for key, value in match.groupdict().items():
                if value is not None:
                    groups.setdefault(key, value)
            return


def _anchor(scan: _Scan, kind: EventKind, before: int, default: int) -> int:
    """Index of the nearest event of `kind` before line `before` (the start of, e.g., the OOM
    report a panic_on_oom panic ends), or `default`."""
    position = bisect.bisect_left(scan.event_index, before) - 1
    while position >= 0:
        if scan.events[position].kind == kind:
            return scan.event_index[position]
        position -= 1
    return default


def _back_to_separator(lines: list[LogLine], start: int) -> int:
    """Include the `cut here` / `=====` separator printed just before a report header."""
    for back in (1, 2):
        index = start - back
        if index >= 0 and lines[index].text.strip().startswith(_SEPARATORS):
            return index
    return start


def _find_trace(
    lines: list[LogLine], scan: _Scan, start: int, end: int, caller: str | None
) -> _Trace:
    """Parse the first call trace of the report, preferring the crashing printk caller's."""
    first = -1
    position = bisect.bisect_left(scan.trace_starts, start)
    while position < len(scan.trace_starts) and scan.trace_starts[position] < end:
        index = scan.trace_starts[position]
        position += 1
        if caller is None or lines[index].caller in (None, caller):
            first = index
            break
        if first < 0:
            first = index
    if first < 0:
        # KFENCE (and a few other reports) print the stack right under the header, without a
        # `Call Trace:` line: accept frames that start within a few lines of the header.
        for index in range(start + 1, min(end, start + _HEADERLESS_TRACE_LINES)):
            if _match_frame(lines[index].text):
                first = index - 1
                break
        else:
            # 32-bit ARM prints no trace header at all, after its registers and stack dump.
            for index in range(start + 1, min(end, start + _ARM_TRACE_LINES)):
                text = lines[index].text
                if " from [<" in text and _ARM_FRAME_LINE.match(text):
                    first = index - 1
                    break
            else:
                return _Trace()
    return _parse_trace(lines, first)


def _parse_trace(lines: list[LogLine], first: int) -> _Trace:
    """Read the frames of the call trace whose header (`Call Trace:`) is line `first`."""
    trace = _Trace(start=first, end=first)
    trace_caller = lines[first].caller
    noise = 0
    saw_ip = False
    index = first + 1
    stop = min(len(lines), first + _TRACE_MAX)
    ended = False
    while index < stop:
        line = lines[index]
        index += 1
        if not line.kernel or (trace_caller and line.caller and line.caller != trace_caller):
            continue
        text = line.text
        found = _match_frame(text)
        if found is not None:
            trace.frames.append(found[0])
            trace.arm32 = trace.arm32 or found[1]
            trace.end, noise, saw_ip = index - 1, 0, False
            continue
        stripped = text.strip()
        if stripped in _TRACE_MARKERS or stripped == "</TASK>":
            trace.end = index - 1
            if stripped == "</TASK>":
                ended = True
                break
            continue
        if stripped.startswith(("RIP:", "EIP:")):
            ip_match = _IP_LINE.match(text)
            if ip_match and ip_match["func"]:
                frame = Frame(ip_match["func"], ip_match["off"], ip_match["size"], ip_match["mod"])
                trace.frames.append(frame)
                if trace.ip is None:
                    trace.ip = frame
            saw_ip = True
            trace.end = index - 1
            continue
        if stripped.startswith("Code:") and not saw_ip:
            ended = True
            break
        if _REGISTER_LINE.match(text):
            continue
        if stripped.startswith(_TRACE_TERMINATORS):
            ended = True
            break
        noise += 1
        if noise > _TRACE_NOISE:
            ended = True
            break
    if not ended and index >= len(lines) and trace.frames:
        trace.cut_off = not ROOT_FRAMES_RE.match(_base(trace.frames[-1].function))
    elif not ended and index >= len(lines) and not trace.frames:
        trace.cut_off = True
    return trace


def _later_trace(
    lines: list[LogLine],
    scan: _Scan,
    trace: _Trace,
    *,
    end: int,
    groups: dict[str, str],
    current: tuple[Frame | None, str | None],
) -> tuple[_Trace, Frame | None, str | None]:
    """The first of the next few traces (with the IP printed just before it) that yields a
    guilty frame; the given trace and IP when none does."""
    position = bisect.bisect_right(scan.trace_starts, trace.start)
    previous_end = trace.end
    for index in scan.trace_starts[position : position + _LATER_TRACES]:
        if index >= end:
            break
        later = _parse_trace(lines, index)
        found = _find_ip(lines, previous_end + 1, index)
        ip, ip_line = found if found is not None else (later.ip, None)
        if _guilty(groups.get("func"), ip, later.frames) is not None:
            return later, ip, ip_line
        previous_end = later.end
    return trace, current[0], current[1]


def _find_ip(lines: list[LogLine], start: int, end: int) -> tuple[Frame, str] | None:
    """The faulting IP of the report (the first symbolised RIP/IP/pc line before its trace)
    and the text of that line."""
    for line in lines[start:end]:
        text = line.text
        if "IP" in text or "pc" in text or "PC is at" in text:
            match = _IP_LINE.match(text)
            if match and match["func"]:
                return Frame(match["func"], match["off"], match["size"], match["mod"]), text
            crash_rip = _CRASH_RIP_LINE.match(text)
            if crash_rip:
                return Frame(crash_rip["func"], crash_rip["off"]), text
    return None


def _window(scan: _Scan, start: int, end: int) -> None:
    """Compute the offsets in `scan.joined` of lines start..end (end is one past the last
    line read, so its offset may be one past the end of `joined`)."""
    offset = sum(map(len, scan.texts[:start])) + start + 1
    scan.first = start
    scan.starts = list(accumulate((len(t) + 1 for t in scan.texts[start:end]), initial=offset))


def _line_at(scan: _Scan, position: int) -> tuple[int, str]:
    """The index and text of the line holding offset `position` of `scan.joined`."""
    joined, starts = scan.joined, scan.starts
    if position < starts[0]:
        index = scan.first - joined.count("\n", position, starts[0])
        return index, joined[joined.rfind("\n", 0, position) + 1 : joined.find("\n", position)]
    offset = bisect.bisect_right(starts, position) - 1
    return scan.first + offset, joined[starts[offset] : starts[offset + 1] - 1]


def _find_line(
    scan: _Scan, key: str, start: int, end: int, regex: re.Pattern[str]
) -> re.Match[str] | None:
    """The first match of `regex` on a line in [start, end) that contains `key` (C-speed find
    over the joined text instead of a Python loop over lines)."""
    if start >= end:
        return None
    position, limit = scan.starts[start - scan.first], scan.starts[end - scan.first]
    while True:
        position = scan.joined.find(key, position, limit)
        if position < 0:
            return None
        index, text = _line_at(scan, position)
        match = regex.search(text)
        if match:
            return match
        position = scan.starts[index - scan.first + 1]


def _read_context(
    lines: list[LogLine],
    scan: _Scan,
    *,
    start: int,
    end: int,
    report: PanicReport,
    groups: dict[str, str],
) -> None:
    """Fill CPU/comm/pid, kernel release, taint, hardware and modules from the report's lines."""
    header_pid = groups.get("pid")
    if "cpu" in groups:
        report.cpu = int(groups["cpu"])
    if header_pid is not None:
        report.pid = int(header_pid)
    if "comm" in groups:
        report.comm = groups["comm"].strip()
    match = _find_line(scan, "CPU: ", start, end, _CPU_LINE) or _find_line(
        scan, "Pid: ", start, end, _OLD_PID_LINE
    )
    # A detector's report names its task in the header (the hung task); the CPU line after it
    # may belong to the reporting thread (khungtaskd), so it only counts when the PIDs agree.
    if match and (header_pid is None or match["pid"] == header_pid):
        cpu = match.groupdict().get("cpu")
        if report.cpu is None and cpu is not None:
            report.cpu = int(cpu)
        report.pid = int(match["pid"])
        if report.comm is None:
            report.comm = match["comm"].strip()
    match = _find_line(scan, "ainted", start, end, _TAINT_LINE)
    if match:
        report.kernel_release = match["rel"]
        report.taint = (match["taint"] or "").strip()
        report.taint_flags = taint_letters(report.taint)
    match = _find_line(scan, "Hardware name: ", start, end, _HARDWARE_LINE)
    if match:
        report.hardware = match["hw"].strip()
    first, last = scan.starts[start - scan.first], scan.starts[end - scan.first]
    position = scan.joined.find("Modules linked in:", first, last)
    if position < 0:
        # Hung-task and OOM reports do not list modules; an earlier report of this boot might.
        position = scan.joined.rfind("Modules linked in:", 0, first)
    if position >= 0:
        report.modules = _modules(lines, _line_at(scan, position)[0])


def _modules(lines: list[LogLine], index: int) -> list[str]:
    """Module names from `Modules linked in:`, following console-wrapped continuation lines."""
    text = lines[index].text.split("Modules linked in:", 1)[1]
    names: list[str] = []
    for extra in range(20):
        if extra:
            if index + extra >= len(lines):
                break
            text = lines[index + extra].text
            tokens = text.split()
            # A continuation line holds module tokens only; anything else ends the list.
            if not tokens or not all(
                _MODULE_TOKEN.fullmatch(t) or t.startswith("[last") or t.endswith("]")
                for t in tokens
            ):
                break
        text = text.split("[last unloaded", 1)[0]
        for token in text.split():
            if _MODULE_TOKEN.fullmatch(token):
                names.append(token.split("(", 1)[0])
        if "[last unloaded" in lines[index + extra].text:
            break
    return names


def _cr2(scan: _Scan, start: int, end: int, crash_type: CrashType) -> str | None:
    """x86's CR2 register: the faulting address when the header line did not print it."""
    if crash_type not in (CrashType.NULL_DEREF, CrashType.PAGING_FAULT, CrashType.OOPS):
        return None
    match = _find_line(scan, "CR2: ", start, end, _CR2_LINE)
    return match["addr"] if match else None


def _arch(
    lines: list[LogLine], trace: _Trace, ip_line: str | None, header: str, release: str | None
) -> str | None:
    """x86_64 or arm64 from the report's shape: the IP line (`RIP:` vs `pc :`), the trace
    header (`Call Trace:` vs `Call trace:`), arm64-only header wording, then the release.
    32-bit ARM (`arm`) is told by its trace shape, whose `PC is at` line arm64 once printed too."""
    if trace.arm32:
        return "arm"
    if ip_line is not None:
        return "arm64" if ip_line.lstrip().startswith(("pc", "PC is at")) else "x86_64"
    if trace.start >= 0:
        header_text = lines[trace.start].text
        if "Call trace:" in header_text:
            return "arm64"
        if "Call Trace:" in header_text:
            return "x86_64"
        for frame in trace.frames:
            if frame.function.startswith(_ARM64_FRAMES):
                return "arm64"
            if frame.function.startswith(_X86_FRAMES):
                return "x86_64"
    if "at virtual address" in header or "Internal error:" in header:
        return "arm64"
    if release:
        if "aarch64" in release or "arm64" in release:
            return "arm64"
        if "x86_64" in release or "amd64" in release:
            return "x86_64"
    return None


# The x86 `ud2` (`<0f> 0b`) and arm64 `brk #0x800` (`(d4210000)`) that BUG() compiles to, as
# the `Code:` line marks the faulting instruction. WARN() traps the same way on x86, but only a
# BUG() ends in `Fatal exception`, which is when this is consulted.
_BUG_CODE = re.compile(r"^\s*Code: .*(?:<0f> 0b|\(d4210000\))")
# LIST_POISON1/2 (include/linux/poison.h) with the 64-bit POISON_POINTER_DELTA, before
# (0x00100100, 0x00200200) and since 4.x (0x100, 0x122), plus a field's offset into the entry:
# a fault there is a list entry used after list_del().
_LIST_POISON = re.compile(
    r"\b(?:0x)?dead0000(?:000001[0-9a-f]{2}|001001[0-9a-f]{2}|002002[0-9a-f]{2})\b"
)
# How many lines after a report's first line hold its register dump.
_REGISTER_LINES = 40


def _bug_instruction_before(lines: list[LogLine], index: int) -> bool:
    """Whether a `Code:` line in the report above `index` marks a BUG() trap instruction."""
    return any(_BUG_CODE.match(line.text) for line in lines[max(0, index - 60) : index])


def _list_poison(lines: list[LogLine], start: int, end: int, address: str | None) -> bool:
    """Whether the fault address, or a register in the report's dump, is a list poison."""
    if address is not None and _LIST_POISON.search(address):
        return True
    return any(
        _LIST_POISON.search(line.text)
        for line in lines[start:end]
        if line.text.lstrip().startswith(("RAX:", "RBX:", "RDX:", "RSI:", "RDI:", "R8", "R1"))
    )


def _in_first_page(address: str | None) -> bool:
    if address is None:
        return False
    if address == "(null)":
        return True
    try:
        return int(address, 16) < _FIRST_PAGE
    except ValueError:
        return False


def _base(function: str) -> str:
    """`foo.isra.0` / `bar.cold` -> the source-level function name."""
    return _COMPILER_SUFFIX.sub("", function) if "." in function else function


def _guilty(header_func: str | None, ip: Frame | None, frames: list[Frame]) -> str | None:
    """The first function, from the fault outwards, that is not reporting/trap/lock machinery."""
    candidates: list[str] = []
    if header_func:
        candidates.append(header_func)
    if ip is not None:
        candidates.append(ip.function)
    candidates.extend(frame.function for frame in frames if frame.reliable)
    for function in candidates:
        name = _base(function)
        if name and not NEVER_GUILTY_RE.match(name):
            return name
    return None


def _render(template: str, groups: dict[str, str], frame: str | None) -> str:
    if frame is None:
        template = template.replace(" in {frame}", "")
    values = dict(groups)
    if frame is not None:
        values["frame"] = frame
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)
    if frame is not None and "{frame}" not in template:
        text += f" in {frame}"
    return " ".join(text.split())


def _panic_end(lines: list[LogLine], index: int) -> int:
    for later in range(index + 1, min(len(lines), index + 200)):
        if lines[later].text.lstrip().startswith(_REPORT_END_MARKERS):
            return later + 1
    return index + 1


def _end_trace_marker(lines: list[LogLine], index: int) -> int:
    for later in range(index + 1, min(len(lines), index + 30)):
        if lines[later].text.lstrip().startswith("---[ end trace"):
            return later + 1
    return index + 1

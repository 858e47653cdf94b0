"""The oops tables test themselves (CONVENTIONS.md §3).

Every pattern compiles with its macros expanded, every row's example line is claimed by that
very row (so no row is shadowed by an earlier, more generic one, and its needle is found by the
prefilter), and every crash type can be produced by some row.
"""

from __future__ import annotations

import re

import pytest

from vmcore_parsers.oops_table import (
    EVENT_ROWS,
    NEVER_GUILTY_RE,
    PANIC_ROWS,
    REPORT_ROWS,
    ROOT_FRAMES_RE,
    TRACE_ROWS,
    EventRow,
    PanicRow,
    ReportRow,
    compile_pattern,
)
from vmcore_parsers.parse import classify_line
from vmcore_parsers.report import CrashType

ALL_ROWS: list[PanicRow | ReportRow | EventRow] = [*PANIC_ROWS, *REPORT_ROWS, *EVENT_ROWS]
MACROS = ("{FUNC}", "{FRAME}", "{ADDR}", "{PC}", "{COMM}", "{AT}", "{OFF}", "{GUESS}")


def test_row_names_are_unique() -> None:
    names = [row.name for row in ALL_ROWS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r.name)
def test_pattern_compiles_with_macros_expanded(row: PanicRow | ReportRow | EventRow) -> None:
    pattern = row.pattern
    if pattern is None:
        return
    compiled = compile_pattern(pattern)
    assert not any(macro in compiled.pattern for macro in MACROS)


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r.name)
def test_example_is_claimed_by_its_own_row(row: PanicRow | ReportRow | EventRow) -> None:
    """The row's example line must be matched by that row first: nothing earlier shadows it."""
    assert row.needle in row.example, "the needle must occur in the example"
    assert classify_line(row.example) == row.name


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r.name)
def test_example_is_found_after_leading_blanks(row: PanicRow | ReportRow | EventRow) -> None:
    """Rows anchored at the message start must still match when the line keeps its indent."""
    assert classify_line("  " + row.example) == row.name


def test_every_crash_type_is_reachable() -> None:
    reachable = {row.crash_type for row in REPORT_ROWS} | {row.crash_type for row in PANIC_ROWS}
    assert reachable == set(CrashType)


def test_title_templates_only_use_groups_the_row_can_capture() -> None:
    rows: list[ReportRow | PanicRow] = [*REPORT_ROWS, *PANIC_ROWS]
    for row in rows:
        groups = set(row.regex.groupindex)
        follow = row.follow_regex if isinstance(row, ReportRow) else None
        if follow is not None:
            groups |= set(follow.groupindex)
        used = set(re.findall(r"\{(\w+)\}", row.title))
        assert used <= groups, f"{row.name}: title uses {used - groups}"


def test_panic_causes_name_types_a_report_row_produces() -> None:
    report_types = {row.crash_type for row in REPORT_ROWS}
    for row in PANIC_ROWS:
        assert row.causes <= report_types, row.name


@pytest.mark.parametrize(
    "name",
    [
        "panic",
        "dump_stack_lvl",
        "__warn",
        "report_bug",
        "asm_exc_page_fault",
        "kasan_report",
        "__list_del_entry_valid_or_report",
        "native_queued_spin_lock_slowpath",
        "_raw_spin_lock",
        "schedule",
        "watchdog_timer_fn",
        "sysvec_apic_timer_interrupt",
        "ret_from_fork",
        "worker_thread",
        "entry_SYSCALL_64_after_hwframe",
        "rcu_dump_cpu_stacks",
        "kfree",
    ],
)
def test_never_guilty(name: str) -> None:
    assert NEVER_GUILTY_RE.match(name)


@pytest.mark.parametrize(
    "name",
    [
        "ext4_writepages",
        "mlx5e_poll_tx_cq",
        "find_busiest_group",
        "dumpster_fire",
        "panicky_driver_fn",
        "schedule_work_on_steroids",
    ],
)
def test_ordinary_functions_can_be_guilty(name: str) -> None:
    assert not NEVER_GUILTY_RE.match(name)


def test_root_frames() -> None:
    assert ROOT_FRAMES_RE.match("ret_from_fork_asm")
    assert not ROOT_FRAMES_RE.match("ext4_readdir")


@pytest.mark.parametrize("row", TRACE_ROWS, ids=lambda r: r.name)
def test_trace_row_matches_its_frame_in_every_printed_shape(row: ReportRow) -> None:
    """A trace row takes its function as x86/arm64, 32-bit ARM and decoded frames print it, and
    never a line that merely names it (a RIP line, a warning's location)."""
    func = row.needle
    assert row.regex.search(row.example)
    assert row.regex.search(f"  {func}.cold+0x1c/0x2a")
    assert row.regex.search(f"[<c048dbbc>] ({func}+0x48/0x60) from [<c0493bbc>] (x+0x68/0x798)")
    assert row.regex.search(f"[<8010ea04>] ({func}) from [<8010ed6c>] (ipi_handler+0x28/0x30)")
    assert row.regex.search(f" {func} (kernel/watchdog.c:512)")
    assert not row.regex.search(f"RIP: 0010:{func}+0x9c/0x130")
    assert not row.regex.search(f"WARNING: CPU: 1 PID: 7 at kernel/x.c:9 {func}+0x9c/0x130")


@pytest.mark.parametrize("row", TRACE_ROWS, ids=lambda r: r.name)
def test_trace_row_example_is_no_report_line(row: ReportRow) -> None:
    """Trace rows are a fallback for logs without any header: the ordinary tables must not
    claim a frame line, or the fallback would never be the only evidence."""
    assert classify_line(row.example) is None


def test_guess_frames_count_only_for_report_only_functions() -> None:
    """`? func` (a stack guess) counts for functions that only run to report a problem, never
    for the watchdog timers or might_sleep's check, which run when nothing is wrong."""
    by_func = {row.needle: row for row in TRACE_ROWS}
    for func in ("__schedule_bug", "do_double_fault", "exc_double_fault", "print_cpu_stall"):
        assert by_func[func].regex.search(f" [<ffffffff8103a1fc>] ? {func}+0x48/0x54")
    for func in ("watchdog_timer_fn", "watchdog_overflow_callback", "__might_resched"):
        assert not by_func[func].regex.search(f"  ? {func}+0x1bd/0x230")
    assert len({row.name for row in TRACE_ROWS}) == len(TRACE_ROWS)

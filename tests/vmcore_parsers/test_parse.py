"""Behaviour of `parse_log` beyond the golden files: robustness, first-failure choice,
signature stability, taint decoding and speed."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from vmcore_parsers.golden import read_golden
from vmcore_parsers.parse import parse_lines, parse_log
from vmcore_parsers.report import CrashType, EventKind, LogLine, PanicReport
from vmcore_parsers.signature import crash_signature, normalize_title
from vmcore_parsers.taint import decode_taint, taint_letters

GOLDEN = Path(__file__).parent / "golden"
CRASH_FILES = sorted(GOLDEN.glob("crash-*.log"))


def _crash_texts() -> list[str]:
    return [read_golden(path).text for path in CRASH_FILES]


def _stamp(body: str, start: float = 100.0) -> str:
    lines = body.strip("\n").split("\n")
    return "".join(f"[{start + i * 0.001:12.6f}] {line}\n" for i, line in enumerate(lines))


def _parse(body: str) -> PanicReport:
    report = parse_log(_stamp(body))
    assert report is not None
    return report


# --- robustness ---------------------------------------------------------------------------------


def test_empty_and_blank_inputs() -> None:
    assert parse_log("") is None
    assert parse_log("\n\n   \n") is None
    assert parse_lines([]) is None


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20261123)
    alphabet = [chr(c) for c in range(0, 0x250)] + ["\n"] * 40 + ["\r", "\x00", "\ufffd"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3000)))
        result = parse_log(text)
        assert result is None or isinstance(result, PanicReport)


def test_shuffled_and_cut_crash_logs_never_raise() -> None:
    rng = random.Random(7)
    texts = _crash_texts()
    for _ in range(300):
        lines = rng.choice(texts).splitlines(keepends=True)
        operation = rng.randrange(4)
        if operation == 0:
            rng.shuffle(lines)
        elif operation == 1:
            lines = lines[: rng.randint(0, len(lines))]
        elif operation == 2:
            lines = lines[rng.randint(0, len(lines)) :]
        else:  # splice two logs and damage some lines
            other = rng.choice(texts).splitlines(keepends=True)
            lines = lines[: len(lines) // 2] + other[len(other) // 2 :]
            for index in rng.sample(range(len(lines)), k=min(5, len(lines))):
                cut = rng.randint(0, len(lines[index]))
                lines[index] = lines[index][:cut] + "\x00\xff" + lines[index][cut:]
        result = parse_log("".join(lines))
        if result is not None:
            assert result.title
            assert 0 <= result.report_start < result.report_end <= len(result.lines)


def test_huge_lines_and_binary_never_raise() -> None:
    rng = random.Random(3)
    huge = "A" * 2_000_000 + "\nKernel panic - not syncing: " + "x" * 500_000 + "\n"
    report = parse_log(huge)
    assert report is not None and report.crash_type is CrashType.PANIC
    binary = bytes(rng.randrange(256) for _ in range(200_000)).decode("latin-1")
    assert parse_log(binary) is None or isinstance(parse_log(binary), PanicReport)
    frames_only = " ? foo+0x1/0x2\n" * 50_000
    assert parse_log(frames_only) is None


def test_trace_without_header_fields_is_not_a_crash() -> None:
    assert parse_log("Call Trace:\n dump_stack+0x1/0x2\n ret_from_fork+0x1/0x2\n") is None


@pytest.mark.parametrize(
    "name",
    [
        "crash-none-clean-boot-laptop.log",
        "crash-none-disk-io-errors-raid1.log",
    ],
)
def test_logs_without_a_crash_give_none(name: str) -> None:
    assert parse_log(read_golden(GOLDEN / name).text) is None


def test_user_space_lines_are_not_crashes() -> None:
    lines = [LogLine(1, "Kernel panic - not syncing: Fatal exception", kernel=False)]
    assert parse_lines(lines) is None


# --- first failure ----------------------------------------------------------------------------

_OOPS = """BUG: kernel NULL pointer dereference, address: 0000000000000008
Oops: 0000 [#1] SMP NOPTI
CPU: 1 PID: 42 Comm: kworker/1:1 Not tainted 6.1.0 #1
RIP: 0010:foo_work+0x10/0x40 [foo]
Call Trace:
 <TASK>
 process_one_work+0x1c7/0x380
 worker_thread+0x4d/0x380
 kthread+0xda/0x100
 ret_from_fork+0x22/0x30
 </TASK>
---[ end trace 0000000000000000 ]---"""

_WARNING = """------------[ cut here ]------------
WARNING: CPU: 0 PID: 7 at drivers/bar/bar.c:10 bar_check+0x5/0x10 [bar]
CPU: 0 PID: 7 Comm: kworker/0:0 Not tainted 6.1.0 #1
RIP: 0010:bar_check+0x5/0x10 [bar]
Call Trace:
 <TASK>
 bar_probe+0x20/0x40 [bar]
 ret_from_fork+0x22/0x30
 </TASK>
---[ end trace 0000000000000000 ]---"""

_HUNG = """INFO: task mysqld:811 blocked for more than 122 seconds.
      Not tainted 6.1.0 #1
task:mysqld          state:D stack:0     pid:811   ppid:1      flags:0x00000000
Call Trace:
 <TASK>
 __schedule+0x34d/0x9e0
 schedule+0x5a/0xd0
 xfs_log_force_seq+0x1a0/0x1e0 [xfs]
 xfs_file_fsync+0x14e/0x250 [xfs]
 </TASK>"""

_SOFT = """watchdog: BUG: soft lockup - CPU#2 stuck for 26s! [kworker/2:1:99]
CPU: 2 PID: 99 Comm: kworker/2:1 Tainted: G             L     6.1.0 #1
RIP: 0010:native_queued_spin_lock_slowpath+0x1f/0x2a0
Call Trace:
 <TASK>
 _raw_spin_lock+0x25/0x30
 baz_poll+0x30/0x90 [baz]
 ret_from_fork+0x22/0x30
 </TASK>"""

_OOM = """java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0
CPU: 3 PID: 500 Comm: java Not tainted 6.1.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x44/0x5c
 dump_header+0x4a/0x211
 out_of_memory+0x1fd/0x4c0
 </TASK>
Mem-Info:"""


def test_oops_then_fatal_exception_is_the_oops() -> None:
    report = _parse(_OOPS + "\nKernel panic - not syncing: Fatal exception")
    assert report.crash_type is CrashType.NULL_DEREF
    assert report.title == "BUG: kernel NULL pointer dereference in foo_work"
    assert report.first_failure is not None and "NULL pointer" in report.first_failure.text
    assert report.panic_line is not None and "Fatal exception" in report.panic_line.text
    assert report.fault_address == "0000000000000008"
    lines = report.report_lines()
    assert lines[0] is report.first_failure and report.panic_line in lines


def test_hung_task_then_hung_task_panic_is_hung_task() -> None:
    report = _parse(_HUNG + "\nKernel panic - not syncing: hung_task: blocked tasks")
    assert report.crash_type is CrashType.HUNG_TASK
    assert report.guilty_frame == "xfs_log_force_seq"
    assert (report.comm, report.pid) == ("mysqld", 811)


def test_soft_lockup_then_softlockup_panic_is_soft_lockup() -> None:
    report = _parse(_SOFT + "\nKernel panic - not syncing: softlockup: hung tasks")
    assert report.crash_type is CrashType.SOFT_LOCKUP
    assert report.title == "BUG: soft lockup in baz_poll"
    assert report.taint_flags == ["L"]


def test_oom_report_then_panic_on_oom_is_oom_starting_at_the_report() -> None:
    report = _parse(
        _OOM + "\nKernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled"
    )
    assert report.crash_type is CrashType.OOM
    assert report.first_failure is not None and "invoked oom-killer" in report.first_failure.text
    assert report.guilty_frame is None
    assert any(e.kind is EventKind.OOM_KILL for e in report.events)


def test_earlier_warning_is_an_event_and_the_oops_is_the_cause() -> None:
    report = _parse(_WARNING + "\nusb 1-1: new device\n" + _OOPS)
    assert report.crash_type is CrashType.NULL_DEREF
    assert [e.kind for e in report.events][:1] == [EventKind.WARNING]


def test_warning_with_panic_on_warn_is_the_warning() -> None:
    report = _parse(_WARNING + "\nKernel panic - not syncing: panic_on_warn set ...")
    assert report.crash_type is CrashType.WARNING
    assert report.title == "WARNING in bar_check"


def test_lone_warning_is_a_warning_report() -> None:
    report = _parse(_WARNING)
    assert report.crash_type is CrashType.WARNING
    assert report.panic_line is None
    assert not report.corrupted


def test_warning_then_unrelated_bare_panic_is_the_panic() -> None:
    report = _parse(_WARNING + "\nKernel panic - not syncing: Machine halted.")
    assert report.crash_type is CrashType.PANIC
    assert report.title == "kernel panic: Machine halted."


def test_oops_before_hung_task_panic_is_the_cause() -> None:
    report = _parse(_OOPS + "\n" + _HUNG + "\nKernel panic - not syncing: hung_task: blocked tasks")
    assert report.crash_type is CrashType.NULL_DEREF


def test_truncated_oops_is_corrupted() -> None:
    report = _parse("\n".join(_OOPS.split("\n")[:7]))
    assert report.corrupted and report.corrupted_reason
    header_only = _parse("\n".join(_OOPS.split("\n")[:2]))
    assert header_only.corrupted


def test_fatal_exception_without_oops_is_a_corrupted_oops() -> None:
    report = _parse("Kernel panic - not syncing: Fatal exception in interrupt")
    assert report.crash_type is CrashType.OOPS
    assert report.corrupted


# --- signature -------------------------------------------------------------------------------


def _perturb(text: str, rng: random.Random) -> str:
    """Same bug, another day: new addresses, PIDs, CPU numbers and time stamps."""
    # A fault address in the first page is a NULL pointer plus a field offset: the same bug
    # faults at the same small address every day, so those stay as they are.
    text = re.sub(
        r"\b(?:ffff|0000)[0-9a-f]{12}\b",
        lambda m: (
            m.group(0)
            if int(m.group(0), 16) < 0x1000
            else f"{m.group(0)[:4]}{rng.getrandbits(48):012x}"
        ),
        text,
    )
    text = re.sub(r"\+0x[0-9a-f]+/", lambda m: f"+0x{rng.randrange(1, 4096):x}/", text)
    text = re.sub(r"PID: \d+", lambda m: f"PID: {rng.randrange(2, 99999)}", text)
    text = re.sub(r"CPU: \d+", lambda m: f"CPU: {rng.randrange(0, 64)}", text)
    stamp = re.compile(r"^\[\s*\d+\.\d+\]", re.M)
    return stamp.sub(lambda m: f"[{rng.uniform(1, 99999):12.6f}]", text)


@pytest.mark.parametrize("path", CRASH_FILES[:30], ids=lambda p: p.name)
def test_signature_is_stable_across_addresses_pids_and_times(path: Path) -> None:
    text = read_golden(path).text
    original = parse_log(text)
    if original is None:
        return
    rng = random.Random(path.name)
    for _ in range(3):
        again = parse_log(_perturb(text, rng))
        assert again is not None
        assert again.signature == original.signature


def test_different_bugs_have_different_signatures() -> None:
    signatures: dict[str, set[str]] = {}
    for path in CRASH_FILES:
        report = parse_log(read_golden(path).text)
        if report is not None:
            signatures.setdefault(crash_signature(report), set()).add(report.title)
    assert all(len(titles) == 1 for titles in signatures.values())
    assert len(signatures) > 40


def test_normalize_title() -> None:
    assert normalize_title("BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:214]") == (
        "BUG: soft lockup - CPU#N stuck for Ns! [kworker/N:N:N]"
    )
    assert normalize_title("general protection fault in foo.isra.0+0x1c/0x40 [#2]") == (
        "general protection fault in foo"
    )
    assert normalize_title("in ext4_lookup at 0xffff888012345678") == "in ext4_lookup at ADDR"


# --- taint -----------------------------------------------------------------------------------


def test_decode_taint() -> None:
    assert decode_taint("POE") == [
        "P: proprietary module was loaded",
        "O: externally-built (out-of-tree) module was loaded",
        "E: unsigned module was loaded",
    ]
    assert decode_taint("G        W  OE") == [
        "W: kernel issued warning",
        "O: externally-built (out-of-tree) module was loaded",
        "E: unsigned module was loaded",
    ]
    assert decode_taint("") == [] and decode_taint("G") == []
    assert decode_taint("Z") == ["Z: unknown taint flag"]
    assert taint_letters("P    D  W  O L") == ["P", "D", "W", "O", "L"]


def test_report_fields_from_a_golden_log() -> None:
    report = parse_log(read_golden(GOLDEN / "crash-null-deref-mlx5-tx-cq-5.15.log").text)
    assert report is not None
    assert report.ip_symbol == "mlx5e_poll_tx_cq" and report.ip_module == "mlx5_core"
    assert report.modules[:3] == ["mlx5_ib", "ib_uverbs", "ib_core"]
    assert "megaraid_sas" in report.modules
    assert any(not f.reliable for f in report.call_trace)
    assert str(report.call_trace[11]) == "mlx5e_napi_poll [mlx5_core]"
    assert report.to_dict()["crash_type"] == "null-deref"


# --- speed -----------------------------------------------------------------------------------


def test_a_20kb_log_parses_fast() -> None:
    """The product budget is ~2 ms per log for everything; the parser gets a fraction."""
    from vmcore_parsers.logformat import normalize

    crash = read_golden(GOLDEN / "crash-null-deref-mlx5-tx-cq-5.15.log").text
    boot = read_golden(GOLDEN / "crash-none-clean-boot-laptop.log").text
    text = (boot * 12)[: 20_000 - len(crash)] + crash
    log = normalize(text)
    parse_lines(log.lines, log.format)
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        parse_lines(log.lines, log.format)
    elapsed = (time.perf_counter() - start) / runs
    assert elapsed < 0.003, f"parse_lines took {elapsed * 1000:.2f} ms for 20 KB"


def test_a_log_store_export_is_read_once_more_by_its_message_column() -> None:
    rows = [
        "BUG: kernel NULL pointer dereference, address: 0000000000000010",
        "Oops: 0000 [#1] SMP PTI",
        "RIP: 0010:mlx5e_rx_dim_work+0x1e/0x60 [mlx5_core]",
    ]
    text = "\n".join(
        f'"2023-11-12 10:00:0{i}","web-07","kernel","{row}"' for i, row in enumerate(rows)
    )
    report = parse_log(text)
    assert report is not None
    assert report.crash_type is CrashType.NULL_DEREF
    assert report.lines[0].number == 1

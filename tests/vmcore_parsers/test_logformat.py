"""Tests for `vmcore_parsers.logformat`: every transport shape comes out as clean kernel lines."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from vmcore_parsers.golden import read_golden
from vmcore_parsers.logformat import LOG_FORMATS, NormalizedLog, normalize, unwrap_columns
from vmcore_parsers.report import LogLine

GOLDEN = Path(__file__).parent / "golden"
# What a transport prefix looks like: printk time, level, syslog/journal stamps, kmsg headers.
_PREFIX = re.compile(
    r"\[\s*\d+\.\d+\]|<\d+>|[A-Z][a-z]{2} [ \d]\d \d\d:|\d{4}-\d\d-\d\dT|\d+,\d+,\d+,"
    r"|kern\s*:|\S+ kernel: |(?:Panic|Oops)#\d"
)
SHAPE_FILES = sorted(GOLDEN.glob("shape-*.log"))

# (number, text, timestamp, caller, kernel) of every expected output line.
Row = tuple[int, str, float | None, str | None, bool]


def rows(log: NormalizedLog) -> list[Row]:
    """The output as plain tuples, for exact comparisons."""
    return [(ln.number, ln.text, ln.timestamp, ln.caller, ln.kernel) for ln in log.lines]


# --- Format detection and line fields, one case per shape ---------------------------------

CASES: list[tuple[str, str, str, list[Row]]] = [
    (
        "dmesg",
        "[    0.000000] Linux version 6.1.0\n[    5.123456] usb 1-1: new high-speed USB device\n",
        "dmesg",
        [
            (1, "Linux version 6.1.0", 0.0, None, True),
            (2, "usb 1-1: new high-speed USB device", 5.123456, None, True),
        ],
    ),
    (
        "dmesg-console-caller",
        "[    5.123456][  T123] BUG: oops\n[    5.123460][    C1] NMI backtrace for cpu 1\n",
        "dmesg",
        [
            (1, "BUG: oops", 5.123456, "T123", True),
            (2, "NMI backtrace for cpu 1", 5.12346, "C1", True),
        ],
    ),
    (
        "dmesg-util-linux-caller",
        "[    5.123456] [  T123] BUG: oops\n[    5.200000] [    C0] rcu: stall\n",
        "dmesg",
        [(1, "BUG: oops", 5.123456, "T123", True), (2, "rcu: stall", 5.2, "C0", True)],
    ),
    (
        "dmesg-call-trace-indentation-kept",
        "[   12.000001] Call Trace:\n[   12.000002]  <TASK>\n[   12.000003]  ? die+0x36/0x90\n",
        "dmesg",
        [
            (1, "Call Trace:", 12.000001, None, True),
            (2, " <TASK>", 12.000002, None, True),
            (3, " ? die+0x36/0x90", 12.000003, None, True),
        ],
    ),
    (
        "dmesg-raw-levels",
        "<6>[    0.000000] Linux version\n<14>[    3.100000] systemd[1]: Detected kvm.\n"
        "<4>[    5.100000] WARNING: CPU: 0\n",
        "dmesg",
        [
            (1, "Linux version", 0.0, None, True),
            (2, "systemd[1]: Detected kvm.", 3.1, None, False),
            (3, "WARNING: CPU: 0", 5.1, None, True),
        ],
    ),
    (
        "dmesg-levels-without-time",
        "<6>Linux version 5.4.0\n<4>WARNING: CPU: 2 PID: 1\n<0>Kernel panic - not syncing: x\n",
        "dmesg",
        [
            (1, "Linux version 5.4.0", None, None, True),
            (2, "WARNING: CPU: 2 PID: 1", None, None, True),
            (3, "Kernel panic - not syncing: x", None, None, True),
        ],
    ),
    (
        "dmesg-continuation-record",
        "[  100.000001] Mem-Info:\n[  100.000002] active_anon:1 inactive_anon:2\n"
        " active_file:3 inactive_file:4\n[  100.000003] Node 0 free:1kB\n",
        "dmesg",
        [
            (1, "Mem-Info:", 100.000001, None, True),
            (2, "active_anon:1 inactive_anon:2", 100.000002, None, True),
            (3, " active_file:3 inactive_file:4", 100.000002, None, True),
            (4, "Node 0 free:1kB", 100.000003, None, True),
        ],
    ),
    (
        "dmesg-pasted-preamble-is-not-kernel",
        "output of dmesg on node7:\n\n[    1.000000] a\n[    2.000000] b\n[    3.000000] c\n",
        "dmesg",
        [
            (1, "output of dmesg on node7:", None, None, False),
            (3, "a", 1.0, None, True),
            (4, "b", 2.0, None, True),
            (5, "c", 3.0, None, True),
        ],
    ),
    (
        "dmesg-T",
        "[Mon Nov 23 09:12:01 2026] Linux version\n[Mon Nov  3 09:12:02 2026] [  T42] BUG: x\n",
        "dmesg-T",
        [(1, "Linux version", None, None, True), (2, "BUG: x", None, "T42", True)],
    ),
    (
        "dmesg-time-format-iso",
        "2026-11-23T09:12:01,123456+00:00 Linux version\n2026-11-23T09:12:02,000001+00:00 BUG: x\n",
        "dmesg-T",
        [(1, "Linux version", None, None, True), (2, "BUG: x", None, None, True)],
    ),
    (
        "dmesg-decode",
        "kern  :info  : [    0.000000] Linux version\n"
        "daemon:info  : [    3.000000] systemd[1]: Started x.\n"
        "kern  :warn  : [    5.100000] WARNING: CPU: 1\n",
        "dmesg-decode",
        [
            (1, "Linux version", 0.0, None, True),
            (2, "systemd[1]: Started x.", 3.0, None, False),
            (3, "WARNING: CPU: 1", 5.1, None, True),
        ],
    ),
    (
        "journalctl-short",
        "-- Logs begin at Mon 2026-11-23 09:00:00 UTC. --\n"
        "Nov 23 09:12:01 web1 kernel: BUG: kernel NULL pointer dereference\n"
        "Nov 23 09:12:01 web1 systemd[1]: Started Session 3.\n"
        "Nov 23 09:12:02 web1 kernel:  <TASK>\n"
        "-- Boot 0123456789abcdef0123456789abcdef --\n"
        "Nov 23 09:15:00 web1 kernel: Linux version 6.1.0\n",
        "journalctl-short",
        [
            (2, "BUG: kernel NULL pointer dereference", None, None, True),
            (3, "systemd[1]: Started Session 3.", None, None, False),
            (4, " <TASK>", None, None, True),
            (6, "Linux version 6.1.0", None, None, True),
        ],
    ),
    (
        "journalctl-short-monotonic",
        "[  123.456789] web1 kernel: usb 1-1: new device\n"
        "[  124.000000] web1 systemd[1]: Started x.\n"
        "[  125.000001] web1 kernel: Oops: 0000 [#1] SMP\n",
        "journalctl-short-monotonic",
        [
            (1, "usb 1-1: new device", 123.456789, None, True),
            (2, "systemd[1]: Started x.", 124.0, None, False),
            (3, "Oops: 0000 [#1] SMP", 125.000001, None, True),
        ],
    ),
    (
        "journalctl-short-iso",
        "2026-11-23T09:12:01+0000 web1 kernel: BUG: x\n2026-11-23T09:12:01+0000 web1 sshd[9]: y\n",
        "journalctl-short-iso",
        [(1, "BUG: x", None, None, True), (2, "sshd[9]: y", None, None, False)],
    ),
    (
        "journalctl-short-iso-precise-with-marker",
        "-- Boot 0c4a1e2f3b5d4c6e9a7b8c9d0e1f2a3b --\n"
        "2026-11-23T09:12:01.123456+00:00 web1 kernel: BUG: x\n",
        "journalctl-short-iso",
        [(2, "BUG: x", None, None, True)],
    ),
    (
        "syslog-kern-log-keeps-printk-time",
        "Nov  3 09:12:01 web1 kernel: [   12.300000] BUG: x\n"
        "Nov  3 09:12:01 web1 kernel: [   12.400000] [  T77] Call Trace:\n"
        "Nov  3 09:12:02 web1 rsyslogd: [origin software=rsyslogd] start\n",
        "syslog",
        [
            (1, "BUG: x", 12.3, None, True),
            (2, "Call Trace:", 12.4, "T77", True),
            (3, "rsyslogd: [origin software=rsyslogd] start", None, None, False),
        ],
    ),
    (
        "syslog-rfc3339",
        "2026-11-23T09:12:01.123456+00:00 web1 kernel: BUG: x\n"
        "2026-11-23T09:12:02.000000+00:00 web1 CRON[12]: (root) CMD (true)\n",
        "syslog",
        [(1, "BUG: x", None, None, True), (2, "CRON[12]: (root) CMD (true)", None, None, False)],
    ),
    (
        "kmsg",
        "6,1234,5678901,-;pci 0000:00:01.0: [8086:1237]\n"
        " SUBSYSTEM=pci\n"
        " DEVICE=+pci:0000:00:01.0\n"
        "4,1235,5679000,-,caller=T12;WARNING: CPU: 0\n"
        "12,1236,5679100,-;systemd[1]: user message\n",
        "kmsg",
        [
            (1, "pci 0000:00:01.0: [8086:1237]", 5.678901, None, True),
            (4, "WARNING: CPU: 0", 5.679, "T12", True),
            (5, "systemd[1]: user message", 5.6791, None, False),
        ],
    ),
    (
        "kmsg-netconsole-fragments",
        "4,77,9000000,-,caller=C6,ncfrag=0/20;Modules linked \n"
        "4,77,9000000,-,caller=C6,ncfrag=13/20;in: a b c\n"
        "0,78,9000001,-,caller=C6;Kernel panic - not syncing: x\n",
        "kmsg",
        [
            (1, "Modules linked in: a b c", 9.0, "C6", True),
            (3, "Kernel panic - not syncing: x", 9.000001, "C6", True),
        ],
    ),
    (
        "netconsole-receiver",
        "2026-11-23T09:12:01 10.0.0.5 [   12.300000] BUG: x\n"
        "2026-11-23T09:12:01 10.0.0.5 [   12.300100]  <TASK>\n",
        "netconsole",
        [(1, "BUG: x", 12.3, None, True), (2, " <TASK>", 12.3001, None, True)],
    ),
    (
        "netconsole-rsyslog-receiver",
        "Nov 23 09:12:01 10.0.0.5 [   12.300000] BUG: x\nNov 23 09:12:01 10.0.0.5 [   12.4] y\n",
        "netconsole",
        [(1, "BUG: x", 12.3, None, True), (2, "y", 12.4, None, True)],
    ),
    (
        "plain",
        "BUG: kernel NULL pointer dereference, address: 0000000000000010\nCall Trace:\n <TASK>\n",
        "plain",
        [
            (
                1,
                "BUG: kernel NULL pointer dereference, address: 0000000000000010",
                None,
                None,
                True,
            ),
            (2, "Call Trace:", None, None, True),
            (3, " <TASK>", None, None, True),
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [pytest.param(text, fmt, expected, id=name) for name, text, fmt, expected in CASES],
)
def test_shapes(text: str, fmt: str, expected: list[Row]) -> None:
    log = normalize(text)
    assert log.format == fmt
    assert rows(log) == expected


def test_formats_are_listed() -> None:
    for _, _, fmt, _ in CASES:
        assert fmt in LOG_FORMATS
    assert {"serial-console", "pstore", "vmcore-dmesg", "unknown"} <= set(LOG_FORMATS)
    assert len(set(LOG_FORMATS)) == len(LOG_FORMATS)


# --- Serial console -----------------------------------------------------------------------


SERIAL = (
    "\x00\x00SeaBIOS (version 1.16)\r\n"
    "[    0.000000] Linux version 6.8.9\r\n"
    "[\x1b[0;32m  OK  \x1b[0m] Started Journal Service.\r\n"
    "[  *** ] A start job is running (4s / 1min 30s)\r[\x1b[0;32m  OK  \x1b[0m] Finished x.\r\n"
    "         Starting systemd-logind.service...\r\n"
    "\r\n"
    "archvm login: [   48.118723] BUG: kernel NULL pointer dereference\r\n"
    "[   48.119401] #PF: supervisor read access in kernel mode\r\n"
    "[   48.119402]  <TASK>\r\n"
)


def test_serial_console() -> None:
    log = normalize(SERIAL)
    assert log.format == "serial-console"
    assert rows(log) == [
        (1, "SeaBIOS (version 1.16)", None, None, False),
        (2, "Linux version 6.8.9", 0.0, None, True),
        (3, "[  OK  ] Started Journal Service.", None, None, False),
        (4, "[  OK  ] Finished x.", None, None, False),
        (5, "         Starting systemd-logind.service...", None, None, False),
        (7, "BUG: kernel NULL pointer dereference", 48.118723, None, True),
        (8, "#PF: supervisor read access in kernel mode", 48.119401, None, True),
        (9, " <TASK>", 48.119402, None, True),
    ]


def test_serial_console_without_printk_time_keeps_kernel_lines() -> None:
    text = (
        "\x1b[0m[  OK  ] Reached target Multi-User System.\r\n"
        "BUG: soft lockup - CPU#0 stuck for 22s! [dd:1490]\r\n"
        "Call Trace:\r\n"
    )
    log = normalize(text)
    assert log.format == "serial-console"
    assert [ln.kernel for ln in log.lines] == [False, True, True]


def test_clean_crlf_dmesg_is_dmesg() -> None:
    text = "[    1.000000] a\r\n[    2.000000] b\r\n"
    log = normalize(text)
    assert log.format == "dmesg"
    assert [ln.text for ln in log.lines] == ["a", "b"]


# --- pstore -------------------------------------------------------------------------------


def test_pstore_parts_are_put_back_oldest_first() -> None:
    # `cat dmesg-ramoops-0 dmesg-ramoops-1`: Part1 is the newest chunk, Part2 the one before.
    text = (
        "Panic#1 Part1\n"
        "<4>[  100.000000] BUG: x\n"
        "<0>[  100.100000] Kernel panic - not syncing: Fatal exception\n"
        "Panic#1 Part2\n"
        "<6>[    0.000000] Linux version\n"
        "<6>[   50.000000] eth0: link up\n"
    )
    log = normalize(text)
    assert log.format == "pstore"
    assert rows(log) == [
        (5, "Linux version", 0.0, None, True),
        (6, "eth0: link up", 50.0, None, True),
        (2, "BUG: x", 100.0, None, True),
        (3, "Kernel panic - not syncing: Fatal exception", 100.1, None, True),
    ]


def test_pstore_in_order_parts_and_several_dumps() -> None:
    text = (
        "Oops#1 Part2\n<6>[    1.000000] a\n"
        "Oops#1 Part1\n<4>[    2.000000] b\n"
        "Panic#2 Part1\n<0>[    3.000000] c\n"
    )
    log = normalize(text)
    assert log.format == "pstore"
    assert [(ln.number, ln.text) for ln in log.lines] == [(2, "a"), (4, "b"), (6, "c")]


def test_pstore_single_part_and_ramoops_header() -> None:
    text = "Emergency#1 Part1\n====1708871511.123456-D\n<2>[    9.000000] x\n<2>[    9.1] y\n"
    log = normalize(text)
    assert log.format == "pstore"
    assert rows(log) == [(3, "x", 9.0, None, True), (4, "y", 9.1, None, True)]


# --- Robustness ---------------------------------------------------------------------------


WEIRD = [
    "",
    "\n\n\n",
    "   \r\n\t\r\n",
    "\x00" * 100,
    "\x1b[31m\x1b]0;title\x07\x1b(B",
    "\r\r\r",
    "[",
    "<",
    "<999999999>",
    "[ 1.] x",
    "[99999999999999999999.9] x",
    "Panic#1 Part1",
    "Panic#1 Part1\nPanic#1 Part2\n",
    "1,2,3,;",
    " SUBSYSTEM=pci",
    "Nov 23 09:12:01",
    "Nov 23 09:12:01 host",
    "[ 1.000000] host kernel:",
    "\udcff\udcfe\ufffd binary \x7f\x80\x9f",
    "-- Boot abc --",
    "kern  :warn  : ",
    "\u2028\x85\x0c\x0b form feeds",
]


@pytest.mark.parametrize("text", WEIRD)
def test_weird_input_never_raises(text: str) -> None:
    log = normalize(text)
    assert log.format in LOG_FORMATS
    for line in log.lines:
        assert isinstance(line, LogLine)
        assert line.number >= 1
        assert "\n" not in line.text and "\r" not in line.text and "\x00" not in line.text


def test_empty_input_is_unknown() -> None:
    assert normalize("") == NormalizedLog(format="unknown", lines=[])
    assert normalize("\r\n \n").format == "unknown"


def test_binary_garbage_is_unknown_and_kept() -> None:
    rnd = random.Random(1)
    blob = bytes(rnd.randrange(256) for _ in range(4000)).decode("latin-1")
    blob = "".join(ch if ord(ch) % 3 else "\x00" for ch in blob)
    log = normalize(blob)
    assert log.format in {"unknown", "plain"}
    assert log.lines


def test_fuzz_never_raises() -> None:
    rnd = random.Random(20261123)
    # Fragments of every shape's syntax, glued at random.
    pieces = ["[", "]", "<", ">", "T", "C", "1", "23", ".", "456789", ",", ";", "-", ":", "="]
    pieces += ["m", "kernel:", "caller=", "ncfrag=", "SUBSYSTEM"]
    pieces += [" ", "  ", "\t", "\r", "\n", "\r\n", "\x1b[", "\x00", "\udcff", "é"]
    pieces += ["Nov 23 09:12:01 ", "2026-11-23T09:12:01", "+00:00", "Panic#", " Part"]
    pieces += ["kern  :warn  : ", "[  OK  ]", "login: ", "-- Boot "]
    for _ in range(400):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 120)))
        log = normalize(text)
        assert log.format in LOG_FORMATS
        numbers = len(text.split("\n"))
        assert all(1 <= ln.number <= numbers for ln in log.lines)


def test_line_numbers_count_only_newlines() -> None:
    # Form feeds, vertical tabs and Unicode separators are not line breaks for line numbers.
    text = "[    1.000000] a\x0cb\n[    2.000000] c\u2028d\n\n[    3.000000] e\n"
    log = normalize(text)
    assert [(ln.number, ln.text) for ln in log.lines] == [(1, "ab"), (2, "c\u2028d"), (4, "e")]


def test_mixed_file_is_parsed_line_by_line() -> None:
    # A syslog with a dmesg pasted into it: both kinds of kernel line come out.
    text = (
        "Nov 23 09:12:01 web1 kernel: a\n"
        "Nov 23 09:12:02 web1 kernel: b\n"
        "Nov 23 09:12:03 web1 kernel: c\n"
        "[   12.000000] d\n"
    )
    log = normalize(text)
    assert log.format == "journalctl-short"
    assert [(ln.text, ln.timestamp, ln.kernel) for ln in log.lines] == [
        ("a", None, True),
        ("b", None, True),
        ("c", None, True),
        ("d", 12.0, True),
    ]


def test_speed_50k() -> None:
    line = "[  123.456789] CPU: 3 PID: 1234 Comm: kworker/3:1 Tainted: G           OE     5.15.0\n"
    text = line * (50_000 // len(line))
    normalize(text)
    start = time.perf_counter()
    normalize(text)
    elapsed = time.perf_counter() - start
    # The budget is 1 ms per KB; leave plenty of room for slow CI machines.
    assert elapsed < 0.05 * 10


# --- Golden shape files -------------------------------------------------------------------


def test_golden_shape_files_exist() -> None:
    assert len(SHAPE_FILES) >= 22
    shapes = {read_golden(path).headers["FORMAT"] for path in SHAPE_FILES}
    detected = set(LOG_FORMATS) - {"vmcore-dmesg", "unknown"}
    assert detected <= shapes


@pytest.mark.parametrize("path", SHAPE_FILES, ids=[p.name for p in SHAPE_FILES])
def test_golden_shape(path: Path) -> None:
    golden = read_golden(path)
    for key in ("TITLE", "TYPE", "FRAME", "CORRUPTED", "FORMAT"):
        assert key in golden.headers, f"{path.name}: missing {key}"
    log = normalize(golden.text)
    assert log.format == golden.headers["FORMAT"]
    kernel = [ln for ln in log.lines if ln.kernel]
    assert len(kernel) >= 25
    total = len(golden.text.split("\n"))
    assert all(1 <= ln.number <= total for ln in log.lines)
    if log.format != "pstore":
        numbers = [ln.number for ln in log.lines]
        assert numbers == sorted(set(numbers))
    # No transport prefix survives on a kernel line.
    for ln in kernel:
        assert not _PREFIX.match(ln.text), ln
    # The panic line the header names is among the kernel's lines, verbatim.
    panic = golden.headers.get("PANIC")
    if panic:
        assert any(ln.text == panic for ln in kernel)


@pytest.mark.parametrize(
    "text",
    [
        "a@b:" * 100_000,
        "\x1b[0m[  OK  ] x\r\n" + "a@b:" * 100_000 + "\r\n",
        "[" + " " * 200_000,
        "[ 1.1" * 100_000,
        "Nov 23 09:12:01 h " * 50_000,
        "\r".join(["abc"] * 100_000),
        "6,1,2," + "x" * 400_000,
    ],
    ids=["at-colon", "serial-at-colon", "bracket-spaces", "ts-like", "stamps", "cr", "kmsg"],
)
def test_hostile_lines_stay_linear(text: str) -> None:
    start = time.perf_counter()
    normalize(text)
    # Backtracking blow-ups take minutes here; linear scans take milliseconds.
    assert time.perf_counter() - start < 2.0


def test_console_dominated_by_user_space_output() -> None:
    # A console captured with LF endings and no systemd status column: unprefixed lines are
    # other programs' output once the kernel's own lines carry timestamps.
    text = "".join(f"worker {i}: processed batch\n" for i in range(20))
    text += "[  100.000000] BUG: soft lockup - CPU#1 stuck for 22s! [java:99]\n"
    text += "[  100.000100] Call Trace:\n[  100.000200]  <TASK>\n"
    log = normalize(text)
    assert log.format == "serial-console"
    assert [ln.kernel for ln in log.lines] == [False] * 20 + [True] * 3


def test_stray_timestamp_in_plain_text_stays_plain() -> None:
    text = "".join(f"line {i} of a plain oops\n" for i in range(60)) + "[    1.500000] odd\n"
    log = normalize(text)
    assert log.format == "plain"
    assert all(ln.kernel for ln in log.lines)


def test_journal_without_hostname() -> None:
    text = "Nov 23 09:12:01 kernel: BUG: x\nNov 23 09:12:02 systemd[1]: Started y.\n"
    log = normalize(text)
    assert log.format == "journalctl-short"
    assert rows(log) == [
        (1, "BUG: x", None, None, True),
        (2, "systemd[1]: Started y.", None, None, False),
    ]


def test_long_dmesg_middle_lines_parsed_like_sampled_ones() -> None:
    # Past the vote sample (head and tail), the middle of a long log is parsed in its own pass.
    lines = [f"[ {i:4d}.000001] [  T{i}] line {i}" for i in range(1, 451)]
    lines[200] = "<12>[  200.000001] user line"
    lines[350] = "   continued"
    text = "\n".join(lines) + "\n\n"
    log = normalize(text)
    assert log.format == "dmesg"
    got = rows(log)
    assert len(got) == 450
    assert got[0] == (1, "line 1", 1.000001, "T1", True)
    assert got[200] == (201, "user line", 200.000001, None, False)
    assert got[350] == (351, "   continued", 350.000001, "T350", True)
    assert got[449] == (450, "line 450", 450.000001, "T450", True)


def test_journal_lines_off_the_common_shape() -> None:
    """Journal lines the bulk pattern does not take are parsed one by one, in place."""
    common = [f"Nov 03 09:12:{i:02d} host kernel: usb 1-{i}: new device" for i in range(12)]
    odd = [
        "Nov 03 09:13:00 systemd[1]: --no-hostname line",  # the host is the identifier
        "Nov 03 09:13:01 host kernel: <4>[   12.500000] level inside",
        "Nov 03 09:13:02 host kernel: [   12.600000] [T42] caller id",
        "  an indented continuation",
    ]
    log = normalize("\n".join(common[:6] + odd + common[6:]))
    assert log.format == "journalctl-short"
    assert [line.number for line in log.lines] == list(range(1, 17))
    assert log.lines[0] == LogLine(1, "usb 1-0: new device", None, None, True)
    assert log.lines[6] == LogLine(7, "systemd[1]: --no-hostname line", None, None, False)
    assert log.lines[7] == LogLine(8, "level inside", 12.5, None, True)
    assert log.lines[8] == LogLine(9, "caller id", 12.6, "T42", True)
    assert log.lines[9] == LogLine(10, "  an indented continuation", 12.6, "T42", True)


# --- Quoted logs (mail replies, bug tracker quotes) ---------------------------------------


def test_quoted_dmesg_in_mail_reply() -> None:
    text = (
        "On Tue, Nov 24, 2026 at 10:41, Jonas wrote:\n"
        "> Hi, the box oopsed after resume:\n"
        ">\n"
        "> [ 4218.204466] BUG: kernel NULL pointer dereference, address: 0000000000000018\n"
        "> [ 4218.204618] Call Trace:\n"
        ">[ 4218.204621]  <TASK>\n"
        "> [ 4218.204690]  iwl_mvm_mac_ampdu_action+0x1a4/0x2f0 [iwlmvm]\n"
        "> [ 4218.204975]  </TASK>\n"
        ">\n"
        "Can you try disable_11ax=1?\n"
    )
    log = normalize(text)
    assert log.format == "dmesg"
    assert rows(log) == [
        (1, "On Tue, Nov 24, 2026 at 10:41, Jonas wrote:", None, None, False),
        (2, "Hi, the box oopsed after resume:", None, None, False),
        (
            4,
            "BUG: kernel NULL pointer dereference, address: 0000000000000018",
            4218.204466,
            None,
            True,
        ),
        (5, "Call Trace:", 4218.204618, None, True),
        (6, " <TASK>", 4218.204621, None, True),
        (7, " iwl_mvm_mac_ampdu_action+0x1a4/0x2f0 [iwlmvm]", 4218.20469, None, True),
        (8, " </TASK>", 4218.204975, None, True),
        (10, "Can you try disable_11ax=1?", None, None, False),
    ]


def test_quoted_twice_dmesg_t_keeps_the_outer_reply_quoted() -> None:
    text = (
        "> > [Mon Nov 23 09:12:01 2026] watchdog: BUG: soft lockup - CPU#3 stuck for 26s!\n"
        "> > [Mon Nov 23 09:12:01 2026] CPU: 3 PID: 991 Comm: fio Not tainted 6.1.0\n"
        ">> [Mon Nov 23 09:12:02 2026] Kernel panic - not syncing: softlockup: hung tasks\n"
        "> Same here on 6.1.0.\n"
    )
    log = normalize(text)
    assert log.format == "dmesg-T"
    assert [(ln.number, ln.text, ln.kernel) for ln in log.lines] == [
        (1, "watchdog: BUG: soft lockup - CPU#3 stuck for 26s!", True),
        (2, "CPU: 3 PID: 991 Comm: fio Not tainted 6.1.0", True),
        (3, "Kernel panic - not syncing: softlockup: hung tasks", True),
        (4, "> Same here on 6.1.0.", False),
    ]


def test_quoted_journal() -> None:
    text = (
        "> Nov 23 09:12:01 web1 kernel: BUG: unable to handle page fault for address: ffff8\n"
        "> Nov 23 09:12:01 web1 kernel: Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "> Nov 23 09:12:02 web1 systemd[1]: nginx.service: Main process exited\n"
    )
    log = normalize(text)
    assert log.format == "journalctl-short"
    assert rows(log) == [
        (1, "BUG: unable to handle page fault for address: ffff8", None, None, True),
        (2, "Oops: 0000 [#1] PREEMPT SMP NOPTI", None, None, True),
        (3, "systemd[1]: nginx.service: Main process exited", None, None, False),
    ]


def test_few_quoted_lines_are_left_alone() -> None:
    lines = [f"[   {i}.000000] line {i}" for i in range(1, 9)]
    lines[4] = "> not a quote marker, a stray line"
    log = normalize("\n".join(lines))
    assert log.format == "dmesg"
    assert log.lines[4] == LogLine(5, "> not a quote marker, a stray line", None, None, False)
    assert [ln.number for ln in log.lines] == list(range(1, 9))


def test_quoted_long_log_is_unquoted_past_the_sample() -> None:
    body = "".join(f"> [ {i:5d}.000001] line {i}\n" for i in range(1, 1001))
    log = normalize("Pasted from the serial log:\n" + body)
    assert log.format == "dmesg"
    assert len(log.lines) == 1001
    assert log.lines[500] == LogLine(501, "line 500", 500.000001, None, True)


# --- Kernel lines glued to a prompt -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "text", "timestamp"),
    [
        (
            "root@host:~# [   45.1] Kernel panic - not syncing: sysrq triggered crash",
            "Kernel panic - not syncing: sysrq triggered crash",
            45.1,
        ),
        (
            "login: [   12.3] BUG: unable to handle page fault",
            "BUG: unable to handle page fault",
            12.3,
        ),
        ("archvm login: [   48.118723] Oops: 0002 [#1] SMP", "Oops: 0002 [#1] SMP", 48.118723),
        ("/ # [    7.500000][  T191] WARNING: CPU: 0 PID: 191", "WARNING: CPU: 0 PID: 191", 7.5),
    ],
)
def test_timestamped_kernel_line_after_prompt(line: str, text: str, timestamp: float) -> None:
    log = normalize(f"[    1.000000] Linux version 6.6.0\n{line}\n[   99.000000] Call Trace:\n")
    assert log.lines[1].text == text
    assert log.lines[1].timestamp == timestamp
    assert log.lines[1].kernel


def test_bare_crash_headers_after_prompts_on_a_console_without_time() -> None:
    text = (
        "\x1b[0;32m[  OK  ] Reached target multi-user.target.\x1b[0m\r\n"
        "Run /sbin/init as init process\r\n"
        "[root@host ~]# BUG: spinlock lockup suspected on CPU#0, kworker/0:1/23\r\n"
        "host:~ # Unable to handle kernel paging request at virtual address dead000000000108\r\n"
        "sh-5.2# rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\r\n"
        "(initramfs) INFO: task kworker/u8:2:57 blocked for more than 120 seconds.\r\n"
        "$ watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [swapper/1:0]\r\n"
        "# Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: f+0x1\r\n"
        "root@host:~# echo c > /proc/sysrq-trigger\r\n"
        "root@host:~# Oopsie, that is not the kernel\r\n"
    )
    log = normalize(text)
    assert log.format == "serial-console"
    assert [(ln.text, ln.kernel) for ln in log.lines] == [
        ("[  OK  ] Reached target multi-user.target.", False),
        ("Run /sbin/init as init process", True),
        ("BUG: spinlock lockup suspected on CPU#0, kworker/0:1/23", True),
        ("Unable to handle kernel paging request at virtual address dead000000000108", True),
        ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", True),
        ("INFO: task kworker/u8:2:57 blocked for more than 120 seconds.", True),
        ("watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [swapper/1:0]", True),
        (
            "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: f+0x1",
            True,
        ),
        ("root@host:~# echo c > /proc/sysrq-trigger", False),
        ("root@host:~# Oopsie, that is not the kernel", False),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "root@h:" + "a" * 200_000 + "\n[    1.000000] x\n",
        "[a@b " + "x" * 200_000 + "\n[    1.000000] x\n",
        "> " * 200_000,
        ("> " * 1000 + "\n") * 200,
        "# " * 100_000 + "BUG:",
    ],
    ids=["prompt-colon", "prompt-bracket", "quote-markers", "quote-lines", "hash-prompts"],
)
def test_prompt_and_quote_handling_stays_linear(text: str) -> None:
    start = time.perf_counter()
    normalize(text)
    assert time.perf_counter() - start < 2.0


def test_dmesg_decode_with_two_time_formats_and_caller_ids() -> None:
    """`dmesg -x` asked for a delta and a ctime prints both stamps, then the caller id."""
    text = "\n".join(
        f"kern  :err   : [  +0.00{i}354] [Tue Jan 13 04:33:1{i} 2026] [T8897{i}] message {i}"
        for i in range(5)
    )
    log = normalize(text)
    assert log.format == "dmesg-decode"
    assert [line.text for line in log.lines] == [f"message {i}" for i in range(5)]
    assert [line.caller for line in log.lines] == [f"T8897{i}" for i in range(5)]


def test_kernel_tag_without_stamp_or_host_is_stripped() -> None:
    """Kernel lines cut out of a syslog with only their `kernel:` tag left (log shippers)."""
    text = (
        "kernel: {37}[Hardware Error]: event severity: corrected\n"
        "kernel: {37}[Hardware Error]:   section_type: memory error\n"
        "kernel: [  12.345678] EDAC MC0: 1 CE memory read error\n"
    )
    log = normalize(text)
    assert [line.text for line in log.lines] == [
        "{37}[Hardware Error]: event severity: corrected",
        "{37}[Hardware Error]:   section_type: memory error",
        "EDAC MC0: 1 CE memory read error",
    ]
    assert log.lines[2].timestamp == 12.345678
    assert all(line.kernel for line in log.lines)


def test_syslogd_wall_broadcast_among_syslog_lines_is_a_kernel_line() -> None:
    """syslogd's wall copy (` kernel:[ts] msg`, indented) is not the continuation of the line
    before it."""
    text = (
        "Dec 18 18:09:06 vm kernel: [ 1477.440000] shim: link up\n"
        "\n"
        "Message from syslogd@vm at Dec 18 18:09:07 ...\n"
        " kernel:[ 1477.447096] BUG: spinlock bad magic on CPU#3, swapper/0/0\n"
        "Dec 18 18:09:07 vm kernel: [ 1477.450007] CPU: 0 PID: 0 Comm: swapper/0 Not tainted\n"
    )
    log = normalize(text)
    bug = [line for line in log.lines if "spinlock bad magic" in line.text]
    assert len(bug) == 1
    assert bug[0].text == "BUG: spinlock bad magic on CPU#3, swapper/0/0"
    assert bug[0].kernel and bug[0].timestamp == 1477.447096


def test_node_problem_detector_event_rows_are_unwrapped() -> None:
    """`kubectl describe` events of node-problem-detector's kernel monitor carry the message
    behind their type, reason, age and source columns."""
    text = (
        "  Warning  Ext4Error    2m13s                  kernel-monitor  EXT4-fs error "
        "(device nvme19n1): ext4_wait_block_bitmap:517: comm etcd: Cannot read block bitmap\n"
        "  Warning  Ext4Error    2m12s (x2 over 2m13s)  kernel-monitor  EXT4-fs error "
        "(device nvme19n1): __ext4_find_entry:1531: inode #2: comm sh: reading directory\n"
    )
    log = normalize(text)
    assert [line.text[:29] for line in log.lines] == ["EXT4-fs error (device nvme19n1)"[:29]] * 2


def test_console_logger_wall_clock_in_brackets_is_stripped() -> None:
    """`[2021/07/05, 13:43:52.334] msg`: a serial logger's clock, the message after it."""
    text = (
        "\n".join(f"[2021/07/05, 13:43:5{i}.334] message {i}" for i in range(4))
        + "\n[2026-03-28 22:39:25] BUG: scheduling while atomic: ksoftirqd/0/3/0x00010102"
    )
    log = normalize(text)
    assert [line.text for line in log.lines][:2] == ["message 0", "message 1"]
    assert log.lines[-1].text == "BUG: scheduling while atomic: ksoftirqd/0/3/0x00010102"
    assert all(line.kernel for line in log.lines)


@pytest.mark.parametrize(
    ("wrapped", "message"),
    [
        (
            '"2023-11-12 10:00:01.000","web-07","kernel","BUG: soft ""lockup"""',
            'BUG: soft "lockup"',
        ),
        ("2023-11-12T10:00:01Z\tweb-07\tkernel\tBUG: soft lockup", "BUG: soft lockup"),
        ("2023-11-12T10:00:01.123456789Z stdout F BUG: soft lockup", "BUG: soft lockup"),
        ("- BUG: soft lockup", "BUG: soft lockup"),
    ],
    ids=["csv-export", "tab-separated", "cri-log", "markdown-list"],
)
def test_columns_of_exported_logs_are_cut_to_the_message(wrapped: str, message: str) -> None:
    unwrapped = unwrap_columns("\n".join([wrapped] * 3))
    assert unwrapped is not None
    assert unwrapped.split("\n") == [message] * 3


def test_a_plain_log_has_no_columns_to_cut() -> None:
    assert unwrap_columns("[    1.000000] a\n[    2.000000] b - c\n") is None

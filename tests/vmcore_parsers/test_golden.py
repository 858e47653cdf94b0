"""One test case per golden log: the parser's answer must match the file's header.

Required headers: TITLE, TYPE (a CrashType value, or `none` when `parse_log` returns None),
FRAME (guilty frame, empty for none), CORRUPTED (`no`, or the reason in words: only whether
the log is corrupted is compared), FORMAT. Optional headers are compared when present: ARCH,
KERNEL, TAINT (flag letters), CPU, COMM, PID, HARDWARE, ADDRESS, PANIC (the panic line text).
Runs the parser's `crash-*.log` files and the log-format `shape-*.log` files alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vmcore_parsers.golden import GoldenFile, read_golden, write_golden
from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import CrashType, PanicReport

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("crash-*.log")) + sorted(GOLDEN.glob("shape-*.log"))
REQUIRED = ("TITLE", "TYPE", "FRAME", "CORRUPTED", "FORMAT")
OPTIONAL = ("ARCH", "KERNEL", "TAINT", "CPU", "COMM", "PID", "HARDWARE", "ADDRESS", "PANIC")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def actual_headers(report: PanicReport | None, log_format: str) -> dict[str, str]:
    """The parser's answer in golden-header form."""
    if report is None:
        return {"TITLE": "", "TYPE": "none", "FRAME": "", "CORRUPTED": "no", "FORMAT": log_format}
    return {
        "TITLE": report.title,
        "TYPE": report.crash_type.value,
        "FRAME": _text(report.guilty_frame),
        "CORRUPTED": report.corrupted_reason or "yes" if report.corrupted else "no",
        "FORMAT": report.log_format,
        "ARCH": _text(report.arch),
        "KERNEL": _text(report.kernel_release),
        "TAINT": "".join(report.taint_flags),
        "CPU": _text(report.cpu),
        "COMM": _text(report.comm),
        "PID": _text(report.pid),
        "HARDWARE": _text(report.hardware),
        "ADDRESS": _text(report.fault_address),
        "PANIC": report.panic_line.text.strip() if report.panic_line else "",
    }


def _comparable(key: str, value: str) -> str:
    # CORRUPTED holds a human reason; only corrupted-or-not is part of the contract.
    if key == "CORRUPTED":
        return "no" if value.strip() == "no" else "yes"
    return value.strip()


def _format_of(text: str) -> str:
    from vmcore_parsers.logformat import normalize

    return normalize(text).format


def _update(path: Path, golden: GoldenFile, actual: dict[str, str]) -> None:
    headers = dict(golden.headers)
    for key in REQUIRED:
        old = headers.get(key, "")
        if key == "CORRUPTED" and _comparable(key, old) == _comparable(key, actual[key]):
            continue  # keep the human-written reason
        headers[key] = actual[key]
    for key in OPTIONAL:
        if key in headers:
            headers[key] = actual.get(key, "")
    ordered = {key: headers.pop(key) for key in REQUIRED if key in headers}
    ordered.update(headers)
    if ordered != golden.headers:
        write_golden(path, GoldenFile(ordered, golden.text))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden(path: Path, update_golden: bool) -> None:
    golden = read_golden(path)
    report = parse_log(golden.text)
    actual = actual_headers(report, report.log_format if report else _format_of(golden.text))
    if update_golden:
        _update(path, golden, actual)
        return
    missing = [key for key in REQUIRED if key not in golden.headers]
    assert not missing, f"{path.name}: missing required headers {missing}"
    assert golden.headers["TYPE"] in {t.value for t in CrashType} | {"none"}
    expected = {
        key: _comparable(key, value)
        for key, value in golden.headers.items()
        if key in REQUIRED or key in OPTIONAL
    }
    got = {key: _comparable(key, actual.get(key, "")) for key in expected}
    assert got == expected, (
        f"{path.name}: corrupted_reason={report.corrupted_reason if report else None!r}"
    )


def test_golden_files_exist() -> None:
    crash_files = sorted(GOLDEN.glob("crash-*.log"))
    assert len(crash_files) >= 40, "the parser's own golden set has at least 40 logs"
    types = {read_golden(p).headers.get("TYPE") for p in crash_files}
    missing = {t.value for t in CrashType} - types
    assert not missing, f"crash types without a golden file: {sorted(missing)}"

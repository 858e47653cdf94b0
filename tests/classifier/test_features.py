"""The feature record: one definition, deterministic, masking the incidental parts."""

from __future__ import annotations

import re

from classifier.features import (
    FEATURE_CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_TEXT_COLUMNS,
    NO_CRASH,
    feature_record,
    mask,
    records_to_matrix,
)
from vmcore_parsers.report import CrashType, Event, EventKind, Frame, LogLine, PanicReport


def _report() -> PanicReport:
    lines = [
        LogLine(1, "usb 1-1: new high-speed USB device number 2 using xhci_hcd", 1.5),
        LogLine(2, "BUG: kernel NULL pointer dereference, address: 0000000000000020", 812.3),
        LogLine(3, "CPU: 7 PID: 48213 Comm: python3 Tainted: P OE 5.15.0-91-generic #101", 812.3),
        LogLine(4, "RIP: 0010:_nv032165rm+0x2f/0x90 [nvidia]", 812.3),
        LogLine(5, "RAX: 0000000000000000 RBX: ffff9a0c41c8e008 RCX: 0000000000000000", 812.3),
        LogLine(6, " rm_ioctl+0x5e/0xb0 [nvidia]", 812.3),
        LogLine(7, "Kernel panic - not syncing: Fatal exception", 812.4),
    ]
    return PanicReport(
        title="BUG: kernel NULL pointer dereference in _nv032165rm",
        crash_type=CrashType.NULL_DEREF,
        first_failure=lines[1],
        panic_line=lines[6],
        guilty_frame="_nv032165rm",
        call_trace=[
            Frame("_nv011283rm", module="nvidia", reliable=False),
            Frame("rm_ioctl", module="nvidia"),
            Frame("__x64_sys_ioctl"),
        ],
        ip_symbol="_nv032165rm",
        ip_module="nvidia",
        taint="P OE",
        taint_flags=["P", "O", "E"],
        modules=["nvidia_uvm", "nvidia"],
        events=[Event(EventKind.OOPS, 2, "BUG: kernel NULL pointer dereference, address: 20")],
        arch="x86_64",
        lines=lines,
        report_start=1,
        report_end=7,
    )


def test_columns_are_defined_once_and_in_order() -> None:
    assert FEATURE_COLUMNS == FEATURE_TEXT_COLUMNS + FEATURE_CATEGORICAL_COLUMNS
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS)
    record = feature_record(_report())
    assert list(record) == list(FEATURE_COLUMNS)


def test_record_is_deterministic() -> None:
    assert feature_record(_report()) == feature_record(_report())


def test_mask_replaces_incidental_values() -> None:
    line = (
        "CPU: 7 PID: 48213 Comm: python3 Tainted: P OE 5.15.0-91-generic #101-Ubuntu "
        "RBX: ffff9a0c41c8e008 at 12345678 [  812.300000] 04/01/2014"
    )
    masked = mask(line)
    for gone in ("48213", "python3", "5.15.0", "ffff9a0c41c8e008", "12345678", "812.3", "2014"):
        assert gone not in masked
    assert "CPU: N" in masked and "KREL" in masked and "ADDRK" in masked


def test_mask_keeps_evidence_values() -> None:
    assert "POISONLIST" in mask("next->prev should be ffff8f2b4c1e3a40, but was dead000000000122")
    assert "POISONSLAB" in mask("RAX: 6b6b6b6b6b6b6b6b")
    assert "ADDRNULL" in mask("NULL pointer dereference, address: 0000000000000020")
    assert "79" in mask("NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, GPU has fallen off the bus.")
    assert mask(mask("PID: 12 at ffff9a0c41c8e008")) == mask("PID: 12 at ffff9a0c41c8e008")


def test_record_contents() -> None:
    record = feature_record(_report())
    # Unreliable `?` frames are left out; reliable ones and their modules kept in order.
    assert record["frames"].split() == [
        "_nv032165rm",
        "_nv032165rm",
        "nvidia",
        "rm_ioctl",
        "nvidia",
        "__x64_sys_ioctl",
    ]
    assert "_nv011283rm" not in record["frames"]
    assert record["crash_type"] == "null-deref"
    assert record["taint"] == "EOP"
    assert record["arch"] == "x86_64"
    assert "Fatal exception" in record["panic"]
    assert record["context"].startswith("usb")
    # Register dumps are skipped and no long number survives in the text columns.
    assert "RAX" not in record["body"]
    for column in FEATURE_TEXT_COLUMNS:
        assert not re.search(r"\b\d{4,}\b", record[column]), (column, record[column])


def test_record_without_a_report() -> None:
    text = "\n".join(f"[ {i}.000000] line {i} at ffff9a0c41c8e008" for i in range(200))
    record = feature_record(None, text)
    assert record["crash_type"] == NO_CRASH
    assert record["title"] == "" and record["frames"] == ""
    assert "line" in record["body"] and "ffff9a0c" not in record["body"]
    assert len(record["body"].splitlines()) <= 60
    assert feature_record(None)["body"] == ""


def test_records_to_matrix_follows_column_order() -> None:
    records = [feature_record(_report()), feature_record(None)]
    matrix = records_to_matrix(records)
    assert matrix.shape == (2, len(FEATURE_COLUMNS))
    assert matrix[0, FEATURE_COLUMNS.index("crash_type")] == "null-deref"
    assert matrix[1, FEATURE_COLUMNS.index("crash_type")] == NO_CRASH

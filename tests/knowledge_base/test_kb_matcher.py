"""Matcher semantics, one condition at a time, plus evidence and speed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kb_helpers import entry_dict, report, write_entry

from knowledge_base.loader import load_knowledge_base
from knowledge_base.matcher import (
    alternative_literals,
    match_entries,
    match_entry,
    required_literal,
)
from knowledge_base.schema import Entry
from vmcore_parsers.report import CrashType, Event, EventKind, Frame, LogLine

LINES = [
    "BUG: kernel NULL pointer dereference, address: 0000000000000008",
    "#PF: supervisor read access in kernel mode",
    "CPU: 3 PID: 812 Comm: kworker/3:1 Tainted: P           OE     5.15.0-91-generic #101-Ubuntu",
    "Hardware name: Dell Inc. PowerEdge R640/0W23H8, BIOS 2.17.1 11/15/2022",
    "RIP: 0010:nvme_poll+0x1c/0x90 [nvme]",
    "Call Trace:",
    " <TASK>",
    " ? show_regs+0x6d/0x80",
    " blk_mq_poll+0x5a/0x70",
    " nvme_ns_head_submit_bio+0x10/0x20 [nvme_core]",
    " </TASK>",
    "Kernel panic - not syncing: Fatal exception",
]


def _report(**fields: object) -> object:
    defaults: dict[str, object] = {
        "title": "BUG: kernel NULL pointer dereference in nvme_poll",
        "guilty_frame": "nvme_poll",
        "ip_symbol": "nvme_poll",
        "ip_module": "nvme",
        "call_trace": [
            Frame("show_regs", reliable=False),
            Frame("blk_mq_poll"),
            Frame("nvme_ns_head_submit_bio", module="nvme_core"),
        ],
        "modules": ["nvme", "nvme_core", "nvidia"],
        "taint": "P           OE",
        "taint_flags": ["P", "O", "E"],
        "events": [Event(EventKind.OOPS, 1, LINES[0])],
        "arch": "x86_64",
    }
    defaults.update(fields)
    rep = report(LINES, CrashType.NULL_DEREF, **defaults)
    rep.panic_line = rep.lines[-1]
    return rep


def _entry(*signatures: dict[str, object], **fields: Any) -> Entry:
    return Entry.model_validate(entry_dict("t-entry", signatures=list(signatures), **fields))


CASES = [
    ("crash type hit", {"crash_type": ["null-deref"]}, True),
    ("crash type miss", {"crash_type": ["soft-lockup", "oom"]}, False),
    ("text hit", {"text": r"RIP: 0010:nvme_\w+"}, True),
    ("text miss", {"text": "soft lockup"}, False),
    ("text case-insensitive", {"text": "(?i)fatal EXCEPTION"}, True),
    ("text without literal", {"text": r"^\s+blk_mq_\w+"}, True),
    ("text alternation", {"text": "foo|Fatal exception"}, True),
    ("title", {"title": "in nvme_"}, True),
    ("title miss", {"title": "^WARNING"}, False),
    ("panic", {"panic": "Fatal exception$"}, True),
    ("panic miss", {"panic": "Out of memory"}, False),
    ("frame reliable", {"frame": "^blk_mq_poll$"}, True),
    ("frame unreliable ignored", {"frame": "^show_regs$"}, False),
    ("frame ip symbol", {"frame": "^nvme_poll$"}, True),
    ("guilty frame", {"guilty_frame": "^nvme_poll$"}, True),
    ("guilty frame miss", {"guilty_frame": "^blk_"}, False),
    ("module loaded", {"module": "^nvidia$"}, True),
    ("module from frame", {"module": "^nvme_core$"}, True),
    ("module miss", {"module": "^zfs$"}, False),
    ("taint all set", {"taint": ["P", "O"]}, True),
    ("taint one missing", {"taint": ["P", "G"]}, False),
    ("event present", {"event": ["oops"]}, True),
    ("event missing", {"event": ["oops", "oom-kill"]}, False),
    ("arch", {"crash_type": ["null-deref"], "arch": "x86_64"}, True),
    ("arch miss", {"crash_type": ["null-deref"], "arch": "arm64"}, False),
    ("not_text blocks", {"crash_type": ["null-deref"], "not_text": "Tainted: P"}, False),
    ("not_text passes", {"crash_type": ["null-deref"], "not_text": "soft lockup"}, True),
    ("all conditions", {"crash_type": ["null-deref"], "text": "#PF", "module": "nvme"}, True),
    ("one condition fails", {"crash_type": ["null-deref"], "text": "#PF", "module": "zfs"}, False),
]


@pytest.mark.parametrize(
    ("signature", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_signature_conditions(signature: dict[str, object], expected: bool) -> None:
    match = match_entry(_report(), _entry(signature))  # type: ignore[arg-type]
    assert (match is not None) is expected


def test_any_signature_matches_and_index_is_reported() -> None:
    entry = _entry({"text": "no such line"}, {"text": "Fatal exception"})
    match = match_entry(_report(), entry)  # type: ignore[arg-type]
    assert match is not None
    assert match.signature_index == 1


def test_deprecated_entries_never_match() -> None:
    entry = _entry({"crash_type": ["null-deref"]}, deprecated=True)
    assert match_entry(_report(), entry) is None  # type: ignore[arg-type]


def test_user_space_lines_are_ignored() -> None:
    rep = _report()
    rep.lines.append(LogLine(number=99, text="myapp: soft lockup simulated", kernel=False))  # type: ignore[attr-defined]
    assert match_entry(rep, _entry({"text": "soft lockup"})) is None  # type: ignore[arg-type]


def test_evidence_names_lines_and_reasons() -> None:
    entry = _entry(
        {
            "crash_type": ["null-deref"],
            "text": "RIP: 0010:nvme",
            "panic": "Fatal",
            "module": "nvme_core",
        }
    )
    match = match_entry(_report(), entry)  # type: ignore[arg-type]
    assert match is not None
    by_why = {why.split(" ")[0]: (n, text) for n, text, why in match.evidence}
    assert by_why["text"] == (5, LINES[4])
    assert by_why["panic"] == (12, LINES[11])
    assert by_why["module"][0] == 10
    assert by_why["crash"][0] == 1
    assert any(why == "text matches /RIP: 0010:nvme/" for _, _, why in match.evidence)


def test_match_entries_over_a_kb(tmp_path: Path) -> None:
    write_entry(tmp_path, entry_dict("a-specific", signatures=[{"text": "nvme_poll"}]))
    write_entry(
        tmp_path,
        entry_dict("generic-null-deref", generic=True, signatures=[{"crash_type": ["null-deref"]}]),
    )
    write_entry(tmp_path, entry_dict("c-other", signatures=[{"text": "soft lockup"}]))
    kb = load_knowledge_base(tmp_path)
    matches = match_entries(_report(), kb)  # type: ignore[arg-type]
    assert [(m.entry_id, m.generic) for m in matches] == [
        ("a-specific", False),
        ("generic-null-deref", True),
    ]
    assert matches[0].category == "null-deref"


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        ("BUG: soft lockup", ("BUG: soft lockup", False)),
        ("(?i)Out of Memory", ("out of memory", True)),
        (r"nvme\d+: I/O timeout", (": I/O timeout", False)),
        (r"kernel BUG at fs/ext4/\S+", ("kernel BUG at fs/ext4/", False)),
        ("abcd?", ("abc", False)),
        ("abd?", None),
        ("foo|barbaz", None),
        ("(foo)ba", None),
        ("(foo)barbaz", ("barbaz", False)),
        (r"x{2}yyyy", ("yyyy", False)),
        (r"[abc]+defg", ("defg", False)),
        (r"watchdog: BUG: soft lockup - CPU#\d+", ("watchdog: BUG: soft lockup - CPU#", False)),
        (r"Tainted: \S*P", ("Tainted: ", False)),
        (r"(?x) foo bar", None),
    ],
)
def test_required_literal(pattern: str, literal: tuple[str, bool] | None) -> None:
    assert required_literal(pattern) == literal


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("(I/O error|Medium Error)", ("I/O error", "Medium Error")),
        (r"foo|bar(baz|qux)", ("foo", "bar")),
        (r"(RIP: [0-9a-f]{4}:|\bIP: )\S+ \[(zfs|spl)\]", ("RIP: ", "IP: ")),
        (r"(?:abcd|efgh)x?", ("abcd", "efgh")),
        (r"(?P<name>abcd|efgh)", ("abcd", "efgh")),
        ("(abc)?def|ghij", ("def", "ghij")),
        ("foo|ba", None),  # an alternative without a literal
        ("(foo|)bar", ("bar",)),  # the empty alternative rules the group out
        ("(?i)foo|bar", None),  # inline flags: give up
        ("foo|(?=bar)", None),
        ("a+bcd|efg{0,2}hij", ("bcd", "hij")),
        (r"x{2,3}yz|abc", None),
    ],
)
def test_alternative_literals(pattern: str, literals: tuple[str, ...] | None) -> None:
    assert alternative_literals(pattern) == literals


def test_alternation_prefilter_finds_the_first_matching_line() -> None:
    entry = _entry({"text": r"(Xid \(PCI:\S+\): 79|PCI: system error|Hardware name: \S+ Inc)"})
    found = match_entry(_report(), entry)
    assert found is not None
    assert found.evidence[0][1] == LINES[3]


def test_speed_hundred_entries_on_a_20k_log(tmp_path: Path) -> None:
    # The diagnoser runs every signature on every upload: keep matching well under a
    # millisecond per report in the typical case (generous bound for slow CI machines).
    for i in range(100):
        sigs = [
            {"text": f"unique message number {i} happened"},
            {"crash_type": ["soft-lockup"], "text": rf"driver_{i}: \w+ failed"},
            {"frame": f"^func_{i}$", "module": f"mod{i}"},
        ]
        write_entry(tmp_path, entry_dict(f"entry-{i}", signatures=sigs))
    kb = load_knowledge_base(tmp_path)
    filler = [
        f"[{i}] usb 1-{i % 9}: new high-speed USB device number {i} using xhci_hcd"
        for i in range(250)
    ]
    rep = report(filler + LINES, CrashType.NULL_DEREF, modules=["nvme"])
    match_entries(rep, kb)  # compile once
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        assert match_entries(rep, kb) == []
    per_report = (time.perf_counter() - start) / runs
    assert per_report < 0.005, f"{per_report * 1000:.2f} ms per report"

"""Builders for test knowledge bases and reports (no parser needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vmcore_parsers.report import CrashType, Event, EventKind, Frame, LogLine, PanicReport


def entry_dict(entry_id: str, category: str = "null-deref", **fields: Any) -> dict[str, Any]:
    """A valid entry as a dict; `fields` override or add keys."""
    data: dict[str, Any] = {
        "id": entry_id,
        "status": "test",
        "category": category,
        "title": f"Test entry {entry_id}",
        "summary": "A test entry used by the knowledge-base unit tests.",
        "signatures": [{"text": "BUG: kernel NULL pointer dereference"}],
        "remediation": [{"text": "Upgrade the kernel.", "command": "dnf upgrade kernel"}],
        "verify": ["the crash does not recur"],
        "references": [
            {
                "kind": "documentation",
                "title": "Bug hunting",
                "url": "https://docs.kernel.org/admin-guide/bug-hunting.html",
            }
        ],
    }
    data.update(fields)
    return data


def write_entry(root: Path, data: dict[str, Any], name: str | None = None) -> Path:
    """Write `data` to root/entries/<category>/<name or id>.yaml and return the path."""
    path: Path = root / "entries" / str(data["category"]) / f"{name or data['id']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_example(  # noqa: PLR0917  (mirrors the header order of an example file)
    root: Path,
    entry_id: str,
    kind: str,
    n: int,
    root_cause: str,
    category: str,
    body: str,
    **extra: str,
) -> Path:
    """Write a golden-format example under root/examples/<entry_id>/<kind>-<n>.log."""
    path = root / "examples" / entry_id / f"{kind}-{n}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f"KIND: {kind}\nROOT_CAUSE: {root_cause}\nCATEGORY: {category}\n"
    head += "".join(f"{k}: {v}\n" for k, v in extra.items())
    path.write_text(head + "\n" + body, encoding="utf-8")
    return path


def report(
    lines: list[str],
    crash_type: CrashType = CrashType.NULL_DEREF,
    **fields: Any,
) -> PanicReport:
    """A report whose lines are `lines` (numbered from 1) and other fields as given."""
    log_lines = [LogLine(number=i + 1, text=t) for i, t in enumerate(lines)]
    rep = PanicReport(title=fields.pop("title", "test crash"), crash_type=crash_type, **fields)
    rep.lines = log_lines
    rep.report_end = len(log_lines)
    if rep.first_failure is None and log_lines:
        rep.first_failure = log_lines[0]
    return rep


def fake_parse(text: str) -> PanicReport | None:
    """A stand-in parser: every line is a kernel line; crash type from the first header seen."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    kinds = {
        "NULL pointer dereference": CrashType.NULL_DEREF,
        "soft lockup": CrashType.SOFT_LOCKUP,
        "kernel BUG at": CrashType.BUG,
    }
    for needle, kind in kinds.items():
        if any(needle in line for line in lines):
            return report(lines, kind)
    return report(lines, CrashType.PANIC)


__all__ = [
    "CrashType",
    "Event",
    "EventKind",
    "Frame",
    "entry_dict",
    "fake_parse",
    "report",
    "write_entry",
    "write_example",
]

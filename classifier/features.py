"""The feature record: the one place that decides what the model sees of a report.

Training, evaluation and serving all call `feature_record` (or `text_feature_record` for a
raw log), so the feature space cannot drift between them (CONVENTIONS 10). A record is a flat
`dict[str, str]` with the text columns `FEATURE_TEXT_COLUMNS` and the categorical columns
`FEATURE_CATEGORICAL_COLUMNS`; `FEATURE_COLUMNS` fixes their order, which is the column order
of the matrix the pipeline consumes (`records_to_matrix`).

Masking: what differs between two logs of the same bug (addresses, PIDs, CPU numbers, times,
kernel releases, dates) is replaced by a few stable tokens, so the vectorizers see the words
that identify the crash and not the incidental ones. Some "numbers" are evidence and are kept
on purpose: the list/slab poison values (`dead000000000100`, `6b6b6b6b`), NULL-plus-offset
addresses, and short numbers such as NVIDIA Xid codes or errnos (three digits or fewer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import LogLine, PanicReport

FEATURE_TEXT_COLUMNS: tuple[str, ...] = (
    "title",  # the report title, masked
    "frames",  # guilty frame, RIP/PC symbol, reliable call-trace functions and their modules
    "body",  # the crash report lines, masked
    "panic",  # the final panic line, masked
    "events",  # the kinds and masked texts of the events seen before the crash
    "context",  # a few masked lines before the first failure
    "modules",  # the loaded modules (third-party drivers are strong hints)
)
FEATURE_CATEGORICAL_COLUMNS: tuple[str, ...] = ("crash_type", "arch", "taint")
FEATURE_COLUMNS: tuple[str, ...] = FEATURE_TEXT_COLUMNS + FEATURE_CATEGORICAL_COLUMNS

# Bounds keep one record cheap to build and to vectorize whatever the log size (the product
# target is 500 logs/s on one core, parse included).
MAX_BODY_LINES = 80
MAX_CONTEXT_LINES = 5
MAX_EVENTS = 20
MAX_FRAMES = 40
MAX_MODULES = 200
MAX_LINE_CHARS = 300
UNPARSED_TAIL_LINES = 60
# `crash_type` of a log in which the parser found no crash at all.
NO_CRASH = "none"

# --- Masking ----------------------------------------------------------------------------------

# Kernel releases: 5.15.0-91-generic, 4.18.0-477.10.1.el8_8.x86_64, 6.1.0-13-amd64, 6.8.0-rc3+.
_RELEASE = re.compile(r"\b[2-7]\.\d{1,2}(?:\.\d{1,3}(?:[-+~][\w.+~-]*)?|[-+][\w.+~-]*)(?=[\s,)]|$)")
_DATE = re.compile(r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b")
_TIME = re.compile(r"\b\d{1,2}:\d\d:\d\d(?:\.\d+)?\b")
# Addresses and register values: 8 to 16 hex digits, with or without 0x.
_HEX_LONG = re.compile(r"\b(?:0x)?([0-9a-fA-F]{8,16})\b")
_HEX_SHORT = re.compile(r"\b0x[0-9a-fA-F]{1,7}\b")
_FLOAT = re.compile(r"\b\d+\.\d+\b")
_BIG_NUMBER = re.compile(r"\b\d{4,}\b")
# Per-incident fields whose small numbers would otherwise survive as tokens.
_INCIDENTAL = re.compile(
    r"\b(CPU|PID|pid|Pid|cpu|tgid|uid|gid|nr|order)([:# =]\s*)\d+"
    r"|\b(Comm|comm)([:=]\s*)\S+"
    r"|\b(CPU#|#)\d+"
    r"|\[\s*\d+\.\d+\]"
)
_SPACES = re.compile(r"\s+")


def _mask_hex(match: re.Match[str]) -> str:
    digits = match.group(1).lower()
    if digits.startswith("dead0000"):
        return "POISONLIST"  # LIST_POISON1/2: a list entry used after list_del
    if "6b6b6b6b" in digits or "a5a5a5a5" in digits or "5a5a5a5a" in digits:
        return "POISONSLAB"  # slab poison: use after free
    if len(digits) >= 12 and set(digits[:-4]) == {"0"}:
        return "ADDRNULL"  # NULL plus a small offset
    if set(digits) == {"0"}:
        return "ZERO"
    if digits.startswith("ffff"):
        return "ADDRK"
    return "ADDR"


def _mask_incidental(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}{match.group(2)}N"
    if match.group(3):
        return f"{match.group(3)}{match.group(4)}COMM"
    if match.group(5):
        return f"{match.group(5)}N"
    return ""


# A call-trace line: `[?] function+0xoff/0xsize [module]`. Half of a crash report is these;
# they are reduced to `function [module]` without running every masking regex over them.
_FRAME_LINE = re.compile(
    r"^\s*(\? )?([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?:\s+\[([\w-]+)\])?\s*$"
)
_DIGIT = re.compile(r"\d")


def mask(text: str) -> str:
    """One line with the incidental parts (addresses, ids, times, releases) masked.

    Deterministic and idempotent; the result is at most `MAX_LINE_CHARS` characters. Call
    trace lines lose their offsets (`rm_ioctl+0x5e/0xb0 [nvidia]` -> `rm_ioctl [nvidia]`).
    """
    text = text[: MAX_LINE_CHARS * 2]
    frame = _FRAME_LINE.match(text)
    if frame is not None:
        unreliable, function, module = frame.groups()
        return ("? " if unreliable else "") + function + (f" [{module}]" if module else "")
    if _DIGIT.search(text) is None and "omm" not in text:  # nothing to mask (no `Comm:`)
        return _SPACES.sub(" ", text).strip()[:MAX_LINE_CHARS]
    # Each substitution runs only when the text holds a character its regex cannot match
    # without (a C-level `in`), which skips most of them on most lines; same output.
    if _may_be_incidental(text):
        text = _INCIDENTAL.sub(_mask_incidental, text)
    if "." in text:
        text = _RELEASE.sub("KREL", text)
    if "/" in text or "-" in text:
        text = _DATE.sub("DATE", text)
    if ":" in text:
        text = _TIME.sub("TIME", text)
    text = _HEX_LONG.sub(_mask_hex, text)
    if "0x" in text:
        text = _HEX_SHORT.sub("HEXN", text)
    if "." in text:
        text = _FLOAT.sub("FLOAT", text)
    text = _BIG_NUMBER.sub("NUM", text)
    return _SPACES.sub(" ", text).strip()[:MAX_LINE_CHARS]


def _may_be_incidental(text: str) -> bool:
    """False only when `_INCIDENTAL` cannot match `text` (none of its literals occurs)."""
    return (
        "#" in text
        or "[" in text
        or "omm" in text
        or "id" in text  # pid, Pid, tgid, uid, gid
        or "PID" in text
        or "CPU" in text
        or "cpu" in text
        or "nr" in text
        or "order" in text
    )


# Register dumps and code bytes carry no words, only masked values: skipping them makes the
# body cheaper to vectorize and less dominated by constant register names.
_SKIP_LINE = re.compile(
    r"^\s*(?:R[A-Z0-9]{1,3}: |[A-Z]S: |CR[0-4]: |DR[0-7]: |Code: |x\d{1,2}\s*: |"
    r"(?:pc|lr|sp|pstate) : |[0-9a-f]{8,16}: [0-9a-f]{8,16}|Modules linked in:)"
)


def _masked_lines(lines: Iterable[LogLine], limit: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.kernel or _SKIP_LINE.match(line.text):
            continue
        masked = mask(line.text)
        if masked:
            out.append(masked)
            if len(out) >= limit:
                break
    return out


def _frames(report: PanicReport) -> str:
    parts: list[str] = []
    if report.guilty_frame:
        parts.append(report.guilty_frame)
    if report.ip_symbol:
        parts.append(report.ip_symbol)
    if report.ip_module:
        parts.append(report.ip_module)
    for frame in report.call_trace[:MAX_FRAMES]:
        if frame.reliable:
            parts.append(frame.function)
            if frame.module:
                parts.append(frame.module)
    return " ".join(parts)


def _taint(report: PanicReport) -> str:
    letters = report.taint_flags or (
        [c for c in report.taint if c.isalpha() and c.isupper()] if report.taint else []
    )
    # Sorted and deduplicated so that the category does not depend on the print order.
    return "".join(sorted(set(letters)))


def empty_record() -> dict[str, str]:
    """A record with every column present and empty."""
    return dict.fromkeys(FEATURE_COLUMNS, "")


def feature_record(report: PanicReport | None, text: str | None = None) -> dict[str, str]:
    """The feature record of a parsed report.

    `report` None means the parser found no crash: every column is empty except `crash_type`
    (`NO_CRASH`) and, when the raw `text` is given, `body` (its masked tail), so that such logs
    can still be told apart from crashes by the model.
    """
    if report is None:
        record = empty_record()
        record["crash_type"] = NO_CRASH
        if text:
            tail = [LogLine(number=0, text=t) for t in text.splitlines()[-UNPARSED_TAIL_LINES:]]
            record["body"] = "\n".join(_masked_lines(tail, UNPARSED_TAIL_LINES))
        return record

    report_lines = report.report_lines()
    if report.report_start < report.report_end:
        context_lines = report.lines[
            max(0, report.report_start - MAX_CONTEXT_LINES) : report.report_start
        ]
    else:
        context_lines = []
    events: list[str] = []
    seen: set[str] = set()
    for event in report.events:
        item = f"{event.kind.value} {mask(event.text)}"
        if item not in seen:
            seen.add(item)
            events.append(item)
            if len(events) >= MAX_EVENTS:
                break
    return {
        "title": mask(report.title),
        "frames": _frames(report),
        "body": "\n".join(_masked_lines(report_lines, MAX_BODY_LINES)),
        "panic": mask(report.panic_line.text) if report.panic_line else "",
        "events": "\n".join(events),
        "context": "\n".join(_masked_lines(context_lines, MAX_CONTEXT_LINES)),
        "modules": " ".join(report.modules[:MAX_MODULES]),
        "crash_type": report.crash_type.value,
        "arch": report.arch or "",
        "taint": _taint(report),
    }


def text_feature_record(text: str) -> dict[str, str]:
    """Parse `text` with the project's parser and return its feature record."""
    return feature_record(parse_log(text), text)


def records_to_matrix(records: Sequence[dict[str, str]]) -> npt.NDArray[np.object_]:
    """Records as the 2-D object array the pipeline takes, columns in `FEATURE_COLUMNS` order.

    A plain array (no DataFrame) because building one for a single log costs microseconds,
    where a DataFrame costs a large share of the whole per-log budget.
    """
    matrix = np.empty((len(records), len(FEATURE_COLUMNS)), dtype=object)
    for row, record in enumerate(records):
        for col, name in enumerate(FEATURE_COLUMNS):
            matrix[row, col] = record.get(name, "")
    return matrix

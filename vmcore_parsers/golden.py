"""Golden files: one log per file with its expectations in a header block.

The format follows syzkaller's `pkg/report/testdata`: `KEY: value` lines, one blank line, then
the raw log exactly as captured (CRLF and all). Parser tests use `TITLE`, `TYPE`, `FRAME`,
`CORRUPTED` and friends; knowledge-base examples add `KIND`, `ROOT_CAUSE` and `CATEGORY`.
Keys are upper case; a key may appear once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADER_LINE = re.compile(r"^([A-Z][A-Z0-9_]*):[ \t]?(.*)$")


@dataclass
class GoldenFile:
    """A parsed golden file: ordered `headers` and the raw log `text` after them."""

    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""


class GoldenFormatError(ValueError):
    """The file does not start with a valid header block followed by a blank line."""


def parse_golden(content: str) -> GoldenFile:
    """Split golden-file content into headers and log text; raise GoldenFormatError if bad."""
    headers: dict[str, str] = {}
    pos = 0
    while True:
        end = content.find("\n", pos)
        if end < 0:
            raise GoldenFormatError("header block is not followed by a blank line")
        line = content[pos:end].rstrip("\r")
        pos = end + 1
        if not line:
            break
        match = _HEADER_LINE.match(line)
        if not match:
            raise GoldenFormatError(f"bad header line {line!r}: expected 'KEY: value'")
        key, value = match.group(1), match.group(2).strip()
        if key in headers:
            raise GoldenFormatError(f"header {key} appears twice")
        headers[key] = value
    if not headers:
        raise GoldenFormatError("no header lines before the blank line")
    return GoldenFile(headers=headers, text=content[pos:])


def format_golden(golden: GoldenFile) -> str:
    """Render headers and text back into golden-file content."""
    head = "".join(f"{key}: {value}".rstrip() + "\n" for key, value in golden.headers.items())
    return head + "\n" + golden.text


def read_golden(path: Path) -> GoldenFile:
    """Read a golden file, keeping the log's line endings byte for byte."""
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return parse_golden(handle.read())


def write_golden(path: Path, golden: GoldenFile) -> None:
    """Write a golden file, keeping the log's line endings byte for byte."""
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        handle.write(format_golden(golden))

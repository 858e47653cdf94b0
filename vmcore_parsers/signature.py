"""Crash titles normalised, and a stable dedup signature for a report.

Two logs of the same bug differ in addresses, offsets, PIDs, CPU numbers, oops counters and
time stamps; `normalize_title` removes all of those, and `crash_signature` hashes the normalised
title together with the guilty frame, so copies of one bug share a signature (the evaluation
groups by it, and unknown crashes are clustered by it).
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

# Applied in order: frame offsets before bare hex (so `+0x1c/0x40` goes as a whole), hex before
# decimal (so `0xdead` does not leave a stray `dead`), compiler suffixes before numbers.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+"), ""),
    (re.compile(r"\[#\d+\]"), ""),
    (re.compile(r"\[<[0-9a-fA-F]+>\]"), ""),
    (re.compile(r"\.(?:cold|isra|part|constprop|llvm|lto_priv)(?:\.\d+)*\b"), ""),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "ADDR"),
    (re.compile(r"\b[0-9a-fA-F]{8,16}\b"), "ADDR"),
    (re.compile(r"(?<![A-Za-z_])\d+"), "N"),
    (re.compile(r"\s+"), " "),
)


class _Signed(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def guilty_frame(self) -> str | None: ...


def normalize_title(title: str) -> str:
    """`title` without the parts that change between copies of one bug.

    Addresses and hex become `ADDR`, other numbers (PIDs, CPU numbers, sizes, line numbers)
    become `N`, `func+0x1c/0x40` offsets, `[#1]` counters and `.isra.0`-style compiler
    suffixes go. Digits inside identifiers (`ext4_lookup`, `kworker`) are kept.
    """
    text = title
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()


def crash_signature(report: _Signed) -> str:
    """A stable 16-hex-digit dedup key: sha1 of the normalised title and the guilty frame.

    The same bug seen with different addresses, PIDs, CPUs or time stamps gets the same
    signature; a report without a guilty frame hashes its title alone.
    """
    frame = normalize_title(report.guilty_frame or "")
    key = f"{normalize_title(report.title)}\n{frame}"
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]

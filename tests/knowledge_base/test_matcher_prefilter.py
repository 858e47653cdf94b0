"""The one-pass literal prefilter: which lines hold which literal, and what the matcher makes
of it (the line searched is always the first matching kernel line, as without a prefilter)."""

from __future__ import annotations

import random

import pytest
from kb_helpers import entry_dict, report

from knowledge_base.literal_scan import LiteralScanner
from knowledge_base.matcher import match_entry
from knowledge_base.schema import Entry
from vmcore_parsers.report import LogLine


def _brute_force(literals: list[str], texts: list[str]) -> dict[str, list[int]]:
    return {lit: [i for i, text in enumerate(texts) if lit in text] for lit in literals}


def _scan(literals: list[str], texts: list[str], asked: list[str]) -> dict[str, list[int]]:
    found = LiteralScanner(literals).scan(texts)
    return {lit: found.lines(lit) for lit in asked}


def test_overlapping_and_nested_literals_are_all_found() -> None:
    literals = ["BUG: ", "BUG: KASAN", "KASAN: use", "use-after-free", "SAN"]
    texts = [
        "boot noise",
        "BUG: KASAN: use-after-free in foo+0x1/0x2",
        "nothing here",
        "BUG: KASAN: slab-out-of-bounds; BUG: again",
    ]
    assert _scan(literals, texts, literals) == {
        "BUG: ": [1, 3],
        "BUG: KASAN": [1, 3],
        "KASAN: use": [1],
        "use-after-free": [1],
        "SAN": [1, 3],
    }


def test_non_ascii_text_gives_character_based_line_indices() -> None:
    literals = ["é x", "abc", "Oops"]
    texts = ["ééé abc", "\U0001f600 Oops", "plain abc", "é x"]
    assert _scan(literals, texts, literals) == {"abc": [0, 2], "Oops": [1], "é x": [3]}
    # A non-ASCII literal cannot be in ASCII text; the ASCII ones still are.
    assert _scan(literals, ["abc", "x Oops"], literals) == {"abc": [0], "Oops": [1], "é x": []}


def test_literals_that_cannot_be_on_one_line_and_empty_inputs() -> None:
    literals = ["a\nb", "", "abc"]
    assert _scan(literals, ["a", "b abc"], [*literals, "zzz"]) == {
        "a\nb": [],
        "": [],
        "abc": [1],
        "zzz": [],
    }
    assert _scan(literals, [], literals) == {lit: [] for lit in literals}
    assert _scan([], ["abc"], ["abc"]) == {"abc": []}


@pytest.mark.parametrize("seed", range(20))
def test_same_lines_as_a_substring_search_per_literal(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab: é"  # few letters, so literals overlap and repeat a lot
    literals = ["".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(12)]
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(25)]
    if seed % 2:
        texts = [t.replace("é", "e") for t in texts]  # the ASCII path
    asked = [lit for lit in set(literals) if lit]
    # Asked twice: the second answer comes from the per-text cache.
    assert _scan(literals, texts, asked + asked) == _brute_force(asked, texts)


def _entry(*signatures: dict[str, object]) -> Entry:
    return Entry.model_validate(entry_dict("t-prefilter", signatures=list(signatures)))


LINES = [
    "nvme nvme0: I/O 12 QID 3 timeout, aborting",
    "sd 0:0:0:0: [sda] tag#3 Medium Error",
    "blk_update_request: I/O error, dev sda, sector 1234",
    "BUG: KERNEL NULL POINTER DEREFERENCE, address: 0000000000000008",
    "BUG: kernel NULL pointer dereference, address: 0000000000000010",
]


def test_alternatives_evidence_is_the_first_matching_line_in_log_order() -> None:
    # Both alternatives are prefilter literals; the later-listed one is on the earlier line.
    match = match_entry(report(LINES), _entry({"text": r"(I/O error|Medium Error)"}))
    assert match is not None
    assert match.evidence[0][:2] == (2, LINES[1])


def test_literal_lines_failing_the_regex_are_skipped() -> None:
    # "I/O " is the prefilter literal; line 1 holds it but not the rest of the regex.
    match = match_entry(report(LINES), _entry({"text": r"I/O \w+,"}))
    assert match is not None
    assert match.evidence[0][:2] == (3, LINES[2])


def test_case_insensitive_literal_finds_the_first_line_in_any_case() -> None:
    match = match_entry(report(LINES), _entry({"text": r"(?i)null pointer dereference, addr"}))
    assert match is not None
    assert match.evidence[0][:2] == (4, LINES[3])


def test_user_space_line_holding_the_literal_is_never_evidence() -> None:
    rep = report(LINES)
    rep.lines.insert(0, LogLine(number=0, text="myapp: Medium Error simulated", kernel=False))
    match = match_entry(rep, _entry({"text": r"Medium Error"}))
    assert match is not None
    assert match.evidence[0][:2] == (2, LINES[1])
    rep.lines = rep.lines[:1]
    assert match_entry(rep, _entry({"text": r"Medium Error"})) is None

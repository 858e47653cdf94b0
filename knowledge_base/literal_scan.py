"""Find which lines of a log hold each of a fixed set of literals, in one pass over the text.

The matcher's prefilter: every line regex of the knowledge base carries literals that any
match must contain (see `matcher.required_literal`), and only the lines holding one of them
are worth a regex search. Looking each literal up on its own costs one scan of the whole log
per literal; an Aho-Corasick automaton (the `ahocorasick_rs` package) built once per
knowledge-base load finds every occurrence of every literal, overlapping ones included, in
one scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from itertools import accumulate

from ahocorasick_rs import AhoCorasick, BytesAhoCorasick

_PLUS_ONE = (1).__add__
_NONE: list[int] = []


class LiteralLines:
    """Where the literals of one `LiteralScanner` occur in one list of lines.

    Hits are only turned into line numbers for the literals asked about: a literal found on
    many lines (boot messages) costs nothing unless a signature that needs it is reached.
    """

    __slots__ = ("_asked", "_hits", "_index", "_starts", "_texts")

    def __init__(
        self, hits: list[tuple[int, int, int]], index: dict[str, int], texts: list[str]
    ) -> None:
        # (literal index, start, end) sorted: each literal's hits together, by start.
        hits.sort()
        self._hits = hits
        self._index = index
        self._texts = texts
        self._starts: list[int] | None = None
        self._asked: dict[str, list[int]] = {}

    def lines(self, literal: str) -> list[int]:
        """Indices of the lines holding `literal`, ascending, without repeats (empty when
        it is on no line or is not one of the scanner's literals). The list is shared by later
        calls: read it, do not change it."""
        found = self._asked.get(literal)
        if found is not None:
            return found
        found = _NONE
        number = self._index.get(literal)
        if number is not None:
            hits = self._hits
            low = bisect.bisect_left(hits, (number,))
            high = bisect.bisect_left(hits, (number + 1,), low)
            if low < high:
                found = self._lines_of(hits[low:high])
        self._asked[literal] = found
        return found

    def _lines_of(self, hits: list[tuple[int, int, int]]) -> list[int]:
        starts = self._starts
        if starts is None:
            # starts[i] is the offset of line i in the joined text (lines end with one "\n").
            starts = list(accumulate(map(_PLUS_ONE, map(len, self._texts)), initial=0))
            self._starts = starts
        bisect_right = bisect.bisect_right
        lines: list[int] = []
        for _literal, start, _end in hits:
            line = bisect_right(starts, start) - 1
            if not lines or lines[-1] != line:
                lines.append(line)
        return lines


class LiteralScanner:
    """An automaton over a fixed set of literals, built once and used for many texts."""

    __slots__ = ("_ascii", "_ascii_automaton", "_automaton", "_literals")

    def __init__(self, literals: Iterable[str]) -> None:
        # A line never contains a newline, so a literal that does can never be on one line:
        # it is left out and no line is reported for it.
        self._literals = {
            lit: number
            for number, lit in enumerate(sorted({x for x in literals if x and "\n" not in x}))
        }
        # Built on the first text that is not ASCII (rare in kernel logs).
        self._automaton: AhoCorasick | None = None
        # For ASCII text (nearly every kernel log) byte offsets are character offsets, and
        # scanning the encoded bytes is about a third faster than scanning the str (no
        # UTF-8 to character offset bookkeeping). Other literals cannot occur in ASCII text.
        ascii_literals = [lit for lit in self._literals if lit.isascii()]
        self._ascii = {lit: number for number, lit in enumerate(ascii_literals)}
        self._ascii_automaton = (
            BytesAhoCorasick([lit.encode("ascii") for lit in ascii_literals])
            if ascii_literals
            else None
        )

    def scan(self, texts: list[str]) -> LiteralLines:
        """Every occurrence of every literal in `texts` (lines without newlines), overlapping
        occurrences included: one literal may sit inside another."""
        if not self._literals or not texts:
            return LiteralLines([], {}, texts)
        joined = "\n".join(texts)
        if not joined.isascii():
            if self._automaton is None:
                self._automaton = AhoCorasick(list(self._literals))
            hits = self._automaton.find_matches_as_indexes(joined, overlapping=True)
            return LiteralLines(hits, self._literals, texts)
        if self._ascii_automaton is None:
            return LiteralLines([], {}, texts)
        encoded = joined.encode("ascii")
        hits = self._ascii_automaton.find_matches_as_indexes(encoded, overlapping=True)
        return LiteralLines(hits, self._ascii, texts)

"""Match knowledge-base signatures against a `PanicReport`.

Semantics (see `schema.Signature`): every condition a signature gives must hold; an entry
matches when any of its signatures does; deprecated entries never match. `text` and `not_text`
look at every kernel line of the report (user-space lines of a syslog are ignored), `frame` at
the reliable call-trace functions and the RIP/PC symbol, `module` at the loaded modules, the
frames' modules and the RIP/PC module.

Speed matters (the diagnoser runs every signature on every upload), so:
- regexes are compiled once per knowledge-base load and kept in `KnowledgeBase.cache`;
- cheap conditions (crash type, arch, taint, events) are checked before any regex;
- each line regex carries a literal (or a few alternative literals) that any match must
  contain, found by a conservative scan of the pattern; one Aho-Corasick pass over the
  report's kernel lines (`literal_scan`, automaton built once per knowledge-base load)
  finds the lines holding each literal, and only those lines are searched;
- regex results are memoised per report, since many entries share patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge_base.literal_scan import LiteralLines, LiteralScanner
from knowledge_base.loader import KnowledgeBase
from knowledge_base.schema import Entry, Signature
from vmcore_parsers.report import LogLine, PanicReport

Evidence = tuple[int, str, str]

_CACHE_KEY = "matcher.compiled"
_INDEX_KEY = "matcher.by_crash_type"


@dataclass(frozen=True, slots=True)
class SignatureMatch:
    """One entry whose signature matched a report.

    `signature_index` is the index of the first matching signature in the entry; `evidence`
    lists (line number, line text, why) for each condition that a line supports (line number
    0 and empty text when the fact has no line of its own, e.g. a crash type inferred by the
    parser from a truncated log).
    """

    entry_id: str
    signature_index: int
    evidence: list[Evidence]
    generic: bool
    category: str


# ---------------------------------------------------------------------------------------------
# Required-literal extraction


_SPECIAL = set(".^$*+?{}[]\\|()")


def required_literal(pattern: str) -> tuple[str, bool] | None:
    """A substring every match of `pattern` must contain, and whether it is case-insensitive.

    Conservative: returns None whenever it is not sure (top-level alternation, verbose mode,
    nothing long enough). Only top-level runs of plain characters count; anything inside a
    group, a class or followed by an optional quantifier is dropped. Literals shorter than 3
    characters are not worth a prefilter.
    """
    ignore_case = False
    i, n = 0, len(pattern)
    runs: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    # Leading global flags such as (?i) or (?is).
    flags = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    if flags:
        if "x" in flags.group(1):
            return None
        ignore_case = "i" in flags.group(1)
        i = flags.end()
    while i < n:
        char = pattern[i]
        if char == "|":
            return None
        if char == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and not nxt.isalnum():
                run.append(nxt)
            else:
                flush()
            i += 2
            continue
        if char in "*?{":
            # The previous character is optional (or repeated a variable number of times).
            if run:
                run.pop()
            flush()
            if char == "{":
                close = pattern.find("}", i)
                i = close + 1 if close > 0 else i + 1
            else:
                i += 1
            continue
        if char == "+":
            flush()
            i += 1
            continue
        if char == "[":
            flush()
            i = _skip_class(pattern, i)
            continue
        if char == "(":
            # A group's contents may be optional or alternated: skip it whole.
            flush()
            end = _group_end(pattern, i)
            if end < 0:
                break
            i = end + 1
            continue
        if char in _SPECIAL:
            flush()
            i += 1
            continue
        run.append(char)
        i += 1
    flush()
    # A run directly followed by a quantifier lost its last character above already.
    best = max(runs, key=len, default="")
    if len(best) < 3:
        return None
    return (best.lower() if ignore_case else best), ignore_case


def _skip_class(pattern: str, i: int) -> int:
    """Index just past the character class starting at pattern[i] == '['."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
            continue
        if pattern[j] == "]":
            return j + 1
        j += 1
    return j


_QUANTIFIER = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_MIN_LITERAL = 3


def alternative_literals(pattern: str) -> tuple[str, ...] | None:
    """Substrings at least one of which every match of `pattern` must contain.

    For patterns `required_literal` gives up on, mostly alternations such as `(I/O error|
    Medium Error)`: each alternative must yield a literal of its own. Case-sensitive patterns
    only (None as soon as an inline flag appears); conservative like `required_literal`.
    """
    alternatives = _split_alternatives(pattern)
    if alternatives is None:
        return None
    found: list[str] = []
    for alternative in alternatives:
        literals = _sequence_literals(alternative)
        if literals is None:
            return None
        found.extend(literals)
    return tuple(dict.fromkeys(found))


def _group_end(pattern: str, i: int) -> int:
    """Index of the `)` closing the group opened at pattern[i] == '(' (-1 if unbalanced)."""
    depth = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _skip_class(pattern, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_alternatives(pattern: str) -> list[str] | None:
    """`pattern` split at its top-level `|` (None when it is malformed)."""
    parts: list[str] = []
    start = i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
        elif char == "[":
            i = _skip_class(pattern, i)
        elif char == "(":
            end = _group_end(pattern, i)
            if end < 0:
                return None
            i = end + 1
        elif char == "|":
            parts.append(pattern[start:i])
            i += 1
            start = i
        else:
            i += 1
    parts.append(pattern[start:])
    return parts


def _sequence_literals(pattern: str) -> tuple[str, ...] | None:
    """`alternative_literals` of a pattern without top-level alternation."""
    candidates: list[tuple[str, ...]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= _MIN_LITERAL:
            candidates.append(("".join(run),))
        run.clear()

    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        # One atom: a literal character, a group's literals, or something else.
        literal_char: str | None = None
        group: tuple[str, ...] | None = None
        if char == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and not nxt.isalnum():
                literal_char = nxt
            i += 2
        elif char == "[":
            i = _skip_class(pattern, i)
        elif char == "(":
            end = _group_end(pattern, i)
            if end < 0:
                return None
            inner = pattern[i + 1 : end]
            if inner.startswith("?"):
                if inner.startswith("?:"):
                    group = alternative_literals(inner[2:])
                elif inner.startswith("?P<"):
                    close = inner.find(">")
                    if close < 0:
                        return None
                    group = alternative_literals(inner[close + 1 :])
                elif not inner.startswith(("?=", "?!", "?<=", "?<!", "?P=")):
                    return None  # inline flags, comments, conditionals: give up
            else:
                group = alternative_literals(inner)
            i = end + 1
        elif char in "*+?{" and not (char == "{" and _QUANTIFIER.match(pattern, i) is None):
            return None  # a quantifier with nothing to repeat: malformed
        elif char in ".^$|)":
            i += 1
        else:
            literal_char = char
            i += 1
        # The quantifier applying to the atom, if any.
        optional = False
        repeated = False
        if i < n and pattern[i] in "*+?{":
            quantifier = pattern[i]
            if quantifier == "{":
                m = _QUANTIFIER.match(pattern, i)
                if m is not None:
                    low = m.group(1)
                    optional = not low or int(low) == 0
                    repeated = True
                    i = m.end()
            else:
                optional = quantifier in "*?"
                repeated = True
                i += 1
            if repeated and i < n and pattern[i] in "?+":
                i += 1  # lazy or possessive
        if literal_char is not None and not optional:
            run.append(literal_char)
            if repeated:
                flush()
            continue
        flush()
        if group is not None and not optional:
            candidates.append(group)
    flush()
    if not candidates:
        return None
    return min(candidates, key=lambda lits: (len(lits), -min(len(x) for x in lits)))


# ---------------------------------------------------------------------------------------------
# Compiled signatures


@dataclass(frozen=True, slots=True)
class _LineRegex:
    pattern: str
    regex: re.Pattern[str]
    literal: str | None
    ignore_case: bool
    # When `literal` is None: case-sensitive literals one of which any match must contain.
    alternatives: tuple[str, ...] | None
    why: str


def _line_regex(pattern: str) -> _LineRegex:
    lit = required_literal(pattern)
    return _LineRegex(
        pattern=pattern,
        regex=re.compile(pattern),
        literal=lit[0] if lit else None,
        ignore_case=lit[1] if lit else False,
        alternatives=alternative_literals(pattern) if lit is None else None,
        why=f"text matches /{pattern}/",
    )


def _maybe(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None


@dataclass(frozen=True, slots=True)
class _CompiledSignature:
    index: int
    source: Signature
    crash_types: frozenset[str]
    title: re.Pattern[str] | None
    text: _LineRegex | None
    panic: re.Pattern[str] | None
    frame: re.Pattern[str] | None
    guilty_frame: re.Pattern[str] | None
    module: re.Pattern[str] | None
    taint: frozenset[str]
    events: frozenset[str]
    arch: str | None
    not_text: _LineRegex | None


@dataclass(frozen=True, slots=True)
class CompiledEntry:
    """An entry with its signatures' regexes compiled (built by `compile_entries`)."""

    entry: Entry
    signatures: tuple[_CompiledSignature, ...]


def _compile_signature(index: int, sig: Signature) -> _CompiledSignature:
    return _CompiledSignature(
        index=index,
        source=sig,
        crash_types=frozenset(str(c) for c in sig.crash_type),
        title=_maybe(sig.title),
        text=_line_regex(sig.text) if sig.text is not None else None,
        panic=_maybe(sig.panic),
        frame=_maybe(sig.frame),
        guilty_frame=_maybe(sig.guilty_frame),
        module=_maybe(sig.module),
        taint=frozenset(sig.taint),
        events=frozenset(str(e) for e in sig.event),
        arch=sig.arch,
        not_text=_line_regex(sig.not_text) if sig.not_text is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _Prefilter:
    """Scanners for the prefilter literals of every line regex of some compiled entries."""

    # Case-sensitive literals, looked up in the lines as they are.
    exact: LiteralScanner
    # Literals of case-insensitive regexes (already lower case), looked up in lowered lines.
    folded: LiteralScanner


def _prefilter_of(compiled: Iterable[CompiledEntry]) -> _Prefilter:
    exact: list[str] = []
    folded: list[str] = []
    for item in compiled:
        for sig in item.signatures:
            for rx in (sig.text, sig.not_text):
                if rx is None:
                    continue
                if rx.literal is not None:
                    (folded if rx.ignore_case else exact).append(rx.literal)
                elif rx.alternatives is not None:
                    exact.extend(rx.alternatives)
    return _Prefilter(LiteralScanner(exact), LiteralScanner(folded))


class CompiledEntries(list[CompiledEntry]):
    """What `compile_entries` returns: the compiled entries, plus the prefilter scanners over
    all their line regexes, built on first use and kept for every later report (so the list
    must not be changed once matching started)."""

    _prefilter: _Prefilter | None = None

    def prefilter(self) -> _Prefilter:
        """The scanners, built once for all the entries: an automaton takes about 0.6 MB, too
        much to build one per crash type."""
        if self._prefilter is None:
            self._prefilter = _prefilter_of(self)
        return self._prefilter


def compile_entries(entries: list[Entry]) -> CompiledEntries:
    """Compile the signatures of the non-deprecated entries (specific entries first)."""
    ordered = sorted(
        (e for e in entries if not e.deprecated and e.signatures), key=lambda e: (e.generic, e.id)
    )
    return CompiledEntries(
        CompiledEntry(e, tuple(_compile_signature(i, s) for i, s in enumerate(e.signatures)))
        for e in ordered
    )


def _compiled(kb: KnowledgeBase) -> CompiledEntries:
    compiled: CompiledEntries | None = kb.cache.get(_CACHE_KEY)
    if compiled is None:
        compiled = compile_entries(list(kb.entries.values()))
        kb.cache[_CACHE_KEY] = compiled
    return compiled


@dataclass(frozen=True, slots=True)
class _Candidates:
    """The signatures that can match a report of one crash type and architecture, per entry,
    and the prefilter of the entries they were taken from."""

    items: list[tuple[CompiledEntry, tuple[_CompiledSignature, ...]]]
    prefilter: _Prefilter


def _candidates(compiled: list[CompiledEntry], crash_type: str, arch: str | None) -> _Candidates:
    """`compiled` without the signatures whose crash type or architecture cannot match."""
    items: list[tuple[CompiledEntry, tuple[_CompiledSignature, ...]]] = []
    for item in compiled:
        kept = tuple(
            sig
            for sig in item.signatures
            if (not sig.crash_types or crash_type in sig.crash_types)
            and (sig.arch is None or sig.arch == arch)
        )
        if kept:
            items.append((item, kept))
    prefilter = (
        compiled.prefilter() if isinstance(compiled, CompiledEntries) else _prefilter_of(compiled)
    )
    return _Candidates(items, prefilter)


def _indexed(kb: KnowledgeBase, crash_type: str, arch: str | None) -> _Candidates:
    index: dict[tuple[str, str | None], _Candidates] | None = kb.cache.get(_INDEX_KEY)
    if index is None:
        index = {}
        kb.cache[_INDEX_KEY] = index
    key = (crash_type, arch)
    found = index.get(key)
    if found is None:
        found = _candidates(_compiled(kb), crash_type, arch)
        index[key] = found
    return found


# ---------------------------------------------------------------------------------------------
# Per-report view


_NOT_TAINTED = re.compile(r"Not tainted", re.IGNORECASE)


class _ReportView:
    """What the matcher needs from a report, computed once per report (text parts lazily)."""

    __slots__ = (
        "_exact",
        "_folded",
        "candidates",
        "crash_type",
        "events",
        "frames",
        "memo",
        "modules",
        "report",
        "taint",
    )

    def __init__(self, report: PanicReport, candidates: _Candidates) -> None:
        self.report = report
        self.crash_type = str(report.crash_type)
        self.candidates = candidates
        # Kernel-line indices holding each prefilter literal (built on first use).
        self._exact: LiteralLines | None = None
        self._folded: LiteralLines | None = None
        letters = {flag for flag in report.taint_flags if len(flag) == 1}
        if report.taint and not _NOT_TAINTED.search(report.taint):
            # The raw taint string ("P           OE") is the ground truth when flags are names.
            letters.update(ch for ch in report.taint if ch.isalpha() and ch.isupper())
        self.taint = frozenset(letters)
        self.events = frozenset(str(e.kind) for e in report.events)
        modules = list(report.modules)
        modules += [f.module for f in report.call_trace if f.module]
        if report.ip_module:
            modules.append(report.ip_module)
        self.modules = tuple(dict.fromkeys(modules))
        frames = [f.function for f in report.call_trace if f.reliable]
        if report.ip_symbol:
            frames.insert(0, report.ip_symbol)
        self.frames = tuple(dict.fromkeys(frames))
        self.memo: dict[str, Evidence | None] = {}

    def _lines_with(self, literal: str, ignore_case: bool) -> list[int]:
        """Indices into `report.lines` of the kernel lines holding `literal` (lower case when
        `ignore_case`: then the lines are lowered first), ascending."""
        # User-space lines of a syslog are never searched: they are scanned as empty lines,
        # which keeps the indices those of `report.lines`.
        if ignore_case:
            if self._folded is None:
                lowered = [line.text.lower() if line.kernel else "" for line in self.report.lines]
                self._folded = self.candidates.prefilter.folded.scan(lowered)
            return self._folded.lines(literal)
        if self._exact is None:
            texts = [line.text if line.kernel else "" for line in self.report.lines]
            self._exact = self.candidates.prefilter.exact.scan(texts)
        return self._exact.lines(literal)

    def search_lines(self, rx: _LineRegex) -> Evidence | None:
        """The first kernel line matching `rx` as (number, text, why), or None."""
        memo = self.memo
        if rx.pattern in memo:
            return memo[rx.pattern]
        found = self._search(rx)
        memo[rx.pattern] = found
        return found

    def _search(self, rx: _LineRegex) -> Evidence | None:
        lines = self.report.lines
        search = rx.regex.search
        if rx.literal is not None:
            indices: Iterable[int] = self._lines_with(rx.literal, rx.ignore_case)
        elif rx.alternatives is not None:
            # A line may hold several of the literals: search it once, in line order.
            hits: set[int] = set()
            for literal in rx.alternatives:
                hits.update(self._lines_with(literal, False))
            indices = sorted(hits)
        else:
            for line in lines:
                if line.kernel and search(line.text):
                    return (line.number, line.text, rx.why)
            return None
        for index in indices:
            line = lines[index]
            if search(line.text):
                return (line.number, line.text, rx.why)
        return None

    def line_containing(self, needle: str) -> LogLine | None:
        """The first report-body line containing `needle` (then any line), for evidence."""
        body = self.report.report_lines() or self.report.lines
        for line in body:
            if needle in line.text:
                return line
        for line in self.report.lines:
            if needle in line.text:
                return line
        return None


def _anchor(line: LogLine | None, why: str) -> Evidence:
    if line is None:
        return (0, "", why)
    return (line.number, line.text, why)


# ---------------------------------------------------------------------------------------------
# Matching


def _match_signature(sig: _CompiledSignature, view: _ReportView) -> list[Evidence] | None:
    """Evidence for every condition of `sig`, or None when one of them fails.

    Conditions are checked cheapest first (sets, then one-string regexes, then the memoised
    line search, then frames and modules); the evidence keeps the order of the conditions.
    """
    report = view.report
    # Cheap set and equality checks first: most signatures fail here without any regex.
    if sig.crash_types and view.crash_type not in sig.crash_types:
        return None
    if sig.arch is not None and report.arch != sig.arch:
        return None
    if sig.taint and not sig.taint <= view.taint:
        return None
    if sig.events and not sig.events <= view.events:
        return None
    if sig.title is not None and not sig.title.search(report.title):
        return None
    if sig.panic is not None and (
        report.panic_line is None or not sig.panic.search(report.panic_line.text)
    ):
        return None
    if sig.guilty_frame is not None and (
        report.guilty_frame is None or not sig.guilty_frame.search(report.guilty_frame)
    ):
        return None
    text_hit: Evidence | None = None
    if sig.text is not None:
        text_hit = view.search_lines(sig.text)
        if text_hit is None:
            return None
    name = _first_match(sig.frame, view.frames)
    if sig.frame is not None and name is None:
        return None
    module = _first_match(sig.module, view.modules)
    if sig.module is not None and module is None:
        return None
    if sig.not_text is not None and view.search_lines(sig.not_text) is not None:
        return None

    evidence: list[Evidence] = []
    if text_hit is not None:
        evidence.append(text_hit)
    if sig.title is not None:
        evidence.append(_anchor(report.first_failure, f"title matches /{sig.title.pattern}/"))
    if sig.panic is not None:
        evidence.append(_anchor(report.panic_line, f"panic line matches /{sig.panic.pattern}/"))
    if sig.guilty_frame is not None and report.guilty_frame is not None:
        evidence.append(
            _anchor(
                view.line_containing(report.guilty_frame),
                f"guilty frame {report.guilty_frame} matches /{sig.guilty_frame.pattern}/",
            )
        )
    if sig.frame is not None and name is not None:
        evidence.append(
            _anchor(view.line_containing(name), f"frame {name} matches /{sig.frame.pattern}/")
        )
    if sig.module is not None and module is not None:
        evidence.append(
            _anchor(
                view.line_containing(f"[{module}]") or view.line_containing(module),
                f"module {module} matches /{sig.module.pattern}/",
            )
        )
    # Facts that come from the parser rather than a regex are listed after the regex evidence.
    if sig.crash_types:
        evidence.append(_anchor(report.first_failure, f"crash type is {report.crash_type}"))
    if sig.taint:
        letters = "".join(sorted(sig.taint))
        evidence.append(_anchor(view.line_containing("Tainted:"), f"kernel tainted {letters}"))
    if sig.events:
        for event in report.events:
            if str(event.kind) in sig.events:
                evidence.append((event.line, event.text, f"{event.kind} event"))
    if sig.arch is not None:
        evidence.append((0, "", f"architecture is {sig.arch}"))
    return evidence


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[int, str]] = set()
    result = []
    for item in evidence:
        key = (item[0], item[2])
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def match_entries(report: PanicReport, kb: KnowledgeBase) -> list[SignatureMatch]:
    """Every non-deprecated entry of `kb` with a signature matching `report`.

    At most one match per entry (its first matching signature). Specific entries come first,
    then generic ones, each group sorted by id; an empty list means no signature applies.
    """
    view = _ReportView(report, _indexed(kb, str(report.crash_type), report.arch))
    return _match_candidates(view)


def match_compiled(compiled: list[CompiledEntry], report: PanicReport) -> list[SignatureMatch]:
    """`match_entries` over entries compiled once with `compile_entries` (validators, tests).

    A plain list of compiled entries works too, but then the prefilter automaton is built on
    every call; pass what `compile_entries` returned to build it once.
    """
    view = _ReportView(report, _candidates(compiled, str(report.crash_type), report.arch))
    return _match_candidates(view)


def _match_candidates(view: _ReportView) -> list[SignatureMatch]:
    matches: list[SignatureMatch] = []
    for item, signatures in view.candidates.items:
        for sig in signatures:
            evidence = _match_signature(sig, view)
            if evidence is not None:
                matches.append(
                    SignatureMatch(
                        entry_id=item.entry.id,
                        signature_index=sig.index,
                        evidence=_dedupe(evidence),
                        generic=item.entry.generic,
                        category=item.entry.category,
                    )
                )
                break
    return matches


def match_entry(report: PanicReport, entry: Entry) -> SignatureMatch | None:
    """Match a single entry (None if no signature matches; deprecated entries never match).

    Compiles the entry on every call: for tests and one-off checks, not for the diagnoser.
    """
    found = match_compiled(compile_entries([entry]), report)
    return found[0] if found else None


def _first_match(pattern: re.Pattern[str] | None, names: Iterable[str]) -> str | None:
    """The first of `names` that `pattern` finds (None without a pattern or a match)."""
    if pattern is None:
        return None
    return next((n for n in names if pattern.search(n)), None)

"""Match knowledge-base signatures against a `PanicReport`.

Semantics (see `schema.Signature`): every condition a signature gives must hold; an entry
matches when any of its signatures does; deprecated entries never match. `text` and `not_text`
look at every kernel line of the report (user-space lines of a syslog are ignored), `frame` at
the reliable call-trace functions and the RIP/PC symbol, `module` at the loaded modules, the
frames' modules and the RIP/PC module.

Speed matters (the diagnoser runs every signature on every upload), so:
- regexes are compiled once per knowledge-base load and kept in `KnowledgeBase.cache`;
- cheap conditions (crash type, arch, taint, events) are checked before any regex;
- each line regex carries a literal that any match must contain, found by a conservative scan
  of the pattern; the report's kernel lines are joined once and the literal is looked up in
  the joined text (one C-level substring search) before any per-line regex work, and only the
  lines holding the literal are searched;
- regex results are memoised per report, since many entries share patterns.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from knowledge_base.loader import KnowledgeBase
from knowledge_base.schema import Entry, Signature
from vmcore_parsers.report import LogLine, PanicReport

Evidence = tuple[int, str, str]

_CACHE_KEY = "matcher.compiled"


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
    depth = 0

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
        if depth > 0:
            # Inside a group: only track nesting; contents may be optional or alternated.
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
            i += 1
            continue
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
            flush()
            depth += 1
            i += 1
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


# ---------------------------------------------------------------------------------------------
# Compiled signatures


@dataclass(frozen=True, slots=True)
class _LineRegex:
    pattern: str
    regex: re.Pattern[str]
    literal: str | None
    ignore_case: bool


def _line_regex(pattern: str) -> _LineRegex:
    lit = required_literal(pattern)
    return _LineRegex(
        pattern=pattern,
        regex=re.compile(pattern),
        literal=lit[0] if lit else None,
        ignore_case=lit[1] if lit else False,
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


def compile_entries(entries: list[Entry]) -> list[CompiledEntry]:
    """Compile the signatures of the non-deprecated entries (specific entries first)."""
    ordered = sorted(
        (e for e in entries if not e.deprecated and e.signatures), key=lambda e: (e.generic, e.id)
    )
    return [
        CompiledEntry(e, tuple(_compile_signature(i, s) for i, s in enumerate(e.signatures)))
        for e in ordered
    ]


def _compiled(kb: KnowledgeBase) -> list[CompiledEntry]:
    compiled = kb.cache.get(_CACHE_KEY)
    if compiled is None:
        compiled = compile_entries(list(kb.entries.values()))
        kb.cache[_CACHE_KEY] = compiled
    return compiled


# ---------------------------------------------------------------------------------------------
# Per-report view


_NOT_TAINTED = re.compile(r"Not tainted", re.IGNORECASE)


@dataclass
class _ReportView:
    """What the matcher needs from a report, computed once per report."""

    report: PanicReport
    lines: list[LogLine] = field(init=False)
    joined: str = field(init=False)
    joined_lower: str | None = field(init=False, default=None)
    starts: list[int] = field(init=False)
    taint: frozenset[str] = field(init=False)
    events: frozenset[str] = field(init=False)
    modules: tuple[str, ...] = field(init=False)
    frames: tuple[str, ...] = field(init=False)
    memo: dict[str, Evidence | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        report = self.report
        self.lines = [line for line in report.lines if line.kernel]
        self.starts = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line.text) + 1
        self.joined = "\n".join(line.text for line in self.lines)
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

    def _lower(self) -> str:
        if self.joined_lower is None:
            self.joined_lower = self.joined.lower()
        return self.joined_lower

    def search_lines(self, rx: _LineRegex) -> Evidence | None:
        """The first kernel line matching `rx` as (number, text, why), or None."""
        if rx.pattern in self.memo:
            return self.memo[rx.pattern]
        found = self._search(rx)
        self.memo[rx.pattern] = found
        return found

    def _search(self, rx: _LineRegex) -> Evidence | None:
        why = f"text matches /{rx.pattern}/"
        if rx.literal is None:
            for line in self.lines:
                if rx.regex.search(line.text):
                    return (line.number, line.text, why)
            return None
        haystack = self._lower() if rx.ignore_case else self.joined
        pos = haystack.find(rx.literal)
        last_index = -1
        while pos >= 0:
            index = bisect.bisect_right(self.starts, pos) - 1
            if index != last_index:
                line = self.lines[index]
                if rx.regex.search(line.text):
                    return (line.number, line.text, why)
                last_index = index
            # Jump to the next line: the literal cannot span lines.
            next_start = self.starts[index + 1] if index + 1 < len(self.starts) else len(haystack)
            pos = haystack.find(rx.literal, next_start)
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
    """Evidence for every condition of `sig`, or None when one of them fails."""
    report = view.report
    # Cheap set and equality checks first: most signatures fail here without any regex.
    if sig.crash_types and str(report.crash_type) not in sig.crash_types:
        return None
    if sig.arch is not None and report.arch != sig.arch:
        return None
    if sig.taint and not sig.taint <= view.taint:
        return None
    if sig.events and not sig.events <= view.events:
        return None
    evidence: list[Evidence] = []
    if sig.text is not None:
        hit = view.search_lines(sig.text)
        if hit is None:
            return None
        evidence.append(hit)
    if sig.title is not None:
        if not sig.title.search(report.title):
            return None
        evidence.append(_anchor(report.first_failure, f"title matches /{sig.title.pattern}/"))
    if sig.panic is not None:
        if report.panic_line is None or not sig.panic.search(report.panic_line.text):
            return None
        evidence.append(_anchor(report.panic_line, f"panic line matches /{sig.panic.pattern}/"))
    if sig.guilty_frame is not None:
        if report.guilty_frame is None or not sig.guilty_frame.search(report.guilty_frame):
            return None
        evidence.append(
            _anchor(
                view.line_containing(report.guilty_frame),
                f"guilty frame {report.guilty_frame} matches /{sig.guilty_frame.pattern}/",
            )
        )
    if sig.frame is not None:
        rx_frame = sig.frame
        name = next((f for f in view.frames if rx_frame.search(f)), None)
        if name is None:
            return None
        evidence.append(
            _anchor(view.line_containing(name), f"frame {name} matches /{rx_frame.pattern}/")
        )
    if sig.module is not None:
        rx_module = sig.module
        module = next((m for m in view.modules if rx_module.search(m)), None)
        if module is None:
            return None
        evidence.append(
            _anchor(
                view.line_containing(f"[{module}]") or view.line_containing(module),
                f"module {module} matches /{rx_module.pattern}/",
            )
        )
    if sig.not_text is not None and view.search_lines(sig.not_text) is not None:
        return None
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
    return match_compiled(_compiled(kb), report)


def match_compiled(compiled: list[CompiledEntry], report: PanicReport) -> list[SignatureMatch]:
    """`match_entries` over entries compiled once with `compile_entries` (validators, tests)."""
    view = _ReportView(report)
    matches: list[SignatureMatch] = []
    for item in compiled:
        for sig in item.signatures:
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

"""Knowledge-base validators: small checks that each say how to fix what they find.

Two phases, as in pySigma: per-entry checks look at one entry and its file; cross-entry checks
look at the whole knowledge base (duplicate ids, generic coverage, deprecation chains) and at
the example logs (headers, coverage, and whether signatures fire where they must and only
there). `validate_all` runs everything and never raises on bad content: every problem is a
`Problem`, and `panicdx kb validate` exits non-zero when any has severity `error`.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from knowledge_base.examples import Example, ExampleError, example_files, read_example
from knowledge_base.loader import KnowledgeBaseError, entry_files, read_entry, resolve_dirs
from knowledge_base.matcher import CompiledEntry, compile_entries, match_compiled
from knowledge_base.schema import Entry, Status
from knowledge_base.taxonomy import category_ids
from knowledge_base.versions import compare_versions, known_stream
from vmcore_parsers.report import PanicReport

Severity = Literal["error", "warning"]
ParseFn = Callable[[str], PanicReport | None]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: which entry and file, how bad, what to do, and a stable `code` for tools.

    `entry_id` is None for problems that belong to no single entry (e.g. a category with no
    generic entry); `path` is None when there is no file to point to.
    """

    entry_id: str | None
    path: Path | None
    severity: Severity
    message: str
    code: str = "other"

    def __str__(self) -> str:
        where = str(self.path) if self.path else (self.entry_id or "knowledge base")
        return f"{self.severity}: {where}: {self.message} [{self.code}]"


@dataclass(frozen=True, slots=True)
class LoadedEntry:
    """An entry with the file it came from."""

    entry: Entry
    path: Path


UNKNOWN_ENTRY_ID = "generic-unknown"


def _err(entry: LoadedEntry | None, code: str, message: str, path: Path | None = None) -> Problem:
    return Problem(
        entry.entry.id if entry else None,
        path or (entry.path if entry else None),
        "error",
        message,
        code,
    )


def _warn(entry: LoadedEntry | None, code: str, message: str, path: Path | None = None) -> Problem:
    return Problem(
        entry.entry.id if entry else None,
        path or (entry.path if entry else None),
        "warning",
        message,
        code,
    )


# ---------------------------------------------------------------------------------------------
# Per-entry checks


def check_category(item: LoadedEntry, taxonomy: list[str]) -> list[Problem]:
    """The category is a taxonomy id and the file sits in `entries/<category>/`."""
    entry = item.entry
    if entry.category not in taxonomy:
        return [
            _err(
                item,
                "bad-category",
                f"category {entry.category!r} is not a taxonomy id; use one of: "
                + ", ".join(taxonomy),
            )
        ]
    if item.path.parent.name != entry.category:
        return [
            _err(
                item,
                "wrong-directory",
                f"file is in {item.path.parent.name}/ but the category is {entry.category}; "
                f"move it to entries/{entry.category}/{item.path.name}",
            )
        ]
    return []


def check_file_name(item: LoadedEntry) -> list[Problem]:
    """The file stem is the entry id."""
    if item.path.stem != item.entry.id:
        return [
            _err(
                item,
                "id-mismatch",
                f"file name {item.path.name} does not match id {item.entry.id!r}; rename the "
                f"file to {item.entry.id}.yaml (never change an id that has shipped)",
            )
        ]
    return []


def check_signatures(item: LoadedEntry) -> list[Problem]:
    """Specific entries need signatures; generic ones are named `generic-<category>`."""
    entry = item.entry
    problems = []
    if not entry.generic and not entry.deprecated and not entry.signatures:
        problems.append(
            _err(
                item,
                "no-signatures",
                "a specific entry needs at least one signature (e.g. a `text:` regex on the "
                "message that identifies this cause); without one only the model can find it",
            )
        )
    if entry.generic and entry.id != f"generic-{entry.category}":
        problems.append(
            _warn(
                item,
                "generic-name",
                f"generic entries are named generic-<category>: rename to generic-{entry.category}",
            )
        )
    return problems


def check_references(item: LoadedEntry) -> list[Problem]:
    """References: required for stable specific entries, recommended for everything else."""
    entry = item.entry
    if entry.references or entry.deprecated:
        return []
    message = (
        "add at least one reference (the fixing commit, a CVE, a vendor advisory or "
        "knowledge-base article, or the kernel documentation page) so the facts can be checked"
    )
    if entry.status == Status.STABLE and not entry.generic:
        return [_err(item, "missing-references", message)]
    return [_warn(item, "missing-references", message)]


def check_remediation(item: LoadedEntry) -> list[Problem]:
    """Remediation and verify steps are present and not placeholders."""
    entry = item.entry
    problems = []
    if not entry.remediation:
        problems.append(
            _err(item, "missing-remediation", "add remediation steps: what the operator does")
        )
    for index, step in enumerate(entry.remediation):
        if step.text.strip().lower() in {"todo", "tbd", "fixme", "n/a"}:
            problems.append(
                _err(
                    item,
                    "placeholder-remediation",
                    f"remediation step {index + 1} is a placeholder; write the actual step",
                )
            )
    if not entry.verify:
        problems.append(
            _err(item, "missing-verify", "add a verify step: how to tell the fix worked")
        )
    return problems


def check_applicability(item: LoadedEntry) -> list[Problem]:
    """Stream names are known and every affected range is non-empty."""
    app = item.entry.applicability
    problems = []
    streams = [r.stream for r in app.affected] + [f.stream for f in app.fixed_in]
    for stream in dict.fromkeys(streams):
        if not known_stream(stream):
            problems.append(
                _warn(
                    item,
                    "unknown-stream",
                    f"stream {stream!r} is not one panicdx can recognise from a kernel release; "
                    "use e.g. mainline, rhel9, ubuntu-22.04, debian-12, amazon-linux-2023, "
                    "sles-15-sp5",
                )
            )
    for r in app.affected:
        if r.introduced and r.fixed and compare_versions(r.introduced, r.fixed) >= 0:
            problems.append(
                _err(
                    item,
                    "empty-range",
                    f"affected range of {r.stream} has introduced {r.introduced} >= fixed "
                    f"{r.fixed}; swap or correct the versions",
                )
            )
    return problems


ENTRY_CHECKS: list[Callable[[LoadedEntry], list[Problem]]] = [
    check_file_name,
    check_signatures,
    check_references,
    check_remediation,
    check_applicability,
]


# ---------------------------------------------------------------------------------------------
# Cross-entry checks


def check_duplicate_ids(items: list[LoadedEntry]) -> list[Problem]:
    """Every id is used by exactly one file."""
    seen: dict[str, LoadedEntry] = {}
    problems = []
    for item in items:
        first = seen.get(item.entry.id)
        if first is not None:
            problems.append(
                _err(
                    item,
                    "duplicate-id",
                    f"id {item.entry.id!r} is already used by {first.path}; ids are permanent "
                    "and unique: give this entry a new id",
                )
            )
        else:
            seen[item.entry.id] = item
    return problems


def check_generic_coverage(items: list[LoadedEntry], taxonomy: list[str]) -> list[Problem]:
    """Each category (`unknown` included) has exactly one non-deprecated generic entry."""
    generics: dict[str, list[LoadedEntry]] = defaultdict(list)
    for item in items:
        if item.entry.generic and not item.entry.deprecated:
            generics[item.entry.category].append(item)
    problems = []
    for category in taxonomy:
        found = generics.get(category, [])
        if not found:
            problems.append(
                Problem(
                    None,
                    None,
                    "error",
                    f"category {category!r} has no generic entry; add "
                    f"entries/{category}/generic-{category}.yaml with generic: true",
                    "missing-generic",
                )
            )
        elif len(found) > 1:
            names = ", ".join(i.entry.id for i in found)
            problems.extend(
                _err(
                    item,
                    "duplicate-generic",
                    f"category {category!r} has several generic entries ({names}); keep one and "
                    "deprecate the others",
                )
                for item in found[1:]
            )
    return problems


def check_replacements(items: list[LoadedEntry]) -> list[Problem]:
    """`replaced_by` names an existing, non-deprecated entry."""
    by_id = {item.entry.id: item.entry for item in items}
    problems = []
    for item in items:
        target = item.entry.replaced_by
        if target is None:
            continue
        if target not in by_id:
            problems.append(
                _err(
                    item,
                    "dangling-replaced-by",
                    f"replaced_by {target!r} is not an entry id; point it at the successor "
                    "entry's id",
                )
            )
        elif by_id[target].deprecated:
            problems.append(
                _err(
                    item,
                    "replaced-by-deprecated",
                    f"replaced_by {target!r} is itself deprecated; point it at the final "
                    f"successor ({by_id[target].replaced_by or 'a live entry'})",
                )
            )
        elif target == item.entry.id:
            problems.append(_err(item, "replaced-by-self", "an entry cannot replace itself"))
    return problems


# ---------------------------------------------------------------------------------------------
# Example checks


def check_example_headers(
    example: Example, entries: dict[str, Entry], taxonomy: list[str]
) -> list[Problem]:
    """The example sits under an entry and its ROOT_CAUSE / CATEGORY headers are consistent."""
    owner = entries.get(example.entry_id)
    problems = []

    def err(code: str, message: str) -> None:
        problems.append(Problem(example.entry_id, example.path, "error", message, code))

    if owner is None:
        err(
            "orphan-example",
            f"examples/{example.entry_id}/ does not belong to any entry; rename the directory "
            "to the entry id or delete it",
        )
    root = example.root_cause
    if root != "unknown" and root not in entries:
        err(
            "unknown-root-cause",
            f"ROOT_CAUSE {root!r} is not an entry id; use an existing id or 'unknown'",
        )
    if example.category not in taxonomy:
        err("bad-example-category", f"CATEGORY {example.category!r} is not a taxonomy id")
    elif root in entries and entries[root].category != example.category:
        err(
            "category-mismatch",
            f"CATEGORY {example.category} differs from {root}'s category "
            f"{entries[root].category}; set CATEGORY: {entries[root].category}",
        )
    elif root == "unknown" and example.category != "unknown":
        problems.append(
            Problem(
                example.entry_id,
                example.path,
                "warning",
                "ROOT_CAUSE unknown means the pipeline abstains, which reports CATEGORY "
                f"unknown; use CATEGORY: unknown or ROOT_CAUSE: generic-{example.category}",
                "category-mismatch",
            )
        )
    # The pipeline abstains rather than naming `generic-unknown` (its advice still comes from
    # that entry), so the unknown entry's own positives expect ROOT_CAUSE: unknown.
    abstains = example.entry_id == UNKNOWN_ENTRY_ID and root == "unknown"
    if example.kind in ("positive", "known-miss") and root != example.entry_id and not abstains:
        err(
            "positive-root-cause",
            f"a {example.kind} example of {example.entry_id} must have ROOT_CAUSE: "
            f"{example.entry_id}; if it shows another cause, move it to that entry or make "
            "it a near-miss",
        )
    if example.kind == "near-miss" and root == example.entry_id:
        err(
            "near-miss-root-cause",
            f"a near-miss of {example.entry_id} must expect a different ROOT_CAUSE (another "
            "entry, a generic-<category> entry, or unknown)",
        )
    return problems


def check_example_coverage(items: list[LoadedEntry], examples: list[Example]) -> list[Problem]:
    """Specific entries have a positive and a near-miss; generic ones two positives."""
    counts: Counter[tuple[str, str]] = Counter((e.entry_id, e.kind) for e in examples)
    problems = []
    for item in items:
        entry = item.entry
        if entry.deprecated:
            continue
        positives = counts[(entry.id, "positive")]
        if entry.generic:
            if positives < 2:
                problems.append(
                    _warn(
                        item,
                        "few-examples",
                        f"generic entry has {positives} positive example(s); add logs under "
                        f"examples/{entry.id}/positive-<n>.log where nothing specific applies",
                    )
                )
            continue
        if positives < 1:
            problems.append(
                _err(
                    item,
                    "missing-positive",
                    f"add at least one positive example: examples/{entry.id}/positive-1.log "
                    f"with KIND: positive, ROOT_CAUSE: {entry.id}",
                )
            )
        if counts[(entry.id, "near-miss")] < 1:
            problems.append(
                _err(
                    item,
                    "missing-near-miss",
                    f"add at least one near-miss: examples/{entry.id}/near-miss-1.log, a log "
                    "that looks similar but has another cause (KIND: near-miss)",
                )
            )
    return problems


def _default_parser() -> ParseFn | None:
    # Imported by name at call time: the parser module is developed in parallel and the
    # validators must keep working (minus the signature checks) until it exists.
    try:
        module = importlib.import_module("vmcore_parsers.parse")
    except ImportError:
        return None
    parse_log = getattr(module, "parse_log", None)
    return cast(ParseFn, parse_log) if callable(parse_log) else None


def check_example_signatures(
    entries: dict[str, Entry],
    examples: list[Example],
    parse: ParseFn,
    compiled: list[CompiledEntry] | None = None,
) -> list[Problem]:
    """Signatures fire where they must and only there.

    For every positive and near-miss example with expected root cause R: R's own signatures
    must fire on a positive of a specific entry, and no specific entry other than R may fire
    (on its own near-miss that is `own-near-miss`, elsewhere `cross-match`). Known misses are
    expected failures and are not checked here.
    """
    specific = [e for e in entries.values() if not e.generic and not e.deprecated]
    compiled = compiled if compiled is not None else compile_entries(specific)
    problems = []
    for example in examples:
        if example.kind == "known-miss":
            continue
        expected = example.root_cause
        expected_entry = entries.get(expected)
        needs_match = (
            example.kind == "positive"
            and expected_entry is not None
            and not expected_entry.generic
            and not expected_entry.deprecated
        )
        try:
            report = parse(example.text)
        except Exception as exc:  # a parser bug must not hide every other problem
            problems.append(
                Problem(
                    example.entry_id,
                    example.path,
                    "error",
                    f"the parser raised {type(exc).__name__}: {exc}; parsing must never raise "
                    "on a log (report it against vmcore_parsers)",
                    "parser-crash",
                )
            )
            continue
        if report is None:
            if needs_match:
                problems.append(
                    Problem(
                        example.entry_id,
                        example.path,
                        "error",
                        "the parser finds no crash in this positive example; check the log is "
                        "a complete kernel report, or mark it KIND: known-miss",
                        "unparsed-positive",
                    )
                )
            continue
        fired = {m.entry_id: m for m in match_compiled(compiled, report)}
        if needs_match and expected not in fired:
            problems.append(
                Problem(
                    example.entry_id,
                    example.path,
                    "error",
                    f"no signature of {expected} matches its positive example (crash type "
                    f"{report.crash_type}, title {report.title!r}); loosen a signature or add "
                    "one, or mark the example KIND: known-miss",
                    "positive-not-matched",
                )
            )
        for entry_id, match in fired.items():
            if entry_id == expected:
                continue
            line = next((f"line {n}: {t!r}" for n, t, _ in match.evidence if n), "")
            if entry_id == example.entry_id:
                problems.append(
                    Problem(
                        entry_id,
                        example.path,
                        "error",
                        f"signature {match.signature_index} of {entry_id} fires on its own "
                        f"near-miss {line}; tighten it (e.g. add a not_text or frame "
                        "condition)",
                        "own-near-miss",
                    )
                )
            else:
                problems.append(
                    Problem(
                        entry_id,
                        example.path,
                        "error",
                        f"signature {match.signature_index} of {entry_id} fires on "
                        f"{example.name} (expected {expected}) {line}; tighten {entry_id}'s "
                        "signature or, if that log really shows this cause, fix the example",
                        "cross-match",
                    )
                )
    return problems


# ---------------------------------------------------------------------------------------------
# Everything


def validate_all(
    path: Path | None = None,
    *,
    taxonomy: list[str] | None = None,
    parse: ParseFn | None = None,
) -> list[Problem]:
    """Run every check on the knowledge base at `path` (None: the package's own).

    `path` is a knowledge-base root (with `entries/` and `examples/`) or an entries directory.
    `taxonomy` defaults to the project's category ids; `parse` to `vmcore_parsers.parse
    .parse_log` (when that module is missing the signature checks are skipped with a warning).
    Problems come sorted: errors first, then by file.
    """
    entries_dir, examples_dir = resolve_dirs(path)
    taxonomy = taxonomy if taxonomy is not None else category_ids()
    problems: list[Problem] = []
    items: list[LoadedEntry] = []
    if not entries_dir.is_dir():
        return [Problem(None, entries_dir, "error", "entries directory not found", "no-entries")]
    for file in entry_files(entries_dir):
        try:
            items.append(LoadedEntry(read_entry(file), file))
        except KnowledgeBaseError as exc:
            problems.append(
                Problem(
                    file.stem, file, "error", f"{exc} (fix the YAML to match schema.py)", "schema"
                )
            )
    for item in items:
        problems.extend(check_category(item, taxonomy))
        for check in ENTRY_CHECKS:
            problems.extend(check(item))
    problems.extend(check_duplicate_ids(items))
    problems.extend(check_generic_coverage(items, taxonomy))
    problems.extend(check_replacements(items))

    entries = {item.entry.id: item.entry for item in items}
    examples: list[Example] = []
    for file in example_files(examples_dir):
        try:
            examples.append(read_example(file))
        except ExampleError as exc:
            problems.append(Problem(file.parent.name, file, "error", str(exc), "bad-example"))
    for example in examples:
        problems.extend(check_example_headers(example, entries, taxonomy))
    problems.extend(check_example_coverage(items, examples))

    parse_fn = parse or _default_parser()
    if parse_fn is None:
        problems.append(
            Problem(
                None,
                None,
                "warning",
                "vmcore_parsers.parse.parse_log is not available: signature checks on the "
                "examples were skipped",
                "no-parser",
            )
        )
    else:
        problems.extend(check_example_signatures(entries, examples, parse_fn))
    return sorted(
        problems,
        key=lambda p: (p.severity != "error", str(p.path or ""), p.code, p.message),
    )


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the problems with severity `error`."""
    return [p for p in problems if p.severity == "error"]

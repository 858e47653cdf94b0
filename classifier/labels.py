"""Labelled panics: a log plus the root cause an engineer confirmed or corrected.

A `LabelledPanic` is what the learning loop trains on (DESIGN 9). Labels come from feedback on a
diagnosis (the API and the widget) or from a bulk import, in one of these formats
(`read_label_import`):

* **JSON Lines** (`*.jsonl`, `*.jsonl.gz` is not accepted: compress the logs, not the list):
  one object per line, `{"log": "<text>"}` or `{"path": "<file>"}` (relative to the JSONL
  file's directory; gzip/xz/zstd/bzip2 logs are fine), plus `"root_cause"` (required),
  `"category"`, `"source"`, `"note"` (optional). `panicdx labels export` writes this format
  with the text inline, so an export imports back unchanged.
* **A directory of logs plus a labels file**: the directory holds `labels.csv`,
  `labels.yaml`, `labels.yml` or `labels.json` (exactly one), or PATH names that file
  directly. File names are relative to the labels file's directory.

  - CSV: a header row with `file` and `root_cause` columns, optionally `category`, `note`,
    `source`; one log per row.
  - YAML/JSON: a mapping `file: root_cause` or `file: {root_cause: ..., category: ...,
    note: ..., source: ...}`.

`root_cause` is a knowledge-base entry id when it names one; any other text is a *new cause*
(kept, reported as a candidate for a new knowledge-base entry, and trained as the generic entry
of its `category` when one is given). Every problem is reported with its file and line, all of
them at once (`LabelImportError`), and nothing is imported from a file with errors.

Duplicates (`dedupe`): one bug pasted a thousand times must not dominate training, so labels
are grouped by (crash signature, label) and each group counts once, with its size kept as
`count`. A log without a parsable crash has no signature; its text hash stands in for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from vmcore_parsers.errors import InputError
from vmcore_parsers.intake import DEFAULT_MAX_LOG_BYTES, read_log_file
from vmcore_parsers.parse import parse_log

LABEL_FILE_NAMES = ("labels.csv", "labels.yaml", "labels.yml", "labels.json")
JSONL_KEYS = {"log", "path", "root_cause", "category", "source", "note"}
MAPPING_KEYS = {"root_cause", "category", "source", "note"}
UNKNOWN = "unknown"
MAX_NOTE_CHARS = 2000
MAX_CAUSE_CHARS = 300


class LabelImportError(ValueError):
    """An import file with problems; `problems` lists every one as `file:line: message`."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class KnownCauses:
    """What validation needs from the knowledge base: entry categories and category ids."""

    entry_categories: Mapping[str, str]  # entry id -> category
    categories: frozenset[str]  # taxonomy ids, `unknown` included
    generic: Mapping[str, str] = field(default_factory=dict)  # category -> generic entry id

    @classmethod
    def from_knowledge_base(cls) -> KnownCauses:
        """The project's knowledge base and taxonomy."""
        from knowledge_base.loader import load_knowledge_base
        from knowledge_base.taxonomy import category_ids

        kb = load_knowledge_base()
        generic = {e.category: e.id for e in kb.entries.values() if e.generic and not e.deprecated}
        return cls(
            entry_categories={e.id: e.category for e in kb.entries.values()},
            categories=frozenset(category_ids()),
            generic=generic,
        )


@dataclass(frozen=True)
class LabelledPanic:
    """One label: a log and the cause someone says it has, with provenance.

    Exactly one of `root_cause` (a knowledge-base id) and `new_cause` (free text naming a cause
    the knowledge base does not have) is set. `category` None means "not given" (a known
    root cause always has its entry's category). `origin` says where the label came from
    (`file:line` of an import, or a diagnosis id) for messages; `count` is how many labels a
    deduplicated record stands for.
    """

    text: str
    root_cause: str | None
    new_cause: str | None
    category: str | None
    source: str
    author: str | None = None
    note: str | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    diagnosis_id: str | None = None
    signature: str = ""
    origin: str = ""
    count: int = 1

    @property
    def label_key(self) -> str:
        """The label as one string: the root-cause id, or `new:<cause>`."""
        return self.root_cause if self.root_cause else f"new:{self.new_cause}"

    @property
    def dedup_key(self) -> tuple[str, str]:
        """(signature, label): labels with the same key describe the same bug the same way."""
        return (self.signature or f"text:{text_sha256(self.text)[:16]}", self.label_key)

    def training_label(self, known: KnownCauses) -> str | None:
        """The model label to train on: the root cause, else the generic entry of the category.

        None when the label cannot be trained on (a new cause without a category that has a
        generic entry); it is still kept as a candidate for a new knowledge-base entry.
        """
        if self.root_cause:
            return self.root_cause
        if self.category:
            return known.generic.get(self.category)
        return None

    def as_json(self) -> dict[str, Any]:
        """The JSON Lines export form (imports back with `read_jsonl`)."""
        out: dict[str, Any] = {
            "log": self.text,
            "root_cause": self.root_cause or self.new_cause,
            "category": self.category,
            "source": self.source,
            "note": self.note,
            "author": self.author,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "diagnosis_id": self.diagnosis_id,
            "signature": self.signature,
        }
        return {k: v for k, v in out.items() if v is not None}


def text_sha256(text: str) -> str:
    """Hex sha256 of a log's UTF-8 text (blob keys and signature stand-ins)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def crash_signature(text: str) -> str:
    """The parser's dedup signature of a log, or "" when no crash is found in it."""
    report = parse_log(text)
    return report.signature if report is not None else ""


@dataclass
class _Row:
    """One label line before validation: where it is and what it says."""

    where: str
    fields: dict[str, Any]
    base: Path


def make_label(
    text: str,
    cause: str,
    *,
    known: KnownCauses,
    category: str | None = None,
    source: str = "import",
    author: str | None = None,
    note: str | None = None,
    diagnosis_id: str | None = None,
    origin: str = "",
    created_at: dt.datetime | None = None,
) -> LabelledPanic:
    """Validate one label and compute its signature; ValueError says what is wrong.

    `cause` is a knowledge-base id or the free text of a new cause.
    """
    cause = cause.strip()
    if not cause:
        raise ValueError("root_cause is empty")
    if len(cause) > MAX_CAUSE_CHARS:
        raise ValueError(f"root_cause is longer than {MAX_CAUSE_CHARS} characters")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"note is longer than {MAX_NOTE_CHARS} characters")
    if category is not None and category not in known.categories:
        raise ValueError(
            f"unknown category {category!r} (one of: {', '.join(sorted(known.categories))})"
        )
    if not text.strip():
        raise ValueError("the log is empty")
    root_cause: str | None = None
    new_cause: str | None = None
    if cause in known.entry_categories:
        root_cause = cause
        entry_category = known.entry_categories[cause]
        if category is not None and category != entry_category:
            raise ValueError(
                f"category {category!r} contradicts root cause {cause!r} "
                f"(its category is {entry_category!r}); leave category out"
            )
        category = entry_category
    else:
        new_cause = cause
    return LabelledPanic(
        text=text,
        root_cause=root_cause,
        new_cause=new_cause,
        category=category,
        source=source,
        author=author,
        note=note,
        created_at=created_at or dt.datetime.now(dt.UTC),
        diagnosis_id=diagnosis_id,
        signature=crash_signature(text),
        origin=origin,
    )


def _optional_str(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _row_to_label(
    row: _Row, known: KnownCauses, author: str | None, max_bytes: int
) -> LabelledPanic:
    fields = row.fields
    has_log, has_path = fields.get("log") is not None, fields.get("path") is not None
    if has_log == has_path:
        raise ValueError("give exactly one of 'log' (the text) and 'path' (a file)")
    if has_log:
        text = fields["log"]
        if not isinstance(text, str):
            raise ValueError("'log' must be a string")
    else:
        name = fields["path"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError("'path' must be a non-empty string")
        path = Path(name)
        # Relative to the labels file, so an import directory can be moved as a whole.
        path = path if path.is_absolute() else row.base / path
        try:
            text = read_log_file(path, max_bytes).text
        except InputError as exc:
            raise ValueError(exc.message) from None
    cause = fields.get("root_cause")
    if not isinstance(cause, str):
        raise ValueError("'root_cause' is required (a knowledge-base id or a new cause)")
    created = fields.get("created_at")
    created_at = None
    if isinstance(created, str):
        try:
            created_at = dt.datetime.fromisoformat(created)
        except ValueError:
            raise ValueError(f"created_at {created!r} is not an ISO 8601 time") from None
    return make_label(
        text,
        cause,
        known=known,
        category=_optional_str(fields, "category"),
        source=_optional_str(fields, "source") or "import",
        author=_optional_str(fields, "author") or author,
        note=_optional_str(fields, "note"),
        diagnosis_id=_optional_str(fields, "diagnosis_id"),
        origin=row.where,
        created_at=created_at,
    )


def _read_import_file(path: Path) -> str:
    """The UTF-8 text of `path`; a file that cannot be read fails the whole import."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelImportError([f"{path}: cannot read ({exc})"]) from None


def _jsonl_rows(path: Path, problems: list[str]) -> list[_Row]:
    rows = []
    lines = _read_import_file(path).splitlines()
    # Export adds provenance keys; they import back instead of being rejected.
    allowed = JSONL_KEYS | {"author", "created_at", "diagnosis_id", "signature"}
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(raw)
        except ValueError as exc:
            problems.append(f"{where}: not valid JSON ({exc})")
            continue
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        extra = sorted(set(item) - allowed)
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
            continue
        rows.append(_Row(where, item, path.parent))
    return rows


def _csv_rows(path: Path, problems: list[str]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(_read_import_file(path)))
    header = reader.fieldnames or []
    missing = [name for name in ("file", "root_cause") if name not in header]
    if missing:
        raise LabelImportError([f"{path}:1: the header needs column(s) {', '.join(missing)}"])
    extra = sorted(set(header) - MAPPING_KEYS - {"file"})
    if extra:
        raise LabelImportError([f"{path}:1: unknown column(s) {', '.join(extra)}"])
    rows = []
    for record in reader:
        where = f"{path}:{reader.line_num}"
        if None in record:
            problems.append(f"{where}: more fields than the header has")
            continue
        fields: dict[str, Any] = {k: (v or None) for k, v in record.items() if k != "file"}
        fields["path"] = record.get("file") or None
        if fields["path"] is None:
            problems.append(f"{where}: 'file' is empty")
            continue
        rows.append(_Row(where, fields, path.parent))
    return rows


def _mapping_rows(path: Path, problems: list[str]) -> list[_Row]:
    content = _read_import_file(path)
    try:
        node = yaml.compose(content, Loader=yaml.SafeLoader)
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise LabelImportError([f"{path}: cannot read ({exc})"]) from None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise LabelImportError([f"{path}:1: expected a mapping of file name -> root cause"])
    # Line numbers come from the composed node tree; the values from safe_load.
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    rows = []
    for name, value in data.items():
        where = f"{path}:{lines.get(str(name), 1)}"
        if isinstance(value, str):
            fields: dict[str, Any] = {"root_cause": value}
        elif isinstance(value, dict):
            extra = sorted(set(map(str, value)) - MAPPING_KEYS)
            if extra:
                problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
                continue
            fields = dict(value)
        else:
            problems.append(f"{where}: expected a root cause or a mapping with root_cause")
            continue
        fields["path"] = str(name)
        rows.append(_Row(where, fields, path.parent))
    return rows


def _labels_file_in(directory: Path) -> Path:
    found = [directory / name for name in LABEL_FILE_NAMES if (directory / name).is_file()]
    if len(found) != 1:
        what = "no labels file" if not found else "more than one labels file"
        raise LabelImportError(
            [f"{directory}: {what}; expected exactly one of {', '.join(LABEL_FILE_NAMES)}"]
        )
    return found[0]


def read_label_import(
    path: Path,
    known: KnownCauses,
    *,
    author: str | None = None,
    max_bytes: int = DEFAULT_MAX_LOG_BYTES,
) -> list[LabelledPanic]:
    """Read and validate an import (format chosen by the path; see the module docstring).

    `author` is recorded on labels that do not name one. Raises LabelImportError listing every
    problem (nothing is returned when there is any) and when the import holds no label.
    """
    if path.is_dir():
        path = _labels_file_in(path)
    elif not path.is_file():
        raise LabelImportError([f"{path}: no such file or directory"])
    problems: list[str] = []
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = _jsonl_rows(path, problems)
    elif suffix == ".csv":
        rows = _csv_rows(path, problems)
    elif suffix in {".yaml", ".yml", ".json"}:
        rows = _mapping_rows(path, problems)
    else:
        raise LabelImportError(
            [
                f"{path}: unknown import format; use .jsonl, a directory with a labels file, "
                "or a labels .csv/.yaml/.yml/.json"
            ]
        )
    labels = []
    for row in rows:
        try:
            labels.append(_row_to_label(row, known, author, max_bytes))
        except ValueError as exc:
            problems.append(f"{row.where}: {exc}")
    if problems:
        raise LabelImportError(sorted(problems, key=_line_number))
    if not labels:
        raise LabelImportError([f"{path}: no labels in the file"])
    return labels


def _line_number(problem: str) -> int:
    """The line number in a `file:line: message` problem (problems are listed in file order)."""
    found = re.search(r":(\d+): ", problem)
    return int(found.group(1)) if found else 0


def dedupe(labels: Iterable[LabelledPanic]) -> list[LabelledPanic]:
    """One record per (signature, label), the first seen, with `count` summed; input order.

    Two different labels for the same signature are both kept: they disagree, and which one
    is right is for the data, not for deduplication, to decide.
    """
    out: dict[tuple[str, str], LabelledPanic] = {}
    for label in labels:
        key = label.dedup_key
        seen = out.get(key)
        out[key] = label if seen is None else replace(seen, count=seen.count + label.count)
    return list(out.values())


@dataclass(frozen=True)
class ImportSummary:
    """What an import contained: totals, duplicates and the causes the KB lacks."""

    labels: int
    unique: int
    duplicates: int
    new_causes: dict[str, int]  # free-text cause -> number of labels naming it

    def as_json(self) -> dict[str, Any]:
        """A plain dict for `--json` output."""
        return {
            "labels": self.labels,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "unknown_root_causes": self.new_causes,
        }


def summarize(labels: Sequence[LabelledPanic]) -> ImportSummary:
    """Counts for a list of labels (duplicates by `dedup_key`)."""
    unique = dedupe(labels)
    new: dict[str, int] = {}
    for label in labels:
        if label.new_cause:
            new[label.new_cause] = new.get(label.new_cause, 0) + 1
    return ImportSummary(len(labels), len(unique), len(labels) - len(unique), new)


def write_jsonl(labels: Iterable[LabelledPanic], handle: Any) -> int:
    """Write labels as JSON Lines to a text handle; return how many were written."""
    count = 0
    for label in labels:
        handle.write(json.dumps(label.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count

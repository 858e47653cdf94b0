"""Load the knowledge base: one strict YAML file per root cause.

Entries live in `entries/<category>/<id>.yaml`. Files are read with `yaml.safe_load` only (a
knowledge base is data, never code) and validated by the pydantic schema in `schema.py`, which
forbids unknown keys so a typo fails loudly. The loader refuses what would make the knowledge
base ambiguous (a bad entry, two files with one id, a file whose name is not its id); softer
problems (missing references, overlapping signatures, ...) are the validators' job.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge_base.schema import Entry

PACKAGE_DIR = Path(__file__).parent
DEFAULT_ENTRIES_DIR = PACKAGE_DIR / "entries"
DEFAULT_EXAMPLES_DIR = PACKAGE_DIR / "examples"


class KnowledgeBaseError(ValueError):
    """An entry file cannot be used; the message names the file and what is wrong."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class KnowledgeBase:
    """All entries of one knowledge base, keyed by id.

    `version` is `kb-` plus the first 12 hex digits of a sha256 over every entry and example
    file (path relative to the knowledge-base root, then content), so a diagnosis can name the exact
    knowledge base that produced it. `paths` maps each id to its file.
    """

    entries: dict[str, Entry]
    version: str
    root: Path = DEFAULT_ENTRIES_DIR
    paths: dict[str, Path] = field(default_factory=dict)
    # Per-load caches owned by other modules (the matcher keeps its compiled regexes here), so
    # work tied to this particular set of entries is done once per load and dropped with it.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def generic_for(self, category: str) -> Entry:
        """The category-level entry for `category`.

        Falls back to the generic entry of `unknown` when the category has none (the validators
        report that as an error); raises KeyError only if that is missing too.
        """
        for wanted in (category, "unknown"):
            for entry in self.entries.values():
                if entry.generic and not entry.deprecated and entry.category == wanted:
                    return entry
        raise KeyError(f"no generic entry for category {category!r} nor for 'unknown'")

    def by_category(self, category: str) -> list[Entry]:
        """Entries of `category` (deprecated ones included), sorted by id."""
        return sorted(
            (e for e in self.entries.values() if e.category == category), key=lambda e: e.id
        )

    def active(self) -> list[Entry]:
        """Non-deprecated entries sorted by id."""
        return sorted((e for e in self.entries.values() if not e.deprecated), key=lambda e: e.id)


def resolve_dirs(path: Path | None) -> tuple[Path, Path]:
    """(entries dir, examples dir) for a path that is a KB root or an entries dir.

    None means the package's own directories. A directory that contains `entries/` is taken as
    a knowledge-base root; otherwise it is the entries directory and examples sit beside it.
    """
    if path is None:
        return DEFAULT_ENTRIES_DIR, DEFAULT_EXAMPLES_DIR
    if (path / "entries").is_dir():
        return path / "entries", path / "examples"
    return path, path.parent / "examples"


def entry_files(entries_dir: Path) -> list[Path]:
    """Every `*.yaml` / `*.yml` file under `entries_dir`, sorted, so loads are reproducible."""
    return sorted(
        p for p in entries_dir.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")
    )


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(loc) for loc in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def read_entry(path: Path) -> Entry:
    """Parse and validate one entry file; raise KnowledgeBaseError naming the file if bad."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: cannot read: {exc}", path) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: not valid YAML: {exc}", path) from exc
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{path}: expected a YAML mapping at the top level", path)
    try:
        return Entry.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeBaseError(
            f"{path}: invalid entry: {_format_validation_error(exc)}", path
        ) from exc


def content_version(files: list[Path], base: Path) -> str:
    """`kb-<sha256[:12]>` over the files' relative paths and bytes."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "kb-" + digest.hexdigest()[:12]


def _load(entries_dir: Path) -> KnowledgeBase:
    if not entries_dir.is_dir():
        raise KnowledgeBaseError(f"{entries_dir}: knowledge-base directory not found", entries_dir)
    files = entry_files(entries_dir)
    entries: dict[str, Entry] = {}
    paths: dict[str, Path] = {}
    for path in files:
        entry = read_entry(path)
        if path.stem != entry.id:
            raise KnowledgeBaseError(
                f"{path}: file name must be the entry id: rename it to {entry.id}.yaml", path
            )
        if entry.id in entries:
            raise KnowledgeBaseError(
                f"{path}: id {entry.id!r} is already used by {paths[entry.id]}; ids are "
                "permanent and unique, pick a new one",
                path,
            )
        entries[entry.id] = entry
        paths[entry.id] = path
    # The examples are part of the knowledge base's content (the model is trained on them), so
    # a changed example must change the version that the model manifest is checked against.
    examples_dir = entries_dir.parent / "examples"
    examples = sorted(examples_dir.rglob("*.log")) if examples_dir.is_dir() else []
    return KnowledgeBase(
        entries=entries,
        version=content_version(files + examples, entries_dir.parent),
        root=entries_dir,
        paths=paths,
    )


@functools.cache
def _load_default() -> KnowledgeBase:
    return _load(DEFAULT_ENTRIES_DIR)


def load_knowledge_base(path: Path | None = None) -> KnowledgeBase:
    """Load and validate every entry under `path`.

    None means the package's own `entries/` directory, loaded once per process and cached (call
    `clear_cache()` after editing files in a long-lived process). `path` may be an entries
    directory or a knowledge-base root that contains `entries/`. Raises KnowledgeBaseError on
    the first bad file.
    """
    if path is None:
        return _load_default()
    return _load(resolve_dirs(path)[0])


def clear_cache() -> None:
    """Forget the cached default knowledge base (the next load reads the files again)."""
    _load_default.cache_clear()

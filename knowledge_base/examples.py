"""Example logs that travel with knowledge-base entries.

Layout: `examples/<entry-id>/<kind>-<n>.log`, in the golden-file format of
`vmcore_parsers.golden` with headers:

- `KIND`: `positive` (must be diagnosed as the entry), `near-miss` (looks similar but must not
  be) or `known-miss` (a positive the pipeline gets wrong today; tests keep it as a strict
  expected failure so fixing it forces the header to change);
- `ROOT_CAUSE`: the root-cause id the whole pipeline should answer (`unknown` to abstain);
- `CATEGORY`: the taxonomy id expected;
- optional `SOURCE` (provenance) and `NOTE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.loader import resolve_dirs
from vmcore_parsers.golden import GoldenFormatError, read_golden

KINDS = ("positive", "near-miss", "known-miss")
REQUIRED_HEADERS = ("KIND", "ROOT_CAUSE", "CATEGORY")
ALLOWED_HEADERS = frozenset({*REQUIRED_HEADERS, "SOURCE", "NOTE"})
FILE_NAME = re.compile(r"^(positive|near-miss|known-miss)-(\d+)\.log$")


class ExampleError(ValueError):
    """An example file is unusable; the message names the file and how to fix it."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Example:
    """One example log: the entry directory it sits in, its expectations and raw text."""

    entry_id: str
    path: Path
    kind: str
    root_cause: str
    category: str
    text: str
    source: str | None = None
    note: str | None = None
    headers: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        """`<entry-id>/<file name>`: a short stable name for test ids and messages."""
        return f"{self.entry_id}/{self.path.name}"


def read_example(path: Path) -> Example:
    """Read and check one example file; raise ExampleError saying how to fix it."""
    try:
        golden = read_golden(path)
    except (OSError, GoldenFormatError) as exc:
        raise ExampleError(f"{path}: {exc}", path) from exc
    headers = golden.headers
    missing = [key for key in REQUIRED_HEADERS if not headers.get(key)]
    if missing:
        raise ExampleError(f"{path}: add the header(s) {', '.join(missing)}", path)
    unknown = sorted(set(headers) - ALLOWED_HEADERS)
    if unknown:
        raise ExampleError(
            f"{path}: unknown header(s) {', '.join(unknown)}; allowed: "
            + ", ".join(sorted(ALLOWED_HEADERS)),
            path,
        )
    kind = headers["KIND"]
    if kind not in KINDS:
        raise ExampleError(f"{path}: KIND must be one of {', '.join(KINDS)}, not {kind!r}", path)
    name = FILE_NAME.match(path.name)
    if not name:
        raise ExampleError(f"{path}: name the file <kind>-<n>.log, e.g. {kind}-1.log", path)
    if name.group(1) != kind:
        raise ExampleError(
            f"{path}: file name says {name.group(1)} but KIND is {kind}; make them agree", path
        )
    if not golden.text.strip():
        raise ExampleError(f"{path}: the log after the header block is empty", path)
    return Example(
        entry_id=path.parent.name,
        path=path,
        kind=kind,
        root_cause=headers["ROOT_CAUSE"],
        category=headers["CATEGORY"],
        text=golden.text,
        source=headers.get("SOURCE"),
        note=headers.get("NOTE"),
        headers=dict(headers),
    )


def example_files(examples_dir: Path) -> list[Path]:
    """Every `*.log` file one level below `examples_dir` (one folder per entry), sorted."""
    if not examples_dir.is_dir():
        return []
    return sorted(p for p in examples_dir.glob("*/*.log") if p.is_file())


def iter_examples(path: Path | None = None, *, strict: bool = True) -> Iterator[Example]:
    """Yield every example under the examples directory, sorted by path.

    `path` is an examples directory, a knowledge-base root (with `examples/`), or None for the
    package's own. With `strict` a bad file raises ExampleError; without it, it is skipped
    (the validators report it).
    """
    if path is None:
        examples_dir = resolve_dirs(None)[1]
    elif (path / "examples").is_dir():
        examples_dir = path / "examples"
    else:
        examples_dir = path
    for file in example_files(examples_dir):
        try:
            yield read_example(file)
        except ExampleError:
            if strict:
                raise

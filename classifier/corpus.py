"""The training corpus: knowledge-base example logs plus realistic variants of each.

Rebuilt with one command, deterministically from a seed:

    python -m classifier.corpus [--out PATH] [--seed N] [--variants N] [--extra FILE.jsonl]

What goes in (see `classifier/data/README.md` for provenance):

* every `positive` example of every entry, labelled with its `ROOT_CAUSE`;
* every `near-miss` example, labelled with its `ROOT_CAUSE` (a generic entry id or
  `unknown`): they teach the model what the entry is *not*;
* `known-miss` examples are left out on purpose: the pipeline test keeps them as strict
  expected failures, and training on them would turn those into unexpected passes;
* extra labelled logs (JSON Lines of `{text, label}`, optionally `category` and `group`), e.g.
  real logs labelled by users;
* for each of those, the original text plus `variants_per_example` variants from
  `classifier.augment`.

Every sample carries `group`, the source log it was made from, so that a split never puts
variants of one log on both sides.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from classifier.augment import crash_span, make_variant
from knowledge_base.examples import iter_examples
from knowledge_base.loader import PACKAGE_DIR as KB_DIR
from knowledge_base.loader import load_knowledge_base
from vmcore_parsers.logformat import normalize

PACKAGE_DIR = Path(__file__).parent
DEFAULT_CORPUS_PATH = PACKAGE_DIR / "data" / "corpus.jsonl.gz"
DEFAULT_SEED = 20261123
DEFAULT_VARIANTS = 24
TRAINING_KINDS = ("positive", "near-miss")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Source:
    """One labelled source log before augmentation."""

    text: str
    label: str
    category: str
    group: str
    kind: str


@dataclass
class Sample:
    """One corpus line: a log `text`, its root-cause `label` and `category`, and its `group`."""

    text: str
    label: str
    category: str
    group: str
    kind: str = "positive"
    variant: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        """One JSON line (keys sorted, so a rebuilt corpus is byte-identical)."""
        return json.dumps(self.__dict__, sort_keys=True, ensure_ascii=False)


def kb_sources(examples_dir: Path | None = None) -> list[Source]:
    """Labelled sources from the knowledge base's example logs (known misses left out)."""
    sources = []
    for example in iter_examples(examples_dir):
        if example.kind not in TRAINING_KINDS:
            continue
        try:
            group = example.path.relative_to(KB_DIR).as_posix()
        except ValueError:
            group = f"{example.entry_id}/{example.path.name}"
        sources.append(
            Source(example.text, example.root_cause, example.category, group, example.kind)
        )
    return sources


def extra_sources(path: Path, categories: dict[str, str] | None = None) -> list[Source]:
    """Labelled sources from a JSON Lines file of `{text, label[, category, group]}`.

    A missing `category` is looked up in `categories` (entry id -> category; `unknown` when
    the label is not there); a missing `group` is the file name and line number.
    """
    categories = categories or {}
    sources = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            item = json.loads(raw)
            if not isinstance(item, dict) or "text" not in item or "label" not in item:
                raise ValueError(f"{path}:{number}: expected an object with 'text' and 'label'")
            label = str(item["label"])
            sources.append(
                Source(
                    text=str(item["text"]),
                    label=label,
                    category=str(item.get("category") or categories.get(label, UNKNOWN)),
                    group=str(item.get("group") or f"extra:{path.name}:{number}"),
                    kind=str(item.get("kind", "extra")),
                )
            )
    return sources


def _seeded_rng(seed: int, group: str, index: int) -> random.Random:
    # String seeds are hashed with SHA-512 by `random`, so this is stable across runs and
    # platforms, and independent of the order in which sources are processed.
    return random.Random(f"{seed}:{group}:{index}")


def samples_for(source: Source, seed: int, variants: int) -> list[Sample]:
    """The original and `variants` variants of one source, deterministic from `seed`."""
    samples = [
        Sample(
            source.text,
            source.label,
            source.category,
            source.group,
            source.kind,
            {"shape": "original"},
        )
    ]
    lines = normalize(source.text).lines
    span = crash_span(source.text, lines)
    for index in range(variants):
        text, info = make_variant(source.text, _seeded_rng(seed, source.group, index), span)
        variant = info.as_dict()
        variant["index"] = index
        samples.append(
            Sample(text, source.label, source.category, source.group, source.kind, variant)
        )
    return samples


def iter_corpus(
    sources: Sequence[Source], seed: int = DEFAULT_SEED, variants: int = DEFAULT_VARIANTS
) -> Iterator[Sample]:
    """Every sample of every source, in source order."""
    for source in sources:
        yield from samples_for(source, seed, variants)


def write_corpus(samples: Iterable[Sample], out_path: Path) -> Path:
    """Write samples as gzip-compressed JSON Lines; the file is byte-identical across runs."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    # mtime=0 and no file name in the gzip header: same samples, same bytes, same sha256.
    with (
        tmp.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle,
    ):
        for sample in samples:
            handle.write(sample.as_json().encode("utf-8") + b"\n")
    tmp.replace(out_path)
    return out_path


def read_corpus(path: Path) -> list[Sample]:
    """Read a corpus written by `write_corpus` (or any `.jsonl[.gz]` of the same objects)."""
    opener = gzip.open if path.suffix == ".gz" else open
    samples = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for raw in handle:
            if raw.strip():
                item = json.loads(raw)
                samples.append(
                    Sample(
                        text=item["text"],
                        label=item["label"],
                        category=item.get("category", UNKNOWN),
                        group=item.get("group", ""),
                        kind=item.get("kind", "positive"),
                        variant=item.get("variant", {}),
                    )
                )
    return samples


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_corpus(
    out_path: Path = DEFAULT_CORPUS_PATH,
    seed: int = DEFAULT_SEED,
    variants_per_example: int = DEFAULT_VARIANTS,
    extra: Sequence[Path] = (),
    examples_dir: Path | None = None,
) -> Path:
    """Build the corpus from the knowledge base (and `extra` JSONL files); return its path.

    `examples_dir` None means the package's own knowledge base. Raises ValueError when there is
    nothing to train on.
    """
    sources = collect_sources(extra, examples_dir)
    return write_corpus(iter_corpus(sources, seed, variants_per_example), out_path)


def collect_sources(extra: Sequence[Path] = (), examples_dir: Path | None = None) -> list[Source]:
    """The knowledge-base sources plus those of the `extra` files; ValueError when empty."""
    sources = kb_sources(examples_dir)
    if extra:
        categories = {e.id: e.category for e in load_knowledge_base().entries.values()}
        for path in extra:
            sources += extra_sources(path, categories)
    if not sources:
        raise ValueError("no labelled logs: the knowledge base has no positive examples yet")
    return sources


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m classifier.corpus`: build the corpus with a progress bar."""
    parser = argparse.ArgumentParser(description="Build the classifier's training corpus.")
    parser.add_argument("--out", type=Path, default=DEFAULT_CORPUS_PATH)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--variants", type=int, default=DEFAULT_VARIANTS)
    parser.add_argument("--extra", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    sources = collect_sources(args.extra)
    with Progress(console=console) as progress:
        task = progress.add_task("augmenting example logs", total=len(sources))

        def samples() -> Iterator[Sample]:
            for source in sources:
                yield from samples_for(source, args.seed, args.variants)
                progress.advance(task)

        path = write_corpus(samples(), args.out)
    count = len(sources) * (args.variants + 1)
    console.print(f"{count} samples from {len(sources)} logs written to {path}")
    console.print(f"sha256 {file_sha256(path)}")


if __name__ == "__main__":
    main()

"""The corpus is reproducible from a seed and keeps variants of one log in one group."""

from __future__ import annotations

import json
from pathlib import Path

from classifier.corpus import (
    Source,
    extra_sources,
    file_sha256,
    iter_corpus,
    read_corpus,
    write_corpus,
)


def test_rebuild_is_byte_identical(sources: list[Source], tmp_path: Path) -> None:
    first = write_corpus(iter_corpus(sources[:2], seed=5, variants=3), tmp_path / "a.jsonl.gz")
    second = write_corpus(iter_corpus(sources[:2], seed=5, variants=3), tmp_path / "b.jsonl.gz")
    other = write_corpus(iter_corpus(sources[:2], seed=6, variants=3), tmp_path / "c.jsonl.gz")
    assert file_sha256(first) == file_sha256(second) != file_sha256(other)
    samples = read_corpus(first)
    assert len(samples) == 2 * 4
    assert samples[0].variant == {"shape": "original"} and samples[0].text == sources[0].text
    assert {s.group for s in samples[:4]} == {sources[0].group}
    assert all(s.label == sources[0].label for s in samples[:4])


def test_extra_labelled_logs(tmp_path: Path) -> None:
    path = tmp_path / "extra.jsonl"
    path.write_text(
        json.dumps({"text": "Kernel panic - not syncing: x", "label": "oom-runaway"})
        + "\n\n"
        + json.dumps({"text": "y", "label": "mystery", "group": "ticket-7"})
        + "\n"
    )
    got = extra_sources(path, {"oom-runaway": "oom"})
    assert [(s.label, s.category, s.group) for s in got] == [
        ("oom-runaway", "oom", "extra:extra.jsonl:1"),
        ("mystery", "unknown", "ticket-7"),
    ]

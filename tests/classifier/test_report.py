"""The learning loop's evaluation: the frozen evaluation set, report figures and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.corpus import Sample, Source, samples_for
from classifier.dataset import Dataset, featurize
from classifier.evaluate import LABEL_KIND, frozen_mask, frozen_sha256
from classifier.report import (
    category_confusion,
    plot_calibration,
    plot_confusion,
    reliability,
)
from tests.classifier.conftest import read_log


def _with_labels(tiny_samples: list[Sample]) -> Dataset:
    extra = Source(
        read_log("nfs-hung") + "\nextra\n", "nfs-hung", "hung-task", "label/x", LABEL_KIND
    )
    other = Source(read_log("oom-panic"), "oom-panic", "oom", "label/y", LABEL_KIND)
    labelled = samples_for(extra, seed=3, variants=2) + samples_for(other, seed=3, variants=2)
    return featurize([*tiny_samples, *labelled])


def test_frozen_set_is_stable_and_never_splits_a_bug(
    tiny_dataset: Dataset, tiny_samples: list[Sample]
) -> None:
    mask = frozen_mask(tiny_dataset)
    assert np.array_equal(mask, frozen_mask(tiny_dataset))
    grown = _with_labels(tiny_samples)
    grown_mask = frozen_mask(grown)
    # Corpus samples keep their side when labels are added.
    assert np.array_equal(grown_mask[: len(tiny_dataset)], mask)
    # One source log or one signature is never on both sides.
    for key in (grown.groups, grown.signatures):
        sides: dict[str, set[bool]] = {}
        for value, held in zip(key, grown_mask.tolist(), strict=True):
            if value:
                sides.setdefault(value, set()).add(held)
        assert all(len(s) == 1 for s in sides.values())
    # A label with the same signature as a corpus log follows the corpus log.
    nfs = [i for i, s in enumerate(grown.samples) if s.group == "label/x"]
    corpus_nfs = [i for i, s in enumerate(grown.samples) if s.group == "logs/nfs-hung.log"]
    if grown.signatures[nfs[0]] == grown.signatures[corpus_nfs[0]]:
        assert grown_mask[nfs[0]] == grown_mask[corpus_nfs[0]]


def test_frozen_hash_depends_on_the_samples(tiny_dataset: Dataset) -> None:
    first = np.arange(0, 10, dtype=np.int64)
    assert frozen_sha256(tiny_dataset, first) == frozen_sha256(tiny_dataset, first[::-1].copy())
    assert frozen_sha256(tiny_dataset, first) != frozen_sha256(tiny_dataset, first[:9])


def test_category_confusion_counts() -> None:
    labels = ["a1", "a2", "b1"]
    categories = {"a1": "a", "a2": "a", "b1": "b"}
    proba = np.array([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.7, 0.0, 0.3], [0.0, 0.1, 0.9]])
    names, matrix = category_confusion(proba, ["a1", "a1", "b1", "b1"], labels, categories)
    assert names == ["a", "b"]
    # Two a's answered a (a2 for a1 is a wrong root cause but the right category).
    assert matrix.tolist() == [[2, 0], [1, 1]]


def test_reliability_bins() -> None:
    labels = ["x", "y"]
    proba = np.array([[0.95, 0.05], [0.92, 0.08], [0.55, 0.45], [0.62, 0.38]])
    points = reliability(proba, ["x", "y", "x", "y"], labels)
    # Bins are (0.5, 0.6], (0.6, 0.7], (0.9, 1.0]; empty bins are left out.
    assert [(round(c, 3), acc, n) for c, acc, n in points] == [
        (0.55, 1.0, 1),
        (0.62, 0.0, 1),
        (0.935, 0.5, 2),
    ]


def test_plots_are_png_files(tmp_path: Path) -> None:
    path = plot_confusion(["a", "b"], np.array([[3, 1], [0, 2]]), tmp_path / "c.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    path = plot_calibration(
        {"m": [(0.5, 0.4, 3), (0.9, 0.95, 10)], "empty": []}, tmp_path / "k.png"
    )
    assert path.read_bytes().startswith(b"\x89PNG")

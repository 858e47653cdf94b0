"""Shared fixtures: a tiny corpus made from the handwritten logs in `logs/`, built once.

Each log is its own root cause; the corpus holds the original and a few variants of each, so
a model fitted on some variants can be asked about held-out ones. Everything here is small on
purpose: the whole classifier suite must stay well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.corpus import Sample, Source, samples_for
from classifier.dataset import Dataset, featurize

LOGS_DIR = Path(__file__).parent / "logs"
# label -> category of the handwritten logs
CATEGORIES = {
    "nvidia-null": "null-deref",
    "nfs-hung": "hung-task",
    "softlockup-vm": "soft-lockup",
    "oom-panic": "oom",
    "list-corruption": "memory-corruption",
}
VARIANTS = 8


def read_log(name: str) -> str:
    """The text of one handwritten log."""
    return (LOGS_DIR / f"{name}.log").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def sources() -> list[Source]:
    """One labelled source per handwritten log."""
    return [
        Source(read_log(label), label, category, f"logs/{label}.log", "positive")
        for label, category in CATEGORIES.items()
    ]


@pytest.fixture(scope="session")
def tiny_samples(sources: list[Source]) -> list[Sample]:
    """The original and `VARIANTS` variants of each handwritten log."""
    return [s for source in sources for s in samples_for(source, seed=7, variants=VARIANTS)]


@pytest.fixture(scope="session")
def tiny_dataset(tiny_samples: list[Sample]) -> Dataset:
    """The tiny corpus, parsed and featurized."""
    return featurize(tiny_samples)


@pytest.fixture(scope="session")
def variant_split(tiny_dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Train on the first variants of every log, hold out the last three of each."""
    held = {
        i for i, s in enumerate(tiny_dataset.samples) if s.variant.get("index", -1) >= VARIANTS - 3
    }
    train = np.array([i for i in range(len(tiny_dataset)) if i not in held], dtype=np.int64)
    test = np.array(sorted(held), dtype=np.int64)
    return train, test

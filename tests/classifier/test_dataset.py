"""Grouped splits: no source log and no crash signature on both sides."""

from __future__ import annotations

import numpy as np

from classifier.dataset import Dataset, grouped_folds, grouped_holdout, split_groups


def test_split_groups_join_sources_and_signatures() -> None:
    groups = ["a", "a", "b", "c", "d", "d"]
    signatures = ["s1", "s1", "s1", "s2", "", ""]
    components = split_groups(groups, signatures)
    assert components[0] == components[1] == components[2]  # b shares a's signature
    assert components[3] != components[0]
    assert components[4] == components[5] != components[3]  # no signature: its own group
    assert components.tolist() == [0, 0, 0, 1, 2, 2]


def test_grouped_folds_never_leak_a_group() -> None:
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 600).astype(np.int64)
    labels = np.array([f"l{g % 7}" for g in groups])
    folds = grouped_folds(labels, groups, 4, seed=1)
    assert len(folds) == 4
    seen_in_test: set[int] = set()
    for train, test in folds:
        assert not set(groups[train].tolist()) & set(groups[test].tolist())
        assert not seen_in_test & set(groups[test].tolist())
        seen_in_test |= set(groups[test].tolist())
    assert seen_in_test == set(groups.tolist())


def test_holdout_on_the_tiny_corpus_is_grouped(tiny_dataset: Dataset) -> None:
    components = tiny_dataset.split_groups()
    train, test = grouped_holdout(tiny_dataset.labels, components, 0.2, seed=0)
    assert len(train) and len(test)
    train_sources = {tiny_dataset.groups[i] for i in train}
    test_sources = {tiny_dataset.groups[i] for i in test}
    assert not train_sources & test_sources
    train_sigs = {tiny_dataset.signatures[i] for i in train} - {""}
    test_sigs = {tiny_dataset.signatures[i] for i in test} - {""}
    assert not train_sigs & test_sigs

"""A featurized corpus and its grouped splits.

`featurize` parses every sample once (the expensive part) and keeps what training and
evaluation need: feature records, labels, categories, source groups and crash signatures.

Splits are grouped twice over (CONVENTIONS 11, DESIGN 9): variants of one source log form a
group, and so do logs with the same crash signature. `split_groups` joins both relations into
connected components, so neither a variant of a training log nor another copy of the same
bug can end up on the evaluation side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from classifier.corpus import Sample
from classifier.features import feature_record, records_to_matrix
from knowledge_base.loader import load_knowledge_base
from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import PanicReport

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]


@dataclass
class Dataset:
    """Parsed samples: one entry per corpus line, all lists in the same order."""

    samples: list[Sample]
    reports: list[PanicReport | None]
    records: list[dict[str, str]]
    labels: StrArray
    categories: StrArray
    groups: list[str]
    signatures: list[str]

    def __len__(self) -> int:
        return len(self.samples)

    def matrix(self, index: Sequence[int] | IntArray | None = None) -> npt.NDArray[np.object_]:
        """The pipeline input for the samples at `index` (all when None)."""
        if index is None:
            return records_to_matrix(self.records)
        return records_to_matrix([self.records[i] for i in index])

    def split_groups(self) -> IntArray:
        """Component id per sample, joining same-source and same-signature samples."""
        return split_groups(self.groups, self.signatures)


def featurize(samples: Sequence[Sample], advance: Callable[[int], None] | None = None) -> Dataset:
    """Parse and featurize `samples`; `advance(n)` is called as samples are done (progress)."""
    reports: list[PanicReport | None] = []
    records: list[dict[str, str]] = []
    signatures: list[str] = []
    for index, sample in enumerate(samples):
        report = parse_log(sample.text)
        reports.append(report)
        records.append(feature_record(report, sample.text))
        signatures.append(report.signature if report is not None else "")
        if advance is not None and (index + 1) % 100 == 0:
            advance(100)
    if advance is not None and len(samples) % 100:
        advance(len(samples) % 100)
    return Dataset(
        samples=list(samples),
        reports=reports,
        records=records,
        labels=np.array([s.label for s in samples], dtype=str),
        categories=np.array([s.category for s in samples], dtype=str),
        groups=[s.group for s in samples],
        signatures=signatures,
    )


def split_groups(groups: Sequence[str], signatures: Sequence[str]) -> IntArray:
    """Connected components of "same source group" and "same crash signature" (union-find).

    An empty signature (no crash parsed) joins nothing. Component ids are 0..n-1 in order of
    first appearance, so the result is deterministic.
    """
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:  # path compression
            parent[key], key = root, parent[key]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for group, signature in zip(groups, signatures, strict=True):
        find("g:" + group)
        if signature:
            union("g:" + group, "s:" + signature)
    ids: dict[str, int] = {}
    out = np.empty(len(groups), dtype=np.int64)
    for index, group in enumerate(groups):
        out[index] = ids.setdefault(find("g:" + group), len(ids))
    return out


def grouped_folds(
    labels: Sequence[str] | StrArray, groups: IntArray, n_splits: int, seed: int
) -> list[tuple[IntArray, IntArray]]:
    """(train, test) index pairs where no group is on both sides, stratified where possible.

    Falls back to plain GroupKFold when some label is too rare to stratify; raises ValueError
    when there are fewer groups than `n_splits`.
    """
    n_groups = len(set(groups.tolist()))
    if n_groups < n_splits:
        raise ValueError(f"{n_groups} groups cannot make {n_splits} grouped folds")
    y = np.asarray(labels)
    dummy = np.zeros(len(y))
    try:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = list(splitter.split(dummy, y, groups))
    except ValueError:
        folds = list(GroupKFold(n_splits=n_splits).split(dummy, y, groups))
    if any(len(test) == 0 for _, test in folds):
        folds = list(GroupKFold(n_splits=n_splits).split(dummy, y, groups))
    return [(train.astype(np.int64), test.astype(np.int64)) for train, test in folds]


def grouped_holdout(
    labels: Sequence[str] | StrArray, groups: IntArray, test_fraction: float, seed: int
) -> tuple[IntArray, IntArray]:
    """One grouped (train, test) split with about `test_fraction` of the groups held out."""
    n_splits = max(2, round(1 / test_fraction))
    return grouped_folds(labels, groups, n_splits, seed)[0]


def label_categories(dataset: Dataset) -> dict[str, str]:
    """Category of each label: the knowledge base's entry category, else the corpus's."""
    categories: dict[str, str] = {"unknown": "unknown"}
    for label, category in zip(dataset.labels.tolist(), dataset.categories.tolist(), strict=True):
        categories.setdefault(label, category)
    try:
        for entry in load_knowledge_base().entries.values():
            if entry.id in categories:
                categories[entry.id] = entry.category
    except (OSError, ValueError):  # a broken KB must not stop training; corpus labels remain
        pass
    return categories


def fallback_answers(labels: Iterable[str]) -> dict[str, str]:
    """For each specific root-cause label, the generic entry id of its category.

    Empty when the knowledge base cannot be loaded (then only exact answers count as right).
    """
    try:
        kb = load_knowledge_base()
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for label in set(labels):
        entry = kb.entries.get(label)
        if entry is None or entry.generic:
            continue
        try:
            out[label] = kb.generic_for(entry.category).id
        except KeyError:
            continue
    return out


def kb_version() -> str:
    """The knowledge base's version, or `unknown` when it cannot be loaded."""
    try:
        return load_knowledge_base().version
    except (OSError, ValueError):
        return "unknown"

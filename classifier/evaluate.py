"""Grouped evaluation of the classifier against a baseline, and the Markdown report.

Protocol (`run_evaluation`), every split grouped by source log *and* crash signature
(`dataset.split_groups`):

1. **Hold out a test part** (about 20% of the groups).
2. **Validation** on the rest: grouped cross-validation gives out-of-fold probabilities for
   every development sample; the abstention threshold is chosen on them
   (`classifier.threshold`). The same out-of-fold predictions are the "leave-examples-out"
   view: per source log, how often a model that never saw it gets its variants right.
3. **Test**: fit on the whole development part, predict the test part; report accuracy,
   macro-F1, per-class precision/recall/F1 for root causes *and* categories, calibration
   (log loss, Brier, expected calibration error), and coverage/precision at the threshold.
   A most-frequent `DummyClassifier` fitted on the same development part gets the same
   figures.

Test samples whose label never occurs in the development part (a root cause with a single
source log cannot be on both sides) can only be right by abstaining; their share is reported
and the figures are given both with and without them.

`signature_precision` measures how often a knowledge-base signature match names the right
answer, per entry status; the combination rule uses it as a confidence floor.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from sklearn.dummy import DummyClassifier
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from classifier.corpus import DEFAULT_CORPUS_PATH, file_sha256, read_corpus
from classifier.dataset import (
    Dataset,
    IntArray,
    fallback_answers,
    featurize,
    grouped_folds,
    grouped_holdout,
    kb_version,
    label_categories,
)
from classifier.pipeline import CalibrationMethod, ModelKind, make_pipeline
from classifier.threshold import (
    DEFAULT_TARGET_PRECISION,
    UNKNOWN,
    ThresholdChoice,
    choose_category_threshold,
    choose_threshold,
    is_right,
    precision_coverage,
    top_answers,
)
from knowledge_base.loader import load_knowledge_base
from knowledge_base.matcher import match_entries

REPORT_PATH = Path(__file__).parent / "reports" / "evaluation.md"
# `Sample.kind` of samples made from labelled panics (the learning loop's data).
LABEL_KIND = "label"
FloatMatrix = npt.NDArray[np.float64]
Advance = Callable[[str], None]


@dataclass(frozen=True)
class ModelConfig:
    """The knobs of one pipeline; the defaults are the shipped choice (see evaluation.md)."""

    model: ModelKind = "svc"
    # Temperature scaling (one parameter for all classes) on folds grouped by source log: the
    # best log loss and calibration error of the grouped configurations at equal accuracy in
    # `python -m classifier.evaluate --compare` (table in reports/comparison.md).
    calibration: CalibrationMethod = "temperature"
    c: float = 1.0
    min_df: int = 2
    calibration_folds: int = 3
    # How the calibration folds are made: "sample" (plain stratified folds: variants of one
    # log calibrate each other), "source" (grouped by source log: a bug's other example log
    # calibrates it) or "group" (grouped like the evaluation, by source and signature).
    calibration_grouping: str = "source"

    def describe(self) -> str:
        """Short human-readable form for reports."""
        return (
            f"{self.model} C={self.c} calibration={self.calibration} "
            f"({self.calibration_folds} folds by {self.calibration_grouping}) min_df={self.min_df}"
        )


def fit_pipeline(
    dataset: Dataset, index: IntArray, groups: IntArray, config: ModelConfig, seed: int
) -> Any:
    """Fit a pipeline on the samples at `index`.

    Calibration folds are computed here, over `index` only: grouped folds when the config
    asks for them (labels with a single group spread by sample), else stratified folds.
    """
    y = dataset.labels[index]
    folds = config.calibration_folds
    cv: Any = folds
    sources = np.unique(np.array(dataset.groups), return_inverse=True)[1].astype(np.int64)
    by = {"group": groups, "source": sources}.get(config.calibration_grouping)
    if by is not None:
        cv = grouped_folds(y, _split_lonely(y, by[index]), folds, seed)
    else:
        smallest = min(Counter(y.tolist()).values())
        if smallest < folds:
            # Stratified folds need every class in every fold; repeat-free fallback to fewer.
            folds = max(2, smallest)
        cv = list(
            StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(
                np.zeros(len(y)), y
            )
        )
    pipeline = make_pipeline(
        model=config.model,
        calibration=config.calibration,
        cv=cv,
        c=config.c,
        min_df=config.min_df,
    )
    pipeline.fit(dataset.matrix(index), y)
    # The fold index lists are only needed while fitting; do not ship them in the artifact.
    pipeline.set_params(clf__cv=len(cv))
    return pipeline


def _split_lonely(labels: npt.NDArray[np.str_], groups: IntArray) -> IntArray:
    """Groups for calibration folds: as given, except for labels seen in only one group.

    Such a label would be missing from the training part of the fold that holds its group
    out, and its calibrator would learn nonsense; its samples get one group each instead, so
    they are spread over the folds like plain stratified samples.
    """
    seen: dict[str, set[int]] = {}
    for label, group in zip(labels.tolist(), groups.tolist(), strict=True):
        seen.setdefault(label, set()).add(group)
    out = groups.copy()
    fresh = int(groups.max()) + 1 if len(groups) else 0
    for i, label in enumerate(labels.tolist()):
        if len(seen[label]) < 2:
            out[i] = fresh
            fresh += 1
    return out


def aligned_proba(pipeline: Any, matrix: Any, labels: Sequence[str]) -> FloatMatrix:
    """Probabilities with one column per `labels` (zeros for classes the model lacks)."""
    raw = pipeline.predict_proba(matrix)
    out = np.zeros((raw.shape[0], len(labels)), dtype=np.float64)
    position = {label: i for i, label in enumerate(labels)}
    for j, cls in enumerate(pipeline.classes_):
        out[:, position[str(cls)]] = raw[:, j]
    return out


def out_of_fold(
    dataset: Dataset,
    *,
    index: IntArray,
    groups: IntArray,
    labels: Sequence[str],
    config: ModelConfig,
    n_splits: int,
    seed: int,
    advance: Advance | None = None,
) -> FloatMatrix:
    """Grouped out-of-fold probabilities for the samples at `index` (rows in that order)."""
    out = np.zeros((len(index), len(labels)), dtype=np.float64)
    folds = grouped_folds(dataset.labels[index], groups[index], n_splits, seed)
    for number, (train, test) in enumerate(folds, 1):
        pipeline = fit_pipeline(dataset, index[train], groups, config, seed)
        out[test] = aligned_proba(pipeline, dataset.matrix(index[test]), labels)
        if advance is not None:
            advance(f"validation fold {number}/{len(folds)}")
    return out


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    classes = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        list(y_true), list(y_pred), labels=classes, zero_division=0
    )
    per_class = {
        cls: {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for cls, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    present = [cls for cls in classes if per_class[cls]["support"] > 0]
    accuracy = float(np.mean([a == b for a, b in zip(y_true, y_pred, strict=True)]))
    macro_f1 = float(np.mean([per_class[c]["f1"] for c in present])) if present else 0.0
    return {"accuracy": accuracy, "macro_f1": macro_f1, "n": len(y_true), "per_class": per_class}


def calibration_metrics(
    proba: FloatMatrix, y_true: Sequence[str], labels: Sequence[str], bins: int = 10
) -> dict[str, float]:
    """Log loss, multi-class Brier score and expected calibration error of the top label."""
    position = {label: i for i, label in enumerate(labels)}
    truth = np.array([position.get(y, -1) for y in y_true])
    rows = np.arange(len(truth))
    known = truth >= 0
    p_true = np.where(known, proba[rows, np.maximum(truth, 0)], 0.0)
    log_loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0))))
    onehot = np.zeros_like(proba)
    onehot[rows[known], truth[known]] = 1.0
    brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    top = proba.argmax(axis=1)
    conf = proba[rows, top]
    correct = top == truth
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return {"log_loss": log_loss, "brier": brier, "ece": float(ece)}


def _at_threshold(
    top_labels: Sequence[str],
    top_prob: FloatMatrix,
    y_true: Sequence[str],
    threshold: float,
    fallbacks: Mapping[str, str] | None,
) -> dict[str, float]:
    answered = np.array([label != UNKNOWN for label in top_labels], dtype=bool)
    right = np.array(
        [is_right(a, b, fallbacks) for a, b in zip(top_labels, y_true, strict=True)], dtype=bool
    )
    exact = np.array([a == b for a, b in zip(top_labels, y_true, strict=True)], dtype=bool)
    precision, coverage = precision_coverage(top_prob, right, answered, threshold)
    strict, _ = precision_coverage(top_prob, exact, answered, threshold)
    # Selective accuracy: abstaining counts as answering `unknown`.
    final = [
        label if (ok and p >= threshold) else UNKNOWN
        for label, p, ok in zip(top_labels, top_prob, answered, strict=True)
    ]
    selective = float(
        np.mean([is_right(a, b, fallbacks) for a, b in zip(final, y_true, strict=True)])
    )
    return {
        "threshold": threshold,
        "coverage": coverage,
        "precision": precision,
        "exact_precision": strict,
        "selective_accuracy": selective,
    }


def score(
    proba: FloatMatrix,
    y_true: Sequence[str],
    labels: Sequence[str],
    *,
    label_categories: Mapping[str, str],
    threshold: float,
    seen: set[str] | None = None,
    fallbacks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every figure for one set of predictions: root causes, categories, calibration, threshold.

    `fallbacks` (specific id -> its category's generic id) decides which answers count as
    right at the threshold and for `accuracy_with_fallback`; see `classifier.threshold`.
    """
    top_labels, top_prob = top_answers(proba, labels)
    cats_true = [label_categories.get(y, UNKNOWN) for y in y_true]
    cats_pred = [label_categories.get(y, UNKNOWN) for y in top_labels]
    result: dict[str, Any] = {
        "root_cause": classification_metrics(y_true, top_labels),
        "category": classification_metrics(cats_true, cats_pred),
        "calibration": calibration_metrics(proba, y_true, labels),
        "at_threshold": _at_threshold(top_labels, top_prob, y_true, threshold, fallbacks),
        "accuracy_with_fallback": float(
            np.mean([is_right(a, b, fallbacks) for a, b in zip(top_labels, y_true, strict=True)])
        )
        if y_true
        else 0.0,
    }
    if seen is not None:
        keep = [i for i, y in enumerate(y_true) if y in seen]
        result["unseen_label_share"] = 1 - len(keep) / len(y_true) if len(y_true) else 0.0
        if keep:
            sub_true = [y_true[i] for i in keep]
            sub_pred = [top_labels[i] for i in keep]
            result["seen_labels_only"] = {
                "accuracy": classification_metrics(sub_true, sub_pred)["accuracy"],
                "at_threshold": _at_threshold(
                    sub_pred, top_prob[keep], sub_true, threshold, fallbacks
                ),
            }
    return result


def baseline_proba(train_labels: Sequence[str], n: int, labels: Sequence[str]) -> FloatMatrix:
    """A most-frequent DummyClassifier's probabilities (class priors) for `n` samples."""
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(train_labels), 1)), train_labels)
    raw = dummy.predict_proba(np.zeros((n, 1)))
    out = np.zeros((n, len(labels)), dtype=np.float64)
    position = {label: i for i, label in enumerate(labels)}
    for j, cls in enumerate(dummy.classes_):
        out[:, position[str(cls)]] = raw[:, j]
    return out


def per_source(
    dataset: Dataset, index: IntArray, proba: FloatMatrix, labels: Sequence[str]
) -> list[dict[str, Any]]:
    """Out-of-fold accuracy per source log: how well the model generalizes to each one."""
    top_labels, _ = top_answers(proba, labels)
    by_group: dict[str, list[bool]] = {}
    predicted: dict[str, Counter[str]] = {}
    for row, i in enumerate(index):
        group = dataset.groups[i]
        by_group.setdefault(group, []).append(top_labels[row] == dataset.labels[i])
        predicted.setdefault(group, Counter())[top_labels[row]] += 1
    first = {dataset.groups[i]: i for i in reversed(index.tolist())}
    rows = []
    for group, hits in sorted(by_group.items()):
        rows.append(
            {
                "source": group,
                "label": str(dataset.labels[first[group]]),
                "accuracy": float(np.mean(hits)),
                "n": len(hits),
                "most_predicted": predicted[group].most_common(1)[0][0],
            }
        )
    return rows


def signature_precision(dataset: Dataset) -> dict[str, dict[str, float]]:
    """Per entry status: how often a signature match names the right answer.

    A specific entry's match is right when the entry is the sample's label; a generic
    (category-level) entry's match is right when its category is the sample's category.
    Measured on every corpus sample: signatures are not trained on it, though they were
    written with the same example logs in view, so the figures are optimistic.
    """
    kb = load_knowledge_base()
    hits: dict[str, list[bool]] = {}
    for i, report in enumerate(dataset.reports):
        if report is None:
            continue
        for match in match_entries(report, kb):
            entry = kb.entries[match.entry_id]
            if match.generic:
                right = entry.category == dataset.categories[i]
            else:
                right = entry.id == dataset.labels[i]
            hits.setdefault(entry.status.value, []).append(bool(right))
    return {
        status: {"precision": float(np.mean(values)), "n": float(len(values))}
        for status, values in sorted(hits.items())
    }


@dataclass
class Evaluation:
    """What `run_evaluation` measured, and the threshold chosen on validation data."""

    metrics: dict[str, Any]
    threshold: ThresholdChoice
    labels: list[str]
    category_threshold: ThresholdChoice | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def run_evaluation(
    dataset: Dataset,
    label_categories: Mapping[str, str],
    *,
    config: ModelConfig | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    validation_folds: int = 4,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    advance: Advance | None = None,
) -> Evaluation:
    """Run the protocol in the module docstring; `advance` reports progress by step name."""
    config = config or ModelConfig()
    labels = sorted(set(dataset.labels.tolist()))
    groups = dataset.split_groups()
    dev, test = grouped_holdout(dataset.labels, groups, test_fraction, seed)
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    oof = out_of_fold(
        dataset,
        index=dev,
        groups=groups,
        labels=labels,
        config=config,
        n_splits=validation_folds,
        seed=seed,
        advance=advance,
    )
    seconds["validation"] = time.perf_counter() - started
    top_labels, top_prob = top_answers(oof, labels)
    fallbacks = fallback_answers(labels)
    choice = choose_threshold(
        top_labels,
        top_prob,
        [str(y) for y in dataset.labels[dev]],
        target_precision=target_precision,
        fallbacks=fallbacks,
    )
    category_choice = choose_category_threshold(
        oof,
        labels,
        [str(y) for y in dataset.labels[dev]],
        label_categories,
        target_precision=target_precision,
    )

    started = time.perf_counter()
    pipeline = fit_pipeline(dataset, dev, groups, config, seed)
    seconds["fit_development"] = time.perf_counter() - started
    if advance is not None:
        advance("test fit")
    test_proba = aligned_proba(pipeline, dataset.matrix(test), labels)
    y_test = [str(y) for y in dataset.labels[test]]
    seen = set(dataset.labels[dev].tolist())
    base = baseline_proba(dataset.labels[dev].tolist(), len(test), labels)
    y_dev = [str(y) for y in dataset.labels[dev]]

    metrics: dict[str, Any] = {
        "config": config.describe(),
        "seed": seed,
        "samples": len(dataset),
        "sources": len(set(dataset.groups)),
        "split_groups": len(set(groups.tolist())),
        "labels": len(labels),
        "development": {"samples": len(dev), "groups": len(set(groups[dev].tolist()))},
        "test": {
            "samples": len(test),
            "groups": len(set(groups[test].tolist())),
            "model": score(
                test_proba,
                y_test,
                labels,
                label_categories=label_categories,
                threshold=choice.threshold,
                seen=seen,
                fallbacks=fallbacks,
            ),
            "baseline": score(
                base,
                y_test,
                labels,
                label_categories=label_categories,
                threshold=choice.threshold,
                seen=seen,
                fallbacks=fallbacks,
            ),
        },
        "validation": {
            "folds": validation_folds,
            "model": score(
                oof,
                y_dev,
                labels,
                label_categories=label_categories,
                threshold=choice.threshold,
                fallbacks=fallbacks,
            ),
            "baseline_accuracy": classification_metrics(
                y_dev, [Counter(y_dev).most_common(1)[0][0]] * len(y_dev)
            )["accuracy"],
            "per_source": per_source(dataset, dev, oof, labels),
        },
        "threshold": {
            "value": choice.threshold,
            "precision": choice.precision,
            "coverage": choice.coverage,
            "met": choice.met,
            "target_precision": choice.target_precision,
            "criterion": choice.criterion(),
        },
        "category_threshold": {
            "value": category_choice.threshold,
            "precision": category_choice.precision,
            "coverage": category_choice.coverage,
            "met": category_choice.met,
            "target_precision": category_choice.target_precision,
            "criterion": category_choice.criterion(),
        },
    }
    return Evaluation(metrics, choice, labels, category_threshold=category_choice, seconds=seconds)


# --- Frozen evaluation set (learning loop) -------------------------------------------------

FROZEN_BUCKETS = 5  # one component in five is held out of every registered model's training


def _bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % FROZEN_BUCKETS


def frozen_mask(dataset: Dataset) -> npt.NDArray[np.bool_]:
    """True for samples in the frozen evaluation set of the learning loop.

    The set is a deterministic, signature-grouped slice: samples are joined into components
    (same source log or same crash signature, `dataset.split_groups`), and a component is held
    out when sha256 of its *anchor* falls in one bucket of `FROZEN_BUCKETS`. The anchor is the
    smallest corpus source group of the component (the shipped corpus does not change between
    trainings), else its smallest labelled-panic group. So a sample stays on its side as labels
    are added, copies of one bug never straddle the split, and every model trained by the
    learning loop is compared on data none of them was fitted on.
    """
    groups = dataset.split_groups()
    anchors: dict[int, tuple[int, str]] = {}
    for component, group, kind in zip(
        groups.tolist(), dataset.groups, (s.kind for s in dataset.samples), strict=True
    ):
        # Corpus groups rank before label groups (0 before 1), then by name.
        rank = (1 if kind == LABEL_KIND else 0, group)
        if component not in anchors or rank < anchors[component]:
            anchors[component] = rank
    held = {c for c, (_, key) in anchors.items() if _bucket(key) == 0}
    return np.array([c in held for c in groups.tolist()], dtype=bool)


def frozen_sha256(dataset: Dataset, index: IntArray) -> str:
    """A hash of the frozen evaluation samples (texts and labels), recorded in the manifest."""
    digest = hashlib.sha256()
    for line in sorted(
        f"{hashlib.sha256(dataset.samples[i].text.encode('utf-8')).hexdigest()} {dataset.labels[i]}"
        for i in index.tolist()
    ):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


# --- Report ------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _class_table(per_class: Mapping[str, Mapping[str, float]], limit: int = 200) -> list[str]:
    rows = ["| class | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for cls, m in sorted(per_class.items(), key=lambda kv: (-kv[1]["support"], kv[0]))[:limit]:
        if m["support"] == 0 and m["precision"] == 0:
            continue
        rows.append(
            f"| `{cls}` | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} "
            f"| {int(m['support'])} |"
        )
    return rows


def render_report(metrics: Mapping[str, Any]) -> str:
    """The evaluation as Markdown (what `write_report` writes)."""
    test = metrics["test"]
    model, base = test["model"], test["baseline"]
    thr = metrics["threshold"]
    lines = [
        "# Classifier evaluation",
        "",
        "Generated by `python -m classifier.train` (or `python -m classifier.evaluate`); do not "
        "edit by hand. Protocol: `classifier/evaluate.py` module docstring. Every split is "
        "grouped by source log and crash signature, so no variant or signature-twin of a test "
        "log was trained on.",
        "",
        f"- model: {metrics['config']}",
        f"- corpus: {metrics['samples']} samples from {metrics['sources']} source logs, "
        f"{metrics['labels']} labels, {metrics['split_groups']} split groups"
        + (f"; sha256 `{metrics['corpus_sha256'][:16]}`" if "corpus_sha256" in metrics else ""),
        f"- knowledge base: {metrics.get('kb_version', 'n/a')}",
        f"- test part: {test['samples']} samples in {test['groups']} groups; development "
        f"part: {metrics['development']['samples']} samples",
        f"- test samples whose label has no source log in the development part: "
        f"{_pct(model.get('unseen_label_share', 0.0))} (they can only be right by abstaining)",
        "",
        "## Model vs baseline (test part)",
        "",
        "| figure | model | most-frequent baseline |",
        "| --- | ---: | ---: |",
        f"| root-cause accuracy | {_pct(model['root_cause']['accuracy'])} "
        f"| {_pct(base['root_cause']['accuracy'])} |",
        f"| root-cause accuracy, generic fallback of the right category counted "
        f"| {_pct(model['accuracy_with_fallback'])} | {_pct(base['accuracy_with_fallback'])} |",
        f"| root-cause macro-F1 | {model['root_cause']['macro_f1']:.3f} "
        f"| {base['root_cause']['macro_f1']:.3f} |",
        f"| category accuracy | {_pct(model['category']['accuracy'])} "
        f"| {_pct(base['category']['accuracy'])} |",
        f"| category macro-F1 | {model['category']['macro_f1']:.3f} "
        f"| {base['category']['macro_f1']:.3f} |",
        f"| coverage at threshold {thr['value']:.3f} | {_pct(model['at_threshold']['coverage'])} "
        f"| {_pct(base['at_threshold']['coverage'])} |",
        f"| precision of answers at threshold (fallback counted) "
        f"| {_pct(model['at_threshold']['precision'])} "
        f"| {_pct(base['at_threshold']['precision'])} |",
        f"| precision of answers at threshold (exact id only) "
        f"| {_pct(model['at_threshold']['exact_precision'])} "
        f"| {_pct(base['at_threshold']['exact_precision'])} |",
        f"| selective accuracy (abstain = `unknown`) "
        f"| {_pct(model['at_threshold']['selective_accuracy'])} "
        f"| {_pct(base['at_threshold']['selective_accuracy'])} |",
        f"| log loss | {model['calibration']['log_loss']:.3f} "
        f"| {base['calibration']['log_loss']:.3f} |",
        f"| Brier score | {model['calibration']['brier']:.3f} "
        f"| {base['calibration']['brier']:.3f} |",
        f"| expected calibration error | {model['calibration']['ece']:.3f} "
        f"| {base['calibration']['ece']:.3f} |",
    ]
    if "seen_labels_only" in model:
        seen = model["seen_labels_only"]
        lines += [
            f"| accuracy, labels seen in development only | {_pct(seen['accuracy'])} "
            f"| {_pct(base.get('seen_labels_only', {}).get('accuracy', 0.0))} |",
            f"| coverage / precision at threshold, seen labels "
            f"| {_pct(seen['at_threshold']['coverage'])} / "
            f"{_pct(seen['at_threshold']['precision'])} | |",
        ]
    val = metrics["validation"]
    lines += [
        "",
        "## Abstention threshold",
        "",
        f"Criterion: {thr['criterion']} (target met: {'yes' if thr['met'] else 'NO'}).",
        f"Chosen on {val['folds']}-fold grouped out-of-fold predictions over the development "
        f"part: threshold **{thr['value']:.3f}**, precision {_pct(thr['precision'])}, "
        f"coverage {_pct(thr['coverage'])}.",
    ]
    cat_thr = metrics.get("category_threshold")
    if cat_thr:
        lines += [
            "",
            "Category-level answers (no signature matched, no root cause above the threshold) "
            f"have their own threshold. Criterion: {cat_thr['criterion']} (target met: "
            f"{'yes' if cat_thr['met'] else 'NO'}). On the same predictions: threshold "
            f"**{cat_thr['value']:.3f}**, precision {_pct(cat_thr['precision'])}, coverage "
            f"{_pct(cat_thr['coverage'])}.",
        ]
    lines += [
        "",
        "## Leave-examples-out view (development part, out-of-fold)",
        "",
        f"Accuracy {_pct(val['model']['root_cause']['accuracy'])} (baseline "
        f"{_pct(val['baseline_accuracy'])}), category accuracy "
        f"{_pct(val['model']['category']['accuracy'])}, macro-F1 "
        f"{val['model']['root_cause']['macro_f1']:.3f}. Source logs the model does not "
        "generalize to (out-of-fold accuracy below 50%):",
        "",
        "| source log | label | accuracy | mostly predicted |",
        "| --- | --- | ---: | --- |",
    ]
    weak = [row for row in val["per_source"] if row["accuracy"] < 0.5]
    for row in weak:
        lines.append(
            f"| `{row['source']}` | `{row['label']}` | {_pct(row['accuracy'])} "
            f"| `{row['most_predicted']}` |"
        )
    if not weak:
        lines.append("| (none) | | | |")
    if "signature_precision" in metrics:
        lines += [
            "",
            "## Signature precision by entry status (all corpus samples, optimistic)",
            "",
            "| status | precision | matches |",
            "| --- | ---: | ---: |",
        ]
        for status, m in metrics["signature_precision"].items():
            lines.append(f"| {status} | {_pct(m['precision'])} | {int(m['n'])} |")
    if "timings" in metrics:
        lines += ["", "## Timings", ""]
        lines += [f"- {k}: {v}" for k, v in metrics["timings"].items()]
    if "comparison" in metrics:
        lines += [
            "",
            "## Configurations compared (same split)",
            "",
            "| configuration | accuracy | log loss | ECE | coverage@thr | precision@thr |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in metrics["comparison"]:
            lines.append(
                f"| {row['config']} | {_pct(row['accuracy'])} | {row['log_loss']:.3f} "
                f"| {row['ece']:.3f} | {_pct(row['coverage'])} | {_pct(row['precision'])} |"
            )
    lines += [
        "",
        "## Per root cause (test part, model)",
        "",
        *_class_table(model["root_cause"]["per_class"]),
        "",
        "## Per category (test part, model)",
        "",
        *_class_table(model["category"]["per_class"]),
        "",
    ]
    return "\n".join(lines)


def write_report(metrics: Mapping[str, Any], path: Path = REPORT_PATH) -> Path:
    """Write the Markdown report; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(metrics), encoding="utf-8")
    return path


# Configurations compared by `python -m classifier.evaluate --compare`; the winner by test
# log loss at equal-or-better accuracy is the `ModelConfig` default (see evaluation.md).
CANDIDATE_CONFIGS: tuple[ModelConfig, ...] = (
    ModelConfig(model="svc", calibration="sigmoid", calibration_grouping="source"),
    ModelConfig(model="svc", calibration="sigmoid", calibration_grouping="sample"),
    ModelConfig(model="svc", calibration="isotonic", calibration_grouping="source"),
    ModelConfig(model="svc", calibration="temperature", calibration_grouping="source"),
    ModelConfig(model="logreg", calibration="sigmoid", calibration_grouping="source"),
)


def compare_configs(
    dataset: Dataset,
    label_categories: Mapping[str, str],
    configs: Sequence[ModelConfig] = CANDIDATE_CONFIGS,
    seed: int = 0,
    advance: Advance | None = None,
) -> list[dict[str, Any]]:
    """Run the whole protocol for each configuration on the same split; one row each."""
    rows = []
    for config in configs:
        result = run_evaluation(dataset, label_categories, config=config, seed=seed)
        model = result.metrics["test"]["model"]
        rows.append(
            {
                "config": config.describe(),
                "accuracy": model["root_cause"]["accuracy"],
                "log_loss": model["calibration"]["log_loss"],
                "ece": model["calibration"]["ece"],
                "coverage": model["at_threshold"]["coverage"],
                "precision": model["at_threshold"]["precision"],
                "threshold": result.threshold.threshold,
            }
        )
        if advance is not None:
            advance(config.describe())
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m classifier.evaluate [--compare]`: evaluate on the corpus, write the report.

    No model is saved (that is `python -m classifier.train`). `--compare` also runs every
    configuration of `CANDIDATE_CONFIGS` on the same split and adds the table to the report.
    """
    parser = argparse.ArgumentParser(description="Evaluate the classifier on the corpus.")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_PATH)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    with console.status("parsing and featurizing the corpus"):
        dataset = featurize(read_corpus(args.corpus))
    categories = label_categories(dataset)
    with console.status("grouped evaluation"):
        evaluation = run_evaluation(dataset, categories)
    metrics = evaluation.metrics
    metrics["corpus_sha256"] = file_sha256(args.corpus)
    metrics["kb_version"] = kb_version()
    metrics["signature_precision"] = signature_precision(dataset)
    if args.compare:
        with console.status("comparing configurations") as status, warnings.catch_warnings():
            # Grouped calibration folds lack classes and temperature scaling then diverges:
            # that is what the comparison is there to show, not something to print 40 times.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            metrics["comparison"] = compare_configs(
                dataset, categories, advance=lambda name: status.update(f"done: {name}")
            )
    path = write_report(metrics, args.report)
    test = metrics["test"]
    console.print(
        f"test accuracy {test['model']['root_cause']['accuracy']:.3f} "
        f"(baseline {test['baseline']['root_cause']['accuracy']:.3f}); report at {path}"
    )


if __name__ == "__main__":
    main()

"""Training with labelled panics: the learning loop's `panicdx train --data-dir` (DESIGN 9).

`train_with_labels` adds deduplicated labelled panics (`classifier.labels`) to the shipped
corpus, evaluates on the frozen evaluation set (`classifier.evaluate.frozen_mask`) the
candidate, the active model's recipe and a most-frequent baseline, fits the final artifact on
everything and writes the report with its plots beside it (`classifier.report`). Storage and
registration are `service.learning`'s; the promotion gate is `classifier.registry`'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.artifact import ModelArtifact, save_model
from classifier.corpus import (
    DEFAULT_CORPUS_PATH,
    UNKNOWN,
    Source,
    file_sha256,
    read_corpus,
    samples_for,
)
from classifier.dataset import (
    Dataset,
    IntArray,
    fallback_answers,
    featurize,
    kb_version,
    label_categories,
)
from classifier.evaluate import (
    FROZEN_BUCKETS,
    LABEL_KIND,
    FloatMatrix,
    ModelConfig,
    aligned_proba,
    baseline_proba,
    fit_pipeline,
    frozen_mask,
    frozen_sha256,
    out_of_fold,
    score,
)
from classifier.labels import KnownCauses, LabelledPanic, dedupe
from classifier.threshold import (
    DEFAULT_THRESHOLD,
    ThresholdChoice,
    choose_category_threshold,
    choose_threshold,
    top_answers,
)
from classifier.train import FASTPATH_TOLERANCE, Progress, check_fastpath

# Variants made of each unique labelled panic, like the knowledge-base examples get, so a label
# weighs about as much as an example log; fewer when there are many labels (see
# `label_variants`).
LABEL_VARIANTS = 8
# Above this many label samples the variants shrink: thousands of distinct labelled panics
# carry their own variety, and training time must stay bounded (benchmarks/bench_train.py).
MAX_LABEL_SAMPLES = 40_000
BUILT_IN = "built-in"
# Folds of the learning loop's cross-validation (thresholds); three keep `panicdx train` with
# 100k labels inside its time budget (benchmarks/README.md), four cost another fit.
CV_FOLDS = 3


@dataclass(frozen=True)
class ActiveRecipe:
    """How the active model was made, so it can be re-fitted on the frozen split's training part.

    `labels_cutoff` None means it was trained on the corpus alone (the built-in model);
    otherwise on the corpus plus the labels created at or before that time.
    """

    version: str
    threshold: float
    category_threshold: float
    labels_cutoff: dt.datetime | None = None

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ActiveRecipe:
        """The recipe recorded in a manifest (`labels_cutoff` is written by this module)."""
        cutoff = manifest.get("labels_cutoff")
        return cls(
            version=str(manifest.get("version", BUILT_IN)),
            threshold=float(manifest.get("threshold", DEFAULT_THRESHOLD)),
            category_threshold=float(
                manifest.get("category_threshold", manifest.get("threshold", DEFAULT_THRESHOLD))
            ),
            labels_cutoff=dt.datetime.fromisoformat(cutoff) if cutoff else None,
        )


@dataclass
class LearnResult:
    """A model trained with labels: its artifact, every figure, and the report's path."""

    artifact: ModelArtifact
    metrics: dict[str, Any]
    report_path: Path


def label_variants(unique_labels: int) -> int:
    """Variants per unique labelled panic: `LABEL_VARIANTS`, fewer past `MAX_LABEL_SAMPLES`."""
    if unique_labels == 0:
        return LABEL_VARIANTS
    return max(0, min(LABEL_VARIANTS, MAX_LABEL_SAMPLES // unique_labels - 1))


def label_sources(
    labels: Sequence[LabelledPanic], known: KnownCauses
) -> tuple[list[Source], dict[str, dt.datetime], list[LabelledPanic]]:
    """Training sources of the labels, deduplicated by (signature, label).

    Returns the sources, the creation time of each source group (its oldest label: the
    earliest moment a model could have been trained on it), and the labels that cannot be
    trained on (new causes without a category).
    """
    ordered = sorted(labels, key=lambda label: label.created_at)
    sources: list[Source] = []
    created: dict[str, dt.datetime] = {}
    untrainable: list[LabelledPanic] = []
    for label in dedupe(ordered):
        target = label.training_label(known)
        if target is None:
            untrainable.append(label)
            continue
        key = "\0".join(label.dedup_key)
        group = f"label/{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"
        category = label.category or known.entry_categories.get(target, UNKNOWN)
        sources.append(Source(label.text, target, category, group, LABEL_KIND))
        created[group] = label.created_at
    return sources, created, untrainable


def cross_validate_training_part(
    dataset: Dataset,
    train: IntArray,
    *,
    groups: IntArray,
    labels: Sequence[str],
    categories: Mapping[str, str],
    config: ModelConfig,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Grouped out-of-fold predictions over the training part: figures and both thresholds.

    `CV_FOLDS` folds grouped like every split (source log and signature); the thresholds are
    chosen on these predictions exactly as `classifier.evaluate.run_evaluation` chooses them.
    Unlike that protocol there is no inner hold-out: the frozen evaluation set is the test.
    """
    name = "cross-validation (training part)"
    progress.start(name, CV_FOLDS)
    oof = out_of_fold(
        dataset,
        index=train,
        groups=groups,
        labels=labels,
        config=config,
        n_splits=CV_FOLDS,
        seed=seed,
        advance=lambda _step: progress.advance(name),
    )
    y_train = [str(y) for y in dataset.labels[train]]
    fallbacks = fallback_answers(labels)
    top_labels, top_prob = top_answers(oof, labels)
    choice = choose_threshold(top_labels, top_prob, y_train, fallbacks=fallbacks)
    category_choice = choose_category_threshold(oof, labels, y_train, categories)

    def described(found: ThresholdChoice) -> dict[str, Any]:
        return {
            "value": found.threshold,
            "precision": found.precision,
            "coverage": found.coverage,
            "met": found.met,
            "criterion": found.criterion(),
        }

    return {
        "folds": CV_FOLDS,
        "samples": len(train),
        "model": score(
            oof,
            y_train,
            labels,
            label_categories=categories,
            threshold=choice.threshold,
            fallbacks=fallbacks,
        ),
        "baseline_accuracy": float(
            np.mean(np.array(y_train) == max(set(y_train), key=y_train.count))
        ),
        "threshold": described(choice),
        "category_threshold": described(category_choice),
    }


def train_with_labels(
    labels: Sequence[LabelledPanic],
    out_dir: Path,
    *,
    active: ActiveRecipe,
    corpus_path: Path = DEFAULT_CORPUS_PATH,
    config: ModelConfig | None = None,
    seed: int = 0,
    cross_validate: bool = True,
    known: KnownCauses | None = None,
    progress: Progress | None = None,
) -> LearnResult:
    """Train on the corpus plus `labels`, evaluate against `active` and a baseline, save.

    Evaluation (all on the frozen evaluation set, `classifier.evaluate.frozen_mask`): the
    candidate recipe and the active model's recipe (`active`: its labels, its threshold) are
    each fitted on the training part, a most-frequent baseline too, and all three are scored
    on the frozen part. With `cross_validate`, grouped cross-validation on the training part
    also chooses the abstention thresholds (else the active model's are kept). The artifact
    written to `out_dir` is then fitted on everything, and `report.md` with its plots is
    written beside it. Raises ValueError when the data cannot support an evaluation.
    """
    from classifier.report import write_learn_report

    progress = progress or Progress()
    config = config or ModelConfig()
    known = known or KnownCauses.from_knowledge_base()
    corpus = read_corpus(corpus_path)
    if not corpus:
        raise ValueError(f"{corpus_path}: the corpus is empty")
    sources, created, untrainable = label_sources(labels, known)
    variants = label_variants(len(sources))
    label_samples = [s for source in sources for s in samples_for(source, seed, variants)]
    samples = corpus + label_samples

    progress.start("parsing and featurizing", len(samples))
    dataset = featurize(samples, lambda n: progress.advance("parsing and featurizing", n))
    categories = label_categories(dataset)
    for label, category in zip(dataset.labels.tolist(), dataset.categories.tolist(), strict=True):
        categories.setdefault(label, category)
    held = frozen_mask(dataset)
    frozen = np.flatnonzero(held).astype(np.int64)
    train = np.flatnonzero(~held).astype(np.int64)
    if len(frozen) == 0 or len(set(dataset.labels[train].tolist())) < 2:
        raise ValueError("not enough data for a frozen evaluation set and a training part")
    labels_all = sorted(set(dataset.labels.tolist()))
    fallbacks = fallback_answers(labels_all)
    groups = dataset.split_groups()
    y_frozen = [str(y) for y in dataset.labels[frozen]]

    threshold, category_threshold = active.threshold, active.category_threshold
    cv_metrics: dict[str, Any] = {}
    if cross_validate:
        cv_metrics = cross_validate_training_part(
            dataset,
            train,
            groups=groups,
            labels=labels_all,
            categories=categories,
            config=config,
            seed=seed,
            progress=progress,
        )
        threshold = cv_metrics["threshold"]["value"]
        category_threshold = cv_metrics["category_threshold"]["value"]

    progress.start("frozen evaluation", 3)
    candidate_model = fit_pipeline(dataset, train, groups, config, seed)
    candidate_proba = aligned_proba(candidate_model, dataset.matrix(frozen), labels_all)
    progress.advance("frozen evaluation")
    cutoff = active.labels_cutoff
    active_train = np.array(
        [
            i
            for i in train.tolist()
            if dataset.samples[i].kind != LABEL_KIND
            or (cutoff is not None and created[dataset.groups[i]] <= cutoff)
        ],
        dtype=np.int64,
    )
    active_model = fit_pipeline(dataset, active_train, groups, config, seed)
    active_proba = aligned_proba(active_model, dataset.matrix(frozen), labels_all)
    progress.advance("frozen evaluation")
    base_proba = baseline_proba(dataset.labels[train].tolist(), len(frozen), labels_all)
    progress.advance("frozen evaluation")

    def scored(proba: FloatMatrix, thr: float) -> dict[str, Any]:
        return score(
            proba,
            y_frozen,
            labels_all,
            label_categories=categories,
            threshold=thr,
            seen=set(dataset.labels[train].tolist()),
            fallbacks=fallbacks,
        )

    is_label = np.array([dataset.samples[i].kind == LABEL_KIND for i in frozen], dtype=bool)
    frozen_info = {
        "sha256": frozen_sha256(dataset, frozen),
        "samples": len(frozen),
        "label_samples": int(is_label.sum()),
        "rule": f"components (same source or signature) whose anchor hashes to bucket 0 "
        f"of {FROZEN_BUCKETS}",
        "candidate": scored(candidate_proba, threshold),
        "active": scored(active_proba, active.threshold),
        "baseline": scored(base_proba, threshold),
        "active_version": active.version,
    }

    progress.start("fitting the final model", 1)
    everything = np.arange(len(dataset), dtype=np.int64)
    pipeline = fit_pipeline(dataset, everything, groups, config, seed)
    progress.advance("fitting the final model")
    label_cutoff = max(created.values()) if created else None
    originals = [
        i
        for i, s in enumerate(dataset.samples)
        if s.kind == LABEL_KIND and s.variant.get("shape") == "original"
    ]
    learned = _learned_share(pipeline, dataset, originals)
    metrics: dict[str, Any] = {
        "frozen": frozen_info,
        "cross_validation": cv_metrics,
        "training": {
            "corpus_samples": len(corpus),
            "labels": len(labels),
            "unique_labels": len(sources),
            "label_variants": variants,
            "label_samples": len(label_samples),
            "untrainable_labels": len(untrainable),
            "new_causes": sorted({label.new_cause or "" for label in labels if label.new_cause}),
            "labelled_panics_right_after_training": learned,
        },
        "config": config.describe(),
        "threshold": threshold,
        "category_threshold": category_threshold,
    }
    artifact = save_model(
        pipeline,
        out_dir,
        labels=[str(c) for c in pipeline.classes_],
        label_categories=categories,
        kb_version=kb_version(),
        corpus_sha256=file_sha256(corpus_path),
        threshold=float(threshold),
        metrics=frozen_summary(metrics),
        extra={
            "category_threshold": float(category_threshold),
            "threshold_criterion": "grouped cross-validation on the training part"
            if cross_validate
            else f"kept from the active model {active.version}",
            "config": config.describe(),
            "seed": seed,
            "corpus_samples": len(dataset),
            "labels_cutoff": label_cutoff.isoformat() if label_cutoff else None,
            "labelled_panics": len(sources),
            "frozen_eval": {k: frozen_info[k] for k in ("sha256", "samples", "rule")},
            "fastpath_verified": _fastpath_ok(pipeline, dataset),
        },
    )
    report = write_learn_report(
        metrics,
        out_dir,
        version=artifact.version,
        categories=categories,
        labels=labels_all,
        y_true=y_frozen,
        probabilities={
            "candidate": candidate_proba,
            f"active ({active.version})": active_proba,
            "baseline": base_proba,
        },
    )
    progress.note(f"model {artifact.version} trained and evaluated")
    return LearnResult(artifact, metrics, report)


def _fastpath_ok(pipeline: Any, dataset: Dataset) -> bool:
    diff = check_fastpath(pipeline, dataset)
    return diff is not None and diff <= FASTPATH_TOLERANCE


def _learned_share(pipeline: Any, dataset: Dataset, index: Sequence[int]) -> float | None:
    """Share of labelled panics (original texts) the final model's top answer gets right."""
    if not index:
        return None
    rows = np.array(index, dtype=np.int64)
    predicted = pipeline.predict(dataset.matrix(rows))
    return float(np.mean(predicted == dataset.labels[rows]))


def frozen_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The figures the promotion gate and `panicdx model show` need (kept in the manifest)."""
    frozen = metrics["frozen"]
    out: dict[str, Any] = {
        "frozen_sha256": frozen["sha256"],
        "frozen_samples": frozen["samples"],
        "compared_with": frozen["active_version"],
    }
    for name in ("candidate", "active", "baseline"):
        result = frozen[name]
        out[name] = {
            "macro_f1": result["root_cause"]["macro_f1"],
            "accuracy": result["root_cause"]["accuracy"],
            "category_accuracy": result["category"]["accuracy"],
            "category_f1": {
                cat: m["f1"]
                for cat, m in result["category"]["per_class"].items()
                if m["support"] > 0
            },
            "coverage_at_threshold": result["at_threshold"]["coverage"],
            "precision_at_threshold": result["at_threshold"]["precision"],
            "ece": result["calibration"]["ece"],
        }
    return out

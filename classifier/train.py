"""Train, evaluate and save the classifier.

    python -m classifier.train [--corpus PATH] [--out DIR] [--rebuild-corpus] [--seed N]

`train_model` reads a corpus, parses and featurizes it once, runs the grouped evaluation of
`classifier.evaluate` (which also chooses the abstention threshold on validation data), then
refits on *everything* for the shipped artifact, measures signature precision and prediction
speed, writes `model.joblib`, its plain-data export (`classifier.export`) and `manifest.json`,
and `classifier/reports/evaluation.md`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

from classifier.artifact import ModelArtifact, default_model_dir, load_model, save_model
from classifier.corpus import (
    DEFAULT_CORPUS_PATH,
    DEFAULT_SEED,
    build_corpus,
    file_sha256,
    read_corpus,
)
from classifier.dataset import Dataset, featurize, kb_version, label_categories
from classifier.evaluate import (
    REPORT_PATH,
    ModelConfig,
    fit_pipeline,
    run_evaluation,
    signature_precision,
    write_report,
)
from classifier.export import round_trip
from classifier.fastpath import CompiledModel, CompiledParams, NotCompilable
from classifier.features import records_to_matrix
from classifier.threshold import DEFAULT_THRESHOLD


class Progress:
    """Progress callbacks of a training run; the default does nothing (library use)."""

    def start(self, name: str, total: int) -> None:
        """A step with `total` units begins."""

    def advance(self, name: str, amount: int = 1) -> None:
        """`amount` units of step `name` are done."""

    def note(self, message: str) -> None:
        """A one-line message worth showing."""


class RichProgress(Progress):
    """Progress shown with rich progress bars on a given console."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def start(self, name: str, total: int) -> None:
        """Add a bar for the step."""
        self._tasks[name] = self._progress.add_task(name, total=total)

    def advance(self, name: str, amount: int = 1) -> None:
        """Move the step's bar."""
        if name in self._tasks:
            self._progress.advance(self._tasks[name], amount)

    def note(self, message: str) -> None:
        """Print a line above the bars."""
        self._progress.console.print(message)


FASTPATH_TOLERANCE = 1e-6


def check_fastpath(pipeline: Any, dataset: Dataset, n: int = 500) -> float | None:
    """Largest difference between the compiled and the pipeline probabilities (None: n/a).

    The compiled model is the one serving reads back from the plain-data export
    (`classifier.export`, encoded and decoded in memory here), so a verified artifact's
    export gives the pipeline's probabilities, not just the in-memory parameters.
    """
    try:
        compiled = CompiledModel(round_trip(CompiledParams.from_pipeline(pipeline)))
    except NotCompilable:
        return None
    step = max(1, len(dataset) // n)
    records = dataset.records[::step]
    expected = pipeline.predict_proba(records_to_matrix(records))
    return float(np.abs(compiled.predict_proba(records) - expected).max())


def measure_speed(directory: Path, dataset: Dataset, n: int = 300) -> dict[str, float]:
    """Load time of the saved artifact and prediction time per log (single and batched)."""
    started = time.perf_counter()
    model = load_model(directory)
    load_seconds = time.perf_counter() - started
    reports = dataset.reports[:n]
    started = time.perf_counter()
    for report in reports:
        model.predict_proba([report])
    single = (time.perf_counter() - started) / max(1, len(reports))
    started = time.perf_counter()
    model.predict_proba(reports)
    batched = (time.perf_counter() - started) / max(1, len(reports))
    return {
        "load_ms": round(load_seconds * 1000, 1),
        "predict_single_ms": round(single * 1000, 3),
        "predict_batched_ms_per_log": round(batched * 1000, 3),
    }


def train_model(
    corpus_path: Path = DEFAULT_CORPUS_PATH,
    out_dir: Path | None = None,
    *,
    config: ModelConfig | None = None,
    seed: int = 0,
    report_path: Path | None = REPORT_PATH,
    evaluate: bool = True,
    progress: Progress | None = None,
) -> ModelArtifact:
    """Train on the corpus at `corpus_path` and write the artifact to `out_dir`.

    `out_dir` None means `default_model_dir()`; `report_path` None skips the Markdown report.
    With `evaluate` False the grouped evaluation is skipped and the threshold is the
    combination rule's default (only for quick experiments and tests).
    """
    progress = progress or Progress()
    config = config or ModelConfig()
    out_dir = out_dir or default_model_dir()
    timings: dict[str, float] = {}

    samples = read_corpus(corpus_path)
    if not samples:
        raise ValueError(f"{corpus_path}: the corpus is empty")
    progress.start("parsing and featurizing", len(samples))
    started = time.perf_counter()
    dataset = featurize(samples, lambda n: progress.advance("parsing and featurizing", n))
    timings["featurize_s"] = time.perf_counter() - started
    categories = label_categories(dataset)

    metrics: dict[str, Any] = {}
    threshold = DEFAULT_THRESHOLD
    criterion = "default (not evaluated)"
    category_threshold = DEFAULT_THRESHOLD
    category_criterion = "default (not evaluated)"
    if evaluate:
        progress.start("grouped evaluation", 5)
        started = time.perf_counter()
        evaluation = run_evaluation(
            dataset,
            categories,
            config=config,
            seed=seed,
            advance=lambda _step: progress.advance("grouped evaluation"),
        )
        timings["evaluate_s"] = time.perf_counter() - started
        metrics = evaluation.metrics
        threshold = evaluation.threshold.threshold
        criterion = evaluation.threshold.criterion()
        if evaluation.category_threshold is not None:
            category_threshold = evaluation.category_threshold.threshold
            category_criterion = evaluation.category_threshold.criterion()

    progress.start("fitting the shipped model", 1)
    started = time.perf_counter()
    everything = np.arange(len(dataset), dtype=np.int64)
    pipeline = fit_pipeline(dataset, everything, dataset.split_groups(), config, seed)
    timings["fit_s"] = time.perf_counter() - started
    progress.advance("fitting the shipped model")

    sig_precision: dict[str, dict[str, float]] = {}
    try:
        sig_precision = signature_precision(dataset)
    except (ImportError, OSError, ValueError) as exc:  # no KB or matcher: the rule's priors
        progress.note(f"signature precision not measured: {exc}")

    fastpath_diff = check_fastpath(pipeline, dataset)
    if fastpath_diff is not None and fastpath_diff > FASTPATH_TOLERANCE:
        progress.note(f"compiled predictor differs by {fastpath_diff:.2e}: not used")
    corpus_sha = file_sha256(corpus_path)
    summary = _summary(metrics)
    artifact = save_model(
        pipeline,
        out_dir,
        labels=[str(c) for c in pipeline.classes_],
        label_categories=categories,
        kb_version=kb_version(),
        corpus_sha256=corpus_sha,
        threshold=float(threshold),
        metrics=summary,
        extra={
            "threshold_criterion": criterion,
            "category_threshold": float(category_threshold),
            "category_threshold_criterion": category_criterion,
            "signature_precision": {k: v["precision"] for k, v in sig_precision.items()},
            "config": config.describe(),
            "seed": seed,
            "corpus_samples": len(dataset),
            "corpus_sources": len(set(dataset.groups)),
            "fastpath_verified": fastpath_diff is not None and fastpath_diff <= FASTPATH_TOLERANCE,
            "fastpath_max_abs_diff": fastpath_diff,
        },
    )
    speed = measure_speed(out_dir, dataset)
    if metrics and report_path is not None:
        metrics["corpus_sha256"] = corpus_sha
        metrics["kb_version"] = artifact.manifest["kb_version"]
        metrics["signature_precision"] = sig_precision
        metrics["timings"] = {
            **{k: f"{v:.1f} s" for k, v in timings.items()},
            "model load": f"{speed['load_ms']} ms",
            "predict one log (features + model, parse excluded)": (
                f"{speed['predict_single_ms']} ms"
            ),
            "predict batched, per log": f"{speed['predict_batched_ms_per_log']} ms",
        }
        write_report(metrics, report_path)
    progress.note(
        f"model {artifact.version}: threshold {threshold:.3f}, "
        f"category threshold {category_threshold:.3f}, "
        + (
            f"test accuracy {summary['test_accuracy']:.3f} "
            f"(baseline {summary['baseline_test_accuracy']:.3f}), "
            if summary
            else ""
        )
        + f"load {speed['load_ms']} ms, predict {speed['predict_single_ms']} ms/log"
    )
    return artifact


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline figures kept in the manifest (the full set is in the report)."""
    if not metrics:
        return {}
    model = metrics["test"]["model"]
    base = metrics["test"]["baseline"]
    return {
        "test_accuracy": model["root_cause"]["accuracy"],
        "test_macro_f1": model["root_cause"]["macro_f1"],
        "test_category_accuracy": model["category"]["accuracy"],
        "test_coverage_at_threshold": model["at_threshold"]["coverage"],
        "test_precision_at_threshold": model["at_threshold"]["precision"],
        "test_log_loss": model["calibration"]["log_loss"],
        "test_ece": model["calibration"]["ece"],
        "baseline_test_accuracy": base["root_cause"]["accuracy"],
        "baseline_test_macro_f1": base["root_cause"]["macro_f1"],
        "validation_accuracy": metrics["validation"]["model"]["root_cause"]["accuracy"],
        "test_samples": metrics["test"]["samples"],
        "unseen_label_share": model.get("unseen_label_share", 0.0),
    }


@contextmanager
def rich_progress(console: Any) -> Iterator[Progress]:
    """Progress bars on a rich `console` for the steps of a training run (None: silent)."""
    if console is None:
        yield Progress()
        return
    with Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        yield RichProgress(bars)


def train_default(
    out_dir: Path | None = None,
    rebuild_corpus: bool = False,
    console: Any = None,
    corpus_path: Path = DEFAULT_CORPUS_PATH,
    seed: int = DEFAULT_SEED,
) -> Path:
    """Build the corpus if missing (or when asked), train, evaluate and save; return the dir.

    `console` is a rich Console for progress bars (None: silent). This is what `panicdx train`
    and `python -m classifier.train` run.
    """
    with rich_progress(console) as progress:
        if rebuild_corpus or not corpus_path.is_file():
            progress.note(f"building the training corpus at {corpus_path}")
            build_corpus(corpus_path, seed=seed)
        artifact = train_model(corpus_path, out_dir, progress=progress)
    return artifact.directory


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m classifier.train`: rebuild the default model (and corpus if missing)."""
    parser = argparse.ArgumentParser(description="Train, evaluate and save the classifier.")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_PATH)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rebuild-corpus", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    directory = train_default(args.out, args.rebuild_corpus, console, args.corpus)
    console.print(f"model written to {directory}; report at {REPORT_PATH}")


if __name__ == "__main__":
    main()

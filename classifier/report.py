"""The learning loop's evaluation report: Markdown plus PNG plots, written next to the artifact.

`write_learn_report` turns the figures of `classifier.learn.train_with_labels` into
`report.md`, `confusion_matrix.png` (categories, the candidate on the frozen evaluation set)
and `calibration.png` (reliability of the top answer for the candidate, the active model's
recipe and the baseline). Plots use matplotlib's Agg backend: no display is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifier.threshold import UNKNOWN, top_answers

REPORT_FILE = "report.md"
CONFUSION_FILE = "confusion_matrix.png"
CALIBRATION_FILE = "calibration.png"
FloatMatrix = npt.NDArray[np.float64]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def category_confusion(
    proba: FloatMatrix,
    y_true: Sequence[str],
    labels: Sequence[str],
    categories: Mapping[str, str],
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Category confusion counts (rows: true, columns: predicted) and the category names."""
    top, _ = top_answers(proba, labels)
    truth = [categories.get(y, UNKNOWN) for y in y_true]
    predicted = [categories.get(y, UNKNOWN) for y in top]
    names = sorted(set(truth) | set(predicted))
    position = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[position[t], position[p]] += 1
    return names, matrix


def reliability(
    proba: FloatMatrix, y_true: Sequence[str], labels: Sequence[str], bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of the top answer per confidence bin (empty bins out)."""
    top, confidence = top_answers(proba, labels)
    right = np.array([a == b for a, b in zip(top, y_true, strict=True)], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for i in range(bins):
        low, high = edges[i], edges[i + 1]
        inside = (confidence > low) & (confidence <= high) if i else (confidence <= high)
        if inside.any():
            out.append(
                (float(confidence[inside].mean()), float(right[inside].mean()), int(inside.sum()))
            )
    return out


def plot_confusion(names: Sequence[str], matrix: npt.NDArray[np.int64], path: Path) -> Path:
    """Save a category confusion matrix as a PNG (row-normalized colours, counts as text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.45 * len(names) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, np.maximum(totals, 1))
    ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), labels=names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), labels=names, fontsize=8)
    ax.set_xlabel("predicted category")
    ax.set_ylabel("true category")
    for row in range(len(names)):
        for col in range(len(names)):
            if matrix[row, col]:
                colour = "white" if shares[row, col] > 0.5 else "black"
                ax.text(
                    col,
                    row,
                    str(matrix[row, col]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                )
    ax.set_title("Candidate on the frozen evaluation set (categories)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_calibration(curves: Mapping[str, list[tuple[float, float, int]]], path: Path) -> Path:
    """Save reliability curves (confidence vs accuracy of the top answer) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, points in curves.items():
        if points:
            xs, ys, _ = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the top root cause")
    ax.set_ylabel("share right")
    ax.set_title("Calibration on the frozen evaluation set")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _comparison_rows(frozen: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    header = "| figure | " + " | ".join(names) + " |"
    rows = [header, "| --- |" + " ---: |" * len(names)]
    results = [frozen[key] for key in ("candidate", "active", "baseline")]

    def row(title: str, values: Sequence[str]) -> None:
        rows.append(f"| {title} | " + " | ".join(values) + " |")

    row("root-cause macro-F1", [f"{r['root_cause']['macro_f1']:.3f}" for r in results])
    row("root-cause accuracy", [_pct(r["root_cause"]["accuracy"]) for r in results])
    row("category macro-F1", [f"{r['category']['macro_f1']:.3f}" for r in results])
    row("category accuracy", [_pct(r["category"]["accuracy"]) for r in results])
    row("coverage at the threshold", [_pct(r["at_threshold"]["coverage"]) for r in results])
    row("precision at the threshold", [_pct(r["at_threshold"]["precision"]) for r in results])
    row(
        "selective accuracy (abstain = unknown)",
        [_pct(r["at_threshold"]["selective_accuracy"]) for r in results],
    )
    row("threshold", [f"{r['at_threshold']['threshold']:.3f}" for r in results])
    row("log loss", [f"{r['calibration']['log_loss']:.3f}" for r in results])
    row("expected calibration error", [f"{r['calibration']['ece']:.3f}" for r in results])
    return rows


def _per_class_rows(
    candidate: Mapping[str, Mapping[str, float]], active: Mapping[str, Mapping[str, float]]
) -> list[str]:
    rows = [
        "| class | support | precision | recall | F1 | active F1 | change |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ordered = sorted(candidate.items(), key=lambda kv: (-kv[1]["support"], kv[0]))
    for name, m in ordered:
        if m["support"] == 0:
            continue
        before = active.get(name, {}).get("f1", 0.0)
        rows.append(
            f"| `{name}` | {int(m['support'])} | {m['precision']:.2f} | {m['recall']:.2f} "
            f"| {m['f1']:.2f} | {before:.2f} | {m['f1'] - before:+.2f} |"
        )
    return rows


def render_learn_report(metrics: Mapping[str, Any], version: str) -> str:
    """The Markdown text of the report (plots are referenced by file name)."""
    frozen = metrics["frozen"]
    training = metrics["training"]
    names = ["candidate", f"active ({frozen['active_version']})", "most-frequent baseline"]
    lines = [
        f"# Model {version}: evaluation",
        "",
        "Written by `panicdx train` (`classifier/learn.py: train_with_labels`). All three "
        "models below are fitted on the same training part and scored on the same **frozen "
        "evaluation set**; the active model is re-fitted from its recipe (the corpus plus the "
        "labels it was trained with), so no figure comes from data a model was fitted on.",
        "",
        f"- frozen evaluation set: {frozen['samples']} samples "
        f"({frozen['label_samples']} from labelled panics), sha256 `{frozen['sha256'][:16]}`; "
        f"{frozen['rule']}",
        f"- training data: {training['corpus_samples']} corpus samples + "
        f"{training['labels']} labels ({training['unique_labels']} unique by signature and "
        f"label, {training['label_variants']} variants each, "
        f"{training['untrainable_labels']} without a trainable label)",
        f"- model: {metrics['config']}",
        f"- labelled panics the final model answers right (trained on them): "
        f"{_pct(training['labelled_panics_right_after_training'])}",
        "",
        "## Candidate vs active vs baseline (frozen evaluation set)",
        "",
        *_comparison_rows(frozen, names),
        "",
        f"![confusion matrix]({CONFUSION_FILE})",
        "",
        f"![calibration]({CALIBRATION_FILE})",
        "",
    ]
    cv = metrics.get("cross_validation") or {}
    if cv:
        val = cv["model"]
        lines += [
            "## Cross-validation on the training part",
            "",
            f"Grouped {cv['folds']}-fold out-of-fold predictions over {cv['samples']} samples: "
            f"accuracy {_pct(val['root_cause']['accuracy'])} (most-frequent baseline "
            f"{_pct(cv['baseline_accuracy'])}), macro-F1 {val['root_cause']['macro_f1']:.3f}, "
            f"category accuracy {_pct(val['category']['accuracy'])}.",
            "",
            f"They chose the thresholds: root cause **{cv['threshold']['value']:.3f}** "
            f"(precision {_pct(cv['threshold']['precision'])}, coverage "
            f"{_pct(cv['threshold']['coverage'])}; {cv['threshold']['criterion']}), category "
            f"**{cv['category_threshold']['value']:.3f}** (precision "
            f"{_pct(cv['category_threshold']['precision'])}, coverage "
            f"{_pct(cv['category_threshold']['coverage'])}).",
            "",
        ]
    if training["new_causes"]:
        lines += [
            "## Labels naming causes the knowledge base does not have",
            "",
            "Candidates for new entries (`panicdx unknowns` drafts skeletons):",
            "",
            *[f"- {cause}" for cause in training["new_causes"]],
            "",
        ]
    lines += [
        "## Per category (frozen set)",
        "",
        *_per_class_rows(
            frozen["candidate"]["category"]["per_class"],
            frozen["active"]["category"]["per_class"],
        ),
        "",
        "## Per root cause (frozen set)",
        "",
        *_per_class_rows(
            frozen["candidate"]["root_cause"]["per_class"],
            frozen["active"]["root_cause"]["per_class"],
        ),
        "",
    ]
    return "\n".join(lines)


def write_learn_report(
    metrics: Mapping[str, Any],
    out_dir: Path,
    *,
    version: str,
    categories: Mapping[str, str],
    labels: Sequence[str],
    y_true: Sequence[str],
    probabilities: Mapping[str, FloatMatrix],
) -> Path:
    """Write `report.md` and its two PNG plots into `out_dir`; return the report's path.

    `probabilities` maps a model name to its probabilities on the frozen set (columns in
    `labels` order); the first one is the candidate, drawn in the confusion matrix.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    first = next(iter(probabilities.values()))
    names, matrix = category_confusion(first, y_true, labels, categories)
    plot_confusion(names, matrix, out_dir / CONFUSION_FILE)
    plot_calibration(
        {name: reliability(p, y_true, labels) for name, p in probabilities.items()},
        out_dir / CALIBRATION_FILE,
    )
    path = out_dir / REPORT_FILE
    path.write_text(render_learn_report(metrics, version), encoding="utf-8")
    return path

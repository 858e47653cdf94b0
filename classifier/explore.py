"""Data frames for the notebooks (`notebooks/`): diagnoses, labels, evaluation views.

The notebooks import these functions and hold no logic of their own (CONVENTIONS 16). Two
sources of diagnoses: a service data directory (`load_diagnoses`), or, when there is none,
the shipped knowledge-base example logs diagnosed on the spot (`diagnose_examples`).
pandas is imported lazily: only the notebooks need it (the `dev` extra installs it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifier.threshold import UNKNOWN, precision_coverage, top_answers

FRAME_COLUMNS = (
    "created_at",
    "host",
    "category",
    "root_cause",
    "confidence",
    "decided_by",
    "signature",
    "title",
    "kernel_release",
    "model_version",
)


def diagnoses_frame(rows: Iterable[Mapping[str, Any]]) -> Any:
    """A DataFrame with `FRAME_COLUMNS` from Diagnosis JSON objects.

    Each row is a Diagnosis JSON object, optionally with `host`, `created_at` and any extra
    keys (kept as columns, e.g. `expected_category`).
    """
    import pandas as pd

    records = []
    for row in rows:
        report = row.get("report") or {}
        root = row.get("root_cause") or {}
        record = {
            "created_at": row.get("created_at"),
            "host": row.get("host"),
            "category": row.get("category", UNKNOWN),
            "root_cause": root.get("id"),
            "confidence": row.get("confidence", 0.0),
            "decided_by": row.get("decided_by"),
            "signature": row.get("signature") or "",
            "title": report.get("title"),
            "kernel_release": report.get("kernel_release"),
            "model_version": (row.get("model") or {}).get("version"),
        }
        known = set(record) | {"report", "model", "evidence", "remediation", "alternatives"}
        record.update(
            {k: v for k, v in row.items() if k not in known and not isinstance(v, (dict, list))}
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=list(FRAME_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def diagnose_examples(limit: int | None = None) -> Any:
    """The shipped knowledge-base example logs, diagnosed: one row each, with what to expect.

    Extra columns: `expected_root_cause`, `expected_category`, `kind` (positive, near-miss,
    known-miss) and `example` (the file). `limit` None diagnoses every example.
    """
    from knowledge_base.examples import iter_examples
    from service.diagnoser import Diagnoser

    diagnoser = Diagnoser.load()
    examples = list(iter_examples())[:limit]
    diagnoses = diagnoser.diagnose_texts([e.text for e in examples])
    rows = []
    for example, diagnosis in zip(examples, diagnoses, strict=True):
        row = diagnosis.model_dump(mode="json")
        row.update(
            expected_root_cause=example.root_cause,
            expected_category=example.category,
            kind=example.kind,
            example=example.path.name,
        )
        rows.append(row)
    return diagnoses_frame(rows)


def load_diagnoses(data_dir: Path) -> Any:
    """Every stored diagnosis of a service data directory, as a `diagnoses_frame`."""
    from sqlalchemy import select

    from service.db.models import DiagnosisRecord
    from service.db.session import open_database
    from service.settings import get_settings

    database = open_database(get_settings(data_dir))
    try:
        with database.session() as session:
            rows = [
                {**(r.result or {}), "host": r.host, "created_at": r.created_at}
                for r in session.scalars(select(DiagnosisRecord))
            ]
    finally:
        database.dispose()
    return diagnoses_frame(rows)


def top_signatures(frame: Any, n: int = 10) -> Any:
    """The `n` most frequent crash signatures: count, hosts, title, first and last seen."""
    crashes = frame[frame["signature"] != ""]
    grouped = crashes.groupby("signature").agg(
        count=("signature", "size"),
        hosts=("host", "nunique"),
        title=("title", "first"),
        category=("category", "first"),
        first=("created_at", "min"),
        last=("created_at", "max"),
    )
    return grouped.sort_values(["count", "hosts"], ascending=False).head(n)


def spikes(frame: Any, window: str = "1h", min_hosts: int = 3) -> Any:
    """Signatures seen on at least `min_hosts` hosts within one time window (a fleet spike).

    Rows without a time or host are left out; an empty frame when there are none.
    """
    import pandas as pd

    timed = frame.dropna(subset=["created_at", "host"])
    timed = timed[timed["signature"] != ""]
    if timed.empty:
        return pd.DataFrame(columns=["window", "signature", "hosts", "count", "title"])
    timed = timed.assign(window=timed["created_at"].dt.floor(window))
    grouped = timed.groupby(["window", "signature"]).agg(
        hosts=("host", "nunique"), count=("host", "size"), title=("title", "first")
    )
    found = grouped[grouped["hosts"] >= min_hosts].reset_index()
    return found.sort_values(["hosts", "window"], ascending=[False, True])


@dataclass
class EvaluationView:
    """A model fitted on a grouped development part and its predictions on the test part."""

    labels: list[str]
    categories: dict[str, str]
    y_true: list[str]
    proba: npt.NDArray[np.float64]
    texts: list[str]
    threshold: float


def quick_evaluation(variants: int = 2, seed: int = 0, threshold: float = 0.5) -> EvaluationView:
    """Fit on the shipped corpus (originals + `variants` variants each) with a grouped split.

    A smaller, faster version of `classifier.evaluate.run_evaluation` for exploring errors;
    `threshold` is the abstention threshold the trade-off views mark.
    """
    from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus
    from classifier.dataset import featurize, grouped_holdout, label_categories
    from classifier.evaluate import ModelConfig, aligned_proba, fit_pipeline

    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < variants]
    dataset = featurize(samples)
    groups = dataset.split_groups()
    dev, test = grouped_holdout(dataset.labels, groups, 0.2, seed)
    labels = sorted(set(dataset.labels.tolist()))
    pipeline = fit_pipeline(dataset, dev, groups, ModelConfig(), seed)
    return EvaluationView(
        labels=labels,
        categories=label_categories(dataset),
        y_true=[str(y) for y in dataset.labels[test]],
        proba=aligned_proba(pipeline, dataset.matrix(test), labels),
        texts=[dataset.samples[i].text for i in test.tolist()],
        threshold=threshold,
    )


def worst_errors(view: EvaluationView, n: int = 10, excerpt_lines: int = 12) -> Any:
    """The `n` most confident wrong answers, with the end of their logs."""
    import pandas as pd

    top, confidence = top_answers(view.proba, view.labels)
    rows = [
        {
            "expected": truth,
            "predicted": answer,
            "confidence": float(conf),
            "log_tail": "\n".join(text.splitlines()[-excerpt_lines:]),
        }
        for truth, answer, conf, text in zip(view.y_true, top, confidence, view.texts, strict=True)
        if answer != truth
    ]
    frame = pd.DataFrame.from_records(
        rows, columns=["expected", "predicted", "confidence", "log_tail"]
    )
    return frame.sort_values("confidence", ascending=False).head(n)


def threshold_tradeoffs(view: EvaluationView, steps: int = 21) -> Any:
    """Coverage and precision of the answers at each threshold from 0 to 1."""
    import pandas as pd

    top, confidence = top_answers(view.proba, view.labels)
    right = np.array([a == b for a, b in zip(top, view.y_true, strict=True)], dtype=bool)
    answered = np.array([a != UNKNOWN for a in top], dtype=bool)
    rows = []
    for threshold in np.linspace(0.0, 1.0, steps):
        precision, coverage = precision_coverage(confidence, right, answered, float(threshold))
        rows.append({"threshold": float(threshold), "coverage": coverage, "precision": precision})
    return pd.DataFrame.from_records(rows)

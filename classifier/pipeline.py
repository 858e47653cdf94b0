"""The scikit-learn Pipeline: one TF-IDF per text column, one-hot categoricals, a linear model.

Shape (step names are stable, artifacts and tests refer to them):

    Pipeline
      features  ColumnTransformer over the columns of `features.FEATURE_COLUMNS`
        title, frames, body, panic, events, context, modules   TfidfVectorizer each
        categorical                                            OneHotEncoder(ignore unknown)
      clf       CalibratedClassifierCV(LinearSVC | LogisticRegression)

The input is the 2-D object array of `features.records_to_matrix` (columns by position), not
a DataFrame: for a single log a DataFrame's construction costs more than the prediction.

The token pattern keeps kernel identifiers whole (`find_busiest_group`, `nvidia_uvm`,
`EXT4-fs`, `mlx5_core`, `drm.debug`) and short numbers (Xid codes, errnos); `features.mask`
has already replaced long numbers and addresses with stable words. Vocabulary sizes are
bounded per column so the model stays small and fast however large the corpus grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import LinearSVC

from classifier.features import FEATURE_CATEGORICAL_COLUMNS, FEATURE_COLUMNS

TOKEN_PATTERN = r"(?u)[A-Za-z_][A-Za-z0-9_]*(?:[-.][A-Za-z0-9_]+)*|\b\d{1,3}\b"
# Stands for "this column is empty", which is itself informative (no panic line, no events).
EMPTY_TOKEN = "empty_column"

ModelKind = Literal["svc", "logreg"]
CalibrationMethod = Literal["sigmoid", "isotonic", "temperature"]


@dataclass(frozen=True)
class TextColumnSpec:
    """How one text column is vectorized: n-gram range and vocabulary cap."""

    ngram_max: int
    max_features: int


# Word uni+bigrams where word order carries meaning (messages, call chains); unigrams for
# lists whose order is incidental (loaded modules) or that are short context.
TEXT_COLUMN_SPECS: dict[str, TextColumnSpec] = {
    "title": TextColumnSpec(2, 5_000),
    "frames": TextColumnSpec(2, 10_000),
    "body": TextColumnSpec(2, 30_000),
    "panic": TextColumnSpec(2, 3_000),
    "events": TextColumnSpec(2, 5_000),
    "context": TextColumnSpec(1, 5_000),
    "modules": TextColumnSpec(1, 3_000),
}


def preprocess(doc: str) -> str:
    """Lower-case a column's text; an empty column becomes `EMPTY_TOKEN`.

    Module-level (not a lambda) so fitted pipelines pickle; the empty marker also keeps every
    vectorizer's vocabulary non-empty when a column is blank in the whole training set.
    """
    return doc.lower() if doc else EMPTY_TOKEN


def _vectorizer(spec: TextColumnSpec, min_df: int) -> TfidfVectorizer:
    return TfidfVectorizer(
        preprocessor=preprocess,
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, spec.ngram_max),
        max_features=spec.max_features,
        min_df=min_df,
        sublinear_tf=True,
        # float32 halves the model's vocabulary-side memory; precision is not an issue here.
        dtype=np.float32,
    )


def make_features(min_df: int = 2) -> ColumnTransformer:
    """The feature step alone: TF-IDF per text column, one-hot for the categoricals.

    `min_df` is the minimum number of training samples a term must occur in; 2 drops terms
    seen in a single log (random names, leftovers of masking) at no cost in accuracy.
    """
    position = {name: index for index, name in enumerate(FEATURE_COLUMNS)}
    transformers: list[tuple[str, Any, Any]] = [
        (name, _vectorizer(spec, min_df), position[name])
        for name, spec in TEXT_COLUMN_SPECS.items()
    ]
    transformers.append(
        (
            "categorical",
            OneHotEncoder(handle_unknown="ignore"),
            [position[name] for name in FEATURE_CATEGORICAL_COLUMNS],
        )
    )
    return ColumnTransformer(transformers, sparse_threshold=1.0)


def make_estimator(model: ModelKind = "svc", c: float = 1.0) -> Any:
    """The linear model before calibration.

    Classes are weighted by inverse frequency because the corpus is unbalanced by nature
    (entries have different numbers of examples, and `unknown` collects every near-miss).
    """
    if model == "svc":
        return LinearSVC(C=c, class_weight="balanced", max_iter=5_000)
    if model == "logreg":
        return LogisticRegression(C=c * 10, class_weight="balanced", max_iter=2_000)
    raise ValueError(f"unknown model kind {model!r}: use 'svc' or 'logreg'")


def make_pipeline(
    *,
    model: ModelKind = "svc",
    calibration: CalibrationMethod = "sigmoid",
    cv: int | Iterable[tuple[Sequence[int], Sequence[int]]] = 3,
    c: float = 1.0,
    min_df: int = 2,
    ensemble: bool = False,
) -> Pipeline:
    """The whole unfitted pipeline: `features` then the calibrated linear model `clf`.

    `cv` is the calibration split: an int, or precomputed (train, test) index pairs, which is
    how the trainer makes calibration group-aware (variants of one example must not calibrate
    each other, or the probabilities come out overconfident). With `ensemble` False one model
    is fitted on all data and calibrated on out-of-fold scores, so prediction costs one linear
    model instead of one per fold.
    """
    clf = CalibratedClassifierCV(
        estimator=make_estimator(model, c), method=calibration, cv=cv, ensemble=ensemble
    )
    return Pipeline([("features", make_features(min_df)), ("clf", clf)])

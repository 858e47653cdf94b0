"""A compiled form of the fitted pipeline for fast prediction, built from plain parameters.

scikit-learn's per-call input validation costs about 6 ms for one row through a
ColumnTransformer with eight transformers and a calibrated model, thirty times the actual
arithmetic; at the product's target of 500 logs/s per core (parse included) that is the whole
budget. `CompiledModel` holds only the fitted numbers (each text column's token pattern,
n-gram range, vocabulary and idf weights, the one-hot categories, the linear model's
coefficients and the calibrators' parameters, gathered in `CompiledParams`) and recomputes
exactly what the pipeline computes:

    tf-idf per text column: preprocess (lower-case, empty -> marker) -> tokens -> 1-2 grams
                            -> counts -> 1 + log(count) -> * idf -> l2-normalize
    one-hot per categorical column (unknown categories: all zeros)
    decision = x @ coef.T + intercept
    calibrate: sigmoid 1/(1+exp(a*d+b)) or isotonic (piecewise linear, clipped) per class,
               then normalize; or temperature: softmax(beta * d)

The parameters come either from a fitted pipeline (`CompiledParams.from_pipeline`, training
time) or from the plain-data export beside the pickle (`classifier.export`, serving time), so
serving needs numpy but neither scikit-learn, scipy nor joblib. Both routes run the same
tokenizer, written here rather than borrowed from the vectorizer, which is why the trainer
compares this model's probabilities with the pipeline's before it marks an artifact verified.

Only the shapes this project builds are supported (`classifier.pipeline.make_pipeline` with
`ensemble=False`); anything else raises `NotCompilable` and callers use the pipeline itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from classifier.features import FEATURE_COLUMNS

FloatMatrix = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.float64]

# The one preprocessing rule the pipeline uses (`classifier.pipeline.preprocess`): lower-case,
# an empty column becomes a marker token. Named so an export can say which rule it needs.
PREPROCESS_LOWER_OR_MARKER = "lower-or-empty-marker"
CALIBRATION_METHODS = ("sigmoid", "isotonic", "temperature")


class NotCompilable(ValueError):
    """The fitted pipeline (or an export) has a shape the fast path does not reproduce."""


@dataclass(frozen=True)
class TextColumnParams:
    """One TF-IDF column: how its text becomes terms, and the fitted vocabulary and weights.

    `offset` is the column's first index in the feature vector; `ngram_max` is 1 or 2
    (n-grams always start at 1); `empty_token` stands for an empty column.
    """

    column: str
    offset: int
    token_pattern: str
    ngram_max: int
    preprocess: str
    empty_token: str
    vocabulary: dict[str, int]
    idf: FloatArray


@dataclass(frozen=True)
class CategoricalParams:
    """The one-hot block: its columns and each column's categories, in encoder order."""

    columns: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    offset: int


@dataclass(frozen=True)
class CompiledParams:
    """Everything `CompiledModel` needs, as plain Python values and numpy arrays.

    `coef_t` is the transposed coefficient matrix (features x classes); the calibration
    fields used depend on `method`: `sigmoid_a`/`sigmoid_b` (one per class), `isotonic`
    ((thresholds x, thresholds y) per class) or `beta` (temperature).
    """

    classes: list[str]
    text: list[TextColumnParams]
    categorical: list[CategoricalParams]
    coef_t: FloatMatrix
    intercept: FloatArray
    method: str
    sigmoid_a: FloatArray | None = None
    sigmoid_b: FloatArray | None = None
    isotonic: list[tuple[FloatArray, FloatArray]] | None = None
    beta: float | None = None

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> CompiledParams:
        """Read a fitted pipeline's parameters; raise NotCompilable for unsupported shapes."""
        return _params_from_pipeline(pipeline)

    def validate(self) -> None:
        """Raise NotCompilable when the parts do not fit together (shapes, method, classes)."""
        n_classes = len(self.classes)
        if n_classes < 3:
            raise NotCompilable("binary problems are not compiled")
        width = self.coef_t.shape[0]
        if self.coef_t.ndim != 2 or self.coef_t.shape[1] != n_classes:
            raise NotCompilable("coefficients do not match the classes")
        if self.intercept.shape != (n_classes,):
            raise NotCompilable("intercept does not match the classes")
        for col in self.text:
            if col.preprocess != PREPROCESS_LOWER_OR_MARKER:
                raise NotCompilable(f"{col.column}: preprocessing {col.preprocess!r}")
            if col.ngram_max not in (1, 2):
                raise NotCompilable(f"{col.column}: n-grams up to {col.ngram_max}")
            if col.idf.shape != (len(col.vocabulary),):
                raise NotCompilable(f"{col.column}: idf does not match the vocabulary")
            if col.offset + len(col.vocabulary) > width:
                raise NotCompilable(f"{col.column}: vocabulary beyond the coefficients")
            if col.column not in FEATURE_COLUMNS:
                raise NotCompilable(f"unknown feature column {col.column!r}")
        for group in self.categorical:
            if group.offset + sum(len(c) for c in group.categories) > width:
                raise NotCompilable("categories beyond the coefficients")
            if not set(group.columns) <= set(FEATURE_COLUMNS):
                raise NotCompilable(f"unknown feature columns {group.columns}")
        if self.method == "sigmoid":
            for part in (self.sigmoid_a, self.sigmoid_b):
                if part is None or part.shape != (n_classes,):
                    raise NotCompilable("one sigmoid calibrator per class expected")
        elif self.method == "isotonic":
            if self.isotonic is None or len(self.isotonic) != n_classes:
                raise NotCompilable("one isotonic calibrator per class expected")
        elif self.method == "temperature":
            if self.beta is None:
                raise NotCompilable("temperature calibration without beta")
        else:
            raise NotCompilable(f"calibration {self.method!r} is not compiled")


def _params_from_pipeline(pipeline: Any) -> CompiledParams:
    try:
        features = pipeline.named_steps["features"]
        clf = pipeline.named_steps["clf"]
    except (AttributeError, KeyError) as exc:
        raise NotCompilable("not a features+clf pipeline") from exc
    # Imported here: whoever holds a fitted pipeline has scikit-learn loaded already, and
    # serving (which never gets here) must not import it.
    from classifier import pipeline as recipe

    classes = [str(c) for c in pipeline.classes_]
    text: list[TextColumnParams] = []
    categorical: list[CategoricalParams] = []
    width = 0
    for name, transformer, columns in features.transformers_:
        if name == "remainder":
            continue
        span = features.output_indices_[name]
        width = max(width, span.stop)
        kind = type(transformer).__name__
        if kind == "TfidfVectorizer":
            text.append(_text_params(name, transformer, columns, span.start, recipe))
        elif kind == "OneHotEncoder":
            if transformer.drop is not None or getattr(transformer, "_infrequent_enabled", False):
                raise NotCompilable(f"{name}: drop/infrequent categories are not compiled")
            categorical.append(
                CategoricalParams(
                    columns=tuple(FEATURE_COLUMNS[int(c)] for c in columns),
                    categories=tuple(
                        tuple(str(v) for v in cats) for cats in transformer.categories_
                    ),
                    offset=span.start,
                )
            )
        else:
            raise NotCompilable(f"{name}: {kind} is not compiled")

    calibrated = getattr(clf, "calibrated_classifiers_", None)
    if not calibrated or len(calibrated) != 1:
        raise NotCompilable("only a single calibrated classifier (ensemble=False)")
    inner = calibrated[0]
    estimator = inner.estimator
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    if coef.ndim != 2 or coef.shape[1] != width:
        raise NotCompilable("coefficients do not match the features")
    inner_classes = [str(c) for c in estimator.classes_]
    # Temperature scaling fits the estimator on label-encoded targets (0..k-1).
    encoded = [str(i) for i in range(len(classes))]
    if inner_classes not in (classes, encoded):
        raise NotCompilable("the estimator lacks some classes")
    method = str(inner.method)
    calibrators = list(inner.calibrators)
    if method != "temperature" and len(calibrators) != len(classes):
        raise NotCompilable("one calibrator per class expected")
    params = CompiledParams(
        classes=classes,
        text=text,
        categorical=categorical,
        # Row j is feature j's contribution to every class: gathered per log.
        coef_t=np.ascontiguousarray(coef.T),
        intercept=np.asarray(estimator.intercept_, dtype=np.float64),
        method=method,
        sigmoid_a=(
            np.array([c.a_ for c in calibrators], dtype=np.float64) if method == "sigmoid" else None
        ),
        sigmoid_b=(
            np.array([c.b_ for c in calibrators], dtype=np.float64) if method == "sigmoid" else None
        ),
        isotonic=(
            [
                (
                    np.asarray(c.X_thresholds_, dtype=np.float64),
                    np.asarray(c.y_thresholds_, dtype=np.float64),
                )
                for c in calibrators
            ]
            if method == "isotonic"
            else None
        ),
        beta=float(calibrators[0].beta_) if method == "temperature" else None,
    )
    params.validate()
    return params


def _text_params(
    name: str, transformer: Any, columns: Any, offset: int, recipe: Any
) -> TextColumnParams:
    """One fitted TfidfVectorizer as parameters, if it is the kind the pipeline builds."""
    if not isinstance(columns, int | np.integer):
        raise NotCompilable(f"text column {name} is not a single column")
    if transformer.norm != "l2" or not transformer.sublinear_tf or not transformer.use_idf:
        raise NotCompilable(f"{name}: only sublinear tf-idf with l2 norm is compiled")
    low, high = transformer.ngram_range
    if (
        transformer.analyzer != "word"
        or transformer.input != "content"
        or transformer.tokenizer is not None
        or transformer.binary
        or transformer.get_stop_words() is not None
        or low != 1
        or high not in (1, 2)
    ):
        raise NotCompilable(f"{name}: only word 1-2 grams without stop words are compiled")
    # The tokenizer below reimplements this one preprocessor; any other is not compiled.
    if transformer.preprocessor is not recipe.preprocess:
        raise NotCompilable(f"{name}: preprocessor {transformer.preprocessor!r} is not compiled")
    pattern = re.compile(transformer.token_pattern)
    if pattern.groups > 1:
        raise NotCompilable(f"{name}: token pattern with capturing groups")
    return TextColumnParams(
        column=FEATURE_COLUMNS[int(columns)],
        offset=offset,
        token_pattern=str(transformer.token_pattern),
        ngram_max=int(high),
        preprocess=PREPROCESS_LOWER_OR_MARKER,
        empty_token=str(recipe.EMPTY_TOKEN),
        vocabulary={str(term): int(j) for term, j in transformer.vocabulary_.items()},
        idf=np.asarray(transformer.idf_, dtype=np.float64),
    )


def term_counter(col: TextColumnParams) -> Callable[[str], Counter[str]]:
    """`Counter(analyzer(doc))` of the column's fitted vectorizer, computed without it.

    Reproduces scikit-learn's word analyzer for what the pipeline builds: the preprocessor
    (`classifier.pipeline.preprocess`: lower-case, empty -> marker), `re.findall` of the token
    pattern, then for bigrams each pair of neighbours joined by a space, exactly as
    `_VectorizerMixin._word_ngrams` lists them (unigrams first, then bigrams, in order).
    """
    if col.preprocess != PREPROCESS_LOWER_OR_MARKER:
        raise NotCompilable(f"{col.column}: preprocessing {col.preprocess!r}")
    findall = re.compile(col.token_pattern).findall
    empty = col.empty_token
    bigrams = col.ngram_max == 2
    space_join = " ".join

    def count(doc: str) -> Counter[str]:
        tokens: list[str] = findall(doc.lower() if doc else empty)
        counts = Counter(tokens)
        if bigrams and len(tokens) > 1:
            counts.update(map(space_join, pairwise(tokens)))
        return counts

    return count


@dataclass(frozen=True)
class _TextColumn:
    column: str
    offset: int
    vocabulary: dict[str, int]
    # idf as Python floats: indexing a list is much cheaper than indexing an array.
    idf_values: list[float]
    # The analyzer's terms of a document, counted, in order of first occurrence.
    count_terms: Callable[[str], Counter[str]]


@dataclass(frozen=True)
class _CategoricalColumns:
    columns: tuple[str, ...]
    positions: tuple[dict[str, int], ...]
    offset: int


def _expit(x: FloatMatrix) -> FloatMatrix:
    """The logistic function 1/(1+exp(-x)), without overflow for large |x| (as scipy's)."""
    e = np.exp(-np.abs(x))
    out: FloatMatrix = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


class CompiledModel:
    """The pipeline's arithmetic without its per-call validation; see the module docstring."""

    def __init__(self, params: CompiledParams) -> None:
        """Build from parameters (`CompiledParams.from_pipeline` or `classifier.export`)."""
        params.validate()
        self.params = params
        self.classes: list[str] = list(params.classes)
        self.method: str = params.method
        self._text = [
            _TextColumn(
                column=col.column,
                offset=col.offset,
                vocabulary=col.vocabulary,
                idf_values=[float(v) for v in col.idf],
                count_terms=term_counter(col),
            )
            for col in params.text
        ]
        self._categorical = [
            _CategoricalColumns(
                columns=group.columns,
                positions=tuple({v: i for i, v in enumerate(cats)} for cats in group.categories),
                offset=group.offset,
            )
            for group in params.categorical
        ]
        self._coef_t = np.ascontiguousarray(params.coef_t, dtype=np.float64)
        self._intercept = params.intercept

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> CompiledModel:
        """Compile a fitted pipeline; raise NotCompilable when its shape is not supported."""
        return cls(CompiledParams.from_pipeline(pipeline))

    def _row(self, record: dict[str, str]) -> tuple[list[int], list[float]]:
        indices: list[int] = []
        values: list[float] = []
        log = math.log
        for col in self._text:
            doc = record.get(col.column, "")
            vocabulary = col.vocabulary
            idf = col.idf_values
            # Terms in order of first occurrence (as the pipeline sums them), counted in C.
            columns: list[int] = []
            weights: list[float] = []
            for token, n in col.count_terms(doc).items():
                j = vocabulary.get(token)
                if j is not None:
                    columns.append(j)
                    weights.append((1.0 + log(n)) * idf[j])
            if not columns:
                continue
            norm = math.sqrt(sum([w * w for w in weights]))
            if norm == 0.0:
                continue
            offset = col.offset
            indices.extend([offset + j for j in columns])
            values.extend([w / norm for w in weights])
        for group in self._categorical:
            base = group.offset
            for name, positions in zip(group.columns, group.positions, strict=True):
                position = positions.get(record.get(name, ""))
                if position is not None:
                    indices.append(base + position)
                    values.append(1.0)
                base += len(positions)
        return indices, values

    def decision_function(self, records: Sequence[dict[str, str]]) -> FloatMatrix:
        """The linear model's scores, one row per record."""
        out = np.empty((len(records), len(self.classes)), dtype=np.float64)
        for i, record in enumerate(records):
            indices, values = self._row(record)
            if indices:
                out[i] = np.asarray(values) @ self._coef_t[indices] + self._intercept
            else:
                out[i] = self._intercept
        return out

    def predict_proba(self, records: Sequence[dict[str, str]]) -> FloatMatrix:
        """Calibrated probabilities, columns in `classes` order, rows in record order."""
        scores = self.decision_function(records)
        params = self.params
        if self.method == "temperature":
            assert params.beta is not None  # validate() checked it
            z = params.beta * scores
            z -= z.max(axis=1, keepdims=True)
            proba = np.exp(z)
            proba /= proba.sum(axis=1, keepdims=True)
        else:
            if self.method == "sigmoid":
                assert params.sigmoid_a is not None and params.sigmoid_b is not None
                proba = _expit(-(params.sigmoid_a * scores + params.sigmoid_b))
            else:
                assert params.isotonic is not None
                proba = np.column_stack(
                    [np.interp(scores[:, k], x, y) for k, (x, y) in enumerate(params.isotonic)]
                )
            total = proba.sum(axis=1, keepdims=True)
            uniform = np.full_like(proba, 1.0 / proba.shape[1])
            proba = np.divide(proba, total, out=uniform, where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

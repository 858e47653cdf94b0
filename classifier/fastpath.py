"""A compiled form of the fitted pipeline for fast prediction of one or a few logs.

scikit-learn's per-call input validation costs about 6 ms for one row through a
ColumnTransformer with eight transformers and a calibrated model, thirty times the actual
arithmetic; at the product's target of 500 logs/s per core (parse included) that is the whole
budget. `CompiledModel` reads the fitted attributes once (each vectorizer's analyzer,
vocabulary and idf weights, the one-hot categories, the linear model's coefficients and the
calibrators' parameters) and recomputes exactly what the pipeline computes:

    tf-idf per text column: counts -> 1 + log(count) -> * idf -> l2-normalize
    one-hot per categorical column (unknown categories: all zeros)
    decision = x @ coef.T + intercept
    calibrate: sigmoid 1/(1+exp(a*d+b)) or isotonic (piecewise linear, clipped) per class,
               then normalize; or temperature: softmax(beta * d)

Only the shapes this project builds are supported (`classifier.pipeline.make_pipeline` with
`ensemble=False`); anything else raises `NotCompilable` and callers use the pipeline itself.
The trainer checks that both give the same probabilities and records the largest
difference in the manifest; a test does the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from classifier.features import FEATURE_COLUMNS

FloatMatrix = npt.NDArray[np.float64]


class NotCompilable(ValueError):
    """The fitted pipeline has a shape the fast path does not reproduce."""


@dataclass(frozen=True)
class _TextColumn:
    column: str
    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]
    offset: int
    # `idf` as Python floats: indexing a list is much cheaper than indexing an array.
    idf_values: list[float]
    # The analyzer's terms of a document, counted, in order of first occurrence.
    count_terms: Callable[[str], Counter[str]]


def _term_counter(transformer: Any) -> Callable[[str], Counter[str]]:
    """`Counter(analyzer(doc))` for a fitted vectorizer, without sklearn's per-call layers.

    The shortcut covers word uni- and bigrams without stop words (what the pipeline builds):
    the tokens, then each pair of neighbours joined by a space, exactly as
    `_VectorizerMixin._word_ngrams` lists them. Anything else goes through the analyzer.
    """
    analyzer = transformer.build_analyzer()

    def generic(doc: str) -> Counter[str]:
        return Counter(analyzer(doc))

    low, high = transformer.ngram_range
    if (
        transformer.analyzer != "word"
        or transformer.input != "content"
        or transformer.get_stop_words() is not None
        or low != 1
        or high not in (1, 2)
    ):
        return generic
    preprocess = transformer.build_preprocessor()
    tokenize = transformer.build_tokenizer()
    space_join = " ".join

    def fast(doc: str) -> Counter[str]:
        if not isinstance(doc, str):
            return generic(doc)
        tokens = tokenize(preprocess(doc))
        counts = Counter(tokens)
        if high == 2 and len(tokens) > 1:
            counts.update(map(space_join, pairwise(tokens)))
        return counts

    return fast


@dataclass(frozen=True)
class _CategoricalColumns:
    columns: tuple[str, ...]
    positions: tuple[dict[str, int], ...]
    offset: int


class CompiledModel:
    """The pipeline's arithmetic without its per-call validation; see the module docstring."""

    def __init__(self, pipeline: Any) -> None:
        """Read the fitted pipeline; raise NotCompilable when its shape is not supported."""
        try:
            features = pipeline.named_steps["features"]
            clf = pipeline.named_steps["clf"]
        except (AttributeError, KeyError) as exc:
            raise NotCompilable("not a features+clf pipeline") from exc
        self.classes: list[str] = [str(c) for c in pipeline.classes_]
        self._text: list[_TextColumn] = []
        self._categorical: list[_CategoricalColumns] = []
        width = 0
        for name, transformer, columns in features.transformers_:
            if name == "remainder":
                continue
            span = features.output_indices_[name]
            width = max(width, span.stop)
            kind = type(transformer).__name__
            if kind == "TfidfVectorizer":
                if not isinstance(columns, int | np.integer):
                    raise NotCompilable(f"text column {name} is not a single column")
                if transformer.norm != "l2" or not transformer.sublinear_tf:
                    raise NotCompilable(f"{name}: only sublinear tf with l2 norm is compiled")
                self._text.append(
                    _TextColumn(
                        column=FEATURE_COLUMNS[int(columns)],
                        analyzer=transformer.build_analyzer(),
                        vocabulary=dict(transformer.vocabulary_),
                        idf=np.asarray(transformer.idf_, dtype=np.float64),
                        offset=span.start,
                        count_terms=_term_counter(transformer),
                        idf_values=[
                            float(v) for v in np.asarray(transformer.idf_, dtype=np.float64)
                        ],
                    )
                )
            elif kind == "OneHotEncoder":
                if transformer.drop is not None or getattr(
                    transformer, "_infrequent_enabled", False
                ):
                    raise NotCompilable(f"{name}: drop/infrequent categories are not compiled")
                self._categorical.append(
                    _CategoricalColumns(
                        columns=tuple(FEATURE_COLUMNS[int(c)] for c in columns),
                        positions=tuple(
                            {str(v): i for i, v in enumerate(cats)}
                            for cats in transformer.categories_
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
        if coef.shape[1] != width or len(self.classes) < 3:
            raise NotCompilable("coefficients do not match the features, or binary problem")
        inner_classes = [str(c) for c in estimator.classes_]
        # Temperature scaling fits the estimator on label-encoded targets (0..k-1).
        encoded = [str(i) for i in range(len(self.classes))]
        if inner_classes not in (self.classes, encoded):
            raise NotCompilable("the estimator lacks some classes")
        # Row j of coef_t is feature j's contribution to every class: gathered per log.
        self._coef_t = np.ascontiguousarray(coef.T)
        self._intercept = np.asarray(estimator.intercept_, dtype=np.float64)
        self.method: str = inner.method
        if self.method == "sigmoid":
            self._a = np.array([c.a_ for c in inner.calibrators], dtype=np.float64)
            self._b = np.array([c.b_ for c in inner.calibrators], dtype=np.float64)
        elif self.method == "isotonic":
            self._iso = [
                (np.asarray(c.X_thresholds_), np.asarray(c.y_thresholds_))
                for c in inner.calibrators
            ]
        elif self.method == "temperature":
            self._beta = float(inner.calibrators[0].beta_)
        else:
            raise NotCompilable(f"calibration {self.method!r} is not compiled")
        if self.method != "temperature" and len(inner.calibrators) != len(self.classes):
            raise NotCompilable("one calibrator per class expected")

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
        if self.method == "temperature":
            z = self._beta * scores
            z -= z.max(axis=1, keepdims=True)
            proba = np.exp(z)
            proba /= proba.sum(axis=1, keepdims=True)
        else:
            if self.method == "sigmoid":
                proba = expit(-(self._a * scores + self._b))
            else:
                proba = np.column_stack(
                    [np.interp(scores[:, k], x, y) for k, (x, y) in enumerate(self._iso)]
                )
            total = proba.sum(axis=1, keepdims=True)
            uniform = np.full_like(proba, 1.0 / proba.shape[1])
            proba = np.divide(proba, total, out=uniform, where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

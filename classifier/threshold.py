"""The abstention threshold: when the model's answer is good enough to give.

Criterion (documented in the manifest as `threshold_criterion`): the **lowest** probability
threshold `t` such that, on validation data, the model's answers with top probability >= t
are right at least `target_precision` of the time (default 0.95). A wrong root cause costs an
operator more than "unknown, here is what to collect", so precision is fixed and coverage is
what the threshold buys; among thresholds that meet the target the lowest answers most logs.

An answer is the top label when it is not `unknown` (predicting `unknown` is an abstention,
never a wrong answer); it is right when it equals the true label, or when it is the true
label's *fallback*: the generic (category-level) entry of a specific root cause's category.
That answer is what the combination rule gives when no specific cause is supported; it is
less precise but not wrong, and counting it as wrong would push the threshold up until the
model never answers for bugs it has not seen (which is most of a grouped evaluation).
When no threshold meets the target, the one with the best precision is taken (ties: the
lowest) and `met` is False, so the report can say so. `floor` keeps the threshold away from
near-uniform probabilities, where a small validation set would make any precision figure
noise.

The **category threshold** (`choose_category_threshold`) applies the same criterion to
category-level answers, which the combination rule gives when no signature matched and no
root cause reaches the threshold: the answer is the most probable category other than
`unknown` (`unknown` is never given as an answer), its score the summed probability of the
category's entries, and it is right when it is the true label's category. Root causes have
few examples each, so their threshold ends up high; categories are much easier, and gating
them by the root-cause threshold would make the model never name a category either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

UNKNOWN = "unknown"
DEFAULT_TARGET_PRECISION = 0.95
DEFAULT_FLOOR = 0.2
# Used when a model is saved without evaluation (quick experiments): the combination rule's
# own default.
DEFAULT_THRESHOLD = 0.5

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and what it gives on the data it was chosen on."""

    threshold: float
    precision: float  # of the answers given at the threshold
    coverage: float  # share of all samples that get an answer at the threshold
    met: bool  # whether `precision` reaches the target
    target_precision: float

    def criterion(self) -> str:
        """A one-line description for manifests and reports."""
        return (
            f"lowest top-probability threshold >= floor whose answers (top label not "
            f"'{UNKNOWN}') reach precision >= {self.target_precision:.2f} on grouped "
            "out-of-fold validation predictions; the generic entry of the true root cause's "
            "category counts as right"
        )


@dataclass(frozen=True)
class CategoryThresholdChoice(ThresholdChoice):
    """A threshold on category-level answers (summed probability of the top category)."""

    def criterion(self) -> str:
        """A one-line description for manifests and reports."""
        return (
            "lowest threshold >= floor on the summed probability of the top category other "
            f"than '{UNKNOWN}' whose category answers reach precision >= "
            f"{self.target_precision:.2f} on grouped out-of-fold validation predictions"
        )


def top_answers(
    probabilities: npt.NDArray[np.float64], labels: Sequence[str]
) -> tuple[list[str], FloatArray]:
    """The top label and its probability for each row of a probability matrix."""
    best = probabilities.argmax(axis=1)
    return [labels[i] for i in best], probabilities[np.arange(len(best)), best]


def precision_coverage(
    top_prob: FloatArray, correct: BoolArray, answered: BoolArray, threshold: float
) -> tuple[float, float]:
    """(precision of the given answers, share of samples answered) at `threshold`."""
    given = answered & (top_prob >= threshold)
    n_given = int(given.sum())
    precision = float(correct[given].mean()) if n_given else 1.0
    coverage = n_given / len(top_prob) if len(top_prob) else 0.0
    return precision, coverage


def is_right(answer: str, truth: str, fallbacks: Mapping[str, str] | None = None) -> bool:
    """Whether `answer` is right for `truth`: the same id, or `truth`'s fallback entry."""
    return answer == truth or (fallbacks is not None and fallbacks.get(truth) == answer)


def choose_threshold(
    top_labels: Sequence[str],
    top_prob: FloatArray,
    true_labels: Sequence[str],
    *,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    floor: float = DEFAULT_FLOOR,
    fallbacks: Mapping[str, str] | None = None,
) -> ThresholdChoice:
    """Choose the abstention threshold by the criterion in the module docstring.

    `fallbacks` maps a specific root-cause id to its category's generic entry id (None: only
    exact answers are right).
    """
    prob = np.asarray(top_prob, dtype=np.float64)
    answered = np.array([label != UNKNOWN for label in top_labels], dtype=bool)
    correct = np.array(
        [is_right(p, t, fallbacks) for p, t in zip(top_labels, true_labels, strict=True)],
        dtype=bool,
    )
    candidates = sorted({floor, *(float(p) for p in prob[answered] if p >= floor)})
    best: ThresholdChoice | None = None
    for threshold in candidates:  # ascending: the first that meets the target is the lowest
        precision, coverage = precision_coverage(prob, correct, answered, threshold)
        if coverage == 0.0:
            break
        choice = ThresholdChoice(
            threshold, precision, coverage, precision >= target_precision, target_precision
        )
        if choice.met:
            return choice
        if best is None or precision > best.precision:
            best = choice
    if best is None:  # no answers at all: nothing to measure, keep the floor
        return ThresholdChoice(floor, 1.0, 0.0, False, target_precision)
    return best


def top_categories(
    probabilities: npt.NDArray[np.float64],
    labels: Sequence[str],
    label_categories: Mapping[str, str],
) -> tuple[list[str], FloatArray]:
    """The most probable category other than `unknown` and its summed probability, per row.

    A label missing from `label_categories` counts as `unknown` (as in the combination rule).
    """
    matrix = np.asarray(probabilities, dtype=np.float64)
    categories = sorted({label_categories.get(label, UNKNOWN) for label in labels} - {UNKNOWN})
    if not categories or matrix.shape[0] == 0:
        return [UNKNOWN] * matrix.shape[0], np.zeros(matrix.shape[0], dtype=np.float64)
    index = {category: i for i, category in enumerate(categories)}
    summed = np.zeros((matrix.shape[0], len(categories)), dtype=np.float64)
    for column, label in enumerate(labels):
        category = label_categories.get(label, UNKNOWN)
        if category != UNKNOWN:
            summed[:, index[category]] += matrix[:, column]
    best = summed.argmax(axis=1)
    return [categories[i] for i in best], summed[np.arange(len(best)), best]


def choose_category_threshold(
    probabilities: npt.NDArray[np.float64],
    labels: Sequence[str],
    true_labels: Sequence[str],
    label_categories: Mapping[str, str],
    *,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    floor: float = DEFAULT_FLOOR,
) -> ThresholdChoice:
    """The category-level threshold: `choose_threshold`'s criterion applied to categories.

    See the module docstring; a sample whose true label is `unknown` (or of the `unknown`
    category) makes any category answer wrong.
    """
    top, prob = top_categories(probabilities, labels, label_categories)
    truth = [label_categories.get(label, UNKNOWN) for label in true_labels]
    choice = choose_threshold(
        top, prob, truth, target_precision=target_precision, floor=floor, fallbacks=None
    )
    return CategoryThresholdChoice(
        choice.threshold, choice.precision, choice.coverage, choice.met, choice.target_precision
    )

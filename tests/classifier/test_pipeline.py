"""The pipeline fits on a tiny corpus and names the right root cause for unseen variants."""

from __future__ import annotations

import numpy as np

from classifier.dataset import Dataset
from classifier.evaluate import ModelConfig, fit_pipeline
from classifier.pipeline import TEXT_COLUMN_SPECS, make_pipeline


def test_step_names_are_stable() -> None:
    pipeline = make_pipeline()
    assert [name for name, _ in pipeline.steps] == ["features", "clf"]
    names = [name for name, _, _ in pipeline.named_steps["features"].transformers]
    assert names == [*TEXT_COLUMN_SPECS, "categorical"]


def test_held_out_variants_get_the_right_label(
    tiny_dataset: Dataset, variant_split: tuple[np.ndarray, np.ndarray]
) -> None:
    train, test = variant_split
    pipeline = fit_pipeline(
        tiny_dataset, train, tiny_dataset.split_groups(), ModelConfig(min_df=1), seed=0
    )
    proba = pipeline.predict_proba(tiny_dataset.matrix(test))
    assert np.allclose(proba.sum(axis=1), 1.0)
    predicted = pipeline.classes_[proba.argmax(axis=1)]
    accuracy = float(np.mean(predicted == tiny_dataset.labels[test]))
    assert accuracy >= 0.9, list(zip(predicted, tiny_dataset.labels[test], strict=True))
    # The fold index lists used for calibration are not kept in the fitted model.
    assert isinstance(pipeline.named_steps["clf"].cv, int)

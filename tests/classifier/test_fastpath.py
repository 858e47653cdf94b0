"""The compiled predictor gives the pipeline's probabilities, for every calibration method."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from classifier.dataset import Dataset
from classifier.evaluate import ModelConfig, fit_pipeline
from classifier.fastpath import CompiledModel, NotCompilable, _expit
from classifier.features import empty_record, records_to_matrix
from classifier.pipeline import make_pipeline


@pytest.mark.parametrize(
    ("model", "calibration"),
    [("svc", "sigmoid"), ("svc", "isotonic"), ("svc", "temperature"), ("logreg", "sigmoid")],
)
def test_same_probabilities_as_the_pipeline(
    tiny_dataset: Dataset, model: Any, calibration: Any
) -> None:
    everything = np.arange(len(tiny_dataset), dtype=np.int64)
    config = ModelConfig(model=model, calibration=calibration, min_df=1)
    pipeline = fit_pipeline(tiny_dataset, everything, tiny_dataset.split_groups(), config, 0)
    odd = empty_record()
    odd["crash_type"] = "never-seen-category"
    records = [*tiny_dataset.records, odd, empty_record()]
    expected = pipeline.predict_proba(records_to_matrix(records))
    got = CompiledModel.from_pipeline(pipeline).predict_proba(records)
    assert got.shape == expected.shape
    # The pipeline computes tf-idf in float32; the compiled form in float64.
    assert np.abs(got - expected).max() < 1e-6


def test_unfitted_or_foreign_pipelines_are_refused() -> None:
    with pytest.raises((NotCompilable, AttributeError)):
        CompiledModel.from_pipeline(make_pipeline())
    with pytest.raises(NotCompilable):
        CompiledModel.from_pipeline(object())


def test_expit_matches_scipy_without_overflow() -> None:
    from scipy.special import expit

    x = np.concatenate([np.linspace(-800.0, 800.0, 2001), [0.0, -1e-300, 1e-300]])
    with np.errstate(over="raise"):
        got = _expit(x.reshape(1, -1))
    assert np.abs(got - expit(x)).max() < 1e-15

"""Artifacts round-trip, and the loader refuses what it must not load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from classifier import artifact
from classifier.artifact import (
    MANIFEST_FILE,
    MODEL_FILE,
    ModelMismatchError,
    default_model_dir,
    load_model,
    save_model,
)
from classifier.dataset import Dataset
from classifier.evaluate import ModelConfig, fit_pipeline


@pytest.fixture(scope="module")
def fitted(tiny_dataset: Dataset) -> Any:
    everything = np.arange(len(tiny_dataset), dtype=np.int64)
    return fit_pipeline(
        tiny_dataset, everything, tiny_dataset.split_groups(), ModelConfig(min_df=1), seed=0
    )


@pytest.fixture
def saved(fitted: Any, tmp_path: Path) -> Path:
    save_model(
        fitted,
        tmp_path / "model",
        labels=[str(c) for c in fitted.classes_],
        label_categories={},
        kb_version="kb-test",
        corpus_sha256="0" * 64,
        threshold=0.42,
        metrics={"test_accuracy": 1.0},
        extra={"signature_precision": {"stable": 0.97}},
    )
    return tmp_path / "model"


def _edit_manifest(directory: Path, **changes: Any) -> None:
    path = directory / MANIFEST_FILE
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if key in ("python", "sklearn"):
            data["runtime"][key] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_round_trip(saved: Path, fitted: Any, tiny_dataset: Dataset) -> None:
    model = load_model(saved)
    assert model.threshold == 0.42 and model.kb_version == "kb-test"
    assert model.version.startswith("clf-")
    assert model.signature_precision == {"stable": 0.97}
    reports = tiny_dataset.reports[:5]
    got = model.predict_proba(reports)
    expected = fitted.predict_proba(tiny_dataset.matrix(np.arange(5)))
    for row, probs in zip(expected, got, strict=True):
        assert list(probs) == model.labels
        assert np.allclose(row, list(probs.values()))
    assert model.predict_proba([]) == []
    assert len(model.predict_proba([None], ["no crash here"])) == 1


def test_tampered_model_is_refused_before_unpickling(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (saved / MODEL_FILE).open("ab") as handle:
        handle.write(b"\0")

    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("joblib.load must not run on an unverified file")

    monkeypatch.setattr(joblib, "load", boom)
    with pytest.raises(ModelMismatchError, match="sha256"):
        load_model(saved)


def test_other_sklearn_version_is_refused(saved: Path) -> None:
    _edit_manifest(saved, sklearn="0.24.2")
    with pytest.raises(ModelMismatchError, match=r"scikit-learn 0\.24\.2"):
        load_model(saved)


def test_other_python_version_is_refused(saved: Path) -> None:
    _edit_manifest(saved, python="3.9.18")
    with pytest.raises(ModelMismatchError, match=r"Python 3\.9\.18"):
        load_model(saved)


def test_changed_feature_columns_are_refused(saved: Path) -> None:
    data = json.loads((saved / MANIFEST_FILE).read_text())
    _edit_manifest(saved, feature_columns=data["feature_columns"][:-1])
    with pytest.raises(ModelMismatchError, match="feature columns"):
        load_model(saved)


def test_missing_artifact_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")


def test_model_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PANICDX_MODEL_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path
    monkeypatch.delenv("PANICDX_MODEL_DIR")
    assert default_model_dir() == artifact.DEFAULT_MODEL_DIR


def test_saved_file_is_a_plain_joblib_pickle(saved: Path) -> None:
    assert hasattr(joblib.load(saved / MODEL_FILE), "predict_proba")

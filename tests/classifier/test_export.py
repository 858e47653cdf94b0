"""The plain-data export: same probabilities as the pipeline, loaded without scikit-learn.

Covers what serving relies on: `load_model` reads `compiled.npz` + `compiled.json` when the
manifest says the export is verified, imports neither scikit-learn, scipy nor joblib doing so
(checked in a fresh interpreter), refuses an export whose sha256 is not the manifest's, and
still loads an artifact without an export through the pickle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from classifier.artifact import (
    DEFAULT_MODEL_DIR,
    MANIFEST_FILE,
    MODEL_FILE,
    ModelMismatchError,
    load_model,
    save_model,
)
from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus
from classifier.dataset import Dataset, featurize
from classifier.evaluate import ModelConfig, fit_pipeline
from classifier.export import ARRAYS_FILE, SPEC_FILE, read_export, round_trip
from classifier.fastpath import CompiledModel, CompiledParams, term_counter
from classifier.features import records_to_matrix
from classifier.train import FASTPATH_TOLERANCE, check_fastpath

REPO = Path(__file__).resolve().parents[2]
HEAVY = {"sklearn", "scipy", "joblib", "pandas", "matplotlib"}


@pytest.fixture(scope="module")
def fitted(tiny_dataset: Dataset) -> Any:
    everything = np.arange(len(tiny_dataset), dtype=np.int64)
    return fit_pipeline(
        tiny_dataset, everything, tiny_dataset.split_groups(), ModelConfig(min_df=1), seed=0
    )


def _save(pipeline: Any, directory: Path, *, verified: bool = True) -> Path:
    save_model(
        pipeline,
        directory,
        labels=[str(c) for c in pipeline.classes_],
        label_categories={},
        kb_version="kb-test",
        corpus_sha256="0" * 64,
        threshold=0.42,
        metrics={},
        extra={"fastpath_verified": verified},
    )
    return directory


@pytest.fixture
def saved(fitted: Any, tmp_path: Path) -> Path:
    return _save(fitted, tmp_path / "model")


def _edit_manifest(directory: Path, **changes: Any) -> None:
    path = directory / MANIFEST_FILE
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _forbid_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("joblib.load must not run")

    monkeypatch.setattr(joblib, "load", boom)


def test_manifest_records_the_export(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    entry = manifest["compiled"]
    assert entry["format"] == 1
    assert set(entry["files"]) == {ARRAYS_FILE, SPEC_FILE}
    assert all(len(sha) == 64 for sha in entry["files"].values())
    spec = json.loads((saved / SPEC_FILE).read_text())
    assert spec["classes"] == manifest["labels"]
    assert [c["column"] for c in spec["text_columns"]] == manifest["text_columns"]
    # No object arrays: the archive loads with pickling disabled.
    with np.load(saved / ARRAYS_FILE, allow_pickle=False) as npz:
        assert all(npz[key].dtype == np.float64 for key in npz.files)


def test_load_model_uses_the_export_without_unpickling(
    saved: Path, fitted: Any, tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid_unpickling(monkeypatch)
    model = load_model(saved)
    assert model.compiled is not None
    records = tiny_dataset.records
    got = np.array([list(p.values()) for p in model.predict_proba_records(records)])
    expected = fitted.predict_proba(records_to_matrix(records))
    assert np.abs(got - expected).max() <= FASTPATH_TOLERANCE


def test_pipeline_is_unpickled_lazily_and_verified(saved: Path, fitted: Any) -> None:
    model = load_model(saved)
    assert model._pipeline is None
    assert list(model.pipeline.classes_) == list(fitted.classes_)
    # A pickle swapped after loading is still refused when the pipeline is first asked for.
    again = load_model(saved)
    with (saved / MODEL_FILE).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelMismatchError, match="sha256"):
        _ = again.pipeline


@pytest.mark.parametrize("name", [ARRAYS_FILE, SPEC_FILE])
def test_tampered_export_is_refused(
    saved: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid_unpickling(monkeypatch)
    with (saved / name).open("ab") as handle:
        handle.write(b" ")
    with pytest.raises(ModelMismatchError, match=rf"{name}: sha256"):
        load_model(saved)


def test_manifest_without_the_export_loads_the_pickle(saved: Path, fitted: Any) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    del manifest["compiled"]
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    (saved / ARRAYS_FILE).unlink()
    (saved / SPEC_FILE).unlink()
    model = load_model(saved)
    assert model._pipeline is not None  # loaded through joblib
    assert model.compiled is not None  # compiled from the pipeline, as before the export


def test_export_files_missing_falls_back_to_the_pickle(saved: Path) -> None:
    # What a registry download of only model.joblib + manifest.json looks like.
    (saved / ARRAYS_FILE).unlink()
    model = load_model(saved)
    assert model._pipeline is not None and model.compiled is not None


def test_unverified_export_is_not_used(fitted: Any, tmp_path: Path) -> None:
    directory = _save(fitted, tmp_path / "model", verified=False)
    model = load_model(directory)
    assert model.compiled is None and model._pipeline is not None


def test_export_of_another_format_is_not_used(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    _edit_manifest(saved, compiled={**manifest["compiled"], "format": 99})
    assert load_model(saved)._pipeline is not None


def test_export_with_other_classes_is_refused(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    _edit_manifest(saved, labels=list(reversed(manifest["labels"])))
    with pytest.raises(ModelMismatchError, match="classes"):
        load_model(saved)


def test_round_trip_is_exact(fitted: Any, saved: Path) -> None:
    params = CompiledParams.from_pipeline(fitted)
    for other in (round_trip(params), read_export(saved)):
        assert other.classes == params.classes and other.method == params.method
        assert np.array_equal(other.coef_t, params.coef_t)
        assert np.array_equal(other.intercept, params.intercept)
        for a, b in zip(other.text, params.text, strict=True):
            assert a.vocabulary == b.vocabulary and np.array_equal(a.idf, b.idf)
            assert (a.token_pattern, a.ngram_max, a.offset) == (
                b.token_pattern,
                b.ngram_max,
                b.offset,
            )
        assert other.categorical == params.categorical


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic", "temperature"])
def test_every_calibration_survives_the_export(tiny_dataset: Dataset, calibration: Any) -> None:
    everything = np.arange(len(tiny_dataset), dtype=np.int64)
    config = ModelConfig(calibration=calibration, min_df=1)
    pipeline = fit_pipeline(tiny_dataset, everything, tiny_dataset.split_groups(), config, 0)
    diff = check_fastpath(pipeline, tiny_dataset)
    assert diff is not None and diff <= FASTPATH_TOLERANCE


DOCS = [
    "",
    "x",
    "BUG: unable to handle kernel NULL pointer dereference at 0000000000000010",
    "RIP: 0010:nv_dma_map+0x2f/0x60 [nvidia] EXT4-fs (sda1): mlx5_core drm.debug 42 4242",
    "Ünïcode Wörds and ÄÖÜ tokens, ß and Straße; 1 22 333 4444 a-b-c a..b _x_ -y",
    "same same same same\nsame\tsame",
]


def test_tokenizer_reproduces_the_vectorizer(fitted: Any) -> None:
    params = CompiledParams.from_pipeline(fitted)
    features = fitted.named_steps["features"]
    vectorizers = {name: t for name, t, _ in features.transformers_ if name != "remainder"}
    assert {col.ngram_max for col in params.text} == {1, 2}
    for col in params.text:
        analyzer = vectorizers[col.column].build_analyzer()
        count = term_counter(col)
        for doc in DOCS:
            expected = Counter(analyzer(doc))
            got = count(doc)
            assert got == expected
            assert list(got) == list(expected)  # same order: the pipeline sums in this order


def _fresh_python(code: str) -> dict[str, Any]:
    """Run `code` in a new interpreter from the repository; it prints one JSON line."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_loading_and_predicting_import_no_sklearn(saved: Path) -> None:
    code = f"""
import json, sys
from pathlib import Path
from classifier.artifact import load_model
model = load_model(Path({str(saved)!r}))
proba = model.predict_proba([None], ["Kernel panic - not syncing: Fatal exception"])
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))
print(json.dumps({{"compiled": model.compiled is not None, "heavy": heavy, "n": len(proba[0])}}))
"""
    data = _fresh_python(code)
    assert data == {"compiled": True, "heavy": [], "n": len(load_model(saved).labels)}


def test_diagnosing_a_log_imports_no_sklearn(saved: Path) -> None:
    log = REPO / "tests" / "classifier" / "logs" / "nfs-hung.log"
    code = f"""
import json, sys
from pathlib import Path
from service.diagnoser import Diagnoser
diagnoser = Diagnoser.load(Path({str(saved)!r}), require_model=True)
diagnosis = diagnoser.diagnose_text(Path({str(log)!r}).read_text())
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))
print(json.dumps({{"version": diagnosis.model.version, "heavy": heavy}}))
"""
    data = _fresh_python(code)
    assert data == {"version": load_model(saved).version, "heavy": []}


def test_control_the_pickle_path_does_import_sklearn(saved: Path) -> None:
    # Guards the two tests above: the same probe sees scikit-learn when the pickle is used.
    _edit_manifest(saved, fastpath_verified=False)
    code = f"""
import json, sys
from pathlib import Path
from classifier.artifact import load_model
load_model(Path({str(saved)!r}))
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert {"sklearn", "joblib"} <= set(json.loads(result.stdout))


@pytest.fixture(scope="module")
def corpus_records() -> Dataset:
    """A few hundred records of the default training corpus (built by `panicdx train`)."""
    if not DEFAULT_CORPUS_PATH.is_file():
        pytest.skip(f"no training corpus at {DEFAULT_CORPUS_PATH}: run `panicdx train`")
    samples = read_corpus(DEFAULT_CORPUS_PATH)
    step = max(1, len(samples) // 300)
    return featurize(samples[::step])


def test_default_model_export_matches_its_pipeline(corpus_records: Dataset) -> None:
    manifest_path = DEFAULT_MODEL_DIR / MANIFEST_FILE
    if not manifest_path.is_file() or "compiled" not in json.loads(manifest_path.read_text()):
        pytest.skip("the default model has no export: retrain with `panicdx train`")
    model = load_model(DEFAULT_MODEL_DIR)
    assert model.compiled is not None and model._pipeline is None
    records = corpus_records.records
    assert len(records) >= 200
    got = model.compiled.predict_proba(records)
    expected = model.pipeline.predict_proba(records_to_matrix(records))
    assert np.abs(got - expected).max() <= FASTPATH_TOLERANCE
    # And the export is what the pickle compiles to.
    assert np.array_equal(CompiledModel.from_pipeline(model.pipeline).predict_proba(records), got)

"""End to end on the tiny corpus: evaluate, choose the threshold, save, report, reload."""

from __future__ import annotations

from pathlib import Path

from classifier.artifact import load_model
from classifier.corpus import Sample, write_corpus
from classifier.evaluate import ModelConfig
from classifier.train import train_model


def test_train_model_writes_a_loadable_artifact_and_a_report(
    tiny_samples: list[Sample], tmp_path: Path
) -> None:
    corpus = write_corpus(tiny_samples, tmp_path / "corpus.jsonl.gz")
    artifact = train_model(
        corpus,
        tmp_path / "model",
        config=ModelConfig(min_df=1),
        report_path=tmp_path / "evaluation.md",
    )
    manifest = artifact.manifest
    assert 0.0 < manifest["threshold"] <= 1.0
    assert "precision" in manifest["threshold_criterion"]
    assert manifest["fastpath_verified"] is True
    assert set(manifest["metrics"]) >= {"test_accuracy", "baseline_test_accuracy"}
    report = (tmp_path / "evaluation.md").read_text()
    assert "Model vs baseline" in report and "most-frequent baseline" in report
    model = load_model(tmp_path / "model")
    assert model.compiled is not None
    assert model.version == artifact.version

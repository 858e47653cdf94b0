"""`train_with_labels` with cross-validation: thresholds chosen on the training part, report."""

from __future__ import annotations

import json
from pathlib import Path

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus, write_corpus
from classifier.labels import KnownCauses, make_label
from classifier.learn import ActiveRecipe, train_with_labels

REALWORLD = Path(__file__).parents[1] / "realworld" / "logs"


def test_cross_validated_training_writes_thresholds_and_report(tmp_path: Path) -> None:
    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < 1]
    corpus = write_corpus(samples, tmp_path / "corpus.jsonl.gz")
    known = KnownCauses.from_knowledge_base()
    text = (REALWORLD / "null-deref-arm64-vm-interleaved-console.log").read_text(errors="replace")
    labels = [make_label(text, "generic-null-deref", known=known)] * 3
    result = train_with_labels(
        labels,
        tmp_path / "model",
        active=ActiveRecipe("built-in", 0.9, 0.5),
        corpus_path=corpus,
        cross_validate=True,
    )
    cv = result.metrics["cross_validation"]
    assert cv["folds"] == 3 and 0.0 < cv["threshold"]["value"] <= 1.0
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["threshold"] == cv["threshold"]["value"]
    assert manifest["category_threshold"] == cv["category_threshold"]["value"]
    # Three copies of one bug are one labelled panic.
    assert result.metrics["training"]["unique_labels"] == 1 == manifest["labelled_panics"]
    report = result.report_path.read_text(encoding="utf-8")
    assert "## Cross-validation on the training part" in report
    assert "Grouped 3-fold out-of-fold predictions" in report

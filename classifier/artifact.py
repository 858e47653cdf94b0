"""A model artifact: `model.joblib` plus `manifest.json`, and a loader that refuses mismatches.

joblib (pickle) runs code when it loads, so the loader only unpickles a file whose sha256 is
the one the project's trainer recorded in the manifest, and checks that hash *before*
calling `joblib.load`. It also refuses an artifact built by another Python or scikit-learn
(major.minor): pickles of estimators are not portable across versions and can fail silently
with wrong predictions, not just loudly. And it refuses one whose feature columns differ from
`classifier.features`, since the model would then be fed a different feature space than it
was trained on (CONVENTIONS 12).

The hash check protects against a damaged or swapped model file; it is not a signature: whoever
can write the manifest can write the model too. Load models only from directories the project
itself wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from classifier.fastpath import CompiledModel, NotCompilable
from classifier.features import (
    FEATURE_CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_TEXT_COLUMNS,
    feature_record,
    records_to_matrix,
)
from vmcore_parsers.report import PanicReport

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
MODEL_DIR_ENV = "PANICDX_MODEL_DIR"
DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "default"


class ModelMismatchError(RuntimeError):
    """The artifact cannot be used by this installation; the message says why and what to do."""


def default_model_dir() -> Path:
    """`$PANICDX_MODEL_DIR` when set, else the package's `models/default/`."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env) if env else DEFAULT_MODEL_DIR


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def runtime_versions() -> dict[str, str]:
    """The versions an artifact depends on, for the manifest and the load-time check."""
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelArtifact:
    """Where an artifact was written and its manifest."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        """The model version string."""
        return str(self.manifest["version"])


def save_model(
    pipeline: Any,
    out_dir: Path,
    *,
    labels: Sequence[str],
    label_categories: Mapping[str, str],
    kb_version: str,
    corpus_sha256: str,
    threshold: float,
    metrics: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> ModelArtifact:
    """Write `model.joblib` and `manifest.json` into `out_dir` (created if needed).

    The model file is written first and the manifest last, each through a temporary file and
    a rename, so a reader never sees a manifest that describes a half-written model.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    tmp_model = out_dir / (MODEL_FILE + ".tmp")
    # Light compression: the vocabulary compresses well and zlib level 3 keeps load fast.
    joblib.dump(pipeline, tmp_model, compress=("zlib", 3))
    model_sha = sha256_file(tmp_model)
    os.replace(tmp_model, model_path)
    created = dt.datetime.now(dt.UTC)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": f"clf-{created:%Y%m%d%H%M%S}-{model_sha[:8]}",
        "created": created.isoformat(timespec="seconds"),
        "runtime": runtime_versions(),
        "model_file": MODEL_FILE,
        "model_sha256": model_sha,
        "labels": list(labels),
        "label_categories": dict(label_categories),
        "feature_columns": list(FEATURE_COLUMNS),
        "text_columns": list(FEATURE_TEXT_COLUMNS),
        "categorical_columns": list(FEATURE_CATEGORICAL_COLUMNS),
        "kb_version": kb_version,
        "corpus_sha256": corpus_sha256,
        "threshold": threshold,
        "metrics": dict(metrics),
    }
    manifest.update(extra or {})
    tmp_manifest = out_dir / (MANIFEST_FILE + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_manifest, out_dir / MANIFEST_FILE)
    return ModelArtifact(out_dir, manifest)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of the artifact in `directory`; FileNotFoundError when there is none."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no model manifest at {path}: run `panicdx train` to build one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelMismatchError(f"{path}: unreadable manifest ({exc}); retrain") from exc
    if not isinstance(data, dict):
        raise ModelMismatchError(f"{path}: the manifest is not a JSON object; retrain")
    return data


def check_manifest(manifest: Mapping[str, Any], where: Path) -> None:
    """Raise ModelMismatchError when this installation must not use the artifact."""
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ModelMismatchError(
            f"{where}: manifest format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}; "
            "retrain with `panicdx train`"
        )
    runtime = manifest.get("runtime") or {}
    here = runtime_versions()
    for key, name in (("python", "Python"), ("sklearn", "scikit-learn")):
        built = str(runtime.get(key, "?"))
        if _major_minor(built) != _major_minor(here[key]):
            raise ModelMismatchError(
                f"{where}: the model was built with {name} {built}, this is {here[key]}; "
                "pickled models are not portable across versions: retrain with `panicdx train`"
            )
    columns = manifest.get("feature_columns")
    if columns != list(FEATURE_COLUMNS):
        raise ModelMismatchError(
            f"{where}: the model's feature columns {columns} differ from this version's "
            f"{list(FEATURE_COLUMNS)}; retrain with `panicdx train`"
        )
    for key in ("model_sha256", "labels", "version", "threshold"):
        if key not in manifest:
            raise ModelMismatchError(f"{where}: the manifest has no {key!r}; retrain")


@dataclass
class LoadedModel:
    """A verified, loaded model: calibrated probabilities over root-cause ids."""

    pipeline: Any
    manifest: dict[str, Any]
    directory: Path
    # The same model without scikit-learn's per-call overhead (None: not compilable, the
    # pipeline is used; both give the same probabilities, see `classifier.fastpath`).
    compiled: CompiledModel | None = None

    @property
    def version(self) -> str:
        """The model version string (`clf-<created>-<hash prefix>`)."""
        return str(self.manifest["version"])

    @property
    def kb_version(self) -> str:
        """The knowledge-base version the training corpus was built from."""
        return str(self.manifest.get("kb_version", "unknown"))

    @property
    def threshold(self) -> float:
        """The abstention threshold chosen on validation data."""
        return float(self.manifest["threshold"])

    @property
    def category_threshold(self) -> float:
        """The threshold for category-level answers (summed probability of a category).

        Chosen on validation data like `threshold`; a manifest written before it existed
        falls back to `threshold`.
        """
        value = self.manifest.get("category_threshold")
        return float(value) if value is not None else self.threshold

    @property
    def labels(self) -> list[str]:
        """The root-cause ids the model can answer (and `unknown`)."""
        return [str(label) for label in self.manifest["labels"]]

    @property
    def signature_precision(self) -> dict[str, float] | None:
        """Measured precision of signature decisions per entry status, when evaluated."""
        value = self.manifest.get("signature_precision")
        return {str(k): float(v) for k, v in value.items()} if value else None

    def predict_proba_records(self, records: Sequence[dict[str, str]]) -> list[dict[str, float]]:
        """Probabilities for feature records (see `classifier.features`), in input order."""
        if not records:
            return []
        if self.compiled is not None:
            matrix = self.compiled.predict_proba(records)
        else:
            matrix = self.pipeline.predict_proba(records_to_matrix(records))
        labels = self.labels
        return [{label: float(p) for label, p in zip(labels, row, strict=True)} for row in matrix]

    def predict_proba(
        self,
        reports: Sequence[PanicReport | None],
        texts: Sequence[str] | None = None,
    ) -> list[dict[str, float]]:
        """Calibrated probabilities per root-cause id for each report, in one batched call.

        A None report (no crash found) still gets probabilities, from the masked tail of its
        text when `texts` (the raw logs, same order) are given; callers usually abstain on
        those anyway.
        """
        if texts is not None and len(texts) != len(reports):
            raise ValueError("reports and texts must have the same length")
        records = [
            feature_record(report, texts[i] if texts is not None and report is None else None)
            for i, report in enumerate(reports)
        ]
        return self.predict_proba_records(records)


def load_model(directory: Path | None = None) -> LoadedModel:
    """Load and verify the artifact in `directory` (default: `default_model_dir()`).

    Raises FileNotFoundError when there is no artifact, ModelMismatchError when there is one
    this installation must not use (other Python/scikit-learn, other feature columns, a
    model file whose hash is not the manifest's).
    """
    directory = directory or default_model_dir()
    manifest = read_manifest(directory)
    check_manifest(manifest, directory)
    model_path = directory / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise FileNotFoundError(f"no model file at {model_path}: run `panicdx train`")
    # Verify before unpickling: joblib.load executes code from the file.
    actual = sha256_file(model_path)
    if actual != manifest["model_sha256"]:
        raise ModelMismatchError(
            f"{model_path}: sha256 {actual[:16]}... does not match the manifest's "
            f"{str(manifest['model_sha256'])[:16]}...; refusing to load it (retrain)"
        )
    pipeline = joblib.load(model_path)
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    if classes != [str(label) for label in manifest["labels"]]:
        raise ModelMismatchError(f"{model_path}: the model's classes differ from the manifest")
    compiled: CompiledModel | None = None
    # Only when the trainer checked that the compiled form agrees with the pipeline.
    if manifest.get("fastpath_verified"):
        try:
            compiled = CompiledModel(pipeline)
        except NotCompilable:
            compiled = None
    return LoadedModel(pipeline, manifest, directory, compiled)

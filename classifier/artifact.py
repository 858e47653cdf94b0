"""A model artifact: `model.joblib`, the compiled export and `manifest.json`; a checking loader.

The artifact holds the fitted scikit-learn pipeline (`model.joblib`) and, when the pipeline
compiles (`classifier.fastpath`), the same model as plain data (`compiled.npz` +
`compiled.json`, see `classifier.export`). Serving loads the plain data when the trainer
verified that it gives the pipeline's probabilities (`fastpath_verified`): that imports neither
scikit-learn, scipy nor joblib and unpickles nothing. The pickle is loaded only for artifacts
without a verified export (older ones, pipelines that do not compile), or when a caller asks
for `LoadedModel.pipeline` (training, evaluation, notebooks).

joblib (pickle) runs code when it loads, so the loader only unpickles a file whose sha256 is
the one the project's trainer recorded in the manifest, and checks that hash *before*
calling `joblib.load`; the export's files are checked the same way before they are parsed. It
also refuses a pickle built by another Python or scikit-learn (major.minor): pickles of
estimators are not portable across versions and can fail silently with wrong predictions,
not just loudly. And it refuses an artifact whose feature columns differ from
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
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.export import EXPORT_FILES, EXPORT_FORMAT, ExportError, read_export, save_export
from classifier.fastpath import CompiledModel, CompiledParams, NotCompilable
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
    """The versions an artifact depends on, for the manifest and the pickle's load-time check.

    Imports scikit-learn and joblib: call it only where they are needed anyway (saving, or
    unpickling).
    """
    import joblib
    import sklearn

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
    """Write `model.joblib`, the compiled export and `manifest.json` into `out_dir`.

    `out_dir` is created if needed. The model files are written first and the manifest last,
    each through a temporary file and a rename, so a reader never sees a manifest that
    describes a half-written model. The export is written when the pipeline compiles (its
    manifest entry is None otherwise); serving uses it only when `extra` says
    `fastpath_verified` (the trainer's `check_fastpath`).
    """
    import joblib

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    tmp_model = out_dir / (MODEL_FILE + ".tmp")
    # Light compression: the vocabulary compresses well and zlib level 3 keeps load fast.
    joblib.dump(pipeline, tmp_model, compress=("zlib", 3))
    model_sha = sha256_file(tmp_model)
    os.replace(tmp_model, model_path)
    compiled = _export_compiled(pipeline, out_dir)
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
        "compiled": compiled,
    }
    manifest.update(extra or {})
    tmp_manifest = out_dir / (MANIFEST_FILE + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_manifest, out_dir / MANIFEST_FILE)
    return ModelArtifact(out_dir, manifest)


def _export_compiled(pipeline: Any, out_dir: Path) -> dict[str, Any] | None:
    """Write the plain-data export of `pipeline`; its manifest entry (None: not compilable)."""
    for name in EXPORT_FILES:  # a stale export must not survive next to a new pickle
        (out_dir / name).unlink(missing_ok=True)
    try:
        params = CompiledParams.from_pipeline(pipeline)
    except NotCompilable:
        return None
    names = save_export(params, out_dir)
    return {"format": EXPORT_FORMAT, "files": {name: sha256_file(out_dir / name) for name in names}}


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


def check_manifest(manifest: Mapping[str, Any], where: Path, *, unpickling: bool = True) -> None:
    """Raise ModelMismatchError when this installation must not use the artifact.

    With `unpickling` False (the model is loaded from its plain-data export) the scikit-learn
    version is not checked: nothing of scikit-learn is loaded, and the export's arithmetic is
    this package's own. `check_pickle_runtime` does that check before any unpickling.
    """
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ModelMismatchError(
            f"{where}: manifest format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}; "
            "retrain with `panicdx train`"
        )
    runtime = manifest.get("runtime") or {}
    built = str(runtime.get("python", "?"))
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if _major_minor(built) != here:
        raise ModelMismatchError(
            f"{where}: the model was built with Python {built}, this is "
            f"{platform.python_version()}; retrain with `panicdx train`"
        )
    if unpickling:
        check_pickle_runtime(manifest, where)
    columns = manifest.get("feature_columns")
    if columns != list(FEATURE_COLUMNS):
        raise ModelMismatchError(
            f"{where}: the model's feature columns {columns} differ from this version's "
            f"{list(FEATURE_COLUMNS)}; retrain with `panicdx train`"
        )
    for key in ("model_sha256", "labels", "version", "threshold"):
        if key not in manifest:
            raise ModelMismatchError(f"{where}: the manifest has no {key!r}; retrain")


def check_pickle_runtime(manifest: Mapping[str, Any], where: Path) -> None:
    """Raise ModelMismatchError when the pickle was built by another scikit-learn (major.minor).

    Imports scikit-learn (to read its version): call it only on the way to unpickling.
    """
    built = str((manifest.get("runtime") or {}).get("sklearn", "?"))
    here = runtime_versions()["sklearn"]
    if _major_minor(built) != _major_minor(here):
        raise ModelMismatchError(
            f"{where}: the model was built with scikit-learn {built}, this is {here}; "
            "pickled models are not portable across versions: retrain with `panicdx train`"
        )


@dataclass
class LoadedModel:
    """A verified, loaded model: calibrated probabilities over root-cause ids.

    Predictions use `compiled` when there is one, else the scikit-learn pipeline. The
    pipeline itself (`pipeline`) is unpickled on first use when the model was loaded from its
    export, so serving never pays for it.
    """

    manifest: dict[str, Any]
    directory: Path
    # The same model without scikit-learn (None: not compilable or not verified, the pipeline
    # is used; both give the same probabilities, see `classifier.fastpath`).
    compiled: CompiledModel | None = None
    _pipeline: Any = field(default=None, repr=False)

    @property
    def pipeline(self) -> Any:
        """The fitted scikit-learn pipeline, unpickled (after its sha256 check) on first use.

        Raises FileNotFoundError / ModelMismatchError like `load_model` when the pickle is
        missing, was built by another scikit-learn, or is not the manifest's.
        """
        if self._pipeline is None:
            self._pipeline = load_pipeline(self.directory, self.manifest)
        return self._pipeline

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

    The verified plain-data export is used when the manifest names one and its files are
    there (no scikit-learn, no unpickling); otherwise the pickle, after its checks. Raises
    FileNotFoundError when there is no artifact, ModelMismatchError when there is one this
    installation must not use (other Python, other scikit-learn for a pickle, other feature
    columns, a file whose hash is not the manifest's).
    """
    directory = directory or default_model_dir()
    manifest = read_manifest(directory)
    if manifest.get("fastpath_verified") and export_present(directory, manifest):
        check_manifest(manifest, directory, unpickling=False)
        return LoadedModel(
            manifest, directory, CompiledModel(load_verified_export(directory, manifest))
        )
    check_manifest(manifest, directory)
    pipeline = load_pipeline(directory, manifest)
    compiled: CompiledModel | None = None
    # Only when the trainer checked that the compiled form agrees with the pipeline.
    if manifest.get("fastpath_verified"):
        try:
            compiled = CompiledModel.from_pipeline(pipeline)
        except NotCompilable:
            compiled = None
    return LoadedModel(manifest, directory, compiled, pipeline)


def export_present(directory: Path, manifest: Mapping[str, Any]) -> bool:
    """True when the manifest names an export of a known format and its files all exist.

    An artifact copied without its export files (as the model registry's download did before
    it knew about them) is not refused: it falls back to the pickle.
    """
    entry = manifest.get("compiled")
    if not isinstance(entry, Mapping) or entry.get("format") != EXPORT_FORMAT:
        return False
    files = entry.get("files")
    return (
        isinstance(files, Mapping)
        and set(files) == set(EXPORT_FILES)
        and all((directory / name).is_file() for name in EXPORT_FILES)
    )


def load_verified_export(directory: Path, manifest: Mapping[str, Any]) -> CompiledParams:
    """The export's parameters, after checking each file's sha256 against the manifest."""
    files = manifest["compiled"]["files"]
    for name in EXPORT_FILES:
        path = directory / name
        actual = sha256_file(path)
        if actual != files[name]:
            raise ModelMismatchError(
                f"{path}: sha256 {actual[:16]}... does not match the manifest's "
                f"{str(files[name])[:16]}...; refusing to load it (retrain)"
            )
    try:
        params = read_export(directory)
    except ExportError as exc:
        raise ModelMismatchError(f"{directory}: {exc}; retrain") from exc
    if params.classes != [str(label) for label in manifest["labels"]]:
        raise ModelMismatchError(f"{directory}: the export's classes differ from the manifest")
    return params


def load_pipeline(directory: Path, manifest: Mapping[str, Any]) -> Any:
    """Unpickle the artifact's pipeline after checking its scikit-learn version and sha256."""
    check_pickle_runtime(manifest, directory)
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
    import joblib  # only here: importing it (and scikit-learn) costs most of a cold start

    pipeline = joblib.load(model_path)
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    if classes != [str(label) for label in manifest["labels"]]:
        raise ModelMismatchError(f"{model_path}: the model's classes differ from the manifest")
    return pipeline

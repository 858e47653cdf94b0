"""The learning loop's storage: labelled panics and the model registry, over the service's
database (`service.db`) and blob store (`service.blobs`).

* Labels: `store_labels` writes imported labels (`labels` rows, log text in the blob store
  under a content-addressed key); `load_labels` reads every label back, feedback included,
  as `classifier.labels.LabelledPanic` records for training and export.
* Registry: `register_candidate` stores a trained artifact directory in the blob store
  (`models/<version>/<file>`) and its manifest and metrics in `model_versions`;
  `promote_version` applies `classifier.registry`'s gate; `rollback` restores the previous
  version.
* Serving: `ActiveModel` gives the API and the workers the active model, and swaps it when
  another one is promoted, without a restart (see its docstring for the hook).

As everywhere in the service, functions take the session from the caller and never commit.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from classifier.artifact import (
    MANIFEST_FILE,
    MODEL_FILE,
    LoadedModel,
    ModelMismatchError,
    default_model_dir,
    load_model,
    read_manifest,
)
from classifier.export import EXPORT_FILES
from classifier.labels import UNKNOWN, LabelledPanic, crash_signature, text_sha256
from classifier.registry import (
    BUILT_IN,
    GateResult,
    PromotionRefused,
    VersionState,
    check_gate,
    decide_promotion,
    rollback_target,
)
from classifier.unknowns import GENERIC_UNKNOWN, Abstained
from service.blobs import BlobNotFoundError, BlobStore, check_key
from service.db.models import (
    DiagnosisRecord,
    Label,
    LabelSource,
    ModelStatus,
    ModelVersion,
    Verdict,
    utcnow,
)
from service.settings import Settings

# Import provenance ("source" in an import file) is kept in the note's first line, since the
# table's `source` column says feedback|import.
SOURCE_PREFIX = "source: "
ARTIFACT_FILES_REQUIRED = (MODEL_FILE, MANIFEST_FILE)


class RegistryError(ValueError):
    """A registry operation that cannot be done; the message says why."""


# --- Labels --------------------------------------------------------------------------------


def label_blob_key(tenant_id: str, text: str) -> str:
    """Content-addressed key of a label's log: the same log pasted twice is stored once."""
    return check_key(f"labels/{tenant_id}/{text_sha256(text)}.log")


def _note_with_source(label: LabelledPanic) -> str | None:
    if label.source in ("import", "feedback", ""):
        return label.note
    head = SOURCE_PREFIX + label.source.replace("\n", " ")
    return head if label.note is None else f"{head}\n{label.note}"


def _split_note(note: str | None) -> tuple[str | None, str | None]:
    """(source, note) from a stored note."""
    if note is None or not note.startswith(SOURCE_PREFIX):
        return None, note
    head, _, rest = note.partition("\n")
    return head[len(SOURCE_PREFIX) :], rest or None


@dataclass(frozen=True)
class StoreCounts:
    """What `store_labels` did: labels stored, how many repeat an already-labelled bug, and
    the labels naming causes the knowledge base lacks."""

    imported: int
    duplicates: int
    unknown_root_causes: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """A plain dict for `--json` output."""
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "unknown_root_causes": self.unknown_root_causes,
        }


def _existing_keys(session: Session, tenant_id: str) -> set[tuple[str, str]]:
    rows = session.execute(
        select(Label.signature, Label.root_cause_id, Label.new_cause).where(
            Label.tenant_id == tenant_id
        )
    )
    return {
        (signature or "", root or f"new:{new}")
        for signature, root, new in rows
        if signature  # logs without a crash are keyed by text; they never match here
    }


def store_labels(
    session: Session, blobs: BlobStore, tenant_id: str, labels: Sequence[LabelledPanic]
) -> StoreCounts:
    """Store imported labels for a tenant; every label is kept (it is provenance).

    A label whose (signature, label) is already stored, or repeats an earlier one of the same
    import, counts as a duplicate: it is stored, and training counts the bug once.
    """
    seen = _existing_keys(session, tenant_id)
    duplicates = 0
    unknown: dict[str, int] = {}
    for label in labels:
        key = label.dedup_key
        if key in seen:
            duplicates += 1
        seen.add(key)
        if label.new_cause:
            unknown[label.new_cause] = unknown.get(label.new_cause, 0) + 1
        blob_key = label_blob_key(tenant_id, label.text)
        if not blobs.exists(blob_key):
            blobs.put_stream(blob_key, [label.text.encode("utf-8")])
        diagnosis_id = label.diagnosis_id
        if diagnosis_id is not None and session.get(DiagnosisRecord, diagnosis_id) is None:
            # An export from another installation: the diagnosis is not here to point at.
            diagnosis_id = None
        session.add(
            Label(
                tenant_id=tenant_id,
                diagnosis_id=diagnosis_id,
                verdict=Verdict.IMPORT,
                root_cause_id=label.root_cause,
                new_cause=label.new_cause,
                category=label.category,
                note=_note_with_source(label),
                author=label.author,
                source=LabelSource.IMPORT,
                signature=label.signature or None,
                log_blob_key=blob_key,
                created_at=label.created_at,
            )
        )
    session.flush()
    return StoreCounts(len(labels), duplicates, unknown)


def _read_text(blobs: BlobStore, key: str) -> str | None:
    try:
        with blobs.open(key) as handle:
            return handle.read().decode("utf-8", errors="replace")
    except BlobNotFoundError:
        return None


def load_labels(
    session: Session, blobs: BlobStore, tenant_id: str | None = None
) -> tuple[list[LabelledPanic], list[str]]:
    """Every label (of one tenant, or all when `tenant_id` is None), oldest first.

    Feedback labels take their log from the diagnosis, and a `confirm` its root cause. Labels
    that cannot be used (their log was deleted, a confirmation of an `unknown` answer) are
    left out and described in the second list.
    """
    query = select(Label, DiagnosisRecord).outerjoin(
        DiagnosisRecord, Label.diagnosis_id == DiagnosisRecord.id
    )
    if tenant_id is not None:
        query = query.where(Label.tenant_id == tenant_id)
    out: list[LabelledPanic] = []
    skipped: list[str] = []
    for row, diagnosis in session.execute(query.order_by(Label.created_at, Label.id)):
        key = row.log_blob_key or (diagnosis.log_blob_key if diagnosis is not None else None)
        text = _read_text(blobs, key) if key else None
        if text is None:
            skipped.append(f"{row.id}: its log is no longer stored")
            continue
        root, category = row.root_cause_id, row.category
        if row.verdict == Verdict.CONFIRM and root is None and diagnosis is not None:
            root, category = diagnosis.root_cause_id, category or diagnosis.category
        if root is None and not row.new_cause:
            skipped.append(f"{row.id}: confirms an answer without a root cause")
            continue
        source, note = _split_note(row.note)
        out.append(
            LabelledPanic(
                text=text,
                root_cause=root,
                new_cause=None if root else row.new_cause,
                category=category,
                source=source or row.source.value,
                author=row.author,
                note=note,
                created_at=row.created_at,
                diagnosis_id=row.diagnosis_id,
                signature=row.signature
                or (diagnosis.signature if diagnosis is not None else None)
                or crash_signature(text),
                origin=row.id,
            )
        )
    return out, skipped


def load_abstained(
    session: Session, blobs: BlobStore, tenant_id: str | None = None, limit: int = 10_000
) -> list[Abstained]:
    """The newest `limit` diagnoses that abstained (category `unknown` or `generic-unknown`).

    Of one tenant, or of all when `tenant_id` is None; a diagnosis whose log is no longer
    stored keeps its report and an empty text.
    """
    query = select(DiagnosisRecord).where(
        or_(DiagnosisRecord.category == UNKNOWN, DiagnosisRecord.root_cause_id == GENERIC_UNKNOWN)
    )
    if tenant_id is not None:
        query = query.where(DiagnosisRecord.tenant_id == tenant_id)
    rows = session.scalars(query.order_by(DiagnosisRecord.created_at.desc()).limit(limit))
    out = []
    for row in rows:
        text = _read_text(blobs, row.log_blob_key) if row.log_blob_key else None
        report = (row.result or {}).get("report") or {}
        out.append(
            Abstained(
                diagnosis_id=row.id,
                created_at=row.created_at,
                signature=row.signature or "",
                report=report,
                text=text or "",
                host=row.host,
            )
        )
    return out


# --- Registry ------------------------------------------------------------------------------


def artifact_key(version: str) -> str:
    """The blob key prefix under which a version's artifact files are stored."""
    return check_key(f"models/{version}")


def register_candidate(
    session: Session, blobs: BlobStore, artifact_dir: Path, metrics: dict[str, Any]
) -> ModelVersion:
    """Store the artifact in `artifact_dir` (every file in it) and add a candidate version.

    RegistryError when the directory is not a complete artifact or the version exists.
    """
    manifest = read_manifest(artifact_dir)
    version = str(manifest["version"])
    if session.get(ModelVersion, version) is not None:
        raise RegistryError(f"version {version} is already registered")
    files = sorted(p for p in artifact_dir.iterdir() if p.is_file() and not p.name.endswith(".tmp"))
    if not all((artifact_dir / name).is_file() for name in ARTIFACT_FILES_REQUIRED):
        raise RegistryError(f"{artifact_dir}: not a model artifact (model.joblib + manifest.json)")
    prefix = artifact_key(version)
    for path in files:
        with path.open("rb") as handle:
            blobs.put_stream(f"{prefix}/{path.name}", iter(lambda: handle.read(1 << 20), b""))
    row = ModelVersion(
        version=version,
        artifact_key=prefix,
        manifest=manifest,
        metrics=metrics,
        status=ModelStatus.CANDIDATE,
    )
    session.add(row)
    session.flush()
    return row


def list_versions(session: Session) -> list[ModelVersion]:
    """Every registered version, newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())))


def get_version(session: Session, version: str) -> ModelVersion | None:
    """One registered version, or None when there is no such version."""
    return session.get(ModelVersion, version)


def active_version(session: Session) -> ModelVersion | None:
    """The active version, or None when the built-in model serves."""
    return session.scalars(
        select(ModelVersion).where(ModelVersion.status == ModelStatus.ACTIVE)
    ).first()


@dataclass(frozen=True)
class Promotion:
    """The outcome of a promotion: the version, the gate's verdict, the recorded reason."""

    version: str
    previous: str | None
    gate: GateResult
    reason: str | None


def promote_version(
    session: Session,
    version: str,
    *,
    force: bool = False,
    reason: str | None = None,
    by: str | None = None,
) -> Promotion:
    """Make `version` the active model after the gate (`classifier.registry.check_gate`).

    Raises RegistryError for an unknown or already active version, PromotionRefused when the
    gate fails and the promotion is not forced with a reason.
    """
    row = get_version(session, version)
    if row is None:
        raise RegistryError(f"no model version {version!r} (see `panicdx model list`)")
    current = active_version(session)
    if current is not None and current.version == version:
        raise RegistryError(f"{version} is already active")
    gate = check_gate(row.metrics, current.version if current else None)
    recorded = decide_promotion(gate, force=force, reason=reason)
    now = utcnow()
    if current is not None:
        current.status = ModelStatus.RETIRED
    row.status = ModelStatus.ACTIVE
    row.promoted_at = now
    row.promoted_by = by
    row.reason = recorded
    session.flush()
    return Promotion(version, current.version if current else None, gate, recorded)


def rollback(session: Session, *, by: str | None = None) -> tuple[str, str | None]:
    """Retire the active version and reactivate the one promoted before it.

    Returns (retired, restored); restored None means the built-in model serves again.
    RegistryError when no version is active.
    """
    rows = list_versions(session)
    states = [VersionState(r.version, r.status.value, r.promoted_at) for r in rows]
    retire, restore = rollback_target(states)
    if retire is None:
        raise RegistryError("no active model version: nothing to roll back")
    by_version = {r.version: r for r in rows}
    by_version[retire].status = ModelStatus.RETIRED
    if restore is not None:
        restored = by_version[restore]
        restored.status = ModelStatus.ACTIVE
        restored.promoted_at = utcnow()
        restored.promoted_by = by
        restored.reason = f"rollback from {retire}"
    session.flush()
    return retire, restore


def version_json(row: ModelVersion, *, full: bool = False) -> dict[str, Any]:
    """A version as JSON: the summary, plus manifest and metrics when `full`."""
    summary = row.metrics or {}
    candidate = summary.get("candidate") or {}
    out: dict[str, Any] = {
        "version": row.version,
        "status": row.status.value,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "promoted_at": row.promoted_at.isoformat(timespec="seconds") if row.promoted_at else None,
        "promoted_by": row.promoted_by,
        "reason": row.reason,
        "macro_f1": candidate.get("macro_f1"),
        "accuracy": candidate.get("accuracy"),
        "compared_with": summary.get("compared_with"),
        "labelled_panics": row.manifest.get("labelled_panics"),
    }
    if full:
        out["manifest"] = row.manifest
        out["metrics"] = row.metrics
    return out


def version_detail(session: Session, version: str) -> dict[str, Any] | None:
    """`version_json(full=True)` of `version` plus `gate`: what the promotion gate says now.

    `gate` is None for the active version (it has nothing to be compared with but itself).
    None when there is no such version.
    """
    row = get_version(session, version)
    if row is None:
        return None
    current = active_version(session)
    data = version_json(row, full=True)
    data["gate"] = (
        None
        if current is not None and current.version == row.version
        else check_gate(row.metrics, current.version if current else None).as_json()
    )
    return data


# --- Training a candidate ------------------------------------------------------------------


class TrainingError(RuntimeError):
    """Training could not produce a candidate; the message says why."""


@dataclass(frozen=True)
class TrainedCandidate:
    """A newly registered candidate: version, artifact directory, report, gate figures."""

    version: str
    directory: Path
    report_path: Path
    metrics: dict[str, Any]
    skipped_labels: list[str]


def train_candidate(
    settings: Settings,
    engine: Any,
    blobs: BlobStore,
    *,
    out: Path | None = None,
    corpus_path: Path | None = None,
    cross_validate: bool = True,
    progress: Any = None,
) -> TrainedCandidate:
    """Train on the corpus plus every stored label, evaluate against the active model, register.

    The one call behind `panicdx train --data-dir`, a cron line, a Celery beat task or an admin
    API route. `engine` is the SQLAlchemy engine (sessions are opened only around reads and
    the registration, never held while training). The artifact stays in `out`, or in
    `<data_dir>/models/<version>/` (where the service caches registered artifacts). Raises
    TrainingError for anything that stops it.
    """
    from sqlalchemy.orm import Session as OrmSession

    from classifier.corpus import DEFAULT_CORPUS_PATH
    from classifier.learn import ActiveRecipe, train_with_labels

    with OrmSession(engine) as session:
        labels, skipped = load_labels(session, blobs)
        row = active_version(session)
        manifest = row.manifest if row is not None else built_in_manifest(settings)
    if manifest is None:
        raise TrainingError("no active model and no built-in model: run `panicdx train` first")
    recipe = ActiveRecipe.from_manifest(manifest)
    if row is None:
        recipe = ActiveRecipe(
            BUILT_IN, recipe.threshold, recipe.category_threshold, recipe.labels_cutoff
        )
    corpus_path = corpus_path or DEFAULT_CORPUS_PATH
    if not corpus_path.is_file():
        raise TrainingError(
            f"no training corpus at {corpus_path}: run `panicdx train --rebuild-corpus`"
        )
    models = settings.data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    # A private staging directory: two trainings at once (cron and an admin) do not collide.
    staging = out or Path(tempfile.mkdtemp(prefix=".training-", dir=models))
    try:
        result = train_with_labels(
            labels,
            staging,
            active=recipe,
            corpus_path=corpus_path,
            cross_validate=cross_validate,
            progress=progress,
        )
        directory = staging
        if out is None:
            directory = models / result.artifact.version
            staging.rename(directory)
    except Exception as exc:  # a broken KB or corpus must say what broke, not dump a trace
        if out is None:
            shutil.rmtree(staging, ignore_errors=True)
        raise TrainingError(f"training failed: {exc}") from exc
    metrics = result.artifact.manifest["metrics"]
    with OrmSession(engine) as session:
        try:
            register_candidate(session, blobs, directory, metrics)
        except RegistryError as exc:
            raise TrainingError(str(exc)) from exc
        session.commit()
    return TrainedCandidate(
        result.artifact.version, directory, directory / result.report_path.name, metrics, skipped
    )


# --- Serving the active model ---------------------------------------------------------------


def built_in_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of the built-in model (`settings.model_dir` or the default), or None."""
    try:
        return read_manifest(settings.model_dir or default_model_dir())
    except (FileNotFoundError, ModelMismatchError):
        return None


def _export_files(row: ModelVersion) -> tuple[str, ...]:
    """The plain-array export files (see `classifier.export`) the version's manifest records;
    empty for a version trained before the export existed. Only the known file names count:
    the names become local paths."""
    entry = row.manifest.get("compiled")
    files = entry.get("files") if isinstance(entry, dict) else None
    if not isinstance(files, dict):
        return ()
    return tuple(name for name in EXPORT_FILES if name in files)


def _download(blobs: BlobStore, key: str, path: Path) -> None:
    with blobs.open(key) as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink)


def _materialize(blobs: BlobStore, row: ModelVersion, cache_root: Path) -> Path:
    """A local directory holding the version's artifact (downloaded once, then reused).

    The export files come along, so a registered model is served without scikit-learn like
    the built-in one; a directory cached before they were fetched gets them now.
    """
    target = cache_root / row.version
    export = _export_files(row)
    if (target / MANIFEST_FILE).is_file():
        for name in export:
            if not (target / name).is_file():
                partial = target / f".{name}.{threading.get_ident()}.tmp"
                try:
                    _download(blobs, f"{row.artifact_key}/{name}", partial)
                    partial.replace(target / name)
                finally:
                    partial.unlink(missing_ok=True)
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{row.version}.", dir=cache_root))
    try:
        for name in (*ARTIFACT_FILES_REQUIRED, *export):
            _download(blobs, f"{row.artifact_key}/{name}", staging / name)
        try:
            staging.rename(target)
        except OSError:  # another process got there first: theirs is as good as ours
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_registered(blobs: BlobStore, row: ModelVersion, cache_root: Path) -> LoadedModel:
    """Load a registered version, verified against the registry's own manifest.

    The stored manifest must name the same model sha256 as the database row, and
    `classifier.artifact.load_model` checks the file's sha256 before unpickling it.
    """
    directory = _materialize(blobs, row, cache_root)
    stored = read_manifest(directory)
    if stored.get("model_sha256") != row.manifest.get("model_sha256"):
        raise ModelMismatchError(
            f"{row.version}: the stored manifest does not match the registry's; refusing it"
        )
    return load_model(directory)


def active_model_loader(settings: Settings) -> LoadedModel:
    """The model that should serve now: the registry's active version, else the built-in one.

    Opens its own database connection (for callers without one, such as a worker's start-up).
    Raises FileNotFoundError / ModelMismatchError like `classifier.artifact.load_model`.
    """
    from service.blobs import open_blob_store
    from service.db.session import open_database

    database = open_database(settings)
    try:
        with database.session() as session:
            row = active_version(session)
    finally:
        database.dispose()
    if row is None:
        return load_model(settings.model_dir or default_model_dir())
    return load_registered(open_blob_store(settings), row, settings.data_dir / "models")


def active_model_version(session: Session) -> str:
    """The active version string, `built-in` when none: a cheap check for a change."""
    row = active_version(session)
    return row.version if row is not None else BUILT_IN


class ActiveModel:
    """The serving side of the registry: the active model, swapped when it changes.

    Hook (API lifespan and workers): create one `ActiveModel(settings, session_factory,
    blobs)` at start-up, and call `current()` per job or request: it returns the loaded model,
    checking the active version in the database at most every `check_seconds`, and loads a
    newly promoted one in the calling thread while others keep using the previous model (a
    swap is a reference assignment, so in-flight diagnoses finish with the model they
    started with). A model that fails to load is reported with `last_error` and the previous
    one stays in service. Thread-safe.
    """

    def __init__(
        self,
        settings: Settings,
        session_factory: Any,
        blobs: BlobStore,
        *,
        check_seconds: float = 5.0,
    ) -> None:
        self._settings = settings
        self._sessions = session_factory
        self._blobs = blobs
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._version: str | None = None
        self._checked = 0.0
        self.last_error: str | None = None

    @property
    def version(self) -> str | None:
        """The registry version being served (`built-in`), None before the first load."""
        return self._version

    def current(self) -> LoadedModel:
        """The model to use now (loads or swaps it when the active version changed)."""
        now = time.monotonic()
        if self._model is not None and now - self._checked < self._check_seconds:
            return self._model
        with self._lock:
            if self._model is not None and now - self._checked < self._check_seconds:
                return self._model
            self._checked = now
            with self._sessions() as session:
                row = active_version(session)
            wanted = row.version if row is not None else BUILT_IN
            if self._model is not None and wanted == self._version:
                return self._model
            try:
                if row is None:
                    model = load_model(self._settings.model_dir or default_model_dir())
                else:
                    model = load_registered(self._blobs, row, self._settings.data_dir / "models")
            except (FileNotFoundError, ModelMismatchError, OSError, BlobNotFoundError) as exc:
                self.last_error = f"cannot load model {wanted}: {exc}"
                if self._model is None:
                    raise
                return self._model
            self._model, self._version, self.last_error = model, wanted, None
            return model


__all__ = [
    "ActiveModel",
    "Promotion",
    "PromotionRefused",
    "RegistryError",
    "StoreCounts",
    "TrainedCandidate",
    "TrainingError",
    "active_model_loader",
    "active_model_version",
    "active_version",
    "get_version",
    "list_versions",
    "load_abstained",
    "load_labels",
    "load_registered",
    "promote_version",
    "register_candidate",
    "rollback",
    "store_labels",
    "train_candidate",
    "version_json",
]

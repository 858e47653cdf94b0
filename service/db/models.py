"""The service's tables (DESIGN.md §8) as SQLAlchemy 2.0 typed ORM classes.

Ids are strings with a type prefix and a time-ordered body (`dx_0193a1b2c3d4...`): they sort by
creation time, which is what cursor pagination orders by. Times are stored in UTC and always
come back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import enum
import os
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from service.db.enums import (
    FINISHED_STATES,
    RUNNING_STATES,
    JobState,
    LabelSource,
    ModelStatus,
    Role,
    UploadKind,
    Verdict,
)

# Stable constraint names, so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id(prefix: str) -> str:
    """A new id: `prefix_` + 12 hex digits of milliseconds since the epoch + 16 random hex."""
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware.

    SQLite has no time zones: it keeps the UTC wall time and this type re-attaches UTC when
    reading, so both databases hand out the same aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; a naive value is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to the naive values SQLite returns."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention and the UTC timestamp type."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def _enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    # Stored as plain strings (no native PostgreSQL enum type) so adding a value is a code
    # change, not a schema migration.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Tenant(Base):
    """A customer or team; every other row belongs to exactly one tenant."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("tn"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key: only its sha256 is stored; `prefix` identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_enum(Role))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Upload(Base):
    """An uploaded file: its bytes live in the blob store under `blob_key`."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("up"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[UploadKind] = mapped_column(_enum(UploadKind))
    format: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when retention deleted the raw bytes; the extracted log and diagnosis stay.
    raw_deleted_at: Mapped[datetime | None]


class Job(Base):
    """One diagnosis request and its progress through the state machine.

    A running job is leased: `lease_owner` is the worker that claimed it and `attempts` counts
    claims; a worker may advance or finish the job only while both still match what it claimed.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
        Index("ix_jobs_state_lease", "state", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dx"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Last time a sweeper re-sent this queued job to the Celery broker (lost-message recovery).
    dispatched_at: Mapped[datetime | None]

    # Loaded with the job (one extra query per batch of jobs), so API code can read them after
    # the session is gone. Deletes cascade in the database (foreign keys), not in the ORM.
    upload: Mapped[Upload] = relationship(lazy="joined", viewonly=True)
    diagnosis: Mapped[DiagnosisRecord | None] = relationship(
        lazy="selectin", viewonly=True, uselist=False
    )


class DiagnosisRecord(Base):
    """A finished job's Diagnosis (the JSON contract) plus columns denormalised for queries."""

    __tablename__ = "diagnoses"
    __table_args__ = (
        Index("ix_diagnoses_tenant_created", "tenant_id", "created_at"),
        Index("ix_diagnoses_tenant_root_cause", "tenant_id", "root_cause_id"),
        Index("ix_diagnoses_tenant_category", "tenant_id", "category"),
        Index("ix_diagnoses_tenant_signature", "tenant_id", "signature"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dg"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    result: Mapped[dict[str, Any]]
    root_cause_id: Mapped[str | None] = mapped_column(String(200))
    root_cause_title: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    signature: Mapped[str | None] = mapped_column(String(500))
    # The crash's own title (the parsed report's), not the root cause's.
    title: Mapped[str | None] = mapped_column(String(500))
    model_version: Mapped[str | None] = mapped_column(String(100))
    kb_version: Mapped[str | None] = mapped_column(String(100))
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The extracted kernel log, kept after the raw upload's retention ends.
    log_blob_key: Mapped[str | None] = mapped_column(String(300))

    labels: Mapped[list[Label]] = relationship(
        lazy="selectin", viewonly=True, order_by="Label.created_at"
    )


class Label(Base):
    """A labelled panic: feedback on a diagnosis or a bulk-imported label, with provenance."""

    __tablename__ = "labels"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lb"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    diagnosis_id: Mapped[str | None] = mapped_column(
        ForeignKey("diagnoses.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict))
    root_cause_id: Mapped[str | None] = mapped_column(String(200))
    new_cause: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[LabelSource] = mapped_column(_enum(LabelSource))
    signature: Mapped[str | None] = mapped_column(String(500))
    log_blob_key: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    """A trained classifier in the model registry (used by issue 5)."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    artifact_key: Mapped[str] = mapped_column(String(300))
    manifest: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]
    promoted_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class TrainingState(enum.StrEnum):
    """Where a training run is: waiting for its process, training, finished, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TrainingRun(Base):
    """One batch training of a candidate model (`service.training_runs`), added for issue 5.

    `active_slot` is 1 while the run is queued or running and NULL once it finished: its
    unique constraint lets one unfinished run exist per installation, across processes.
    `owner` (host:pid) and `heartbeat_at` tell a live run from one whose process died.
    """

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("tr"))
    state: Mapped[TrainingState] = mapped_column(_enum(TrainingState))
    active_slot: Mapped[int | None] = mapped_column(Integer, unique=True)
    trigger: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    stage_message: Mapped[str | None] = mapped_column(String(500))
    # The newest label id when training started: labels after it are "new" for the next run.
    label_watermark: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[str | None] = mapped_column(String(100))
    report_path: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


__all__ = [
    "FINISHED_STATES",
    "RUNNING_STATES",
    "ApiKey",
    "Base",
    "DiagnosisRecord",
    "Job",
    "JobState",
    "Label",
    "LabelSource",
    "ModelStatus",
    "ModelVersion",
    "Role",
    "Tenant",
    "TrainingRun",
    "TrainingState",
    "Upload",
    "UploadKind",
    "Verdict",
    "new_id",
    "utcnow",
]

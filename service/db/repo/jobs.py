"""Uploads and jobs: idempotent submission, tenant-scoped reads, listing and deletion."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.db.errors import InvalidCursorError
from service.db.models import DiagnosisRecord, Job, JobState, Upload, UploadKind

if TYPE_CHECKING:
    from service.blobs import BlobStore

MAX_PAGE = 200
_CURSOR = re.compile(r"dx_[0-9a-f]{28}")


@dataclass(frozen=True)
class JobFilter:
    """Filters for `list_jobs`; None means "any". `since` is inclusive, `until` exclusive."""

    root_cause: str | None = None
    category: str | None = None
    host: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    state: JobState | None = None


@dataclass(frozen=True)
class Submission:
    """The outcome of `submit_upload`: the job, and whether this call created it.

    When `created` is False the caller's freshly written blob is not referenced by anything
    (the existing upload has its own) and the caller should delete it.
    """

    job: Job
    created: bool


def find_job_for_idempotency(session: Session, tenant_id: str, key: str) -> Job | None:
    """The tenant's job submitted with this Idempotency-Key, or None."""
    return session.scalars(
        select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_key == key)
    ).first()


def find_job_for_sha256(session: Session, tenant_id: str, sha256: str) -> Job | None:
    """The tenant's job for an upload with this content hash (oldest if several), or None."""
    return session.scalars(
        select(Job)
        .join(Upload, Upload.id == Job.upload_id)
        .where(Upload.tenant_id == tenant_id, Upload.sha256 == sha256)
        .order_by(Job.id)
    ).first()


def create_upload(
    session: Session,
    tenant_id: str,
    *,
    sha256: str,
    size: int,
    blob_key: str,
    filename: str | None,
    kind: UploadKind | str,
    format: str | None = None,
) -> Upload:
    """Record an upload whose bytes are already in the blob store under `blob_key`.

    Raises `IntegrityError` (at flush) when the tenant already has this sha256; use
    `submit_upload` for the idempotent path.
    """
    upload = Upload(
        tenant_id=tenant_id,
        sha256=sha256,
        size=size,
        blob_key=blob_key,
        filename=filename,
        kind=UploadKind(kind),
        format=format,
    )
    session.add(upload)
    session.flush()
    return upload


def create_job(
    session: Session,
    tenant_id: str,
    upload_id: str,
    *,
    host: str | None = None,
    instance_id: str | None = None,
    tags: Sequence[str] = (),
    idempotency_key: str | None = None,
    max_attempts: int = 3,
) -> Job:
    """Queue a job for an upload. Raises `IntegrityError` (at flush) on a reused key."""
    job = Job(
        tenant_id=tenant_id,
        upload_id=upload_id,
        state=JobState.QUEUED,
        stage_message="queued",
        host=host,
        instance_id=instance_id,
        tags=list(tags),
        idempotency_key=idempotency_key,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    # A new job's relationships, without reading the rows back: its upload (from this
    # session, or loaded by id) and no diagnosis yet.
    upload = session.get(Upload, upload_id)
    assert upload is not None  # the foreign key was just checked by the INSERT
    set_committed_value(job, "upload", upload)
    set_committed_value(job, "diagnosis", None)
    return job


def submit_upload(
    session: Session,
    tenant_id: str,
    *,
    sha256: str,
    size: int,
    blob_key: str,
    filename: str | None,
    kind: UploadKind | str,
    format: str | None = None,
    host: str | None = None,
    instance_id: str | None = None,
    tags: Sequence[str] = (),
    idempotency_key: str | None = None,
    max_attempts: int = 3,
) -> Submission:
    """The job for this upload: the existing one (same Idempotency-Key or same sha256 in the
    tenant) or a new upload and queued job.

    Safe under concurrent submissions: the database's unique constraints decide, and the loser
    gets the winner's job. On SQLite call it in a `write_session` so concurrent submitters
    queue for the write lock instead of failing.
    """
    existing = _existing_job(session, tenant_id, idempotency_key, sha256)
    if existing is not None:
        return Submission(existing, created=False)
    try:
        with session.begin_nested():
            upload = create_upload(
                session,
                tenant_id,
                sha256=sha256,
                size=size,
                blob_key=blob_key,
                filename=filename,
                kind=kind,
                format=format,
            )
            job = create_job(
                session,
                tenant_id,
                upload.id,
                host=host,
                instance_id=instance_id,
                tags=tags,
                idempotency_key=idempotency_key,
                max_attempts=max_attempts,
            )
    except IntegrityError:
        # A concurrent submission of the same key or content committed first.
        existing = _existing_job(session, tenant_id, idempotency_key, sha256)
        if existing is None:
            raise
        return Submission(existing, created=False)
    return Submission(job, created=True)


def _existing_job(
    session: Session, tenant_id: str, idempotency_key: str | None, sha256: str
) -> Job | None:
    if idempotency_key is not None:
        job = find_job_for_idempotency(session, tenant_id, idempotency_key)
        if job is not None:
            return job
    return find_job_for_sha256(session, tenant_id, sha256)


def get_job(session: Session, tenant_id: str, job_id: str) -> Job | None:
    """The tenant's job with its upload, diagnosis and feedback loaded; None when the id does
    not exist or belongs to another tenant."""
    return session.scalars(
        select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)
    ).one_or_none()


def get_job_any_tenant(session: Session, job_id: str) -> Job | None:
    """The job with this id whatever its tenant (for workers, never for API requests)."""
    return session.get(Job, job_id)


def list_jobs(
    session: Session,
    tenant_id: str,
    filters: JobFilter | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Job], str | None]:
    """One page of the tenant's jobs, newest first, and the cursor of the next page (None at
    the end). `root_cause` and `category` filters match finished diagnoses only.

    Raises `InvalidCursorError` for a cursor this function did not return.
    """
    filters = filters or JobFilter()
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Job).where(Job.tenant_id == tenant_id)
    if filters.root_cause is not None or filters.category is not None:
        query = query.join(DiagnosisRecord, DiagnosisRecord.job_id == Job.id)
        if filters.root_cause is not None:
            query = query.where(DiagnosisRecord.root_cause_id == filters.root_cause)
        if filters.category is not None:
            query = query.where(DiagnosisRecord.category == filters.category)
    if filters.host is not None:
        query = query.where(Job.host == filters.host)
    if filters.state is not None:
        query = query.where(Job.state == JobState(filters.state))
    if filters.since is not None:
        query = query.where(Job.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Job.created_at < filters.until)
    if cursor is not None:
        if not _CURSOR.fullmatch(cursor):
            raise InvalidCursorError("the cursor is not one this service returned")
        # Ids are time-ordered and unique, so "older than the last id seen" is a stable page
        # boundary even when rows are added meanwhile.
        query = query.where(Job.id < cursor)
    rows = list(session.scalars(query.order_by(Job.id.desc()).limit(limit + 1)).unique())
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def delete_job(session: Session, blobs: BlobStore, tenant_id: str, job_id: str) -> bool:
    """Delete the tenant's job with its upload, extracted log, diagnosis and feedback.

    Returns False when there is no such job for this tenant. Rows go first (flushed), blobs
    after: a failure part-way leaves at worst an unreferenced blob, never a row pointing at
    nothing. A worker still running the job loses its lease and stops.
    """
    job = get_job(session, tenant_id, job_id)
    if job is None:
        return False
    upload = job.upload
    keys = []
    if job.diagnosis is not None and job.diagnosis.log_blob_key:
        keys.append(job.diagnosis.log_blob_key)
    shared = session.scalars(
        select(Job.id).where(Job.upload_id == upload.id, Job.id != job.id)
    ).first()
    session.delete(job)
    if shared is None:  # one job per upload today; shared bytes would stay with the other job
        if upload.raw_deleted_at is None:
            keys.append(upload.blob_key)
        session.delete(upload)
    session.flush()
    for key in keys:
        blobs.delete(key)
    return True

"""The job state machine under leases: claim, renew, advance, complete, fail, retry, requeue.

Every transition is one conditional UPDATE whose WHERE clause states what must still be true
(the job is claimable; the lease is still this worker's, for this attempt). The database
decides races: of two workers only one UPDATE matches, on SQLite and PostgreSQL alike, so a
worker whose lease was taken over can never advance or complete the job. Callers commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, inspect, or_, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from service.db.errors import LeaseLostError
from service.db.models import (
    RUNNING_STATES,
    DiagnosisRecord,
    Job,
    JobState,
    utcnow,
)

# Claim-time values: a claimed job is extracting.
_CLAIMED_PROGRESS = 0.05
WORKER_LOST = "worker_lost"
INTERNAL_ERROR = "internal_error"


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        Job.state == JobState.QUEUED,
        and_(
            Job.state.in_(RUNNING_STATES),
            Job.lease_expires_at < now,
            Job.attempts < Job.max_attempts,
        ),
    )


def _ours(job: Job, worker_id: str) -> ColumnElement[bool]:
    # The attempt number makes a lease unique even if a worker id were ever reused.
    return and_(
        Job.id == job.id,
        Job.lease_owner == worker_id,
        Job.attempts == job.attempts,
        Job.state.in_(RUNNING_STATES),
    )


def _update(session: Session, where: ColumnElement[bool], **values: Any) -> int:
    statement = (
        update(Job).where(where).values(**values).execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def _written(session: Session, job: Job, values: dict[str, Any]) -> Job:
    """Bring `job` up to date with the plain values an UPDATE just wrote, without reading the
    row back (a reload costs three queries with the job's relationships).

    The values are set as loaded, not as changes, so nothing is written again; a different
    copy of the row in this session's identity map is expired, so it reloads when next used.
    """
    for name, value in values.items():
        set_committed_value(job, name, value)
    key = inspect(job).key
    other = session.identity_map.get(key) if key is not None else None
    if other is not None and other is not job:
        session.expire(other)
    return job


def _reload(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None  # the caller's UPDATE just matched it
    return job


def claim_job(
    session: Session, job_id: str, worker_id: str, lease_seconds: int, now: datetime | None = None
) -> Job | None:
    """Lease this job to `worker_id` if it is queued (or its last lease expired with attempts
    left) and move it to `extracting`; None when it is not claimable (done, failed, deleted or
    leased by a live worker)."""
    now = now or utcnow()
    claimed = _update(
        session,
        and_(Job.id == job_id, _claimable(now)),
        **_claim_values(worker_id, lease_seconds, now),
    )
    return _reload_claimed(session, job_id) if claimed else None


def _reload_claimed(session: Session, job_id: str) -> Job:
    """The job just claimed, with its upload. A claimable job has no diagnosis (a job gets
    one only as it becomes done, which is final), so that relationship is not queried."""
    job = session.scalars(
        select(Job)
        .where(Job.id == job_id)
        .options(lazyload(Job.diagnosis))
        .execution_options(populate_existing=True)
    ).one()
    set_committed_value(job, "diagnosis", None)
    return job


def claim_next_job(
    session: Session, worker_id: str, lease_seconds: int, now: datetime | None = None
) -> Job | None:
    """Lease the oldest claimable job of any tenant to `worker_id`; None when there is none.

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` so concurrent workers pick different rows
    without waiting. SQLite: call it in a `write_session`; the write lock serialises claimers.
    """
    now = now or utcnow()
    candidates = select(Job.id).where(_claimable(now)).order_by(Job.created_at, Job.id)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        candidates = candidates.limit(1).with_for_update(skip_locked=True)
    else:
        candidates = candidates.limit(8)
    for job_id in session.scalars(candidates).all():
        job = claim_job(session, job_id, worker_id, lease_seconds, now)
        if job is not None:
            return job
    return None


def _claim_values(worker_id: str, lease_seconds: int, now: datetime) -> dict[str, Any]:
    return {
        "state": JobState.EXTRACTING,
        "progress": _CLAIMED_PROGRESS,
        "stage_message": "extracting the kernel log",
        "attempts": Job.attempts + 1,
        "lease_owner": worker_id,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "started_at": func.coalesce(Job.started_at, now),
        "updated_at": now,
        "error_code": None,
        "error_message": None,
    }


def renew_lease(
    session: Session, job: Job, worker_id: str, lease_seconds: int, now: datetime | None = None
) -> None:
    """Extend the worker's lease; raises `LeaseLostError` when it is no longer the worker's."""
    now = now or utcnow()
    if not _update(
        session, _ours(job, worker_id), lease_expires_at=now + timedelta(seconds=lease_seconds)
    ):
        raise LeaseLostError(job.id, worker_id)


def advance_job(  # noqa: PLR0917 - the contract's positional order
    session: Session,
    job: Job,
    worker_id: str,
    state: JobState,
    progress: float,
    message: str,
    *,
    now: datetime | None = None,
) -> Job:
    """Move a leased job to another running state with its progress (0..1) and message.

    Raises `LeaseLostError` when the lease is no longer the worker's; `ValueError` for a state
    that is not a running one (use `complete_job`/`fail_job` to finish).
    """
    if state not in RUNNING_STATES:
        raise ValueError(f"advance_job moves between running states, not to {state}")
    now = now or utcnow()
    values: dict[str, Any] = {
        "state": state,
        "progress": min(max(progress, 0.0), 1.0),
        "stage_message": message,
        "updated_at": now,
    }
    if not _update(session, _ours(job, worker_id), **values):
        raise LeaseLostError(job.id, worker_id)
    return _written(session, job, values)


def complete_job(
    session: Session,
    job: Job,
    worker_id: str,
    diagnosis_json: dict[str, Any],
    log_blob_key: str | None,
    *,
    now: datetime | None = None,
) -> DiagnosisRecord:
    """Finish a leased job with its Diagnosis (the JSON contract) and extracted-log blob.

    Atomic with the caller's commit and conditional on the lease: a stale worker gets
    `LeaseLostError` and nothing is written, so a job is completed at most once (the unique
    `diagnoses.job_id` is the second guard). Afterwards `job` itself reads as done, with the
    returned record as its `diagnosis` (valid once the caller commits).
    """
    now = now or utcnow()
    values: dict[str, Any] = {
        "state": JobState.DONE,
        "progress": 1.0,
        "stage_message": "done",
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "finished_at": now,
    }
    if not _update(session, _ours(job, worker_id), **values):
        raise LeaseLostError(job.id, worker_id)
    record = diagnosis_record(job, diagnosis_json, log_blob_key, now)
    session.add(record)
    session.flush()  # the unique job_id is checked here, inside the caller's transaction
    _written(session, job, values)
    # The caller's job now reads as the finished job (no feedback yet) without a reload.
    set_committed_value(record, "labels", [])
    set_committed_value(job, "diagnosis", record)
    return record


def diagnosis_record(
    job: Job, diagnosis_json: dict[str, Any], log_blob_key: str | None, now: datetime
) -> DiagnosisRecord:
    """The diagnosis row of a job finished at `now` (not added to any session)."""
    root_cause = diagnosis_json.get("root_cause") or {}
    report = diagnosis_json.get("report") or {}
    model = diagnosis_json.get("model") or {}
    return DiagnosisRecord(
        tenant_id=job.tenant_id,
        job_id=job.id,
        result=diagnosis_json,
        root_cause_id=root_cause.get("id"),
        root_cause_title=root_cause.get("title"),
        category=str(diagnosis_json.get("category") or "unknown"),
        confidence=float(diagnosis_json.get("confidence") or 0.0),
        signature=diagnosis_json.get("signature"),
        title=report.get("title"),
        model_version=model.get("version"),
        kb_version=model.get("kb_version"),
        host=job.host,
        created_at=now,
        log_blob_key=log_blob_key,
    )


def fail_job(
    session: Session,
    job: Job,
    worker_id: str,
    code: str,
    message: str,
    *,
    now: datetime | None = None,
) -> Job:
    """Finish a leased job as failed with a stable reason `code`; `LeaseLostError` if stale."""
    now = now or utcnow()
    if not _update(
        session,
        _ours(job, worker_id),
        state=JobState.FAILED,
        stage_message="failed",
        error_code=code,
        error_message=message,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
        finished_at=now,
    ):
        raise LeaseLostError(job.id, worker_id)
    return _reload(session, job.id)


def retry_job(
    session: Session, job: Job, worker_id: str, message: str, now: datetime | None = None
) -> Job:
    """After an unexpected error: back to queued while attempts remain, else failed with
    `internal_error`. `LeaseLostError` when the lease is no longer the worker's."""
    if job.attempts >= job.max_attempts:
        return fail_job(
            session,
            job,
            worker_id,
            INTERNAL_ERROR,
            f"failed {job.attempts} time(s), last error: {message}",
            now=now,
        )
    now = now or utcnow()
    if not _update(
        session,
        _ours(job, worker_id),
        state=JobState.QUEUED,
        progress=0.0,
        stage_message=f"queued again after an error (attempt {job.attempts} of {job.max_attempts})",
        error_message=message,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
    ):
        raise LeaseLostError(job.id, worker_id)
    return _reload(session, job.id)


def requeue_expired_ids(session: Session, now: datetime | None = None) -> list[str]:
    """Put running jobs whose lease expired (their worker died or hung) back in the queue, or
    fail them (`worker_lost`) when they used all their attempts. Returns the requeued ids."""
    now = now or utcnow()
    expired = and_(Job.state.in_(RUNNING_STATES), Job.lease_expires_at < now)
    requeued: list[str] = []
    for job_id, attempts, max_attempts in session.execute(
        select(Job.id, Job.attempts, Job.max_attempts).where(expired)
    ).all():
        if attempts < max_attempts:
            values: dict[str, Any] = {
                "state": JobState.QUEUED,
                "progress": 0.0,
                "stage_message": "queued again: the worker running it stopped responding",
            }
        else:
            values = {
                "state": JobState.FAILED,
                "stage_message": "failed",
                "error_code": WORKER_LOST,
                "error_message": f"the worker running this job stopped responding "
                f"{attempts} time(s); the input may crash or exhaust the worker",
                "finished_at": now,
            }
        # Re-check the expiry in the UPDATE: the worker may have renewed meanwhile.
        if (
            _update(
                session,
                and_(Job.id == job_id, expired),
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                **values,
            )
            and values["state"] == JobState.QUEUED
        ):
            requeued.append(job_id)
    return requeued


def requeue_expired(session: Session, now: datetime | None = None) -> int:
    """`requeue_expired_ids`, counted."""
    return len(requeue_expired_ids(session, now))


def redispatch_stale_queued(
    session: Session, older_than: timedelta, now: datetime | None = None, limit: int = 500
) -> list[str]:
    """Queued jobs not (re)sent to the broker for `older_than`: marks them sent now and returns
    their ids for the caller to enqueue again.

    Recovers jobs whose broker message was lost (a broker restart, an enqueue that failed after
    the commit). A duplicate message is harmless: only one claim can succeed.
    """
    now = now or utcnow()
    cutoff = now - older_than
    ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.state == JobState.QUEUED,
                func.coalesce(Job.dispatched_at, Job.updated_at) < cutoff,
            )
            .order_by(Job.created_at)
            .limit(limit)
        ).all()
    )
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def count_jobs_by_state(session: Session) -> dict[str, int]:
    """Number of jobs in each state across all tenants (for the queue-depth metric)."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    counts = {state.value: 0 for state in JobState}
    counts.update({JobState(state).value: int(count) for state, count in rows})
    return counts

"""The one piece of job code: used by the API's quick path, the in-process pool and Celery.

A run claims the job (a lease), extracts the kernel log from the upload, diagnoses it and
stores the result, advancing the job row at each stage once the run lasts long enough for the
stages to be seen (a log diagnosed in milliseconds is claimed and completed: two commits). This
process's lease renewer (`service.jobs.leases`) renews the lease while the run works; every
write is conditional on still holding it, so a worker that lost its lease (it hung, or was
presumed dead and the job went to another worker) stops without writing.

Failures: an input that cannot be used (`InputError`) fails the job with the error's code and
is not retried; anything else puts the job back in the queue until it has used
`max_attempts`, then fails it with `internal_error`.

Test hook: `Settings.test_job_delay` (`PANICDX_TEST_JOB_DELAY`, seconds, default 0) makes the
run sleep after each stage starts, so tests can kill a worker deterministically mid-job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.blobs import BlobNotFoundError, BlobStore, extracted_log_key
from service.db import repo
from service.db.errors import LeaseLostError
from service.db.models import Job, JobState, utcnow
from service.db.repo.finished import FinishedRun
from service.jobs.leases import HeldLease, lease_renewer
from service.settings import Settings

if TYPE_CHECKING:
    from service.diagnoser import LogSource
    from service.diagnosis import Diagnosis
    from vmcore_parsers.extract import ExtractedLog

log = logging.getLogger(__name__)

UPLOAD_MISSING = "upload_missing"
_DIAGNOSING_PROGRESS = 0.6
_STORING_PROGRESS = 0.9
# A run shorter than this writes no intermediate stage (see `_ProgressReporter`).
PROGRESS_AFTER_SECONDS = 0.25


class DiagnoserLike(Protocol):
    """What the runner needs of `service.diagnoser.Diagnoser`."""

    def diagnose_text(self, text: str, source: LogSource | None = None) -> Diagnosis:
        """Diagnose one log."""


@dataclass(frozen=True)
class JobOutcome:
    """What one run did. `state` is the job's state after the run, None when the run did not
    claim it (`claimed` False: finished, deleted, or leased by a live worker) or lost its
    lease part-way (`lease_lost`). `job` is the row as the run left it (done: with its
    diagnosis loaded), so a caller can answer without reading it back; None with `state`."""

    job_id: str
    claimed: bool
    state: JobState | None
    lease_lost: bool = False
    job: Job | None = None


def make_worker_id(role: str = "worker") -> str:
    """A worker id unique to this process and thread: host, pid, thread, random suffix."""
    return (
        f"{role}:{socket.gethostname()}:{os.getpid()}:"
        f"{threading.current_thread().name}:{uuid.uuid4().hex[:8]}"
    )


def run_job(
    job_id: str,
    worker_id: str,
    *,
    session_factory: sessionmaker[Session],
    blobs: BlobStore,
    diagnoser: DiagnoserLike,
    settings: Settings,
) -> JobOutcome:
    """Claim the job and run it to done or failed (or back to queued after an unexpected
    error). Returns without doing anything when the job is not claimable.

    Use a `Database.write_session` factory on SQLite.
    """
    with session_factory() as session:
        job = repo.claim_job(session, job_id, worker_id, settings.lease_seconds)
        session.commit()
    if job is None:
        return JobOutcome(job_id, claimed=False, state=None)
    return run_claimed_job(
        job,
        worker_id,
        session_factory=session_factory,
        blobs=blobs,
        diagnoser=diagnoser,
        settings=settings,
    )


def run_next_job(
    worker_id: str,
    *,
    session_factory: sessionmaker[Session],
    blobs: BlobStore,
    diagnoser: DiagnoserLike,
    settings: Settings,
) -> JobOutcome | None:
    """Claim the oldest claimable job of any tenant and run it; None when the queue is empty."""
    with session_factory() as session:
        job = repo.claim_next_job(session, worker_id, settings.lease_seconds)
        session.commit()
    if job is None:
        return None
    return run_claimed_job(
        job,
        worker_id,
        session_factory=session_factory,
        blobs=blobs,
        diagnoser=diagnoser,
        settings=settings,
    )


def run_claimed_job(
    job: Job,
    worker_id: str,
    *,
    session_factory: sessionmaker[Session],
    blobs: BlobStore,
    diagnoser: DiagnoserLike,
    settings: Settings,
) -> JobOutcome:
    """Run a job this worker has just claimed (see `run_job`)."""
    from vmcore_parsers.errors import InputError

    keeper = lease_renewer().hold(job, worker_id, session_factory, settings.lease_seconds)
    try:
        diagnosis, log_key = _work(
            job,
            worker_id=worker_id,
            session_factory=session_factory,
            blobs=blobs,
            diagnoser=diagnoser,
            settings=settings,
            keeper=keeper,
        )
        try:
            with session_factory() as session:
                repo.complete_job(
                    session, job, worker_id, diagnosis.model_dump(mode="json"), log_key
                )
                session.commit()
        except BaseException:
            blobs.delete(log_key)  # per-attempt key: never another worker's blob
            raise
        return JobOutcome(job.id, claimed=True, state=JobState.DONE, job=job)
    except LeaseLostError:
        log.warning("job %s: lease lost by %s, leaving it to its new owner", job.id, worker_id)
        return JobOutcome(job.id, claimed=True, state=None, lease_lost=True)
    except InputError as exc:
        return _finish(job, worker_id, session_factory, fail=(exc.code, exc.message))
    except BlobNotFoundError:
        message = "the uploaded file is no longer in the blob store"
        return _finish(job, worker_id, session_factory, fail=(UPLOAD_MISSING, message))
    except Exception as exc:
        log.exception("job %s: attempt %d failed", job.id, job.attempts)
        return _finish(job, worker_id, session_factory, retry=f"{type(exc).__name__}: {exc}")
    finally:
        lease_renewer().release(keeper)


def _work(
    job: Job,
    *,
    worker_id: str,
    session_factory: sessionmaker[Session],
    blobs: BlobStore,
    diagnoser: DiagnoserLike,
    settings: Settings,
    keeper: HeldLease,
) -> tuple[Diagnosis, str]:
    progress = _ProgressReporter(job, worker_id, session_factory)
    _test_delay(settings)
    keeper.check()
    with blobs.local_path(job.upload.blob_key) as path:
        extracted = _extract(path, settings)
    keeper.check()
    progress.report(
        JobState.DIAGNOSING,
        _DIAGNOSING_PROGRESS,
        f"diagnosing the {extracted.kind} ({extracted.tier})",
    )
    _test_delay(settings)
    keeper.check()
    diagnosis = diagnoser.diagnose_text(extracted.text, _log_source(job.upload.filename, extracted))
    progress.report(JobState.DIAGNOSING, _STORING_PROGRESS, "storing the result")
    keeper.check()
    # From here the caller deletes this blob again if the job cannot be completed.
    log_key = extracted_log_key(job.tenant_id, job.id, job.attempts)
    # Not fsynced on its own: the completion's commit is what makes it part of the job, and
    # the text can be extracted again from the raw upload (see `put_stream`'s `durable`).
    blobs.put_stream(log_key, [extracted.text.encode("utf-8")], durable=False)
    return diagnosis, log_key


class _ProgressReporter:
    """Writes a job's stage changes, but only once the run has lasted `PROGRESS_AFTER_SECONDS`.

    Stage updates are for people watching (GET, the SSE stream). A log diagnosed in a few
    milliseconds goes from extracting to done without them, saving a transaction per stage;
    a dump whose extraction takes seconds reports each stage as before. Every write is still
    conditional on the lease (`LeaseLostError` when it is gone).
    """

    def __init__(self, job: Job, worker_id: str, session_factory: sessionmaker[Session]) -> None:
        self._job = job
        self._worker_id = worker_id
        self._session_factory = session_factory
        self._started = time.monotonic()

    def report(self, state: JobState, progress: float, message: str) -> None:
        """Record the stage if the run has lasted long enough for anyone to see it."""
        if time.monotonic() - self._started < PROGRESS_AFTER_SECONDS:
            return
        with self._session_factory() as session:
            repo.advance_job(session, self._job, self._worker_id, state, progress, message)
            session.commit()


def _extract(path: Path, settings: Settings) -> ExtractedLog:
    """Plain text logs are read in-process (bounded, no parsing of binary structures), from
    the handle already open for sniffing: the same result as `extract_file` gives a log,
    without its scratch directory; dumps, archives and compressed files go through the
    resource-limited sandbox."""
    from vmcore_parsers.dumps.detect import SNIFF_BYTES
    from vmcore_parsers.extract import ExtractedLog, extract_file_sandboxed, sniff_kind
    from vmcore_parsers.intake import read_log_stream
    from vmcore_parsers.sandbox import SandboxLimits

    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        if sniff_kind(head) == "log":
            handle.seek(0)
            log = read_log_stream(handle, settings.max_log_bytes)
            return ExtractedLog(text=log.text, kind="log", format="log", tier="log")
    return extract_file_sandboxed(path, SandboxLimits(max_log_bytes=settings.max_log_bytes))


def _log_source(filename: str | None, extracted: ExtractedLog) -> LogSource:
    from service.diagnoser import LogSource

    return LogSource(
        name=filename,
        compression=extracted.compression,
        kind=extracted.kind,
        # A plain log's format is its dialect, which the parser names (None); a dump or a
        # crash directory keeps its container format.
        format=None if extracted.format == "log" else extracted.format,
        tier=extracted.tier,
        warnings=tuple(extracted.warnings),
    )


def diagnose_upload(
    blob_key: str,
    log_key: str,
    *,
    filename: str | None,
    blobs: BlobStore,
    diagnoser: DiagnoserLike,
    settings: Settings,
) -> FinishedRun:
    """Extract and diagnose an upload that has no job yet (the API's one-commit quick path:
    the caller then records upload, finished job and diagnosis in one transaction).

    The same work as a job's run, without the job: the extracted log goes to `log_key`
    (not fsynced, as in `_work`; the caller deletes it again if nothing ends up referring to
    it). An input that cannot be used is a run with an error, as `run_claimed_job` fails
    the job with it; any other exception propagates (the caller queues a job instead, which
    the workers retry).
    """
    from vmcore_parsers.errors import InputError

    started = utcnow()
    try:
        _test_delay(settings)
        with blobs.local_path(blob_key) as path:
            extracted = _extract(path, settings)
        _test_delay(settings)
        diagnosis = diagnoser.diagnose_text(extracted.text, _log_source(filename, extracted))
    except InputError as exc:
        return FinishedRun(started, utcnow(), error=(exc.code, exc.message))
    blobs.put_stream(log_key, [extracted.text.encode("utf-8")], durable=False)
    return FinishedRun(
        started,
        utcnow(),
        diagnosis_json=diagnosis.model_dump(mode="json"),
        log_blob_key=log_key,
    )


def _finish(
    job: Job,
    worker_id: str,
    session_factory: sessionmaker[Session],
    *,
    fail: tuple[str, str] | None = None,
    retry: str | None = None,
) -> JobOutcome:
    try:
        with session_factory() as session:
            if fail is not None:
                finished = repo.fail_job(session, job, worker_id, fail[0], fail[1])
            else:
                finished = repo.retry_job(session, job, worker_id, retry or "unknown error")
            session.commit()
    except LeaseLostError:
        return JobOutcome(job.id, claimed=True, state=None, lease_lost=True)
    return JobOutcome(job.id, claimed=True, state=finished.state, job=finished)


def _test_delay(settings: Settings) -> None:
    if settings.test_job_delay > 0:
        time.sleep(settings.test_job_delay)

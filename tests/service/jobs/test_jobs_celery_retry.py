"""Celery workers on the real brokers (Redis and RabbitMQ): a job whose attempt fails with an
unexpected error goes back to the queue and is sent again by the worker at once, ending done,
or failed `internal_error` once it used `max_attempts`.

The fault is real, in the worker process, and needs no patching: the blob store cannot store
the extracted log of a given attempt because a directory sits where that attempt's file goes
(`extracted_log_key` is per attempt), so the final rename fails with IsADirectoryError, as a
broken disk or a misconfigured store would fail. Leases and sweeps are made far longer than the
test waits, so only the worker's immediate re-send (not the sweeper's slow re-dispatch of stale
queued jobs) can run the next attempt in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import broker_settings, connected_line
from dbtesting import make_tenant, submit
from jobtesting import (
    OOM_LOG,
    celery_worker_command,
    kill_group,
    start,
    wait_until_finished,
    worker_env,
)
from sqlalchemy import func, select

from service.blobs import LocalBlobStore, extracted_log_key
from service.db.migrate import upgrade_database
from service.db.models import DiagnosisRecord, Job, JobState
from service.db.session import Database, create_db_engine, database_for_engine
from service.jobs import enqueue
from service.settings import Settings

# The sweeper would re-dispatch a stale queued job only after max(lease, 2 x sweep) = 240 s.
SLOW_RECOVERY = {"PANICDX_LEASE_SECONDS": "240", "PANICDX_SWEEP_SECONDS": "120"}
PATIENCE = 90.0  # seconds; includes the worker's start and model load on a busy machine


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database: one backend is enough here (the database side of retries
    is covered on both by test_jobs_runner.py)."""
    url = f"sqlite:///{tmp_path / 'panicdx.db'}"
    upgrade_database(Settings(database_url=url))
    database = database_for_engine(create_db_engine(url))
    yield database
    database.dispose()


def obstruct_attempts(blobs: LocalBlobStore, job: Job, attempts: range) -> None:
    """Make storing the extracted log fail for these attempts of the job."""
    for attempt in attempts:
        (blobs.root / extracted_log_key(job.tenant_id, job.id, attempt)).mkdir(parents=True)


def run_with_celery(
    db: Database, blobs: LocalBlobStore, job: Job, broker: dict[str, str], log: Path
) -> Job:
    """Start one real Celery worker, send it the job and wait until the job has finished."""
    worker = start(
        celery_worker_command(),
        worker_env(db, blobs, PANICDX_TEST_JOB_DELAY="0", **SLOW_RECOVERY, **broker),
        log,
    )
    try:
        enqueue(job.id, broker_settings(broker))
        finished = wait_until_finished(db, job.id, log, timeout=PATIENCE)
        assert worker.poll() is None, "the worker died"
    finally:
        kill_group(worker)
    assert connected_line(broker) in log.read_text()
    return finished


def diagnosis_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(DiagnosisRecord)) or 0


def test_a_failed_attempt_is_sent_again_and_ends_done(
    sqlite_db: Database, blobs: LocalBlobStore, tmp_path: Path, broker: dict[str, str]
) -> None:
    db = sqlite_db
    job = submit(db, blobs, make_tenant(db), OOM_LOG, max_attempts=3)
    obstruct_attempts(blobs, job, range(1, 2))
    done = run_with_celery(db, blobs, job, broker, tmp_path / "celery.log")
    assert done.state is JobState.DONE, (tmp_path / "celery.log").read_text()[-4000:]
    assert done.attempts == 2 and done.error_code is None
    assert done.diagnosis is not None and done.diagnosis.category == "oom"
    assert done.diagnosis.log_blob_key == extracted_log_key(job.tenant_id, job.id, 2)
    assert diagnosis_count(db) == 1


def test_a_job_failing_every_attempt_ends_internal_error(
    sqlite_db: Database, blobs: LocalBlobStore, tmp_path: Path, broker: dict[str, str]
) -> None:
    db = sqlite_db
    job = submit(db, blobs, make_tenant(db), OOM_LOG, max_attempts=2)
    obstruct_attempts(blobs, job, range(1, 3))
    failed = run_with_celery(db, blobs, job, broker, tmp_path / "celery.log")
    assert failed.state is JobState.FAILED, (tmp_path / "celery.log").read_text()[-4000:]
    assert (failed.error_code, failed.attempts) == ("internal_error", 2)
    assert "IsADirectoryError" in (failed.error_message or "")
    assert failed.diagnosis is None and diagnosis_count(db) == 0

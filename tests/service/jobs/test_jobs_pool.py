"""The in-process worker pool: woken by enqueue, resumes work left by a dead process."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from dbtesting import make_tenant, submit

from service.blobs import LocalBlobStore
from service.db import repo
from service.db.models import JobState, utcnow
from service.db.session import Database
from service.diagnoser import Diagnoser
from service.jobs import enqueue
from service.jobs.pool import WorkerPool, wake_current_pool
from service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def wait_for_states(db: Database, job_ids: list[str], timeout: float = 30.0) -> dict[str, JobState]:
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as session:
            states = {}
            for job_id in job_ids:
                job = repo.get_job_any_tenant(session, job_id)
                assert job is not None
                states[job_id] = job.state
        if all(s in (JobState.DONE, JobState.FAILED) for s in states.values()):
            return states
        if time.monotonic() > deadline:
            return states
        time.sleep(0.05)


def test_enqueue_wakes_the_pool(db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser) -> None:
    # Polling is made far slower than the test's patience: only the wake-up can finish it.
    settings = Settings(workers=2, poll_seconds=120, sweep_seconds=120)
    pool = WorkerPool(settings=settings, database=db, blobs=blobs, diagnoser=diagnoser)
    pool.start()
    try:
        time.sleep(0.3)  # let the workers find the empty queue and go to sleep
        tenant = make_tenant(db)
        jobs = [submit(db, blobs, tenant, p.read_bytes()) for p in sorted(EXAMPLES.glob("*.log"))]
        for job in jobs:
            enqueue(job.id, settings)
        states = wait_for_states(db, [j.id for j in jobs], timeout=20)
    finally:
        pool.stop()
    assert set(states.values()) == {JobState.DONE}
    assert pool.jobs_run == len(jobs)
    assert not wake_current_pool()  # a stopped pool unregisters itself


def test_a_restarted_pool_resumes_queued_and_abandoned_jobs(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    tenant = make_tenant(db)
    queued = submit(db, blobs, tenant, (EXAMPLES / "panic-on-oom.log").read_bytes())
    abandoned = submit(db, blobs, tenant, (EXAMPLES / "nfs-hung-task.log").read_bytes())
    with db.write_session() as session:
        # A previous process claimed it and died: its lease ran out a while ago.
        repo.claim_job(
            session, abandoned.id, "dead-process", 5, now=utcnow() - timedelta(minutes=1)
        )
        session.commit()
    settings = Settings(workers=1, poll_seconds=0.2, sweep_seconds=0.2)
    pool = WorkerPool(settings=settings, database=db, blobs=blobs, diagnoser=diagnoser)
    pool.start()
    try:
        states = wait_for_states(db, [queued.id, abandoned.id])
    finally:
        pool.stop()
    assert states == {queued.id: JobState.DONE, abandoned.id: JobState.DONE}
    with db.session() as session:
        resumed = repo.get_job_any_tenant(session, abandoned.id)
    assert resumed is not None and resumed.attempts == 2


def test_leases_are_renewed_while_a_job_runs(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    # The job takes about 3 s (the runner's test delay, twice) under a 1 s lease, while the
    # sweeper looks for expired leases every 0.1 s and an idle second worker waits to claim:
    # only the renewals keep the job with its first worker.
    settings = Settings(
        workers=2, lease_seconds=1, test_job_delay=1.5, poll_seconds=0.1, sweep_seconds=0.1
    )
    job = submit(db, blobs, make_tenant(db), (EXAMPLES / "panic-on-oom.log").read_bytes())
    pool = WorkerPool(settings=settings, database=db, blobs=blobs, diagnoser=diagnoser)
    pool.start()
    try:
        states = wait_for_states(db, [job.id])
    finally:
        pool.stop()
    assert states == {job.id: JobState.DONE}
    with db.session() as session:
        finished = repo.get_job_any_tenant(session, job.id)
    assert finished is not None and finished.attempts == 1

"""kill -9 of an in-process pool mid-job: another pool process retries the job, which ends
done exactly once (one diagnosis row), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from dbtesting import make_tenant, submit
from jobtesting import (
    OOM_LOG,
    kill_group,
    pool_command,
    start,
    wait_until_finished,
    wait_until_running,
    worker_env,
)
from sqlalchemy import func, select

from service.blobs import LocalBlobStore
from service.db.models import DiagnosisRecord, JobState
from service.db.session import Database


def test_a_killed_pool_process_loses_no_job(
    db: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    env = worker_env(db, blobs)
    log = tmp_path / "workers.log"
    # Two pool processes compete for the job; the one that claims it is killed mid-job.
    pools = [start(pool_command(), env, log) for _ in range(2)]
    try:
        running = wait_until_running(db, job.id, pools, log)
        owner = next(p for p in pools if f":{p.pid}:" in (running.lease_owner or ""))
        kill_group(owner)  # SIGKILL: no clean-up code runs in the worker
        survivor = next(p for p in pools if p is not owner)
        assert survivor.poll() is None
        done = wait_until_finished(db, job.id, log)
    finally:
        for process in pools:
            kill_group(process)
    assert done.state is JobState.DONE, log.read_text()[-4000:]
    assert done.attempts == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 1

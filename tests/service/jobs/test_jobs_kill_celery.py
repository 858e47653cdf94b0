"""Celery workers on the real brokers, Redis and RabbitMQ: kill -9 of the worker running a job
(main process and its pool child) -> another worker retries it, and it ends done exactly once.

Skips when a broker is unreachable unless PANICDX_REQUIRE_REDIS=1 / PANICDX_REQUIRE_RABBITMQ=1.
Every test uses its own queue (and Redis key prefix) and removes it afterwards, so parallel runs
do not see each other's tasks (brokers.py).
"""

from __future__ import annotations

import os
import signal
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
    wait_until_running,
    worker_env,
)
from sqlalchemy import func, select

from service.blobs import LocalBlobStore
from service.db.models import DiagnosisRecord, JobState
from service.db.session import Database
from service.jobs import enqueue


def test_a_killed_celery_worker_loses_no_job(
    db: Database, blobs: LocalBlobStore, tmp_path: Path, broker: dict[str, str]
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    env = worker_env(db, blobs, **broker)
    log = tmp_path / "celery.log"
    workers = [start(celery_worker_command(), env, log) for _ in range(2)]
    try:
        enqueue(job.id, broker_settings(broker))
        running = wait_until_running(db, job.id, workers, log)
        # The lease holder is a pool child of one worker; the worker's group holds both.
        child_pid = int((running.lease_owner or "").split(":")[2])
        owner = next(w for w in workers if os.getpgid(child_pid) == w.pid)
        kill_group(owner)  # SIGKILL the whole worker: main process and pool child
        done = wait_until_finished(db, job.id, log)
    finally:
        for process in workers:
            kill_group(process)
    assert done.state is JobState.DONE, log.read_text()[-4000:]
    assert done.attempts == 2
    assert connected_line(broker) in log.read_text()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 1


def test_a_killed_celery_pool_process_loses_no_job(
    db: Database, blobs: LocalBlobStore, tmp_path: Path, broker: dict[str, str]
) -> None:
    """Only the pool child dies: the worker rejects the task back to the queue
    (task_reject_on_worker_lost), a new child gets it, and the job runs once its dead lease
    is swept."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough here: the database side is the same as above")
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    log = tmp_path / "celery.log"
    worker = start(celery_worker_command(), worker_env(db, blobs, **broker), log)
    try:
        enqueue(job.id, broker_settings(broker))
        running = wait_until_running(db, job.id, [worker], log)
        child_pid = int((running.lease_owner or "").split(":")[2])
        assert child_pid != worker.pid and os.getpgid(child_pid) == worker.pid
        os.kill(child_pid, signal.SIGKILL)
        done = wait_until_finished(db, job.id, log)
        assert worker.poll() is None  # the worker itself survived
    finally:
        kill_group(worker)
    assert done.state is JobState.DONE, log.read_text()[-4000:]
    assert done.attempts == 2
    assert connected_line(broker) in log.read_text()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 1

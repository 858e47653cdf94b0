"""Celery workers on the real Redis broker: kill -9 of the worker running a job (main process
and its pool child) -> another worker retries it, and it ends done exactly once.

Skips when Redis is unreachable unless PANICDX_REQUIRE_REDIS=1. Every run uses its own queue
and Redis key prefix (PANICDX_TEST_REDIS_URL, default redis://127.0.0.1:6379/13) and deletes
its keys afterwards, so parallel runs do not see each other's tasks.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbtesting import make_tenant, submit
from jobtesting import (
    OOM_LOG,
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
from service.settings import Settings

REDIS_URL = os.environ.get("PANICDX_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def broker() -> Iterator[dict[str, str]]:
    """Broker settings private to this test; its Redis keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if os.environ.get("PANICDX_REQUIRE_REDIS") == "1":
            pytest.fail(message + " (PANICDX_REQUIRE_REDIS=1)")
        pytest.skip(message + " (set PANICDX_REQUIRE_REDIS=1 to fail instead)")
    run = uuid.uuid4().hex[:12]
    prefix = f"panicdx-test-{run}:"
    yield {
        "PANICDX_BROKER_URL": REDIS_URL,
        "PANICDX_CELERY_QUEUE": f"panicdx-test-{run}",
        "PANICDX_CELERY_REDIS_KEY_PREFIX": prefix,
    }
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def worker_command() -> list[str]:
    return [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1"]


def test_a_killed_celery_worker_loses_no_job(
    db: Database, blobs: LocalBlobStore, tmp_path: Path, broker: dict[str, str]
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    env = worker_env(db, blobs, **broker)
    log = tmp_path / "celery.log"
    workers = [start(worker_command(), env, log) for _ in range(2)]
    try:
        enqueue(
            job.id,
            Settings(
                broker_url=broker["PANICDX_BROKER_URL"],
                celery_queue=broker["PANICDX_CELERY_QUEUE"],
                celery_redis_key_prefix=broker["PANICDX_CELERY_REDIS_KEY_PREFIX"],
            ),
        )
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
    worker = start(worker_command(), worker_env(db, blobs, **broker), log)
    try:
        enqueue(
            job.id,
            Settings(
                broker_url=broker["PANICDX_BROKER_URL"],
                celery_queue=broker["PANICDX_CELERY_QUEUE"],
                celery_redis_key_prefix=broker["PANICDX_CELERY_REDIS_KEY_PREFIX"],
            ),
        )
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
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 1

"""Helpers for the tests that run workers as real processes and kill them with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service.blobs import LocalBlobStore
from service.db import repo
from service.db.models import Job, JobState
from service.db.session import Database

REPO = Path(__file__).resolve().parents[3]
OOM_LOG = (REPO / "examples" / "panic-on-oom.log").read_bytes()


def worker_env(db: Database, blobs: LocalBlobStore, **settings: str) -> dict[str, str]:
    """The environment of a worker process sharing the test's database and blob store.

    Short leases and sweeps make recovery quick; PANICDX_TEST_JOB_DELAY (the runner's test
    hook) keeps each job in a running state long enough to kill its worker mid-job.
    """
    env = {
        **os.environ,
        "PANICDX_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "PANICDX_BLOB_URL": blobs.root.as_uri(),
        "PANICDX_DATA_DIR": str(blobs.root.parent),
        "PANICDX_LEASE_SECONDS": "2",
        "PANICDX_SWEEP_SECONDS": "0.3",
        "PANICDX_POLL_SECONDS": "0.3",
        "PANICDX_TEST_JOB_DELAY": "1.5",
        "PANICDX_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(settings)
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a worker in its own process group (so SIGKILL takes its children too)."""
    handle = log.open("ab")
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the process and everything it started; reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def pool_command() -> list[str]:
    """A worker pool without the HTTP API."""
    return [sys.executable, "-m", "service.jobs.pool"]


def celery_worker_command(concurrency: int = 1) -> list[str]:
    """`panicdx worker` (a Celery worker; the broker comes from the environment)."""
    return [sys.executable, "-m", "service.cli", "worker", "--concurrency", str(concurrency)]


def load(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = repo.get_job_any_tenant(session, job_id)
        assert job is not None
        return job


def wait_until_running(
    db: Database,
    job_id: str,
    processes: list[subprocess.Popen[bytes]],
    log: Path,
    timeout: float = 90,
) -> Job:
    """Wait until a worker holds the job's lease in a running state; fails if a worker
    process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = load(db, job_id)
        if job.state in (JobState.EXTRACTING, JobState.DIAGNOSING) and job.lease_owner:
            return job
        if any(p.poll() is not None for p in processes):
            raise AssertionError(f"a worker exited early:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)
    raise AssertionError(f"the job never started:\n{log.read_text()[-4000:]}")


def wait_until_finished(db: Database, job_id: str, log: Path, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = load(db, job_id)
        if job.state in (JobState.DONE, JobState.FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError(f"the job did not finish:\n{log.read_text()[-4000:]}")

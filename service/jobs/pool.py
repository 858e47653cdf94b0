"""The in-process worker pool of `panicdx serve`: threads that claim and run queued jobs.

Workers sleep until the API signals a new job (`wake`) or `poll_seconds` pass (the fallback
that also picks up jobs submitted by other processes). A sweeper thread requeues jobs whose
lease expired (their worker died) and purges raw uploads past retention. Nothing is kept in
memory that the database does not also hold: after a restart the workers simply find the
queued jobs again, and jobs of a dead process come back when their leases expire.

`python -m service.jobs.pool [--data-dir DIR] [--workers N]` runs a pool without the HTTP
API (used by the tests that kill a worker process; also handy to drain a queue).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from datetime import timedelta
from types import FrameType

from service.blobs import BlobStore, open_blob_store
from service.db import repo
from service.db.session import Database, open_database
from service.jobs.runner import DiagnoserLike, make_worker_id, run_next_job
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)


class _Current:
    """This process's running pool, for `wake_current_pool`."""

    pool: WorkerPool | None = None
    lock = threading.Lock()


class WorkerPool:
    """`workers` threads running jobs, plus one sweeper thread. Start once, stop once."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        blobs: BlobStore,
        diagnoser: DiagnoserLike,
        workers: int | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.blobs = blobs
        self.diagnoser = diagnoser
        self.size = settings.workers if workers is None else workers
        self._wakeups = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.jobs_run = 0

    def start(self) -> None:
        """Start the worker and sweeper threads and register as this process's pool (so
        `service.jobs.enqueue` wakes it)."""
        if self._threads:
            raise RuntimeError("the worker pool is already started")
        for number in range(self.size):
            thread = threading.Thread(
                target=self._work, name=f"panicdx-worker-{number}", daemon=True
            )
            self._threads.append(thread)
        self._threads.append(
            threading.Thread(target=self._sweep, name="panicdx-sweeper", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        with _Current.lock:
            _Current.pool = self
        log.info("worker pool started with %d worker(s)", self.size)

    def wake(self) -> None:
        """Tell one idle worker there is a new job (a spare wake-up is harmless)."""
        self._wakeups.release()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs and wait up to `timeout` seconds for running ones. A job still
        running when the process exits keeps its lease until it expires, then is retried."""
        with _Current.lock:
            if _Current.pool is self:
                _Current.pool = None
        self._stopping.set()
        for _ in self._threads:
            self._wakeups.release()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        worker_id = make_worker_id("pool")
        while not self._stopping.is_set():
            try:
                outcome = run_next_job(
                    worker_id,
                    session_factory=self.database.write_session,
                    blobs=self.blobs,
                    diagnoser=self.diagnoser,
                    settings=self.settings,
                )
            except Exception:  # the database is down or similar: back off, never die
                log.exception("worker %s: could not take a job", worker_id)
                outcome = None
            if outcome is not None:
                self.jobs_run += 1
                continue  # there may be more queued: look again before sleeping
            self._wakeups.acquire(timeout=self.settings.poll_seconds)

    def _sweep(self) -> None:
        next_purge = time.monotonic()
        while True:
            try:
                with self.database.write_session() as session:
                    requeued = repo.requeue_expired(session)
                    session.commit()
                for _ in range(requeued):
                    self.wake()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self.settings.purge_interval_seconds
                    purge_raw_uploads(self.database, self.blobs, self.settings)
            except Exception:
                log.exception("sweeper: could not requeue expired jobs or purge uploads")
            if self._stopping.wait(self.settings.sweep_seconds):
                return


def purge_raw_uploads(database: Database, blobs: BlobStore, settings: Settings) -> int:
    """Run retention once (`panicdx db purge`, the pool's sweeper, the Celery sweeper): raw
    uploads past their retention, then blobs no upload refers to and unfinished writes."""
    with database.write_session() as session:
        purged = repo.purge_expired_raw(session, blobs, retention_days=settings.raw_retention_days)
        session.commit()
    with database.session() as session:
        purged += repo.purge_orphan_blobs(session, blobs)
    return purged


def wake_current_pool() -> bool:
    """Wake this process's running pool; False when there is none (the job waits for a
    worker's next poll, possibly in another process)."""
    with _Current.lock:
        pool = _Current.pool
    if pool is None:
        return False
    pool.wake()
    return True


def redispatch_interval(settings: Settings) -> timedelta:
    """How long a queued job may sit before a sweeper sends it to the broker again."""
    return timedelta(seconds=max(settings.lease_seconds, 2 * settings.sweep_seconds))


def main(argv: list[str] | None = None) -> None:
    """Run a worker pool in the foreground until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m service.jobs.pool", description=__doc__)
    parser.add_argument("--data-dir", default=None, help="data directory (PANICDX_DATA_DIR)")
    parser.add_argument("--workers", type=int, default=None, help="worker threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from pathlib import Path

    from service.db.migrate import upgrade_database
    from service.diagnoser import Diagnoser

    settings = get_settings(Path(args.data_dir) if args.data_dir else None)
    upgrade_database(settings)
    pool = WorkerPool(
        settings=settings,
        database=open_database(settings),
        blobs=open_blob_store(settings),
        diagnoser=Diagnoser.load(settings.model_dir),
        workers=args.workers,
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    pool.start()
    sys.stdout.write("pool ready\n")  # the tests wait for this line
    sys.stdout.flush()
    stop.wait()
    pool.stop()


if __name__ == "__main__":
    main()

"""Jobs per minute per worker: the in-process pool and Celery workers, on real panic logs.

For each backend, one worker (one pool thread, or one Celery worker process with concurrency 1)
runs jobs from a temporary installation (SQLite, local blob store). The logs are the project's
real panic logs: examples/*.log and the knowledge base's positive examples
(knowledge_base/examples/*/positive-*.log), submitted through the API's data path (the blob
store's `put_stream`, then `repo.submit_upload` in one write transaction, then
`service.jobs.enqueue`). A log is submitted once per tenant (the same bytes in one tenant are
deduplicated to the existing job), so runs longer than the log set use further tenants.

Per backend, after one warm-up job (the worker's imports and model load are not counted):

1. Backlog: `--jobs` jobs stored, then handed to the worker at once (wake-ups or broker
   messages); throughput = jobs / (last finished - first started), from the job rows'
   timestamps, reported as jobs per minute per worker.
2. One at a time: `--latency-jobs` jobs, each submitted when the previous one is done; the
   queue-to-done latency (job created -> finished, from the rows) as p50/p99: what one upload
   waits for on an idle worker, dispatch included (a wake-up, or a broker round trip).

Every phase stops at `--max-seconds` and reports what finished by then (marked "partial").

Usage: .venv/bin/python benchmarks/bench_jobs.py [--backends pool,redis,rabbitmq]
       [--jobs 200] [--latency-jobs 50] [--max-seconds 300]
       [--redis-url redis://127.0.0.1:6379/14] [--rabbitmq-url amqp://guest:guest@127.0.0.1:5672//]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from service.blobs import BlobStore, open_blob_store, raw_upload_key  # noqa: E402
from service.db import repo  # noqa: E402
from service.db.migrate import upgrade_database  # noqa: E402
from service.db.models import Job, JobState  # noqa: E402
from service.db.session import Database, open_database  # noqa: E402
from service.jobs import enqueue  # noqa: E402
from service.settings import Settings  # noqa: E402

FINISHED = (JobState.DONE, JobState.FAILED)


def real_logs() -> list[tuple[str, bytes]]:
    """(file name, content) of every example panic log and knowledge-base positive."""
    paths = sorted(REPO.glob("examples/*.log"))
    paths += sorted(REPO.glob("knowledge_base/examples/*/positive-*.log"))
    return [(path.name, path.read_bytes()) for path in paths]


class Submitter:
    """Submits the real logs in turn, moving to a new tenant after each pass over them."""

    def __init__(self, database: Database, blobs: BlobStore, settings: Settings) -> None:
        self.database = database
        self.blobs = blobs
        self.settings = settings
        self.logs = real_logs()
        self._next = itertools.count()
        self._tenants: dict[int, str] = {}

    def _tenant(self, number: int) -> str:
        if number not in self._tenants:
            with self.database.write_session() as session:
                tenant = repo.get_or_create_tenant(session, f"bench-{uuid.uuid4().hex[:8]}")
                session.commit()
                self._tenants[number] = tenant.id
        return self._tenants[number]

    def submit(self) -> str:
        """Store the next log and queue its job (as the API does); returns the job id."""
        job_id = self.store()
        enqueue(job_id, self.settings)
        return job_id

    def store(self) -> str:
        """Store the next log and create its queued job, not yet handed to a worker."""
        turn = next(self._next)
        tenant_id = self._tenant(turn // len(self.logs))
        name, content = self.logs[turn % len(self.logs)]
        key = raw_upload_key(tenant_id)
        size, sha256 = self.blobs.put_stream(key, [content])
        with self.database.write_session() as session:
            submission = repo.submit_upload(
                session,
                tenant_id,
                sha256=sha256,
                size=size,
                blob_key=key,
                filename=name,
                kind="log",
            )
            session.commit()
        if not submission.created:  # cannot happen with one pass per tenant; keep it honest
            raise RuntimeError(f"{name} was deduplicated: the benchmark would count it twice")
        return submission.job.id


def load_jobs(database: Database, job_ids: list[str]) -> list[Job]:
    with database.session() as session:
        jobs = [repo.get_job_any_tenant(session, job_id) for job_id in job_ids]
    return [job for job in jobs if job is not None]


def wait_finished(database: Database, job_ids: list[str], deadline: float) -> list[Job]:
    """Poll until every job finished or the deadline passed; returns the finished ones."""
    while True:
        jobs = load_jobs(database, job_ids)
        finished = [job for job in jobs if job.state in FINISHED]
        if len(finished) == len(job_ids) or time.monotonic() > deadline:
            return finished
        time.sleep(0.05)


@dataclass
class Figures:
    backend: str
    backlog_jobs: int
    backlog_seconds: float
    backlog_partial: bool
    latencies_ms: list[float]
    latency_partial: bool
    failed: int

    @property
    def jobs_per_minute(self) -> float:
        return 60.0 * self.backlog_jobs / self.backlog_seconds if self.backlog_seconds else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def seconds_between(start: datetime | None, end: datetime | None) -> float:
    assert start is not None and end is not None
    return (end - start).total_seconds()


def measure(backend: str, submitter: Submitter, args: argparse.Namespace) -> Figures:
    """Warm-up, backlog and one-at-a-time phases against a running worker."""
    database = submitter.database
    warm = wait_finished(database, [submitter.submit()], time.monotonic() + 300)
    if not warm:
        raise RuntimeError(f"{backend}: the warm-up job did not finish within 300 s")

    # The whole backlog is stored first and then handed over at once, so the worker never
    # waits for the submitter and the window below measures only the worker.
    backlog_ids = [submitter.store() for _ in range(args.jobs)]
    for job_id in backlog_ids:
        enqueue(job_id, submitter.settings)
    backlog = wait_finished(database, backlog_ids, time.monotonic() + args.max_seconds)
    first_start = min(job.started_at for job in backlog if job.started_at)
    last_end = max(job.finished_at for job in backlog if job.finished_at)

    latencies: list[float] = []
    phase_end = time.monotonic() + args.max_seconds
    latency_partial = False
    for _ in range(args.latency_jobs):
        if time.monotonic() > phase_end:
            latency_partial = True
            break
        done = wait_finished(database, [submitter.submit()], phase_end)
        if not done:
            latency_partial = True
            break
        latencies.append(1000 * seconds_between(done[0].created_at, done[0].finished_at))
    failed = sum(job.state is JobState.FAILED for job in backlog)
    return Figures(
        backend=backend,
        backlog_jobs=len(backlog),
        backlog_seconds=seconds_between(first_start, last_end),
        backlog_partial=len(backlog) < len(backlog_ids),
        latencies_ms=latencies,
        latency_partial=latency_partial,
        failed=failed,
    )


@contextlib.contextmanager
def installation(settings: Settings) -> Iterator[tuple[Database, BlobStore]]:
    upgrade_database(settings)
    database = open_database(settings)
    try:
        yield database, open_blob_store(settings)
    finally:
        database.dispose()


def run_pool(data_dir: Path, args: argparse.Namespace) -> Figures:
    """One in-process pool worker thread in this process."""
    from service.diagnoser import Diagnoser
    from service.jobs.pool import WorkerPool

    # Idle workers wait for a wake-up only (no polling), so the stored backlog waits for its
    # hand-over like the Celery backlog waits for its messages.
    settings = Settings(data_dir=data_dir, workers=1, poll_seconds=3600)
    with installation(settings) as (database, blobs):
        pool = WorkerPool(
            settings=settings,
            database=database,
            blobs=blobs,
            diagnoser=Diagnoser.load(settings.model_dir),
        )
        pool.start()
        try:
            return measure("in-process pool", Submitter(database, blobs, settings), args)
        finally:
            pool.stop()


def run_celery(data_dir: Path, kind: str, broker_url: str, args: argparse.Namespace) -> Figures:
    """One `panicdx worker --concurrency 1` process on the broker, in a private queue."""
    run = uuid.uuid4().hex[:12]
    queue = f"panicdx-bench-{run}"
    prefix = f"panicdx-bench-{run}:" if kind == "redis" else ""
    settings = Settings(
        data_dir=data_dir,
        broker_url=broker_url,
        celery_queue=queue,
        celery_redis_key_prefix=prefix,
        workers=1,
    )
    env = {
        **os.environ,
        "PANICDX_DATA_DIR": str(data_dir),
        "PANICDX_BROKER_URL": broker_url,
        "PANICDX_CELERY_QUEUE": queue,
        "PANICDX_CELERY_REDIS_KEY_PREFIX": prefix,
        "PANICDX_WORKERS": "1",
    }
    with installation(settings) as (database, blobs):
        log = (data_dir / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return measure(f"Celery on {kind}", Submitter(database, blobs, settings), args)
        except RuntimeError as exc:
            tail = (data_dir / "worker.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\nworker log:\n{tail}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            log.close()
            clean_broker(kind, broker_url, queue, prefix)


def clean_broker(kind: str, broker_url: str, queue: str, prefix: str) -> None:
    """Remove what this run left on the broker (its queue, or its Redis keys)."""
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(broker_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    from kombu import Connection

    with Connection(broker_url) as connection:
        with contextlib.suppress(Exception):
            connection.channel().queue_delete(queue)
        with contextlib.suppress(Exception):
            connection.channel().exchange_delete(queue)


def report(figures: Figures) -> None:
    partial = " (partial: --max-seconds reached)"
    print(f"{figures.backend}:")
    print(
        f"  backlog: {figures.backlog_jobs} jobs in {figures.backlog_seconds:.1f} s = "
        f"{figures.jobs_per_minute:.0f} jobs/min per worker"
        f"{partial if figures.backlog_partial else ''}"
        f"{f', {figures.failed} failed' if figures.failed else ''}"
    )
    lat = figures.latencies_ms
    if lat:
        print(
            f"  one at a time: {len(lat)} jobs, queue-to-done p50 {percentile(lat, 0.5):.0f} ms, "
            f"p99 {percentile(lat, 0.99):.0f} ms, mean {statistics.fmean(lat):.0f} ms"
            f"{partial if figures.latency_partial else ''}"
        )


def main() -> None:
    """Parse the arguments, run each backend, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="pool,redis", help="pool, redis, rabbitmq")
    parser.add_argument("--jobs", type=int, default=200, help="backlog jobs per backend")
    parser.add_argument("--latency-jobs", type=int, default=50, help="one-at-a-time jobs")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="limit per phase")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(backends) - {"pool", "redis", "rabbitmq"}
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}: use pool, redis, rabbitmq")
    if args.jobs < 1 or args.latency_jobs < 0 or args.max_seconds <= 0:
        parser.error("--jobs must be >= 1, --latency-jobs >= 0 and --max-seconds > 0")
    print(
        f"{len(real_logs())} real logs; {args.jobs} backlog jobs and {args.latency_jobs} "
        f"one-at-a-time jobs per backend; SQLite, local blobs, 1 worker; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="panicdx-bench-jobs-") as tmp:
            data_dir = Path(tmp)
            if backend == "pool":
                figures = run_pool(data_dir, args)
            elif backend == "redis":
                figures = run_celery(data_dir, "redis", args.redis_url, args)
            else:
                figures = run_celery(data_dir, "rabbitmq", args.rabbitmq_url, args)
        report(figures)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

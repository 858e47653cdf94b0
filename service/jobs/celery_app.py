"""Celery workers for the scale-out topology (`panicdx worker`, broker = Redis or RabbitMQ).

The task `panicdx.run_job(job_id)` calls the same runner as the in-process pool. Delivery is
at-least-once (late acks; a task whose worker process died is rejected back to the queue, one
task prefetched at a time) and the job's lease makes a duplicate delivery harmless: only the
claim that succeeds runs the job.

Lost work is recovered by a sweeper thread in every worker's main process (a worker-side timer,
not celery beat, so there is no extra process to deploy): every `sweep_seconds` it requeues
jobs whose lease expired and sends them to the broker again, re-sends queued jobs whose message
seems lost (see `redispatch_interval`), and every `purge_interval_seconds` purges raw uploads
past retention. Several workers sweeping at once is fine: every change is conditional.

Both brokers are tested for real (tests/service/jobs/test_jobs_kill_celery.py and
test_jobs_celery_retry.py). On RabbitMQ the server's `consumer_timeout` (30 minutes by default)
closes the channel of a consumer holding an unacknowledged message longer than that; tasks are
acknowledged late, so raise it in rabbitmq.conf if dump extractions can run longer (the job is
not lost either way: it keeps its lease, and the sweeper re-sends it if that expires).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from celery import Celery, signals

from service.blobs import BlobStore, open_blob_store
from service.db import repo
from service.db.models import JobState
from service.db.session import Database, open_database
from service.jobs.runner import DiagnoserLike, make_worker_id, run_job
from service.jobs.training_beat import configure_training
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)

TASK_NAME = "panicdx.run_job"


def create_celery(settings: Settings) -> Celery:
    """A Celery app for `settings.broker_url` with the task registered."""
    if not settings.broker_url:
        raise ValueError(
            "PANICDX_BROKER_URL is not set: Celery needs a broker (redis:// or amqp://)"
        )
    broker_kind(settings.broker_url)  # an unknown scheme fails here, with the fix
    app = Celery("panicdx", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.task(name=TASK_NAME, ignore_result=True)(_run_job_task)
    configure_training(app, settings)  # scheduled training (issue 5), if configured
    return app


def broker_kind(broker_url: str) -> str:
    """ "redis" or "amqp" (RabbitMQ) for a broker URL; ValueError for any other scheme."""
    scheme = broker_url.partition("://")[0].lower()
    if scheme in ("redis", "rediss", "sentinel"):
        return "redis"
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    raise ValueError(
        f"unsupported broker URL scheme {scheme!r}: use redis://... or amqp://... (RabbitMQ)"
    )


def _transport_options(settings: Settings) -> dict[str, Any]:
    assert settings.broker_url
    if broker_kind(settings.broker_url) == "amqp":
        # RabbitMQ needs neither: it requeues a delivery as soon as the consumer's connection
        # drops (a killed worker), and queues, not key prefixes, separate installations.
        return {}
    options: dict[str, Any] = {"visibility_timeout": settings.celery_visibility_timeout}
    if settings.celery_redis_key_prefix:
        options["global_keyprefix"] = settings.celery_redis_key_prefix
    return options


@cache
def _app_for(broker_url: str, queue: str, key_prefix: str) -> Celery:
    settings = get_settings().with_overrides(
        broker_url=broker_url, celery_queue=queue, celery_redis_key_prefix=key_prefix
    )
    return create_celery(settings)


def celery_app(settings: Settings) -> Celery:
    """The process's Celery app for these settings (created once per broker configuration)."""
    assert settings.broker_url
    return _app_for(settings.broker_url, settings.celery_queue, settings.celery_redis_key_prefix)


def send_job(job_id: str, settings: Settings) -> bool:
    """Send the job to the broker; False (logged) when the broker cannot be reached."""
    try:
        celery_app(settings).send_task(TASK_NAME, args=[job_id], queue=settings.celery_queue)
    except Exception:
        log.exception("job %s: could not reach the broker; a sweeper will re-send it", job_id)
        return False
    return True


@dataclass
class _Resources:
    pid: int
    settings: Settings
    database: Database
    blobs: BlobStore
    diagnoser: DiagnoserLike


class _Process:
    """This process's resources (and, in the main process, its sweeper)."""

    resources: _Resources | None = None
    sweeper: Sweeper | None = None
    lock = threading.Lock()


def _process_resources() -> _Resources:
    """Database, blob store and diagnoser of this worker process, made after the fork (a
    connection pool must never be shared across processes).

    Made on the first task, not in `worker_process_init`: Celery gives a new pool process
    only a few seconds to report that it is up, less than loading the model can take on a busy
    machine, and a process that misses it is killed and replaced, over and over.
    """
    with _Process.lock:
        resources = _Process.resources
        if resources is None or resources.pid != os.getpid():
            from service.api.live_model import LiveDiagnoser
            from service.diagnoser import Diagnoser
            from service.learning import ActiveModel

            settings = get_settings()
            database = open_database(settings)
            blobs = open_blob_store(settings)
            # The registry's active model, swapped when another is promoted (issue 5), as
            # in the API and its in-process pool.
            live = LiveDiagnoser(
                Diagnoser.load(settings.model_dir), ActiveModel(settings, database.session, blobs)
            )
            resources = _Resources(
                pid=os.getpid(),
                settings=settings,
                database=database,
                blobs=blobs,
                diagnoser=live,
            )
            _Process.resources = resources
        return resources


def _run_job_task(job_id: str) -> str:
    """Celery task body: run the job; returns what happened (for the worker's log)."""
    resources = _process_resources()
    outcome = run_job(
        job_id,
        make_worker_id("celery"),
        session_factory=resources.database.write_session,
        blobs=resources.blobs,
        diagnoser=resources.diagnoser,
        settings=resources.settings,
    )
    if not outcome.claimed:
        return "not claimable (finished, deleted or running elsewhere)"
    if outcome.state is JobState.QUEUED:
        # Retried after an unexpected error: it needs a new message to run again.
        send_job(job_id, resources.settings)
    return "lease lost" if outcome.lease_lost else str(outcome.state)


class Sweeper:
    """The worker-side timer described in the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="panicdx-sweeper", daemon=True)

    def start(self) -> None:
        """Start the sweeper thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the sweeper thread (waits for the current round)."""
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from service.jobs.pool import purge_raw_uploads, redispatch_interval

        settings = self.settings
        database = open_database(settings)
        blobs = open_blob_store(settings)
        next_purge = 0.0
        while True:
            try:
                with database.write_session() as session:
                    requeued = repo.requeue_expired_ids(session)
                    stale = repo.redispatch_stale_queued(session, redispatch_interval(settings))
                    session.commit()
                for job_id in [*requeued, *stale]:
                    send_job(job_id, settings)
                if requeued or stale:
                    log.info(
                        "sweeper: re-sent %d requeued and %d stale job(s)",
                        len(requeued),
                        len(stale),
                    )
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + settings.purge_interval_seconds
                    purge_raw_uploads(database, blobs, settings)
            except Exception:
                log.exception("sweeper round failed; retrying later")
            if self._stopping.wait(settings.sweep_seconds):
                database.dispose()
                return


def _start_sweeper(**_kwargs: Any) -> None:
    # worker_ready fires in the main process after the pool processes were forked, so the
    # sweeper's thread and connections are never copied into a child.
    if _Process.sweeper is None:
        _Process.sweeper = Sweeper(get_settings())
        _Process.sweeper.start()


def _stop_sweeper(**_kwargs: Any) -> None:
    if _Process.sweeper is not None:
        _Process.sweeper.stop()


signals.worker_ready.connect(_start_sweeper, weak=False)
signals.worker_shutdown.connect(_stop_sweeper, weak=False)


def check_broker(settings: Settings, timeout: float = 5.0) -> None:
    """Connect to the broker once; raises `ConnectionError` saying why when it cannot (an
    unsupported URL scheme included)."""
    try:
        app = create_celery(settings)
    except ValueError as exc:
        raise ConnectionError(str(exc)) from exc
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        raise ConnectionError(f"cannot reach the broker at {settings.broker_url}: {exc}") from exc


def run_worker(
    settings: Settings,
    concurrency: int | None = None,
    loglevel: str = "INFO",
    *,
    beat: bool = False,
) -> None:
    """Run a Celery worker in the foreground (the `panicdx worker` command).

    `beat` also runs Celery beat inside it (`panicdx worker --beat`: scheduled training, see
    `service.jobs.training_beat`); run it on one worker per installation only.

    The settings reach the pool processes through the environment, so the caller must have
    exported any override (the CLI sets `PANICDX_DATA_DIR` for `--data-dir`).
    """
    app = create_celery(settings)
    argv = ["worker", f"--loglevel={loglevel}", f"--queues={settings.celery_queue}"]
    argv.append(f"--concurrency={concurrency or settings.workers or 1}")
    # A node name unique per process, so several workers can run on one host.
    argv.append(f"--hostname=panicdx-{os.getpid()}@%h")
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if beat:
        schedule = settings.data_dir.resolve() / "celerybeat-schedule"
        argv += ["--beat", f"--schedule={schedule}"]
    app.worker_main(argv=argv)

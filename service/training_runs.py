"""Batch training runs: one candidate-model training at a time per installation, recorded.

A run is a `training_runs` row (queued -> running -> done | failed). Every way of training
against a service data directory goes through it: `POST /v1/models/train` (the API starts
`python -m service.training_runs RUN_ID` as a child process, so minutes of CPU-bound
training never hold the API's interpreter), Celery beat (`service.jobs.training_beat`) and
`panicdx train --data-dir` (in its own process).

* One at a time: an unfinished run holds `active_slot = 1`, which is unique, so a second
  start fails in the database whichever process tries it (`RunConflict`).
* Nothing hangs as "running" forever: the training process refreshes `heartbeat_at`; a run
  whose heartbeat is older than `STALE_AFTER`, or whose process (same host) is gone, is
  marked failed with the code `interrupted` by `reap_interrupted`, which every reader calls.
* "New labels" (`new_label_count`): labels whose id (ids sort by creation time) is after the
  newest label the last finished run saw when it started.

The training set is every label of the installation, whichever tenant gave it: the model is
shared by the installation and reveals no tenant's logs, and only admins can start a run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classifier.train import Progress
from service.db.models import Label, ModelVersion, TrainingRun, TrainingState, utcnow
from service.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# Long enough for a busy machine to miss a few heartbeats; short enough that a crashed run
# frees the slot within minutes.
STALE_AFTER = timedelta(seconds=120)
INTERRUPTED = "interrupted"
TRAINING_FAILED = "training_failed"
INTERNAL_ERROR = "internal_error"
UNFINISHED = (TrainingState.QUEUED, TrainingState.RUNNING)

SessionFactory = Callable[[], Session]


class RunConflict(Exception):
    """Another training run is unfinished; `run_id` is its id (None if it just finished)."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(f"training run {run_id or '(another)'} is already queued or running")
        self.run_id = run_id


class RunNotQueued(Exception):
    """The run to execute does not exist or is not waiting to start; the message says which."""


def this_owner(pid: int | None = None) -> str:
    """`host:pid` of this process (or of `pid` on this host): who is running a run."""
    return f"{socket.gethostname()}:{pid if pid is not None else os.getpid()}"


def _owner_is_gone(owner: str | None) -> bool:
    """True when `owner` is a process of this host that no longer exists."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _finish(
    row: TrainingRun,
    state: TrainingState,
    *,
    code: str | None = None,
    message: str | None = None,
) -> None:
    row.state = state
    row.active_slot = None
    row.finished_at = utcnow()
    row.error_code = code
    row.error_message = message
    row.stage_message = "finished" if state is TrainingState.DONE else "failed"


def fail_run(session: Session, run_id: str, code: str, message: str) -> None:
    """Mark a run failed now, unless it already finished (the caller commits)."""
    row = session.get(TrainingRun, run_id)
    if row is not None and row.active_slot is not None:
        _finish(row, TrainingState.FAILED, code=code, message=message)
        session.flush()


def reap_interrupted(session: Session, now: datetime | None = None) -> list[str]:
    """Mark unfinished runs whose process died or stopped beating as failed `interrupted`.

    Returns their ids. The caller commits.
    """
    now = now or utcnow()
    reaped = []
    rows = session.scalars(select(TrainingRun).where(TrainingRun.active_slot.is_not(None)))
    for row in rows:
        beat = row.heartbeat_at or row.created_at
        if _owner_is_gone(row.owner):
            why = "its process exited before it finished (server restart or crash)"
        elif now - beat > STALE_AFTER:
            why = f"no heartbeat since {beat.isoformat(timespec='seconds')}"
        else:
            continue
        _finish(row, TrainingState.FAILED, code=INTERRUPTED, message=f"interrupted: {why}")
        reaped.append(row.id)
    session.flush()
    return reaped


def reap_if_needed(sessions: SessionFactory, write_sessions: SessionFactory) -> None:
    """`reap_interrupted` in its own write transaction, only when a run is unfinished (so
    readers of finished runs never take the database's write lock)."""
    with sessions() as session:
        if unfinished_run(session) is None:
            return
    with write_sessions() as session:
        if reap_interrupted(session):
            session.commit()


def unfinished_run(session: Session) -> TrainingRun | None:
    """The queued or running run, or None when no run is unfinished."""
    return session.scalars(select(TrainingRun).where(TrainingRun.active_slot.is_not(None))).first()


def get_run(session: Session, run_id: str) -> TrainingRun | None:
    """One run, or None when there is no run with this id."""
    return session.get(TrainingRun, run_id)


def list_runs(session: Session, limit: int = 20) -> list[TrainingRun]:
    """The newest `limit` runs, newest first."""
    query = select(TrainingRun).order_by(TrainingRun.created_at.desc(), TrainingRun.id.desc())
    return list(session.scalars(query.limit(limit)))


def start_run(session: Session, *, trigger: str, requested_by: str | None) -> TrainingRun:
    """Add a queued run (after reaping interrupted ones) and flush it.

    Raises RunConflict when another run is unfinished; after a RunConflict raised by the
    flush (a race with another process) the caller must roll the session back.
    """
    reap_interrupted(session)
    running = unfinished_run(session)
    if running is not None:
        raise RunConflict(running.id)
    row = TrainingRun(
        state=TrainingState.QUEUED,
        active_slot=1,
        trigger=trigger,
        requested_by=requested_by,
        owner=this_owner(),
        heartbeat_at=utcnow(),
        stage_message="waiting for the training process",
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another process started one between our check and here
        raise RunConflict(None) from exc
    return row


def _newest_label_id(session: Session) -> str | None:
    return session.scalar(select(func.max(Label.id)))


def new_label_count(session: Session) -> int:
    """Labels added since the last training started (all labels if nothing was trained).

    The last training is the newest finished run; a version registered without a run (an
    older panicdx) counts by its registration time.
    """
    last = session.scalars(
        select(TrainingRun)
        .where(TrainingRun.state == TrainingState.DONE)
        .order_by(TrainingRun.finished_at.desc())
    ).first()
    query = select(func.count()).select_from(Label)
    if last is not None:
        if last.label_watermark is not None:
            query = query.where(Label.id > last.label_watermark)
    else:
        version = session.scalars(
            select(ModelVersion).order_by(ModelVersion.created_at.desc())
        ).first()
        if version is not None:
            # Ids begin with the creation time in ms (`service.db.models.new_id`).
            millis = int(version.created_at.timestamp() * 1000)
            query = query.where(Label.id > f"lb_{millis:012x}")
    return int(session.scalar(query) or 0)


def run_json(row: TrainingRun) -> dict[str, Any]:
    """A run as the API and `--json` show it."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    candidate = (row.metrics or {}).get("candidate") or {}
    return {
        "id": row.id,
        "state": row.state.value,
        "trigger": row.trigger,
        "requested_by": row.requested_by,
        "stage_message": row.stage_message,
        "created_at": when(row.created_at),
        "started_at": when(row.started_at),
        "finished_at": when(row.finished_at),
        "heartbeat_at": when(row.heartbeat_at),
        "error": (
            {"code": row.error_code, "message": row.error_message}
            if row.state is TrainingState.FAILED
            else None
        ),
        "candidate": (
            {
                "version": row.version,
                "report_path": row.report_path,
                "macro_f1": candidate.get("macro_f1"),
                "accuracy": candidate.get("accuracy"),
                "compared_with": (row.metrics or {}).get("compared_with"),
                "metrics": row.metrics,
            }
            if row.version is not None
            else None
        ),
    }


# --- Running a run (in the training process) ----------------------------------------------


class _RecordingProgress(Progress):
    """Keeps the current training step, which the heartbeat writes to the run."""

    def __init__(self, inner: Progress | None) -> None:
        self.inner = inner or Progress()
        self.stage = "starting"

    def start(self, name: str, total: int) -> None:
        """A step begins: remember it, pass it on."""
        self.stage = name
        self.inner.start(name, total)

    def advance(self, name: str, amount: int = 1) -> None:
        """Pass progress on."""
        self.inner.advance(name, amount)

    def note(self, message: str) -> None:
        """Pass the message on."""
        self.inner.note(message)


class _Heartbeat:
    """A thread refreshing the run's heartbeat and current step until stopped."""

    def __init__(self, sessions: SessionFactory, run_id: str, progress: _RecordingProgress):
        self._sessions = sessions
        self._run_id = run_id
        self._progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="panicdx-train-beat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self._sessions() as session:
                    row = session.get(TrainingRun, self._run_id)
                    if row is not None and row.active_slot is not None:
                        row.heartbeat_at = utcnow()
                        row.stage_message = self._progress.stage[:500]
                        session.commit()
            except Exception:  # a missed beat is retried; the run goes on
                log.exception("training run %s: heartbeat failed", self._run_id)


def _claim(sessions: SessionFactory, run_id: str) -> None:
    """Mark the queued run as running in this process; RunConflict if it is not queued."""
    with sessions() as session:
        row = session.get(TrainingRun, run_id)
        if row is None:
            raise RunNotQueued(f"no training run {run_id!r}")
        if row.state is not TrainingState.QUEUED or row.active_slot is None:
            raise RunNotQueued(f"training run {run_id} is {row.state.value}, not queued")
        now = utcnow()
        row.state = TrainingState.RUNNING
        row.owner = this_owner()
        row.started_at = row.heartbeat_at = now
        row.stage_message = "loading labels"
        row.label_watermark = _newest_label_id(session)
        session.commit()


def _record(sessions: SessionFactory, run_id: str, update: Callable[[TrainingRun], None]) -> None:
    with sessions() as session:
        row = session.get(TrainingRun, run_id)
        if row is not None:
            update(row)
            session.commit()


def execute_run(
    settings: Settings,
    database: Any,
    blobs: Any,
    run_id: str,
    *,
    out: Path | None = None,
    progress: Progress | None = None,
) -> Any:
    """Train the queued run `run_id` in this process and record the outcome.

    `database` is a `service.db.session.Database`, `blobs` a BlobStore. Returns the
    `TrainedCandidate`; raises `TrainingError` (recorded as `training_failed`), RunNotQueued
    when the run is not waiting to start, or whatever else stopped it (recorded as `internal_error`,
    or `interrupted` for a signal or Ctrl-C).
    """
    from service.learning import TrainingError, train_candidate

    sessions: SessionFactory = database.write_session
    recording = _RecordingProgress(progress)
    _claim(sessions, run_id)
    with _Heartbeat(sessions, run_id, recording):
        try:
            done = train_candidate(
                settings,
                database.engine,
                blobs,
                out=out,
                corpus_path=settings.train_corpus,
                cross_validate=settings.train_cross_validate,
                progress=recording,
            )
        except TrainingError as exc:
            reason = str(exc)
            _record(
                sessions,
                run_id,
                lambda r: _finish(r, TrainingState.FAILED, code=TRAINING_FAILED, message=reason),
            )
            raise
        except BaseException as exc:
            code = INTERNAL_ERROR if isinstance(exc, Exception) else INTERRUPTED
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            _record(
                sessions,
                run_id,
                lambda r: _finish(r, TrainingState.FAILED, code=code, message=message),
            )
            raise

    def finished(row: TrainingRun) -> None:
        _finish(row, TrainingState.DONE)
        row.version = done.version
        row.report_path = str(done.report_path)
        row.metrics = done.metrics

    _record(sessions, run_id, finished)
    return done


# --- Starting a run in a child process (the API) ------------------------------------------


@dataclass
class LaunchedRun:
    """A training process started for a run, and the thread that reaps it."""

    run_id: str
    process: subprocess.Popen[bytes]
    waiter: threading.Thread


def training_log_path(settings: Settings, run_id: str) -> Path:
    """Where the training process of `run_id` writes its log (stderr)."""
    return settings.data_dir / "models" / f"training-{run_id}.log"


def launch_run(settings: Settings, sessions: SessionFactory, run_id: str) -> LaunchedRun:
    """Start `python -m service.training_runs RUN_ID` for a queued run.

    The settings go to the child on its standard input (they may hold database passwords,
    which must not appear in a process list). A thread waits for the child and marks the run
    `interrupted` if it exited without recording an outcome. OSError when it cannot start.
    """
    log_path = training_log_path(settings, run_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.training_runs", run_id],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=log_file,
            close_fds=True,
        )
    assert process.stdin is not None
    try:
        process.stdin.write(settings.model_dump_json().encode("utf-8"))
        process.stdin.close()
    except OSError:  # the child died at once; the waiter records it
        pass

    def wait() -> None:
        status = process.wait()

        def interrupted(row: TrainingRun) -> None:
            if row.active_slot is not None:
                _finish(
                    row,
                    TrainingState.FAILED,
                    code=INTERRUPTED,
                    message=f"interrupted: the training process exited with status {status} "
                    f"before recording an outcome (log: {log_path})",
                )

        try:
            _record(sessions, run_id, interrupted)
        except Exception:  # the API is shutting down: the reaper will see the dead process
            log.exception("training run %s: cannot record the process's exit", run_id)

    waiter = threading.Thread(target=wait, name=f"panicdx-train-{run_id}", daemon=True)
    waiter.start()
    return LaunchedRun(run_id, process, waiter)


def train_if_new_labels(settings: Settings, *, trigger: str, requested_by: str | None) -> str:
    """Start and run a training in this process when labels were added since the last one.

    What scheduled training calls. Returns what happened, in one line (nothing to do, another
    run is in progress, the candidate trained, or why it failed); never raises for those.
    """
    from service.blobs import open_blob_store
    from service.db.session import open_database
    from service.learning import TrainingError

    database = open_database(settings)
    try:
        with database.write_session() as session:
            reap_interrupted(session)
            count = new_label_count(session)
            if count == 0:
                session.commit()
                return "no labels added since the last training: nothing to do"
            try:
                run = start_run(session, trigger=trigger, requested_by=requested_by)
            except RunConflict as exc:
                session.rollback()
                return f"not started: {exc}"
            session.commit()
            run_id = run.id
        try:
            done = execute_run(settings, database, open_blob_store(settings), run_id)
        except TrainingError as exc:
            return f"training run {run_id} failed: {exc}"
        return f"training run {run_id} registered candidate {done.version} ({count} new labels)"
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: `python -m service.training_runs RUN_ID`, settings JSON on stdin."""
    from service.blobs import open_blob_store
    from service.db.session import open_database

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m service.training_runs RUN_ID < settings.json\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # A stop (systemd, `kill`) ends the run as `interrupted` on the record, not only by the
    # reaper later: SystemExit unwinds through execute_run, which records it.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    settings = Settings.model_validate_json(sys.stdin.read())
    database = open_database(settings)
    try:
        done = execute_run(settings, database, open_blob_store(settings), args[0])
    except RunNotQueued as exc:
        log.error("%s", exc)
        return 1
    except Exception:
        log.exception("training run %s failed", args[0])
        return 1
    finally:
        database.dispose()
    log.info("training run %s registered candidate %s", args[0], done.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())

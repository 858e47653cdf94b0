"""Engine and session factories from the settings.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, and
SQLAlchemy, not the sqlite3 module, decides when transactions begin. That lets `write_session`
open its transactions with `BEGIN IMMEDIATE`: a transaction that reads and then writes (a job
claim, a completion) takes the write lock up front and waits its turn, instead of failing with
"database is locked" when another connection committed in between. Those transactions take
turns (`_WriterTurns`: a Python lock per process, then a file lock shared by every process),
so they queue instead of sleeping in SQLite's busy handler. On PostgreSQL both factories are
the same; row locks and conditional updates do that job there.
"""

from __future__ import annotations

import fcntl
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The file beside a SQLite database whose flock is the writers' turn (see `_WriterTurns`).
WRITER_LOCK_SUFFIX = "-writer.lock"
_SQLITE_BEGIN_OPTION = "panicdx_sqlite_begin"
_SQLITE_BEGIN_MODES = {"DEFERRED", "IMMEDIATE"}


@dataclass(frozen=True)
class Database:
    """An engine and its two session factories.

    `session` is for ordinary work (API reads and short writes); `write_session` is for
    read-then-write transactions such as the job runner's (on SQLite they begin IMMEDIATE).
    Sessions keep attributes after commit (`expire_on_commit=False`) so objects stay usable
    without another round trip.
    """

    engine: Engine
    session: sessionmaker[Session]
    write_session: sessionmaker[Session]

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or in a child after fork)."""
        self.engine.dispose()


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain `postgresql://` / `postgres://` URLs."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite's pragmas and transaction control when it is SQLite.

    The directory of a SQLite file is created if missing.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit mode for the driver: the "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL is durable across application crashes (the kill -9 case); only an OS
        # crash can lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    database = engine.url.database
    lock_path = (
        None if not database or database == ":memory:" else Path(database + WRITER_LOCK_SUFFIX)
    )
    writers = _WriterTurns(lock_path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        if mode == "IMMEDIATE":
            writers.take(connection.connection.info)
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            writers.give_back(connection.connection.info)
            raise

    # The write transaction is over once its connection goes back to the pool (after the
    # COMMIT or ROLLBACK) or is thrown away.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # None: a connection detached from the pool
            writers.give_back(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        writers.give_back(record.info)


class _WriterTurns:
    """Write transactions on one SQLite database take turns on a lock, across threads and
    processes.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps in
    growing steps (up to 100 ms) and wakes to retry, so under load a writer often sleeps long
    after the lock is free. Instead, a writer first takes this process's Python lock, then an
    exclusive `flock` on a file beside the database (`WRITER_LOCK_SUFFIX`), and only then
    begins: the kernel wakes a waiting process as soon as the turn is given back, so writers
    of `panicdx serve --processes N` (and of the CLI) queue instead of polling, and SQLite's
    own lock is free when BEGIN IMMEDIATE runs.

    The Python lock's wait is bounded by the busy timeout: should a turn ever not be given
    back, writers go on to SQLite's own locking after that time instead of hanging. The file
    lock has no timeout (flock has none), but the kernel drops it when its holder's process
    ends, however it ends; a process that could not open or lock the file (a read-only or
    lock-less file system) writes without it, as before, under SQLite's busy handler. Each
    engine has its own turn: a thread must not open a write transaction on a second engine
    of the same database inside one of the first (it would wait for itself; before the file
    lock it waited the busy timeout and failed).
    """

    _KEY = "panicdx_writer_turn"

    def __init__(self, lock_path: Path | None) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._lock_path = lock_path
        self._lock_fd: int | None = None

    def take(self, info: dict[Any, Any]) -> None:
        """Wait for the turn of the pooled connection whose `info` dict this is."""
        if self._pid != os.getpid():
            # A forked child (Celery's prefork pool) may have inherited the lock held by a
            # parent thread that does not exist here, and shares the parent's open lock file
            # (flock belongs to the open file, not the process): start with fresh ones.
            self._lock = threading.Lock()
            self._pid = os.getpid()
            if self._lock_fd is not None:
                # Our copy only: the parent's turn (if it holds one) stays held by its own.
                # Kept open, it would keep the parent's lock alive after the parent died.
                os.close(self._lock_fd)
                self._lock_fd = None
        if info.get(self._KEY) == self._pid:
            return  # this connection already holds the turn
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            return
        try:
            self._lock_file()
        except BaseException:
            self._lock.release()
            raise
        info[self._KEY] = self._pid

    def give_back(self, info: dict[Any, Any]) -> None:
        """End the connection's turn, if it holds one."""
        # Only a turn taken in this process (not one a forked parent held) is ours to end.
        if info.pop(self._KEY, None) == os.getpid() == self._pid:
            self._unlock_file()
            self._lock.release()

    def _lock_file(self) -> None:
        """Take the cross-process turn (with this process's Python lock held)."""
        if self._lock_path is None:
            return
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(
                    self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
            except OSError:
                self._lock_path = None  # e.g. a read-only directory: SQLite's locking only
                return
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            self._lock_path = None  # a file system without flock: SQLite's locking only

    def _unlock_file(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def open_database(settings: Settings, **engine_kwargs: Any) -> Database:
    """The engine and session factories for `settings.effective_database_url`."""
    engine = create_db_engine(settings.effective_database_url, **engine_kwargs)
    return database_for_engine(engine)


def database_for_engine(engine: Engine) -> Database:
    """Wrap an existing engine (tests build their own) in a `Database`."""
    write_engine: Engine = engine
    if engine.dialect.name == "sqlite":
        write_engine = engine.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    return Database(
        engine=engine,
        session=sessionmaker(engine, expire_on_commit=False),
        write_session=sessionmaker(write_engine, expire_on_commit=False),
    )

"""Engine and session factories from the settings.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, and
SQLAlchemy, not the sqlite3 module, decides when transactions begin. That lets `write_session`
open its transactions with `BEGIN IMMEDIATE`: a transaction that reads and then writes (a job
claim, a completion) takes the write lock up front and waits its turn, instead of failing with
"database is locked" when another connection committed in between. On PostgreSQL both
factories are the same; row locks and conditional updates do that job there.
"""

from __future__ import annotations

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

    writers = _WriterTurns()

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
    """This process's write transactions on one SQLite database take turns on a lock.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps in
    growing steps (up to 100 ms) and wakes to retry, so under load a writer often sleeps long
    after the lock is free. Queuing in-process writers on a Python lock hands the turn over
    as soon as the previous transaction ends. Writers in other processes still meet in
    SQLite's busy handler. The wait is bounded by the busy timeout: should a turn ever not be
    given back, writers go on to SQLite's own locking after that time instead of hanging.
    """

    _KEY = "panicdx_writer_turn"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self, info: dict[Any, Any]) -> None:
        """Wait for the turn of the pooled connection whose `info` dict this is."""
        if self._pid != os.getpid():
            # A forked child (Celery's prefork pool) may have inherited the lock held by a
            # parent thread that does not exist here: start with a fresh one.
            self._lock = threading.Lock()
            self._pid = os.getpid()
        if info.get(self._KEY) == self._pid:
            return  # this connection already holds the turn
        if self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            info[self._KEY] = self._pid

    def give_back(self, info: dict[Any, Any]) -> None:
        """End the connection's turn, if it holds one."""
        # Only a turn taken in this process (not one a forked parent held) is ours to end.
        if info.pop(self._KEY, None) == os.getpid() == self._pid:
            self._lock.release()


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

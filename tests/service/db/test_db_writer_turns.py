"""SQLite write transactions of one process take turns on a lock (instead of sleeping in
SQLite's busy handler): concurrent writers all succeed, and a turn is handed back however the
transaction ends (commit, rollback, an exception, a failed statement)."""

from __future__ import annotations

import threading
import time

import pytest
from dbtesting import make_tenant
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.db import repo
from service.db.session import Database


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("writer turns exist only for SQLite (PostgreSQL locks rows)")
    return db


def test_concurrent_writers_all_succeed(sqlite_db: Database) -> None:
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for step in range(10):
                with sqlite_db.write_session() as session:
                    repo.get_or_create_tenant(session, f"tenant-{index}-{step}")
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with sqlite_db.session() as session:
        assert repo.count_tenants(session) == 80


def test_the_turn_is_handed_back_however_a_transaction_ends(sqlite_db: Database) -> None:
    make_tenant(sqlite_db, "first")
    with sqlite_db.write_session() as session:  # ends with a rollback (no commit)
        repo.get_or_create_tenant(session, "never-committed")
    with pytest.raises(ZeroDivisionError), sqlite_db.write_session() as session:
        repo.get_or_create_tenant(session, "also-not")
        raise ZeroDivisionError
    with pytest.raises(OperationalError), sqlite_db.write_session() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    started = time.monotonic()
    done = threading.Event()

    def write() -> None:
        make_tenant(sqlite_db, "second")
        done.set()

    # From another thread, so a turn still held by this one would block it.
    threading.Thread(target=write, daemon=True).start()
    assert done.wait(timeout=10)
    assert time.monotonic() - started < 5
    with sqlite_db.session() as session:
        assert repo.count_tenants(session) == 2

"""SQLite write transactions of one process take turns on a lock (instead of sleeping in
SQLite's busy handler): concurrent writers all succeed, and a turn is handed back however the
transaction ends (commit, rollback, an exception, a failed statement). Writers of different
processes queue on a file lock beside the database, never in SQLite's busy handler."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dbtesting import make_tenant
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.db import repo
from service.db.session import WRITER_LOCK_SUFFIX, Database

REPO = Path(__file__).resolve().parents[3]


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


# Each process writes `rounds` transactions, holding the write lock a moment in each, with
# SQLite's busy handler off (busy_timeout 0): any wait that was not queued on the writers'
# turn would fail at once with "database is locked".
_WRITER = """
import sys, time
from sqlalchemy import text
import service.db.session as session_module
from service.settings import Settings

session_module.SQLITE_BUSY_TIMEOUT_MS = 0
path, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = session_module.open_database(Settings(database_url=f"sqlite:///{path}"))
print("ready", flush=True)
sys.stdin.readline()  # start together
for step in range(rounds):
    with db.write_session() as session:
        session.execute(text("INSERT INTO marks (who) VALUES (:who)"), {"who": name})
        time.sleep(0.002)
        session.commit()
print("done", flush=True)
"""


def test_writers_in_two_processes_queue_without_the_busy_handler(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE marks (id INTEGER PRIMARY KEY, who TEXT)")
    rounds = 60
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(rounds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name in ("first", "second")
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert "database is locked" not in err and out.strip() == "done"
    with sqlite3.connect(path) as check:
        counts = dict(check.execute("SELECT who, count(*) FROM marks GROUP BY who").fetchall())
    assert counts == {"first": rounds, "second": rounds}
    assert (tmp_path / ("shared.db" + WRITER_LOCK_SUFFIX)).exists()

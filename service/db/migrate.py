"""Run the Alembic migrations shipped in the package (`panicdx db upgrade`, `panicdx serve`).

Concurrent starts are safe: on PostgreSQL an advisory lock serialises migrators, on SQLite the
migration transaction takes the write lock first (BEGIN IMMEDIATE); the second migrator then
finds the schema already at head. SQLite's DDL is not transactional for Alembic, which then
commits after each revision: with several revisions a second migrator could slip in between
and apply one again, so on SQLite a file lock beside the database serialises whole upgrades.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from service.db.session import create_db_engine
from service.settings import Settings

_HERE = Path(__file__).resolve().parent
# Any constant works; it only has to be the same for every panicdx process.
_ADVISORY_LOCK_KEY = 0x70616E6963  # "panic"


def alembic_config(url: str | None = None) -> Config:
    """The packaged Alembic configuration, pointing at `url` when given."""
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of panicdx."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    engine = create_db_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    """Migrate the settings' database up to `revision` (default: the newest)."""
    _migrate(settings.effective_database_url, lambda cfg: command.upgrade(cfg, revision))


def downgrade_database(settings: Settings, revision: str) -> None:
    """Migrate the settings' database down to `revision` ("base" removes every table)."""
    _migrate(settings.effective_database_url, lambda cfg: command.downgrade(cfg, revision))


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """Hold an exclusive lock on `<database file>.migrate-lock` (SQLite files only)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        yield
        return
    lock_path = Path(parsed.database + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _migrate(url: str, run: Callable[[Config], None]) -> None:
    with _sqlite_file_lock(url):
        _migrate_locked(url, run)


def _migrate_locked(url: str, run: Callable[[Config], None]) -> None:
    engine = create_db_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                connection.commit()
            try:
                _run_with(connection, url, run)
            finally:
                if postgres:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY}
                    )
                    connection.commit()
    finally:
        engine.dispose()


def _run_with(connection: Connection, url: str, run: Callable[[Config], None]) -> None:
    config = alembic_config(url)
    if connection.dialect.name == "sqlite":
        connection = connection.execution_options(panicdx_sqlite_begin="IMMEDIATE")
    config.attributes["connection"] = connection
    run(config)
    if connection.in_transaction():
        connection.commit()

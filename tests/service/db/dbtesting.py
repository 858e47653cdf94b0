"""Database fixtures shared by the persistence and job tests.

Every test that takes `db` runs twice: on SQLite (a file in a temporary directory) and on the
real PostgreSQL server (a database created for this test session and dropped after it, so
parallel runs never collide). PostgreSQL tests skip with a reason when the server cannot be
reached, unless PANICDX_REQUIRE_POSTGRES=1, in which case they fail.

PANICDX_TEST_POSTGRES_URL overrides the server (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from service.blobs import LocalBlobStore, raw_upload_key
from service.db import repo
from service.db.migrate import upgrade_database
from service.db.models import Base, Job
from service.db.session import Database, create_db_engine, database_for_engine
from service.settings import Settings

POSTGRES_URL = os.environ.get(
    "PANICDX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_required() -> bool:
    """True when PANICDX_REQUIRE_POSTGRES=1 asks for a failure instead of a skip."""
    return os.environ.get("PANICDX_REQUIRE_POSTGRES") == "1"


def create_postgres_database() -> str:
    """Create a uniquely named database on the test server and return its URL; skips (or
    fails when required) if the server is unreachable."""
    import psycopg
    from psycopg import sql

    name = f"panicdx_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}".strip()
        if postgres_required():
            pytest.fail(message + " (PANICDX_REQUIRE_POSTGRES=1)")
        pytest.skip(message + " (set PANICDX_REQUIRE_POSTGRES=1 to fail instead)")
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database made by `create_postgres_database` (closing its connections)."""
    import psycopg
    from psycopg import sql

    name = url.rpartition("/")[2]
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each backend (once per session)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'panicdx.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_database(Settings(database_url=url))
    return url


def _empty_all_tables(database: Database) -> None:
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The backend's database, emptied before the test."""
    database = database_for_engine(create_db_engine(database_url))
    _empty_all_tables(database)
    yield database
    database.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    """A local blob store in a temporary directory."""
    return LocalBlobStore(tmp_path / "blobs")


def make_tenant(database: Database, name: str = "acme") -> str:
    """Create a tenant and return its id."""
    with database.write_session() as session:
        tenant = repo.get_or_create_tenant(session, name)
        session.commit()
        return tenant.id


def submit(
    database: Database,
    blobs: LocalBlobStore,
    tenant_id: str,
    content: bytes,
    *,
    filename: str = "panic.log",
    kind: str = "log",
    idempotency_key: str | None = None,
    host: str | None = None,
    max_attempts: int = 3,
) -> Job:
    """Store `content` as an upload and submit it (the API's path); returns the job."""
    key = raw_upload_key(tenant_id)
    size, sha256 = blobs.put_stream(key, [content])
    with database.write_session() as session:
        submission = repo.submit_upload(
            session,
            tenant_id,
            sha256=sha256,
            size=size,
            blob_key=key,
            filename=filename,
            kind=kind,
            host=host,
            idempotency_key=idempotency_key,
            max_attempts=max_attempts,
        )
        session.commit()
    if not submission.created:
        blobs.delete(key)
    return submission.job


__all__ = [
    "POSTGRES_URL",
    "blobs",
    "create_postgres_database",
    "database_url",
    "db",
    "drop_postgres_database",
    "make_tenant",
    "postgres_required",
    "postgres_url",
    "submit",
]

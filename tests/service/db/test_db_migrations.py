"""The packaged Alembic migrations: up, down and up again on SQLite and PostgreSQL, matching
the models exactly, and safe when several processes start at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from dbtesting import create_postgres_database, drop_postgres_database
from sqlalchemy import inspect

from service.db.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from service.db.models import Base
from service.db.session import create_db_engine
from service.settings import Settings

TABLES = {
    "tenants",
    "api_keys",
    "uploads",
    "jobs",
    "diagnoses",
    "labels",
    "model_versions",
    "training_runs",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, never migrated database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    settings = Settings(database_url=empty_url)
    assert current_revision(empty_url) is None
    upgrade_database(settings)
    assert current_revision(empty_url) == head_revision()
    assert _tables(empty_url) == TABLES
    downgrade_database(settings, "base")
    assert current_revision(empty_url) is None
    assert _tables(empty_url) == set()
    upgrade_database(settings)
    upgrade_database(settings)  # a second upgrade is a no-op
    assert _tables(empty_url) == TABLES


def test_migrations_match_the_models(empty_url: str) -> None:
    upgrade_database(Settings(database_url=empty_url))
    engine = create_db_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_concurrent_upgrades_are_safe(empty_url: str) -> None:
    # Separate processes, as when several servers start at once (Alembic itself is not
    # thread-safe: its `context` and `op` are module globals).
    env = {**os.environ, "PANICDX_DATABASE_URL": empty_url}
    script = (
        "from service.db.migrate import upgrade_database\n"
        "from service.settings import Settings\n"
        "upgrade_database(Settings())\n"
    )
    command = [sys.executable, "-c", script]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    assert current_revision(empty_url) == head_revision()
    assert _tables(empty_url) == TABLES


def test_the_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    upgrade_database(settings)
    assert (tmp_path / "data" / "panicdx.db").is_file()
    assert _tables(settings.effective_database_url) == TABLES

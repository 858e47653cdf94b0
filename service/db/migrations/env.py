"""Alembic environment: migrates the database of the panicdx settings (or a connection that
`service.db.migrate` hands over). SQLite uses batch mode, since it cannot ALTER most things."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.db.models import Base
from service.db.session import create_db_engine
from service.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, else through a new engine for the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
    engine = create_db_engine(url)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("panicdx migrations run online only (they need a database connection)")
run_migrations_online()

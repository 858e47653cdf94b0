"""Administration commands: `panicdx apikey ...`, `panicdx db ...` and `panicdx worker`.

Every command takes `--data-dir` (the embedded installation's directory); other settings come
from `PANICDX_*` variables (e.g. `PANICDX_DATABASE_URL` for PostgreSQL). Commands that touch
the database migrate it first, so they work on a fresh directory. Errors are one line on
stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from service.db.enums import Role
from service.settings import Settings, get_settings

if TYPE_CHECKING:  # keep `panicdx diagnose` start-up free of SQLAlchemy
    from service.db.session import Database

apikey_app = typer.Typer(help="Create, revoke and list API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations and retention.", no_args_is_help=True)

stderr = Console(stderr=True, soft_wrap=True)  # error lines stay whole for scripts and logs

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: PANICDX_DATA_DIR or ./panicdx-data)."
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    stderr.print(f"[bold red]panicdx:[/] {message}", highlight=False)
    return typer.Exit(code)


def _settings(data_dir: Path | None) -> Settings:
    try:
        return get_settings(data_dir)
    except Exception as exc:  # pydantic lists every bad variable; say it in one line
        raise _fail(f"invalid settings: {exc}".replace("\n", " ")) from None


@contextmanager
def _database(settings: Settings, migrate: bool = True) -> Iterator[Database]:
    """Migrate (unless told not to) and open the database; errors become CLI messages."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.db.migrate import upgrade_database
    from service.db.session import open_database

    try:
        if migrate:
            upgrade_database(settings)
        database = open_database(settings)
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(f"cannot open the database: {exc}".replace("\n", " ")) from None
    try:
        yield database
    finally:
        database.dispose()


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name (created if new).")],
    role: Annotated[Role, typer.Option("--role", help="What the key may do.")] = Role.SUBMITTER,
    label: Annotated[str | None, typer.Option("--label", help="A note to recognise it.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API key and print it (only the key, once: it is stored hashed)."""
    from service.db import repo

    if not tenant.strip():
        raise _fail("--tenant cannot be empty", 2)
    settings = _settings(data_dir)
    with _database(settings) as database, database.write_session() as session:
        _key, plaintext = repo.create_api_key(session, tenant.strip(), role, label)
        session.commit()
    sys.stdout.write(plaintext + "\n")


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or its prefix (as `list` shows).")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke an API key: it stops working at once."""
    from service.db import repo
    from service.db.errors import NotFoundError

    settings = _settings(data_dir)
    with _database(settings) as database, database.write_session() as session:
        try:
            revoked = repo.revoke_api_key(session, key)
        except NotFoundError as exc:
            raise _fail(exc.message) from None
        session.commit()
    stderr.print(f"revoked {revoked.prefix} ({revoked.id})", highlight=False)


@apikey_app.command("list")
def apikey_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List API keys: prefix, tenant, role, label, dates. Keys themselves are never shown."""
    from service.db import repo

    settings = _settings(data_dir)
    with _database(settings) as database, database.session() as session:
        rows = repo.list_api_keys(session, tenant)
    records = [
        {
            "id": key.id,
            "prefix": key.prefix,
            "tenant": tenant_name,
            "role": key.role.value,
            "label": key.label,
            "created_at": key.created_at.isoformat(),
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        for key, tenant_name in rows
    ]
    if as_json:
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"{len(records)} API key(s)")
    for column in ("prefix", "tenant", "role", "label", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column == "prefix")
    for r in records:
        table.add_row(
            str(r["prefix"]),
            str(r["tenant"]),
            str(r["role"]),
            str(r["label"] or ""),
            str(r["created_at"])[:19],
            str(r["last_used_at"] or "")[:19],
            str(r["revoked_at"] or "")[:19],
        )
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Migrate the database to this version's schema (safe to run again)."""
    from service.db.migrate import current_revision, head_revision

    settings = _settings(data_dir)
    with _database(settings):
        pass
    revision = current_revision(settings.effective_database_url)
    stderr.print(f"database at revision {revision} (head {head_revision()})", highlight=False)


@db_app.command("purge")
def db_purge(data_dir: DataDirOption = None) -> None:
    """Delete raw uploads older than PANICDX_RAW_RETENTION_DAYS (extracted logs and
    diagnoses stay) and print how many were purged."""
    from service.blobs import open_blob_store
    from service.jobs.pool import purge_raw_uploads

    settings = _settings(data_dir)
    try:
        blobs = open_blob_store(settings)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with _database(settings) as database:
        purged = purge_raw_uploads(database, blobs, settings)
    sys.stdout.write(f"{purged}\n")


def worker(
    data_dir: DataDirOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="Worker processes (default: PANICDX_WORKERS)."),
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level.")] = "INFO",
    *,
    beat: Annotated[
        bool,
        typer.Option(
            "--beat",
            help="Also run Celery beat: scheduled training every PANICDX_TRAIN_SCHEDULE_HOURS "
            "(one worker per installation).",
        ),
    ] = False,
) -> None:
    """Run a Celery worker that runs diagnosis jobs (needs PANICDX_BROKER_URL)."""
    settings = _settings(data_dir)
    if not settings.broker_url:
        raise _fail(
            "PANICDX_BROKER_URL is not set: `panicdx worker` needs a Celery broker, e.g. "
            "PANICDX_BROKER_URL=redis://127.0.0.1:6379/0 (without one, `panicdx serve` runs "
            "jobs itself)",
            2,
        )
    if data_dir is not None:
        # The worker's pool processes read their settings from the environment.
        os.environ["PANICDX_DATA_DIR"] = str(data_dir.resolve())
    with _database(settings):
        pass
    from service.jobs.celery_app import check_broker, run_worker

    try:
        check_broker(settings)
    except ConnectionError as exc:
        raise _fail(str(exc)) from None
    run_worker(settings, concurrency=concurrency, loglevel=loglevel.upper(), beat=beat)

"""`panicdx serve`: the embedded service on one machine.

Migrates the database, creates tenant `default` with an admin key on the very first start (the
key is printed once), then runs the API under uvicorn with the in-process worker pool (none
when a Celery broker is configured). SIGINT/SIGTERM stop it cleanly: open event streams end,
running jobs are left to their leases, the pool and the database are closed.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # uvicorn and the app load only when serving, not for every CLI command
    import uvicorn

    from service.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Open SSE streams end as soon as shutdown starts; this bounds anything else still running.
GRACEFUL_SHUTDOWN_SECONDS = 10

stderr = Console(stderr=True, soft_wrap=True)  # error lines stay whole for scripts and logs


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = DEFAULT_PORT,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the embedded database and blobs live (PANICDX_DATA_DIR)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="In-process job workers (PANICDX_WORKERS; ignored with a broker).", min=0
        ),
    ] = None,
) -> None:
    """Run the HTTP API, the console at / and the job workers."""
    import uvicorn
    from pydantic import ValidationError

    from service.api.main import create_app
    from service.settings import get_settings

    try:
        settings = get_settings(data_dir).with_overrides(workers=workers)
    except ValidationError as exc:
        raise _fail(f"invalid settings: {exc}") from None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _migrate(settings)
        first_key = _first_start_key(settings)
    except Exception as exc:  # a bad database URL or unwritable directory, said in one line
        raise _fail(f"cannot prepare the database: {exc}") from None
    if first_key is not None:
        _announce_key(first_key)

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = _server(config)
    stderr.print(
        f"panicdx: console at http://{_display_host(host)}:{port}/ "
        f"(data in {settings.data_dir.resolve()}; "
        + ("jobs go to the Celery broker" if settings.broker_url else f"{settings.workers} workers")
        + ")",
        highlight=False,
    )
    server.run()
    if not server.started:
        raise typer.Exit(1)


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, telling the app that shutdown began so event streams end at once.

    A signal means "shut down cleanly and exit 0": unlike plain uvicorn, the signal is not
    raised again after the graceful shutdown (that would end the process by the signal, or
    with a KeyboardInterrupt traceback for Ctrl-C). A second Ctrl-C still forces the exit.
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
            if ctx is not None:
                ctx.closing = True
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True

    return Server(config)


def _migrate(settings: Settings) -> None:
    from service.db.migrate import upgrade_database

    upgrade_database(settings)


def _first_start_key(settings: Settings) -> str | None:
    """Create tenant `default` and an admin key when no tenant exists yet; the key, or None."""
    from service.db.repo import count_tenants, create_api_key
    from service.db.session import open_database

    db = open_database(settings)
    try:
        # A write session: two servers starting together on SQLite queue here, and the second
        # one finds the tenant the first created.
        with db.write_session() as session:
            if count_tenants(session) > 0:
                return None
            _, plaintext = create_api_key(
                session, "default", "admin", label="first admin key (panicdx serve)"
            )
            session.commit()
            return plaintext
    finally:
        db.dispose()


def _announce_key(plaintext: str) -> None:
    # stdout, flushed, one labelled line that scripts can grep; shown this one time only.
    sys.stdout.write(
        "panicdx: first start: created tenant 'default' and an admin API key.\n"
        "panicdx: it is shown only now; store it (clients send 'Authorization: Bearer KEY').\n"
        f"PANICDX_ADMIN_KEY={plaintext}\n"
    )
    sys.stdout.flush()


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _fail(message: str) -> typer.Exit:
    stderr.print(f"[bold red]panicdx:[/] {message}", highlight=False)
    return typer.Exit(1)

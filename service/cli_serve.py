"""`panicdx serve`: the embedded service on one machine.

Migrates the database, creates tenant `default` with an admin key on the very first start (the
key is printed once), then runs the API under uvicorn with the in-process worker pool (none
when a Celery broker is configured). SIGINT/SIGTERM stop it cleanly: open event streams end,
running jobs are left to their leases, the pool and the database are closed.

`--processes N` (N > 1) runs N copies of the app in spawned child processes that share one
listening socket: one Python interpreter (one GIL) answers on one core only. Each child has its
own worker pool and model; the job rows and their leases keep concurrent pools apart, and on
SQLite their write transactions queue on one file lock (`service.db.session`). The
parent only migrates, prints the key, binds the socket and supervises: a signal is passed on
to every child, and a child that dies stops the whole service (exit 1) rather than leaving it
half-sized without anyone noticing.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # uvicorn and the app load only when serving, not for every CLI command
    import uvicorn
    from fastapi import FastAPI

    from service.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Open SSE streams end as soon as shutdown starts; this bounds anything else still running.
GRACEFUL_SHUTDOWN_SECONDS = 10
# How long the parent waits for a signalled child (its grace period, then the worker pool's own
# wait for running jobs) before killing it.
CHILD_STOP_SECONDS = GRACEFUL_SHUTDOWN_SECONDS + 20

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
    processes: Annotated[
        int,
        typer.Option(
            envvar="PANICDX_PROCESSES",
            help="API processes sharing the port, each with its own workers (PANICDX_PROCESSES).",
            min=1,
        ),
    ] = 1,
) -> None:
    """Run the HTTP API, the console at / and the job workers."""
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

    # With several processes this app is never started: its config only binds the socket, and
    # every child builds and starts its own.
    config = _config(create_app(settings), host, port, access_log=settings.access_log)
    if settings.broker_url:
        jobs = "jobs go to the Celery broker"
    elif processes > 1:
        jobs = f"{processes} processes with {settings.workers} workers each"
    else:
        jobs = f"{settings.workers} workers"
    stderr.print(
        f"panicdx: console at http://{_display_host(host)}:{port}/ "
        f"(data in {settings.data_dir.resolve()}; {jobs})",
        highlight=False,
    )
    if processes > 1:
        _run_processes(processes, settings, config)
        return
    server = _server(config)
    server.run()
    if not server.started:
        raise typer.Exit(1)


def _config(app: FastAPI, host: str, port: int, *, access_log: bool = True) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _run_processes(processes: int, settings: Settings, config: uvicorn.Config) -> None:
    """Bind the socket here, serve it from `processes` spawned children, pass signals on.

    Returns after a signal once every child has stopped; raises typer.Exit(1) when a child
    ended on its own (it failed to start or crashed): the others are stopped too.
    """
    listener = config.bind_socket()  # on failure uvicorn logs why and exits 1
    # spawn, not fork: a fresh interpreter per child, no copied locks or threads.
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=_serve_child,
            args=(settings, config.host, config.port, listener),
            name=f"panicdx-api-{index + 1}",
        )
        for index in range(processes)
    ]
    stopping = threading.Event()

    def on_signal(sig: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            child.start()
        while not stopping.wait(0.5):
            if any(child.exitcode is not None for child in children):
                break
    finally:
        crashed = not stopping.is_set()
        _stop_children(children)
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if crashed:
        raise _fail("an API process ended unexpectedly; stopped the others (see the log above)")


def _stop_children(children: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM every running child (a clean shutdown each), wait, kill any that hang."""
    for child in children:
        if child.is_alive() and child.pid is not None:
            child.terminate()
    for child in children:
        if child.pid is None:
            continue  # never started
        child.join(CHILD_STOP_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()


def _serve_child(settings: Settings, host: str, port: int, listener: socket.socket) -> None:
    """One API process: its own app (database, model, worker pool) on the shared socket.

    The settings arrive as an argument, already validated in the parent, so every child runs
    with exactly what the parent migrated and announced.
    """
    from service.api.main import create_app

    # Ctrl-C in a terminal reaches the children as well as the parent's SIGTERM: both only
    # start the one clean shutdown, and `_server` does not re-raise them, so no traceback.
    server = _server(_config(create_app(settings), host, port, access_log=settings.access_log))
    server.run(sockets=[listener])


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

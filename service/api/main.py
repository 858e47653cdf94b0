"""The FastAPI app factory.

`create_app(settings)` builds the app; nothing heavy happens at import time. The lifespan opens
the database and blob store, loads the knowledge base and the model once, and (when asked)
runs the in-process worker pool; everything is closed again on shutdown.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from service.api.context import ServiceContext
from service.api.errors import install_error_handlers, not_found
from service.api.metrics import ApiMetrics, MetricsMiddleware
from service.api.routes import categories, diagnoses, health, me, models, root_causes, stats
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
API_VERSION = "1"


def create_app(settings: Settings | None = None, *, run_workers: bool | None = None) -> FastAPI:
    """The panicdx HTTP API.

    `settings` None reads `PANICDX_*` from the environment. `run_workers` None runs the
    in-process worker pool when no Celery broker is configured and `settings.workers` > 0;
    False never runs it (jobs then wait for another process's workers).
    """
    settings = settings or get_settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await anyio.to_thread.run_sync(build_context, settings, metrics)
        # More concurrent quick-answer jobs than cores only adds contention (the GIL, and on
        # SQLite the write lock, whose busy handler sleeps in growing steps): the rest wait
        # in line here, in order, and fall to the worker pool past quick_answer_seconds.
        ctx.quick_limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
        wanted = run_workers if run_workers is not None else settings.broker_url is None
        if wanted and settings.broker_url is None and settings.workers > 0:
            from service.jobs.pool import WorkerPool

            ctx.pool = WorkerPool(
                settings=settings,
                database=ctx.db,
                blobs=ctx.blobs,
                diagnoser=ctx.live,
                workers=settings.workers,
            )
            ctx.pool.start()
        app.state.ctx = ctx
        freeze_long_lived_objects()
        try:
            yield
        finally:
            ctx.closing = True
            if ctx.pool is not None:
                await anyio.to_thread.run_sync(ctx.pool.stop)
            ctx.db.dispose()

    app = FastAPI(
        title="panicdx",
        version=API_VERSION,
        summary="Why did this Linux machine panic, and what to do about it.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        # Another console embedding the widget calls the API from its own origin, with an
        # Authorization header: only the configured origins may, and no cookies are involved.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    for router in (
        health.router,
        me.router,
        diagnoses.router,
        root_causes.router,
        categories.router,
        stats.router,
        models.router,
    ):
        app.include_router(router)
    _mount_web(app)
    return app


def build_context(settings: Settings, metrics: ApiMetrics) -> ServiceContext:
    """Open the database and blob store and load the diagnoser (blocking: run in a thread)."""
    from knowledge_base.taxonomy import category_ids
    from service.api.figures import read_job_figures
    from service.api.live_model import LiveDiagnoser
    from service.blobs import open_blob_store
    from service.db.session import open_database
    from service.diagnoser import Diagnoser
    from service.learning import ActiveModel

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    blobs = open_blob_store(settings)
    diagnoser = Diagnoser.load(settings.model_dir)
    live = LiveDiagnoser(diagnoser, ActiveModel(settings, db.session, blobs))
    live.current()  # load the registry's active model now, not on the first upload
    metrics.watch_jobs(lambda: read_job_figures(db))
    return ServiceContext(
        settings=settings,
        db=db,
        blobs=blobs,
        diagnoser=diagnoser,
        live=live,
        metrics=metrics,
        categories=frozenset(category_ids()),
    )


def freeze_long_lived_objects() -> None:
    """Move every object alive now (the knowledge base, the model, the app) out of the
    garbage collector's view, so its full collections stop walking them.

    They live as long as the process: after start-up they are ~135,000 objects, and a full
    collection, which runs every few seconds under load, walked them all (35-47 ms measured),
    a pause every request in flight waited through (the p99 of the service). Frozen objects
    are still freed by reference counting; only cycles among them would be kept.
    """
    gc.collect()
    gc.freeze()


def _mount_web(app: FastAPI) -> None:
    """`/` is the console page, `/widget/...` the widget module and its assets (no key needed)."""

    @app.get("/", include_in_schema=False)
    def console_page() -> FileResponse:
        index = WEB_DIR / "index.html"
        if not index.is_file():
            raise not_found("console page")
        return FileResponse(index, media_type="text/html; charset=utf-8")

    # check_dir=False: the directory ships with the package, but a broken install should still
    # serve the API and answer 404 for the page rather than refuse to start.
    app.mount("/widget", _WidgetFiles(directory=WEB_DIR, check_dir=False), name="widget")


class _WidgetFiles(StaticFiles):
    """The widget's module and assets, readable by a page of any origin.

    A console on another origin loads the module with `<script type="module" src=...>`, which
    browsers fetch in CORS mode: without this header the module itself is refused, before any
    API call, and the page shows nothing. The files are public and need no key; the API calls
    the widget then makes are still limited to `PANICDX_CORS_ORIGINS` (the widget explains a
    refusal there).
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file's response with `Access-Control-Allow-Origin: *` added."""
        response = await super().get_response(path, scope)
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response

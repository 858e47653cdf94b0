"""What a running API holds once, built in the app's lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.api.metrics import ApiMetrics
from service.settings import Settings

if TYPE_CHECKING:  # heavy modules: imported by the lifespan, not at import time
    from anyio import CapacityLimiter

    from service.api.live_model import LiveDiagnoser
    from service.blobs import BlobStore
    from service.db.session import Database
    from service.diagnoser import Diagnoser
    from service.jobs.pool import WorkerPool


@dataclass
class ServiceContext:
    """Settings, database, blob store, the loaded diagnoser and the worker pool (if any).

    `diagnoser` holds the knowledge base (loaded once); jobs run with `live`, which follows the
    model registry's active model. `pool` is None when jobs run elsewhere (Celery workers, or
    an app started without workers).
    """

    settings: Settings
    db: Database
    blobs: BlobStore
    diagnoser: Diagnoser
    live: LiveDiagnoser
    metrics: ApiMetrics
    categories: frozenset[str]
    pool: WorkerPool | None = None
    # Bounds how many quick-answer jobs run at once in this process (set by the lifespan).
    quick_limiter: CapacityLimiter | None = None
    closing: bool = field(default=False)

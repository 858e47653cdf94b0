"""Liveness, readiness and metrics: no key needed, so probes and Prometheus can reach them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.api.deps import ContextDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: ContextDep) -> JSONResponse:
    """Ready when the database answers and the knowledge base (and model, if any) is loaded.

    503 with the failing checks otherwise, so a load balancer stops routing here.
    """
    checks: dict[str, str] = {}
    try:
        with ctx.db.session() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["knowledge_base"] = ctx.diagnoser.kb.version
    checks["model"] = ctx.live.model_version() or "none (signatures only)"
    checks["model_registry"] = ctx.live.active.version or "not loaded"
    if ctx.live.active.last_error:
        checks["model_registry_error"] = ctx.live.active.last_error
    ready = checks["database"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
def metrics(ctx: ContextDep) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

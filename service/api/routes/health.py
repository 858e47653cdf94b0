"""Liveness, readiness and metrics.

Liveness and readiness need no key, so probes can reach them; they say nothing about any
tenant. /metrics counts every tenant's diagnoses and jobs together, so it is an operator's
endpoint: it needs `PANICDX_METRICS_TOKEN` as a bearer token when one is set, and is served to
loopback callers only when none is.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.api.deps import ContextDep
from service.api.errors import unauthorized

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


_metrics_bearer = HTTPBearer(auto_error=False, description="PANICDX_METRICS_TOKEN")


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", response_class=Response)
def metrics(
    request: Request,
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_metrics_bearer)],
) -> Response:
    """Prometheus text exposition (operators only: see the module docstring)."""
    token = ctx.settings.metrics_token
    if token is not None:
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise unauthorized("send PANICDX_METRICS_TOKEN as 'Authorization: Bearer TOKEN'")
    elif not _is_loopback(request.client.host if request.client is not None else None):
        raise unauthorized(
            "/metrics is served to loopback callers only; set PANICDX_METRICS_TOKEN to scrape "
            "it from elsewhere"
        )
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

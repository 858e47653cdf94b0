"""`/v1/models`: the model registry (read) and batch training runs (admin).

Training data and tenants: labels are tenant data, but the model is one per installation,
so a training run learns from every label of the installation, whichever tenant gave it.
Only admin keys can start a run; the model, its metrics and its report reveal no tenant's
logs, so any reader may list versions and follow runs. Promotion stays a human decision
(`panicdx model promote`), gated on the frozen evaluation set.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.api.deps import AdminDep, Caller, ContextDep, ReaderDep
from service.api.errors import CONFLICT, ApiError, not_found

router = APIRouter(prefix="/v1/models", tags=["models"])

_RUNS_STATE = "training_runs"  # app.state attribute: run id -> LaunchedRun of this process


def _run_location(run_id: str) -> str:
    return f"/v1/models/train/{run_id}"


def _present(run: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """The run for this caller: who requested an API run is shown only within its tenant.

    API runs record `<tenant id>/<key prefix>`; runs are installation-wide, and another
    tenant's key prefixes are not this caller's business.
    """
    requested = run.get("requested_by")
    if run.get("trigger") == "api" and requested:
        tenant_id, _, prefix = str(requested).partition("/")
        run = {
            **run,
            "requested_by": prefix if tenant_id == caller.tenant_id else "another tenant",
        }
    return run


@router.post("/train", status_code=202)
def start_training(caller: AdminDep, ctx: ContextDep, request: Request) -> JSONResponse:
    """Start a training run on the installation's labels (admin only): 202 + `Location`.

    The run trains in its own process (a minute or more) on the shipped corpus plus every
    label of the installation, across tenants (the model is shared and reveals no tenant's
    logs), evaluates against the active model and registers a candidate. One run at a time:
    409 `conflict` with `run_id` while another is queued or running.
    """
    from service.training_runs import RunConflict, launch_run, run_json, start_run

    with ctx.db.write_session() as session:
        try:
            run = start_run(
                session, trigger="api", requested_by=f"{caller.tenant_id}/{caller.key_prefix}"
            )
        except RunConflict as exc:
            session.rollback()
            raise ApiError(
                409,
                CONFLICT,
                f"a training run is already in progress ({exc.run_id or 'just started'}); "
                "wait for it to finish",
                headers={"Location": _run_location(exc.run_id)} if exc.run_id else None,
                extra={"run_id": exc.run_id},
            ) from None
        session.commit()
        body = _present(run_json(run), caller)
    try:
        launched = launch_run(ctx.settings, ctx.db.write_session, run.id)
    except OSError as exc:
        from service.training_runs import INTERNAL_ERROR, fail_run

        with ctx.db.write_session() as session:
            fail_run(session, run.id, INTERNAL_ERROR, f"cannot start the training process: {exc}")
            session.commit()
        raise ApiError(500, "internal_error", f"cannot start the training process: {exc}") from None
    runs: dict[str, Any] = getattr(request.app.state, _RUNS_STATE, None) or {}
    runs[run.id] = launched
    setattr(request.app.state, _RUNS_STATE, runs)
    return JSONResponse(body, status_code=202, headers={"Location": _run_location(run.id)})


@router.get("/train")
def list_training_runs(caller: ReaderDep, ctx: ContextDep) -> dict[str, Any]:
    """The 20 newest training runs, newest first (interrupted ones marked so first)."""
    from service.training_runs import list_runs, reap_if_needed, run_json

    reap_if_needed(ctx.db.session, ctx.db.write_session)
    with ctx.db.session() as session:
        return {"items": [_present(run_json(row), caller) for row in list_runs(session)]}


@router.get("/train/{run_id}")
def get_training_run(run_id: str, caller: ReaderDep, ctx: ContextDep) -> dict[str, Any]:
    """One run: state (queued|running|done|failed), its step, the candidate when done (version,
    report path, metrics), the error `{code, message}` when failed (`interrupted` when its
    process died, e.g. a server restart)."""
    from service.training_runs import get_run, reap_if_needed, run_json

    reap_if_needed(ctx.db.session, ctx.db.write_session)
    with ctx.db.session() as session:
        row = get_run(session, run_id)
        if row is None:
            raise not_found(f"training run {run_id!r}")
        return _present(run_json(row), caller)


@router.get("")
def list_model_versions(caller: ReaderDep, ctx: ContextDep) -> dict[str, Any]:
    """Registered versions, newest first, with status and headline metrics; `active` names the
    serving version (`built-in` when none is promoted)."""
    from service.learning import active_model_version, list_versions, version_json

    with ctx.db.session() as session:
        return {
            "active": active_model_version(session),
            "items": [version_json(row) for row in list_versions(session)],
        }


@router.get("/{version}")
def get_model_version(version: str, caller: ReaderDep, ctx: ContextDep) -> dict[str, Any]:
    """One version: status, promotion record, manifest, metrics, and what the promotion gate
    says about it now (`gate` null for the active version)."""
    from service.learning import version_detail

    with ctx.db.session() as session:
        data = version_detail(session, version)
    if data is None:
        raise not_found(f"model version {version!r}")
    return data

"""The one-commit quick path (`service.api.quick`): a small log is diagnosed first and its
upload, finished job and diagnosis are written in one transaction; an unexpected failure or
the quick-answer deadline falls back to the queued job, never to a second job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from api_helpers import NFS_LOG, NFS_ROOT_CAUSE, OOM_LOG, Service, TenantKeys, blob_files
from api_helpers import raw_headers as raw
from sqlalchemy import event

from service.api.context import ServiceContext


def _ctx(service: Service) -> ServiceContext:
    ctx: ServiceContext = service.client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


@contextmanager
def request_writes(service: Service) -> Iterator[dict[str, list[str]]]:
    """INSERT/UPDATE statements and commits of the app's engine while the block runs, except
    those of the worker pool's own threads (they poll for queued jobs meanwhile)."""
    engine = _ctx(service).db.engine
    seen: dict[str, list[str]] = {"insert": [], "update": [], "commit": []}

    def ours() -> bool:
        return not threading.current_thread().name.startswith("panicdx-")

    def statement(*args: Any) -> None:
        words = str(args[2]).split()
        if ours() and words[0].upper() == "INSERT":
            seen["insert"].append(words[2])
        elif ours() and words[0].upper() == "UPDATE":
            seen["update"].append(words[1])

    def commit(_connection: Any) -> None:
        if ours():
            seen["commit"].append(threading.current_thread().name)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def _jobs(service: Service, tenant: TenantKeys) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = service.client.get("/v1/diagnoses", headers=tenant.reader).json()[
        "items"
    ]
    return items


def test_a_small_log_is_one_commit_of_three_inserts(service: Service, tenant: TenantKeys) -> None:
    # A first request refreshes the key's last_used_at (its own write, once a minute).
    service.client.post("/v1/diagnoses", headers=raw(tenant.submitter), content=b"warm-up panic\n")
    body = NFS_LOG.read_bytes() + b"[ 9999.000000] one-commit test\n"
    with request_writes(service) as writes:
        answer = service.client.post("/v1/diagnoses", headers=raw(tenant.submitter), content=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "done"
    assert answer.json()["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert writes == {
        "insert": ["uploads", "jobs", "diagnoses"],
        "update": [],
        "commit": [writes["commit"][0]],
    }, writes


def test_an_unexpected_failure_falls_back_to_the_queued_job(
    service: Service, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _ctx(service).live
    original = live.diagnose_text
    calls: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the quick path")
        return original(*args, **kwargs)

    monkeypatch.setattr(live, "diagnose_text", fails_once)
    body = OOM_LOG.read_bytes() + b"[ 9999.000000] fallback test\n"
    answer = service.client.post("/v1/diagnoses", headers=raw(tenant.submitter), content=body)
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["state"] == "done" and job["attempts"] == 1  # the queued job's first run
    assert len(calls) == 2
    assert [j["id"] for j in _jobs(service, tenant)] == [job["id"]]
    files = blob_files(service, tenant.tenant_id)
    assert len([p for p in files if "/raw/" in str(p)]) == 1
    assert len([p for p in files if "/logs/" in str(p)]) == 1  # the failed run left none


def test_past_the_deadline_the_job_is_queued_and_the_late_run_is_dropped(
    service: Service, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _ctx(service)
    original = ctx.live.diagnose_text
    late_runs_done = threading.Semaphore(0)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.8)
        try:
            return original(*args, **kwargs)
        finally:
            late_runs_done.release()

    monkeypatch.setattr(ctx.live, "diagnose_text", slow)
    monkeypatch.setattr(ctx.settings, "quick_answer_seconds", 0.2)
    body = NFS_LOG.read_bytes() + b"[ 9999.000000] deadline test\n"
    answer = service.client.post("/v1/diagnoses", headers=raw(tenant.submitter), content=body)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    deadline = time.monotonic() + 30
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = service.client.get(answer.headers["location"], headers=tenant.reader).json()
    assert job["state"] == "done"
    # Both runs (the abandoned quick one and the worker's) have ended: still one job, one raw
    # upload and one extracted log (the abandoned run deleted its own).
    assert late_runs_done.acquire(timeout=10) and late_runs_done.acquire(timeout=10)
    time.sleep(0.2)
    assert [j["id"] for j in _jobs(service, tenant)] == [job["id"]]
    files = blob_files(service, tenant.tenant_id)
    assert len([p for p in files if "/raw/" in str(p)]) == 1
    assert len([p for p in files if "/logs/" in str(p)]) == 1


def test_an_unusable_small_log_fails_its_job_in_the_same_one_commit(
    service: Service, tenant: TenantKeys
) -> None:
    service.client.post("/v1/diagnoses", headers=raw(tenant.submitter), content=b"warm-up panic\n")
    with request_writes(service) as writes:
        answer = service.client.post(
            "/v1/diagnoses", headers=raw(tenant.submitter), content=b" \n\t\n  \n"
        )
    assert answer.status_code in (400, 422), answer.text
    failed = answer.json()["job"]
    assert failed["state"] == "failed" and failed["error"]["code"] == answer.json()["code"]
    again = service.client.get(f"/v1/diagnoses/{failed['id']}", headers=tenant.reader).json()
    assert again == failed
    assert writes["insert"] == ["uploads", "jobs"] and writes["update"] == []
    assert len(writes["commit"]) == 1

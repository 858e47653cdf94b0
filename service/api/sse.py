"""Server-sent events for a job's progress.

The job row is the source of truth (a worker may run in another process or machine), so the
stream polls it: `event: state` with the job (without its result) whenever it changes, then
`event: done` or `event: failed` with the full job, and the stream ends. A comment line every
few seconds keeps proxies from closing an idle stream. Starlette cancels the generator when the
client disconnects, so an abandoned stream stops polling at once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

FINAL_STATES = frozenset({"done", "failed"})
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


def sse_event(event: str, data: Any) -> bytes:
    """One SSE message; the JSON is on one line so no `data:` continuation is needed."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _progress_view(job: dict[str, Any]) -> dict[str, Any]:
    return {**job, "result": None}


async def job_event_stream(
    load: Callable[[], Awaitable[dict[str, Any] | None]],
    stopping: Callable[[], bool] = lambda: False,
    poll_seconds: float = POLL_SECONDS,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """Yield SSE messages for one job until it is done or failed.

    `load` returns the job JSON, or None when the job no longer exists (deleted meanwhile), in
    which case the stream ends with `event: error` carrying a `not_found` error. When
    `stopping()` turns true (the server is shutting down) the stream simply ends: the client
    reconnects to another replica or after the restart.
    """
    last_seen: dict[str, Any] | None = None
    idle = 0.0
    while not stopping():
        job = await load()
        if job is None:
            yield sse_event("error", {"code": "not_found", "message": "diagnosis not found"})
            return
        view = _progress_view(job)
        if view != last_seen:
            yield sse_event("state", view)
            last_seen = view
            idle = 0.0
        if job["state"] in FINAL_STATES:
            yield sse_event(job["state"], job)
            return
        await anyio.sleep(poll_seconds)
        idle += poll_seconds
        if idle >= keepalive_seconds:
            yield b": keepalive\n\n"
            idle = 0.0

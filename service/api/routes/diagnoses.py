"""`/v1/diagnoses`: upload a log or dump, follow its job, read, list, delete, give feedback.

Routes stay thin: uploads stream through `service.api.upload`, rows come from the data
functions in `service.db.repo`, job JSON from `service.api.presenters`. Blocking database and
blob work runs in worker threads, so the event loop only moves bytes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from service.api.context import ServiceContext
from service.api.deps import AdminDep, Caller, ContextDep, ReaderDep, SessionDep, SubmitterDep
from service.api.errors import (
    EMPTY_INPUT,
    INTERNAL_ERROR,
    ApiError,
    error_body,
    invalid_request,
    not_found,
    payload_too_large,
)
from service.api.params import metadata_text, parse_tags, time_range
from service.api.presenters import feedback_out, job_json, job_out
from service.api.schemas import FeedbackIn, FeedbackOut, JobList, JobOut, JobStateName
from service.api.sse import job_event_stream
from service.api.upload import (
    LazyBlobWriter,
    MalformedUpload,
    StoredUpload,
    UploadLimits,
    UploadSink,
    UploadTooLarge,
    clean_filename,
    store_multipart_body,
    store_raw_body,
)
from service.db.models import Job, JobState, utcnow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/diagnoses", tags=["diagnoses"])

RAW_TYPES = frozenset({"application/octet-stream", "text/plain"})
MAX_IDEMPOTENCY_KEY = 200
# While a quick answer is pending, the job row is re-read this often after the runner returns
# (another worker may hold the job).
QUICK_POLL_SECONDS = 0.05
LOG_CHUNK = 64 * 1024
# Job error codes that are the service's fault, not the input's (answered 500, not 422).
SERVER_FAILURES = frozenset({INTERNAL_ERROR, "worker_lost", "upload_missing", "extraction_failed"})

_UPLOAD_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The kernel log, crash dump or crash-directory archive: either multipart/form-data "
            "with the file in the field `file` (optional fields `host`, `instance_id`, `tags`) "
            "or the raw bytes as application/octet-stream (metadata as query parameters)."
        ),
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "host": {"type": "string"},
                        "instance_id": {"type": "string"},
                        "tags": {"type": "string", "description": "comma-separated"},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

_ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    400: {"description": "empty upload (`empty_input`)"},
    401: {"description": "missing, unknown or revoked key"},
    403: {"description": "the key's role may not submit"},
    413: {"description": "over the size limit for a log or a dump (`payload_too_large`)"},
    415: {"description": "the body is neither multipart/form-data nor raw bytes"},
    422: {"description": "bad metadata, malformed multipart, or an unusable log (its code)"},
}


# ---------------------------------------------------------------------------------------------
# POST /v1/diagnoses


@router.post(
    "",
    response_model=JobOut,
    status_code=200,
    responses={202: {"model": JobOut, "description": "accepted: follow Location"}, **_ERRORS_DOC},
    openapi_extra=_UPLOAD_BODY_DOC,
)
async def submit_diagnosis(
    *,
    request: Request,
    ctx: ContextDep,
    caller: SubmitterDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retrying with the same key returns the first request's job.",
        ),
    ] = None,
    filename: Annotated[str | None, Query(description="Name of the raw upload.")] = None,
    host: Annotated[str | None, Query(description="Host the log or dump came from.")] = None,
    instance_id: Annotated[str | None, Query(description="Cloud instance id, if any.")] = None,
    tags: Annotated[str | None, Query(description="Comma-separated tags.")] = None,
) -> Response:
    """Upload a kernel log or crash dump and start its diagnosis.

    A log answers 200 with the finished job when it is diagnosed within the quick-answer time,
    otherwise (and always for dumps) 202 with `Location: /v1/diagnoses/{id}`. The same
    Idempotency-Key, or the same bytes already uploaded by this tenant, return the existing job
    instead of creating another. A job that failed on unusable input answers with its error.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data" and media_type not in RAW_TYPES:
        raise ApiError(
            415,
            "invalid_request",
            "send the file as multipart/form-data (field 'file') or as the raw body with "
            f"Content-Type application/octet-stream, not {media_type or 'no content type'!r}",
        )
    _metadata(filename, host, instance_id, tags)  # bad query metadata: 422 before the body
    if idempotency_key is not None:
        idempotency_key = _check_idempotency_key(idempotency_key)
        existing = await anyio.to_thread.run_sync(
            _find_by_idempotency, ctx, caller.tenant_id, idempotency_key
        )
        if existing is not None:  # a retry: answer without reading the body again
            return _job_response(existing)
    _check_declared_length(request, ctx)
    received_at = utcnow()

    from service.blobs import raw_upload_key

    blob_key = raw_upload_key(caller.tenant_id)
    limits = UploadLimits(ctx.settings.max_log_bytes, ctx.settings.max_dump_bytes)
    # Opened by the first write, which already runs in a worker thread.
    writer = LazyBlobWriter(lambda: ctx.blobs.writer(blob_key, ctx.settings.max_dump_bytes))
    sink = UploadSink(writer, limits)
    fields: dict[str, str] = {}
    try:
        if media_type == "multipart/form-data":
            parsed = await store_multipart_body(request.stream(), content_type, sink)
            stored, fields = parsed.stored, parsed.fields
            filename = parsed.filename or fields.get("filename") or filename
        else:
            stored = await store_raw_body(request.stream(), sink)
    except UploadTooLarge as exc:
        raise payload_too_large(exc.limit, exc.what) from None
    except MalformedUpload as exc:
        raise invalid_request(str(exc)) from None
    except ClientDisconnect:
        # Nobody is left to answer; the sink already discarded the partial blob.
        return Response(status_code=400)

    try:
        meta = _metadata(
            filename,
            fields.get("host", host),
            fields.get("instance_id", instance_id),
            fields.get("tags", tags),
        )
    except ApiError:  # a multipart metadata field was bad: drop the stored upload
        await anyio.to_thread.run_sync(ctx.blobs.delete, blob_key)
        raise
    deadline = anyio.current_time() + ctx.settings.quick_answer_seconds
    if _one_commit_eligible(ctx, stored):
        finished = await _answer_in_one_commit(
            ctx, caller, blob_key, stored, meta, idempotency_key, received_at, deadline
        )
        if finished is not None:
            return _job_response(finished)
        # Otherwise a queued job: run here in the time left, or 202 when none is left.
    job, created = await anyio.to_thread.run_sync(
        functools.partial(
            _record_submission,
            ctx=ctx,
            caller=caller,
            blob_key=blob_key,
            stored=stored,
            meta=meta,
            idempotency_key=idempotency_key,
        )
    )
    if not created:  # the same bytes again: the existing job, answered by its state
        return _job_response(job)
    if stored.kind in ("vmcore", "archive"):
        await _dispatch(ctx, job.id)
        return _job_response(job, status=202)
    return await _quick_answer(ctx, caller, job, deadline)


def _one_commit_eligible(ctx: ServiceContext, stored: StoredUpload) -> bool:
    """A plain-text log small enough to be diagnosed before its job is recorded."""
    from service.api.quick import ONE_COMMIT_MAX_BYTES

    return (
        stored.kind == "log"
        and stored.size <= ONE_COMMIT_MAX_BYTES
        and ctx.settings.quick_answer_seconds > 0
    )


async def _answer_in_one_commit(  # noqa: PLR0917 - the request's parts, once
    ctx: ServiceContext,
    caller: Caller,
    blob_key: str,
    stored: StoredUpload,
    meta: _Metadata,
    idempotency_key: str | None,
    received_at: datetime,
    deadline: float,
) -> Job | None:
    """The finished (or existing) job from `service.api.quick`, or None: queue a job instead.

    The run is abandoned (not killed) at the deadline: it notices before its commit and
    throws its result away, while the request records a queued job and answers 202.
    """
    import threading

    from service.api.quick import QuickSubmission, answer_in_one_commit
    from service.db.repo import UploadFacts

    submission = QuickSubmission(
        tenant_id=caller.tenant_id,
        facts=UploadFacts(
            sha256=stored.sha256,
            size=stored.size,
            blob_key=blob_key,
            filename=meta.filename,
            kind=stored.kind,
            format=stored.format,
            host=meta.host,
            instance_id=meta.instance_id,
            tags=meta.tags,
            idempotency_key=idempotency_key,
            max_attempts=ctx.settings.max_attempts,
        ),
        received_at=received_at,
    )
    abandoned = threading.Event()
    finished: Job | None = None
    with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
        finished = await anyio.to_thread.run_sync(
            answer_in_one_commit,
            ctx,
            submission,
            abandoned,
            abandon_on_cancel=True,
            limiter=ctx.quick_limiter,
        )
    if finished is None:
        abandoned.set()
    return finished


@dataclass(frozen=True)
class _Metadata:
    """What the client said about the upload (already checked)."""

    filename: str | None
    host: str | None
    instance_id: str | None
    tags: list[str]


def _metadata(
    filename: str | None, host: str | None, instance_id: str | None, tags: str | None
) -> _Metadata:
    """Check and clean the client's metadata (422 `invalid_request` when it is unusable)."""
    return _Metadata(
        filename=clean_filename(filename),
        host=metadata_text("host", host),
        instance_id=metadata_text("instance_id", instance_id),
        tags=parse_tags(tags),
    )


def _check_idempotency_key(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise invalid_request(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
        )
    return value


def _check_declared_length(request: Request, ctx: ServiceContext) -> None:
    """Refuse at once a body whose declared length is past every limit (no byte is read)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise invalid_request("Content-Length is not a number") from None
    if length > ctx.settings.max_dump_bytes + 64 * 1024:  # room for multipart framing
        raise payload_too_large(ctx.settings.max_dump_bytes, "a dump")
    if length == 0:
        raise ApiError(400, EMPTY_INPUT, "the upload is empty: send a kernel log or a crash dump")


def _find_by_idempotency(ctx: ServiceContext, tenant_id: str, key: str) -> Job | None:
    from service.db.repo import find_job_for_idempotency

    with ctx.db.session() as session:
        return find_job_for_idempotency(session, tenant_id, key)


def _record_submission(
    *,
    ctx: ServiceContext,
    caller: Caller,
    blob_key: str,
    stored: StoredUpload,
    meta: _Metadata,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Create the upload and its job, or find the tenant's existing one (then drop our blob)."""
    from service.db.repo import submit_upload

    try:
        with ctx.db.write_session() as session:
            submission = submit_upload(
                session,
                caller.tenant_id,
                sha256=stored.sha256,
                size=stored.size,
                blob_key=blob_key,
                filename=meta.filename,
                kind=stored.kind if stored.kind != "compressed" else "unknown",
                format=stored.format,
                host=meta.host,
                instance_id=meta.instance_id,
                tags=meta.tags,
                idempotency_key=idempotency_key,
                max_attempts=ctx.settings.max_attempts,
            )
            session.commit()
    except BaseException:
        ctx.blobs.delete(blob_key)
        raise
    # An abandoned one-commit run may have recorded these very bytes (this blob) meanwhile.
    if not submission.created and submission.job.upload.blob_key != blob_key:
        ctx.blobs.delete(blob_key)
    return submission.job, submission.created


async def _dispatch(ctx: ServiceContext, job_id: str) -> None:
    """Tell whichever workers run jobs that this one is waiting.

    This app's own pool is woken directly; otherwise the job goes to the configured backend
    (the Celery broker). Without either, the job waits for another process's pool to poll.
    """
    if ctx.pool is not None:
        ctx.pool.wake()
        return
    from service.jobs import enqueue

    # Sending to a broker is network I/O: keep it off the event loop.
    await anyio.to_thread.run_sync(enqueue, job_id, ctx.settings)


async def _quick_answer(ctx: ServiceContext, caller: Caller, job: Job, deadline: float) -> Response:
    """Run a log's job here, in a worker thread, until `deadline` (anyio's clock).

    The thread is abandoned (not killed) at the deadline: it finishes the job under its lease
    while the client follows the 202's Location. Should the thread never get to start, the
    workers are told about the job, so it runs either way.
    """
    if deadline <= anyio.current_time():
        await _dispatch(ctx, job.id)
        return _job_response(job, status=202)
    finished: Job | None = None
    with anyio.move_on_after(deadline - anyio.current_time()):
        finished = await anyio.to_thread.run_sync(
            _run_job_here, ctx, job.id, abandon_on_cancel=True, limiter=ctx.quick_limiter
        )
    if finished is not None:  # this thread finished it: the answer needs no re-read
        return _job_response(finished)
    current = await _reload(ctx, caller.tenant_id, job.id)
    while current is not None and current.state not in (JobState.DONE, JobState.FAILED):
        if anyio.current_time() >= deadline:
            break
        await anyio.sleep(QUICK_POLL_SECONDS)
        current = await _reload(ctx, caller.tenant_id, job.id)
    if current is None:  # deleted meanwhile
        raise not_found("diagnosis")
    if current.state not in (JobState.DONE, JobState.FAILED):
        await _dispatch(ctx, job.id)
        return _job_response(current, status=202)
    return _job_response(current)


def _run_job_here(ctx: ServiceContext, job_id: str) -> Job | None:
    """Run the job in this thread; the job when this run finished it (done or failed), else
    None (another worker has it, it went back to the queue, or the run could not start).

    A failure to even run it (the database went away) is logged, not raised: the job row
    stays queued or leased, and the workers take it over."""
    from service.jobs.runner import make_worker_id, run_job

    try:
        outcome = run_job(
            job_id,
            make_worker_id("api"),
            session_factory=ctx.db.write_session,
            blobs=ctx.blobs,
            diagnoser=ctx.live,
            settings=ctx.settings,
        )
    except Exception:
        log.exception("quick answer for job %s failed; the workers will retry it", job_id)
        return None
    if outcome.state in (JobState.DONE, JobState.FAILED):
        return outcome.job
    return None


async def _reload(ctx: ServiceContext, tenant_id: str, job_id: str) -> Job | None:
    return await anyio.to_thread.run_sync(_load_job, ctx, tenant_id, job_id)


def _load_job(ctx: ServiceContext, tenant_id: str, job_id: str) -> Job | None:
    from service.db.repo import get_job

    with ctx.db.session() as session:
        return get_job(session, tenant_id, job_id)


def _job_response(job: Job, status: int | None = None) -> Response:
    """200 for a done job, 202 for a pending one, the job's own error for a failed one.

    A failed job answers with its error code and the job: 422 when the input was unusable,
    500 when the service failed it (retries exhausted, worker lost, upload gone).
    """
    headers = {"Location": f"/v1/diagnoses/{job.id}"}
    body = job_json(job)
    if job.state == JobState.FAILED:
        code = job.error_code or INTERNAL_ERROR
        return JSONResponse(
            error_body(code, job.error_message or "the diagnosis failed", job=body),
            status_code=500 if code in SERVER_FAILURES else 422,
            headers=headers,
        )
    if status is None:
        status = 200 if job.state == JobState.DONE else 202
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------------------------------------
# Reading, listing, deleting


@router.get("", response_model=JobList)
def list_diagnoses(
    *,
    session: SessionDep,
    caller: ReaderDep,
    root_cause: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    host: Annotated[str | None, Query(max_length=255)] = None,
    state: JobStateName | None = None,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> JobList:
    """The tenant's jobs, newest first, without results (each has a `summary`)."""
    from service.db.repo import JobFilter, list_jobs

    since, until = time_range(since, until)
    jobs, next_cursor = list_jobs(
        session,
        caller.tenant_id,
        JobFilter(
            root_cause=root_cause,
            category=category,
            host=host,
            since=since,
            until=until,
            state=JobState(state) if state else None,
        ),
        cursor=cursor,
        limit=limit,
    )
    return JobList(items=[job_out(j, with_result=False) for j in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobOut)
def get_diagnosis(session: SessionDep, caller: ReaderDep, job_id: str) -> JobOut:
    """One job with its result once done."""
    from service.db.repo import get_job

    job = get_job(session, caller.tenant_id, job_id)
    if job is None:
        raise not_found("diagnosis")
    return job_out(job)


@router.delete("/{job_id}", status_code=204, response_class=Response)
def delete_diagnosis(ctx: ContextDep, caller: AdminDep, job_id: str) -> Response:
    """Delete the job, its upload's bytes, the extracted log, the diagnosis and its feedback."""
    from service.db.repo import delete_job

    with ctx.db.write_session() as session:
        if not delete_job(session, ctx.blobs, caller.tenant_id, job_id):
            raise not_found("diagnosis")
        session.commit()
    return Response(status_code=204)


@router.get(
    "/{job_id}/log",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "the extracted kernel log"}},
)
def get_diagnosis_log(ctx: ContextDep, caller: ReaderDep, job_id: str) -> StreamingResponse:
    """The kernel log text the diagnosis's evidence line numbers refer to (once done)."""
    from service.blobs import BlobNotFoundError
    from service.db.repo import get_job

    with ctx.db.session() as session:
        job = get_job(session, caller.tenant_id, job_id)
    key = job.diagnosis.log_blob_key if job is not None and job.diagnosis is not None else None
    if key is None or not ctx.blobs.exists(key):
        raise not_found("extracted log")

    def chunks() -> Iterator[bytes]:
        try:
            with ctx.blobs.open(key) as handle:
                while chunk := handle.read(LOG_CHUNK):
                    yield chunk
        except BlobNotFoundError:  # deleted between the check and the read
            return

    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8")


# ---------------------------------------------------------------------------------------------
# Progress events and feedback


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def diagnosis_events(ctx: ContextDep, caller: ReaderDep, job_id: str) -> StreamingResponse:
    """Server-sent events: `state` on every change, then `done` or `failed`, then the end."""
    if await _reload(ctx, caller.tenant_id, job_id) is None:
        raise not_found("diagnosis")

    async def load() -> dict[str, Any] | None:
        job = await _reload(ctx, caller.tenant_id, job_id)
        return job_json(job) if job is not None else None

    return StreamingResponse(
        job_event_stream(load, stopping=lambda: ctx.closing),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/{job_id}/feedback", response_model=FeedbackOut, status_code=201)
def give_feedback(
    ctx: ContextDep, caller: SubmitterDep, job_id: str, body: FeedbackIn
) -> FeedbackOut:
    """Confirm the diagnosis, or correct it with a known root cause or a new free-text cause."""
    from service.db.repo import add_feedback

    category = body.category
    if body.root_cause is not None:
        entry = ctx.diagnoser.kb.entries.get(body.root_cause)
        if entry is None:
            raise invalid_request(f"unknown root cause {body.root_cause!r}")
        category = category or entry.category
    if category is not None and category not in ctx.categories:
        raise invalid_request(f"unknown category {category!r}")
    with ctx.db.write_session() as session:
        label = add_feedback(
            session,
            caller.tenant_id,
            job_id,
            body.verdict,
            root_cause_id=body.root_cause,
            new_cause=body.new_cause,
            category=category,
            note=body.note,
            author=caller.key_prefix,
        )
        session.commit()
        return feedback_out(label)

"""The one-commit quick path: a small plain-text log is diagnosed first, then its upload, its
job (already finished) and its diagnosis are recorded in one transaction.

Why: the general quick path records the upload and a queued job (a commit), claims the job (a
commit) and completes it (a commit), three write turns on SQLite's single writer lock, and a
queued job can meanwhile be taken by a pool worker, leaving the request to poll for it. Here a
log that is diagnosed within the quick-answer time costs one write transaction, and no worker
ever sees it queued.

What stays the same:
- nothing is lost on a crash: the raw upload is written and fsynced by the upload sink before
  this starts, and no row refers to anything before the one commit (a crash before it leaves
  an unreferenced blob and a client without an answer, which retries);
- the same Idempotency-Key or the same bytes within a tenant never make a second job: the
  unique constraints refuse the INSERTs and the existing job is the answer;
- the answer is the job JSON a later GET returns (the rows as committed), and the job carries
  `started_at`/`finished_at`, which the /metrics job figures read;
- a log the diagnosis cannot use fails its job with the input error, as a worker's run would.

The caller falls back to the queued job (`None`) when the run raises unexpectedly (the
workers then retry it) or when the quick-answer time ran out (`abandoned` was set: the run's
result is thrown away; should it commit in a race with the queued job, the unique constraints
keep one of the two, and whichever the request finds is the answer).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from service.db.models import Job, new_id

if TYPE_CHECKING:
    from service.api.context import ServiceContext
    from service.db.repo import FinishedRun, UploadFacts

log = logging.getLogger(__name__)

# Logs up to this size take the one-commit path: their diagnosis takes milliseconds, so the
# job never needs to be seen while it runs. Larger ones get a queued job that reports its
# stages.
ONE_COMMIT_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class QuickSubmission:
    """What the request uploaded and said, for `answer_in_one_commit`."""

    tenant_id: str
    facts: UploadFacts
    received_at: datetime


def answer_in_one_commit(
    ctx: ServiceContext, submission: QuickSubmission, abandoned: threading.Event
) -> Job | None:
    """Diagnose the stored log and record upload, finished job and diagnosis in one commit.

    Blocking (run it in a worker thread). Returns the finished job, or the tenant's existing
    job for the same Idempotency-Key or bytes; None when the request should queue a job
    instead (the run raised, or `abandoned` was set before the commit).
    """
    from service.blobs import extracted_log_key
    from service.jobs.runner import diagnose_upload

    facts = submission.facts
    job_id = new_id("dx")
    log_key = extracted_log_key(submission.tenant_id, job_id, 1)
    try:
        run = diagnose_upload(
            facts.blob_key,
            log_key,
            filename=facts.filename,
            blobs=ctx.blobs,
            diagnoser=ctx.live,
            settings=ctx.settings,
        )
    except Exception:
        log.exception("quick answer for an upload of %s failed; queuing a job", facts.blob_key)
        ctx.blobs.delete(log_key)
        return None
    if abandoned.is_set():  # the request answered 202 with a queued job meanwhile
        ctx.blobs.delete(log_key)
        return None
    try:
        return _record(ctx, submission, job_id, run, log_key)
    except Exception:
        log.exception("quick answer for an upload of %s failed; queuing a job", facts.blob_key)
        ctx.blobs.delete(log_key)
        return None


def _record(
    ctx: ServiceContext, submission: QuickSubmission, job_id: str, run: FinishedRun, log_key: str
) -> Job:
    """Insert the finished job in one commit, or find the existing one (then drop our blobs)."""
    from service.db.repo import find_existing_job, record_finished_upload

    facts = submission.facts
    with ctx.db.write_session() as session:
        try:
            job = record_finished_upload(
                session,
                submission.tenant_id,
                job_id,
                facts,
                run,
                received_at=submission.received_at,
            )
            session.commit()
            return job
        except IntegrityError:
            # The tenant already has this key or these bytes (maybe committed a moment ago by
            # a concurrent request): that job is the answer, ours is not recorded.
            session.rollback()
            existing = find_existing_job(
                session, submission.tenant_id, facts.idempotency_key, facts.sha256
            )
            session.commit()
            if existing is None:
                raise
    ctx.blobs.delete(log_key)
    if existing.upload.blob_key != facts.blob_key:  # never the bytes the existing job uses
        ctx.blobs.delete(facts.blob_key)
    return existing

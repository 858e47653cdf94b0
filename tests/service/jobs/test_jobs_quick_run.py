"""What a fast run writes: a log diagnosed in milliseconds is claimed and completed in two
job UPDATEs (no intermediate stage, no lease renewal), a slow run still reports its stages,
and the outcome carries the finished job as the database holds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbtesting import make_tenant, submit
from sqlalchemy import event

from service.api.presenters import job_json
from service.blobs import LocalBlobStore
from service.db import repo
from service.db.models import JobState
from service.db.session import Database
from service.diagnoser import Diagnoser
from service.jobs.runner import PROGRESS_AFTER_SECONDS, run_job
from service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
OOM_LOG = (EXAMPLES / "panic-on-oom.log").read_bytes()


@contextmanager
def job_updates(db: Database) -> Iterator[list[str]]:
    """The UPDATE statements on `jobs` run while the block runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("UPDATE JOBS"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_fast_run_claims_and_completes_in_two_updates(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    with job_updates(db) as updates:
        outcome = run_job(
            job.id,
            "fast",
            session_factory=db.write_session,
            blobs=blobs,
            diagnoser=diagnoser,
            settings=Settings(lease_seconds=60),
        )
    assert outcome.state is JobState.DONE
    assert len(updates) == 2, updates  # the claim and the completion


def test_a_slow_run_reports_its_stages(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    settings = Settings(lease_seconds=60, test_job_delay=PROGRESS_AFTER_SECONDS + 0.05)
    with job_updates(db) as updates:
        outcome = run_job(
            job.id,
            "slow",
            session_factory=db.write_session,
            blobs=blobs,
            diagnoser=diagnoser,
            settings=settings,
        )
    assert outcome.state is JobState.DONE
    # Claim, "diagnosing", "storing the result", completion.
    assert len(updates) == 4, updates


def test_the_outcome_is_the_finished_job_as_stored(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, OOM_LOG, filename="oom.log", host="web1")
    outcome = run_job(
        job.id,
        "w",
        session_factory=db.write_session,
        blobs=blobs,
        diagnoser=diagnoser,
        settings=Settings(lease_seconds=60),
    )
    assert outcome.job is not None and outcome.job.diagnosis is not None
    with db.session() as session:
        stored = repo.get_job(session, tenant, job.id)
    assert stored is not None
    assert job_json(outcome.job) == job_json(stored)

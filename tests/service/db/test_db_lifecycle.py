"""The job state machine under leases: a stale worker can never advance or finish a job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dbtesting import make_tenant, submit
from sqlalchemy import func, select

from service.blobs import LocalBlobStore
from service.db import repo
from service.db.errors import LeaseLostError
from service.db.models import DiagnosisRecord, Job, JobState, utcnow
from service.db.session import Database

RESULT = {"category": "oom", "confidence": 0.9, "model": {"version": "m", "kb_version": "k"}}


def test_claim_leases_a_queued_job_once(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n")
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w1", 60)
        session.commit()
    assert claimed is not None
    assert (claimed.state, claimed.attempts, claimed.lease_owner) == (JobState.EXTRACTING, 1, "w1")
    assert claimed.lease_expires_at is not None and claimed.lease_expires_at > utcnow()
    assert claimed.started_at is not None
    with db.write_session() as session:
        assert repo.claim_job(session, job.id, "w2", 60) is None  # a live lease is respected
        assert repo.claim_next_job(session, "w2", 60) is None
        assert repo.claim_job(session, "dx_" + "f" * 28, "w2", 60) is None


def test_claim_next_takes_the_oldest_first(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    jobs = [submit(db, blobs, tenant, f"log {i}\n".encode()) for i in range(3)]
    claimed = []
    with db.write_session() as session:
        for worker in ("a", "b", "c"):
            job = repo.claim_next_job(session, worker, 60)
            assert job is not None
            claimed.append(job.id)
            session.commit()
        assert repo.claim_next_job(session, "d", 60) is None
    assert claimed == [j.id for j in jobs]


def test_a_stale_worker_cannot_advance_or_finish(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n")
    start = utcnow()
    with db.write_session() as session:
        stale = repo.claim_job(session, job.id, "old", 1, now=start)
        session.commit()
    assert stale is not None
    later = start + timedelta(seconds=5)  # the old lease has expired
    with db.write_session() as session:
        fresh = repo.claim_job(session, job.id, "new", 60, now=later)
        session.commit()
    assert fresh is not None and fresh.attempts == 2 and fresh.lease_owner == "new"
    with db.write_session() as session:
        for action in (
            lambda: repo.advance_job(session, stale, "old", JobState.DIAGNOSING, 0.5, "x"),
            lambda: repo.renew_lease(session, stale, "old", 60),
            lambda: repo.complete_job(session, stale, "old", RESULT, None),
            lambda: repo.fail_job(session, stale, "old", "internal_error", "x"),
            lambda: repo.retry_job(session, stale, "old", "x"),
            # Same worker id, earlier attempt: the attempt number is part of the lease.
            lambda: repo.complete_job(session, stale, "new", RESULT, None),
        ):
            with pytest.raises(LeaseLostError):
                action()
        session.commit()
    with db.write_session() as session:
        repo.advance_job(session, fresh, "new", JobState.DIAGNOSING, 0.6, "diagnosing")
        repo.complete_job(session, fresh, "new", RESULT, None)
        session.commit()
    with db.write_session() as session:
        with pytest.raises(LeaseLostError):  # done is final: nobody completes it twice
            repo.complete_job(session, fresh, "new", RESULT, None)
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 1
        done = session.get(Job, job.id)
        assert done is not None and done.state is JobState.DONE and done.lease_owner is None


def test_advance_refuses_final_states(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n")
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w", 60)
        assert claimed is not None
        with pytest.raises(ValueError):
            repo.advance_job(session, claimed, "w", JobState.DONE, 1.0, "done")


def test_requeue_expired_and_exhausted_attempts(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    retried = submit(db, blobs, tenant, b"one\n", max_attempts=3)
    exhausted = submit(db, blobs, tenant, b"two\n", max_attempts=1)
    alive = submit(db, blobs, tenant, b"three\n")
    start = utcnow()
    with db.write_session() as session:
        repo.claim_job(session, retried.id, "dead", 1, now=start)
        repo.claim_job(session, exhausted.id, "dead", 1, now=start)
        repo.claim_job(session, alive.id, "alive", 600, now=start)
        session.commit()
    with db.write_session() as session:
        assert repo.requeue_expired(session, now=start + timedelta(seconds=0.5)) == 0
        assert repo.requeue_expired_ids(session, now=start + timedelta(seconds=2)) == [retried.id]
        session.commit()
        states = {j.id: j for j in session.scalars(select(Job))}
    assert states[retried.id].state is JobState.QUEUED and states[retried.id].lease_owner is None
    assert states[exhausted.id].state is JobState.FAILED
    assert states[exhausted.id].error_code == "worker_lost"
    assert states[alive.id].state is JobState.EXTRACTING
    with db.session() as session:
        assert repo.count_jobs_by_state(session) == {
            "queued": 1,
            "extracting": 1,
            "diagnosing": 0,
            "done": 0,
            "failed": 1,
        }


def test_retry_until_attempts_run_out(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n", max_attempts=2)
    states = []
    for attempt in (1, 2):
        with db.write_session() as session:
            claimed = repo.claim_job(session, job.id, f"w{attempt}", 60)
            assert claimed is not None and claimed.attempts == attempt
            after = repo.retry_job(session, claimed, f"w{attempt}", "boom")
            session.commit()
            states.append((after.state, after.error_code))
    assert states == [(JobState.QUEUED, None), (JobState.FAILED, "internal_error")]
    with db.write_session() as session:
        assert repo.claim_job(session, job.id, "w3", 60) is None


def test_fail_job_records_the_reason(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n")
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w", 60)
        assert claimed is not None
        failed = repo.fail_job(session, claimed, "w", "dump_truncated", "ends early")
        session.commit()
    assert (failed.state, failed.error_code, failed.error_message) == (
        JobState.FAILED,
        "dump_truncated",
        "ends early",
    )
    assert failed.finished_at is not None


def test_redispatch_stale_queued_marks_jobs_once(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), b"log\n")
    later = utcnow() + timedelta(minutes=10)
    with db.write_session() as session:
        assert repo.redispatch_stale_queued(session, timedelta(minutes=5)) == []
        assert repo.redispatch_stale_queued(session, timedelta(minutes=5), now=later) == [job.id]
        session.commit()
    with db.write_session() as session:
        # Just re-sent: not again until another interval has passed.
        assert repo.redispatch_stale_queued(session, timedelta(minutes=5), now=later) == []
        again = later + timedelta(minutes=6)
        assert repo.redispatch_stale_queued(session, timedelta(minutes=5), now=again) == [job.id]

"""The lease renewer: one thread for every running job of a process, renewing each lease a
third of the way through it, never touching a lease released before then, and flagging a
lease another worker took over."""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta

import pytest
from dbtesting import make_tenant, submit

from service.blobs import LocalBlobStore
from service.db import repo
from service.db.errors import LeaseLostError
from service.db.models import Job, utcnow
from service.db.session import Database
from service.jobs.leases import LeaseRenewer, lease_renewer


def claimed(db: Database, blobs: LocalBlobStore, worker: str, lease_seconds: int) -> Job:
    job = submit(db, blobs, make_tenant(db), f"a log line for {worker}\n".encode())
    with db.write_session() as session:
        held = repo.claim_job(session, job.id, worker, lease_seconds)
        session.commit()
    assert held is not None
    return held


def lease_expiry(db: Database, job_id: str) -> datetime:
    with db.session() as session:
        job = repo.get_job_any_tenant(session, job_id)
        assert job is not None and job.lease_expires_at is not None
        return job.lease_expires_at


def test_a_lease_released_before_it_is_due_is_never_renewed(
    db: Database, blobs: LocalBlobStore
) -> None:
    job = claimed(db, blobs, "w", lease_seconds=1)
    before = lease_expiry(db, job.id)
    renewer = LeaseRenewer()
    lease = renewer.hold(job, "w", db.write_session, 1)
    renewer.release(lease)
    assert renewer.held() == 0
    time.sleep(0.6)  # past the first renewal time (1/3 s)
    assert lease_expiry(db, job.id) == before


def test_leases_are_renewed_while_held(db: Database, blobs: LocalBlobStore) -> None:
    renewer = LeaseRenewer()
    jobs = [claimed(db, blobs, f"w{i}", lease_seconds=1) for i in range(3)]
    before = {job.id: lease_expiry(db, job.id) for job in jobs}
    leases = [renewer.hold(job, f"w{i}", db.write_session, 1) for i, job in enumerate(jobs)]
    time.sleep(1.5)  # the leases would have expired without renewals
    for job, lease in zip(jobs, leases, strict=True):
        lease.check()
        after = lease_expiry(db, job.id)
        assert after > before[job.id] and after > utcnow()
        renewer.release(lease)


def test_a_lease_taken_over_is_flagged_lost(db: Database, blobs: LocalBlobStore) -> None:
    job = claimed(db, blobs, "old", lease_seconds=1)
    with db.write_session() as session:  # the old lease looks expired to a new worker
        assert repo.claim_job(session, job.id, "new", 60, now=utcnow() + timedelta(seconds=5))
        session.commit()
    renewer = LeaseRenewer()
    lease = renewer.hold(job, "old", db.write_session, 1)
    deadline = time.monotonic() + 5
    while not lease.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LeaseLostError):
        lease.check()
    assert renewer.held() == 0


def _child_report(queue: multiprocessing.Queue[tuple[int, bool]], parent_id: int) -> None:
    renewer = lease_renewer()
    queue.put((renewer.held(), id(renewer) != parent_id))


def test_a_forked_child_starts_with_its_own_empty_renewer(
    db: Database, blobs: LocalBlobStore
) -> None:
    job = claimed(db, blobs, "parent", lease_seconds=60)
    parent = lease_renewer()
    lease = parent.hold(job, "parent", db.write_session, 60)
    try:
        context = multiprocessing.get_context("fork")
        queue: multiprocessing.Queue[tuple[int, bool]] = context.Queue()
        child = context.Process(target=_child_report, args=(queue, id(parent)))
        child.start()
        held, fresh = queue.get(timeout=30)
        child.join(timeout=30)
    finally:
        parent.release(lease)
    assert (held, fresh) == (0, True)

"""Races decided by the database: concurrent submissions of the same upload and concurrent
claims, from real threads with their own connections, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from dbtesting import make_tenant, submit
from sqlalchemy import func, select

from service.blobs import LocalBlobStore, raw_upload_key
from service.db import repo
from service.db.models import Job, Upload
from service.db.session import Database

THREADS = 8


def test_concurrent_submissions_make_one_job(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    content = b"the same panic log, uploaded by eight clients at once\n"
    keys = [raw_upload_key(tenant) for _ in range(THREADS)]
    stored = [blobs.put_stream(key, [content]) for key in keys]
    barrier = threading.Barrier(THREADS)

    def one(index: int) -> tuple[str, bool]:
        size, sha256 = stored[index]
        barrier.wait()
        with db.write_session() as session:
            submission = repo.submit_upload(
                session,
                tenant,
                sha256=sha256,
                size=size,
                blob_key=keys[index],
                filename="kern.log",
                kind="log",
                # Half the clients also send the same Idempotency-Key.
                idempotency_key="retry-1" if index % 2 else None,
            )
            session.commit()
            return submission.job.id, submission.created

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, range(THREADS)))
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
        assert session.scalar(select(func.count()).select_from(Upload)) == 1


def test_concurrent_claims_take_each_job_once(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    jobs = {submit(db, blobs, tenant, f"log {i}\n".encode()).id for i in range(12)}
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> list[str]:
        barrier.wait()
        taken = []
        while True:
            with db.write_session() as session:
                job = repo.claim_next_job(session, f"w{index}", 60)
                session.commit()
            if job is None:
                return taken
            taken.append(job.id)

    with ThreadPoolExecutor(THREADS) as pool:
        claimed = [job_id for taken in pool.map(worker, range(THREADS)) for job_id in taken]
    counts = Counter(claimed)
    assert set(counts) == jobs and set(counts.values()) == {1}

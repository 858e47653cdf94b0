"""Uploads and jobs: idempotent submission, tenant-scoped reads, listing, deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dbtesting import make_tenant, submit
from sqlalchemy import func, select

from service.blobs import LocalBlobStore, extracted_log_key
from service.db import repo
from service.db.errors import InvalidCursorError
from service.db.models import DiagnosisRecord, Job, JobState, Label, Upload, utcnow
from service.db.session import Database


def finish(db: Database, job: Job, result: dict[str, object] | None = None) -> Job:
    """Run a job through the lease functions to done with a made-up diagnosis JSON."""
    result = result or {
        "category": "oom",
        "confidence": 0.9,
        "root_cause": {"id": "oom-panic-on-oom", "title": "Panic on OOM", "category": "oom"},
        "report": {"title": "Kernel panic - not syncing: Out of memory"},
        "signature": "sig-oom",
        "model": {"version": "m1", "kb_version": "kb1"},
    }
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w", 60)
        assert claimed is not None
        repo.complete_job(session, claimed, "w", result, None)
        session.commit()
        done = repo.get_job_any_tenant(session, job.id)
        assert done is not None
        return done


def test_same_idempotency_key_or_content_gives_the_same_job(
    db: Database, blobs: LocalBlobStore
) -> None:
    tenant = make_tenant(db)
    first = submit(db, blobs, tenant, b"log one\n", idempotency_key="k1")
    assert first.state is JobState.QUEUED and first.upload.sha256
    same_key = submit(db, blobs, tenant, b"different bytes\n", idempotency_key="k1")
    same_bytes = submit(db, blobs, tenant, b"log one\n", idempotency_key="k2")
    same_bytes_no_key = submit(db, blobs, tenant, b"log one\n")
    assert first.id == same_key.id == same_bytes.id == same_bytes_no_key.id
    other = submit(db, blobs, tenant, b"log two\n")
    assert other.id != first.id
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 2
        assert session.scalar(select(func.count()).select_from(Upload)) == 2
    # Only the blobs of the two real uploads are left.
    assert len([p for p in (blobs.root / "raw").rglob("*") if p.is_file()]) == 2


def test_idempotency_is_per_tenant(db: Database, blobs: LocalBlobStore) -> None:
    acme, globex = make_tenant(db, "acme"), make_tenant(db, "globex")
    a = submit(db, blobs, acme, b"same log\n", idempotency_key="k")
    g = submit(db, blobs, globex, b"same log\n", idempotency_key="k")
    assert a.id != g.id
    with db.session() as session:
        assert repo.find_job_for_idempotency(session, acme, "k").id == a.id  # type: ignore[union-attr]
        assert repo.find_job_for_sha256(session, globex, g.upload.sha256).id == g.id  # type: ignore[union-attr]
        assert repo.find_job_for_idempotency(session, acme, "other") is None
        assert repo.find_job_for_sha256(session, acme, "0" * 64) is None


def test_reads_never_cross_tenants(db: Database, blobs: LocalBlobStore) -> None:
    acme, globex = make_tenant(db, "acme"), make_tenant(db, "globex")
    job = finish(db, submit(db, blobs, acme, b"acme's log\n", host="web1"))
    with db.session() as session:
        assert repo.get_job(session, acme, job.id) is not None
        assert repo.get_job(session, globex, job.id) is None
        assert repo.list_jobs(session, globex) == ([], None)
        assert repo.list_jobs(session, globex, repo.JobFilter(category="oom")) == ([], None)
        assert repo.fleet_stats(session, globex)["total"] == 0
        assert repo.fleet_stats(session, acme)["total"] == 1
    with db.write_session() as session:
        assert repo.delete_job(session, blobs, globex, job.id) is False
        with pytest.raises(Exception, match="no diagnosis"):
            repo.add_feedback(session, globex, job.id, "confirm")
        session.commit()
    with db.session() as session:
        assert repo.get_job(session, acme, job.id) is not None


def test_get_job_loads_upload_and_diagnosis(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, b"a log\n", filename="kern.log", host="db1")
    finish(db, job)
    with db.session() as session:
        loaded = repo.get_job(session, tenant, job.id)
    assert loaded is not None  # attributes below are read after the session closed
    assert loaded.upload.filename == "kern.log" and loaded.upload.size == 6
    assert loaded.diagnosis is not None and loaded.diagnosis.root_cause_id == "oom-panic-on-oom"
    assert loaded.diagnosis.title == "Kernel panic - not syncing: Out of memory"
    assert loaded.diagnosis.host == "db1" and loaded.diagnosis.model_version == "m1"
    assert loaded.created_at.tzinfo is not None and loaded.finished_at is not None


def test_list_jobs_filters_and_pages(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    jobs = [submit(db, blobs, tenant, f"log {i}\n".encode(), host=f"h{i % 2}") for i in range(5)]
    finish(db, jobs[0])
    finish(
        db,
        jobs[1],
        {"category": "hung-task", "confidence": 0.5, "root_cause": None, "model": {}},
    )
    with db.session() as session:
        page1, cursor = repo.list_jobs(session, tenant, limit=2)
        page2, cursor2 = repo.list_jobs(session, tenant, cursor=cursor, limit=2)
        page3, cursor3 = repo.list_jobs(session, tenant, cursor=cursor2, limit=2)
        assert [j.id for j in page1 + page2 + page3] == [j.id for j in reversed(jobs)]
        assert cursor3 is None
        by = lambda f: [j.id for j in repo.list_jobs(session, tenant, f)[0]]  # noqa: E731
        assert by(repo.JobFilter(root_cause="oom-panic-on-oom")) == [jobs[0].id]
        assert by(repo.JobFilter(category="hung-task")) == [jobs[1].id]
        assert by(repo.JobFilter(host="h0")) == [jobs[4].id, jobs[2].id, jobs[0].id]
        assert by(repo.JobFilter(state=JobState.DONE)) == [jobs[1].id, jobs[0].id]
        assert len(by(repo.JobFilter(since=utcnow() - timedelta(minutes=5)))) == 5
        assert by(repo.JobFilter(until=utcnow() - timedelta(minutes=5))) == []
        with pytest.raises(InvalidCursorError):
            repo.list_jobs(session, tenant, cursor="' OR 1=1 --")


def test_delete_job_removes_rows_and_blobs(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, b"to be deleted\n")
    log_key = extracted_log_key(tenant, job.id, 1)
    blobs.put_stream(log_key, [b"extracted"])
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w", 60)
        assert claimed is not None
        repo.complete_job(session, claimed, "w", {"category": "oom", "confidence": 1.0}, log_key)
        session.commit()
    with db.write_session() as session:
        repo.add_feedback(session, tenant, job.id, "confirm", author="pdx_abc")
        session.commit()
    raw_key = job.upload.blob_key
    assert blobs.exists(raw_key) and blobs.exists(log_key)
    with db.write_session() as session:
        assert repo.delete_job(session, blobs, tenant, job.id) is True
        session.commit()
    assert not blobs.exists(raw_key) and not blobs.exists(log_key)
    with db.session() as session:
        for model in (Job, Upload, DiagnosisRecord, Label):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    with db.write_session() as session:
        assert repo.delete_job(session, blobs, tenant, job.id) is False
    # The same bytes can be submitted again afterwards, as a new job.
    assert submit(db, blobs, tenant, b"to be deleted\n").id != job.id

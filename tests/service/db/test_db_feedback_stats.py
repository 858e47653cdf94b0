"""Feedback labels, fleet statistics and raw-upload retention."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from dbtesting import make_tenant, submit
from sqlalchemy import update

from service.blobs import LocalBlobStore
from service.db import repo
from service.db.errors import ConflictError, DataError, NotFoundError
from service.db.models import DiagnosisRecord, Job, LabelSource, Upload, Verdict
from service.db.session import Database


def diagnose(
    db: Database,
    job: Job,
    *,
    category: str = "oom",
    root_cause: str | None = "oom-rc",
    signature: str | None = "sig-a",
    when: datetime | None = None,
) -> None:
    result = {
        "category": category,
        "confidence": 0.8,
        "root_cause": (
            {"id": root_cause, "title": f"Title of {root_cause}", "category": category}
            if root_cause
            else None
        ),
        "report": {"title": f"crash {signature}"},
        "signature": signature,
        "model": {"version": "m", "kb_version": "k"},
    }
    with db.write_session() as session:
        claimed = repo.claim_job(session, job.id, "w", 60)
        assert claimed is not None
        repo.complete_job(session, claimed, "w", result, None, now=when)
        session.commit()


def test_feedback_confirm_and_correct(db: Database, blobs: LocalBlobStore) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, b"log\n")
    with db.write_session() as session, pytest.raises(ConflictError):
        repo.add_feedback(session, tenant, job.id, "confirm")
    diagnose(db, job)
    with db.write_session() as session:
        confirm = repo.add_feedback(session, tenant, job.id, "confirm", note="yes", author="pdx_1")
        known = repo.add_feedback(session, tenant, job.id, "correct", root_cause_id="other-rc")
        new = repo.add_feedback(
            session, tenant, job.id, Verdict.CORRECT, new_cause=" bad cable ", category="hardware"
        )
        session.commit()
    assert (confirm.root_cause_id, confirm.category, confirm.source) == (
        "oom-rc",
        "oom",
        LabelSource.FEEDBACK,
    )
    assert confirm.signature == "sig-a" and confirm.author == "pdx_1" and confirm.note == "yes"
    assert known.root_cause_id == "other-rc" and known.new_cause is None
    assert new.new_cause == "bad cable" and new.category == "hardware"
    with db.session() as session:
        loaded = repo.get_job(session, tenant, job.id)
    assert loaded is not None and loaded.diagnosis is not None
    assert [label.id for label in loaded.diagnosis.labels] == [confirm.id, known.id, new.id]


@pytest.mark.parametrize(
    ("verdict", "kwargs"),
    [
        ("confirm", {"root_cause_id": "x"}),
        ("correct", {}),
        ("correct", {"root_cause_id": "x", "new_cause": "y"}),
        ("import", {"root_cause_id": "x"}),
    ],
)
def test_inconsistent_feedback_is_refused(
    db: Database, blobs: LocalBlobStore, verdict: str, kwargs: dict[str, str]
) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, b"log\n")
    diagnose(db, job)
    with db.write_session() as session, pytest.raises(DataError):
        repo.add_feedback(session, tenant, job.id, verdict, **kwargs)  # type: ignore[arg-type]


def test_feedback_on_a_missing_job(db: Database) -> None:
    tenant = make_tenant(db)
    with db.write_session() as session, pytest.raises(NotFoundError):
        repo.add_feedback(session, tenant, "dx_" + "0" * 28, "confirm")


def test_fleet_stats_counts_one_tenant_over_a_time_range(
    db: Database, blobs: LocalBlobStore
) -> None:
    acme, globex = make_tenant(db, "acme"), make_tenant(db, "globex")
    day1 = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    day2 = datetime(2026, 11, 21, 23, 59, tzinfo=UTC)
    specs = [
        ("web1", "oom", "oom-rc", "sig-a", day1),
        ("web2", "oom", "oom-rc", "sig-a", day1 + timedelta(minutes=5)),
        ("web1", "hung-task", "nfs-rc", "sig-b", day2),
        ("web3", "unknown", None, None, day2),
    ]
    for index, (host, category, root_cause, signature, when) in enumerate(specs):
        job = submit(db, blobs, acme, f"log {index}\n".encode(), host=host)
        diagnose(db, job, category=category, root_cause=root_cause, signature=signature, when=when)
    diagnose(db, submit(db, blobs, globex, b"globex log\n", host="g1"), when=day1)

    with db.session() as session:
        stats = repo.fleet_stats(session, acme)
        hourly = repo.fleet_stats(session, acme, since=day1, until=day2, bucket="hour")
        with pytest.raises(ValueError):
            repo.fleet_stats(session, acme, bucket="week")  # type: ignore[arg-type]
    assert stats["total"] == 4 and stats["hosts_affected"] == 3
    assert stats["by_category"] == [
        {"category": "oom", "count": 2},
        {"category": "hung-task", "count": 1},
        {"category": "unknown", "count": 1},
    ]
    assert stats["by_root_cause"] == [
        {"id": "oom-rc", "title": "Title of oom-rc", "category": "oom", "count": 2},
        {"id": "nfs-rc", "title": "Title of nfs-rc", "category": "hung-task", "count": 1},
    ]
    assert stats["over_time"] == [
        {"bucket": "2026-11-20T00:00:00Z", "category": "oom", "count": 2},
        {"bucket": "2026-11-21T00:00:00Z", "category": "hung-task", "count": 1},
        {"bucket": "2026-11-21T00:00:00Z", "category": "unknown", "count": 1},
    ]
    assert stats["top_signatures"] == [
        {"signature": "sig-a", "title": "crash sig-a", "count": 2, "hosts": 2},
        {"signature": "sig-b", "title": "crash sig-b", "count": 1, "hosts": 1},
    ]
    assert hourly["total"] == 2
    assert hourly["over_time"] == [
        {"bucket": "2026-11-20T10:00:00Z", "category": "oom", "count": 2}
    ]


def test_purge_deletes_old_raw_uploads_of_finished_jobs_only(
    db: Database, blobs: LocalBlobStore
) -> None:
    tenant = make_tenant(db)
    old_done = submit(db, blobs, tenant, b"old and done\n")
    old_queued = submit(db, blobs, tenant, b"old but still queued\n")
    new_done = submit(db, blobs, tenant, b"new and done\n")
    blobs.put_stream("logs/kept.log", [b"extracted text"])
    diagnose(db, old_done)
    diagnose(db, new_done)
    with db.write_session() as session:
        session.execute(
            update(DiagnosisRecord)
            .where(DiagnosisRecord.job_id == old_done.id)
            .values(log_blob_key="logs/kept.log")
        )
        long_ago = datetime.now(UTC) - timedelta(days=31)
        session.execute(
            update(Upload)
            .where(Upload.id.in_([old_done.upload_id, old_queued.upload_id]))
            .values(created_at=long_ago)
        )
        session.commit()
    with db.write_session() as session:
        assert repo.purge_expired_raw(session, blobs, retention_days=30) == 1
        session.commit()
    assert not blobs.exists(old_done.upload.blob_key)
    assert blobs.exists(old_queued.upload.blob_key) and blobs.exists(new_done.upload.blob_key)
    assert blobs.exists("logs/kept.log")
    with db.session() as session:
        kept = repo.get_job(session, tenant, old_done.id)
        assert kept is not None and kept.diagnosis is not None
        assert kept.upload.raw_deleted_at is not None
        assert kept.diagnosis.log_blob_key == "logs/kept.log"
    with db.write_session() as session:
        assert repo.purge_expired_raw(session, blobs, retention_days=30) == 0  # done already
        # Deleting a purged job does not fail on its missing raw blob.
        assert repo.delete_job(session, blobs, tenant, old_done.id) is True
        session.commit()


def test_raw_blobs_no_upload_refers_to_are_deleted_after_the_grace(
    db: Database, blobs: LocalBlobStore
) -> None:
    """A server that died between storing an upload's bytes and recording it leaves bytes
    nobody can reach or delete; retention removes them once they are older than the grace."""
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, b"[ 1.0] Kernel panic - not syncing: sysrq triggered crash\n")
    orphan = "raw/" + tenant + "/blob-orphan"
    blobs.put_stream(orphan, [b"customer memory nobody recorded"])
    fresh_orphan = "raw/" + tenant + "/blob-just-stored"
    blobs.put_stream(fresh_orphan, [b"an upload whose row is being committed"])
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    for key in (job.upload.blob_key, orphan):
        os.utime(blobs.root / key, (two_hours_ago, two_hours_ago))
    with db.session() as session:
        assert repo.purge_orphan_blobs(session, blobs) == 1
    assert not blobs.exists(orphan)
    assert blobs.exists(job.upload.blob_key)  # recorded: kept, however old
    assert blobs.exists(fresh_orphan)  # within the grace: its row may be on its way
    with db.session() as session:
        assert repo.purge_orphan_blobs(session, blobs) == 0

"""The job runner end to end with the real extractor and diagnoser, on SQLite and PostgreSQL:
logs and compressed logs to done, unusable inputs to failed with their code, unexpected
errors retried then failed, and a worker that lost its lease writes nothing."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from dbtesting import make_tenant, submit
from sqlalchemy import func, select

from service.blobs import LocalBlobStore, extracted_log_key
from service.db import repo
from service.db.models import DiagnosisRecord, Job, JobState
from service.db.session import Database
from service.diagnoser import Diagnoser, LogSource
from service.diagnosis import Diagnosis
from service.jobs.runner import DiagnoserLike, JobOutcome, run_job
from service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
OOM_LOG = (EXAMPLES / "panic-on-oom.log").read_bytes()


def run(db: Database, blobs: LocalBlobStore, diagnoser: DiagnoserLike, job_id: str) -> JobOutcome:
    return run_job(
        job_id,
        "test-worker",
        session_factory=db.write_session,
        blobs=blobs,
        diagnoser=diagnoser,
        settings=Settings(lease_seconds=30),
    )


def load(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = repo.get_job_any_tenant(session, job_id)
        assert job is not None
        return job


def test_a_log_is_diagnosed_and_stored(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, OOM_LOG, filename="panic-on-oom.log", host="web1")
    outcome = run(db, blobs, diagnoser, job.id)
    assert outcome.claimed and outcome.state is JobState.DONE
    done = load(db, job.id)
    assert (done.state, done.progress, done.attempts) == (JobState.DONE, 1.0, 1)
    assert done.diagnosis is not None
    result = done.diagnosis.result
    assert result["category"] == "oom" == done.diagnosis.category
    assert result["root_cause"]["id"] == done.diagnosis.root_cause_id
    assert result["source"]["kind"] == "log" and result["source"]["tier"] == "log"
    assert result["source"]["name"] == "panic-on-oom.log"
    assert done.diagnosis.host == "web1" and done.diagnosis.signature == result["signature"]
    assert done.diagnosis.log_blob_key == extracted_log_key(tenant, job.id, 1)
    with blobs.open(done.diagnosis.log_blob_key) as handle:
        assert handle.read().decode() == OOM_LOG.decode()
    # Finished jobs are not run again.
    assert not run(db, blobs, diagnoser, job.id).claimed


def test_a_compressed_log_goes_through_the_sandbox(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    job = submit(db, blobs, make_tenant(db), gzip.compress(OOM_LOG), filename="oom.log.gz")
    assert run(db, blobs, diagnoser, job.id).state is JobState.DONE
    done = load(db, job.id)
    assert done.diagnosis is not None
    assert done.diagnosis.category == "oom"
    assert done.diagnosis.result["source"]["compression"] == "gzip"


def test_a_crash_directory_archive_is_extracted_in_the_sandbox(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        member = tarfile.TarInfo("127.0.0.1-2026-11-23-09:12:01/vmcore-dmesg.txt")
        member.size = len(OOM_LOG)
        tar.addfile(member, io.BytesIO(OOM_LOG))
    job = submit(db, blobs, make_tenant(db), archive.getvalue(), filename="crash.tar")
    assert run(db, blobs, diagnoser, job.id).state is JobState.DONE
    done = load(db, job.id)
    assert done.diagnosis is not None and done.diagnosis.category == "oom"
    source = done.diagnosis.result["source"]
    assert (source["kind"], source["format"], source["tier"]) == ("log", "crash-directory", "log")
    # The extraction's warnings reach the diagnosis.
    assert "the crash directory holds no vmcore" in done.diagnosis.result["warnings"]


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "empty_input"), (b"\x00\x01\x02\x03binary\xff\xfe" * 100, "unsupported_format")],
)
def test_unusable_input_fails_with_its_code_without_retry(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser, content: bytes, code: str
) -> None:
    job = submit(db, blobs, make_tenant(db), content)
    assert run(db, blobs, diagnoser, job.id).state is JobState.FAILED
    failed = load(db, job.id)
    assert (failed.state, failed.error_code, failed.attempts) == (JobState.FAILED, code, 1)
    assert failed.error_message and failed.diagnosis is None


class ExplodingDiagnoser:
    """Stands in for a diagnoser with a bug, to drive the retry path."""

    def diagnose_text(self, text: str, source: LogSource | None = None) -> Diagnosis:
        raise RuntimeError("model file is corrupt")


def test_unexpected_errors_are_retried_then_fail(db: Database, blobs: LocalBlobStore) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG, max_attempts=2)
    first = run(db, blobs, ExplodingDiagnoser(), job.id)
    assert first.state is JobState.QUEUED
    queued = load(db, job.id)
    assert queued.attempts == 1 and "model file is corrupt" in (queued.error_message or "")
    assert run(db, blobs, ExplodingDiagnoser(), job.id).state is JobState.FAILED
    failed = load(db, job.id)
    assert (failed.error_code, failed.attempts) == ("internal_error", 2)
    # No extracted-log blobs are left behind by the failed attempts.
    assert not (blobs.root / "logs").exists() or not any((blobs.root / "logs").rglob("*.log"))


def test_a_missing_upload_blob_fails_the_job(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    job = submit(db, blobs, make_tenant(db), OOM_LOG)
    blobs.delete(job.upload.blob_key)
    assert run(db, blobs, diagnoser, job.id).state is JobState.FAILED
    assert load(db, job.id).error_code == "upload_missing"


class TakenOverDiagnoser:
    """Diagnoses for real, but first lets another worker take the job over, as happens when a
    worker stalls past its lease and the job is given to someone else."""

    def __init__(self, db: Database, diagnoser: Diagnoser) -> None:
        self.db = db
        self.diagnoser = diagnoser

    def diagnose_text(self, text: str, source: LogSource | None = None) -> Diagnosis:
        from datetime import timedelta

        from service.db.models import utcnow

        with self.db.write_session() as session:
            job_id = session.scalars(select(Job.id)).one()
            later = utcnow() + timedelta(hours=1)  # the stalled worker's lease has expired
            assert repo.claim_job(session, job_id, "successor", 60, now=later) is not None
            session.commit()
        return self.diagnoser.diagnose_text(text, source)


def test_a_worker_that_lost_its_lease_writes_nothing(
    db: Database, blobs: LocalBlobStore, diagnoser: Diagnoser
) -> None:
    tenant = make_tenant(db)
    job = submit(db, blobs, tenant, OOM_LOG)
    outcome = run(db, blobs, TakenOverDiagnoser(db, diagnoser), job.id)
    assert outcome.claimed and outcome.lease_lost and outcome.state is None
    taken = load(db, job.id)
    assert (taken.state, taken.lease_owner, taken.attempts) == (
        JobState.EXTRACTING,
        "successor",
        2,
    )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DiagnosisRecord)) == 0
    assert not blobs.exists(extracted_log_key(tenant, job.id, 1))

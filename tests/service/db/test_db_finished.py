"""`record_finished_upload`: a diagnosed log's upload, finished job and diagnosis in one
transaction, read back exactly as returned; the tenant's unique Idempotency-Key and sha256
refuse a second one, leaving nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dbtesting import make_tenant
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.api.presenters import job_json
from service.db import repo
from service.db.models import DiagnosisRecord, Job, Upload, new_id, utcnow
from service.db.repo import FinishedRun, UploadFacts
from service.db.session import Database

DIAGNOSIS = {
    "category": "oom",
    "confidence": 0.97,
    "root_cause": {
        "id": "oom-panic-on-oom-system-wide",
        "title": "panic_on_oom",
        "category": "oom",
    },
    "report": {"title": "Kernel panic - not syncing: Out of memory"},
    "model": {"version": "m1", "kb_version": "kb1"},
    "signature": "oom|panic",
    "source": {"tier": "log"},
}


def _facts(sha: str, key: str | None = None) -> UploadFacts:
    return UploadFacts(
        sha256=sha * 64,
        size=10,
        blob_key=f"raw/t/{new_id('blob')}",
        filename="console.log",
        kind="log",
        host="web-1",
        tags=["a", "b"],
        idempotency_key=key,
    )


def _run(error: tuple[str, str] | None = None) -> FinishedRun:
    now = utcnow()
    if error is not None:
        return FinishedRun(now - timedelta(milliseconds=3), now, error=error)
    return FinishedRun(
        now - timedelta(milliseconds=3), now, diagnosis_json=DIAGNOSIS, log_blob_key="logs/t/x"
    )


def _count(db: Database, model: type[Upload] | type[Job] | type[DiagnosisRecord]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_finished_job_reads_back_as_returned(db: Database) -> None:
    tenant = make_tenant(db)
    with db.write_session() as session:
        job = repo.record_finished_upload(
            session, tenant, new_id("dx"), _facts("a"), _run(), received_at=utcnow()
        )
        session.commit()
    with db.session() as session:
        stored = repo.get_job(session, tenant, job.id)
        assert stored is not None
        assert job_json(stored) == job_json(job)
        assert stored.state.value == "done" and stored.attempts == 1
        assert stored.started_at is not None and stored.finished_at is not None
        assert stored.diagnosis is not None and stored.diagnosis.root_cause_id == (
            "oom-panic-on-oom-system-wide"
        )


def test_an_input_error_is_a_failed_job_without_a_diagnosis(db: Database) -> None:
    tenant = make_tenant(db)
    with db.write_session() as session:
        job = repo.record_finished_upload(
            session,
            tenant,
            new_id("dx"),
            _facts("b"),
            _run(("empty_input", "no text")),
            received_at=utcnow(),
        )
        session.commit()
    with db.session() as session:
        stored = repo.get_job(session, tenant, job.id)
        assert stored is not None and job_json(stored) == job_json(job)
        assert stored.error_code == "empty_input" and stored.diagnosis is None


@pytest.mark.parametrize("same", ["sha256", "idempotency_key"])
def test_the_same_bytes_or_key_are_refused_and_leave_nothing(db: Database, same: str) -> None:
    tenant = make_tenant(db)
    first_facts = _facts("c", key="k1")
    with db.write_session() as session:
        first = repo.record_finished_upload(
            session, tenant, new_id("dx"), first_facts, _run(), received_at=utcnow()
        )
        session.commit()
    again = _facts("c" if same == "sha256" else "d", key="k1" if same != "sha256" else None)
    before = (_count(db, Upload), _count(db, Job), _count(db, DiagnosisRecord))
    with db.write_session() as session:
        with pytest.raises(IntegrityError):
            repo.record_finished_upload(
                session, tenant, new_id("dx"), again, _run(), received_at=utcnow()
            )
        session.rollback()
        existing = repo.find_existing_job(session, tenant, again.idempotency_key, again.sha256)
        assert existing is not None and existing.id == first.id
    assert (_count(db, Upload), _count(db, Job), _count(db, DiagnosisRecord)) == before

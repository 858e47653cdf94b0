"""Turn job rows (with their upload, diagnosis and feedback loaded) into the API's job JSON."""

from __future__ import annotations

from typing import Any

from service.api.schemas import (
    ErrorOut,
    FeedbackOut,
    JobOut,
    RootCauseRefOut,
    SummaryOut,
    UploadOut,
)
from service.db.models import DiagnosisRecord, Job, Label, Verdict


def feedback_out(label: Label) -> FeedbackOut:
    """One feedback label as the API shows it."""
    return FeedbackOut(
        id=label.id,
        verdict="confirm" if label.verdict == Verdict.CONFIRM else "correct",
        root_cause=label.root_cause_id,
        new_cause=label.new_cause,
        category=label.category,
        note=label.note,
        author=label.author,
        created_at=label.created_at,
    )


def _summary(record: DiagnosisRecord) -> SummaryOut:
    root_cause = record.result.get("root_cause") if isinstance(record.result, dict) else None
    return SummaryOut(
        root_cause=RootCauseRefOut.model_validate(root_cause) if root_cause else None,
        category=record.category,
        confidence=record.confidence,
        title=record.title,
    )


def job_out(job: Job, *, with_result: bool = True) -> JobOut:
    """The job JSON; `with_result` False leaves `result` null (lists and progress events)."""
    upload = job.upload
    record = job.diagnosis
    error = (
        ErrorOut(code=job.error_code, message=job.error_message or job.error_code)
        if job.error_code
        else None
    )
    return JobOut(
        id=job.id,
        state=job.state.value,
        progress=job.progress,
        stage_message=job.stage_message,
        attempts=job.attempts,
        error=error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        upload=UploadOut(
            filename=upload.filename,
            size=upload.size,
            sha256=upload.sha256,
            kind=upload.kind.value,
            format=upload.format,
            raw_deleted=upload.raw_deleted_at is not None,
        ),
        host=job.host,
        instance_id=job.instance_id,
        tags=list(job.tags or []),
        result=record.result if (record is not None and with_result) else None,
        summary=_summary(record) if record is not None else None,
        feedback=[
            feedback_out(label)
            for label in (record.labels if record is not None else [])
            if label.verdict in (Verdict.CONFIRM, Verdict.CORRECT)
        ],
    )


def job_json(job: Job, *, with_result: bool = True) -> dict[str, Any]:
    """`job_out` as plain JSON data (for SSE messages)."""
    return job_out(job, with_result=with_result).model_dump(mode="json")

"""Labels: feedback on a diagnosis (confirm or correct) with author and time."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.db.errors import ConflictError, DataError, NotFoundError
from service.db.models import Label, LabelSource, Verdict
from service.db.repo.jobs import get_job


def add_feedback(
    session: Session,
    tenant_id: str,
    job_id: str,
    verdict: Verdict | str,
    *,
    root_cause_id: str | None = None,
    new_cause: str | None = None,
    category: str | None = None,
    note: str | None = None,
    author: str | None = None,
) -> Label:
    """Store a user's verdict on the tenant's finished diagnosis as a labelled panic.

    `confirm` takes no cause (the diagnosis's own root cause and category are recorded);
    `correct` names either a known `root_cause_id` or a free-text `new_cause` (with an optional
    taxonomy `category`). Checking that ids exist in the knowledge base is the caller's job.
    Raises `NotFoundError` (no such job for this tenant), `ConflictError` (no diagnosis yet),
    `DataError` (an inconsistent verdict).
    """
    verdict = Verdict(verdict)
    job = get_job(session, tenant_id, job_id)
    if job is None:
        raise NotFoundError(f"no diagnosis {job_id}")
    diagnosis = job.diagnosis
    if diagnosis is None:
        raise ConflictError(f"diagnosis {job_id} is not finished: feedback needs a result")
    new_cause = new_cause.strip() if new_cause else None
    if verdict is Verdict.CONFIRM:
        if root_cause_id or new_cause:
            raise DataError("a confirmation takes no root_cause or new_cause")
        root_cause_id, category = diagnosis.root_cause_id, diagnosis.category
    elif verdict is Verdict.CORRECT:
        if bool(root_cause_id) == bool(new_cause):
            raise DataError("a correction names exactly one of root_cause or new_cause")
    else:
        raise DataError("feedback verdicts are confirm or correct; import is for bulk labels")
    label = Label(
        tenant_id=tenant_id,
        diagnosis_id=diagnosis.id,
        verdict=verdict,
        root_cause_id=root_cause_id,
        new_cause=new_cause,
        category=category,
        note=note,
        author=author,
        source=LabelSource.FEEDBACK,
        signature=diagnosis.signature,
        log_blob_key=diagnosis.log_blob_key,
    )
    session.add(label)
    session.flush()
    return label

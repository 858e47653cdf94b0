"""Retention: raw uploads are deleted after `raw_retention_days`; extracted logs and
diagnoses stay (they are small and they are the fleet's history)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import FINISHED_STATES, Job, Upload, utcnow

if TYPE_CHECKING:
    from service.blobs import BlobStore

log = logging.getLogger(__name__)


def purge_expired_raw(
    session: Session,
    blobs: BlobStore,
    now: datetime | None = None,
    retention_days: int = 30,
    limit: int = 1000,
) -> int:
    """Delete the raw bytes of uploads older than `retention_days` whose jobs are finished,
    and mark them `raw_deleted_at`. Returns how many were purged (at most `limit` per call).

    Uploads of queued or running jobs are kept whatever their age: their worker still needs
    them. Deleting a blob that is already gone is not an error, so a purge interrupted after
    the delete but before the commit simply repeats.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    unfinished = select(Job.upload_id).where(Job.state.not_in(FINISHED_STATES))
    uploads = session.scalars(
        select(Upload)
        .where(
            Upload.created_at < cutoff,
            Upload.raw_deleted_at.is_(None),
            Upload.id.not_in(unfinished),
        )
        .order_by(Upload.created_at)
        .limit(limit)
    ).all()
    for upload in uploads:
        blobs.delete(upload.blob_key)
        upload.raw_deleted_at = now
    session.flush()
    if uploads:
        log.info("purged %d raw upload(s) older than %d day(s)", len(uploads), retention_days)
    return len(uploads)

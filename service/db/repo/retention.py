"""Retention: raw uploads are deleted after `raw_retention_days`; extracted logs and
diagnoses stay (they are small and they are the fleet's history). Raw bytes that no upload
refers to (a server died between storing them and recording the upload) and writes that never
finished are deleted after `ORPHAN_GRACE`: they hold customer data nobody can reach."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


# Older than any upload in flight: an upload's row is committed right after its bytes are, and
# a write in progress keeps touching its temporary file.
ORPHAN_GRACE = timedelta(hours=1)
_BATCH = 500


def purge_orphan_blobs(
    session: Session,
    blobs: BlobStore,
    now: datetime | None = None,
    grace: timedelta = ORPHAN_GRACE,
    limit: int = 10_000,
) -> int:
    """Delete raw upload blobs older than `grace` that no upload row names, and unfinished
    writes older than `grace`. Returns how many were deleted (raw blobs looked at: at most
    `limit` per call)."""
    cutoff = (now or utcnow()) - grace
    removed = blobs.sweep_unfinished(cutoff)
    batch: list[str] = []
    for seen, key in enumerate(blobs.stale_keys("raw/", cutoff), start=1):
        batch.append(key)
        if len(batch) == _BATCH:
            removed += _delete_unreferenced(session, blobs, batch)
            batch = []
        if seen >= limit:
            break
    if batch:
        removed += _delete_unreferenced(session, blobs, batch)
    if removed:
        log.info("deleted %d orphaned or unfinished upload blob(s)", removed)
    return removed


def _delete_unreferenced(session: Session, blobs: BlobStore, keys: Sequence[str]) -> int:
    known = set(session.scalars(select(Upload.blob_key).where(Upload.blob_key.in_(keys))))
    orphans = [key for key in keys if key not in known]
    for key in orphans:
        blobs.delete(key)
    return len(orphans)

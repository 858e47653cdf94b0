"""Fleet-wide aggregates for the operator's /metrics endpoint (every tenant, no ids).

Added by the API helper: the API's Prometheus collector reads these at scrape time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.orm import Session

from service.db.models import DiagnosisRecord, Job, JobState


def count_diagnoses_by_category(session: Session) -> dict[str, int]:
    """Stored diagnoses per category, across all tenants."""
    rows = session.execute(
        select(DiagnosisRecord.category, func.count()).group_by(DiagnosisRecord.category)
    ).all()
    return {str(category): int(count) for category, count in rows}


def _seconds(session: Session) -> ColumnElement[float]:
    """finished_at - started_at in seconds, in the dialect's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    return cast(func.extract("epoch", Job.finished_at - Job.started_at), Float)


def job_durations_by_tier(
    session: Session, bounds: Sequence[float]
) -> dict[str, tuple[list[int], int, float]]:
    """For finished (done) jobs, per evidence tier: cumulative counts of durations at or below
    each of `bounds` (seconds, ascending), the total count and the sum of seconds.

    The tier is the diagnosis's `source.tier` ("log", "vmcore-dmesg", ...), "unknown" if absent.
    """
    seconds = _seconds(session)
    tier = DiagnosisRecord.result["source"]["tier"].as_string()
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
    rows = session.execute(
        select(tier, func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
        .select_from(Job)
        .join(DiagnosisRecord, DiagnosisRecord.job_id == Job.id)
        .where(
            Job.state == JobState.DONE,
            Job.started_at.is_not(None),
            Job.finished_at.is_not(None),
        )
        .group_by(tier)
    ).all()
    result: dict[str, tuple[list[int], int, float]] = {}
    for row in rows:
        name = str(row[0]) if row[0] else "unknown"
        result[name] = ([int(v or 0) for v in row[3:]], int(row[1]), float(row[2]))
    return result

"""Read the job figures /metrics publishes, from the database (see `metrics.JobFigures`)."""

from __future__ import annotations

from service.api.metrics import JOB_DURATION_BUCKETS, JobFigures
from service.db.repo.lifecycle import count_jobs_by_state
from service.db.repo.metrics import count_diagnoses_by_category, job_durations_by_tier
from service.db.session import Database


def read_job_figures(db: Database) -> JobFigures:
    """Queue depth, diagnoses by category and job durations by tier, all tenants together."""
    with db.session() as session:
        return JobFigures(
            jobs_by_state=count_jobs_by_state(session),
            diagnoses_by_category=count_diagnoses_by_category(session),
            durations_by_tier=job_durations_by_tier(session, JOB_DURATION_BUCKETS),
        )

"""Jobs: the runner (the one piece of job code), the in-process pool and the Celery app."""

from __future__ import annotations

from service.settings import Settings


def enqueue(job_id: str, settings: Settings) -> None:
    """Hand a committed, queued job to whichever backend runs jobs here: the Celery broker
    when `broker_url` is set, else this process's worker pool (woken at once; without a pool
    the job waits for a worker's next poll).

    A failure to reach the broker is logged, not raised: the job row is the source of truth
    and a worker's sweeper re-sends queued jobs whose message never arrived.
    """
    if settings.broker_url:
        from service.jobs.celery_app import send_job

        send_job(job_id, settings)
        return
    from service.jobs.pool import wake_current_pool

    wake_current_pool()

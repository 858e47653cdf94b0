"""Scheduled training with Celery beat (issue 5): the task and its beat schedule entry.

`PANICDX_TRAIN_SCHEDULE_HOURS=N` (default unset = off) adds an entry that sends the task
`panicdx.train_scheduled` every N hours; run the scheduler with `panicdx worker --beat` (one
worker per installation), or as its own process with
`celery -A service.jobs.training_beat beat` next to plain workers. A worker that takes the
task trains in its own process with `service.training_runs.train_if_new_labels`: only when
labels were added since the last training, and never while another run is in progress (the
run's record says so). The candidate it registers is promoted by a human, as always.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery

from service.settings import Settings, get_settings

TRAIN_TASK = "panicdx.train_scheduled"
SCHEDULE_ENTRY = "panicdx-train"


def _train_task() -> str:
    """Celery task body: train when there are new labels; returns what happened (logged)."""
    from service.training_runs import train_if_new_labels

    return train_if_new_labels(get_settings(), trigger="schedule", requested_by="celery beat")


def beat_schedule(settings: Settings) -> dict[str, Any]:
    """The beat schedule for these settings: one training entry, or none when it is off."""
    if settings.train_schedule_hours is None:
        return {}
    return {
        SCHEDULE_ENTRY: {
            "task": TRAIN_TASK,
            "schedule": timedelta(hours=settings.train_schedule_hours),
            # A tick nobody took before the next one is pointless: let it expire.
            "options": {
                "queue": settings.celery_queue,
                "expires": settings.train_schedule_hours * 3600,
            },
        }
    }


def configure_training(app: Celery, settings: Settings) -> None:
    """Register the training task on `app` and its beat schedule entry (if configured)."""
    app.task(name=TRAIN_TASK, ignore_result=True)(_train_task)
    app.conf.beat_schedule = beat_schedule(settings)


def __getattr__(name: str) -> Any:
    # `celery -A service.jobs.training_beat beat` looks for `app`: built on first use, so
    # importing this module stays cheap and needs no broker (without one, the error says so).
    if name == "app":
        from service.jobs.celery_app import create_celery

        return create_celery(get_settings())
    raise AttributeError(name)

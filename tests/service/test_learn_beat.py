"""Scheduled training for real: `panicdx worker --beat` on Redis trains a candidate from new
labels on its schedule, once, and later ticks find nothing to do.

Skips without a reachable Redis (PANICDX_TEST_REDIS_URL, default redis://127.0.0.1:6379/13)
unless PANICDX_REQUIRE_REDIS=1 asks for a failure. Trains on a small corpus without
cross-validation, like the other learning tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus, write_corpus
from service.cli import app as cli_app
from service.db.models import TrainingRun, TrainingState
from service.db.session import open_database
from service.settings import Settings
from tests.service.jobs.brokers import redis_broker

REALWORLD = Path(__file__).parents[1] / "realworld" / "logs"
PATIENCE = 300.0  # worker start, model load and one training on a busy 2-core machine


@pytest.fixture
def redis_env() -> Iterator[dict[str, str]]:
    """Broker settings with a private queue and key prefix (deleted afterwards)."""
    yield from redis_broker()


def _schedule_runs(settings: Settings) -> list[TrainingRun]:
    database = open_database(settings)
    try:
        with database.session() as session:
            query = select(TrainingRun).where(TrainingRun.trigger == "schedule")
            return list(session.scalars(query))
    finally:
        database.dispose()


def test_worker_beat_trains_on_schedule_once_per_new_labels(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    data = tmp_path / "data"
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps(
            {
                "path": str(REALWORLD / "null-deref-arm64-vm-interleaved-console.log"),
                "root_cause": "generic-null-deref",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli_app, ["labels", "import", str(labels), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < 1]
    corpus = write_corpus(samples, tmp_path / "small.jsonl.gz")

    env = {
        **os.environ,
        **redis_env,
        "PANICDX_TRAIN_SCHEDULE_HOURS": str(2 / 3600),  # a tick every 2 seconds
        "PANICDX_TRAIN_CORPUS": str(corpus),
        "PANICDX_TRAIN_CROSS_VALIDATE": "false",
    }
    command = [sys.executable, "-m", "service.cli", "worker", "--beat", "--data-dir", str(data)]
    command += ["--concurrency", "1", "--loglevel", "WARNING"]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    settings = Settings(data_dir=data)
    try:
        deadline = time.monotonic() + PATIENCE
        runs: list[TrainingRun] = []
        while time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text(errors="replace")
            runs = _schedule_runs(settings)
            if any(r.state in (TrainingState.DONE, TrainingState.FAILED) for r in runs):
                break
            time.sleep(1.0)
        assert runs and runs[0].state is TrainingState.DONE, [
            (r.state, r.error_message) for r in runs
        ]
        assert runs[0].version is not None and runs[0].requested_by == "celery beat"
        time.sleep(8.0)  # several more ticks: no new labels, so no new run
        assert len(_schedule_runs(settings)) == 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        log.close()

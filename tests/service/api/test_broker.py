"""With a Celery broker configured the API runs no worker pool and sends dumps to the broker.

Uses the real Redis server on 127.0.0.1:6379 (a private queue name); skips when it is
unreachable unless PANICDX_REQUIRE_REDIS=1. Running the jobs from the broker is the workers'
side, tested in tests/service/jobs.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from api_helpers import NFS_LOG, OOM_LOG, elf_dump_of
from fastapi.testclient import TestClient

from service.api.main import create_app
from service.db.migrate import upgrade_database
from service.db.repo import create_api_key
from service.db.session import open_database
from service.settings import Settings

REDIS_URL = os.environ.get("PANICDX_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis() -> object:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:
        if os.environ.get("PANICDX_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({exc})")
    return client


def test_with_a_broker_dumps_go_to_the_queue_and_logs_still_answer_at_once(
    tmp_path: Path,
) -> None:
    redis_client = _redis()
    queue = f"panicdx-api-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        blob_url=None,
        broker_url=REDIS_URL,
        celery_queue=queue,
        workers=2,
    )
    upgrade_database(settings)
    db = open_database(settings)
    with db.write_session() as session:
        _, key = create_api_key(session, "acme", "submitter")
        session.commit()
    db.dispose()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"}
    try:
        with TestClient(create_app(settings)) as client:
            assert client.app.state.ctx.pool is None  # type: ignore[attr-defined]
            dump = client.post(
                "/v1/diagnoses", headers=headers, content=elf_dump_of(NFS_LOG.read_text())
            )
            assert dump.status_code == 202
            assert dump.json()["state"] == "queued"
            messages = redis_client.lrange(queue, 0, -1)  # type: ignore[attr-defined]
            assert len(messages) == 1
            assert dump.json()["id"] in json.loads(messages[0])["headers"]["argsrepr"]
            # A log is still diagnosed in the API process for a quick answer.
            log = client.post("/v1/diagnoses", headers=headers, content=OOM_LOG.read_bytes())
            assert log.status_code == 200
            assert log.json()["state"] == "done"
    finally:
        redis_client.delete(queue)  # type: ignore[attr-defined]

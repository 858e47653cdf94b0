"""A running API per database backend (SQLite in a temp dir, and the real PostgreSQL server),
and fresh tenants with one key per role for each test.

PostgreSQL tests use their own throw-away database on postgresql://postgres@127.0.0.1:5432;
they skip when the server is unreachable unless PANICDX_REQUIRE_POSTGRES=1 demands it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from api_helpers import (
    MAX_DUMP_BYTES,
    MAX_LOG_BYTES,
    METRICS_TOKEN,
    POSTGRES_ADMIN_URL,
    Service,
    TenantKeys,
    make_tenant,
)
from fastapi.testclient import TestClient

from service.api.main import create_app
from service.db.migrate import upgrade_database
from service.db.session import open_database
from service.settings import Settings


def _postgres_database(request: pytest.FixtureRequest) -> str | None:
    """Create a throw-away database; its URL, or None (skip) when the server is unreachable."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        if os.environ.get("PANICDX_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable at {POSTGRES_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL} ({exc})")
    name = f"panicdx_api_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    request.addfinalizer(drop)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The API with one in-process worker, against SQLite or PostgreSQL."""
    backend = str(request.param)
    database_url = _postgres_database(request) if backend == "postgres" else None
    settings = Settings(
        data_dir=tmp_path_factory.mktemp(f"api-{backend}"),
        database_url=database_url,
        blob_url=None,
        broker_url=None,
        workers=1,
        max_log_bytes=MAX_LOG_BYTES,
        max_dump_bytes=MAX_DUMP_BYTES,
        quick_answer_seconds=30.0,
        poll_seconds=0.2,
        sweep_seconds=1.0,
        test_job_delay=0.0,
        metrics_token=METRICS_TOKEN,
    )
    upgrade_database(settings)
    db = open_database(settings)
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            yield Service(backend, settings, client, db)
    finally:
        db.dispose()


@pytest.fixture
def tenant(service: Service) -> TenantKeys:
    """A fresh tenant (so uploads never deduplicate against another test's)."""
    return make_tenant(service)


@pytest.fixture
def other_tenant(service: Service) -> TenantKeys:
    """A second fresh tenant, for isolation tests."""
    return make_tenant(service)

"""Fixtures for the job tests: the persistence tests' database fixtures (both backends), the
session's real Diagnoser (tests/service/conftest.py) and the real Celery brokers (Redis and
RabbitMQ, see brokers.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The shared database fixtures live beside the persistence tests.
_DB_TESTS = str(Path(__file__).resolve().parent.parent / "db")
if _DB_TESTS not in sys.path:
    sys.path.insert(0, _DB_TESTS)

from brokers import BROKERS, rabbitmq_broker, redis_broker  # noqa: E402
from dbtesting import blobs, database_url, db, postgres_url  # noqa: E402

__all__ = ["blobs", "broker", "database_url", "db", "postgres_url"]


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Worker environment variables for a private queue on each real broker in turn."""
    yield from (redis_broker() if request.param == "redis" else rabbitmq_broker())

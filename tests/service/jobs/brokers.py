"""The real Celery brokers the job tests run against: Redis and RabbitMQ.

Each test gets broker settings of its own, so parallel runs on one broker never see each
other's tasks: on Redis a queue and a key prefix (its keys are deleted afterwards), on RabbitMQ
a queue (deleted afterwards, with the direct exchange Celery names after it).

A broker that cannot be reached skips the test with the reason, unless
PANICDX_REQUIRE_REDIS=1 / PANICDX_REQUIRE_RABBITMQ=1 asks for a failure instead.
PANICDX_TEST_REDIS_URL (default redis://127.0.0.1:6379/13) and PANICDX_TEST_RABBITMQ_URL
(default amqp://guest:guest@127.0.0.1:5672//) choose the servers.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pytest

from service.settings import Settings

REDIS_URL = os.environ.get("PANICDX_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
RABBITMQ_URL = os.environ.get("PANICDX_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
BROKERS = ["redis", "rabbitmq"]


def _unreachable(name: str, url: str, error: Exception, require_variable: str) -> NoReturn:
    message = f"{name} at {url} is unreachable: {error}"
    if os.environ.get(require_variable) == "1":
        pytest.fail(f"{message} ({require_variable}=1)")
    pytest.skip(f"{message} (set {require_variable}=1 to fail instead)")


def redis_broker() -> Iterator[dict[str, str]]:
    """Worker environment for a private queue and key prefix on Redis; cleans up after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unreachable("Redis", REDIS_URL, exc, "PANICDX_REQUIRE_REDIS")
    run = uuid.uuid4().hex[:12]
    prefix = f"panicdx-test-{run}:"
    try:
        yield {
            "PANICDX_BROKER_URL": REDIS_URL,
            "PANICDX_CELERY_QUEUE": f"panicdx-test-{run}",
            "PANICDX_CELERY_REDIS_KEY_PREFIX": prefix,
        }
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def rabbitmq_broker() -> Iterator[dict[str, str]]:
    """Worker environment for a private queue on RabbitMQ; deletes the queue after."""
    from kombu import Connection

    connection = Connection(RABBITMQ_URL, connect_timeout=3)
    try:
        connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu raises the transport's own errors
        _unreachable("RabbitMQ", RABBITMQ_URL, exc, "PANICDX_REQUIRE_RABBITMQ")
    queue = f"panicdx-test-{uuid.uuid4().hex[:12]}"
    try:
        yield {"PANICDX_BROKER_URL": RABBITMQ_URL, "PANICDX_CELERY_QUEUE": queue}
    finally:
        channel = connection.channel()
        # Missing ones are fine (a test may fail before anything declared them).
        with contextlib.suppress(Exception):
            channel.queue_delete(queue)
        with contextlib.suppress(Exception):
            connection.channel().exchange_delete(queue)
        connection.release()


def broker_settings(broker: dict[str, str]) -> Settings:
    """The submitting side's settings for a worker environment made above (what the API
    process would have), so `service.jobs.enqueue` sends to the same queue."""
    return Settings(
        broker_url=broker["PANICDX_BROKER_URL"],
        celery_queue=broker["PANICDX_CELERY_QUEUE"],
        celery_redis_key_prefix=broker.get("PANICDX_CELERY_REDIS_KEY_PREFIX", ""),
    )


def connected_line(broker: dict[str, str]) -> str:
    """The start of the line a Celery worker logs once it is connected to this broker (the
    tests check it, so a broker silently replaced by another would fail them)."""
    scheme = broker["PANICDX_BROKER_URL"].partition("://")[0]
    return f"Connected to {scheme}://"

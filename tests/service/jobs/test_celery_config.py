"""The Celery app's broker-specific configuration (no broker needed)."""

from __future__ import annotations

import pytest

from service.jobs.celery_app import broker_kind, check_broker, create_celery
from service.settings import Settings


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", "redis"),
        ("rediss://cache.internal:6380/0", "redis"),
        ("amqp://guest:guest@127.0.0.1:5672//", "amqp"),
        ("AMQPS://user:pw@mq.internal:5671/panicdx", "amqp"),
    ],
)
def test_broker_kind(url: str, kind: str) -> None:
    assert broker_kind(url) == kind


def test_redis_gets_visibility_timeout_and_key_prefix() -> None:
    settings = Settings(
        broker_url="redis://127.0.0.1:6379/0",
        celery_visibility_timeout=120,
        celery_redis_key_prefix="site-a:",
        celery_queue="jobs-a",
    )
    conf = create_celery(settings).conf
    assert conf.broker_transport_options == {
        "visibility_timeout": 120,
        "global_keyprefix": "site-a:",
    }
    assert conf.task_default_queue == "jobs-a"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1


def test_rabbitmq_gets_no_redis_options() -> None:
    settings = Settings(
        broker_url="amqp://guest:guest@127.0.0.1:5672//", celery_redis_key_prefix="site-a:"
    )
    conf = create_celery(settings).conf
    assert conf.broker_transport_options == {}
    assert conf.task_acks_late and conf.task_reject_on_worker_lost


def test_an_unsupported_broker_is_refused_with_the_fix() -> None:
    settings = Settings(broker_url="kafka://127.0.0.1:9092")
    with pytest.raises(ValueError, match=r"redis://\.\.\. or amqp://"):
        create_celery(settings)
    with pytest.raises(ConnectionError, match="unsupported broker URL scheme 'kafka'"):
        check_broker(settings)

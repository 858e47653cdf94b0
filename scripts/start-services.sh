#!/usr/bin/env bash
# Start the local services the integration tests talk to (PostgreSQL, Redis, RabbitMQ) when they
# are installed but not running. Idempotent: a running service is left alone. A machine without
# them is fine too: the tests that need them skip with a reason (or fail when forced with
# PANICDX_REQUIRE_POSTGRES=1 / PANICDX_REQUIRE_REDIS=1 / PANICDX_REQUIRE_RABBITMQ=1).
set -uo pipefail

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        echo "start-services: starting PostgreSQL" >&2
        for version in /etc/postgresql/*; do
            pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
        done
    fi
fi

if command -v redis-server >/dev/null 2>&1; then
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "start-services: starting Redis" >&2
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    fi
fi

# RabbitMQ (the other Celery broker): "up" means its AMQP port accepts connections.
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
rabbitmq_started=0
if command -v rabbitmq-server >/dev/null 2>&1 && ! rabbitmq_up; then
    echo "start-services: starting RabbitMQ" >&2
    rabbitmq-server -detached && rabbitmq_started=1
fi

# Give a just-started server a few seconds to accept connections.
for _ in $(seq 1 20); do
    pg_ok=1; redis_ok=1
    command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 && pg_ok=0
    command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 \
        && redis_ok=0
    [ "$pg_ok" = 1 ] && [ "$redis_ok" = 1 ] && break
    sleep 0.5
done
# The Erlang VM takes longer to boot: up to 60 s, and only when this script started it.
if [ "$rabbitmq_started" = 1 ]; then
    for _ in $(seq 1 120); do
        rabbitmq_up && break
        sleep 0.5
    done
    rabbitmq_up || echo "start-services: RabbitMQ did not open port 5672 within 60 s" >&2
fi
exit 0

"""Prometheus metrics: HTTP requests from a middleware, job figures from the database.

Each app gets its own registry (two apps in one process, as in tests, never share counters).
Request metrics are counted here as requests pass. Job figures (queue depth, diagnoses by
category, job durations by tier) come from the job rows at scrape time, because jobs run in
other threads and, with Celery, on other machines: the database is the one place that sees them
all. Those figures are fleet-wide (every tenant) and carry no ids: /metrics is for operators.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# Job durations span milliseconds (a log) to many minutes (a large dump).
JOB_DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
)  # fmt: skip
REQUEST_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


@dataclass(frozen=True)
class JobFigures:
    """What the database says about jobs at one moment (all tenants together)."""

    jobs_by_state: dict[str, int]
    diagnoses_by_category: dict[str, int]
    # tier -> (cumulative count per bucket upper bound in JOB_DURATION_BUCKETS order, +Inf count,
    # sum of seconds)
    durations_by_tier: dict[str, tuple[list[int], int, float]] = field(default_factory=dict)


class JobFiguresCollector(Collector):
    """Reads job figures through `read` at scrape time, at most once per `ttl` seconds."""

    def __init__(self, read: Callable[[], JobFigures], ttl: float = 5.0) -> None:
        self._read = read
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, JobFigures] | None = None

    def _figures(self) -> JobFigures | None:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._ttl:
                try:
                    self._cached = (now, self._read())
                except Exception:  # a scrape must not fail because the database hiccuped
                    log.exception("cannot read job figures for /metrics")
                    return self._cached[1] if self._cached else None
            return self._cached[1]

    def collect(self) -> Iterable[Metric]:
        """Prometheus calls this on every scrape."""
        figures = self._figures()
        if figures is None:
            return []
        jobs = GaugeMetricFamily(
            "panicdx_jobs", "Jobs by state (queued is the queue depth).", labels=["state"]
        )
        for state, count in sorted(figures.jobs_by_state.items()):
            jobs.add_metric([state], count)
        queue = GaugeMetricFamily("panicdx_queue_depth", "Jobs waiting for a worker.")
        queue.add_metric([], figures.jobs_by_state.get("queued", 0))
        diagnoses = GaugeMetricFamily(
            "panicdx_diagnoses", "Stored diagnoses by category.", labels=["category"]
        )
        for category, count in sorted(figures.diagnoses_by_category.items()):
            diagnoses.add_metric([category], count)
        durations = HistogramMetricFamily(
            "panicdx_job_duration_seconds",
            "Time from a worker claiming a job to its diagnosis, by evidence tier.",
            labels=["tier"],
        )
        for tier, (cumulative, total, seconds) in sorted(figures.durations_by_tier.items()):
            buckets = [
                (_bound(b), float(c)) for b, c in zip(JOB_DURATION_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(total)))
            durations.add_metric([tier], buckets, seconds)
        return [jobs, queue, diagnoses, durations]


def _bound(value: float) -> str:
    return repr(float(value))


class ApiMetrics:
    """The app's registry and its request metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "panicdx_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "panicdx_http_request_duration_seconds",
            "Time to the end of the response, by route template and method.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )

    def watch_jobs(self, read: Callable[[], JobFigures]) -> None:
        """Publish job figures read by `read` (called at scrape time, cached a few seconds)."""
        self.registry.register(JobFiguresCollector(read))


class MetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched) counting every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and count it under its route template once the response ends."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", "GET"))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/diagnoses/{job_id}`), so ids never become labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path or "/"
    mounted = scope.get("root_path")  # a mount (the widget's static files) sets its prefix
    if scope.get("endpoint") is not None and isinstance(mounted, str) and mounted:
        return f"{mounted}/{{path}}"
    return "unmatched"

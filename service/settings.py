"""The service's one settings class, read from `PANICDX_*` environment variables.

Everything embedded (SQLite database, blob directory) lives under `data_dir`, so
`panicdx serve --data-dir DIR` is the whole installation. A database URL, an S3 blob URL or a
Celery broker URL switch to the scale-out topology (DESIGN.md §7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024
GIB = 1024 * MB


class Settings(BaseSettings):
    """Service configuration; every field can be set as `PANICDX_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PANICDX_", extra="ignore")

    data_dir: Path = Path("panicdx-data")
    # None means "embedded": SQLite at <data_dir>/panicdx.db (WAL), blobs in <data_dir>/blobs.
    database_url: str | None = None
    blob_url: str | None = None
    # S3-compatible object storage (blob_url = s3://bucket/prefix). Credentials come from the
    # usual AWS variables or files that boto3 reads, never from panicdx settings.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # None: jobs run in the `panicdx serve` process; redis://... or amqp://...: Celery workers.
    broker_url: str | None = None
    workers: int = Field(default=2, ge=0)
    max_log_bytes: int = Field(default=50 * MB, ge=1)
    max_dump_bytes: int = Field(default=64 * GIB, ge=1)
    raw_retention_days: int = Field(default=30, ge=0)
    quick_answer_seconds: float = Field(default=5.0, ge=0.0)
    model_dir: Path | None = None
    lease_seconds: int = Field(default=300, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    # How often idle in-process workers look for queued jobs when no wake-up signal came, and
    # how often expired leases are requeued and raw blobs purged.
    poll_seconds: float = Field(default=2.0, gt=0.0)
    sweep_seconds: float = Field(default=30.0, gt=0.0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0.0)
    # How long Redis keeps a delivered but unacknowledged task before handing it to another
    # worker. Duplicates are harmless (a job runs only under its lease), so this only bounds
    # how late a lost message is redelivered; lost leases are also swept from the database.
    celery_visibility_timeout: int = Field(default=3600, ge=1)
    # The broker queue panicdx uses, and a prefix for all of its Redis keys, so separate
    # installations (or test runs) can share one broker.
    celery_queue: str = "panicdx"
    celery_redis_key_prefix: str = ""
    # Origins (e.g. "https://console.example.com") whose pages may call the API from a browser
    # (an embedded widget on another console); PANICDX_CORS_ORIGINS='["https://..."]'. Empty:
    # same-origin only. (Added by the API helper.)
    cors_origins: list[str] = Field(default_factory=list)
    # Scheduled training (Celery beat, `panicdx worker --beat`): hours between runs; None =
    # off. A scheduled run trains only when labels were added since the last training.
    train_schedule_hours: float | None = Field(default=None, gt=0.0)
    # Training corpus for batch training (API, schedule); None = the shipped corpus. A smaller
    # one (and no cross-validation) keeps test trainings short. (Added by the learning helper.)
    train_corpus: Path | None = None
    train_cross_validate: bool = True
    # /metrics counts diagnoses, jobs and requests of every tenant together, so it is not for
    # tenants' keys: with a token set, scrapers send it as a bearer token; without one, only
    # requests from this machine's loopback are served (a local Prometheus or sidecar).
    metrics_token: SecretStr | None = None
    # uvicorn's access log (one line per request on stdout) in `panicdx serve`; off saves
    # ~0.15 ms of CPU per request, for deployments whose proxy logs requests already.
    access_log: bool = True
    # TEST HOOK: seconds the job runner sleeps between its stages, so tests can kill a worker
    # deterministically "mid-job". Keep 0 in production.
    test_job_delay: float = Field(default=0.0, ge=0.0)

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL to use: `database_url`, or SQLite under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'panicdx.db').resolve()}"

    @property
    def effective_blob_url(self) -> str:
        """The blob store URL to use: `blob_url`, or a `file://` directory under `data_dir`."""
        if self.blob_url:
            return self.blob_url
        return (self.data_dir / "blobs").resolve().as_uri()

    def with_overrides(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (None values are ignored).

        The CLI uses it for `--data-dir` and `--workers`.
        """
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return Settings.model_validate(data)


def get_settings(data_dir: Path | None = None) -> Settings:
    """Settings from the environment; `data_dir` (the CLI's `--data-dir`) wins when not None."""
    settings = Settings()
    return settings.with_overrides(data_dir=data_dir) if data_dir is not None else settings

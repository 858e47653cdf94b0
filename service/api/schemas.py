"""The API's request and response bodies (pydantic), separate from the ORM rows they show.

Field names are the public contract in /work/briefs/API-CONTRACT.md ("HTTP API"): fields may be
added, never renamed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

JobStateName = Literal["queued", "extracting", "diagnosing", "done", "failed"]


class ErrorOut(BaseModel):
    """The one error shape: a stable machine-readable code and a sentence for people."""

    code: str
    message: str


class UploadOut(BaseModel):
    """The uploaded file as the server saw it (kind and format detected from its bytes)."""

    filename: str | None
    size: int
    sha256: str
    kind: str
    format: str | None
    raw_deleted: bool = Field(
        False, description="true once retention removed the raw bytes (the diagnosis stays)"
    )


class FeedbackOut(BaseModel):
    """One confirm/correct verdict on a diagnosis."""

    id: str
    verdict: Literal["confirm", "correct"]
    root_cause: str | None
    new_cause: str | None
    category: str | None
    note: str | None
    author: str | None
    created_at: datetime


class RootCauseRefOut(BaseModel):
    """A knowledge-base entry named by a diagnosis."""

    id: str
    title: str
    category: str


class SummaryOut(BaseModel):
    """The headline of a finished diagnosis, for lists."""

    root_cause: RootCauseRefOut | None
    category: str
    confidence: float
    title: str | None = Field(description="the crash's own title (from the parsed report)")


class JobOut(BaseModel):
    """A diagnosis job: its state, its upload, and once done its result (the Diagnosis JSON)."""

    id: str
    state: JobStateName
    progress: float
    stage_message: str | None
    attempts: int
    error: ErrorOut | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    upload: UploadOut
    host: str | None
    instance_id: str | None
    tags: list[str]
    result: dict[str, Any] | None = Field(
        description="the Diagnosis contract (service/diagnosis.py); null until done and in lists"
    )
    summary: SummaryOut | None = None
    feedback: list[FeedbackOut] = Field(default_factory=list)


class JobList(BaseModel):
    """One page of jobs, newest first; pass `next_cursor` back as `cursor` for the next page."""

    items: list[JobOut]
    next_cursor: str | None


class FeedbackIn(BaseModel):
    """Confirm a diagnosis, or correct it with a known root cause or a free-text new cause."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["confirm", "correct"]
    root_cause: str | None = Field(None, max_length=200, description="a knowledge-base id")
    new_cause: str | None = Field(None, min_length=3, max_length=2000)
    category: str | None = Field(None, max_length=64, description="a taxonomy category id")
    note: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_answer(self) -> FeedbackIn:
        if self.verdict == "confirm" and (self.root_cause or self.new_cause):
            raise ValueError("a confirmation takes no root_cause or new_cause")
        if self.verdict == "correct" and (self.root_cause is None) == (self.new_cause is None):
            raise ValueError("a correction needs exactly one of root_cause or new_cause")
        return self


class MeOut(BaseModel):
    """Who the key belongs to."""

    tenant: str
    role: Literal["reader", "submitter", "admin"]
    key_prefix: str


class RootCauseSummary(BaseModel):
    """A knowledge-base entry in a list."""

    id: str
    title: str
    category: str
    status: str = Field(description="experimental, test, stable or deprecated")
    summary: str
    generic: bool = Field(description="true for a category-level entry")


class RootCauseList(BaseModel):
    """The knowledge base's entries."""

    items: list[RootCauseSummary]


class CategoryCount(BaseModel):
    """Diagnoses in one category."""

    category: str
    count: int


class RootCauseCount(BaseModel):
    """Diagnoses naming one root cause."""

    id: str
    title: str | None
    category: str | None
    count: int


class TimeBucketCount(BaseModel):
    """Diagnoses of one category in one day or hour."""

    bucket: datetime
    category: str
    count: int


class SignatureCount(BaseModel):
    """A crash signature, how often it was seen and on how many hosts."""

    signature: str
    title: str | None
    count: int
    hosts: int


class StatsOut(BaseModel):
    """The fleet view of one tenant's diagnoses in a time range."""

    total: int
    by_category: list[CategoryCount]
    by_root_cause: list[RootCauseCount]
    over_time: list[TimeBucketCount]
    top_signatures: list[SignatureCount]
    hosts_affected: int


class CategoryOut(BaseModel):
    """One taxonomy category."""

    id: str
    name: str
    covers: str


class CategoryList(BaseModel):
    """The taxonomy's categories."""

    items: list[CategoryOut]

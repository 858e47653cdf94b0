"""The Diagnosis JSON contract (DESIGN.md §6) as pydantic models.

The CLI prints it with `--json`, the API returns it as a finished job's result. Field names and
id values are a public contract: fields may be added, never renamed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DecidedBy = Literal["signature", "model", "signature+model", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RootCauseRef(_Model):
    """A knowledge-base entry named by a diagnosis."""

    id: str
    title: str
    category: str


class Alternative(RootCauseRef):
    """A runner-up root cause with its probability."""

    confidence: float = Field(ge=0.0, le=1.0)


class EvidenceLine(_Model):
    """A log line that supports the answer: its 1-based line number in the input and why."""

    line: int
    text: str
    why: str


class RemediationStepOut(_Model):
    """One ordered remediation step; `command` when there is something to run."""

    text: str
    command: str | None = None


class FixedInOut(_Model):
    """A kernel version of one stream that carries the fix."""

    stream: str
    version: str


class ReferenceOut(_Model):
    """A source for the root cause's facts."""

    kind: str
    title: str
    url: str


class Applicability(_Model):
    """Whether the crashed kernel is affected: `affected`, `fixed`, `not-affected`, `unknown`."""

    status: Literal["affected", "fixed", "not-affected", "unknown"]
    message: str


class Source(_Model):
    """Where the evidence came from: the input kind, its detected format and the tier."""

    kind: Literal["log", "vmcore"]
    format: str
    tier: Literal["log", "vmcore-dmesg", "vmcore-debuginfo"]
    name: str | None = None
    compression: str | None = None


class ModelInfo(_Model):
    """Which classifier and knowledge base produced the diagnosis (None: no model loaded)."""

    version: str | None
    kb_version: str


class Diagnosis(_Model):
    """The answer for one input: root cause, confidence, evidence and the fix."""

    category: str
    root_cause: RootCauseRef | None
    confidence: float = Field(ge=0.0, le=1.0)
    decided_by: DecidedBy
    summary: str | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    evidence: list[EvidenceLine] = Field(default_factory=list)
    remediation: list[RemediationStepOut] = Field(default_factory=list)
    verify: list[str] = Field(default_factory=list)
    fixed_in: list[FixedInOut] = Field(default_factory=list)
    applicability: Applicability | None = None
    references: list[ReferenceOut] = Field(default_factory=list)
    report: dict[str, Any] | None = None
    signature: str | None = None
    source: Source
    model: ModelInfo
    warnings: list[str] = Field(default_factory=list)

"""The enumerations stored in the tables (kept free of SQLAlchemy so the CLI starts fast)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What an API key may do: reader = GET; submitter = reader + POST; admin = everything."""

    READER = "reader"
    SUBMITTER = "submitter"
    ADMIN = "admin"


class UploadKind(enum.StrEnum):
    """What an upload holds, decided by sniffing its first bytes."""

    LOG = "log"
    VMCORE = "vmcore"
    ARCHIVE = "archive"
    UNKNOWN = "unknown"


class JobState(enum.StrEnum):
    """The job state machine: queued -> extracting -> diagnosing -> done | failed."""

    QUEUED = "queued"
    EXTRACTING = "extracting"
    DIAGNOSING = "diagnosing"
    DONE = "done"
    FAILED = "failed"


RUNNING_STATES = (JobState.EXTRACTING, JobState.DIAGNOSING)
FINISHED_STATES = (JobState.DONE, JobState.FAILED)


class Verdict(enum.StrEnum):
    """A label's verdict: a user confirmed or corrected a diagnosis, or it was bulk-imported."""

    CONFIRM = "confirm"
    CORRECT = "correct"
    IMPORT = "import"


class LabelSource(enum.StrEnum):
    """Where a label came from."""

    FEEDBACK = "feedback"
    IMPORT = "import"


class ModelStatus(enum.StrEnum):
    """A registered model's place in the promotion ladder (issue 5)."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


__all__ = [
    "FINISHED_STATES",
    "RUNNING_STATES",
    "JobState",
    "LabelSource",
    "ModelStatus",
    "Role",
    "UploadKind",
    "Verdict",
]

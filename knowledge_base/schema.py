"""The strict schema of a knowledge-base entry (one YAML file per root cause).

Modelled on Sigma rules: a permanent id, a status ladder, detection conditions as data, and
metadata that says how to fix and where the facts come from. Unknown fields are errors, so a
typo in a YAML key is caught by `panicdx kb validate` instead of being silently ignored.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vmcore_parsers.report import CrashType, EventKind

ENTRY_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Status(StrEnum):
    """How much evidence an entry has (Sigma's status ladder)."""

    EXPERIMENTAL = "experimental"  # written from one report or from documentation alone
    TEST = "test"  # seen in several independent reports; signatures tuned
    STABLE = "stable"  # well known, signatures proven on many logs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


class Signature(_Strict):
    """One detection rule over a `PanicReport`: every condition given must hold.

    Regexes use Python syntax and are searched (not anchored) case-sensitively unless they
    start with `(?i)`. An entry matches when any one of its signatures matches.
    """

    crash_type: list[CrashType] = Field(
        default_factory=list, description="the report's crash type is one of these"
    )
    title: str | None = Field(None, description="regex searched in the report title")
    text: str | None = Field(None, description="regex searched in every kernel log line")
    panic: str | None = Field(None, description="regex searched in the final panic line")
    frame: str | None = Field(
        None, description="regex matching a reliable call-trace function or the RIP/PC symbol"
    )
    guilty_frame: str | None = Field(None, description="regex matching the guilty frame")
    module: str | None = Field(
        None,
        description="regex matching a loaded module, a frame's module or the RIP/PC module",
    )
    taint: list[str] = Field(
        default_factory=list, description="taint flag letters that must all be set"
    )
    event: list[EventKind] = Field(
        default_factory=list, description="event kinds that must all be present"
    )
    arch: Literal["x86_64", "arm64"] | None = None
    not_text: str | None = Field(None, description="regex that must NOT appear in any line")

    _regexes = field_validator(
        "title", "text", "panic", "frame", "guilty_frame", "module", "not_text"
    )(_check_regex)

    @model_validator(mode="after")
    def _has_a_condition(self) -> Signature:
        if not any(
            [
                self.crash_type,
                self.title,
                self.text,
                self.panic,
                self.frame,
                self.guilty_frame,
                self.module,
                self.taint,
                self.event,
            ]
        ):
            raise ValueError("a signature needs at least one positive condition")
        return self


class VersionRange(_Strict):
    """Kernels of one stream that carry the bug: `introduced` <= version < `fixed`."""

    stream: str = Field(
        description="'mainline', or a distro stream such as 'rhel9', 'ubuntu-22.04'"
    )
    introduced: str | None = None
    fixed: str | None = None


class FixedIn(_Strict):
    """The first kernel (or package) version of a stream that carries the fix."""

    stream: str
    version: str


class Applicability(_Strict):
    """Which kernel versions are affected and which carry the fix."""

    affected: list[VersionRange] = Field(default_factory=list)
    fixed_in: list[FixedIn] = Field(default_factory=list)


class RemediationStep(_Strict):
    """One step of the fix, in order; `command` is something to run, when there is one."""

    text: str = Field(min_length=3)
    command: str | None = None


class ReferenceKind(StrEnum):
    """What a reference points to."""

    COMMIT = "commit"
    CVE = "cve"
    ADVISORY = "advisory"
    DOCUMENTATION = "documentation"
    BUG = "bug"
    ARTICLE = "article"


class Reference(_Strict):
    """A source for the entry's facts."""

    kind: ReferenceKind
    title: str
    url: Annotated[str, Field(pattern=r"^https?://")]


class Entry(_Strict):
    """One root cause: what happened, how to recognise it, and how to fix it."""

    id: Annotated[str, Field(pattern=ENTRY_ID_PATTERN, max_length=80)]
    status: Status
    category: str
    generic: bool = Field(
        False, description="a category-level entry used when no specific cause is supported"
    )
    title: str = Field(min_length=5, max_length=160)
    summary: str = Field(min_length=20, description="what happened, in plain words")
    signatures: list[Signature] = Field(default_factory=list)
    applicability: Applicability = Field(default_factory=Applicability)
    remediation: list[RemediationStep] = Field(min_length=1)
    verify: list[str] = Field(min_length=1, description="how to check the fix worked")
    references: list[Reference] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    deprecated: bool = False
    replaced_by: str | None = None

    @model_validator(mode="after")
    def _deprecation_is_consistent(self) -> Entry:
        if self.replaced_by and not self.deprecated:
            raise ValueError("replaced_by is only allowed on a deprecated entry")
        return self

"""The combination rule of signatures and model probabilities (service.decide)."""

from __future__ import annotations

import pytest

from knowledge_base.schema import Entry, RemediationStep, Signature, Status
from service.decide import DEFAULT_SIGNATURE_PRECISION, decide
from vmcore_parsers.report import CrashType


def _entry(entry_id: str, category: str, generic: bool = False, status: str = "stable") -> Entry:
    return Entry(
        id=entry_id,
        status=Status(status),
        category=category,
        generic=generic,
        title=f"title of {entry_id}",
        summary="a summary long enough for the schema",
        signatures=[Signature(crash_type=[CrashType.OOM])] if not generic else [],
        remediation=[RemediationStep(text="do something")],
        verify=["check it"],
    )


ENTRIES = {
    e.id: e
    for e in [
        _entry("generic-oom", "oom", generic=True),
        _entry("generic-null-deref", "null-deref", generic=True),
        _entry("generic-unknown", "unknown", generic=True),
        _entry("oom-runaway", "oom"),
        _entry("oom-cgroup", "oom", status="test"),
        _entry("nvidia-null", "null-deref", status="experimental"),
    ]
}


def run(**kwargs: object) -> tuple[str | None, str, float, str]:
    arguments: dict[str, object] = {
        "crash_found": True,
        "specific_matches": [],
        "generic_matches": [],
        "probabilities": {},
        "entries": ENTRIES,
        "threshold": 0.5,
    }
    arguments.update(kwargs)
    d = decide(**arguments)  # type: ignore[arg-type]
    return d.entry_id, d.category, round(d.confidence, 3), d.decided_by


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("no crash abstains", {"crash_found": False}, (None, "unknown", 0.0, "none")),
        (
            "specific signature with agreeing model",
            {"specific_matches": ["oom-runaway"], "probabilities": {"oom-runaway": 0.97}},
            ("oom-runaway", "oom", 0.97, "signature+model"),
        ),
        (
            "specific signature, model unsure: floor at signature precision",
            {"specific_matches": ["oom-runaway"], "probabilities": {"oom-runaway": 0.2}},
            ("oom-runaway", "oom", DEFAULT_SIGNATURE_PRECISION[Status.STABLE], "signature"),
        ),
        (
            "two specific signatures: model breaks the tie",
            {
                "specific_matches": ["oom-runaway", "oom-cgroup"],
                "probabilities": {"oom-runaway": 0.3, "oom-cgroup": 0.6},
            },
            ("oom-cgroup", "oom", 0.8, "signature+model"),
        ),
        (
            "two specific signatures, no model: status breaks the tie",
            {"specific_matches": ["oom-cgroup", "oom-runaway"]},
            ("oom-runaway", "oom", 0.9, "signature"),
        ),
        (
            "generic signature, model names a specific cause of that category",
            {"generic_matches": ["generic-oom"], "probabilities": {"oom-cgroup": 0.8}},
            ("oom-cgroup", "oom", 0.8, "signature+model"),
        ),
        (
            "generic signature, model prefers another category: category stays",
            {"generic_matches": ["generic-oom"], "probabilities": {"nvidia-null": 0.9}},
            ("generic-oom", "oom", 0.9, "signature"),
        ),
        (
            "no signature, confident model",
            {"probabilities": {"nvidia-null": 0.7, "oom-runaway": 0.3}},
            ("nvidia-null", "null-deref", 0.7, "model"),
        ),
        (
            "no signature, split between entries of one category: category-level answer",
            {"probabilities": {"oom-runaway": 0.35, "oom-cgroup": 0.3, "nvidia-null": 0.35}},
            ("generic-oom", "oom", 0.65, "model"),
        ),
        (
            "no signature, nothing reaches the threshold: abstain",
            {"probabilities": {"oom-runaway": 0.3, "nvidia-null": 0.3, "generic-unknown": 0.4}},
            (None, "unknown", 0.0, "none"),
        ),
        (
            "no signature, category below the root-cause threshold but above its own",
            {
                "probabilities": {"oom-runaway": 0.5, "oom-cgroup": 0.3, "nvidia-null": 0.2},
                "threshold": 0.9,
                "category_threshold": 0.75,
            },
            ("generic-oom", "oom", 0.8, "model"),
        ),
        (
            "no signature, category threshold not given: the root-cause threshold gates it",
            {
                "probabilities": {"oom-runaway": 0.5, "oom-cgroup": 0.3, "nvidia-null": 0.2},
                "threshold": 0.9,
            },
            (None, "unknown", 0.0, "none"),
        ),
        (
            "no signature and no model: abstain",
            {},
            (None, "unknown", 0.0, "none"),
        ),
    ],
)
def test_rule(case: str, kwargs: dict[str, object], expected: tuple[object, ...]) -> None:
    assert run(**kwargs) == expected, case


def test_measured_signature_precision_replaces_the_prior() -> None:
    result = run(
        specific_matches=["nvidia-null"],
        probabilities={"nvidia-null": 0.1},
        signature_precision={"experimental": 0.42},
    )
    assert result == ("nvidia-null", "null-deref", 0.42, "signature")

"""The promotion gate and rollback rules (pure logic, no storage)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from classifier.registry import (
    BUILT_IN,
    PromotionRefused,
    VersionState,
    check_gate,
    decide_promotion,
    rollback_target,
)


def _metrics(
    new_f1: float, old_f1: float, new_cats: dict[str, float], old_cats: dict[str, float]
) -> dict[str, Any]:
    return {
        "compared_with": "clf-a",
        "candidate": {"macro_f1": new_f1, "category_f1": new_cats},
        "active": {"macro_f1": old_f1, "category_f1": old_cats},
    }


def test_gate_passes_when_nothing_gets_worse() -> None:
    gate = check_gate(
        _metrics(0.60, 0.55, {"oom": 0.9, "hung-task": 0.79}, {"oom": 0.9, "hung-task": 0.8}),
        "clf-a",
    )
    assert gate.passed, gate.failures
    assert any("macro-F1 0.600 vs active 0.550" in c for c in gate.checks)


def test_gate_fails_on_lower_macro_f1() -> None:
    gate = check_gate(_metrics(0.50, 0.55, {"oom": 0.9}, {"oom": 0.9}), "clf-a")
    assert not gate.passed
    assert gate.failures == ["root-cause macro-F1 drops from 0.550 to 0.500"]


def test_gate_fails_on_a_category_drop_over_two_points() -> None:
    gate = check_gate(
        _metrics(0.70, 0.55, {"oom": 0.95, "hung-task": 0.77}, {"oom": 0.9, "hung-task": 0.8}),
        "clf-a",
    )
    assert not gate.passed
    assert len(gate.failures) == 1 and gate.failures[0].startswith("category hung-task")
    # A category missing from the candidate's figures counts as F1 0.
    gate = check_gate(_metrics(0.70, 0.55, {}, {"oom": 0.5}), "clf-a")
    assert gate.failures and "category oom" in gate.failures[0]


def test_gate_fails_when_the_active_model_changed_since_training() -> None:
    gate = check_gate(_metrics(0.9, 0.5, {}, {}), "clf-b")
    assert not gate.passed and "evaluated against clf-a" in gate.failures[0]
    metrics = _metrics(0.9, 0.5, {}, {})
    metrics["compared_with"] = BUILT_IN
    assert check_gate(metrics, None).passed


def test_gate_fails_without_an_evaluation() -> None:
    assert not check_gate({}, None).passed


def test_forced_promotion_needs_and_records_a_reason() -> None:
    failed = check_gate(_metrics(0.5, 0.55, {}, {}), "clf-a")
    with pytest.raises(PromotionRefused, match="gate failed"):
        decide_promotion(failed, force=False, reason=None)
    with pytest.raises(PromotionRefused, match="--force needs --reason"):
        decide_promotion(failed, force=True, reason="  ")
    reason = decide_promotion(failed, force=True, reason="urgent fix for INC-7")
    assert reason is not None and reason.startswith("forced: urgent fix for INC-7")
    assert "macro-F1 drops" in reason
    passed = check_gate(_metrics(0.6, 0.55, {}, {}), "clf-a")
    assert decide_promotion(passed, force=False, reason=None) is None


def test_rollback_restores_the_previously_promoted_version() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    versions = [
        VersionState("v1", "retired", t),
        VersionState("v2", "retired", t + dt.timedelta(days=1)),
        VersionState("v3", "active", t + dt.timedelta(days=2)),
        VersionState("v4", "candidate", None),
    ]
    assert rollback_target(versions) == ("v3", "v2")
    assert rollback_target([VersionState("v1", "active", t)]) == ("v1", None)
    assert rollback_target([VersionState("v1", "candidate", None)]) == (None, None)

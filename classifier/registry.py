"""The model registry's rules, without storage: the promotion gate and what rollback restores.

A candidate is trained and evaluated by `classifier.learn.train_with_labels`, which records in
its manifest's metrics the figures of the candidate and of the then-active model's recipe on the
same frozen evaluation set (`frozen_summary`). The gate (`check_gate`) reads them:

* the comparison must be against the model active *now* (another promotion since the training
  makes the figures stale: retrain);
* the candidate's root-cause macro-F1 must not be lower than the active model's;
* no category's F1 may drop by more than `MAX_CATEGORY_DROP` (2 points).

`decide_promotion` lets an operator override a failed gate with `force`, but only with a
written reason, which is stored with the promotion. The storage side (rows in `model_versions`,
artifacts in the blob store) is `service.learning`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_CATEGORY_DROP = 0.02
# Float noise from a re-fit must not fail a gate between two models with equal figures.
TOLERANCE = 1e-9
BUILT_IN = "built-in"


class PromotionRefused(ValueError):
    """The gate failed and the promotion was not forced (with a reason); the message says why."""


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict: `failures` empty means passed; `checks` lists what was compared."""

    failures: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        """A plain dict for `--json` output and the stored promotion record."""
        return {"passed": self.passed, "failures": self.failures, "checks": self.checks}


def check_gate(metrics: Mapping[str, Any], active_version: str | None) -> GateResult:
    """Apply the promotion gate to a candidate's stored metrics.

    `metrics` is the candidate's `frozen_summary` (keys `compared_with`, `candidate`, `active`);
    `active_version` is the version serving now, None for the built-in model.
    """
    failures: list[str] = []
    checks: list[str] = []
    current = active_version or BUILT_IN
    compared = metrics.get("compared_with")
    candidate = metrics.get("candidate")
    active = metrics.get("active")
    if not isinstance(candidate, Mapping) or not isinstance(active, Mapping):
        return GateResult(["the candidate has no frozen-set evaluation; retrain it"], checks)
    if compared != current:
        failures.append(
            f"the candidate was evaluated against {compared}, but {current} is active now; "
            "retrain (`panicdx train --data-dir ...`) to compare with the active model"
        )
    new_f1, old_f1 = float(candidate["macro_f1"]), float(active["macro_f1"])
    checks.append(f"root-cause macro-F1 {new_f1:.3f} vs active {old_f1:.3f}")
    if new_f1 + TOLERANCE < old_f1:
        failures.append(f"root-cause macro-F1 drops from {old_f1:.3f} to {new_f1:.3f}")
    new_cats: Mapping[str, float] = candidate.get("category_f1", {})
    for category, before in sorted(active.get("category_f1", {}).items()):
        after = float(new_cats.get(category, 0.0))
        if after + MAX_CATEGORY_DROP + TOLERANCE < float(before):
            failures.append(
                f"category {category}: F1 drops by {100 * (before - after):.1f} points "
                f"({before:.3f} -> {after:.3f}; at most {100 * MAX_CATEGORY_DROP:.0f} allowed)"
            )
    checks.append(
        f"{len(active.get('category_f1', {}))} categories checked for a drop over "
        f"{100 * MAX_CATEGORY_DROP:.0f} points"
    )
    return GateResult(failures, checks)


def decide_promotion(gate: GateResult, *, force: bool, reason: str | None) -> str | None:
    """The reason to record for a promotion; raises PromotionRefused when it must not happen.

    Returns None for a promotion that passed the gate without a reason given. A forced
    promotion needs a non-empty `reason` (it is the audit trail of the override).
    """
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise PromotionRefused("--force needs --reason TEXT saying why the gate is overridden")
    if gate.passed:
        return reason
    if not force:
        raise PromotionRefused(
            "promotion gate failed: "
            + "; ".join(gate.failures)
            + " (override with --force --reason TEXT)"
        )
    return f"forced: {reason} (gate failures: {'; '.join(gate.failures)})"


@dataclass(frozen=True)
class VersionState:
    """What rollback needs to know about one registered version."""

    version: str
    status: str  # candidate | active | retired
    promoted_at: dt.datetime | None


def rollback_target(versions: Sequence[VersionState]) -> tuple[str | None, str | None]:
    """(version to retire, version to reactivate) for a rollback.

    The active version is retired and the most recently promoted retired version before it
    comes back; (active, None) means "back to the built-in model"; (None, None) means there is
    no active version, so there is nothing to roll back.
    """
    active = [v for v in versions if v.status == "active"]
    if not active:
        return None, None
    current = active[0]
    earlier = [
        v
        for v in versions
        if v.status == "retired"
        and v.promoted_at is not None
        and (current.promoted_at is None or v.promoted_at < current.promoted_at)
    ]
    if not earlier:
        return current.version, None
    previous = max(earlier, key=lambda v: v.promoted_at or dt.datetime.min)
    return current.version, previous.version

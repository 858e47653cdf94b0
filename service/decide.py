"""The combination rule: from signature matches and model probabilities to one answer.

The rule, in order (each step only runs when the previous one did not decide):

1. **No crash in the log** (the parser found no oops or panic): abstain. Category `unknown`,
   no root cause, decided by `none`.
2. **A specific signature matched** (a knowledge-base entry written for this exact issue):
   pick it. When several specific entries match, the model's probability breaks the tie, then
   the entry's status (stable > test > experimental). Decided by `signature+model` when the
   model's probability for it reaches the abstention threshold, else `signature`.
3. **Only a category-level (generic) signature matched**, i.e. the crash type alone says what
   kind of panic this is: the category is fixed. If the model's best *specific* entry of that
   category reaches the threshold, it is the answer (`signature+model`); otherwise the
   category's generic entry is (`signature`).
4. **No signature matched** (e.g. a bare `Kernel panic - not syncing:` with an unfamiliar
   message): the model's top entry if it reaches the threshold (`model`); else the most
   probable category other than `unknown`, as its generic entry, if that category's summed
   probability reaches the *category threshold* (`model`); else abstain (`unknown`, `none`).

Confidence is the model's calibrated probability of the chosen entry (for a generic entry:
of its whole category). A signature decision is never reported below the empirical precision
of signature decisions at the entry's status (measured on held-out data by
`classifier.evaluate`, defaulting to the status priors below), because a specific signature is
stronger evidence than a bag of words. The abstention threshold (root causes) and the category
threshold (category-level answers in step 4; the abstention threshold when not given) are
chosen separately on validation data, by the same precision criterion, and stored in the model
manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from knowledge_base.schema import Entry, Status
from service.diagnosis import DecidedBy

# Used only when the model manifest carries no measured signature precision.
DEFAULT_SIGNATURE_PRECISION: dict[Status, float] = {
    Status.STABLE: 0.9,
    Status.TEST: 0.8,
    Status.EXPERIMENTAL: 0.65,
}
_STATUS_RANK = {Status.STABLE: 0, Status.TEST: 1, Status.EXPERIMENTAL: 2}
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Decision:
    """The outcome of the rule: the chosen entry (None when abstaining) and why."""

    entry_id: str | None
    category: str
    confidence: float
    decided_by: DecidedBy


def decide(
    *,
    crash_found: bool,
    specific_matches: Sequence[str],
    generic_matches: Sequence[str],
    probabilities: Mapping[str, float],
    entries: Mapping[str, Entry],
    threshold: float = DEFAULT_THRESHOLD,
    signature_precision: Mapping[str, float] | None = None,
    category_threshold: float | None = None,
) -> Decision:
    """Apply the combination rule; `probabilities` is empty when no model is loaded.

    `category_threshold` gates step 4's category-level answer (None: `threshold`).
    """
    if not crash_found:
        return Decision(None, "unknown", 0.0, "none")
    precision = signature_precision or {}

    def floor(entry: Entry) -> float:
        return precision.get(entry.status.value, DEFAULT_SIGNATURE_PRECISION[entry.status])

    if specific_matches:
        best = min(
            specific_matches,
            key=lambda eid: (
                -probabilities.get(eid, 0.0),
                _STATUS_RANK[entries[eid].status],
                eid,
            ),
        )
        entry = entries[best]
        prob = probabilities.get(best, 0.0)
        decided_by: DecidedBy = "signature+model" if prob >= threshold else "signature"
        return Decision(best, entry.category, max(prob, floor(entry)), decided_by)

    category_probs = category_probabilities(probabilities, entries)
    if generic_matches:
        generic = entries[generic_matches[0]]
        category = generic.category
        specific = _best_specific(probabilities, entries, category)
        if specific is not None and probabilities[specific] >= threshold:
            return Decision(specific, category, probabilities[specific], "signature+model")
        confidence = max(category_probs.get(category, 0.0), floor(generic))
        return Decision(generic.id, category, confidence, "signature")

    if probabilities:
        top = max(probabilities, key=lambda eid: probabilities[eid])
        if top in entries and probabilities[top] >= threshold:
            entry = entries[top]
            if entry.category != "unknown":
                return Decision(top, entry.category, probabilities[top], "model")
        known = {c: p for c, p in category_probs.items() if c != "unknown"}
        if known:
            category = max(known, key=lambda c: known[c])
            gate = threshold if category_threshold is None else category_threshold
            if known[category] >= gate:
                generic_id = _generic_id(entries, category)
                if generic_id is not None:
                    return Decision(generic_id, category, known[category], "model")
    return Decision(None, "unknown", 0.0, "none")


def category_probabilities(
    probabilities: Mapping[str, float], entries: Mapping[str, Entry]
) -> dict[str, float]:
    """Sum the model's entry probabilities per taxonomy category."""
    totals: dict[str, float] = {}
    for entry_id, prob in probabilities.items():
        entry = entries.get(entry_id)
        category = entry.category if entry is not None else "unknown"
        totals[category] = totals.get(category, 0.0) + prob
    return totals


def _best_specific(
    probabilities: Mapping[str, float], entries: Mapping[str, Entry], category: str
) -> str | None:
    candidates = [
        eid
        for eid in probabilities
        if eid in entries and entries[eid].category == category and not entries[eid].generic
    ]
    return max(candidates, key=lambda eid: probabilities[eid]) if candidates else None


def _generic_id(entries: Mapping[str, Entry], category: str) -> str | None:
    for entry in entries.values():
        if entry.generic and entry.category == category and not entry.deprecated:
            return entry.id
    return None

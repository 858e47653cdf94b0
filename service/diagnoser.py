"""The diagnoser pipeline: log text -> PanicReport -> signatures + model -> Diagnosis.

One `Diagnoser` holds the knowledge base and the model, loaded once; it diagnoses one log or a
batch (a batch shares one model call, which is what makes thousands of logs per call cheap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from classifier.artifact import LoadedModel, ModelMismatchError, default_model_dir, load_model
from classifier.features import feature_record
from knowledge_base.loader import KnowledgeBase, load_knowledge_base
from knowledge_base.matcher import SignatureMatch, match_entries
from knowledge_base.schema import Entry
from knowledge_base.versions import assess
from service.decide import Decision, decide
from service.diagnosis import (
    Alternative,
    Applicability,
    Diagnosis,
    EvidenceLine,
    FixedInOut,
    ModelInfo,
    ReferenceOut,
    RemediationStepOut,
    RootCauseRef,
    Source,
)
from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import EventKind, LogLine, PanicReport

MAX_EVIDENCE_LINES = 12
MAX_ALTERNATIVES = 3
# Events worth showing as evidence even when no signature pointed at them: they are the
# usual "first cause" of the panic that follows.
_CAUSAL_EVENTS = {
    EventKind.OOM_KILL,
    EventKind.HUNG_TASK,
    EventKind.SOFT_LOCKUP,
    EventKind.HARD_LOCKUP,
    EventKind.RCU_STALL,
    EventKind.MACHINE_CHECK,
    EventKind.HARDWARE_ERROR,
    EventKind.EDAC,
    EventKind.FS_ERROR,
    EventKind.NVIDIA_XID,
    EventKind.PCIE_AER,
    EventKind.IO_ERROR,
    EventKind.DEVICE_ERROR,
}


@dataclass(frozen=True)
class LogSource:
    """What the caller knows about the input: a display name, its format and compression.

    A log read as it is keeps the defaults. Text decoded out of a crash dump says so:
    `kind="vmcore"`, its dump `format` (None: the parser names the log dialect), the evidence
    `tier`, and the extraction's `warnings`.
    """

    name: str | None = None
    compression: str | None = None
    kind: Literal["log", "vmcore"] = "log"
    format: str | None = None
    tier: Literal["log", "vmcore-dmesg", "vmcore-debuginfo"] = "log"
    warnings: tuple[str, ...] = ()


class Diagnoser:
    """Diagnoses kernel logs with one knowledge base and (optionally) one model."""

    def __init__(
        self, kb: KnowledgeBase, model: LoadedModel | None, model_problem: str | None = None
    ) -> None:
        self.kb = kb
        self.model = model
        self._warnings: list[str] = []
        if model is None:
            self._warnings.append(
                "no classifier model is loaded, answers come from signatures only: "
                + (model_problem or "run `panicdx train` to build one")
            )

    @classmethod
    def load(cls, model_dir: Path | None = None, require_model: bool = False) -> Diagnoser:
        """Load the knowledge base and the model from `model_dir` (default location if None).

        A missing or mismatched model is a warning unless `require_model`, because signatures
        alone still give useful answers.
        """
        kb = load_knowledge_base()
        directory = model_dir or default_model_dir()
        model: LoadedModel | None = None
        problem: str | None = None
        try:
            model = load_model(directory)
        except (FileNotFoundError, ModelMismatchError) as exc:
            if require_model:
                raise
            problem = str(exc)
        diagnoser = cls(kb, model, problem)
        if model is not None and model.kb_version != kb.version:
            diagnoser._warnings.append(
                f"the model was trained on knowledge base {model.kb_version}, "
                f"this is {kb.version}: retrain with `panicdx train` for best results"
            )
        return diagnoser

    def diagnose_text(self, text: str, source: LogSource | None = None) -> Diagnosis:
        """Diagnose one log."""
        return self.diagnose_texts([text], [source or LogSource()])[0]

    def diagnose_texts(
        self, texts: Sequence[str], sources: Sequence[LogSource] | None = None
    ) -> list[Diagnosis]:
        """Diagnose a batch of logs with one model call; results are in input order."""
        # Each log is parsed, matched and reduced to what the answer needs before the next one
        # is read, so that a batch holds a few small objects per log rather than every line of
        # every log: holding the lines made batches slower than single logs (the garbage
        # collector walked them over and over).
        examined = [self._examine(parse_log(text)) for text in texts]
        probabilities: list[dict[str, float]] = (
            self.model.predict_proba_records([e.record for e in examined])
            if self.model
            else [{} for _ in examined]
        )
        sources = sources or [LogSource() for _ in texts]
        return [
            self._diagnose(item, probs, source)
            for item, probs, source in zip(examined, probabilities, sources, strict=True)
        ]

    def _examine(self, report: PanicReport | None) -> _Examined:
        """Everything the diagnosis needs from one parsed log, computed while it is at hand."""
        # The record is what `LoadedModel.predict_proba(reports)` would build (no raw text);
        # without a model nobody reads it.
        record = feature_record(report) if self.model is not None else {}
        if report is None:
            return _Examined(record=record)
        return _Examined(
            record=record,
            crash_found=True,
            matches=match_entries(report, self.kb),
            report=report.to_dict(),
            signature=report.signature,
            log_format=report.log_format,
            kernel_release=report.kernel_release,
            damage=(
                f"the crash report is damaged: {report.corrupted_reason}"
                if report.corrupted
                else None
            ),
            first_failure=(
                (
                    report.first_failure.number,
                    report.first_failure.text,
                    f"first failure: {report.crash_type.value}",
                )
                if report.first_failure is not None
                else None
            ),
            later_evidence=_later_evidence(report),
        )

    def _diagnose(self, item: _Examined, probs: dict[str, float], source: LogSource) -> Diagnosis:
        entries = self.kb.entries
        warnings = [*self._warnings, *source.warnings]
        matches = item.matches
        specific = [m.entry_id for m in matches if not m.generic]
        generic = [m.entry_id for m in matches if m.generic]
        decision = decide(
            crash_found=item.crash_found,
            specific_matches=specific,
            generic_matches=generic,
            probabilities=probs,
            entries=entries,
            threshold=self.model.threshold if self.model else 0.5,
            category_threshold=self.model.category_threshold if self.model else None,
            signature_precision=self.model.signature_precision if self.model else None,
        )
        if not item.crash_found:
            warnings.append("no kernel panic, oops or crash report was found in the input")
        elif item.damage is not None:
            warnings.append(item.damage)
        entry = entries.get(decision.entry_id) if decision.entry_id else None
        # Abstaining still gives honest advice: the `unknown` category's generic entry says
        # what to collect so that a human (or the next model) can answer.
        advice = entry or self._generic_unknown()
        diagnosis = Diagnosis(
            category=decision.category,
            root_cause=(
                RootCauseRef(id=entry.id, title=entry.title, category=entry.category)
                if entry
                else None
            ),
            confidence=round(decision.confidence, 4),
            decided_by=decision.decided_by,
            summary=advice.summary if advice else None,
            alternatives=self._alternatives(decision, probs, specific + generic),
            evidence=_evidence(item, matches, decision) if item.crash_found else [],
            remediation=[
                RemediationStepOut(text=s.text, command=s.command) for s in advice.remediation
            ]
            if advice
            else [],
            verify=list(advice.verify) if advice else [],
            references=[
                ReferenceOut(kind=r.kind.value, title=r.title, url=r.url) for r in advice.references
            ]
            if advice
            else [],
            report=item.report,
            signature=item.signature,
            source=Source(
                kind=source.kind,
                format=source.format or item.log_format,
                tier=source.tier,
                name=source.name,
                compression=source.compression,
            ),
            model=ModelInfo(
                version=self.model.version if self.model else None,
                kb_version=self.kb.version,
            ),
            warnings=warnings,
        )
        if entry is not None:
            verdict = assess(entry, item.kernel_release)
            diagnosis.fixed_in = [
                FixedInOut(stream=f.stream, version=f.version) for f in verdict.fixed_in
            ]
            diagnosis.applicability = Applicability(status=verdict.status, message=verdict.sentence)
        return diagnosis

    def _generic_unknown(self) -> Entry | None:
        return self.kb.entries.get("generic-unknown")

    def _alternatives(
        self, decision: Decision, probs: dict[str, float], matched: list[str]
    ) -> list[Alternative]:
        entries = self.kb.entries
        scores = dict(probs)
        for entry_id in matched:
            scores.setdefault(entry_id, 0.0)
        if decision.entry_id and entries[decision.entry_id].generic:
            # The generic answer stands for its whole category; list its members' odds instead.
            scores.pop(decision.entry_id, None)
        ranked = sorted(
            (eid for eid in scores if eid != decision.entry_id and eid in entries),
            key=lambda eid: -scores[eid],
        )
        return [
            Alternative(
                id=eid,
                title=entries[eid].title,
                category=entries[eid].category,
                confidence=round(min(max(scores[eid], 0.0), 1.0), 4),
            )
            for eid in ranked[:MAX_ALTERNATIVES]
            if scores[eid] > 0.01 or eid in matched
        ]


Evidence = tuple[int, str, str]


@dataclass(slots=True)
class _Examined:
    """What the diagnosis of one log needs from its parse, without the log's lines.

    `record` is the model's feature record (empty when no model is loaded); `crash_found` is
    False (and the rest keeps its defaults) when the parser found no crash; `report` is the
    report's JSON-ready dict; `damage` the warning for a corrupted report (None: intact);
    `first_failure` and `later_evidence` are the evidence candidates (line, text, why) that do
    not depend on the decision, in the order `_evidence` adds them.
    """

    record: dict[str, str]
    crash_found: bool = False
    matches: list[SignatureMatch] = field(default_factory=list)
    report: dict[str, Any] | None = None
    signature: str | None = None
    log_format: str = "unknown"
    kernel_release: str | None = None
    damage: str | None = None
    first_failure: Evidence | None = None
    later_evidence: list[Evidence] = field(default_factory=list)


def _later_evidence(report: PanicReport) -> list[Evidence]:
    """The panic line, the instruction pointer line and the causal events, as evidence."""
    found: list[Evidence] = []
    if report.panic_line is not None:
        found.append((report.panic_line.number, report.panic_line.text, "final panic line"))
    rip = _rip_line(report.report_lines())
    if rip is not None:
        found.append((rip.number, rip.text, "instruction pointer at the crash"))
    for event in report.events:
        if event.kind in _CAUSAL_EVENTS:
            found.append((event.line, event.text, f"preceding event: {event.kind.value}"))
    return found


def _evidence(
    item: _Examined, matches: list[SignatureMatch], decision: Decision
) -> list[EvidenceLine]:
    found: dict[int, EvidenceLine] = {}

    def add(line: int, text: str, why: str) -> None:
        if line not in found and len(found) < MAX_EVIDENCE_LINES:
            found[line] = EvidenceLine(line=line, text=text.strip(), why=why)

    if item.first_failure is not None:
        add(*item.first_failure)
    for match in matches:
        if match.entry_id == decision.entry_id:
            for line, text, why in match.evidence:
                add(line, text, f"signature of {match.entry_id}: {why}")
    for line, text, why in item.later_evidence:
        add(line, text, why)
    return sorted(found.values(), key=lambda e: e.line)


def _rip_line(report_lines: list[LogLine]) -> LogLine | None:
    for line in report_lines:
        text = line.text.lstrip()
        if text.startswith(("RIP:", "pc :", "IP:")):
            return line
    return None

"""The diagnoser pipeline: log text -> PanicReport -> signatures + model -> Diagnosis.

One `Diagnoser` holds the knowledge base and the model, loaded once; it diagnoses one log or a
batch (a batch shares one model call, which is what makes thousands of logs per call cheap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifier.artifact import LoadedModel, ModelMismatchError, default_model_dir, load_model
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
from vmcore_parsers.report import EventKind, PanicReport

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
}


@dataclass(frozen=True)
class LogSource:
    """What the caller knows about the input: a display name, its format and compression."""

    name: str | None = None
    compression: str | None = None


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
        reports = [parse_log(text) for text in texts]
        probabilities: list[dict[str, float]] = (
            self.model.predict_proba(reports) if self.model else [{} for _ in reports]
        )
        sources = sources or [LogSource() for _ in texts]
        return [
            self._diagnose(report, probs, source)
            for report, probs, source in zip(reports, probabilities, sources, strict=True)
        ]

    def _diagnose(
        self, report: PanicReport | None, probs: dict[str, float], source: LogSource
    ) -> Diagnosis:
        entries = self.kb.entries
        warnings = list(self._warnings)
        matches = match_entries(report, self.kb) if report is not None else []
        specific = [m.entry_id for m in matches if not m.generic]
        generic = [m.entry_id for m in matches if m.generic]
        decision = decide(
            crash_found=report is not None,
            specific_matches=specific,
            generic_matches=generic,
            probabilities=probs,
            entries=entries,
            threshold=self.model.threshold if self.model else 0.5,
            category_threshold=self.model.category_threshold if self.model else None,
            signature_precision=self.model.signature_precision if self.model else None,
        )
        if report is None:
            warnings.append("no kernel panic, oops or crash report was found in the input")
        elif report.corrupted:
            warnings.append(f"the crash report is damaged: {report.corrupted_reason}")
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
            evidence=_evidence(report, matches, decision) if report else [],
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
            report=report.to_dict() if report else None,
            signature=report.signature if report else None,
            source=Source(
                kind="log",
                format=report.log_format if report else "unknown",
                tier="log",
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
            verdict = assess(entry, report.kernel_release if report else None)
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


def _evidence(
    report: PanicReport, matches: list[SignatureMatch], decision: Decision
) -> list[EvidenceLine]:
    found: dict[int, EvidenceLine] = {}

    def add(line: int, text: str, why: str) -> None:
        if line not in found and len(found) < MAX_EVIDENCE_LINES:
            found[line] = EvidenceLine(line=line, text=text.strip(), why=why)

    if report.first_failure is not None:
        add(
            report.first_failure.number,
            report.first_failure.text,
            f"first failure: {report.crash_type.value}",
        )
    for match in matches:
        if match.entry_id == decision.entry_id:
            for line, text, why in match.evidence:
                add(line, text, f"signature of {match.entry_id}: {why}")
    if report.panic_line is not None:
        add(report.panic_line.number, report.panic_line.text, "final panic line")
    rip = _rip_line(report)
    if rip is not None:
        add(rip[0], rip[1], "instruction pointer at the crash")
    for event in report.events:
        if event.kind in _CAUSAL_EVENTS:
            add(event.line, event.text, f"preceding event: {event.kind.value}")
    return sorted(found.values(), key=lambda e: e.line)


def _rip_line(report: PanicReport) -> tuple[int, str] | None:
    for line in report.report_lines():
        text = line.text.lstrip()
        if text.startswith(("RIP:", "pc :", "IP:")):
            return line.number, line.text
    return None
